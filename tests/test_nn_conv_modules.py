"""Convolution, pooling, padding and resampling layers against torch (copied weights: outputs,
input and weight gradients), their init, reprs, state_dict keys and errors; and the fused conv /
pool primitives against their unfold-based composite references."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.nn.functional.conv import conv2d_reference, conv_transpose2d_reference
from chainrule.nn.functional.pooling import max_pool2d_reference, avg_pool2d_reference


def _pair(module_args, torch_cls, cr_cls, **kwargs):
    t = torch_cls(*module_args, **kwargs).double()
    c = cr_cls(*module_args, **kwargs)
    for name, p in t.named_parameters():
        getattr(c, name).data = p.detach().numpy().copy()
    return t, c


def _run_both(t, c, x, extra=(), tol=1e-10):
    tx = torch.tensor(x, requires_grad=True)
    cx = cr.tensor(x, requires_grad=True)
    tout, cout = t(tx, *extra), c(cx, *extra)
    if isinstance(tout, tuple):
        np.testing.assert_array_equal(cout[1].numpy(), tout[1].numpy())
        tout, cout = tout[0], cout[0]
    np.testing.assert_allclose(cout.detach().numpy(), tout.detach().numpy(), rtol=1e-10,
                               atol=1e-10)
    up = np.random.default_rng(3).standard_normal(tuple(tout.shape))
    (tout * torch.tensor(up)).sum().backward()
    (cout * cr.tensor(up)).sum().backward()
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(c, name).grad.numpy(), p.grad.numpy(), rtol=1e-9,
                                   atol=1e-10, err_msg=name)


CONV_CASES = [
    ("Conv2d", (3, 4, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=(1, 2), groups=2), (2, 4, 8, 9)),
    ("Conv2d", (3, 4, 4), dict(padding="same", bias=False), (1, 3, 6, 5)),
    ("Conv2d", (3, 4, 3), dict(padding=2, padding_mode="reflect"), (2, 3, 5, 5)),
    ("Conv2d", (3, 4, 3), dict(padding=(1, 2), padding_mode="replicate"), (2, 3, 5, 5)),
    ("Conv2d", (3, 4, 3), dict(padding="same", padding_mode="circular"), (2, 3, 5, 5)),
    ("Conv2d", (3, 2, 3), {}, (3, 6, 6)),
    ("Conv1d", (3, 4, 3), dict(stride=2, padding=1), (2, 3, 9)),
    ("Conv1d", (4, 4, 2), dict(groups=4, padding="same", padding_mode="reflect"), (2, 4, 6)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 4, 5)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(dilation=2), (1, 3, 3, 3)),
    ("ConvTranspose1d", (3, 2, 4), dict(stride=3, padding=1), (2, 3, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", CONV_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONV_CASES)])
def test_conv_modules_match_torch(name, args, kwargs, shape):
    t, c = _pair(args, getattr(torch.nn, name), getattr(nn, name), **kwargs)
    assert repr(c) == repr(t)
    assert list(c.state_dict()) == list(t.state_dict())
    _run_both(t, c, np.random.default_rng(0).standard_normal(shape))


def test_conv_transpose_output_size():
    t, c = _pair((4, 2, 3), torch.nn.ConvTranspose2d, nn.ConvTranspose2d, stride=2, padding=1)
    x = np.random.default_rng(0).standard_normal((1, 4, 5, 5))
    tout = t(torch.tensor(x), output_size=(10, 10))
    cout = c(cr.tensor(x), output_size=(10, 10))
    np.testing.assert_allclose(cout.detach().numpy(), tout.detach().numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="output size"):
        c(cr.tensor(x), output_size=(20, 20))


@pytest.mark.parametrize("cls,args", [("Conv2d", (3, 16, 3)), ("Conv1d", (6, 8, 5, 1, 0, 1, 2)),
                                      ("ConvTranspose2d", (8, 4, 3))])
def test_conv_init_distribution(cls, args):
    cr.manual_seed(0)
    m = getattr(nn, cls)(*args)
    w = m.weight.detach().numpy()
    fan_in = w.shape[1] * int(np.prod(w.shape[2:]))
    bound = 1 / math.sqrt(fan_in)          # kaiming_uniform(a=sqrt(5)) and torch's bias bound
    assert w.dtype == np.float32 and m.bias.dtype == cr.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound


def test_conv_errors_name_the_module():
    m = nn.Conv2d(3, 16, 3)
    with pytest.raises(RuntimeError) as info:
        m(cr.randn(8, 1, 28, 28))
    assert str(info.value) == ("Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): expected input "
                               "with 3 channels, got (8, 1, 28, 28) with 1 channel")
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 16.*expected a 3-D \(unbatched\) or 4-D"):
        m(cr.randn(28, 28))
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")


POOL_CASES = [
    ("MaxPool2d", (2,), {}, (2, 3, 6, 6)),
    ("MaxPool2d", (3, 2, 1), dict(ceil_mode=True, return_indices=True), (2, 3, 7, 6)),
    ("MaxPool1d", (3,), dict(stride=1, dilation=2), (2, 3, 9)),
    ("AvgPool2d", (3, 2, 1), dict(count_include_pad=False, ceil_mode=True), (2, 3, 7, 6)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (3, 4, 4)),
    ("AvgPool1d", (3, 2, 1), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((2, 3),), dict(return_indices=True), (2, 3, 5, 7)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)),
    ("Upsample", (), dict(scale_factor=2, mode="bilinear"), (2, 3, 3, 4)),
    ("Upsample", (), dict(size=(5, 3)), (2, 3, 3, 4)),
    ("UpsamplingBilinear2d", (), dict(size=(5, 7)), (1, 2, 3, 4)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 3, 4)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
    ("ZeroPad2d", ((1, 2, 0, 3),), {}, (2, 3, 4, 4)),
    ("ConstantPad2d", (2, -1.5), {}, (2, 3, 4, 4)),
    ("ConstantPad1d", ((1, 0), 2.0), {}, (2, 3, 4)),
    ("ReflectionPad2d", ((1, 2, 3, 1),), {}, (2, 3, 4, 4)),
    ("ReflectionPad1d", (2,), {}, (2, 3, 4)),
    ("ReplicationPad2d", (2,), {}, (2, 3, 4, 4)),
    ("ReplicationPad1d", ((3, 1),), {}, (3, 4)),
    ("CircularPad2d", (1,), {}, (2, 3, 4, 4)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", POOL_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(POOL_CASES)])
def test_parameter_free_layers_match_torch(name, args, kwargs, shape):
    t, c = _pair(args, getattr(torch.nn, name), getattr(nn, name), **kwargs)
    assert repr(c) == repr(t)
    _run_both(t, c, np.random.default_rng(1).standard_normal(shape))


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1),
                                    dict(kernel_size=(2, 3), stride=2, ceil_mode=True)])
def test_max_pool_ties_route_gradient_to_first_max(kwargs):
    x = np.random.default_rng(0).integers(0, 2, (2, 3, 5, 6)).astype(np.float32)
    x[0, 0] = 1.0                                     # every window of this plane is one tie
    t = torch.nn.MaxPool2d(**kwargs, return_indices=True)
    c = nn.MaxPool2d(**kwargs, return_indices=True)
    _run_both(t, c, x, tol=1e-6)     # float32: overlapping windows sum in another order


def test_max_unpool_roundtrip_matches_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 5))
    tout, tidx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    cout, cidx = F.max_pool2d(cr.tensor(x), 2, return_indices=True)
    t, c = torch.nn.MaxUnpool2d(2), nn.MaxUnpool2d(2)
    assert repr(c) == repr(t)
    tu = t(tout, tidx, output_size=(6, 5))
    cu = c(cout, cidx, output_size=(6, 5))
    np.testing.assert_array_equal(cu.numpy(), tu.numpy())


def test_float32_stays_float32():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2), nn.AvgPool2d(2),
                          nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Upsample(scale_factor=2,
                                                                             mode="bilinear"))
    x = cr.randn(2, 3, 8, 8, requires_grad=True)
    out = model(x)
    out.sum().backward()
    assert out.dtype == cr.float32 and x.grad.dtype == cr.float32
    assert all(p.grad.dtype == cr.float32 for p in model.parameters())


# ---- fused primitives against their composite references (values, grads, double grads) ----

def _compare_fns(fused, reference, arrays, second_order=True):
    ins_a = [cr.tensor(a, requires_grad=True) for a in arrays]
    ins_b = [cr.tensor(a, requires_grad=True) for a in arrays]
    out_a, out_b = fused(*ins_a), reference(*ins_b)
    np.testing.assert_allclose(out_a.detach().numpy(), out_b.detach().numpy(), atol=1e-12)
    up = cr.tensor(np.random.default_rng(5).standard_normal(tuple(out_a.shape)))
    ga = cr.autograd.grad((out_a * up).sum(), ins_a, create_graph=True)
    gb = cr.autograd.grad((out_b * up).sum(), ins_b, create_graph=True)
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-12)
    if second_order:
        sa = sum((g * g).sum() for g in ga)
        sb = sum((g * g).sum() for g in gb)
        for a, b in zip(cr.autograd.grad(sa, ins_a, allow_unused=True),
                        cr.autograd.grad(sb, ins_b, allow_unused=True)):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1),
                                    dict(dilation=2, padding=(2, 1), groups=2),
                                    dict(stride=(1, 2), groups=4)])
def test_fused_conv2d_matches_unfold_matmul(kwargs):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((4, 4 // kwargs.get(
        "groups", 1), 3, 3)), rng.standard_normal(4)
    _compare_fns(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
                 lambda x, w, b: conv2d_reference(x, w, b, **kwargs), [x, w, b])


@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1, output_padding=1),
                                    dict(stride=(1, 2), dilation=2, groups=2)])
def test_fused_conv_transpose2d_matches_matmul_fold(kwargs):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 4, 5))
    w = rng.standard_normal((4, 3, 3, 2))
    _compare_fns(lambda x, w: F.conv_transpose2d(x, w, **kwargs),
                 lambda x, w: conv_transpose2d_reference(x, w, **kwargs), [x, w])


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=(2, 3), stride=1, dilation=(2, 1))])
def test_fused_pools_match_unfold_references(kwargs):
    x = np.random.default_rng(0).permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6) / 7.0
    _compare_fns(lambda x: F.max_pool2d(x, **kwargs), lambda x: max_pool2d_reference(x, **kwargs),
                 [x], second_order=False)
    if "dilation" not in kwargs:
        _compare_fns(lambda x: F.avg_pool2d(x, **kwargs),
                     lambda x: avg_pool2d_reference(x, **kwargs), [x], second_order=False)


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=1, dilation=2, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), ceil_mode=True)])
def test_inference_max_pool_and_relu_match_the_recorded_forward(kwargs):
    """Without a gradient to compute, max pooling skips the argmax and ReLU keeps no mask: the
    values (NaN, -inf, -0.0 included) must be those of the recording forward and of torch."""
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 8)).astype(np.float32)
    x[0, 0, 1, 1], x[0, 1, 2, 3], x[1, 2, 0, 0], x[1, 0, 3, 3] = np.nan, -np.inf, -0.0, np.inf
    recorded = F.max_pool2d(F.relu(cr.tensor(x, requires_grad=True)), **kwargs)
    with cr.no_grad():
        plain = F.max_pool2d(F.relu(cr.tensor(x, requires_grad=True)), **kwargs)
    expected = torch.nn.functional.max_pool2d(torch.relu(torch.tensor(x)), **kwargs).numpy()
    assert plain.grad_fn is None and plain.dtype == cr.float32
    np.testing.assert_array_equal(plain.numpy(), recorded.detach().numpy())
    np.testing.assert_array_equal(plain.numpy(), expected)
    with cr.no_grad():      # return_indices still gives the indices
        _, idx = F.max_pool2d(cr.tensor(x), return_indices=True, **kwargs)
    _, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kwargs)
    np.testing.assert_array_equal(idx.numpy(), t_idx.numpy())
    with cr.no_grad():
        r = F.relu(cr.tensor(x))
    assert np.signbit(r.numpy()[1, 2, 0, 0]) == np.signbit(torch.relu(torch.tensor(x))[1, 2, 0,
                                                                                        0].item())
