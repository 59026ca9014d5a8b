"""No load path can unpickle or run code from a file.

With ``pickle.loads`` / ``pickle.load`` / ``pickle.Unpickler`` (pure-Python and C versions) and
``np.load(allow_pickle=True)`` patched to raise, and an audit hook failing the test if any
unpickler looks up a class, every kind of checkpoint chainrule writes and every data loader it
has still works. Hostile files given to the data loaders never run code either.
"""
import _pickle
import gzip
import io
import os
import pickle
import sys

import numpy as np
import pytest

import chainrule
from chainrule import CheckpointError, nn
from chainrule.datasets import (CIFAR10, CIFAR100, EMNIST, KMNIST, MNIST, Digits, FashionMNIST,
                                ImageFolder, Shakespeare, UnsafePickleError, read_idx,
                                transforms)
from chainrule.datasets import idx as idx_module
from chainrule.utils.data import DataLoader, TensorDataset
from test_datasets import (cifar_arrays, idx_bytes, make_image_folder, write, write_cifar10_bin,
                           write_cifar10_py, write_mnist)
from test_serialization import fuzz

_AUDIT = {"on": False, "events": []}


def _audit(event, args):
    if _AUDIT["on"] and event == "pickle.find_class":
        _AUDIT["events"].append(args)


def _forbidden(name):
    def boom(*args, **kwargs):
        raise AssertionError(f"{name} was called on a load path")
    return boom


@pytest.fixture
def no_pickle(monkeypatch):
    """Make every unpickling entry point raise for the duration of a test."""
    if not _AUDIT.get("hooked"):
        sys.addaudithook(_audit)
        _AUDIT["hooked"] = True
    real_loads = _pickle.loads
    for module in (pickle, _pickle):
        for name in ("loads", "load", "Unpickler", "_loads", "_load", "_Unpickler"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, _forbidden(f"{module.__name__}.{name}"))
    np_load, read_array = np.load, np.lib.format.read_array

    def guarded_load(file, *args, allow_pickle=False, **kwargs):
        if allow_pickle:
            raise AssertionError("np.load(allow_pickle=True) was called on a load path")
        return np_load(file, *args, allow_pickle=False, **kwargs)

    def guarded_read_array(fp, allow_pickle=False, *args, **kwargs):
        if allow_pickle:
            raise AssertionError("read_array(allow_pickle=True) was called on a load path")
        return read_array(fp, False, *args, **kwargs)

    monkeypatch.setattr(np, "load", guarded_load)
    monkeypatch.setattr(np.lib.format, "read_array", guarded_read_array)
    # the guards are real: each entry point raises, and the audit hook sees class look-ups
    for call in (lambda: pickle.loads(pickle.dumps(1)), lambda: pickle.Unpickler(io.BytesIO()),
                 lambda: np.load(io.BytesIO(), allow_pickle=True)):
        with pytest.raises(AssertionError, match="load path"):
            call()
    _AUDIT["events"].clear()
    _AUDIT["on"] = True
    real_loads(pickle.dumps(np.zeros(1)))
    assert _AUDIT["events"], "the audit hook does not see unpickling"
    _AUDIT["events"].clear()
    yield
    _AUDIT["on"] = False
    assert not _AUDIT["events"], f"an unpickler looked up {_AUDIT['events'][:3]}"


# ------------------------------------------------------------------------------ checkpoints
def _model():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * 4 * 4, 3))


def _optimizer(kind, params):
    optim = chainrule.optim
    return [lambda: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
            lambda: optim.Adam(params, lr=0.01, amsgrad=True),
            lambda: optim.AdamW(params, lr=0.01),
            lambda: optim.RMSprop(params, lr=0.01, momentum=0.5, centered=True)][kind]()


def _schedulers(opt):
    sched = chainrule.optim.lr_scheduler
    return [sched.StepLR(opt, 2, gamma=0.5), sched.CosineAnnealingWarmRestarts(opt, 3),
            sched.ReduceLROnPlateau(opt, patience=0)]


def _step(model, opt, x):
    opt.zero_grad()
    loss = model(x).square().mean()
    loss.backward()
    opt.step()
    return loss.item()


def test_every_checkpoint_kind_loads_without_pickle(tmp_path, no_pickle):
    x = chainrule.randn(4, 1, 6, 6)
    for kind in range(4):
        chainrule.manual_seed(1)
        model = _model()
        opt = _optimizer(kind, model.parameters())
        scheds = _schedulers(opt)
        for _ in range(2):
            loss = _step(model, opt, x)
            for s in scheds:
                s.step(loss) if isinstance(s, chainrule.optim.lr_scheduler.ReduceLROnPlateau) \
                    else s.step()
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                 "schedulers": [s.state_dict() for s in scheds],
                 "rng": chainrule.get_rng_state(), "epoch": 2}
        path = tmp_path / f"ckpt{kind}.safetensors"
        chainrule.save(state, path)
        back = chainrule.load(path)
        assert fuzz.same(back, state)          # (state_dict() shares the live tensors)
        expect = _step(model, opt, x)

        chainrule.manual_seed(99)
        model2 = _model()
        opt2 = _optimizer(kind, model2.parameters())
        scheds2 = _schedulers(opt2)             # built first, as in torch, then all restored
        model2.load_state_dict(back["model"])
        opt2.load_state_dict(back["optimizer"])
        for s, s_state in zip(scheds2, back["schedulers"]):
            s.load_state_dict(s_state)
        chainrule.set_rng_state(back["rng"])
        assert _step(model2, opt2, x) == expect, type(opt).__name__
        for a, b in zip(model.parameters(), model2.parameters()):
            assert a.data.tobytes() == b.data.tobytes()


def test_trainer_loader_and_foreign_checkpoints_without_pickle(tmp_path, no_pickle):
    from chainrule.training import Trainer
    from chainrule.training.progress import Progress

    rng = np.random.default_rng(0)
    data = TensorDataset(chainrule.tensor(rng.normal(size=(24, 5)).astype(np.float32)),
                         chainrule.tensor(np.arange(24) % 3))

    def trainer():
        chainrule.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 3))
        opt = chainrule.optim.Adam(model.parameters(), lr=0.05)
        loader = DataLoader(data, batch_size=5, shuffle=True)
        return Trainer(model, opt, loader, num_classes=3,
                       scheduler=chainrule.optim.lr_scheduler.StepLR(opt, 3),
                       progress=Progress(quiet=True))

    first = trainer()
    first.fit(1)
    first.save_checkpoint(tmp_path / "train.safetensors")
    second = trainer()
    second.load_checkpoint(tmp_path / "train.safetensors")
    assert fuzz.same(second.state_dict(), first.state_dict())

    loader = DataLoader(data, batch_size=5, shuffle=True)
    it = iter(loader)
    next(it)
    chainrule.save(loader.state_dict(), tmp_path / "loader")
    rest = [b[1].tolist() for b in it]
    again = DataLoader(data, batch_size=5, shuffle=True)
    again.load_state_dict(chainrule.load(tmp_path / "loader"))
    assert [b[1].tolist() for b in again] == rest

    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(tmp_path / "theirs"))
    assert chainrule.load(tmp_path / "theirs")["w"].tolist() == [[0, 1, 2], [3, 4, 5]]
    buf = io.BytesIO()
    chainrule.save({"g": chainrule.Generator().manual_seed(3).get_state()}, buf)
    assert chainrule.load(io.BytesIO(buf.getvalue()))["g"] is not None
    with pytest.raises(CheckpointError):
        chainrule.load(io.BytesIO(pickle.dumps({"w": 1})))


# ------------------------------------------------------------------------------ data loaders
def _write_cifar100(root, binary):
    data, fine = cifar_arrays(6)
    coarse = [f // 5 for f in fine]
    if binary:
        os.makedirs(root / "cifar-100-binary")
        rec = np.concatenate([np.asarray(coarse, np.uint8)[:, None],
                              np.asarray(fine, np.uint8)[:, None], data], 1)
        write(root / "cifar-100-binary" / "train.bin", rec.tobytes())
    else:
        os.makedirs(root / "cifar-100-python")
        batch = {"data": data, "fine_labels": fine, "coarse_labels": coarse}
        write(root / "cifar-100-python" / "train", pickle.dumps(batch, protocol=4))
        meta = {"fine_label_names": [f"f{i}" for i in range(100)],
                "coarse_label_names": [f"c{i}" for i in range(20)]}
        write(root / "cifar-100-python" / "meta", pickle.dumps(meta, protocol=4))
    return data, fine


def test_every_data_loader_works_without_pickle(tmp_path, monkeypatch, no_pickle):
    images, labels = write_mnist(tmp_path / "mnist")
    write_mnist(tmp_path / "emnist" / "gzip", prefix="emnist-digits-")
    system = tmp_path / "usr-share-datasets-fashion-mnist"
    write_mnist(system)
    monkeypatch.setattr(idx_module, "SYSTEM_FASHION_MNIST", str(system))
    bin_parts = write_cifar10_bin(tmp_path / "c10bin" / "cifar-10-batches-bin")
    py_parts = {p: write_cifar10_py(tmp_path / f"c10py{p}" / "cifar-10-batches-py", protocol=p)
                for p in (2, 5)}
    c100 = {b: _write_cifar100(tmp_path / f"c100{b}", b) for b in (True, False)}
    make_image_folder(tmp_path / "PetImages")
    raw = write(tmp_path / "raw-idx1-ubyte", idx_bytes(np.arange(7, dtype=np.uint8)))

    assert read_idx(raw).tolist() == list(range(7))
    for cls in (MNIST, KMNIST, FashionMNIST):
        ds = cls(tmp_path / "mnist", transform=transforms.ToTensor())
        assert len(ds) == 5 and ds[2][1] == labels[2]
        np.testing.assert_allclose(ds[2][0].numpy()[0], images[2] / 255.0, rtol=1e-6)
    assert len(EMNIST(tmp_path / "emnist", split="digits")) == 5
    assert len(FashionMNIST(full=True, train=False)) == 5
    assert len(FashionMNIST(train=False)) == 2000 and len(Digits()) == 1437
    assert len(Shakespeare(block_size=8)[0][0]) == 8
    check = {"c10bin": bin_parts, "c10py2": py_parts[2], "c10py5": py_parts[5]}
    for root, parts in check.items():
        ds = CIFAR10(tmp_path / root, classes=("cat", "dog"))
        data, lab = parts["data_batch_1"]
        cat = lab.index(3)
        np.testing.assert_array_equal(ds[0][0], data[cat].reshape(3, 32, 32).transpose(1, 2, 0))
        assert ds.classes == ["cat", "dog"] and ds[0][1] == 0
    for binary, (data, fine) in c100.items():
        ds = CIFAR100(tmp_path / f"c100{binary}")
        assert ds.targets == fine and ds.data.shape == (6, 32, 32, 3)
    with pytest.warns(UserWarning, match="skipped 2"):
        pets = ImageFolder(tmp_path / "PetImages", classes=("Cat", "Dog"),
                           transform=transforms.Compose([transforms.Resize((4, 4)),
                                                         transforms.ToTensor()]))
    x, y = next(iter(DataLoader(pets, batch_size=5, num_workers=2)))
    assert x.shape == (5, 3, 4, 4) and y.tolist() == [0, 0, 0, 1, 1]


# ------------------------------------------------------------- hostile files in data loaders
@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    sentinel = tmp_path_factory.mktemp("sentinel") / "pwned"
    return fuzz.malicious_files(sentinel), sentinel


def test_hostile_files_never_run_code_in_data_loaders(tmp_path, hostile):
    """Each malicious file as a CIFAR python batch, an IDX file and an image: a clear error or a
    skipped image, never code execution."""
    files, sentinel = hostile
    good = tmp_path / "good" / "cifar-10-batches-py"
    write_cifar10_py(good)
    for i, (name, data) in enumerate(files.items()):
        batch = tmp_path / f"c{i}" / "cifar-10-batches-py"
        batch.mkdir(parents=True)
        for f in os.listdir(good):
            (batch / f).write_bytes((good / f).read_bytes())
        (batch / "data_batch_3").write_bytes(data)
        with pytest.raises((UnsafePickleError, ValueError), match="data_batch_3"):
            CIFAR10(batch.parent)
        path = write(tmp_path / f"idx{i}-images-idx3-ubyte", data)
        with pytest.raises(ValueError, match="read_idx"):
            read_idx(path, expected_ndim=3)
        folder = tmp_path / f"img{i}" / "Cat"
        folder.mkdir(parents=True)
        (folder / "x.png").write_bytes(data)
        (folder / "y.jpg").write_bytes(gzip.compress(data))
        with pytest.warns(UserWarning, match="skipped 2"):
            assert len(ImageFolder(folder.parent)) == 0
    assert not sentinel.exists()
