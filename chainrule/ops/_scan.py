"""Scans along one dim: Cumsum (forward or reversed, each the other's adjoint) and Cumprod
(zeros handled exactly). Re-exported by ``chainrule.ops.reduce``."""
from . import primitive, Primitive
from ._util import wrap_dim
from .. import dtypes as _dt
from .._backend import xp_of

__all__ = ["cumsum", "cumprod"]


@primitive
class Cumsum(Primitive):
    @staticmethod
    def forward(ctx, x, axis, reverse):
        ctx.axis, ctx.reverse = axis, reverse
        xp = xp_of(x)
        if reverse:
            return xp.ascontiguousarray(xp.flip(xp.cumsum(xp.flip(x, axis), axis=axis), axis))
        return xp.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        """d cumsum(x)_j/dx_i = [i <= j]: the gradient is the reversed cumsum of grad_out"""
        return Cumsum.apply(grad_out, ctx.axis, not ctx.reverse), None, None


@primitive
class Cumprod(Primitive):
    @staticmethod
    def forward(ctx, x, axis):
        xp = xp_of(x)
        out = xp.cumprod(x, axis=axis)
        ctx.axis = axis
        zero = x == 0
        ctx.has_zero = bool(zero.any())
        if ctx.has_zero:
            # seen: zeros at or before each position; z below is the first zero of each slice
            seen = xp.cumsum(zero, axis=axis)
            ctx.save_for_backward(x, out, seen == 0, zero & (seen == 1), seen >= 1)
        else:
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d out_j/dx_i = prod_{k <= j, k != i} x_k (j >= i), i.e. rev_cumsum(g * out) / x"""
        from . import where, sum as _sum
        x, out = ctx.saved_tensors[:2]
        axis = ctx.axis
        tail = Cumsum.apply(grad_out * out, axis, True)
        if not ctx.has_zero:
            return tail / x, None
        before, first, from_first = ctx.saved_tensors[2:]
        # i < z: out_j (j >= z) is already 0, so the no-zero formula holds with x_i != 0
        grad_before = tail / where(before, x, 1.0)
        # i == z: prod_{k<z} x_k * sum_{j>=z} g_j prod_{z<k<=j} x_k; i > z: every term has x_z = 0
        head = Cumprod.apply(where(before, x, 1.0), axis)
        rest = Cumprod.apply(where(from_first & ~first, x, 1.0), axis)
        grad_first = head * _sum(where(from_first, grad_out * rest, 0.0), axis, keepdim=True)
        return where(before, grad_before, where(first, grad_first, 0.0)), None


def _scan(prim_apply, input, dim, dtype, op):
    from .unary import cast
    from .shape import reshape
    if dtype is not None:
        input = cast(input, dtype)
    elif not input.dtype.is_floating_point:
        input = cast(input, _dt.int64)
    axis = wrap_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return reshape(prim_apply(reshape(input, (1,)), 0), ())
    return prim_apply(input, axis)


def cumsum(input, dim, *, dtype=None):
    """Cumulative sum along ``dim``: ``out_j = x_0 + ... + x_j``. Integer inputs give int64.

    Example:
        >>> chainrule.tensor([1., 2., 3.]).cumsum(0)
        tensor([1., 3., 6.])
    """
    return _scan(lambda x, a: Cumsum.apply(x, a, False), input, dim, dtype, "cumsum")


def cumprod(input, dim, *, dtype=None):
    """Cumulative product along ``dim``: ``out_j = x_0 * ... * x_j``. Zeros are handled exactly
    (no division by zero in the gradient).

    Example:
        >>> chainrule.tensor([1., 2., 3.]).cumprod(0)
        tensor([1., 2., 6.])
    """
    return _scan(Cumprod.apply, input, dim, dtype, "cumprod")


TENSOR_METHODS = {"cumsum": cumsum, "cumprod": cumprod}
