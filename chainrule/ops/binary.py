"""Binary arithmetic with broadcasting. Primitives: Add, Sub, Mul, Div, Pow, Maximum, Minimum,
Atan2, Remainder, Fmod, Copysign, Xlogy; floor division carries no gradient (as torch).
Comparisons, logical and bitwise ops live in logical.py."""
import numpy as np

from . import primitive, Primitive
from ._broadcast import broadcast_shapes, sum_array_to_shape, sum_to_shape
from ._util import promote, as_tensor_arg
from .. import dtypes as _dt
from .._backend import quiet_fp, xp_of
from ..autograd import engine as _engine
from ..autograd.grad_mode import _state, is_grad_enabled

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
           "float_power", "maximum", "minimum", "fmax", "fmin", "atan2", "arctan2", "floor_divide",
           "remainder", "fmod", "rsub", "copysign", "xlogy"]


def _shape(x):
    return getattr(x, "shape", ())


def _xp(a, b):
    return xp_of(a if hasattr(a, "shape") else b)


def _plain_grads(ctx, grad_out, rules, shapes):
    """First-order fast path (call it only when grad mode is off: nothing is recorded): each
    needed input gradient as plain array math, summed back over broadcast dims; None when a rule
    changes the dtype (the general path then handles the promotion)."""
    g, grads = grad_out.data, []
    with quiet_fp():
        for need, rule, shape in zip(ctx.needs_input_grad, rules, shapes):
            if not need:
                grads.append(None)
                continue
            r = rule(g)
            if getattr(r, "dtype", None) != g.dtype:
                return None
            grads.append(grad_out._make(sum_array_to_shape(r, tuple(shape))))
    return tuple(grads)


def _binary(prim, op, a, b):
    dt, (a, b) = promote(op, a, b)
    try:
        if not (_state.enabled or _state.anomaly):
            ufunc = _UNRECORDED.get(prim)
            if ufunc is not None:
                return _unrecorded(ufunc, a, b)
        return prim.apply(a, b)
    except ValueError as e:
        if "broadcast" in str(e):
            raise RuntimeError(
                f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be broadcast "
                "together (each dimension must match or be 1)") from None
        raise


def _unrecorded(ufunc, a, b):
    """``a <op> b`` when grad mode is off (an optimizer's ``p -= lr * p.grad``, inference): the
    NumPy ``ufunc`` alone (CuPy's of the same name for CuPy arrays), as the primitive's forward
    computes it, with no Node to build."""
    a = getattr(a, "data", a)
    b = getattr(b, "data", b)
    xp = _xp(a, b)
    if xp is not np:
        ufunc = getattr(xp, ufunc.__name__)
    with quiet_fp():
        return _engine.Tensor._make(ufunc(a, b))


@primitive
class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        with quiet_fp():
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
        with quiet_fp():
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
        with quiet_fp():
            return a * b

    @staticmethod
    def backward(ctx, grad_out):
        """d(ab)/da = b, d(ab)/db = a"""
        if not is_grad_enabled():
            av, bv = ctx.saved_arrays
            fast = _plain_grads(ctx, grad_out, (lambda g: g * bv, lambda g: g * av),
                                (_shape(av), _shape(bv)))
            if fast is not None:
                return fast
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out * b, _shape(a)) if ctx.needs_input_grad[0] else None,
                sum_to_shape(grad_out * a, _shape(b)) if ctx.needs_input_grad[1] else None)


@primitive
class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        with quiet_fp():
            return _xp(a, b).true_divide(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d(a/b)/da = 1/b, d(a/b)/db = -(a/b)/b"""
        if not is_grad_enabled():
            av, bv = ctx.saved_arrays
            fast = _plain_grads(ctx, grad_out,
                                (lambda g: g / bv, lambda g: -g * ((av / bv) / bv)),
                                (_shape(av), _shape(bv)))
            if fast is not None:
                return fast
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = sum_to_shape(grad_out / b, _shape(a))
        if ctx.needs_input_grad[1]:
            grad_b = sum_to_shape(-grad_out * ((a / b) / b), _shape(b))
        return grad_a, grad_b


@primitive
class Pow(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        if hasattr(b, "dtype") and b.dtype.kind in "iu" and hasattr(a, "dtype") and \
                a.dtype.kind in "iu" and (b < 0).any() or isinstance(b, int) and b < 0 and \
                hasattr(a, "dtype") and a.dtype.kind in "iu":
            neg = int(b.min()) if hasattr(b, "dtype") else b
            raise RuntimeError(f"pow: Integers to negative integer powers are not allowed "
                               f"(got exponent {neg})")
        with quiet_fp():
            # x ** 2 as x * x: one multiply, rounded once, as torch squares
            out = a * a if b.__class__ in (int, float) and b == 2 and hasattr(a, "dtype") \
                else xp.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d(a^b)/da = b a^(b-1) (0 at b == 0); d(a^b)/db = a^b log(a) (0 at a == 0, b >= 0)"""
        if not is_grad_enabled():
            av, c, _ = ctx.saved_arrays
            if isinstance(c, (int, float)) and c != 0:     # x ** c (a loss's square, say)
                fast = _plain_grads(ctx, grad_out, (lambda g: g * (c * av ** (c - 1)), None),
                                    (_shape(av), ()))
                if fast is not None:
                    return fast
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
                with quiet_fp():
                    log_a = float(np.log(a))
                if a != 0:
                    grad_b = grad_out * out * log_a
                else:   # out * log(0) is -inf where b < 0, else 0: a constant, NaN-free mask
                    from ..tensor import Tensor
                    xp = xp_of(b.data)
                    grad_b = grad_out * Tensor._make(
                        xp.where(b.data >= 0, 0.0, -xp.inf).astype(b.data.dtype))
            else:
                grad_b = where((a == 0) & (b >= 0), 0.0, grad_out * out * log(a))
            grad_b = sum_to_shape(grad_b, _shape(b))
        return grad_a, grad_b


def _tie_split(win_a, win_b, eq, grad_out, shape_a, shape_b, need):
    """Halve the gradient on ties and drop it for the loser; a NaN pair gives both the full
    gradient (torch's rule: only a strict comparison zeroes a side)."""
    from . import where
    g = where(eq, grad_out * 0.5, grad_out)
    grad_a = sum_to_shape(where(win_b, 0.0, g), shape_a) if need[0] else None
    grad_b = sum_to_shape(where(win_a, 0.0, g), shape_b) if need[1] else None
    return grad_a, grad_b


@primitive
class Maximum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a > b, a < b, a == b)
        return xp.maximum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d max(a,b)/da = [not a < b] / (1 + [a == b])"""
        gt, lt, eq = ctx.saved_tensors
        return _tie_split(gt, lt, eq, grad_out, *ctx.shapes, ctx.needs_input_grad)


@primitive
class Minimum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a < b, a > b, a == b)
        return xp.minimum(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d min(a,b)/da = [not a > b] / (1 + [a == b])"""
        lt, gt, eq = ctx.saved_tensors
        return _tie_split(lt, gt, eq, grad_out, *ctx.shapes, ctx.needs_input_grad)


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


def _check_alpha(op, input, other, alpha):
    if isinstance(alpha, float) and not _dt.result_type(
            as_tensor_arg(input, op), as_tensor_arg(other, op)).is_floating_point:
        raise RuntimeError(f"{op}: For integral input tensors, argument alpha must not be a "
                           f"floating point number.")


# primitives whose unrecorded call is one ufunc (see _unrecorded)
_UNRECORDED = {Add: np.add, Sub: np.subtract, Mul: np.multiply, Div: np.true_divide}


def add(input, other, *, alpha=1):
    """input + alpha * other, broadcasting."""
    if alpha != 1:
        _check_alpha("add", input, other, alpha)
        other = mul(other, alpha)
    return _binary(Add, "add", input, other)


def sub(input, other, *, alpha=1):
    """input - alpha * other, broadcasting."""
    if getattr(input, "dtype", None) is _dt.bool and getattr(other, "dtype", None) is _dt.bool:
        raise RuntimeError("sub: Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if alpha != 1:
        _check_alpha("sub", input, other, alpha)
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
    """Like maximum, but a NaN loses to a number; a tie's gradient goes to input (torch)."""
    from . import where, isnan
    dt, (a, b) = promote("fmax", input, other)
    check_broadcast("fmax", a, b)
    if not dt.is_floating_point:
        return maximum(a, b)
    return where((a >= b) | isnan(b), a, b)


def fmin(input, other):
    """Like minimum, but a NaN loses to a number; a tie's gradient goes to input (torch)."""
    from . import where, isnan
    dt, (a, b) = promote("fmin", input, other)
    check_broadcast("fmin", a, b)
    if not dt.is_floating_point:
        return minimum(a, b)
    return where((a <= b) | isnan(b), a, b)


def atan2(input, other):
    """Element-wise arctangent of input / other with the quadrant of (other, input)."""
    from ._util import cast_to
    input, other = as_tensor_arg(input, "atan2"), as_tensor_arg(other, "atan2")
    dt = _dt.result_type(input, other)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    return _binary(Atan2, "atan2", cast_to(input, dt), cast_to(other, dt))


arctan2 = atan2


def xlogy(input, other):
    """input * log(other), with 0 where input == 0 (and other is not NaN)."""
    from ._util import cast_to
    from ..tensor import Tensor
    input, other = as_tensor_arg(input, "xlogy"), as_tensor_arg(other, "xlogy")
    dt = _dt.result_type(input, other)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    # a number becomes a 0-d tensor: the backward rule needs log() of it
    input, other = (cast_to(x, dt) if isinstance(x, Tensor) else
                    Tensor._make(np.asarray(x, dtype=dt.np)) for x in (input, other))
    return _binary(Xlogy, "xlogy", input, other)


@primitive
class Xlogy(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a, b)
        ctx.save_for_backward(a, b)
        with quiet_fp():
            out = xp.where(a == 0, 0.0, a * xp.log(b))
            return xp.where(xp.isnan(b), b, out).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        """d/da = log(b) (0 where a == 0 and b <= 0), d/db = a / b"""
        from . import where, log
        a, b = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = sum_to_shape(grad_out * where((a == 0) & (b <= 0), 0.0, log(b)), _shape(a))
        if ctx.needs_input_grad[1]:
            grad_b = sum_to_shape(grad_out * a / b, _shape(b))
        return grad_a, grad_b


# ---- ops without gradient ----
def _nograd(op, fn, a, b, dt=None):
    from ..tensor import Tensor
    from . import raw_data
    a, b = as_tensor_arg(a, op), as_tensor_arg(b, op)
    if dt is None:
        dt = _dt.result_type(a, b)
    xa, xb = raw_data(a, dt), raw_data(b, dt)
    try:
        with quiet_fp():
            out = fn(xa, xb)
    except ValueError as e:
        if "broadcast" in str(e):
            raise RuntimeError(f"{op}: shapes {tuple(_shape(a))} and {tuple(_shape(b))} cannot be "
                               "broadcast together") from None
        raise
    return Tensor._make(out if hasattr(out, "shape") else np.asarray(out))


def check_broadcast(op, *tensors):
    """Raise ``op: shapes ... cannot be broadcast together`` unless the shapes broadcast."""
    broadcast_shapes(*(tuple(_shape(t)) for t in tensors), op=op)


def _int_div_checked(x, y, rounding, op="div"):
    xp = _xp(x, y)
    if hasattr(x, "dtype") and x.dtype.kind in "iub" or \
            hasattr(y, "dtype") and y.dtype.kind in "iub":
        if (xp.asarray(y) == 0).any():
            raise RuntimeError(f"{op}: ZeroDivisionError: integer division or modulo by zero "
                               f"(a divisor of the {xp.asarray(x).dtype} dividend is 0)")
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
        # why: floor_divide (fmod-based, as torch) is exact where floor(x / y) rounds wrongly
        return _nograd("floor_divide", lambda x, y: _xp(x, y).floor_divide(x, y), input, other, dt)
    return _nograd("floor_divide", lambda x, y: _int_div_checked(x, y, np.floor, "floor_divide"),
                   input, other, dt)


@primitive
class Remainder(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a, b)
        xp = _xp(a, b)
        with quiet_fp():
            # torch's rule: fmod, moved by b when the signs differ; a zero keeps a's sign
            mod = xp.fmod(a, b)
            return xp.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)

    @staticmethod
    def backward(ctx, grad_out):
        """d(a mod b)/da = 1, d(a mod b)/db = -floor(a/b)"""
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out, ctx.shapes[0]) if ctx.needs_input_grad[0] else None,
                sum_to_shape(-grad_out * floor_divide(a, b), ctx.shapes[1])
                if ctx.needs_input_grad[1] else None)


def remainder(input, other):
    """Python-style modulus (sign of the divisor)."""
    dt = _dt.result_type(as_tensor_arg(input, "remainder"), as_tensor_arg(other, "remainder"))
    if not dt.is_floating_point:
        return _nograd("remainder", lambda x, y: _int_div_checked(x, y, np.floor, "remainder") * 0 +
                       _xp(x, y).remainder(x, y), input, other, dt)
    return _binary(Remainder, "remainder", input, other)


def fmod(input, other):
    """C-style modulus (sign of the dividend); gradient 1 for input."""
    dt = _dt.result_type(as_tensor_arg(input, "fmod"), as_tensor_arg(other, "fmod"))
    if not dt.is_floating_point:
        return _nograd("fmod", lambda x, y: _int_div_checked(x, y, np.floor, "fmod") * 0 +
                       _xp(x, y).fmod(x, y), input, other, dt)
    return _binary(Fmod, "fmod", input, other)


@primitive
class Fmod(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a, b)
        with quiet_fp():
            return _xp(a, b).fmod(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d fmod(a,b)/da = 1, d/db = -trunc(a/b)"""
        a, b = ctx.saved_tensors
        return (sum_to_shape(grad_out, ctx.shapes[0]) if ctx.needs_input_grad[0] else None,
                sum_to_shape(-grad_out * div(a, b, rounding_mode="trunc"), ctx.shapes[1])
                if ctx.needs_input_grad[1] else None)


def copysign(input, other):
    """|input| with the sign of other (sign bit, so -0.0 counts as negative); no gradient to
    other."""
    from ._util import cast_to
    input, other = as_tensor_arg(input, "copysign"), as_tensor_arg(other, "copysign")
    dt = _dt.result_type(input, other)
    if not dt.is_floating_point:
        dt = _dt.get_default_dtype()
    return _binary(Copysign, "copysign", cast_to(input, dt), cast_to(other, dt))


@primitive
class Copysign(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        out = _xp(a, b).copysign(a, b)
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d copysign(a,b)/da = copysign(a,b) / a (0 at a == 0), d/db = 0"""
        from . import where
        a, out = ctx.saved_tensors
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = sum_to_shape(grad_out * where(a == 0, 0.0, out / a), ctx.shapes[0])
        if ctx.needs_input_grad[1]:
            grad_b = sum_to_shape(grad_out * 0.0, ctx.shapes[1])
        return grad_a, grad_b


TENSOR_METHODS = {
    "add": add, "sub": sub, "subtract": sub, "mul": mul, "multiply": mul, "div": div,
    "divide": div, "true_divide": div, "pow": pow, "float_power": float_power, "maximum": maximum,
    "minimum": minimum, "fmax": fmax, "fmin": fmin, "atan2": atan2, "arctan2": atan2,
    "floor_divide": floor_divide, "remainder": remainder, "fmod": fmod, "copysign": copysign,
    "xlogy": xlogy,
}
