"""Reductions over ``dim=None | int | tuple`` with ``keepdim``.

Primitives: Sum, Prod, Amax, Amin (ties share the gradient evenly, as torch) and IndexReduce
(max/min/median along one dim: values plus indices, the gradient goes to the selected index).
Statistics (var, std, logsumexp, norm) live in ``_reduce_stats``, scans (cumsum, cumprod) in
``_scan``; both are re-exported from here.
"""
import collections
import math

import numpy as np

from . import primitive, Primitive
from ._util import wrap_dim, wrap_dims
from .. import dtypes as _dt
from .._backend import xp_of
from ..autograd.grad_mode import is_grad_enabled

__all__ = ["sum", "mean", "prod", "amax", "amin", "max", "min", "aminmax", "argmax", "argmin",
           "all", "any", "count_nonzero", "median"]


def _keep_shape(shape, axes):
    """The shape of a keepdim reduction: reduced axes become 1."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _axes(input, dim, op):
    """Reduced axes as a sorted tuple; ``None`` and ``()`` both mean every axis."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        return tuple(range(input.ndim))
    return wrap_dims(dim, input.ndim, op)


def _check_nonempty(input, axes, op):
    if input.numel() == 0:
        for a in axes:
            if input.shape[a] == 0:
                raise IndexError(f"{op}(): Expected reduction dim {a} to have non-zero size "
                                 f"(input shape {tuple(input.shape)})")


def _tensor(array):
    from ..tensor import Tensor
    return Tensor._make(array)


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
        return _unreduce(ctx, grad_out), None, None


def _unreduce(ctx, grad_out, count=1):
    """grad_out / count of a sum (count 1) or mean over ``ctx.axes``, broadcast back to the
    input's shape."""
    if not is_grad_enabled():
        # why: a first-order pass records nothing, so a broadcast view of the array will do
        g = grad_out.data if count == 1 else grad_out.data / count
        if not ctx.keepdim:
            g = g.reshape(_keep_shape(ctx.in_shape, ctx.axes))
        if math.prod(ctx.in_shape) <= 4096:    # small: filling costs less than broadcast_to
            full = xp_of(g).empty(ctx.in_shape, dtype=g.dtype)
            full[...] = g
            return grad_out._make(full)
        return grad_out._make(xp_of(g).broadcast_to(g, ctx.in_shape))
    from . import reshape, expand
    if count != 1:
        grad_out = grad_out / count
    if not ctx.keepdim:
        grad_out = reshape(grad_out, _keep_shape(ctx.in_shape, ctx.axes))
    return expand(grad_out, ctx.in_shape)


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum of elements over ``dim`` (all dims when None). Integer and bool inputs sum to int64.

    Args:
        input: a Tensor of any shape.
        dim: an int, a tuple of ints (negative counts from the end) or None for every dim.
        keepdim: keep the reduced dims with size 1.
        dtype: cast the input to this dtype first.

    Example:
        >>> chainrule.tensor([[1., 2.], [3., 4.]]).sum(0)
        tensor([4., 6.])
    """
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
    """Mean over ``dim`` (all dims when None). Needs a floating-point input (or ``dtype``).

    Shape: as :func:`sum`. The mean over zero elements is nan (as torch)."""
    if dtype is None and not input.dtype.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype}")
    axes = wrap_dims(dim, input.ndim, "mean")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        axes = tuple(range(input.ndim))
    count = 1
    for a in axes:
        count *= input.data.shape[a]
    if dtype is not None:
        from . import cast
        input = cast(input, dtype)
    if not count:
        return sum(input, axes if input.ndim else None, keepdim) * float("nan")
    return Mean.apply(input, axes if input.ndim else None, keepdim, count)


@primitive
class Mean(Primitive):
    @staticmethod
    def forward(ctx, x, axes, keepdim, count):
        ctx.in_shape, ctx.axes, ctx.keepdim, ctx.count = x.shape, axes, keepdim, count
        total = x.sum(axis=axes, keepdims=keepdim)    # the method: np.sum's wrapper costs more
        return xp_of(x).true_divide(total, count, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        """d mean(x)/dx = 1/n, broadcast back over the reduced axes"""
        return _unreduce(ctx, grad_out, ctx.count), None, None, None


@primitive
class Prod(Primitive):
    @staticmethod
    def forward(ctx, x, axis, keepdim):
        xp = xp_of(x)
        out = xp.asarray(xp.prod(x, axis=axis, keepdims=keepdim))
        ctx.axis, ctx.keep_shape = axis, _keep_shape(x.shape, range(x.ndim) if axis is None
                                                     else (axis,))
        zero = x == 0
        ctx.has_zero = bool(zero.any())
        if ctx.has_zero:   # why: out / x is 0/0 at zeros; only a lone zero gets a non-zero grad
            lone = zero & (zero.sum(axis=axis, keepdims=True) == 1)
            ctx.save_for_backward(x, out, lone)
        else:
            ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d prod(x)/dx_i = prod_{j != i} x_j (out / x_i when no x_j is 0)"""
        from . import reshape, where
        x, out = ctx.saved_tensors[:2]
        g = reshape(grad_out, ctx.keep_shape)
        out = reshape(out, ctx.keep_shape)
        if not ctx.has_zero:
            return g * out / x, None, None
        lone = ctx.saved_tensors[2]
        x_safe = where(x == 0, 1.0, x)
        others = Prod.apply(x_safe, ctx.axis, True)   # product of the non-zero entries
        return g * where(lone, others, out / x_safe), None, None


def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Product of elements over one ``dim`` (all elements when None).

    Zeros are handled exactly: the gradient at a lone zero is the product of the other
    elements, and every gradient of a slice with several zeros is 0.

    Example:
        >>> chainrule.tensor([[1., 2.], [3., 4.]]).prod(1)
        tensor([ 2., 12.])
    """
    from .unary import cast
    if dtype is not None:
        input = cast(input, dtype)
    elif not input.dtype.is_floating_point:
        input = cast(input, _dt.int64)
    if dim is None:
        return Prod.apply(input, None, False)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod(): dim must be an int, got {dim!r}")
    axis = wrap_dim(dim, input.ndim, "prod")
    if input.ndim == 0:
        return Prod.apply(input, None, False)
    return Prod.apply(input, axis, keepdim)


def _even_split_forward(ctx, x, out, axes, keepdim):
    """Save the winning elements as a 0/1 mask and their count (0 in a NaN slice, whose gradient
    is then NaN, as torch's)."""
    out_k = out if keepdim else out.reshape(_keep_shape(x.shape, axes))
    mask = x == out_k
    ctx.keep_shape = out_k.shape
    if x.dtype.kind == "f":
        ctx.save_for_backward(mask.astype(x.dtype), mask.sum(axis=axes, keepdims=True))
    return out


def _even_split_backward(ctx, grad_out):
    from . import reshape
    mask, count = ctx.saved_tensors
    return reshape(grad_out, ctx.keep_shape) / count * mask, None, None


@primitive
class Amax(Primitive):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        out = xp_of(x).asarray(xp_of(x).amax(x, axis=axes, keepdims=keepdim))
        return _even_split_forward(ctx, x, out, axes, keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        """d amax(x)/dx_i = [x_i == amax] / #ties"""
        return _even_split_backward(ctx, grad_out)


@primitive
class Amin(Primitive):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        out = xp_of(x).asarray(xp_of(x).amin(x, axis=axes, keepdims=keepdim))
        return _even_split_forward(ctx, x, out, axes, keepdim)

    @staticmethod
    def backward(ctx, grad_out):
        """d amin(x)/dx_i = [x_i == amin] / #ties"""
        return _even_split_backward(ctx, grad_out)


def amax(input, dim=(), keepdim=False):
    """Maximum over ``dim`` (every dim for ``()``/None). Tied maxima share the gradient evenly.

    Example:
        >>> chainrule.tensor([[1., 5.], [3., 4.]]).amax(1)
        tensor([5., 4.])
    """
    axes = _axes(input, dim, "amax")
    _check_nonempty(input, axes, "amax")
    return Amax.apply(input, axes, keepdim)


def amin(input, dim=(), keepdim=False):
    """Minimum over ``dim`` (every dim for ``()``/None). Tied minima share the gradient evenly."""
    axes = _axes(input, dim, "amin")
    _check_nonempty(input, axes, "amin")
    return Amin.apply(input, axes, keepdim)


@primitive
class IndexReduce(Primitive):
    @staticmethod
    def forward(ctx, x, axis, keepdim, kind):
        xp = xp_of(x)
        if kind == "max":
            idx = xp.argmax(x, axis=axis, keepdims=True)
        elif kind == "min":
            idx = xp.argmin(x, axis=axis, keepdims=True)
        else:   # median: the lower middle of a stable sort; a NaN slice picks its first NaN
            k = (x.shape[axis] - 1) // 2
            idx = xp.take(xp.argsort(x, axis=axis, kind="stable"), [k], axis=axis)
            if x.dtype.kind == "f":
                nan = xp.isnan(x)
                idx = xp.where(nan.any(axis=axis, keepdims=True),
                               xp.argmax(nan, axis=axis, keepdims=True), idx)
        idx = idx.astype(np.int64)
        values = xp.take_along_axis(x, idx, axis=axis)
        positions = xp.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
        ctx.save_for_backward(positions == idx)
        ctx.keep_shape = idx.shape
        if not keepdim:
            values, idx = values.squeeze(axis), idx.squeeze(axis)
        ctx.mark_non_differentiable(idx)
        return values, idx

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        """d values/dx_i = [i == index]"""
        from . import reshape, where
        (selected,) = ctx.saved_tensors
        return where(selected, reshape(grad_values, ctx.keep_shape), 0.0), None, None, None


def _result_type(name, fields):
    return collections.namedtuple(name, fields)


_MAX = _result_type("max", ["values", "indices"])
_MIN = _result_type("min", ["values", "indices"])
_MEDIAN = _result_type("median", ["values", "indices"])
_AMINMAX = _result_type("aminmax", ["min", "max"])


def _index_reduce(input, dim, keepdim, kind, result):
    from .shape import reshape
    axis = wrap_dim(dim, input.ndim, kind)
    x = reshape(input, (1,)) if input.ndim == 0 else input
    _check_nonempty(x, (axis,), kind)
    values, indices = IndexReduce.apply(x, axis, keepdim and input.ndim > 0, kind)
    if input.ndim == 0:
        values, indices = reshape(values, ()), reshape(indices, ())
    return result(values, indices)


def _tensor_input(input, op):
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")


def _full_reduce_check(input, op):
    if input.numel() == 0:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0."
                           f" Specify the reduction dim with the 'dim' argument.")


def max(input, dim=None, keepdim=False):
    """``max(input)``: the largest element (tied maxima share the gradient evenly).
    ``max(input, dim, keepdim=False)``: ``(values, indices)`` along ``dim``; the first maximal
    index is chosen and receives the whole gradient. ``max(input, other)``: :func:`maximum`.

    Example:
        >>> chainrule.tensor([[1., 5.], [3., 2.]]).max(1)
        max(values=tensor([5., 3.]), indices=tensor([1, 0]))
    """
    from ..tensor import Tensor
    _tensor_input(input, "max")
    if isinstance(dim, Tensor):
        from .binary import maximum
        return maximum(input, dim)
    if dim is None:
        _full_reduce_check(input, "max")
        return Amax.apply(input, tuple(range(input.ndim)), False)
    return _index_reduce(input, dim, keepdim, "max", _MAX)


def min(input, dim=None, keepdim=False):
    """``min(input)``, ``min(input, dim, keepdim=False) -> (values, indices)`` or
    ``min(input, other)``; the mirror image of :func:`max`."""
    from ..tensor import Tensor
    _tensor_input(input, "min")
    if isinstance(dim, Tensor):
        from .binary import minimum
        return minimum(input, dim)
    if dim is None:
        _full_reduce_check(input, "min")
        return Amin.apply(input, tuple(range(input.ndim)), False)
    return _index_reduce(input, dim, keepdim, "min", _MIN)


def median(input, dim=None, keepdim=False):
    """The lower median (element ``(n - 1) // 2`` in sorted order); NaN if a NaN is present.

    Without ``dim``, returns the value and elements equal to it share the gradient evenly;
    with ``dim``, returns ``(values, indices)`` and the gradient goes to the index."""
    from . import where, isnan
    _tensor_input(input, "median")
    if dim is not None:
        return _index_reduce(input, dim, keepdim, "median", _MEDIAN)
    if input.numel() == 0 and input.dtype.is_floating_point:
        return input.sum() * float("nan")        # torch: the median of no values is nan
    _full_reduce_check(input, "median")
    flat = input.data.reshape(-1)
    xp = xp_of(flat)
    value = xp.sort(flat)[(flat.size - 1) // 2]
    if not input.dtype.is_floating_point:
        return _tensor(xp.asarray(value))
    if bool(xp.isnan(flat).any()):
        mask = isnan(input)
    else:
        mask = input == _tensor(xp.asarray(value))
    return Amax.apply(where(mask, input, float("-inf")), tuple(range(input.ndim)), False)


def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` over ``dim`` (every dim when None); ties share the gradient evenly."""
    if dim is None:
        _full_reduce_check(input, "aminmax")
        axes = tuple(range(input.ndim))
        return _AMINMAX(Amin.apply(input, axes, keepdim), Amax.apply(input, axes, keepdim))
    wrap_dim(dim, input.ndim, "aminmax")
    return _AMINMAX(amin(input, dim, keepdim), amax(input, dim, keepdim))


def _arg_reduce(input, dim, keepdim, op):
    xp = xp_of(input.data)
    fn = xp.argmax if op == "argmax" else xp.argmin
    if dim is None:
        _full_reduce_check(input, op)
        idx = fn(input.data.reshape(-1))
        shape = (1,) * input.ndim if keepdim else ()
        return _tensor(xp.asarray(idx, dtype=np.int64).reshape(shape))
    axis = wrap_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return _tensor(xp.zeros((), dtype=np.int64))
    _check_nonempty(input, (axis,), op)
    return _tensor(fn(input.data, axis=axis, keepdims=keepdim).astype(np.int64))


def argmax(input, dim=None, keepdim=False):
    """Index of the first maximum (of the flattened input when ``dim`` is None); int64."""
    return _arg_reduce(input, dim, keepdim, "argmax")


def argmin(input, dim=None, keepdim=False):
    """Index of the first minimum (of the flattened input when ``dim`` is None); int64."""
    return _arg_reduce(input, dim, keepdim, "argmin")


def _bool_reduce(input, dim, keepdim, op):
    axes = _axes(input, dim, op)
    data = input.data
    xp = xp_of(data)
    fn = xp.all if op == "all" else xp.any
    return _tensor(xp.asarray(fn(data != 0, axis=axes, keepdims=keepdim)))


def all(input, dim=None, keepdim=False):
    """Whether every element over ``dim`` is non-zero (bool)."""
    return _bool_reduce(input, dim, keepdim, "all")


def any(input, dim=None, keepdim=False):
    """Whether any element over ``dim`` is non-zero (bool)."""
    return _bool_reduce(input, dim, keepdim, "any")


def count_nonzero(input, dim=None):
    """Number of non-zero elements over ``dim`` (int64)."""
    axes = _axes(input, dim, "count_nonzero")
    data = input.data
    xp = xp_of(data)
    return _tensor(xp.asarray((data != 0).sum(axis=axes), dtype=np.int64))


from ._reduce_stats import *  # noqa: E402,F401,F403
from ._reduce_stats import __all__ as _stats_all, TENSOR_METHODS as _stats_methods  # noqa: E402
from ._scan import *  # noqa: E402,F401,F403
from ._scan import __all__ as _scan_all, TENSOR_METHODS as _scan_methods  # noqa: E402

__all__ += _stats_all + _scan_all

TENSOR_METHODS = {
    "sum": sum, "mean": mean, "prod": prod, "amax": amax, "amin": amin, "max": max, "min": min,
    "aminmax": aminmax, "argmax": argmax, "argmin": argmin, "all": all, "any": any,
    "count_nonzero": count_nonzero, "median": median,
    **_stats_methods, **_scan_methods,
}
