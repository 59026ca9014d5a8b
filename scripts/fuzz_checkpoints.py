"""Damage chainrule checkpoints on purpose and check that ``chainrule.load`` never lies.

Mutation fuzz: a reference checkpoint (tensors of every dtype, 0-d and size-0 ones, nested
dicts with int keys, nan/inf floats, strings, ...) is damaged N times (bit flips, zeroed ranges,
truncation, insertion, edits of the JSON header with a consistent length prefix) and loaded.
Every load must either raise ``chainrule.CheckpointError`` or return exactly the saved values:

    silent_wrong   a load that succeeded with different values (must be 0)
    crashes        any exception other than CheckpointError (must be 0)
    hangs          a load slower than --timeout seconds (must be 0)

Kill test: a child process saves checkpoints in a loop and is SIGKILLed at random moments; the
path must then always hold a complete old or new checkpoint that passes its checksums.

    python scripts/fuzz_checkpoints.py --n 10000              # mutation fuzz, 10,000 files
    python scripts/fuzz_checkpoints.py --n 0 --kill-trials 50  # kill-during-save, 50 trials

Exit status 1 when any silent wrong load, crash, hang or broken checkpoint was seen.
"""
import argparse
import json
import os
import random
import signal
import sys
import time
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


def load_with_timeout(data, timeout):
    """(outcome, value, seconds) for loading ``data`` from memory."""
    import io
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    start = time.perf_counter()
    try:
        value = chainrule.load(io.BytesIO(data))
        outcome = "loaded"
    except CheckpointError as exc:
        value, outcome = exc, "rejected"
    except _Hang:
        value, outcome = None, "hang"
    except Exception as exc:            # noqa: BLE001 - counting crashes is the point
        value, outcome = exc, "crash"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    elapsed = time.perf_counter() - start
    if outcome != "hang" and elapsed > timeout:
        outcome = "hang"
    return outcome, value, elapsed


def fuzz(n, seed=0, timeout=1.0, verbose=False):
    """Run ``n`` mutations; returns a Counter of outcomes and per-kind details."""
    import io
    rng = random.Random(seed)
    original = reference_object()
    buf = io.BytesIO()
    chainrule.save(original, buf)
    data = buf.getvalue()
    counts, kinds, examples = Counter(), Counter(), []
    max_time = 0.0
    for _ in range(n):
        kind, damaged = mutate(data, rng)
        kinds[kind] += 1
        if damaged == data:
            counts["unchanged"] += 1
            continue
        outcome, value, elapsed = load_with_timeout(damaged, timeout)
        max_time = max(max_time, elapsed)
        if outcome == "loaded":
            outcome = "loaded_equal" if same(original, value) else "silent_wrong"
        counts[outcome] += 1
        if outcome in ("silent_wrong", "crash", "hang") and len(examples) < 10:
            examples.append((kind, outcome, repr(value)[:300]))
    counts["total"] = n
    if verbose:
        print("mutation kinds:", dict(kinds))
        for example in examples:
            print("  example:", example)
    return counts, max_time, examples


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
                    f"import fuzz_checkpoints as f; f._child_loop({path!r}, {last})")
            proc = subprocess.Popen([sys.executable, "-c", code])
            time.sleep(0.5 + rng.uniform(0.0, 4 * save_time))   # 0.5 s: interpreter start-up
            proc.kill()
            proc.wait()
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="damaged checkpoints to load")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds before a hang")
    parser.add_argument("--kill-trials", type=int, default=0, help="kill-during-save trials")
    parser.add_argument("--subprocess", action="store_true",
                        help="kill test: run the saver with subprocess instead of fork")
    args = parser.parse_args(argv)
    bad = False
    if args.n:
        start = time.perf_counter()
        counts, max_time, _ = fuzz(args.n, args.seed, args.timeout, verbose=True)
        print(f"mutation fuzz: {dict(counts)}; slowest load {max_time * 1e3:.1f} ms; "
              f"{time.perf_counter() - start:.1f} s in all")
        bad |= any(counts[k] for k in ("silent_wrong", "crash", "hang"))
    if args.kill_trials:
        import tempfile
        with tempfile.TemporaryDirectory() as directory:
            ok, steps, leftovers = kill_trials(args.kill_trials, directory, args.seed,
                                               use_fork=not args.subprocess)
        print(f"kill during save: {ok}/{args.kill_trials} trials left a complete checkpoint; "
              f"saves completed per trial: {Counter(min(s, 3) for s in steps)} (3 = 3+); "
              f"leftover temp files: {len(leftovers)}")
        bad |= ok != args.kill_trials
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
