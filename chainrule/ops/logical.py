"""Comparisons, logical and bitwise ops: elementwise, broadcasting, no gradient (bool or integer
results, as torch)."""
from ._util import as_tensor_arg
from .binary import _nograd, _xp
from .. import dtypes as _dt
from .._backend import xp_of

__all__ = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "less", "greater_equal", "less_equal",
           "not_equal", "equal", "logical_and", "logical_or", "logical_xor", "logical_not",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "isclose", "allclose"]


def _cmp(name, ufunc):
    def fn(input, other):
        return _nograd(name, lambda x, y: ufunc(x, y), input, other)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} comparison (bool result, no gradient)."
    return fn


eq = _cmp("eq", lambda x, y: _xp(x, y).equal(x, y))
ne = _cmp("ne", lambda x, y: _xp(x, y).not_equal(x, y))
lt = _cmp("lt", lambda x, y: _xp(x, y).less(x, y))
le = _cmp("le", lambda x, y: _xp(x, y).less_equal(x, y))
gt = _cmp("gt", lambda x, y: _xp(x, y).greater(x, y))
ge = _cmp("ge", lambda x, y: _xp(x, y).greater_equal(x, y))
greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne


def equal(input, other):
    """True if both tensors have the same shape and elements."""
    return tuple(input.shape) == tuple(other.shape) and bool((input.data == other.data).all())


def _logical(name, ufunc):
    def fn(input, other):
        return _nograd(name, lambda x, y: ufunc(_xp(x, y), x, y), input, other, _dt.bool)
    fn.__name__ = name
    return fn


logical_and = _logical("logical_and", lambda xp, x, y: xp.logical_and(x, y))
logical_or = _logical("logical_or", lambda xp, x, y: xp.logical_or(x, y))
logical_xor = _logical("logical_xor", lambda xp, x, y: xp.logical_xor(x, y))


def logical_not(input):
    """Elementwise not (bool result, no gradient)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"logical_not: expected a Tensor, got {type(input).__name__}")
    return Tensor._make(xp_of(input.data).logical_not(input.data))


def _bitwise(name, ufunc):
    def fn(input, other):
        dt = _dt.result_type(as_tensor_arg(input, name), as_tensor_arg(other, name))
        if dt.is_floating_point:
            raise NotImplementedError(f"{name}: not implemented for floating-point dtype {dt}")
        return _nograd(name, lambda x, y: ufunc(_xp(x, y), x, y), input, other, dt)
    fn.__name__ = name
    return fn


bitwise_and = _bitwise("bitwise_and", lambda xp, x, y: xp.bitwise_and(x, y))
bitwise_or = _bitwise("bitwise_or", lambda xp, x, y: xp.bitwise_or(x, y))
bitwise_xor = _bitwise("bitwise_xor", lambda xp, x, y: xp.bitwise_xor(x, y))


def bitwise_not(input):
    from ..tensor import Tensor
    if input.dtype.is_floating_point:
        raise NotImplementedError(f"bitwise_not: not implemented for floating-point dtype "
                                  f"{input.dtype}")
    return Tensor._make(xp_of(input.data).invert(input.data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _nograd("isclose", lambda x, y: _xp(x, y).isclose(x, y, rtol=rtol, atol=atol,
                                                             equal_nan=equal_nan), input, other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


TENSOR_METHODS = {name: globals()[name] for name in __all__}
TENSOR_METHODS.update({"greater": gt, "less": lt, "greater_equal": ge, "less_equal": le,
                       "not_equal": ne})
