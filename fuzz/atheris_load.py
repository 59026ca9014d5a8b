"""Coverage-guided fuzzing of ``chainrule.load`` with atheris (libFuzzer for Python).

Every input must either load or raise ``chainrule.CheckpointError``; any other exception, a hang
or an out-of-memory is a finding.

Each input is loaded twice: as it is, and re-signed -- when its header parses as JSON, the
per-tensor checksums and the header checksum are recomputed for it, as a forger would. The
fuzzer can't find SHA-256 collisions, so without re-signing it would never get past the checksums
to the structure decoder; with it, every mutation of the structure, the offsets and the tensor
data is decoded too.

    pip install atheris
    mkdir -p /tmp/fuzz-work
    python fuzz/atheris_load.py /tmp/fuzz-work fuzz/corpus -max_total_time=600 \
        -rss_limit_mb=2048 -timeout=2                         # new inputs go to /tmp/fuzz-work
    python fuzz/atheris_load.py --replay fuzz/corpus          # no atheris: load each file once
    python fuzz/atheris_load.py --make-corpus fuzz/corpus     # rewrite the small seed corpus
"""
import hashlib
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

_chainrule = None


def resign(data):
    """``data`` with its checksums recomputed, or None when its header does not parse."""
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, RecursionError):
        return None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict):
        return None
    body = data[8 + n:]
    sums = {}
    for name, info in header.items():
        try:
            begin, end = info["data_offsets"]
            sums[name] = hashlib.sha256(body[begin:end]).hexdigest()
        except (TypeError, KeyError, ValueError):
            pass
    meta["chainrule.checksums"] = json.dumps(sums)
    meta.pop("chainrule.header_sha256", None)
    try:
        signed = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                            allow_nan=False).encode("ascii")
        raw = json.dumps(header).encode()
    except (ValueError, TypeError, RecursionError):
        return None
    meta["chainrule.header_sha256"] = hashlib.sha256(signed).hexdigest()
    raw = json.dumps(header).encode()       # now with the header checksum
    return len(raw).to_bytes(8, "little") + raw + body


def test_one_input(data):
    data = bytes(data)
    for candidate in (data, resign(data)):
        if candidate is None:
            continue
        try:
            _chainrule.load(io.BytesIO(candidate))
        except _chainrule.CheckpointError:
            pass


def make_corpus(directory):
    """A handful of small seeds: valid checkpoints of each shape of content, and near misses."""
    import numpy as np
    import chainrule
    from collections import OrderedDict
    os.makedirs(directory, exist_ok=True)
    seeds = {
        "state_dict": OrderedDict(w=chainrule.ones(2, 2), b=chainrule.zeros(2),
                                  n=chainrule.tensor(3)),
        "optimizer": {"state": {0: {"step": 3, "m": chainrule.ones(2)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "params": [0]}]},
        "scalars": [None, True, 1, -2.5, float("nan"), "s", b"\x01", np.int16(7),
                    chainrule.float32],
        "dtypes": {d: chainrule.ones(2, dtype=getattr(chainrule, d)) for d in
                   ("float16", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")},
        "empty": {},
        "edge_shapes": [chainrule.zeros(0, 3), chainrule.tensor(1.0), np.zeros((1, 0))],
    }
    for name, obj in seeds.items():
        chainrule.save(obj, os.path.join(directory, name + ".safetensors"))
    with open(os.path.join(directory, "state_dict.safetensors"), "rb") as fh:
        data = fh.read()
    with open(os.path.join(directory, "truncated.bin"), "wb") as fh:
        fh.write(data[:-3])
    flipped = bytearray(data)
    flipped[-1] ^= 1
    with open(os.path.join(directory, "bad_checksum.bin"), "wb") as fh:
        fh.write(bytes(flipped))
    try:
        from safetensors.numpy import save_file
    except ImportError:
        return
    save_file({"a": np.arange(4, dtype=np.float32), "b": np.ones((2, 1), np.int64)},
              os.path.join(directory, "foreign.safetensors"), metadata={"format": "np"})


def replay(paths):
    """Load every file (or every file in each directory); returns {path: outcome}."""
    files = []
    for p in paths:
        files += ([os.path.join(p, f) for f in sorted(os.listdir(p))] if os.path.isdir(p)
                  else [p])
    outcomes = {}
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        try:
            _chainrule.load(io.BytesIO(data))
            outcomes[path] = "loaded"
        except _chainrule.CheckpointError:
            outcomes[path] = "rejected"
    return outcomes


def main(argv):
    global _chainrule
    if argv[1:2] == ["--make-corpus"]:
        make_corpus(argv[2])
        return 0
    if argv[1:2] == ["--replay"]:
        import chainrule
        _chainrule = chainrule
        for path, outcome in replay(argv[2:]).items():
            print(f"{outcome:9s} {path}")
        return 0
    import atheris
    with atheris.instrument_imports(include=["chainrule"]):
        import chainrule
    _chainrule = chainrule
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
