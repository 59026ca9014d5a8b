"""Collation: turn a list of samples into one batch (PyTorch's ``default_collate`` rules)."""
import collections.abc
import numbers

import numpy as np

from ... import dtypes as _dt
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _np_to_tensor(arr, what):
    if arr.dtype.kind in "SUOV" or arr.dtype.kind == "M" or arr.dtype.kind == "m":
        raise TypeError(_ERR.format(f"{what} of dtype {arr.dtype}"))
    try:
        _dt.from_numpy_dtype(arr.dtype)
    except Exception:
        raise TypeError(f"default_collate: NumPy dtype {arr.dtype} has no chainrule dtype") \
            from None
    return Tensor._make(arr)


def _stack(arrays, shapes_of):
    first = shapes_of[0]
    for i, s in enumerate(shapes_of):
        if s != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(first)} at entry 0 and {list(s)} at entry {i}")
    return np.stack(arrays)


def default_collate(batch):
    """Merge a list of samples into a batch, recursing into containers.

    Rules (as PyTorch's): Tensors and NumPy arrays are stacked along a new first dimension
    (into a Tensor); Python floats become a float64 Tensor, ints an int64 Tensor, bools a bool
    Tensor, NumPy scalars keep their dtype; strings and bytes stay a list; a dict collates per key;
    a namedtuple collates per field into the same type; other sequences (tuples, lists) are
    transposed and collated per position into a list.

    Example:
        >>> default_collate([(chainrule.zeros(3), 0), (chainrule.ones(3), 1)])
        [tensor of shape (2, 3), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(t.requires_grad for t in batch):
            from ... import stack
            return stack(list(batch), 0)
        return Tensor._make(_stack([t.data for t in batch], [t.shape for t in batch]))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "SUO":
            raise TypeError(_ERR.format(f"numpy array of dtype {elem.dtype}"))
        return _np_to_tensor(_stack([np.asarray(b) for b in batch],
                                    [np.shape(b) for b in batch]), "numpy array")
    if isinstance(elem, np.generic):
        return _np_to_tensor(np.asarray(batch), "numpy scalar")
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, bool):
        return Tensor._make(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._make(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._make(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):        # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(_ERR.format(type(elem).__name__))


def default_convert(data):
    """Turn NumPy arrays (and containers of them) into Tensors without batching.

    Used by ``DataLoader(batch_size=None)``; numbers, strings and Tensors pass through.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return _np_to_tensor(data, "numpy array") if data.dtype.kind not in "SUO" else data
    if isinstance(data, np.generic) and data.dtype.kind in "biuf":
        return _np_to_tensor(np.asarray(data), "numpy scalar")
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
