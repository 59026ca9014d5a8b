"""Unary elementwise ops. Each primitive's backward is written beside its forward in chainrule ops,
so it can itself be differentiated."""

import numpy as np

from . import primitive, Primitive, _parallel
from ._util import float_dtype_for, cast_to
from .. import dtypes as _dt
from .._backend import quiet_fp, xp_of
from ..autograd import engine as _engine
from ..autograd.grad_mode import is_grad_enabled

__all__ = ["neg", "negative", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu",
           "abs", "absolute", "cast", "clone", "to_device", "raw_data", "where", "sign", "floor",
           "ceil", "round", "trunc", "frac", "isnan", "isinf", "isfinite", "signbit",
           "isposinf", "isneginf"]


def _float_input(x, op):
    """Integer inputs of float ops are promoted to the default float dtype (torch)."""
    if not isinstance(x, _engine.Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.data.dtype.kind == "f":
        return x
    return cast_to(x, float_dtype_for(x))


def _unary(prim, op):
    def fn(input):
        return prim.apply(_float_input(input, op))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op} (integer inputs give the default float dtype)."
    return fn


def _inplace(fn, name):
    """The in-place variant ``name`` of ``fn``: computed out of place, then written into self."""
    def method(self, *args, **kwargs):
        return self._inplace_from(fn(self, *args, **kwargs), name)
    method.__name__ = name
    method.__doc__ = f"In-place version of {fn.__name__}; returns self."
    return method


@primitive
class Neg(Primitive):
    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not "
                               "supported; use ~ or logical_not() instead")
        return -x

    @staticmethod
    def backward(ctx, grad_out):
        """d(-x)/dx = -1"""
        return -grad_out


@primitive
class Exp(Primitive):
    @staticmethod
    def forward(ctx, x):
        with quiet_fp():
            y = xp_of(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx e^x = e^x"""
        (y,) = ctx.saved_tensors
        return grad_out * y


@primitive
class Log(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with quiet_fp():
            return xp_of(x).log(x)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx log x = 1/x"""
        (x,) = ctx.saved_tensors
        return grad_out / x


@primitive
class Sqrt(Primitive):
    @staticmethod
    def forward(ctx, x):
        with quiet_fp():
            y = xp_of(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx sqrt(x) = 1 / (2 sqrt(x))"""
        (y,) = ctx.saved_tensors
        return grad_out / (2 * y)


@primitive
class Sin(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with quiet_fp():
            return xp_of(x).sin(x)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx sin x = cos x"""
        (x,) = ctx.saved_tensors
        return grad_out * cos(x)


@primitive
class Cos(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with quiet_fp():
            return xp_of(x).cos(x)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx cos x = -sin x"""
        (x,) = ctx.saved_tensors
        return -grad_out * sin(x)


@primitive
class Tanh(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = xp_of(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx tanh x = 1 - tanh^2 x"""
        if not is_grad_enabled():
            # why: a first-order pass records nothing: plain array math, no graph nodes
            (t,) = ctx.saved_arrays
            g = grad_out.data
            return grad_out._make(g * (1 - t * t))
        (y,) = ctx.saved_tensors
        return grad_out * (1 - y * y)


@primitive
class Sigmoid(Primitive):
    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        # why: exp(-|x|) never overflows; split by sign keeps full precision on both tails
        e = xp.exp(-xp.abs(x))
        r = xp.reciprocal(1 + e)
        y = xp.empty(x.shape, dtype=x.dtype)
        xp.multiply(e, r, out=y, casting="unsafe")
        xp.copyto(y, r, where=x >= 0, casting="unsafe")
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx s(x) = s(x) (1 - s(x))"""
        (y,) = ctx.saved_tensors
        if not is_grad_enabled():
            # why: a first-order pass records nothing: plain array math, no op overhead
            g, s = grad_out.data, y.data
            return grad_out._make(g * s * (1 - s))
        return grad_out * y * (1 - y)


@primitive
class Relu(Primitive):
    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        y = xp.empty_like(x)
        mask = xp.empty_like(x, dtype=bool) if ctx.needs_input_grad[0] else None

        def rows(start, stop):
            part = slice(start, stop) if x.ndim else Ellipsis
            xr, yr = x[part], y[part]
            # why: maximum is ~10x faster than where; NaN propagates, and -0.0 is put back so
            # that relu(-0.0) = -0.0 as in torch
            xp.maximum(xr, x.dtype.type(0), out=yr)
            zero = xr == 0
            if zero.any():
                xp.copyto(yr, xr, where=zero)
            if mask is not None:            # inference keeps no mask
                xp.less_equal(yr, 0, out=mask[part])
                xp.logical_not(mask[part], out=mask[part])
        _parallel.over_rows(rows, y)
        if mask is not None:
            ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx relu(x) = [not relu(x) <= 0] (0 at the kink, 1 at NaN, as torch)"""
        if not is_grad_enabled():
            # why: a first-order pass records nothing: one multiply, no bool-to-float cast op
            (mask,) = ctx.saved_arrays
            g = grad_out.data
            xp = xp_of(g)
            out = xp.empty_like(mask, dtype=g.dtype)
            return grad_out._make(_parallel.elementwise(xp.multiply, out, g, mask, dtype=g.dtype))
        (mask,) = ctx.saved_tensors
        return grad_out * mask


@primitive
class Abs(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return xp_of(x).abs(x)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx |x| = sign(x) (0 at 0)"""
        (x,) = ctx.saved_tensors
        return grad_out * sign(x)


@primitive
class Cast(Primitive):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = _dt.from_numpy_dtype(x.dtype)
        with quiet_fp():
            return x.astype(dtype.np)

    @staticmethod
    def backward(ctx, grad_out):
        """d cast(x)/dx = 1 (cast back to x's dtype)"""
        if not ctx.in_dtype.is_floating_point:
            return None, None
        return cast(grad_out, ctx.in_dtype), None


@primitive
class Clone(Primitive):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        """d clone(x)/dx = 1"""
        return grad_out


@primitive
class ToDevice(Primitive):
    @staticmethod
    def forward(ctx, x, device):
        from .._backend import to_device as move, device_of
        ctx.source = device_of(x)
        return move(x, device)

    @staticmethod
    def backward(ctx, grad_out):
        """gradient moves back to the source device"""
        return to_device(grad_out, ctx.source), None


@primitive
class Where(Primitive):
    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.save_for_backward(cond)
        ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        return xp_of(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d where(c,a,b)/da = [c], d/db = [not c]"""
        from ._broadcast import sum_to_shape
        (cond,) = ctx.saved_tensors
        zero = grad_out.new_zeros(())
        grad_a = sum_to_shape(where(cond, grad_out, zero), ctx.shapes[0]) \
            if ctx.needs_input_grad[1] else None
        grad_b = sum_to_shape(where(cond, zero, grad_out), ctx.shapes[1]) \
            if ctx.needs_input_grad[2] else None
        return None, grad_a, grad_b


neg = negative = _unary(Neg, "neg")
exp = _unary(Exp, "exp")
log = _unary(Log, "log")
sqrt = _unary(Sqrt, "sqrt")
sin = _unary(Sin, "sin")
cos = _unary(Cos, "cos")
tanh = _unary(Tanh, "tanh")
sigmoid = _unary(Sigmoid, "sigmoid")


def neg(input):  # noqa: F811  (ints stay ints)
    """-input"""
    return Neg.apply(input)


negative = neg


def _tensor_arg(x, op):
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def relu(input):
    """max(input, 0); gradient 0 at 0 (integer tensors stay integer)."""
    if _tensor_arg(input, "relu").dtype is _dt.bool:
        raise RuntimeError("relu: Boolean inputs not supported for relu")
    return Relu.apply(input)


def abs(input):
    """|input|; gradient sign(input) (0 at 0)."""
    return Abs.apply(_tensor_arg(input, "abs"))


absolute = abs


def cast(input, dtype):
    """input converted to ``dtype`` (differentiable between float dtypes)."""
    dtype = _dt.to_dtype(dtype)
    if _tensor_arg(input, "cast").dtype is dtype:
        return input
    return Cast.apply(input, dtype)


def clone(input, *, memory_format=None):
    """A copy of input with its own memory; gradients pass through."""
    return Clone.apply(_tensor_arg(input, "clone"))


def to_device(input, device):
    return ToDevice.apply(_tensor_arg(input, "to"), device)


def raw_data(x, dtype=None):
    """The array inside a Tensor (cast to dtype), or a Python number unchanged."""
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x.data if dtype is None or x.dtype is dtype else x.data.astype(dtype.np)
    return x


def where(condition, input=None, other=None):
    """Elementwise ``input if condition else other``, broadcasting all three.
    With only ``condition``, returns ``nonzero(condition, as_tuple=True)``."""
    from ..tensor import Tensor
    from ._util import promote
    if input is None and other is None:
        from . import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        condition = Tensor(condition)
    if condition.dtype is not _dt.bool:
        if condition.dtype is _dt.uint8:
            condition = cast(condition, _dt.bool)
        else:
            raise RuntimeError(f"where: expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {condition.dtype}")
    _, (input, other) = promote("where", input, other)
    try:
        return Where.apply(condition, input, other)
    except ValueError:
        raise RuntimeError(
            f"where: condition {tuple(condition.shape)}, input {tuple(getattr(input, 'shape', ()))}"
            f" and other {tuple(getattr(other, 'shape', ()))} cannot be broadcast together"
        ) from None


def _nograd_unary(name, fn, float_only=False, keep_int=True):
    def op(input):
        from ..tensor import Tensor
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(input).__name__}")
        x = input.data
        if not input.dtype.is_floating_point and keep_int:
            if name in ("floor", "ceil", "round", "trunc"):
                return Tensor._make(x.copy())
        with quiet_fp():
            return Tensor._make(fn(xp_of(x), x))
    op.__name__ = name
    return op


def sign(input):
    """-1, 0 or 1 by the sign of each element; 0 for NaN, as torch (no gradient)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"sign: expected a Tensor, got {type(input).__name__}")
    x = input.data
    if x.dtype == np.bool_:
        return Tensor._make(x.copy())
    xp = xp_of(x)
    out = xp.sign(x)
    if x.dtype.kind == "f":
        out = xp.where(xp.isnan(x), x.dtype.type(0), out)
    return Tensor._make(out)


floor = _nograd_unary("floor", lambda xp, x: xp.floor(x))
ceil = _nograd_unary("ceil", lambda xp, x: xp.ceil(x))
trunc = _nograd_unary("trunc", lambda xp, x: xp.trunc(x))
isnan = _nograd_unary("isnan", lambda xp, x: xp.isnan(x), keep_int=False)
isinf = _nograd_unary("isinf", lambda xp, x: xp.isinf(x), keep_int=False)
isfinite = _nograd_unary("isfinite", lambda xp, x: xp.isfinite(x), keep_int=False)
isposinf = _nograd_unary("isposinf", lambda xp, x: xp.isposinf(x), keep_int=False)
isneginf = _nograd_unary("isneginf", lambda xp, x: xp.isneginf(x), keep_int=False)
signbit = _nograd_unary("signbit", lambda xp, x: xp.signbit(x), keep_int=False)


def round(input, *, decimals=0):
    """Round half to even (as torch), to ``decimals`` places; no gradient."""
    from ..tensor import Tensor
    if not _tensor_arg(input, "round").dtype.is_floating_point:
        if decimals != 0:
            raise NotImplementedError(f"round: decimals={decimals} is not implemented for "
                                      f"integer dtype {input.dtype}")
        return Tensor._make(input.data.copy())
    return Tensor._make(xp_of(input.data).round(input.data, decimals))


def frac(input):
    """input - trunc(input); gradient 1."""
    if not _tensor_arg(input, "frac").dtype.is_floating_point:
        raise NotImplementedError(f"frac: not implemented for integer dtype {input.dtype}")
    return input - trunc(input)


TENSOR_METHODS = {
    "neg": neg, "negative": neg, "exp": exp, "log": log, "sqrt": sqrt, "sin": sin, "cos": cos,
    "tanh": tanh, "sigmoid": sigmoid, "relu": relu, "abs": abs, "absolute": abs, "sign": sign,
    "floor": floor, "ceil": ceil, "round": round, "trunc": trunc, "frac": frac, "isnan": isnan,
    "isinf": isinf, "isfinite": isfinite, "signbit": signbit, "where": lambda self, cond, other:
    where(cond, self, other), "isposinf": isposinf, "isneginf": isneginf,
}
