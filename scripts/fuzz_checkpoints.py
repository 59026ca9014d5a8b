"""Damage chainrule checkpoints on purpose and check that ``chainrule.load`` never lies.

Mutation fuzz: two reference checkpoints -- one small file holding every kind of value the
format stores (tensors of every dtype, 0-d and size-0 ones, nested dicts with int keys, nan/inf
floats, strings, ...) and one training checkpoint of about 1 MB (model, Adam and scheduler
state) -- are damaged N times in turn (bit flips, zeroed ranges, truncation, insertion, edits of
the JSON header with a consistent length prefix) and loaded. Every load must either raise
``chainrule.CheckpointError`` or return exactly the saved values:

    silent_wrong   a load that succeeded with different values (must be 0)
    crashes        any exception other than CheckpointError (must be 0)
    hangs          a load slower than --timeout seconds (must be 0)
    memory         a load whose peak traced memory exceeds 2x the file size plus a fixed
                   MEMORY_SLACK for the parser's own objects (must be 0)

Each damaged file is also loaded forged: re-signed with fresh checksums, as an attacker would
(fuzz/atheris_load.py's ``resign``), so that the damage reaches the structure decoder. A forged
file may load with other values (checksums detect damage, not forgery), but it too must never
crash, hang or overrun memory: forged_loaded / forged_rejected count those loads.

Malicious corpus: hostile files (pickle ``__reduce__`` payloads as .pt / .npy / .npz, object
arrays, zip bombs, oversized and lying safetensors headers, overlapping offsets, forged
structures with valid checksums, ...) must all raise CheckpointError without running any code:
a payload that ran would create a sentinel file.

Kill test: a child process saves checkpoints in a loop and is SIGKILLed at random moments; the
path must then always hold a complete old or new checkpoint that passes its checksums.

    python scripts/fuzz_checkpoints.py --n 10000               # mutation fuzz, 10,000 files
    python scripts/fuzz_checkpoints.py --n 0 --kill-trials 50   # kill-during-save, 50 trials
    python scripts/fuzz_checkpoints.py --n 0 --malicious DIR    # write and load the corpus

Exit status 1 when any silent wrong load, crash, hang, memory overrun, broken checkpoint or
accepted or executed malicious file was seen.
"""
import argparse
import base64
import hashlib
import io
import json
import os
import pickle
import random
import signal
import sys
import time
import tracemalloc
import zipfile
from collections import Counter, OrderedDict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import chainrule  # noqa: E402
from chainrule import CheckpointError  # noqa: E402


def reference_object():
    """A small checkpoint that exercises every kind of value the format stores."""
    rng = np.random.default_rng(0)
    tensors = OrderedDict()
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8"):
        arr = (rng.standard_normal((2, 3)) * 50).astype(name)
        tensors[name] = chainrule.tensor(arr)
    tensors["bool"] = chainrule.tensor(rng.random(5) > 0.5)
    tensors["scalar"] = chainrule.tensor(3.5)
    tensors["empty"] = chainrule.zeros(0, 4)
    tensors["param"] = chainrule.nn.Parameter(chainrule.randn(3))
    return {
        "model": tensors,
        "optim": {"state": {0: {"step": 7, "exp_avg": chainrule.randn(2, 3)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0],
                                    "nesterov": False, "foreach": None}]},
        "floats": [float("nan"), float("inf"), -float("inf"), -0.0, 1e-310],
        "names": ("epoch", "ß→∑", ""),
        "rng": chainrule.get_rng_state(),
        "array": np.arange(6, dtype=np.int64).reshape(2, 3),
        "npscalar": np.float32(0.25),
        "blob": b"\x00\xffchainrule",
        "big": 2 ** 100,
        "dtype": chainrule.float16,
    }


def model_checkpoint():
    """A training checkpoint of about 1 MB: a small CNN's state_dict, Adam and StepLR state."""
    nn = chainrule.nn
    saved = chainrule.get_rng_state()
    try:
        chainrule.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                              nn.Linear(4 * 26 * 26, 32), nn.ReLU(), nn.Linear(32, 10))
        opt = chainrule.optim.Adam(model.parameters(), lr=1e-3)
        sched = chainrule.optim.lr_scheduler.StepLR(opt, step_size=2)
        loss = model(chainrule.randn(2, 1, 28, 28)).square().mean()
        loss.backward()
        opt.step()
        sched.step()
        return {"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": 1, "loss": loss.item()}
    finally:
        chainrule.set_rng_state(saved)


def references():
    """``[(name, object, file bytes)]``: the checkpoints that the fuzz damages."""
    out = []
    for name, obj in (("all_kinds", reference_object()), ("model", model_checkpoint())):
        buf = io.BytesIO()
        chainrule.save(obj, buf)
        out.append((name, obj, buf.getvalue()))
    return out


def same(a, b):
    """Exact equality: types, dict order, dtypes, shapes, flags and every bit of every value."""
    if type(a) is not type(b):
        return False
    if isinstance(a, chainrule.Tensor):
        return (a.requires_grad == b.requires_grad and a.dtype is b.dtype
                and same(a.data, b.data))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes() or (a != a and b != b)
    if isinstance(a, dict):
        return (list(a) == list(b) and all(type(k) is type(j) for k, j in zip(a, b))
                and all(same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def _harness():
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz",
                        "atheris_load.py")
    spec = importlib.util.spec_from_file_location("atheris_load", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(data):
    n = int.from_bytes(data[:8], "little")
    return n, data[8:8 + n], data[8 + n:]


def _edit_header(data, rng):
    """A semantic edit of the JSON header, re-serialized with a matching length prefix."""
    n, raw, body = _split(data)
    header = json.loads(raw)
    names = [k for k in header if k != "__metadata__"]
    meta = header["__metadata__"]
    name = rng.choice(names)
    entry = header[name]
    kind = rng.randrange(11)
    if kind == 0:
        entry["dtype"] = rng.choice(["F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8",
                                     "BOOL", "BF16", "F8_E5M2", "U64", "X"])
    elif kind == 1:
        entry["shape"] = entry["shape"][::-1] + [1] * rng.randrange(2)
    elif kind == 2:
        delta = rng.choice([-8, -4, -2, -1, 1, 2, 4, 8])
        entry["data_offsets"] = [max(0, o + delta) for o in entry["data_offsets"]]
    elif kind == 3:
        other = header[rng.choice(names)]
        entry["data_offsets"], other["data_offsets"] = other["data_offsets"], entry["data_offsets"]
    elif kind == 4:
        del entry[rng.choice(list(entry))]
    elif kind == 5:
        header[name + "x"] = header.pop(name)
    elif kind == 6:
        key = rng.choice(sorted(meta))
        text = meta[key]
        if text:
            i = rng.randrange(len(text))
            meta[key] = text[:i] + rng.choice("0123456789abcdef{}[]\",:x") + text[i + 1:]
    elif kind == 7:
        del meta[rng.choice(sorted(meta))]
    elif kind == 8:
        structure = json.loads(meta["chainrule.structure"])
        structure["dict"][-1] = {"tensor": name, "grad": False, "param": False}
        meta["chainrule.structure"] = json.dumps(structure)
    elif kind == 9:
        entry["shape"] = [rng.choice([0, 1, 2 ** 31, 2 ** 62, -1])] + entry["shape"]
    else:
        header = dict(reversed(list(header.items())))       # benign: same header, new order
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + body


def mutate(data, rng):
    """One damaged copy of ``data``: returns (kind, bytes)."""
    size = len(data)
    header_end = 8 + _split(data)[0]
    kind = rng.choice(["bitflip", "bitflip_header", "bitflip_data", "zero", "truncate",
                       "insert", "header_edit", "length_prefix"])
    out = bytearray(data)
    if kind.startswith("bitflip"):
        low, high = {"bitflip": (0, size), "bitflip_header": (0, header_end),
                     "bitflip_data": (header_end, size)}[kind]
        for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
            i = rng.randrange(low, high)
            out[i] ^= 1 << rng.randrange(8)
    elif kind == "zero":
        i = rng.randrange(size)
        j = min(size, i + rng.randrange(1, 65))
        out[i:j] = bytes(j - i)
    elif kind == "truncate":
        out = out[:rng.randrange(size)]
    elif kind == "insert":
        i = rng.randrange(size + 1)
        out[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 17)))
    elif kind == "header_edit":
        out = bytearray(_edit_header(data, rng))
    else:
        n = rng.choice([0, 1, header_end - 9, header_end - 7, size, 2 ** 63, 2 ** 64 - 1,
                        rng.randrange(2 ** 32)])
        out[:8] = n.to_bytes(8, "little")
    return kind, bytes(out)


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


MEMORY_SLACK = 64 << 10     # the parser's own objects (JSON of a few-KB header), any file size


def load_with_timeout(data, timeout, memory=False):
    """``(outcome, value, seconds, peak bytes or None)`` for loading ``data`` from memory.

    The peak is the most memory traced (tracemalloc, NumPy included) while loading, above what
    was allocated before the load began.
    """
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    stream = io.BytesIO(data)
    if memory:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    start = time.perf_counter()
    try:
        value = chainrule.load(stream)
        outcome = "loaded"
    except CheckpointError as exc:
        value, outcome = exc, "rejected"
    except _Hang:
        value, outcome = None, "hang"
    except Exception as exc:            # noqa: BLE001 - counting crashes is the point
        value, outcome = exc, "crash"
    finally:
        elapsed = time.perf_counter() - start
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    peak = tracemalloc.get_traced_memory()[1] - base if memory else None
    if outcome != "hang" and elapsed > timeout:
        outcome = "hang"
    return outcome, value, elapsed, peak


def fuzz(n, seed=0, timeout=1.0, verbose=False, memory=True):
    """Load ``n`` damaged checkpoints (alternating between the references).

    Returns a report dict: ``counts`` (Counter of outcomes: loaded_equal, rejected,
    silent_wrong, crash, hang, memory, unchanged, forged_loaded, forged_rejected, total),
    ``kinds`` (mutations made),
    ``errors`` (Counter of exception type names), ``max_time`` / ``mean_time`` (seconds per
    load), ``sizes``, and with memory=True, per reference: ``max_peak`` (bytes), ``max_excess``
    (the most that a peak exceeded 2x its damaged file's size; at most MEMORY_SLACK) and
    ``max_ratio`` (peak / size over damaged files of at least 64 KiB, where the parser's fixed
    overhead is small), plus up to 10 ``examples`` of failures.
    """
    rng = random.Random(seed)
    refs = references()
    counts, kinds, errors, examples = Counter(), Counter(), Counter(), []
    times, max_peak, max_ratio, max_excess = [], Counter(), {}, {}
    if memory:
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
    resign = _harness().resign

    def measure(name, kind, damaged, original):
        outcome, value, elapsed, peak = load_with_timeout(damaged, timeout, memory)
        times.append(elapsed)
        if isinstance(value, BaseException):
            errors[type(value).__name__] += 1
        if outcome == "loaded":
            outcome = "loaded_equal" if original is None or same(original, value) \
                else "silent_wrong"
        if memory:
            max_peak[name] = max(max_peak[name], peak)
            excess = peak - 2 * len(damaged)
            max_excess[name] = max(max_excess.get(name, excess), excess)
            if len(damaged) >= 64 << 10:
                max_ratio[name] = max(max_ratio.get(name, 0.0), peak / len(damaged))
            if outcome in ("loaded_equal", "rejected") and \
                    peak > 2 * len(damaged) + MEMORY_SLACK:
                outcome = "memory"
        if original is None and outcome in ("loaded_equal", "rejected"):
            outcome = "forged_" + ("loaded" if outcome == "loaded_equal" else "rejected")
        counts[outcome] += 1
        if outcome in ("silent_wrong", "crash", "hang", "memory") and len(examples) < 10:
            examples.append((name, kind, outcome, repr(value)[:300], peak))

    try:
        for i in range(n):
            name, original, data = refs[i % len(refs)]
            kind, damaged = mutate(data, rng)
            kinds[kind] += 1
            if damaged == data:
                counts["unchanged"] += 1
                continue
            measure(name, kind, damaged, original)
            forged = resign(damaged)
            if forged is not None and forged != data:
                measure(name, kind, forged, None)
    finally:
        if memory and not was_tracing:
            tracemalloc.stop()
    counts["total"] = n
    report = {"counts": counts, "kinds": kinds, "errors": errors, "examples": examples,
              "max_time": max(times, default=0.0),
              "mean_time": sum(times) / max(1, len(times)),
              "sizes": {name: len(data) for name, _, data in refs},
              "max_peak": dict(max_peak), "max_excess": max_excess, "max_ratio": max_ratio}
    if verbose:
        print("mutation kinds:", dict(kinds))
        print("exception types:", dict(errors))
        for example in examples:
            print("  example:", example)
    return report


# ------------------------------------------------------------------------ malicious corpus
class _Evil:
    """Unpickling this creates ``sentinel``: the proof that a loader ran code from a file."""

    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (exec, (f"open({self.sentinel!r}, 'w').close()",))


_ST_NAMES = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "int16": "I16",
             "int32": "I32", "int64": "I64", "uint8": "U8", "bool": "BOOL"}


def _canonical(header):
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def forge(tensors, structure=None, meta=None, sign=True):
    """A file with correct checksums (unless ``sign`` is False) around a hostile structure."""
    header, body = {}, b""
    for name, arr in tensors.items():
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": _ST_NAMES[arr.dtype.name], "shape": list(arr.shape),
                        "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    if structure is not None:
        sums = {n: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
                for n, a in tensors.items()}
        header["__metadata__"] = {"chainrule.format": "1", "chainrule.checksums": json.dumps(sums),
                                  "chainrule.structure": structure if isinstance(structure, str)
                                  else json.dumps(structure), **(meta or {})}
        if sign:
            header["__metadata__"]["chainrule.header_sha256"] = hashlib.sha256(
                _canonical(header)).hexdigest()
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + body


def raw_safetensors(header_text, body=b"", length=None):
    """A safetensors-shaped file: length prefix (``length`` if given), header text, body."""
    raw = header_text.encode() if isinstance(header_text, str) else header_text
    return (len(raw) if length is None else length).to_bytes(8, "little") + raw + body


def _zip(entries, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return buf.getvalue()


def _pickle_files(evil):
    files = {f"pickle_p{p}.pt": pickle.dumps(evil, protocol=p) for p in (0, 2, 4, 5)}
    files["torch_zip.pt"] = _zip([("archive/data.pkl", pickle.dumps(evil)),
                                  ("archive/version", "3")])
    try:                                  # the real thing, when torch is installed
        import torch
        buf = io.BytesIO()
        torch.save({"w": torch.ones(2), "evil": evil}, buf)
        files["torch_save_reduce.pt"] = buf.getvalue()
    except ImportError:
        pass
    obj_arr = np.empty(2, dtype=object)
    obj_arr[:] = [evil, 1]
    buf = io.BytesIO()
    np.lib.format.write_array(buf, obj_arr, allow_pickle=True)
    files["object_array.npy"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, w=np.ones(3), evil=obj_arr)
    files["object_array.npz"] = buf.getvalue()
    files["pickle_in.npz"] = _zip([("arr_0.npy", pickle.dumps(evil))])
    files["zip_bomb.npz"] = _zip([("bomb.npy", b"\0" * (50 << 20))], zipfile.ZIP_DEFLATED)
    files["zip_bomb_nested.pt"] = _zip([("archive/data.pkl", files["zip_bomb.npz"])],
                                       zipfile.ZIP_DEFLATED)
    files["pickle_after_header.safetensors"] = raw_safetensors(
        '{"x":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}', pickle.dumps(evil))
    files["pickle_as_tensor_bytes.safetensors"] = raw_safetensors(
        '{"x":{"dtype":"U8","shape":[%d],"data_offsets":[0,%d]},"__metadata__":'
        '{"chainrule.format":"1"}}' % ((len(pickle.dumps(evil)),) * 2), pickle.dumps(evil))
    return files


def _header_files():
    body = np.arange(4, dtype=np.float32).tobytes()
    t = '{"t":{"dtype":"%s","shape":%s,"data_offsets":%s}}'
    return {
        "object_dtype": raw_safetensors(t % ("O", "[4]", "[0,16]"), body),
        "bf16_dtype": raw_safetensors(t % ("BF16", "[8]", "[0,16]"), body),
        "huge_header_length": raw_safetensors("{}", length=2 ** 63),
        "header_over_100MB": raw_safetensors("{}", length=(100 << 20) + 8),
        "header_longer_than_file": raw_safetensors("{}" + " " * 6, length=4096),
        "lying_size": raw_safetensors(t % ("F32", "[1000000000000]", "[0,4000000000000]"),
                                      body),
        "lying_size_small_offsets": raw_safetensors(t % ("F32", "[1000000000000]", "[0,16]"),
                                                    body),
        "shape_mismatch": raw_safetensors(t % ("F32", "[5]", "[0,16]"), body),
        "huge_dims_zero": raw_safetensors(t % ("F32", "[4611686018427387904,"
                                               "4611686018427387904,0]", "[0,0]"), body),
        "too_many_dims": raw_safetensors(t % ("F32", "[" + ",".join(["1"] * 40) + "]",
                                              "[0,4]"), body[:4]),
        "negative_shape": raw_safetensors(t % ("F32", "[-4]", "[0,16]"), body),
        "float_shape": raw_safetensors(t % ("F32", "[4.0]", "[0,16]"), body),
        "nan_shape": raw_safetensors(t % ("F32", "[NaN]", "[0,16]"), body),
        "infinite_offset": raw_safetensors(t % ("F32", "[4]", "[0,Infinity]"), body),
        "negative_offsets": raw_safetensors(t % ("F32", "[4]", "[-16,0]"), body),
        "reversed_offsets": raw_safetensors(t % ("F32", "[4]", "[16,0]"), body),
        "overlapping": raw_safetensors('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                                       '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}',
                                       body),
        "same_offsets": raw_safetensors('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
                                        '"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}',
                                        body),
        "gap": raw_safetensors(t % ("F32", "[2]", "[8,16]"), body),
        "trailing_data": raw_safetensors(t % ("F32", "[2]", "[0,8]"), body),
        "duplicate_tensor": raw_safetensors('{"a":{"dtype":"F32","shape":[2],"data_offsets":'
                                            '[0,8]},"a":{"dtype":"F32","shape":[2],'
                                            '"data_offsets":[8,16]}}', body),
        "duplicate_field": raw_safetensors('{"a":{"dtype":"F32","dtype":"I32","shape":[4],'
                                           '"data_offsets":[0,16]}}', body),
        "deep_header": raw_safetensors("[" * 100000 + "]" * 100000),
        "bad_utf8": raw_safetensors(b'{"\xff\xfe":1}  '),
        "not_json": raw_safetensors("{'a': 1}"),
        "header_is_list": raw_safetensors("[]"),
        "metadata_not_strings": raw_safetensors('{"__metadata__":{"a":1}}'),
        "bool_byte_2": raw_safetensors('{"b":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}',
                                       b"\x01\x02"),
        "huge_int": raw_safetensors('{"a":{"dtype":"U8","shape":[%s],"data_offsets":[0,0]}}'
                                    % ("9" * 5000)),
        "empty_file": b"",
        "seven_bytes": b"\x02" + b"\0" * 6,
    }


def _structure_files(evil):
    one = {"a": np.ones(2, np.float32)}
    ref = {"tensor": "a", "grad": False, "param": False}
    deep = "{\"list\":[" * 5000 + '{"tensor":"a","grad":false,"param":false}' + "]}" * 5000
    files = {
        "missing_tensor": forge(one, {"list": [ref, dict(ref, tensor="b")]}),
        "unreferenced_tensor": forge(dict(one, b=np.zeros(1, np.uint8)), ref),
        "deep_structure": forge(one, deep),
        "unknown_tag": forge(one, {"pickle": base64.b64encode(pickle.dumps(evil)).decode()}),
        "extra_node_key": forge(one, dict(ref, code="print()")),
        "grad_on_int": forge({"a": np.ones(2, np.int32)}, dict(ref, grad=True)),
        "unsigned_header": forge(one, ref, sign=False),
        "wrong_header_sha": forge(one, ref, meta={"chainrule.header_sha256": "0" * 64},
                                  sign=False),
        "future_version": forge(one, ref, meta={"chainrule.format": "999"}),
        "structure_huge_int": forge(one, '{"list":[%s,%s]}' % (json.dumps(ref), "9" * 5000)),
        "structure_nan": forge(one, '{"list":[{"tensor":"a","grad":false,"param":false},NaN]}'),
        "odd_dict": forge(one, {"dict": [ref]}),
        "unhashable_key": forge(one, {"dict": [{"list": []}, ref]}),
        "bad_float": forge(one, {"list": [ref, {"float": "1e5" * 20}]}),
    }
    good = io.BytesIO()
    chainrule.save({"w": chainrule.ones(4), "n": 3}, good)
    data = good.getvalue()
    flipped = bytearray(data)
    flipped[-3] ^= 0x10
    files.update({"checksum_mismatch": bytes(flipped), "truncated": data[:-1],
                  "appended": data + b"\0" * 8})
    return files


def malicious_files(sentinel):
    """``{file name: bytes}``: hostile files; a payload that runs creates ``sentinel``."""
    evil = _Evil(sentinel)
    files = _pickle_files(evil)
    files.update({name + ".safetensors": data for name, data in _header_files().items()})
    files.update({name + ".safetensors": data for name, data in _structure_files(evil).items()})
    return files


def check_malicious(directory, timeout=1.0):
    """Write the corpus to ``directory`` and load every file from its path.

    Returns ``(results, ran)``: ``{name: (outcome, seconds, peak bytes, message)}`` and whether
    any payload ran (the sentinel file exists).
    """
    os.makedirs(directory, exist_ok=True)
    sentinel = os.path.join(directory, "SENTINEL-code-was-executed")
    results = {}
    for name, data in malicious_files(sentinel).items():
        path = os.path.join(directory, name)
        with open(path, "wb") as fh:
            fh.write(data)
        tracemalloc.start()
        start = time.perf_counter()
        try:
            chainrule.load(path)
            outcome, message = "loaded", ""
        except CheckpointError as exc:
            outcome, message = "rejected", exc.reason
        except Exception as exc:            # noqa: BLE001 - counting escapes is the point
            outcome, message = f"crash ({type(exc).__name__})", str(exc)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if outcome == "rejected" and elapsed > timeout:
            outcome = "hang"
        results[name] = (outcome, elapsed, peak, message)
    return results, os.path.exists(sentinel)


# ----------------------------------------------------------------------- kill during save
def kill_payload(i, size=1 << 18):
    """Checkpoint number ``i``: every value derives from ``i``, so a mix of two is detectable."""
    return {"step": i, "w": chainrule.full((size,), float(i)),
            "b": np.full(size // 4, i, dtype=np.int64), "meta": {i: str(i)}}


def check_kill_payload(obj):
    i = obj["step"]
    return (type(i) is int and list(obj) == ["step", "w", "b", "meta"]
            and bool((obj["w"].data == float(i)).all()) and bool((obj["b"] == i).all())
            and obj["meta"] == {i: str(i)})


def _child_loop(path, start):
    i = start
    while True:
        i += 1
        chainrule.save(kill_payload(i), path)


def kill_trials(trials, directory, seed=0, use_fork=True):
    """SIGKILL a saving process at random moments; returns (ok, steps seen, leftover temps)."""
    import subprocess
    rng = random.Random(seed)
    path = os.path.join(directory, "ckpt.safetensors")
    chainrule.save(kill_payload(0), path)
    start = time.perf_counter()
    chainrule.save(kill_payload(0), path)
    save_time = time.perf_counter() - start
    steps, ok = [], 0
    for trial in range(trials):
        last = chainrule.load(path)["step"]
        if use_fork and hasattr(os, "fork"):
            pid = os.fork()
            if pid == 0:                          # child: save until killed
                try:
                    _child_loop(path, last)
                finally:
                    os._exit(1)
            time.sleep(rng.uniform(0.0, 4 * save_time))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        else:
            code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
                    f"import fuzz_checkpoints as f; print('ready', flush=True); "
                    f"f._child_loop({path!r}, {last})")
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
            proc.stdout.readline()                    # wait for the interpreter's start-up
            time.sleep(rng.uniform(0.0, 4 * save_time))
            proc.kill()
            proc.wait()
            proc.stdout.close()
        try:
            obj = chainrule.load(path)
        except CheckpointError as exc:
            print(f"trial {trial}: broken checkpoint: {exc}")
            continue
        if check_kill_payload(obj) and obj["step"] >= last:
            ok += 1
            steps.append(obj["step"] - last)
        else:
            print(f"trial {trial}: inconsistent checkpoint (step {obj['step']})")
    leftovers = [f for f in os.listdir(directory) if f.endswith(".tmp")]
    return ok, steps, leftovers


def _report_fuzz(args):
    start = time.perf_counter()
    report = fuzz(args.n, args.seed, args.timeout, verbose=True, memory=not args.no_memory)
    counts = report["counts"]
    print(f"mutation fuzz: {dict(counts)}")
    print(f"  load time: mean {report['mean_time'] * 1e3:.2f} ms, slowest "
          f"{report['max_time'] * 1e3:.1f} ms; {time.perf_counter() - start:.1f} s in all")
    for name, size in report["sizes"].items():
        if name in report["max_peak"]:
            ratio = report["max_ratio"].get(name)
            print(f"  {name} ({size} bytes): peak traced memory at most "
                  f"{report['max_peak'][name]} bytes; at most 2x the damaged file's size + "
                  f"{max(0, report['max_excess'][name])} bytes (allowed: + {MEMORY_SLACK})"
                  + (f"; files >= 64 KiB: at most {ratio:.3f}x their size" if ratio else ""))
    bad = any(counts[k] for k in ("silent_wrong", "crash", "hang", "memory"))
    return bad or set(report["errors"]) - {"CheckpointError"}


def _report_malicious(directory, timeout):
    results, ran = check_malicious(directory, timeout)
    outcomes = Counter(r[0] for r in results.values())
    for name, (outcome, elapsed, peak, message) in sorted(results.items()):
        print(f"  {outcome:9s} {elapsed * 1e3:7.1f} ms {peak:>9d} B  {name}: {message[:90]}")
    print(f"malicious corpus: {len(results)} files, {dict(outcomes)}; code executed: "
          f"{'YES' if ran else 'no'}")
    return ran or outcomes["rejected"] != len(results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="damaged checkpoints to load")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds before a hang")
    parser.add_argument("--no-memory", action="store_true",
                        help="mutation fuzz: skip the (slower) peak-memory tracing")
    parser.add_argument("--kill-trials", type=int, default=0, help="kill-during-save trials")
    parser.add_argument("--subprocess", action="store_true",
                        help="kill test: run the saver with subprocess instead of fork")
    parser.add_argument("--malicious", metavar="DIR",
                        help="write the malicious corpus to DIR and load every file")
    args = parser.parse_args(argv)
    bad = False
    if args.n:
        bad |= bool(_report_fuzz(args))
    if args.malicious:
        bad |= _report_malicious(args.malicious, args.timeout)
    if args.kill_trials:
        import tempfile
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as directory:
            ok, steps, leftovers = kill_trials(args.kill_trials, directory, args.seed,
                                               use_fork=not args.subprocess)
        print(f"kill during save: {ok}/{args.kill_trials} trials left a complete checkpoint "
              f"that passes its checksums; saves completed per trial: "
              f"{dict(sorted(Counter(min(s, 3) for s in steps).items()))} (3 = 3+); "
              f"orphaned temp files: {len(leftovers)}; {time.perf_counter() - start:.1f} s")
        bad |= ok != args.kill_trials
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
