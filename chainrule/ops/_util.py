"""Small helpers shared by the op families: argument normalisation and error messages."""
import numpy as np

from .. import dtypes as _dt
from ..autograd import engine as _engine


def wrap_dim(dim, ndim, op):
    """Normalise a possibly negative ``dim`` for a tensor of ``ndim`` dims (0-d counts as 1)."""
    n = max(ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return int(dim) % n


def wrap_dims(dim, ndim, op):
    """``None`` -> all dims; int or sequence -> sorted tuple of non-negative dims (no repeats)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    dims = tuple(wrap_dim(d, ndim, op) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dim {tuple(dim)} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return tuple(sorted(dims))


def as_tensor_arg(x, op):
    """Python numbers pass through; arrays become Tensors; anything else is a TypeError."""
    from ..tensor import Tensor
    if isinstance(x, np.generic):
        return x.item()    # why: NumPy scalars are not "weak" and would promote float32 to float64
    if isinstance(x, (Tensor, bool, int, float)):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._make(x)
    if isinstance(x, (list, tuple)):
        return Tensor(x)
    raise TypeError(f"{op}: expected a Tensor or a number, got {type(x).__name__}")


def cast_to(x, dtype):
    """Cast a Tensor (differentiably) or leave a Python number as it is."""
    from ..tensor import Tensor
    if isinstance(x, Tensor) and x.dtype is not dtype:
        from . import cast
        return cast(x, dtype)
    if x.__class__ is int and not dtype.is_floating_point and dtype is not _dt.bool:
        return _wrap_int(x, dtype.np)
    return x


def _wrap_int(value, np_dtype):
    """A Python int taken modulo the integer dtype's range (torch wraps; NumPy would raise)."""
    info = np.iinfo(np_dtype)
    if info.min <= value <= info.max:
        return value
    return (value - info.min) % (1 << info.bits) + info.min


def promote(op, *args):
    """Promote Tensor/number operands to their torch result dtype; returns (dtype, args)."""
    if len(args) == 2:
        fast = _promote_fast(*args)
        if fast is not None:
            return fast, args
    args = tuple(as_tensor_arg(a, op) for a in args)
    dt = _dt.result_type(*args)
    return dt, tuple(cast_to(a, dt) for a in args)


def _promote_fast(a, b):
    """The result dtype when no cast is needed: equal dtypes, or a number of a kind the tensor's
    dtype already covers (per-op overhead matters for small tensors)."""
    Tensor = _engine.Tensor
    if isinstance(a, Tensor):
        kind = a.data.dtype.kind
        if isinstance(b, Tensor):
            return a.dtype if a.data.dtype == b.data.dtype else None
        t = a
    elif isinstance(b, Tensor):
        kind, t, b = b.data.dtype.kind, b, a
    else:
        return None
    if (b.__class__ is float and kind == "f") or (b.__class__ is int and kind == "f"):
        return t.dtype
    # An int outside the integer dtype's range takes the slow path, which wraps it as torch does.
    if b.__class__ is int and kind in "iu" and _in_range(b, t.data.dtype):
        return t.dtype
    return None


def _in_range(value, np_dtype):
    info = np.iinfo(np_dtype)
    return info.min <= value <= info.max


def float_dtype_for(x):
    """Unary float ops on integer tensors give the default float dtype (torch)."""
    return x.dtype if x.dtype.is_floating_point else _dt.get_default_dtype()
