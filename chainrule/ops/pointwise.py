"""Pointwise ops with several inputs: clamp, lerp, addcmul/addcdiv, logaddexp, hypot, heaviside, and
the in-place variants of the binary ops. LogAddExp(2) and Hypot are primitives because their
composites overflow (e^1000, 1e20^2); the rest are composites."""
import math


from . import primitive, Primitive
from ._broadcast import sum_to_shape
from ._util import promote, as_tensor_arg
from .unary import _inplace, where, isnan, sigmoid
from .binary import (check_broadcast, _binary, _shape, _xp, _nograd, add, mul, div, sub, pow,
                     float_power, atan2, floor_divide, remainder, fmod, copysign, xlogy)
from .logical import (eq, ne, lt, le, gt, ge, logical_and, logical_or, logical_xor, logical_not,
                      bitwise_and, bitwise_or, bitwise_xor, bitwise_not)
from .. import dtypes as _dt
from .._backend import quiet_fp, xp_of

__all__ = ["clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv", "logaddexp",
           "logaddexp2", "hypot", "heaviside", "clamp_", "clip_", "clamp_min_", "clamp_max_",
           "xlogy_"]


def _check_tensor(x, op):
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor as input, got {type(x).__name__}")


def clamp(input, min=None, max=None):
    """Limit every element to [min, max]; either bound may be None, a number or a Tensor.

    Computed as ``min(max(input, min), max)``: where min > max the result is max, and a NaN in the
    input or in a bound gives NaN. The gradient is 1 for input inside [min, max] (bounds included)
    and flows to the bound tensor that was selected otherwise (torch's rule).

    Args:
        input: Tensor of any shape.
        min, max: lower / upper bound, broadcastable to ``input``.

    Shape: the broadcast shape of input, min and max.

    Example:
        >>> clamp(tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)      # tensor([0.0, 0.5, 1.0])
    """
    _check_tensor(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    given = [a for a in (input, min, max) if a is not None]
    _, promoted = promote("clamp", *given)
    x = promoted[0]
    lo = promoted[1] if min is not None else None
    hi = promoted[-1] if max is not None else None
    try:
        return Clamp.apply(x, lo, hi)
    except ValueError:
        raise RuntimeError(f"clamp: input {tuple(input.shape)}, min {tuple(_shape(min))} and max "
                           f"{tuple(_shape(max))} cannot be broadcast together") from None


@primitive
class Clamp(Primitive):
    @staticmethod
    def forward(ctx, x, lo, hi):
        xp = xp_of(x)
        out = x
        with quiet_fp():
            # why: ties keep x (so -0.0 / 0.0 stay as given), a NaN bound gives NaN (torch)
            if lo is not None:
                out = xp.where(xp.isnan(lo) | (out < lo), lo, out)
            if hi is not None:
                out = xp.where(xp.isnan(hi) | (out > hi), hi, out)
            # torch's gradient masks: 1 for x inside [lo, hi], else to the bound that won
            if lo is not None and hi is not None:
                inside = (x >= lo) & (x <= hi)
                to_lo, to_hi = (x < lo) & (lo < hi), (x > hi) | (hi < lo)
            elif lo is not None:
                inside, to_lo, to_hi = x >= lo, x < lo, None
            else:
                inside, to_lo, to_hi = x <= hi, None, x > hi
        ctx.shapes = (x.shape, _shape(lo), _shape(hi))
        ctx.save_for_backward(inside, to_lo, to_hi)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        """d clamp/dx = [lo <= x <= hi]; d/dlo = [x < lo < hi]; d/dhi = [x > hi or hi < lo]"""
        inside, to_lo, to_hi = ctx.saved_tensors
        need = ctx.needs_input_grad
        return tuple(sum_to_shape(where(mask, grad_out, 0.0), shape) if need[i] else None
                     for i, (mask, shape) in enumerate(zip((inside, to_lo, to_hi), ctx.shapes)))

clip = clamp


def clamp_min(input, min):
    """clamp(input, min=min)."""
    return clamp(input, min=min)


def clamp_max(input, max):
    """clamp(input, max=max)."""
    return clamp(input, max=max)


def lerp(input, end, weight):
    """Linear interpolation ``input + weight * (end - input)``.

    Like torch, uses ``end - (end - input) * (1 - weight)`` where ``|weight| >= 0.5``, so that
    ``weight == 1`` returns ``end`` exactly.

    Args:
        input, end: Tensors (broadcastable).
        weight: a number or a Tensor (broadcastable).

    Shape: the broadcast shape of the three arguments.
    """
    _check_tensor(input, "lerp")
    _check_tensor(end, "lerp")
    if input.dtype is not end.dtype:
        raise RuntimeError(f"lerp: expected dtype {input.dtype} for `end` but got dtype "
                           f"{end.dtype}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"lerp: not implemented for integer dtype {input.dtype}")
    check_broadcast("lerp", input, end, weight)
    diff = end - input
    if not hasattr(weight, "dtype"):
        weight = as_tensor_arg(weight, "lerp")
        if not isinstance(weight, (int, float)):
            raise TypeError(f"lerp: weight must be a number or a Tensor, got {type(weight)}")
        return input + weight * diff if builtins_abs(weight) < 0.5 else end - diff * (1 - weight)
    if weight.dtype is not input.dtype:
        raise RuntimeError(f"lerp: expected dtype {input.dtype} for `weight` but got dtype "
                           f"{weight.dtype}")
    from . import abs as _abs
    return where(_abs(weight) < 0.5, input + weight * diff, end - diff * (1 - weight))


builtins_abs = abs


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, broadcasting."""
    _check_tensor(input, "addcmul")
    prod = mul(tensor1, tensor2)
    return add(input, prod if value == 1 else mul(prod, value))


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2, broadcasting (integer tensor1/tensor2 are an error)."""
    _check_tensor(input, "addcdiv")
    if not getattr(tensor1, "dtype", _dt.float32).is_floating_point and \
            not getattr(tensor2, "dtype", _dt.float32).is_floating_point:
        raise RuntimeError("addcdiv: Integer division with addcdiv is no longer supported; "
                           "use (input + value * tensor1 / tensor2) with float tensors")
    quot = div(tensor1, tensor2)
    return add(input, quot if value == 1 else mul(quot, value))


@primitive
class LogAddExp(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with quiet_fp():
            return _xp(a, b).logaddexp(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d/da log(e^a + e^b) = sigmoid(a - b)"""
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out * sigmoid(a - b), _shape(a))
                if ctx.needs_input_grad[0] else None,
                sum_to_shape(grad_out * sigmoid(b - a), _shape(b))
                if ctx.needs_input_grad[1] else None)


@primitive
class LogAddExp2(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        xp = _xp(a, b)
        with quiet_fp():
            # torch's formula (its rounding differs from NumPy's logaddexp2 by an ulp or so)
            m = xp.maximum(a, b)
            out = m + xp.log1p(xp.exp2(-xp.abs(a - b))) * (1 / math.log(2))
            return xp.where(xp.isinf(a) & (a == b), a, out).astype(m.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        """d/da log2(2^a + 2^b) = 1 / (1 + 2^(b - a))"""
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out / (1 + pow(2.0, b - a)), _shape(a))
                if ctx.needs_input_grad[0] else None,
                sum_to_shape(grad_out / (1 + pow(2.0, a - b)), _shape(b))
                if ctx.needs_input_grad[1] else None)


@primitive
class Hypot(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        out = _xp(a, b).hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d hypot(a,b)/da = a / hypot(a,b)"""
        a, b, out = ctx.saved_tensors
        return (sum_to_shape(grad_out * (a / out), _shape(a)) if ctx.needs_input_grad[0] else None,
                sum_to_shape(grad_out * (b / out), _shape(b)) if ctx.needs_input_grad[1] else None)


def _float_binary(prim, op, input, other):
    from ._util import cast_to
    input, other = as_tensor_arg(input, op), as_tensor_arg(other, op)
    dt = _dt.result_type(input, other)
    if not dt.is_floating_point:
        raise NotImplementedError(f"{op}: not implemented for integer dtype {dt}")
    return _binary(prim, op, cast_to(input, dt), cast_to(other, dt))


def logaddexp(input, other):
    """log(e^input + e^other), without overflow; gradient sigmoid(input - other)."""
    return _float_binary(LogAddExp, "logaddexp", input, other)


def logaddexp2(input, other):
    """log2(2^input + 2^other), without overflow."""
    return _float_binary(LogAddExp2, "logaddexp2", input, other)


def hypot(input, other):
    """sqrt(input^2 + other^2), without overflow or underflow; gradient input / hypot."""
    _check_tensor(input, "hypot")
    return _float_binary(Hypot, "hypot", input, other)


def heaviside(input, values):
    """0 where input < 0, ``values`` where input == 0, 1 where input > 0 (no gradient)."""
    _check_tensor(input, "heaviside")
    _check_tensor(values, "heaviside")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside: is not yet implemented for tensors with different dtypes "
                           f"({input.dtype} and {values.dtype})")

    def fn(x, v):
        xp = _xp(x, v)
        return xp.where(x == 0, v, (x > 0).astype(x.dtype))
    return _nograd("heaviside", fn, input, values)


clamp_ = _inplace(clamp, "clamp_")
clip_ = _inplace(clamp, "clip_")
clamp_min_ = _inplace(clamp_min, "clamp_min_")
clamp_max_ = _inplace(clamp_max, "clamp_max_")
xlogy_ = _inplace(xlogy, "xlogy_")

TENSOR_METHODS = {name: globals()[name] for name in __all__}
TENSOR_METHODS.update({
    "lerp_": _inplace(lerp, "lerp_"), "addcmul_": _inplace(addcmul, "addcmul_"),
    "addcdiv_": _inplace(addcdiv, "addcdiv_"), "hypot_": _inplace(hypot, "hypot_"),
    "heaviside_": _inplace(heaviside, "heaviside_"),
})
for _fn, _name in ((pow, "pow_"), (float_power, "float_power_"), (atan2, "atan2_"),
                   (atan2, "arctan2_"), (floor_divide, "floor_divide_"),
                   (remainder, "remainder_"), (fmod, "fmod_"), (copysign, "copysign_"),
                   (div, "true_divide_"), (div, "divide_"), (mul, "multiply_"),
                   (sub, "subtract_"), (eq, "eq_"), (ne, "ne_"), (lt, "lt_"), (le, "le_"),
                   (gt, "gt_"), (ge, "ge_"), (ne, "not_equal_"), (lt, "less_"), (le, "less_equal_"),
                   (gt, "greater_"), (ge, "greater_equal_"), (logical_and, "logical_and_"),
                   (logical_or, "logical_or_"), (logical_xor, "logical_xor_"),
                   (logical_not, "logical_not_"), (bitwise_and, "bitwise_and_"),
                   (bitwise_or, "bitwise_or_"), (bitwise_xor, "bitwise_xor_"),
                   (bitwise_not, "bitwise_not_")):
    TENSOR_METHODS[_name] = _inplace(_fn, _name)
