"""Reading and validating checkpoint files (the safetensors layout with chainrule metadata).

Everything here treats the file as hostile: sizes are checked against the file before anything is
allocated, JSON is depth-checked before it is parsed, and every failure is a CheckpointError.
See chainrule/serialization.py for the format.
"""
import base64
import hashlib
import json
import os
import re
from collections import OrderedDict

import numpy as np

from . import dtypes as _dt
from .errors import CheckpointError
from .nn.parameter import Parameter
from .tensor import Tensor

FORMAT_VERSION = "1"
_FORMAT, _STRUCT = "chainrule.format", "chainrule.structure"
_SUMS, _HSHA = "chainrule.checksums", "chainrule.header_sha256"
_MAX_HEADER = 100 * 1024 * 1024     # the safetensors library's own limit
_MAX_DEPTH = 100                    # nesting of saved containers (also stops reference cycles)
_MAX_JSON_DEPTH = 2 * _MAX_DEPTH + 8
_MAX_NDIM = 32
_ST_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "I8": "int8", "I16": "int16",
              "I32": "int32", "I64": "int64", "U8": "uint8", "BOOL": "bool"}
_NP_TO_ST = {np.dtype(v): k for k, v in _ST_DTYPES.items()}
_TAGS = {"float": {"float"}, "list": {"list"}, "tuple": {"tuple"}, "dict": {"dict"},
         "odict": {"odict"}, "tensor": {"tensor", "grad", "param"}, "ndarray": {"ndarray"},
         "npscalar": {"npscalar"}, "bytes": {"bytes"}, "dtype": {"dtype"}}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)


def _canonical(header):
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _bytes_of(arr):
    return arr.reshape(-1).view(np.uint8)


class _Reader:
    def __init__(self, fh, label):
        self.fh, self.label = fh, label

    def fail(self, reason):
        raise CheckpointError(self.label, reason)

    def load(self, target):
        try:
            return self._load(target)
        except CheckpointError:
            raise
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError,
                UnicodeError, MemoryError) as exc:   # a last line: checks above should catch all
            self.fail(f"invalid checkpoint ({type(exc).__name__}: {exc})")

    def read(self, n, what):
        data = self.fh.read(n)
        if len(data) != n:
            self.fail(f"the file ends inside the {what} (truncated)")
        return data

    def _load(self, target):
        fh = self.fh
        start = fh.tell()
        size = fh.seek(0, os.SEEK_END) - start
        fh.seek(start)
        if size < 8:
            self.fail(f"the file holds {size} bytes, too short for a checkpoint (truncated?)")
        head = self.read(8, "header length")
        n = int.from_bytes(head, "little")
        if n > size - 8 or n > _MAX_HEADER or n < 2:
            fh.seek(start)
            self.fail(f"the header length {n} is impossible for a file of {size} bytes"
                      f"{_sniff(fh.read(16))}")
        text = self._decode_utf8(self.read(n, "header"))
        header = self._parse_json(text, "header")
        if not isinstance(header, dict):
            self.fail("the header is not a JSON object")
        meta = header.pop("__metadata__", None)
        if meta is not None and not (isinstance(meta, dict) and all(
                isinstance(v, str) for v in meta.values())):
            self.fail("__metadata__ must be a JSON object of strings")
        entries = self._check_entries(header, size - 8 - n)
        ours = meta is not None and any(k.startswith("chainrule") for k in meta)
        sums = structure = None
        if ours:
            sums, structure = self._check_metadata(header, meta)
        arrays = {}
        for name, shape, dtype, _ in entries:
            arrays[name] = self._read_tensor(name, shape, dtype, sums)
        if fh.read(1):                  # the file grew while we read it
            self.fail("unexpected data after the last tensor")
        if not ours:
            return {name: target(Tensor._make(arrays[name])) for name in header}
        decoder = _Decoder(self, arrays, target)
        obj = decoder.decode(structure, 0)
        unused = set(arrays) - decoder.used
        if unused:
            self.fail(f"tensor {sorted(unused)[0]!r} is stored but not referenced by the "
                      f"structure")
        return obj

    def _decode_utf8(self, raw):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.fail(f"the header is not valid UTF-8 ({exc.reason} at byte {exc.start})")

    def _parse_json(self, text, what):
        depth = _json_depth(text)
        if depth > _MAX_JSON_DEPTH:
            self.fail(f"the {what} JSON is nested {depth} levels deep (limit {_MAX_JSON_DEPTH})")
        try:
            return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                              parse_float=_no_float)
        except (ValueError, RecursionError) as exc:
            self.fail(f"the {what} is not valid JSON ({exc})")

    def _check_entries(self, header, data_size):
        entries = []
        for name, info in header.items():
            where = f"tensor {name!r}"
            if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
                self.fail(f"{where}: the entry must hold exactly dtype, shape and data_offsets")
            dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
            if not isinstance(dtype, str) or dtype not in _ST_DTYPES:
                self.fail(f"{where}: unknown or unsupported dtype {dtype!r} (supported: "
                          f"{', '.join(_ST_DTYPES)})")
            if not (isinstance(shape, list) and len(shape) <= _MAX_NDIM
                    and all(type(d) is int and 0 <= d < 2 ** 62 for d in shape)):
                self.fail(f"{where}: invalid shape {_short(shape)} (expected at most "
                          f"{_MAX_NDIM} integers, each in [0, 2**62))")
            if not (isinstance(offsets, list) and len(offsets) == 2
                    and all(type(o) is int for o in offsets) and 0 <= offsets[0] <= offsets[1]):
                self.fail(f"{where}: invalid data_offsets {_short(offsets)}")
            dt = np.dtype(_ST_DTYPES[dtype])
            nbytes = dt.itemsize
            for d in shape:
                nbytes *= d
            if nbytes != offsets[1] - offsets[0]:
                self.fail(f"{where}: shape {shape} of {dtype} needs {nbytes} bytes but its "
                          f"data_offsets span {offsets[1] - offsets[0]}")
            entries.append((name, tuple(shape), dt, tuple(offsets)))
        entries.sort(key=lambda e: e[3])
        pos = 0
        for name, _, _, (begin, end) in entries:
            if begin != pos:
                kind = "overlaps the previous tensor" if begin < pos else "leaves a gap"
                self.fail(f"tensor {name!r}: data_offsets [{begin}, {end}] {kind} (expected "
                          f"to start at {pos})")
            pos = end
        if pos != data_size:
            self.fail(f"the tensors cover {pos} bytes but the file holds {data_size} bytes of "
                      f"data after the header (truncated or padded)")
        return entries

    def _check_metadata(self, header, meta):
        for key in (_FORMAT, _STRUCT, _SUMS, _HSHA):
            if key not in meta:
                self.fail(f"the chainrule metadata lacks {key!r}")
        if meta[_FORMAT] != FORMAT_VERSION:
            self.fail(f"unsupported chainrule format version {_short(meta[_FORMAT])} (this "
                      f"version reads {FORMAT_VERSION!r})")
        unsigned = dict(header)
        unsigned["__metadata__"] = {k: v for k, v in meta.items() if k != _HSHA}
        if hashlib.sha256(_canonical(unsigned)).hexdigest() != meta[_HSHA]:
            self.fail("header checksum mismatch: the header is corrupted")
        sums = self._parse_json(meta[_SUMS], "checksum table")
        if not (isinstance(sums, dict) and set(sums) == set(header)
                and all(isinstance(v, str) and _HEX64.fullmatch(v) for v in sums.values())):
            self.fail("the checksum table does not list exactly the stored tensors")
        return sums, self._parse_json(meta[_STRUCT], "structure")

    def _read_tensor(self, name, shape, dtype, sums):
        try:
            arr = np.empty(shape, dtype=dtype.newbyteorder("<"))
        except (ValueError, OverflowError, MemoryError) as exc:
            self.fail(f"tensor {name!r}: can't hold shape {shape} ({exc})")
        buf = _bytes_of(arr)
        done, want = 0, buf.size
        readinto = getattr(self.fh, "readinto", None)
        while done < want:
            if readinto is not None:
                got = readinto(memoryview(buf)[done:])
            else:
                chunk = self.fh.read(want - done)
                got = len(chunk)
                buf[done:done + got] = np.frombuffer(chunk, np.uint8)
            if not got:
                self.fail(f"tensor {name!r}: the file ends inside its data (truncated)")
            done += got
        if sums is not None and hashlib.sha256(buf).hexdigest() != sums[name]:
            self.fail(f"tensor {name!r}: checksum mismatch, its data is corrupted")
        if dtype == np.bool_ and want and buf.max() > 1:
            self.fail(f"tensor {name!r}: a bool tensor holds bytes other than 0 and 1")
        return arr if arr.dtype.isnative else arr.astype(dtype)


class _Decoder:
    def __init__(self, reader, arrays, target):
        self.reader, self.arrays, self.target, self.used = reader, arrays, target, set()

    def array(self, name):
        if not isinstance(name, str) or name not in self.arrays:
            self.reader.fail(f"the structure references a missing tensor {_short(name)}")
        self.used.add(name)
        return self.arrays[name]

    def decode(self, node, depth):
        fail = self.reader.fail
        if node is None or isinstance(node, (bool, str)) or type(node) is int:
            return node
        if depth > _MAX_DEPTH or not isinstance(node, dict) or not node:
            fail(f"malformed structure node {_short(node)}")
        tag = next(iter(node))
        if tag not in _TAGS or set(node) != _TAGS[tag]:
            fail(f"malformed structure node {_short(node)}")
        value = node[tag]
        if tag in ("list", "tuple", "dict", "odict"):
            if not isinstance(value, list) or (tag in ("dict", "odict") and len(value) % 2):
                fail(f"malformed {tag} in the structure")
            items = [self.decode(v, depth + 1) for v in value]
            if tag == "list":
                return items
            if tag == "tuple":
                return tuple(items)
            try:
                pairs = list(zip(items[::2], items[1::2]))
                out = OrderedDict(pairs) if tag == "odict" else dict(pairs)
            except TypeError:
                fail("a dict key in the structure is not hashable")
            if len(out) != len(pairs):
                fail("a dict in the structure has duplicate keys")
            return out
        if tag == "float":
            if not isinstance(value, str) or len(value) > 32:
                fail(f"malformed float {_short(value)} in the structure")
            try:
                return float(value)
            except ValueError:
                fail(f"malformed float {_short(value)} in the structure")
        if tag == "tensor":
            arr = self.array(value)
            grad, param = node["grad"], node["param"]
            if not isinstance(grad, bool) or not isinstance(param, bool):
                fail(f"malformed tensor node {_short(node)}")
            if grad and arr.dtype.kind != "f":
                fail(f"tensor {value!r} of dtype {arr.dtype} is marked requires_grad")
            t = self.target(Tensor._make(arr))
            if param:
                return Parameter(t, requires_grad=grad)
            return t.requires_grad_() if grad else t
        if tag == "ndarray":
            return self.array(value)
        if tag == "npscalar":
            arr = self.array(value)
            if arr.ndim:
                fail(f"NumPy scalar {value!r} has shape {arr.shape}")
            return arr[()]
        if tag == "bytes":
            try:
                return base64.b64decode(value, validate=True)
            except (TypeError, ValueError):
                fail("malformed bytes in the structure")
        if not isinstance(value, str) or value not in _dt._BY_NAME:
            fail(f"unknown dtype {_short(value)} in the structure")
        return _dt._BY_NAME[value]


def _unique_keys(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise ValueError(f"duplicate key {_short(dup)}")
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not allowed")


def _no_float(text):
    raise ValueError(f"a JSON number with a fraction or exponent ({_short(text)}) is not allowed")


_BRACKET_STEP = np.zeros(256, np.int32)      # byte -> nesting change: [ { open, ] } close
_BRACKET_STEP[[ord("["), ord("{")]] = 1
_BRACKET_STEP[[ord("]"), ord("}")]] = -1


def _json_depth(text):
    """The deepest bracket nesting outside string literals (before json.loads recurses)."""
    stripped = _JSON_STRING.sub("", text).encode("utf-8", "replace")
    codes = np.frombuffer(stripped, np.uint8)
    best, level, chunk = 0, 0, 1 << 14          # small chunks: little memory beyond the text
    for i in range(0, codes.size, chunk):
        step = _BRACKET_STEP[codes[i:i + chunk]]     # a table look-up: no per-chunk compares
        if step.size:
            running = np.cumsum(step, dtype=np.int32) + level
            best, level = max(best, int(running.max())), int(running[-1])
    return best


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _sniff(first):
    if first.startswith(b"PK\x03\x04") or first.startswith(b"PK\x05\x06"):
        return ("; this is a zip archive (torch.save or np.savez?), which holds pickled objects "
                "and is never loaded")
    if first.startswith(b"\x93NUMPY"):
        return "; this is a .npy file, which is not a checkpoint"
    if first[:1] == b"\x80" or first[:1] in (b"(", b"]", b"}", b"c"):
        return "; this looks like a pickle, which chainrule never unpickles"
    return " (truncated, or not a safetensors/chainrule checkpoint)"
