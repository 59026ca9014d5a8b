"""Reductions over ``dim=None | int | tuple`` with ``keepdim``."""
import numpy as np

from . import primitive, Primitive
from ._util import wrap_dims
from .. import dtypes as _dt
from .._backend import xp_of

__all__ = ["sum", "mean"]


def _keep_shape(shape, axes):
    """The shape of a keepdim reduction: reduced axes become 1."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


@primitive
class Sum(Primitive):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.in_shape = x.shape
        ctx.axes, ctx.keepdim = axes, keepdim
        return xp_of(x).sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        """d sum(x)/dx = 1, broadcast back over the reduced axes"""
        from . import reshape, expand
        if not ctx.keepdim:
            grad_out = reshape(grad_out, _keep_shape(ctx.in_shape, ctx.axes))
        return expand(grad_out, ctx.in_shape), None, None


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of elements over ``dim`` (all dims when None). Integer and bool inputs sum to int64."""
    from .unary import cast
    if dtype is not None:
        input = cast(input, dtype)
    elif not input.dtype.is_floating_point:
        input = cast(input, _dt.int64)
    axes = wrap_dims(dim, input.ndim, "sum")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        axes = tuple(range(input.ndim))
    return Sum.apply(input, axes, keepdim)


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` (all dims when None). Needs a floating-point input (or ``dtype``)."""
    if dtype is None and not input.dtype.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype}")
    axes = wrap_dims(dim, input.ndim, "mean")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        axes = tuple(range(input.ndim))
    count = 1
    for a in axes:
        count *= input.shape[a]
    total = sum(input, axes if input.ndim else None, keepdim, dtype=dtype)
    return total / count if count else total * float("nan")


TENSOR_METHODS = {"sum": sum, "mean": mean}
