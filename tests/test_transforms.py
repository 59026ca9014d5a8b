"""chainrule.datasets.transforms on NumPy arrays, PIL images and CHW Tensors."""
import numpy as np
import pytest
import torch
from PIL import Image

import chainrule
from chainrule.datasets import transforms as T


def image(h=5, w=7, c=3, seed=0):
    shape = (h, w, c) if c else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_to_tensor_arrays_and_pil():
    a = image()
    t = T.ToTensor()(a)
    assert t.shape == (3, 5, 7) and t.dtype == chainrule.float32
    np.testing.assert_allclose(t.numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(a)).numpy(), t.numpy())
    gray = T.ToTensor()(Image.fromarray(image(c=0)))
    assert gray.shape == (1, 5, 7)
    f = np.random.default_rng(1).random((4, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(T.ToTensor()(f).numpy(), f.transpose(2, 0, 1))
    with pytest.raises(TypeError, match="ToTensor"):
        T.ToTensor()([1, 2, 3])


def test_normalize_and_compose():
    a = image()
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.25, 0.5))])
    out = pipeline(a).numpy()
    ref = (a.transpose(2, 0, 1) / 255.0 - np.array([0.5, 0.4, 0.3])[:, None, None]) / \
        np.array([0.2, 0.25, 0.5])[:, None, None]
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32
    x = T.ToTensor()(a)
    assert T.Normalize([0.5] * 3, [0.5] * 3, inplace=True)(x) is x
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize([0.0], [0.0])
    assert T.Lambda(lambda v: v + 1)(1) == 2
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)


@pytest.mark.parametrize("size", [(10, 14), (3, 4), (5, 9)])
def test_resize_matches_torch_bilinear(size):
    a = np.random.default_rng(2).random((5, 7, 3)).astype(np.float32)
    out = T.Resize(size)(a)
    ref = torch.nn.functional.interpolate(torch.from_numpy(a.transpose(2, 0, 1))[None], size=size,
                                          mode="bilinear", align_corners=False, antialias=False)
    np.testing.assert_allclose(out, ref[0].numpy().transpose(1, 2, 0), rtol=1e-5, atol=1e-6)
    t = T.Resize(size)(chainrule.tensor(a.transpose(2, 0, 1)))      # CHW tensor
    np.testing.assert_allclose(t.numpy(), ref[0].numpy(), rtol=1e-5, atol=1e-6)


def test_resize_smaller_edge_and_pil():
    a = image(10, 20)
    assert T.Resize(5)(a).shape == (5, 10, 3)
    assert T.Resize(5)(Image.fromarray(a)).size == (10, 5)
    assert T.Resize(4, max_size=6)(a).shape == (3, 6, 3)
    up_np, up_pil = T.Resize((20, 40))(a), np.asarray(T.Resize((20, 40))(Image.fromarray(a)))
    assert np.abs(up_np.astype(int) - up_pil.astype(int)).max() <= 1     # rounding only
    near = T.Resize((20, 40), interpolation="nearest")(a)
    np.testing.assert_array_equal(near, a.repeat(2, 0).repeat(2, 1))


def test_center_crop_and_random_crop():
    a = image(6, 8)
    np.testing.assert_array_equal(T.CenterCrop(4)(a), a[1:5, 2:6])
    np.testing.assert_array_equal(np.asarray(T.CenterCrop((4, 2))(Image.fromarray(a))),
                                  a[1:5, 3:5])
    big = T.CenterCrop(8)(a)
    assert big.shape == (8, 8, 3) and (big[0] == 0).all()
    chainrule.manual_seed(4)
    c1 = T.RandomCrop(6, padding=2)(a)
    chainrule.manual_seed(4)
    c2 = np.asarray(T.RandomCrop(6, padding=2)(Image.fromarray(a)))
    np.testing.assert_array_equal(c1, c2)
    assert c1.shape == (6, 6, 3)
    padded = np.pad(a, ((2, 2), (2, 2), (0, 0)))
    assert any((c1 == padded[i:i + 6, j:j + 6]).all() for i in range(5) for j in range(7))
    assert T.RandomCrop((7, 9), pad_if_needed=True, padding_mode="edge")(a).shape == (7, 9, 3)
    with pytest.raises(ValueError, match="larger than the input"):
        T.RandomCrop(10)(a)
    t = T.RandomCrop(3)(T.ToTensor()(a))
    assert t.shape == (3, 3, 3)


def test_flips_and_seeding():
    a = image()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(a), a[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(a), a)
    np.testing.assert_array_equal(T.RandomVerticalFlip(p=1.0)(a), a[::-1])
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(Image.fromarray(a))),
                                  a[:, ::-1])
    t = T.ToTensor()(a)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy(), t.numpy()[:, :, ::-1])
    flip = T.RandomHorizontalFlip()
    chainrule.manual_seed(8)
    first = [bool((flip(a) != a).any()) for _ in range(20)]
    chainrule.manual_seed(8)
    assert first == [bool((flip(a) != a).any()) for _ in range(20)]
    assert 0 < sum(first) < 20


def test_rotation_and_grayscale():
    a = image(5, 5)
    rot = T.RandomRotation((90, 90))
    np.testing.assert_array_equal(rot(a), np.rot90(a))
    np.testing.assert_array_equal(np.asarray(rot(Image.fromarray(a))), np.rot90(a))
    np.testing.assert_array_equal(T.RandomRotation((0, 0))(a), a)
    r45 = T.RandomRotation((45, 45), fill=7)(a)
    assert r45[0, 0, 0] == 7 and (r45[2, 2] == a[2, 2]).all()
    with pytest.raises(ValueError, match="positive"):
        T.RandomRotation(-3)
    g = T.Grayscale()(a)
    np.testing.assert_array_equal(g[..., 0], np.asarray(Image.fromarray(a).convert("L")))
    assert T.Grayscale(3)(a).shape == (5, 5, 3)
    assert T.Grayscale()(Image.fromarray(a)).mode == "L"
    f = T.Grayscale()(T.ToTensor()(a))
    assert f.shape == (1, 5, 5)
    np.testing.assert_allclose(f.numpy()[0], (a / 255.0) @ [0.299, 0.587, 0.114], atol=1e-6)
