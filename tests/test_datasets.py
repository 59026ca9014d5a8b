"""chainrule.datasets: IDX, CIFAR (binary and restricted python-batch reader), ImageFolder and
the bundled data. Every fixture is written here, in tmp_path."""
import gzip
import os
import pickle
import struct
import sys

import numpy as np
import pytest

import chainrule
from chainrule.datasets import (CIFAR10, CIFAR100, EMNIST, KMNIST, MNIST, CharVocab, Digits,
                                FashionMNIST, ImageFolder, Shakespeare, UnsafePickleError,
                                read_idx, transforms, verify_bundled)
from chainrule.datasets._batchfile import loads_restricted
from chainrule.utils.data import DataLoader, default_collate


def idx_bytes(arr, code=0x08):
    return struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim,
                                                               *arr.shape) + arr.tobytes()


def write(path, data, gz=False):
    path = str(path) + (".gz" if gz else "")
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if gz else data)
    return path


def write_mnist(folder, n=5, prefix=""):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = (np.arange(n) % 10).astype(np.uint8)
    for split in ("train", "t10k"):
        write(os.path.join(folder, f"{prefix}{split}-images-idx3-ubyte"), idx_bytes(images), True)
        write(os.path.join(folder, f"{prefix}{split}-labels-idx1-ubyte"), idx_bytes(labels))
    return images, labels


# ---- IDX ----

def test_read_idx_valid_and_wide_types(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    for gz in (False, True):
        np.testing.assert_array_equal(read_idx(write(tmp_path / "a", idx_bytes(a), gz)), a)
    f = np.linspace(-1, 1, 6).reshape(2, 3)
    out = read_idx(write(tmp_path / "f", idx_bytes(f.astype(">f8"), 0x0E)))
    assert out.dtype == np.float64 and out.dtype.isnative
    np.testing.assert_array_equal(out, f)


@pytest.mark.parametrize("case, message", [
    ("truncated", r"truncated: the header says shape \(2, 3, 4\)"),
    ("trailing", "trailing bytes"),
    ("magic", "bad magic number"),
    ("dims", "expected 3 dimensions, the header says 2"),
    ("short", "too short"),
    ("gzip", "gzip stream is corrupt or truncated"),
])
def test_read_idx_rejects_corrupt_files(tmp_path, case, message):
    good = idx_bytes(np.zeros((2, 3, 4), np.uint8))
    data = {"truncated": good[:-5], "trailing": good + b"xx",
            "magic": b"\x08\x08" + good[2:], "dims": idx_bytes(np.zeros((6, 4), np.uint8)),
            "short": b"\x00\x00", "gzip": gzip.compress(good)[:-12]}[case]
    path = write(tmp_path / "bad-idx3-ubyte", data)
    with pytest.raises(ValueError, match=message) as err:
        read_idx(path, expected_ndim=3)
    assert "bad-idx3-ubyte" in str(err.value)


def test_mnist_family_from_files(tmp_path):
    images, labels = write_mnist(tmp_path / "MNIST" / "raw")
    ds = MNIST(tmp_path, train=False, transform=transforms.ToTensor())
    img, y = ds[3]
    assert len(ds) == 5 and y == 3 and img.shape == (1, 28, 28)
    np.testing.assert_allclose(img.numpy()[0], images[3] / 255.0, rtol=1e-6)
    assert ds.data.dtype == chainrule.uint8 and ds.targets.tolist() == labels.tolist()
    with pytest.raises(RuntimeError, match="dataset not found"):
        MNIST(tmp_path / "nowhere")
    em_images, _ = write_mnist(tmp_path / "gzip", prefix="emnist-letters-")
    em = EMNIST(tmp_path, split="letters")
    np.testing.assert_array_equal(em[1][0], em_images[1].T)    # stored transposed
    assert em.classes[:3] == ["N/A", "a", "b"]
    with pytest.raises(ValueError, match="unknown split"):
        EMNIST(tmp_path, split="nope")


def test_bundled_fashion_mnist_digits_and_checksums():
    train, test = FashionMNIST(), FashionMNIST(train=False)
    assert (len(train), len(test)) == (10000, 2000)
    assert train.classes[0] == "T-shirt/top" and len(train.classes) == 10
    assert np.bincount(test.targets.numpy()).tolist() == [200] * 10
    img, _ = train[0]
    assert img.shape == (28, 28) and img.dtype == np.uint8
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        with pytest.raises(RuntimeError, match="dataset-fashion-mnist"):
            FashionMNIST(full=True)
    d = Digits(train=True, transform=transforms.ToTensor())
    x, y = d[0]
    assert len(d) == 1437 and len(Digits(train=False)) == 360 and x.shape == (1, 8, 8)
    assert 0 <= x.numpy().min() and x.numpy().max() <= 1 and y == 0
    assert len(verify_bundled()) == 6


def test_shakespeare_windows_and_vocab():
    ds = Shakespeare(block_size=16)
    val = Shakespeare(split="val", block_size=16)
    assert ds.vocab.chars == val.vocab.chars and len(ds.vocab) > 60
    x, y = ds[1000]
    assert x.dtype == chainrule.int64 and x.shape == (16,)
    np.testing.assert_array_equal(x.numpy()[1:], y.numpy()[:-1])
    assert ds.vocab.decode(x) == ds.text[1000:1016]
    assert len(ds) == len(ds.text) - 16 and len(ds) + len(val) > 900_000
    v = CharVocab("hello world")
    assert v.decode(v.encode("low he")) == "low he" and len(v) == 8
    with pytest.raises(KeyError, match="not in the vocabulary"):
        v.encode("xyz")
    strided = Shakespeare(block_size=8, stride=8)
    assert len(strided) == (len(strided.ids) - 9) // 8 + 1
    idx = [5, 0, 77]                                      # batched gather == per-sample collate
    fast = strided._get_batch(idx)
    slow = default_collate([strided[i] for i in idx])
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    xb, yb = next(iter(DataLoader(strided, batch_size=4)))
    assert xb.shape == (4, 8)


# ---- CIFAR ----

def cifar_arrays(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), (np.arange(n) % 10).tolist()


def write_cifar10_bin(folder, n=6):
    os.makedirs(folder, exist_ok=True)
    parts = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data, labels = cifar_arrays(n, i)
        parts[name] = (data, labels)
        rec = np.concatenate([np.asarray(labels, np.uint8)[:, None], data], 1)
        write(os.path.join(folder, name + ".bin"), rec.tobytes())
    with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
        f.write("\n".join(CIFAR10._default_classes) + "\n\n")
    return parts


def write_cifar10_py(folder, n=4, protocol=2):
    os.makedirs(folder, exist_ok=True)
    parts = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        data, labels = cifar_arrays(n, i)
        parts[name] = (data, labels)
        batch = {b"batch_label": f"batch {i}".encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img_{j}.png".encode() for j in range(n)]}
        write(os.path.join(folder, name), pickle.dumps(batch, protocol=protocol))
    meta = {"num_cases_per_batch": n, "label_names": CIFAR10._default_classes, "num_vis": 3072}
    write(os.path.join(folder, "batches.meta"), pickle.dumps(meta, protocol=protocol))
    return parts


def check_cifar10(ds, parts):
    data, labels = parts["data_batch_2"]
    n = len(labels)
    assert len(ds) == 5 * n and ds.classes[3] == "cat"
    img, y = ds[n + 1]
    assert img.shape == (32, 32, 3) and y == labels[1]
    np.testing.assert_array_equal(img, data[1].reshape(3, 32, 32).transpose(1, 2, 0))


def test_cifar10_binary_and_class_filter(tmp_path):
    parts = write_cifar10_bin(tmp_path / "cifar-10-batches-bin")
    check_cifar10(CIFAR10(tmp_path), parts)
    pets = CIFAR10(tmp_path, train=False, classes=("dog", "cat"), transform=transforms.ToTensor())
    assert pets.classes == ["dog", "cat"] and len(pets) == 2
    data, labels = parts["test_batch"]
    img, y = pets[0]                               # label 3 (cat) -> 1, label 5 (dog) -> 0
    assert y == 1 and img.shape == (3, 32, 32)
    np.testing.assert_allclose(img.numpy(), data[3].reshape(3, 32, 32) / 255.0, rtol=1e-6)
    assert pets.targets == [1, 0]
    write(tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin", b"\x00" * 100)
    with pytest.raises(ValueError, match="data_batch_3.bin.*not a whole number"):
        CIFAR10(tmp_path)
    with pytest.raises(ValueError, match="unknown class"):
        CIFAR10(tmp_path, train=False, classes=("unicorn",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar10_python_batches_without_pickle(tmp_path, monkeypatch, protocol):
    parts = write_cifar10_py(tmp_path / "cifar-10-batches-py", protocol=protocol)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must not be used to read batch files")

    for name in ("load", "loads", "Unpickler", "_load", "_loads", "_Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden, raising=False)
    check_cifar10(CIFAR10(tmp_path), parts)


def test_cifar100_binary_and_python(tmp_path):
    n = 6
    data, fine = cifar_arrays(n)
    coarse = [f // 5 for f in fine]
    rec = np.concatenate([np.asarray(coarse, np.uint8)[:, None],
                          np.asarray(fine, np.uint8)[:, None], data], 1)
    os.makedirs(tmp_path / "cifar-100-binary")
    write(tmp_path / "cifar-100-binary" / "train.bin", rec.tobytes())
    ds = CIFAR100(tmp_path)
    assert ds.targets == fine and len(ds.classes) == 100
    assert CIFAR100(tmp_path, label="coarse").targets == coarse
    os.makedirs(tmp_path / "py" / "cifar-100-python")
    batch = {"data": data, "fine_labels": fine, "coarse_labels": coarse, "filenames": ["a"] * n}
    write(tmp_path / "py" / "cifar-100-python" / "test", pickle.dumps(batch))
    meta = {"fine_label_names": [f"f{i}" for i in range(100)],
            "coarse_label_names": [f"c{i}" for i in range(20)]}
    write(tmp_path / "py" / "cifar-100-python" / "meta", pickle.dumps(meta))
    ds = CIFAR100(tmp_path / "py", train=False, classes=["f3", "f1"])
    assert ds.classes == ["f3", "f1"] and ds.targets == [1, 0]


class _Payload:
    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


@pytest.mark.parametrize("where", ["top", "value", "label"])
def test_malicious_batch_is_rejected_and_never_run(tmp_path, where):
    sentinel = tmp_path / "pwned"
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10_py(folder)
    evil = _Payload(sentinel)
    data, labels = cifar_arrays(4)
    obj = {"top": evil, "value": {b"data": data, b"labels": labels, b"extra": evil},
           "label": {b"data": data, b"labels": [evil] + labels[1:]}}[where]
    write(folder / "data_batch_1", pickle.dumps(obj, protocol=2))
    with pytest.raises(UnsafePickleError, match="refusing global (posix|os|nt).system"):
        CIFAR10(tmp_path)
    assert not sentinel.exists()


def test_restricted_reader_rejects_other_structures():
    with pytest.raises(UnsafePickleError, match="only uint8"):
        loads_restricted(pickle.dumps({"data": np.zeros((2, 3), np.float32)}))
    with pytest.raises(UnsafePickleError, match=r"refusing global (__builtin__|builtins)\.set"):
        loads_restricted(pickle.dumps({"x": {1, 2}}, protocol=2))
    with pytest.raises(UnsafePickleError, match="truncated"):
        loads_restricted(pickle.dumps({"x": [1, 2, 3]})[:-3])
    with pytest.raises(UnsafePickleError, match="unsupported pickle opcode"):
        loads_restricted(b"\x80\x02" + b"i__main__\nX\n.")          # INST
    ok = loads_restricted(pickle.dumps({b"k": [1, -2, 2 ** 40, "s", b"b", None, True, 1.5]}))
    assert ok == {b"k": [1, -2, 2 ** 40, "s", b"b", None, True, 1.5]}


# ---- ImageFolder ----

def make_image_folder(root):
    from PIL import Image
    rng = np.random.default_rng(0)
    for cls, n in (("Cat", 3), ("Dog", 2), ("Bird", 1)):
        os.makedirs(root / cls)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)).save(
                root / cls / f"{i}.png")
    (root / "Dog" / "broken.png").write_bytes(b"\x89PNG not really")
    (root / "Cat" / "empty.jpg").write_bytes(b"")
    (root / "Cat" / "notes.txt").write_text("not an image")


def test_image_folder_skips_corrupt_files(tmp_path):
    make_image_folder(tmp_path)
    with pytest.warns(UserWarning, match="skipped 2 unreadable image"):
        ds = ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["Bird", "Cat", "Dog"] and len(ds) == 6 and len(ds.skipped) == 2
    img, y = ds[1]
    assert img.shape == (3, 6, 5) and y == 1 and ds.targets == [0, 1, 1, 1, 2, 2]
    with pytest.warns(UserWarning, match="skipped 2"):
        pets = ImageFolder(tmp_path, classes=("Cat", "Dog"))
    assert pets.class_to_idx == {"Cat": 0, "Dog": 1} and pets.targets == [0, 0, 0, 1, 1]
    batch = next(iter(DataLoader(pets, batch_size=5, collate_fn=lambda b: b)))
    assert batch[0][0].mode == "RGB"
    with pytest.raises(FileNotFoundError, match="Horse"):
        ImageFolder(tmp_path, classes=("Horse",))


def test_image_folder_without_pillow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[images\]'"):
        ImageFolder(tmp_path)


def test_full_fashion_mnist_found_at_the_debian_path(tmp_path, monkeypatch):
    from chainrule.datasets import idx
    system = tmp_path / "usr" / "share" / "datasets" / "fashion-mnist"
    monkeypatch.setattr(idx, "SYSTEM_FASHION_MNIST", str(system))
    with pytest.raises(RuntimeError, match="apt-get install dataset-fashion-mnist"):
        FashionMNIST(full=True)
    images, labels = write_mnist(system, n=7)            # the package's own layout: .gz files
    for ds in (FashionMNIST(full=True), FashionMNIST(root="system", train=False)):
        assert len(ds) == 7 and ds.targets.tolist() == labels.tolist()
        np.testing.assert_array_equal(ds[4][0], images[4])
    assert len(FashionMNIST()) == 10000                    # the default stays the bundled subset


def test_mnist_family_layouts_and_corrupt_files(tmp_path):
    images, labels = write_mnist(tmp_path / "KMNIST" / "raw", n=4)
    k = KMNIST(tmp_path, train=False)
    assert len(k) == 4 and k.classes[1] == "ki" and k[3][1] == labels[3]
    write_mnist(tmp_path / "FashionMNIST", n=3)
    f = FashionMNIST(tmp_path)
    assert len(f) == 3 and f.class_to_idx["Trouser"] == 1
    bad = tmp_path / "bad"
    write_mnist(bad, n=4)
    write(bad / "train-labels-idx1-ubyte", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        MNIST(bad)
    write(bad / "train-labels-idx1-ubyte", idx_bytes(np.zeros((4, 1), np.uint8)))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte: expected 1 dimensions"):
        MNIST(bad)
    os.remove(bad / "train-images-idx3-ubyte.gz")
    write(bad / "train-images-idx3-ubyte.gz", b"\x1f\x8b\x08\x00garbage")
    write(bad / "train-labels-idx1-ubyte", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: the gzip stream"):
        MNIST(bad)
    huge = struct.pack(">HBB", 0, 0x08, 3) + struct.pack(">III", 2 ** 31, 2 ** 31, 2 ** 31)
    for tail in (b"", b"\0" * 10):           # 2**93 bytes claimed: no overflow to 0
        with pytest.raises(ValueError, match=r"truncated: the header says shape \(2147483648"):
            read_idx(write(tmp_path / "huge-idx3-ubyte", huge + tail))
    with pytest.raises(ValueError, match="bad magic number"):
        read_idx(write(tmp_path / "type-idx1-ubyte", b"\x00\x00\x0a\x01" + b"\0" * 8))


def test_cifar_corrupt_files_name_the_file(tmp_path):
    write_cifar10_bin(tmp_path / "cifar-10-batches-bin")
    write(tmp_path / "cifar-10-batches-bin" / "test_batch.bin", b"")
    assert len(CIFAR10(tmp_path, train=False)) == 0           # empty, but well-formed
    folder = tmp_path / "py" / "cifar-10-batches-py"
    write_cifar10_py(folder)
    good = (folder / "data_batch_4").read_bytes()
    write(folder / "data_batch_4", good[: len(good) // 2])
    with pytest.raises(UnsafePickleError, match="data_batch_4.*truncated"):
        CIFAR10(tmp_path / "py")
    data, labels = cifar_arrays(4)
    write(folder / "data_batch_4", pickle.dumps({b"data": data[:, :100], b"labels": labels}))
    with pytest.raises(ValueError, match=r"data_batch_4: 'data' must be a uint8 array of shape"):
        CIFAR10(tmp_path / "py")
    write(folder / "data_batch_4", pickle.dumps({b"data": data, b"labels": labels[:2]}))
    with pytest.raises(ValueError, match=r"data_batch_4: 'labels' must be a list of 4 ints"):
        CIFAR10(tmp_path / "py")
    with pytest.raises(RuntimeError, match="dataset not found"):
        CIFAR10(tmp_path / "nowhere")


def test_pet_images_cats_vs_dogs_with_truncated_jpeg(tmp_path):
    from PIL import Image
    root = tmp_path / "PetImages"
    rng = np.random.default_rng(1)
    for cls in ("Cat", "Dog"):
        os.makedirs(root / cls)
        for i in range(3):
            Image.fromarray(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)).save(
                root / cls / f"{i}.jpg", quality=90)
    jpeg = (root / "Dog" / "0.jpg").read_bytes()
    (root / "Dog" / "666.jpg").write_bytes(jpeg[:len(jpeg) // 2])     # truncated data
    (root / "Cat" / "Thumbs.db").write_bytes(b"\0" * 10)              # not an image: ignored
    (root / "Cat" / "0.jpg.tmp").write_bytes(b"")
    os.makedirs(root / "Other")
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        ds = ImageFolder(root, classes=["Cat", "Dog"], check="full",
                         transform=transforms.Compose([transforms.Resize(8),
                                                       transforms.CenterCrop(8),
                                                       transforms.ToTensor()]))
    assert ds.classes == ["Cat", "Dog"] and len(ds) == 6 and ds.targets == [0] * 3 + [1] * 3
    assert [os.path.basename(p) for p in ds.skipped] == ["666.jpg"]
    x, y = next(iter(DataLoader(ds, batch_size=6)))
    assert x.shape == (6, 3, 8, 8) and y.tolist() == ds.targets
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    with pytest.warns(UserWarning, match="skipped 1"):
        quick = ImageFolder(root, classes=["Cat", "Dog"])   # the default header check
    assert len(quick) == 6 and [os.path.basename(p) for p in quick.skipped] == ["666.jpg"]
    os.remove(root / "Dog" / "2.jpg")                          # gone after the scan
    with pytest.raises(RuntimeError, match=r"ImageFolder: cannot read .*Dog/2\.jpg"):
        quick[5]


def test_digits_from_a_corrupt_file(tmp_path):
    with gzip.open(tmp_path / "digits.csv.gz", "wt") as f:
        f.write("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=r"digits.csv.gz: expected rows of 64 pixels and a "
                                         r"label, got shape \(2, 3\)"):
        Digits(root=str(tmp_path))


def test_read_idx_gzip_bomb_multi_member_and_trailing_garbage(tmp_path):
    import time
    import tracemalloc
    good = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    bomb = write(tmp_path / "bomb-idx3-ubyte", gzip.compress(good + b"\0" * (64 << 20), 1))
    assert os.path.getsize(bomb) < 1_000_000
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="bomb-idx3-ubyte: has trailing bytes: the header "
                                             r"says shape \(2, 3, 4\)"):
            read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20 and time.perf_counter() - start < 1.0    # never inflates 64 MB
    members = write(tmp_path / "two-idx3-ubyte",
                    gzip.compress(good[:10]) + gzip.compress(good[10:]))
    np.testing.assert_array_equal(read_idx(members), np.arange(24).reshape(2, 3, 4))
    padded = write(tmp_path / "pad-idx3-ubyte", gzip.compress(good) + b"\0" * 8)
    assert read_idx(padded).shape == (2, 3, 4)
    garbage = write(tmp_path / "junk-idx3-ubyte", gzip.compress(good) + b"junk")
    with pytest.raises(ValueError, match="junk-idx3-ubyte: the gzip stream is corrupt"):
        read_idx(garbage)
