"""Safe checkpoints: ``chainrule.save`` and ``chainrule.load``, without pickle.

Files use the safetensors layout, so the ``safetensors`` library reads them::

    8 bytes    N, the header length (unsigned, little-endian)
    N bytes    UTF-8 JSON: {name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [b, e]}, ...,
               "__metadata__": {str: str}}, padded with spaces to a multiple of 8 bytes
    the rest   each tensor's little-endian bytes; the offsets (relative to the end of the header)
               tile this region exactly, with no gap, overlap or trailing byte

chainrule's extras live in ``__metadata__``:

    chainrule.format          the format version, "1"
    chainrule.structure       the saved object as JSON, tensors replaced by their names
    chainrule.checksums       JSON {tensor name: sha256 of its bytes}
    chainrule.header_sha256   sha256 of the canonical JSON (sorted keys, no spaces, ASCII) of
                              the whole header without this entry

The structure is JSON in which None, bools, ints and strings stand for themselves and every
other value is a tagged object: ``{"float": "nan"}``, ``{"list": [...]}``, ``{"tuple": [...]}``,
``{"dict": [k1, v1, k2, v2, ...]}`` (keys of any saved type, so int keys stay ints),
``{"odict": [...]}``, ``{"tensor": name, "grad": bool, "param": bool}``, ``{"ndarray": name}``,
``{"npscalar": name}``, ``{"bytes": base64}`` and ``{"dtype": "float32"}``.

Limits enforced on load: a header of at most 100 MB (the safetensors library's limit), at most 100
nested containers, at most 32 dimensions, and the dtypes F16, F32, F64, I8, I16, I32, I64, U8 and
BOOL. The reading and validation code lives in chainrule/_checkpoint_format.py.
"""
import base64
import hashlib
import io
import json
import os
import tempfile
from collections import OrderedDict

import numpy as np

from . import dtypes as _dt
from ._backend import to_device
from ._checkpoint_format import (FORMAT_VERSION, _FORMAT, _HSHA, _MAX_DEPTH, _NP_TO_ST, _STRUCT,
                                 _ST_DTYPES, _SUMS, _Reader, _bytes_of, _canonical)
from .errors import CheckpointError
from .nn.parameter import Parameter
from .tensor import Tensor, device as _device

__all__ = ["save", "load", "CheckpointError"]


# ---------------------------------------------------------------------------------------- save
def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Save ``obj`` to a file in a safetensors-compatible format, without pickle.

    ``obj`` may be a Tensor or Parameter, a NumPy array or scalar, or any nesting of dicts
    (including OrderedDict; keys of any of these types), lists and tuples of those and of str,
    int, float (nan and inf included), bool, None, bytes and chainrule dtypes: a module's or an
    optimizer's ``state_dict``, an RNG state, a training checkpoint. Tensors that are the same
    array are stored once and come back sharing memory. ``requires_grad`` and the Parameter type
    are kept; tensors are saved as contiguous copies (views, strides and devices are not kept).

    Writing to a path is atomic: the data goes to a temporary file in the same directory, which is
    flushed, fsynced and renamed over ``f``, and the directory is fsynced; a crash at any moment
    leaves either the old file or the new one (and at worst an orphaned hidden
    ``.<name>.*.tmp`` file beside it). A flat dict of str to Tensor / ndarray gives a plain
    safetensors file whose tensor names are the dict's keys.

    Args:
        obj: the object to save.
        f: a path (str or os.PathLike) or a writable binary file object.
        pickle_module, pickle_protocol, _use_new_zipfile_serialization, _disable_byteorder_record:
            accepted for ``torch.save`` compatibility; a ``pickle_module`` is refused.

    Raises:
        TypeError: ``obj`` contains a value of another type (chainrule never pickles objects).
        ValueError: ``obj`` is nested deeper than 100 levels or contains a reference cycle.

    Example::

        >>> chainrule.save({"model": model.state_dict(), "step": 10}, "ckpt.safetensors")
        >>> chainrule.load("ckpt.safetensors")["step"]
        10
    """
    if pickle_module is not None:
        raise ValueError("chainrule.save: pickle_module is not supported; chainrule checkpoints "
                         "never use pickle")
    header, arrays = _build(obj)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(os.fspath(f), header, arrays)
    elif hasattr(f, "write"):
        _write(f, header, arrays)
        if hasattr(f, "flush"):
            f.flush()
    else:
        raise TypeError(f"chainrule.save: f must be a path or a writable binary file object, "
                        f"got {type(f).__name__}")


class _Encoder:
    def __init__(self):
        self.arrays = {}       # name -> contiguous little-endian array
        self._memo = {}        # id(array) -> name, so shared arrays are stored once
        self._keep = []        # keeps memoized arrays alive so that ids are not reused

    def store(self, array, path):
        key = id(array)
        if key in self._memo:
            return self._memo[key]
        self._keep.append(array)
        arr = to_device(array, "cpu")
        base = arr.dtype.newbyteorder("=")
        if base not in _NP_TO_ST:
            raise TypeError(f"chainrule.save: can't save an array of dtype {arr.dtype} at "
                            f"{path or 'the top level'}: the supported dtypes are "
                            f"{', '.join(_ST_DTYPES.values())}")
        little = base.newbyteorder("<")
        if arr.dtype != little or not arr.flags.c_contiguous:
            arr = np.array(arr, dtype=little, order="C")
        name = path or "tensor"
        n = 1
        while name in self.arrays or name == "__metadata__":
            name, n = f"{path or 'tensor'}#{n}", n + 1
        self.arrays[name] = arr
        self._memo[key] = name
        return name

    def encode(self, obj, path, depth):
        if depth > _MAX_DEPTH:
            raise ValueError(f"chainrule.save: the object is nested deeper than {_MAX_DEPTH} "
                             f"levels or contains a reference cycle (at {path})")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, np.generic):           # before int/float: np.float64 is a float
            return {"npscalar": self.store(np.asarray(obj), path)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return {"float": repr(float(obj))}
        if isinstance(obj, Tensor):
            return {"tensor": self.store(obj.data, path), "grad": bool(obj.requires_grad),
                    "param": isinstance(obj, Parameter)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self.store(obj, path)}
        if isinstance(obj, dict):
            flat = []
            for k, v in obj.items():
                if isinstance(k, (Tensor, np.ndarray)):
                    raise TypeError(f"chainrule.save: tensors can't be dict keys (at {path})")
                sub = f"{path}.{k}" if path else str(k)
                flat += [self.encode(k, sub, depth + 1), self.encode(v, sub, depth + 1)]
            return {"odict" if isinstance(obj, OrderedDict) else "dict": flat}
        if isinstance(obj, (list, tuple)):
            items = [self.encode(v, f"{path}.{i}" if path else str(i), depth + 1)
                     for i, v in enumerate(obj)]
            return {"list" if isinstance(obj, list) else "tuple": items}
        if isinstance(obj, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, _dt.dtype):
            return {"dtype": obj.name}
        raise TypeError(f"chainrule.save: can't save an object of type {type(obj).__name__} at "
                        f"{path or 'the top level'}: only tensors, NumPy arrays and scalars, "
                        f"dict, list, tuple, str, int, float, bool, None, bytes and dtypes can be "
                        f"saved (chainrule never pickles)")


def _build(obj):
    """The header bytes and the arrays in file order."""
    enc = _Encoder()
    structure = enc.encode(obj, "", 0)
    # Largest items first keeps every tensor aligned (the header is padded to 8 bytes).
    names = sorted(enc.arrays, key=lambda n: (-enc.arrays[n].itemsize, n))
    header, offset, sums = {}, 0, {}
    for name in names:
        arr = enc.arrays[name]
        header[name] = {"dtype": _NP_TO_ST[arr.dtype.newbyteorder("=")],
                        "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        sums[name] = hashlib.sha256(_bytes_of(arr)).hexdigest()
    header["__metadata__"] = {
        _FORMAT: FORMAT_VERSION,
        _STRUCT: json.dumps(structure, separators=(",", ":"), allow_nan=False),
        _SUMS: json.dumps(sums, sort_keys=True, separators=(",", ":"))}
    header["__metadata__"][_HSHA] = hashlib.sha256(_canonical(header)).hexdigest()
    raw = _canonical(header)
    raw += b" " * (-len(raw) % 8)
    return raw, [enc.arrays[n] for n in names]


def _write(fh, header, arrays):
    fh.write(len(header).to_bytes(8, "little"))
    fh.write(header)
    for arr in arrays:
        if arr.size:
            fh.write(memoryview(_bytes_of(arr)))


def _atomic_write(path, header, arrays):
    if os.path.islink(path):
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, header, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):        # make the rename itself durable (POSIX)
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


# ---------------------------------------------------------------------------------------- load
def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load an object saved by :func:`save`, or a flat dict from any safetensors file.

    Nothing in the file is executed: the format holds only data, and ``load`` never unpickles.
    Every damaged, forged or foreign file raises :class:`CheckpointError` naming the file and the
    problem. Header sizes are checked against the file size before anything is allocated, every
    tensor's sha256 and the header's own checksum are verified, so a load that succeeds returns
    exactly what was saved. A safetensors file without chainrule metadata loads as a dict
    ``{name: Tensor}`` in header order.

    Args:
        f: a path (str or os.PathLike) or a readable binary file object (read from its current
            position to its end).
        map_location: where tensors go: None or ``"cpu"`` (the default, CPU), ``"cuda"``, a
            ``chainrule.device``, a dict mapping ``"cpu"`` to one of those, or a callable
            ``fn(tensor, "cpu")`` returning the tensor to use (None keeps it). NumPy arrays stay
            NumPy arrays.
        pickle_module: must be None (chainrule never unpickles).
        weights_only, mmap, pickle_load_args: accepted for ``torch.load`` compatibility; loading
            is always weights-only and reads the file into memory.

    Returns:
        The saved object, with Tensors (and Parameters) in place of the saved tensors.

    Raises:
        CheckpointError: the file is not a valid checkpoint (a RuntimeError subclass).
        OSError: the path can't be opened.

    Example::

        >>> state = chainrule.load("ckpt.safetensors", map_location="cpu")
        >>> model.load_state_dict(state["model"])
    """
    if pickle_module is not None:
        raise ValueError("chainrule.load: pickle_module is not supported; chainrule checkpoints "
                         "never use pickle")
    target = _mapper(map_location)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return _Reader(fh, os.fsdecode(f)).load(target)
    if not hasattr(f, "read"):
        raise TypeError(f"chainrule.load: f must be a path or a readable binary file object, "
                        f"got {type(f).__name__}")
    name = getattr(f, "name", None)
    label = name if isinstance(name, str) else f"<{type(f).__name__} object>"
    seekable = getattr(f, "seekable", None)
    if not (callable(seekable) and seekable()):
        f = io.BytesIO(f.read())       # bounded by what the stream holds, never by its header
    return _Reader(f, label).load(target)


def _mapper(map_location):
    """A function Tensor -> Tensor that moves a loaded tensor where ``map_location`` says."""
    if isinstance(map_location, dict):
        map_location = map_location.get("cpu")
    if map_location is None:
        return lambda t: t
    if callable(map_location) and not isinstance(map_location, _device):
        def call(t):
            out = map_location(t, "cpu")
            return t if out is None else out
        return call
    dev = _device(map_location) if isinstance(map_location, str) else map_location
    if not isinstance(dev, _device):
        raise TypeError(f"chainrule.load: unsupported map_location {map_location!r}")
    if dev.type == "cpu":
        return lambda t: t
    return lambda t: t.to(dev)
