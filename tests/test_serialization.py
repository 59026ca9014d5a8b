"""chainrule.save / chainrule.load: round trips, safetensors interop, atomic writes, and that no
damaged, forged or malicious file ever executes code, loads wrong values or escapes
CheckpointError."""
import ast
import hashlib
import importlib.util
import io
import json
import os
import pickle
import stat
import time
import tracemalloc
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import CheckpointError
from chainrule import _checkpoint_format as fmt, serialization as ser

ROOT = Path(__file__).resolve().parents[1]
DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
ST_NAMES = dict(zip(DTYPES, ["F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "BOOL"]))


def _script(name, path):
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fuzz = _script("fuzz_checkpoints", "scripts/fuzz_checkpoints.py")


def _roundtrip(obj, tmp_path, **load_kwargs):
    path = tmp_path / "ckpt.safetensors"
    chainrule.save(obj, path)
    return chainrule.load(path, **load_kwargs)


def _sample(dtype, shape):
    rng = np.random.default_rng(1)
    return (rng.standard_normal(shape) * 40).astype(dtype) if dtype != "bool" \
        else rng.random(shape) > 0.5


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_roundtrip_every_dtype_and_shape(dtype, shape, tmp_path):
    t = chainrule.tensor(_sample(dtype, shape))
    back = _roundtrip({"t": t, "a": _sample(dtype, shape)}, tmp_path)
    assert fuzz.same(back, {"t": t, "a": _sample(dtype, shape)})
    assert back["t"].data.flags.c_contiguous and back["t"].data.flags.writeable


def test_roundtrip_non_contiguous_and_views(tmp_path):
    base = chainrule.arange(24, dtype=chainrule.float64).reshape(4, 6)
    views = {"t": base.t(), "step": base[:, ::2], "neg": chainrule.tensor(np.arange(5)[::-1]),
             "big_endian": np.arange(6, dtype=">i4").reshape(2, 3)[:, 1:]}
    back = _roundtrip(views, tmp_path)
    for k, v in views.items():
        expect = v.data if isinstance(v, chainrule.Tensor) else v
        got = back[k].data if isinstance(back[k], chainrule.Tensor) else back[k]
        np.testing.assert_array_equal(got, expect)
        assert got.shape == expect.shape and got.dtype.isnative


def test_roundtrip_values_and_containers(tmp_path):
    obj = OrderedDict([
        ("none", None), ("bools", [True, False]), ("ints", (0, -7, 2 ** 80, -(2 ** 70))),
        ("floats", [0.1, -0.0, float("nan"), float("inf"), -float("inf"), 5e-324, 1e308]),
        ("str", "päth/ünïcode ∑ \u2028 \"quoted\""), ("bytes", b"\x00\xff" * 3),
        ("int_keys", {0: "a", -1: "b", 10 ** 20: "c"}),
        ("mixed_keys", {1: 1, "1": 2, (1, 2): 3, None: 4, 2.5: 5, False: 6}),
        ("np_scalars", [np.float32(1.5), np.int64(-3), np.bool_(True), np.uint8(255)]),
        ("dtypes", [chainrule.float16, chainrule.int64, chainrule.bool]),
        ("nested", {"a": [{"b": (chainrule.ones(2),)}], "empty": [[], (), {}, OrderedDict()]}),
    ])
    back = _roundtrip(obj, tmp_path)
    assert fuzz.same(obj, back)
    assert type(back) is OrderedDict and type(back["nested"]) is dict
    assert list(back["mixed_keys"]) == [1, "1", (1, 2), None, 2.5, False]


def test_requires_grad_parameters_and_sharing(tmp_path):
    p = chainrule.nn.Parameter(chainrule.randn(3))
    frozen = chainrule.nn.Parameter(chainrule.randn(2), requires_grad=False)
    leaf = chainrule.randn(2, requires_grad=True)
    shared = chainrule.randn(4)
    arr = np.arange(3.0)
    back = _roundtrip({"p": p, "frozen": frozen, "leaf": leaf, "nonleaf": leaf * 2,
                       "s1": shared, "s2": shared.detach(), "a1": arr, "a2": arr}, tmp_path)
    assert type(back["p"]) is chainrule.nn.Parameter and back["p"].requires_grad
    assert type(back["frozen"]) is chainrule.nn.Parameter and not back["frozen"].requires_grad
    assert type(back["leaf"]) is chainrule.Tensor and back["leaf"].requires_grad
    assert back["nonleaf"].requires_grad and back["nonleaf"].is_leaf
    back["s1"].data[0] = 42.0                   # stored once, so the two come back shared
    assert back["s2"].data[0] == 42.0 and back["a2"] is back["a1"]
    with open(tmp_path / "ckpt.safetensors", "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    assert sorted(k for k in header if k != "__metadata__") == ["a1", "frozen", "leaf",
                                                                "nonleaf", "p", "s1"]


def test_module_optimizer_and_rng_state_resume_exactly(tmp_path):
    def build():
        chainrule.manual_seed(0)
        model = chainrule.nn.Sequential(chainrule.nn.Linear(4, 8), chainrule.nn.Tanh(),
                                        chainrule.nn.Linear(8, 1))
        return model, chainrule.optim.Adam(model.parameters(), lr=0.01, amsgrad=True)

    def step(model, opt):
        x = chainrule.randn(5, 4)
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.item()

    model, opt = build()
    for _ in range(3):
        step(model, opt)
    ckpt = {"model": model.state_dict(), "optim": opt.state_dict(),
            "rng": chainrule.get_rng_state(), "epoch": 3}
    chainrule.save(ckpt, tmp_path / "c.safetensors")
    expect = [step(model, opt) for _ in range(3)]

    model2, opt2 = build()
    state = chainrule.load(tmp_path / "c.safetensors")
    assert sorted(state["optim"]["state"]) == [0, 1, 2, 3]        # int keys stay ints
    assert state["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optim"])
    chainrule.set_rng_state(state["rng"])
    assert [step(model2, opt2) for _ in range(3)] == expect


def test_file_objects(tmp_path):
    obj = {"w": chainrule.randn(3, 2), 7: [1.5, "x"]}
    buf = io.BytesIO()
    chainrule.save(obj, buf)
    assert fuzz.same(chainrule.load(io.BytesIO(buf.getvalue())), obj)

    class Stream:                       # read-only, not seekable: a pipe or a socket
        def __init__(self, data):
            self._buf = io.BytesIO(data)

        def read(self, n=-1):
            return self._buf.read(n)
    assert fuzz.same(chainrule.load(Stream(buf.getvalue())), obj)

    with open(tmp_path / "two", "wb") as fh:     # a checkpoint after other data in a file
        fh.write(b"prefix")
        chainrule.save(obj, fh)
    with open(tmp_path / "two", "rb") as fh:
        fh.read(6)
        assert fuzz.same(chainrule.load(fh), obj)
    with pytest.raises(CheckpointError, match="two: the header length"):
        chainrule.load(str(tmp_path / "two"))
    with pytest.raises(TypeError, match="path or a writable"):
        chainrule.save(obj, 3)


def test_load_arguments(tmp_path):
    path = tmp_path / "c"
    chainrule.save({"t": chainrule.ones(2)}, str(path))
    for loc in (None, "cpu", chainrule.device("cpu"), {"cpu": "cpu"}, lambda t, where: None):
        assert chainrule.load(path, map_location=loc)["t"].device.type == "cpu"
    seen = []
    chainrule.load(path, map_location=lambda t, where: seen.append(where))
    assert seen == ["cpu"]
    assert chainrule.load(path, weights_only=False, mmap=False)["t"].shape == (2,)
    with pytest.raises(ValueError, match="never use pickle"):
        chainrule.load(path, pickle_module=pickle)
    with pytest.raises(ValueError, match="never use pickle"):
        chainrule.save({}, path, pickle_module=pickle)


def test_save_rejects_what_it_cannot_store_safely(tmp_path):
    path = tmp_path / "c"
    chainrule.save({"keep": 1}, path)
    cyclic = []
    cyclic.append(cyclic)
    deep = leaf = []
    for _ in range(ser._MAX_DEPTH + 1):
        leaf.append([])
        leaf = leaf[0]
    cases = [({"f": lambda: 0}, TypeError, "function"), ({1, 2}, TypeError, "set"),
             (np.array([object()]), TypeError, "dtype object"),
             (np.zeros(2, np.complex64), TypeError, "complex64"),
             ({chainrule.ones(1): 1}, TypeError, "dict keys"),
             (cyclic, ValueError, "cycle"), (deep, ValueError, "deeper")]
    for obj, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            chainrule.save(obj, path)
    assert chainrule.load(path) == {"keep": 1}         # the old file is untouched
    assert os.listdir(tmp_path) == ["c"]               # and no temporary file is left
    assert len(_roundtrip(deep[0], tmp_path)) == 1     # one level less is fine


# --------------------------------------------------------------------- format and interop
def test_file_layout_is_safetensors_with_chainrule_metadata(tmp_path):
    chainrule.save({"w": chainrule.ones(2, 3), "n": chainrule.tensor(5)}, tmp_path / "c")
    data = (tmp_path / "c").read_bytes()
    n = int.from_bytes(data[:8], "little")
    assert n % 8 == 0
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__")
    # widest items first, so that every tensor is aligned to its item size
    assert header["n"] == {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}
    assert header["w"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [8, 32]}
    assert meta["chainrule.format"] == "1"
    assert json.loads(meta["chainrule.structure"])["dict"][0] == "w"
    sums = json.loads(meta["chainrule.checksums"])
    assert sums["w"] == hashlib.sha256(data[8 + n + 8:]).hexdigest()
    signed = dict(header, __metadata__={k: v for k, v in meta.items()
                                        if k != "chainrule.header_sha256"})
    assert hashlib.sha256(fmt._canonical(signed)).hexdigest() == meta["chainrule.header_sha256"]


def test_safetensors_interop_both_ways(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = {d: _sample(d, (2, 3)) for d in DTYPES}
    arrays.update(scalar=np.array(2.0), empty=np.zeros((0, 2), np.float32))
    chainrule.save({k: chainrule.from_numpy(v) for k, v in arrays.items()}, tmp_path / "ours")
    theirs = st.load_file(str(tmp_path / "ours"))
    assert set(theirs) == set(arrays)
    for k, v in arrays.items():
        assert theirs[k].dtype == v.dtype and theirs[k].shape == v.shape
        np.testing.assert_array_equal(theirs[k], v)

    st.save_file(arrays, str(tmp_path / "theirs"), metadata={"format": "np"})
    back = chainrule.load(tmp_path / "theirs")
    assert set(back) == set(arrays)
    for k, v in arrays.items():
        assert isinstance(back[k], chainrule.Tensor) and back[k].data.dtype == v.dtype
        np.testing.assert_array_equal(back[k].data, v)
    st.save_file({}, str(tmp_path / "none"))
    assert chainrule.load(tmp_path / "none") == {}


# ------------------------------------------------------------------------- atomic writes
def test_atomic_write_keeps_mode_and_leaves_no_temp(tmp_path):
    path = tmp_path / "c"
    chainrule.save({"a": 1}, path)
    os.chmod(path, 0o640)
    chainrule.save({"a": 2}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and os.listdir(tmp_path) == ["c"]
    link = tmp_path / "link"
    os.symlink(path, link)
    chainrule.save({"a": 3}, link)                 # writes through the link, as torch does
    assert os.path.islink(link) and chainrule.load(path) == {"a": 3}
    with pytest.raises(FileNotFoundError):
        chainrule.save({"a": 1}, tmp_path / "missing" / "c")


def test_atomic_write_is_temp_fsync_rename_in_the_same_directory(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    chainrule.save({"old": chainrule.ones(3)}, path)
    events, real_fsync, real_replace = [], os.fsync, os.replace

    def fsync(fd):
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(("fsync", kind, os.path.realpath(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        assert chainrule.load(path)["old"].tolist() == [1, 1, 1]     # old file intact so far
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    chainrule.save({"new": chainrule.zeros(2)}, path)
    (_, kind1, tmp), (op, src, dst), (_, kind2, folder) = events
    assert (kind1, op, kind2) == ("file", "replace", "dir")
    assert src == tmp and os.path.dirname(tmp) == str(tmp_path) and dst == str(path)
    assert os.path.basename(tmp).startswith(".ckpt.safetensors.") and tmp.endswith(".tmp")
    assert folder == str(tmp_path) and list(chainrule.load(path)) == ["new"]

    def broken_write(fh, header, arrays):      # the disk fills up half-way through
        fh.write(header[:10])
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ser, "_write", broken_write)
    with pytest.raises(OSError, match="No space left"):
        chainrule.save({"newer": chainrule.zeros(2)}, path)
    assert list(chainrule.load(path)) == ["new"] and os.listdir(tmp_path) == [path.name]


def test_kill_during_save_leaves_old_or_new_checkpoint(tmp_path):
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    ok, steps, leftovers = fuzz.kill_trials(20, str(tmp_path), seed=1)
    assert ok == 20
    # at least some kills landed mid-write (an orphaned temporary file) and some after a save
    assert leftovers and any(s > 0 for s in steps)


# ---------------------------------------------------------------------------- no pickle
def test_no_pickle_anywhere(tmp_path, monkeypatch):
    for module in (ser, fmt):
        tree = ast.parse(Path(module.__file__).read_text())
        imported = {a.name for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom)) for a in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name and "pickle" in name for name in imported), module

    def boom(*args, **kwargs):
        raise AssertionError("pickle was used")
    for name in ("loads", "load", "dumps", "dump", "Unpickler", "Pickler"):
        monkeypatch.setattr(pickle, name, boom)
    monkeypatch.setattr(np, "load", boom)
    monkeypatch.setattr(np, "save", boom)
    obj = fuzz.reference_object()
    assert fuzz.same(_roundtrip(obj, tmp_path), obj)
    assert fuzz.same(_roundtrip(obj, tmp_path, map_location="cpu", weights_only=False), obj)
    buf = io.BytesIO()
    chainrule.save(obj, buf)
    assert fuzz.same(chainrule.load(io.BytesIO(buf.getvalue())), obj)
    with pytest.raises(CheckpointError):
        chainrule.load(io.BytesIO(buf.getvalue()[:-1]))
    assert fuzz.fuzz(20, seed=3, memory=False)["counts"]["crash"] == 0


# ------------------------------------------------------------------------ malicious files
# The corpus is built by scripts/fuzz_checkpoints.py (``--malicious DIR`` writes it to disk).
@pytest.fixture(scope="module")
def malicious(tmp_path_factory):
    """(files, sentinel): hostile files built once per module (the zip bomb takes a moment)."""
    sentinel = tmp_path_factory.mktemp("sentinel") / "pwned"
    return fuzz.malicious_files(sentinel), sentinel


def test_malicious_corpus_is_rejected_without_running_code(tmp_path, malicious):
    files, sentinel = malicious
    assert len(files) >= 20
    pickle.loads(files["pickle_p2.pt"])       # the payload is real: unpickling does run it
    assert sentinel.exists()
    sentinel.unlink()
    for name, data in files.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(data)
        tracemalloc.start()
        try:
            start = time.perf_counter()
            with pytest.raises(CheckpointError) as info:
                chainrule.load(path)
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert str(path) in str(info.value) and info.value.path == str(path), name
        assert elapsed < 1.0, (name, elapsed)
        assert peak < 2 * len(data) + (2 << 20), (name, peak)
        with pytest.raises(CheckpointError):
            chainrule.load(io.BytesIO(data))
    assert not sentinel.exists()


@pytest.mark.parametrize("name, message", [
    ("torch_zip.pt", "zip archive"), ("pickle_p4.pt", "pickle"), ("object_array.npy", ".npy"),
    ("object_array.npz", "zip archive"), ("zip_bomb.npz", "zip archive"),
    ("lying_size", "needs 4000000000000 bytes but|cover"), ("overlapping", "overlaps"),
    ("same_offsets", "overlaps"), ("header_over_100MB", "header length 104857608 is impossible"),
    ("too_many_dims", "invalid shape"), ("gap", "leaves a gap"),
    ("shape_mismatch", "needs 20 bytes"), ("bf16_dtype", "unsupported dtype 'BF16'"),
    ("nan_shape", "NaN is not allowed"), ("duplicate_tensor", "duplicate key 'a'"),
    ("deep_header", "nested 100000 levels"), ("bad_utf8", "UTF-8"),
    ("missing_tensor", "missing tensor 'b'"), ("checksum_mismatch", "'w': checksum mismatch"),
    ("truncated", "truncated"), ("wrong_header_sha", "header checksum mismatch"),
    ("unreferenced_tensor", "not referenced"), ("future_version", "version '999'"),
    ("pickle_as_tensor_bytes", "lacks 'chainrule.structure'"),
])
def test_error_messages_say_what_is_wrong(name, message, malicious):
    files = malicious[0]
    data = files[name] if name in files else files[name + ".safetensors"]
    with pytest.raises(CheckpointError, match=message):
        chainrule.load(io.BytesIO(data))


def test_real_torch_checkpoint_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match="zip archive"):
        chainrule.load(tmp_path / "t.pt")
    assert issubclass(CheckpointError, RuntimeError)


def test_memory_bounded_by_file_size(tmp_path):
    chainrule.save({"w": chainrule.zeros(1 << 20), "b": np.zeros(1 << 18)}, tmp_path / "c")
    size = os.path.getsize(tmp_path / "c")
    tracemalloc.start()
    try:
        chainrule.load(tmp_path / "c")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * size


# ---------------------------------------------------------------------------- fuzzing
def test_mutation_fuzz_1000():
    """1,000 damaged checkpoints (the script runs 10,000): never a wrong value, a crash or a
    hang; one exception type; each load under 1 s and within 2x the file size in memory. Their
    forged (re-signed) versions reach the structure decoder: never a crash either."""
    report = fuzz.fuzz(1000, seed=0)
    counts = report["counts"]
    assert counts["total"] == 1000 and counts["rejected"] > 900, counts
    assert counts["forged_loaded"] > 100 and counts["forged_rejected"] > 100, counts
    for bad in ("silent_wrong", "crash", "hang", "memory"):
        assert counts[bad] == 0, (bad, report["examples"])
    assert set(report["errors"]) == {"CheckpointError"}
    assert set(report["kinds"]) == {"bitflip", "bitflip_header", "bitflip_data", "zero",
                                    "truncate", "insert", "header_edit", "length_prefix"}
    assert report["max_time"] < 1.0
    assert report["sizes"]["model"] > 1_000_000 and report["max_ratio"]["model"] < 2.0


def test_atheris_harness_replays_seed_corpus():
    harness = _script("atheris_load", "fuzz/atheris_load.py")
    harness._chainrule = chainrule
    corpus = ROOT / "fuzz" / "corpus"
    assert sum(p.stat().st_size for p in corpus.iterdir()) < 100_000
    outcomes = harness.replay([str(corpus)])
    seeds = {p: v for p, v in outcomes.items() if not os.path.basename(p).startswith("found-")}
    assert len(seeds) >= 8 and all(v == ("rejected" if p.endswith(".bin") else "loaded")
                                   for p, v in seeds.items())
    assert set(outcomes.values()) <= {"loaded", "rejected"}    # found by the fuzzer: either
    for data in (b"", b"\xff" * 9, (corpus / "state_dict.safetensors").read_bytes()[:40]):
        harness.test_one_input(data)
    # re-signing takes a damaged file past the checksums, to the structure decoder
    flipped = (corpus / "bad_checksum.bin").read_bytes()
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        chainrule.load(io.BytesIO(flipped))
    forged = chainrule.load(io.BytesIO(harness.resign(flipped)))
    good = chainrule.load(corpus / "state_dict.safetensors")
    assert list(forged) == list(good) and forged["w"].tolist() != good["w"].tolist()
    assert harness.resign(b"\x02" + b"\0" * 7 + b"[]") is None


def test_checkpoint_error_forms():
    with_path = CheckpointError("/runs/a/ckpt.safetensors", "checksum mismatch")
    assert str(with_path) == "chainrule.load: /runs/a/ckpt.safetensors: checksum mismatch"
    assert (with_path.path, with_path.reason) == ("/runs/a/ckpt.safetensors", "checksum mismatch")
    plain = CheckpointError("the checkpoint does not match the model")   # a caller's check
    assert plain.path is None and str(plain) == \
        "invalid checkpoint: the checkpoint does not match the model"
    assert isinstance(plain, RuntimeError)
    for err in (with_path, plain):          # exceptions cross process boundaries (workers)
        back = pickle.loads(pickle.dumps(err))
        assert (type(back), str(back), back.path) == (CheckpointError, str(err), err.path)
