"""Binary elementwise ops with broadcasting. Differentiable: Add, Sub, Mul, Div, Pow, Maximum,
Minimum, Atan2. Comparisons, logical and bitwise ops, floor division and remainder carry no
gradient (torch gives remainder a gradient of 1 for its first input; so do we)."""
import numpy as np

from . import primitive, Primitive
from ._broadcast import sum_to_shape
from ._util import promote, as_tensor_arg
from .. import dtypes as _dt
from .._backend import xp_of

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
           "float_power", "maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "floor_divide",
           "remainder", "fmod", "eq", "ne", "lt", "le", "gt", "ge", "greater", "less",
           "greater_equal", "less_equal", "not_equal", "equal", "logical_and", "logical_or",
           "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
           "isclose", "allclose", "rsub", "hypot", "copysign", "xlogy"]


def _shape(x):
    return getattr(x, "shape", ())


def _xp(a, b):
    return xp_of(a if hasattr(a, "shape") else b)


def _binary(prim, op, a, b):
    from ..tensor import Tensor
    dt, (a, b) = promote(op, a, b)
    try:
        return prim.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise RuntimeError(
                f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be broadcast "
                "together (each dimension must match or be 1)") from None
        raise


@primitive
class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a + b

    @staticmethod
    def backward(ctx, grad_out):
        """d(a+b)/da = 1, d(a+b)/db = 1"""
        sa, sb = ctx.shapes
        return (sum_to_shape(grad_out, sa) if ctx.needs_input_grad[0] else None,
                sum_to_shape(grad_out, sb) if ctx.needs_input_grad[1] else None)


@primitive
class Sub(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return a - b

    @staticmethod
    def backward(ctx, grad_out):
        """d(a-b)/da = 1, d(a-b)/db = -1"""
        sa, sb = ctx.shapes
        return (sum_to_shape(grad_out, sa) if ctx.needs_input_grad[0] else None,
                sum_to_shape(-grad_out, sb) if ctx.needs_input_grad[1] else None)


@primitive
class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        """d(ab)/da = b, d(ab)/db = a"""
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out * b, _shape(a)) if ctx.needs_input_grad[0] else None,
                sum_to_shape(grad_out * a, _shape(b)) if ctx.needs_input_grad[1] else None)


@primitive
class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return _xp(a, b).true_divide(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d(a/b)/da = 1/b, d(a/b)/db = -a/b^2"""
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = sum_to_shape(grad_out / b, _shape(a))
        if ctx.needs_input_grad[1]:
            grad_b = sum_to_shape(-grad_out * a / (b * b), _shape(b))
        return grad_a, grad_b


@primitive
class Pow(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        if hasattr(b, "dtype") and b.dtype.kind in "iu" and hasattr(a, "dtype") and \
                a.dtype.kind in "iu" and (b < 0).any():
            raise RuntimeError("pow: integers to negative integer powers are not allowed")
        with np.errstate(all="ignore"):
            out = xp.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d(a^b)/da = b a^(b-1) (0 where b == 0); d(a^b)/db = a^b log(a) (0 where a == 0, b >= 0)"""
        from . import where, log
        a, b, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            g = grad_out * b * a ** (b - 1)
            if isinstance(b, (int, float)):
                grad_a = g if b != 0 else grad_out * 0
            else:
                grad_a = where(b == 0, 0.0, g)
            grad_a = sum_to_shape(grad_a, _shape(a))
        if ctx.needs_input_grad[1]:
            if isinstance(a, (int, float)):
                grad_b = grad_out * out * float(np.log(a)) if a != 0 else \
                    where(b >= 0, 0.0, grad_out * out * float("-inf"))
            else:
                grad_b = where((a == 0) & (b >= 0), 0.0, grad_out * out * log(a))
            grad_b = sum_to_shape(grad_b, _shape(b))
        return grad_a, grad_b


def _tie_split(mask_a, eq, grad_out, shape_a, shape_b, need):
    """Route the gradient to the winner; split it evenly on ties (torch's rule)."""
    from . import where
    half = grad_out * 0.5
    grad_a = sum_to_shape(where(mask_a, grad_out, where(eq, half, 0.0)), shape_a) if need[0] else None
    grad_b = sum_to_shape(where(mask_a | eq, where(eq, half, 0.0), grad_out), shape_b) \
        if need[1] else None
    return grad_a, grad_b


@primitive
class Maximum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a > b, a == b)
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d max(a,b)/da = [a > b] + [a == b]/2"""
        gt, eq = ctx.saved_tensors
        return _tie_split(gt, eq, grad_out, *ctx.shapes, ctx.needs_input_grad)


@primitive
class Minimum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a < b, a == b)
        return xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d min(a,b)/da = [a < b] + [a == b]/2"""
        lt, eq = ctx.saved_tensors
        return _tie_split(lt, eq, grad_out, *ctx.shapes, ctx.needs_input_grad)


@primitive
class Atan2(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _xp(a, b).arctan2(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d atan2(a,b)/da = b/(a^2+b^2), d/db = -a/(a^2+b^2)"""
        a, b = ctx.saved_tensors
        denom = a * a + b * b
        return (sum_to_shape(grad_out * b / denom, _shape(a)) if ctx.needs_input_grad[0] else None,
                sum_to_shape(-grad_out * a / denom, _shape(b)) if ctx.needs_input_grad[1] else None)


def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Add, "add", input, other)


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(Sub, "sub", input, other)


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def mul(input, other):
    """input * other, broadcasting."""
    return _binary(Mul, "mul", input, other)


def div(input, other, *, rounding_mode=None):
    """input / other; ``rounding_mode`` None (true division), 'trunc' or 'floor'."""
    if rounding_mode is None:
        input, other = as_tensor_arg(input, "div"), as_tensor_arg(other, "div")
        dt = _dt.result_type(input, other)
        if not dt.is_floating_point:
            dt = _dt.get_default_dtype()
            from ._util import cast_to
            input, other = cast_to(input, dt), cast_to(other, dt)
            if isinstance(input, (int, bool)):
                input = float(input)
            if isinstance(other, (int, bool)):
                other = float(other)
        return _binary(Div, "div", input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        from . import trunc
        dt, (a, b) = promote("div", input, other)
        if dt.is_floating_point:
            return trunc(_binary(Div, "div", a, b))
        return _nograd("div", lambda x, y: _int_div_checked(x, y, np.trunc), a, b, dt)
    raise RuntimeError(f"div: expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                       f"found '{rounding_mode}'")


divide = true_divide = div
subtract = sub
multiply = mul


def pow(input, exponent):
    """input ** exponent (tensor or scalar on either side)."""
    return _binary(Pow, "pow", input, exponent)


def float_power(input, exponent):
    from ._util import cast_to
    input, exponent = as_tensor_arg(input, "float_power"), as_tensor_arg(exponent, "float_power")
    return _binary(Pow, "float_power", cast_to(input, _dt.float64), cast_to(exponent, _dt.float64)
                   if hasattr(exponent, "dtype") else float(exponent))


def maximum(input, other):
    """Elementwise maximum; NaN propagates; the gradient splits evenly on ties."""
    return _binary(Maximum, "maximum", input, other)


def minimum(input, other):
    """Elementwise minimum; NaN propagates; the gradient splits evenly on ties."""
    return _binary(Minimum, "minimum", input, other)


def fmax(input, other):
    """Like maximum, but a NaN loses to a number."""
    from . import where, isnan
    return where(isnan(other), input, where(isnan(input), other, maximum(input, other)))


def fmin(input, other):
    from . import where, isnan
    return where(isnan(other), input, where(isnan(input), other, minimum(input, other)))


def atan2(input, other):
    """Element-wise arctangent of input / other with the quadrant of (other, input)."""
    from ._util import cast_to
    input, other = as_tensor_arg(input, "atan2"), as_tensor_arg(other, "atan2")
    dt = _dt.result_type(input, other)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    return _binary(Atan2, "atan2", cast_to(input, dt), cast_to(other, dt))


arctan2 = atan2


def hypot(input, other):
    from . import sqrt
    return sqrt(input * input + other * other)


def xlogy(input, other):
    """input * log(other), with 0 where input == 0 (and other is not NaN)."""
    from . import where, log, isnan
    return where((input == 0) & ~isnan(other), 0.0, input * log(other))


# ---- ops without gradient ----
def _nograd(op, fn, a, b, dt=None):
    from ..tensor import Tensor
    from . import raw_data
    a, b = as_tensor_arg(a, op), as_tensor_arg(b, op)
    if dt is None:
        dt = _dt.result_type(a, b)
    xa, xb = raw_data(a, dt), raw_data(b, dt)
    try:
        with np.errstate(all="ignore"):
            out = fn(xa, xb)
    except ValueError as e:
        if "broadcast" in str(e):
            raise RuntimeError(f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be "
                               "broadcast together") from None
        raise
    return Tensor._make(out if hasattr(out, "shape") else np.asarray(out))


def _int_div_checked(x, y, rounding):
    xp = _xp(x, y)
    if hasattr(x, "dtype") and x.dtype.kind in "iub" or hasattr(y, "dtype") and y.dtype.kind in "iub":
        if (xp.asarray(y) == 0).any():
            raise ZeroDivisionError("div: integer division by zero")
    if rounding is np.floor:
        return xp.floor_divide(x, y)
    q = xp.floor_divide(x, y)
    r = xp.remainder(x, y)
    fix = (r != 0) & ((xp.asarray(x) < 0) != (xp.asarray(y) < 0))
    return q + fix.astype(q.dtype) if hasattr(q, "dtype") else q


def floor_divide(input, other):
    """Division rounded down (no gradient, as torch)."""
    dt = _dt.result_type(as_tensor_arg(input, "floor_divide"), as_tensor_arg(other, "floor_divide"))
    if dt.is_floating_point:
        return _nograd("floor_divide", lambda x, y: _xp(x, y).floor(_xp(x, y).true_divide(x, y)),
                       input, other, dt)
    return _nograd("floor_divide", lambda x, y: _int_div_checked(x, y, np.floor), input, other, dt)


@primitive
class Remainder(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a, b)
        with np.errstate(all="ignore"):
            return _xp(a, b).remainder(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d(a mod b)/da = 1, d(a mod b)/db = -floor(a/b)"""
        from . import floor
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out, ctx.shapes[0]) if ctx.needs_input_grad[0] else None,
                sum_to_shape(-grad_out * floor(a / b), ctx.shapes[1])
                if ctx.needs_input_grad[1] else None)


def remainder(input, other):
    """Python-style modulus (sign of the divisor)."""
    dt = _dt.result_type(as_tensor_arg(input, "remainder"), as_tensor_arg(other, "remainder"))
    if not dt.is_floating_point:
        return _nograd("remainder", lambda x, y: _int_div_checked(x, y, np.floor) * 0 +
                       _xp(x, y).remainder(x, y), input, other, dt)
    return _binary(Remainder, "remainder", input, other)


def fmod(input, other):
    """C-style modulus (sign of the dividend); gradient 1 for input."""
    from . import trunc
    dt = _dt.result_type(as_tensor_arg(input, "fmod"), as_tensor_arg(other, "fmod"))
    if not dt.is_floating_point:
        return _nograd("fmod", lambda x, y: _int_div_checked(x, y, np.floor) * 0 +
                       _xp(x, y).fmod(x, y), input, other, dt)
    return input - trunc(input / other).detach() * other


def copysign(input, other):
    from . import abs as _abs, where, signbit
    return where(signbit(other), -_abs(input), _abs(input))


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
    from ..tensor import Tensor
    return Tensor._make(xp_of(input.data).logical_not(input.data))


def _bitwise(name, ufunc):
    def fn(input, other):
        dt = _dt.result_type(as_tensor_arg(input, name), as_tensor_arg(other, name))
        if dt.is_floating_point:
            raise RuntimeError(f"{name}: not implemented for floating-point dtype {dt}")
        return _nograd(name, lambda x, y: ufunc(_xp(x, y), x, y), input, other, dt)
    fn.__name__ = name
    return fn


bitwise_and = _bitwise("bitwise_and", lambda xp, x, y: xp.bitwise_and(x, y))
bitwise_or = _bitwise("bitwise_or", lambda xp, x, y: xp.bitwise_or(x, y))
bitwise_xor = _bitwise("bitwise_xor", lambda xp, x, y: xp.bitwise_xor(x, y))


def bitwise_not(input):
    from ..tensor import Tensor
    if input.dtype.is_floating_point:
        raise RuntimeError(f"bitwise_not: not implemented for floating-point dtype {input.dtype}")
    return Tensor._make(xp_of(input.data).invert(input.data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return _nograd("isclose", lambda x, y: _xp(x, y).isclose(x, y, rtol=rtol, atol=atol,
                                                             equal_nan=equal_nan), input, other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


TENSOR_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "pow": pow, "float_power": float_power, "maximum": maximum,
    "minimum": minimum, "fmax": fmax, "fmin": fmin, "atan2": atan2, "arctan2": atan2,
    "floor_divide": floor_divide, "remainder": remainder, "fmod": fmod, "eq": eq, "ne": ne,
    "lt": lt, "le": le, "gt": gt, "ge": ge, "greater": gt, "less": lt, "greater_equal": ge,
    "less_equal": le, "not_equal": ne, "equal": equal, "logical_and": logical_and,
    "logical_or": logical_or, "logical_xor": logical_xor, "logical_not": logical_not,
    "bitwise_and": bitwise_and, "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor,
    "bitwise_not": bitwise_not, "isclose": isclose, "allclose": allclose, "hypot": hypot,
    "copysign": copysign, "xlogy": xlogy,
}
