"""Sorting and selection along one dim.

Composites: sort/argsort/msort, topk, kthvalue, mode, cummax/cummin (the order is found on raw
arrays and the values are read with ``gather``, so their gradient is gather's scatter-add to the
selected indices), nanmedian. One primitive: LogCumsumExp, a log-domain scan (the composite
``log(cumsum(exp(x)))`` under- or overflows). Ties: sorts are stable (torch's CPU order);
among equal values topk and kthvalue pick the first index, mode and cummax/cummin the last.
Counting and search ops (unique, bincount, histc, searchsorted, ...) live in ``sorting_search``,
NaN-aware sums, differences, grids and distances (nansum, diff, meshgrid, cdist, ...) in
``sorting_stats``; both are re-exported from here.
"""
import numpy as np

from . import primitive, Primitive
from ._util import wrap_dim
from .sorting_search import _check_tensor, _tensor
from .reduce import _result_type
from .._backend import xp_of

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "mode", "nanmedian", "cummax",
           "cummin", "logcumsumexp"]

_SORT = _result_type("sort", ["values", "indices"])
_TOPK = _result_type("topk", ["values", "indices"])
_KTHVALUE = _result_type("kthvalue", ["values", "indices"])
_MODE = _result_type("mode", ["values", "indices"])
_NANMEDIAN = _result_type("nanmedian", ["values", "indices"])
_CUMMAX = _result_type("cummax", ["values", "indices"])
_CUMMIN = _result_type("cummin", ["values", "indices"])


def _argsort(data, axis, descending):
    """Stable sort order along ``axis``; NaN sorts as the largest value (torch)."""
    xp = xp_of(data)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    # why: sorting the reversed array and reversing the result keeps equal values in their
    # original order, and puts NaN (last in NumPy's ascending order) first, as torch does
    idx = xp.argsort(xp.flip(data, axis), axis=axis, kind="stable")
    return (data.shape[axis] - 1 - xp.flip(idx, axis)).astype(np.int64)


def _select(input, axis, idx, keepdim=True):
    """(values, indices): ``input`` gathered along ``axis`` at the int64 array ``idx``."""
    from .index_ops import gather
    from .shape import squeeze
    index = _tensor(idx.astype(np.int64, copy=False))
    values = gather(input, axis, index)
    if not keepdim and input.ndim > 0:
        values, index = squeeze(values, axis), squeeze(index, axis)
    return values, index


def _of_scalar(input, result):
    """(values, indices) of a 0-d input: the input itself at index 0."""
    return result(*_select(input, 0, xp_of(input.data).zeros((), dtype=np.int64)))


def _prepare(input, dim, op):
    _check_tensor(input, op)
    return wrap_dim(dim, input.ndim, op)


def sort(input, dim=-1, descending=False, stable=False):
    """Sort along ``dim``: ``(values, indices)`` with ``values = input.gather(dim, indices)``.

    The sort is always stable (equal values keep their order, as torch's CPU sort), so
    ``stable`` only documents intent; NaN sorts as the largest value. The gradient of ``values``
    goes back to the position each value came from.

    Args:
        input: a Tensor of any shape.
        dim: the dim to sort along (default the last).
        descending: largest first.

    Shape: values and indices (int64) have input's shape.

    Example:
        >>> chainrule.tensor([3., 1., 2.]).sort()
        sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    axis = _prepare(input, dim, "sort")
    if input.ndim == 0:
        return _of_scalar(input, _SORT)
    return _SORT(*_select(input, axis, _argsort(input.data, axis, descending)))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (int64, input's shape); see :func:`sort`."""
    axis = _prepare(input, dim, "argsort")
    if input.ndim == 0:
        return _tensor(xp_of(input.data).zeros((), dtype=np.int64))
    return _tensor(_argsort(input.data, axis, descending).astype(np.int64))


def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or, with ``largest=False``, smallest) elements along ``dim``.

    Returns ``(values, indices)`` in sorted order (also when ``sorted=False``, which torch
    allows). Among equal values the lower index comes first; NaN counts as the largest value.

    Shape: input's shape with ``dim`` of size ``k``.

    Example:
        >>> chainrule.tensor([1., 5., 3., 4.]).topk(2)
        topk(values=tensor([5., 4.]), indices=tensor([1, 3]))
    """
    axis = _prepare(input, dim, "topk")
    n = input.shape[axis] if input.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk(): k must be an int, got {k!r}")
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} for dimension {axis} "
                           f"of size {n}")
    if input.ndim == 0:
        return _of_scalar(input, _TOPK)
    idx = _argsort(input.data, axis, largest)
    idx = xp_of(idx).take(idx, np.arange(k), axis=axis)
    return _TOPK(*_select(input, axis, idx))


def kthvalue(input, k, dim=-1, keepdim=False):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``; among
    equal values the lowest index.

    Example:
        >>> chainrule.tensor([3., 1., 2.]).kthvalue(2)
        kthvalue(values=tensor(2.), indices=tensor(2))
    """
    axis = _prepare(input, dim, "kthvalue")
    n = input.shape[axis] if input.ndim else 1
    if n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {axis} to have non-zero size.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis} "
                           f"(k={k!r}, size {n})")
    if input.ndim == 0:
        return _of_scalar(input, _KTHVALUE)
    idx = _argsort(input.data, axis, False)
    idx = xp_of(idx).take(idx, [k - 1], axis=axis)
    return _KTHVALUE(*_select(input, axis, idx, keepdim))


def _runs(sorted_rows):
    """For each position of rows sorted along the last axis: the first and last position of its
    run of equal values."""
    xp = xp_of(sorted_rows)
    m, n = sorted_rows.shape
    pos = xp.broadcast_to(xp.arange(n), (m, n))
    new = xp.ones((m, n), dtype=bool)
    new[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    start = xp.maximum.accumulate(xp.where(new, pos, 0), axis=1)
    last = xp.ones((m, n), dtype=bool)
    last[:, :-1] = new[:, 1:]
    end = xp.flip(xp.minimum.accumulate(xp.flip(xp.where(last, pos, n), 1), axis=1), 1)
    return start, end


def mode(input, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` and an index of it: ``(values, indices)``.

    Among equally frequent values the smallest wins; the index is its last occurrence (torch
    leaves the index of a repeated value unspecified). The gradient goes to that index.

    Example:
        >>> chainrule.tensor([1., 2., 2., 1., 3.]).mode()
        mode(values=tensor(1.), indices=tensor(3))
    """
    axis = _prepare(input, dim, "mode")
    if input.ndim == 0:
        return _of_scalar(input, _MODE)
    n = input.shape[axis]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {axis} to have non-zero size.")
    xp = xp_of(input.data)
    moved = xp.moveaxis(input.data, axis, -1)
    rows = moved.reshape(-1, n)
    order = xp.argsort(rows, axis=1, kind="stable")
    ordered = xp.take_along_axis(rows, order, axis=1)
    start, end = _runs(ordered)
    best = xp.argmax(end - start, axis=1)[:, None]       # first longest run: the smallest value
    idx = xp.take_along_axis(order, xp.take_along_axis(end, best, axis=1), axis=1)
    idx = xp.moveaxis(idx.reshape(moved.shape[:-1] + (1,)), -1, axis)
    return _MODE(*_select(input, axis, idx, keepdim))


def nanmedian(input, dim=None, keepdim=False):
    """The lower median of the non-NaN elements (NaN when there are none).

    Without ``dim``, returns the value, and elements equal to it share the gradient evenly (as
    :func:`median`); with ``dim``, returns ``(values, indices)``, the index being the first
    among equal values, and the gradient goes to the index.

    Example:
        >>> chainrule.tensor([2., float("nan"), 1., 3.]).nanmedian()
        tensor(2.)
    """
    from .reduce import median, mean
    from .index_ops import masked_select
    from .unary import isnan
    from .logical import logical_not
    _check_tensor(input, "nanmedian")
    if dim is None:
        if not input.dtype.is_floating_point:
            return median(input)
        present = logical_not(isnan(input))
        if input.numel() and not bool(present.data.any()):
            return mean(input)      # all NaN: NaN, the gradient shared evenly (torch)
        return median(masked_select(input, present))
    axis = _prepare(input, dim, "nanmedian")
    if input.ndim == 0:
        return _of_scalar(input, _NANMEDIAN)
    if input.shape[axis] == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {axis} to have non-zero size.")
    x = input.data
    xp = xp_of(x)
    order = xp.argsort(x, axis=axis, kind="stable")       # NaN last
    count = x.shape[axis] if x.dtype.kind != "f" else (~xp.isnan(x)).sum(axis=axis,
                                                                         keepdims=True)
    k = xp.maximum((xp.asarray(count) - 1) // 2, 0)
    k = xp.broadcast_to(k, order.shape[:axis] + (1,) + order.shape[axis + 1:])
    idx = xp.take_along_axis(order, k, axis=axis)
    return _NANMEDIAN(*_select(input, axis, idx, keepdim))


def _cum_extreme(input, dim, op, result):
    axis = _prepare(input, dim, op)
    x = input.data
    xp = xp_of(x)
    if input.ndim == 0:
        return _of_scalar(input, result)
    acc = (xp.maximum if op == "cummax" else xp.minimum).accumulate(x, axis=axis)
    # torch updates the index on ties and on NaN (which then propagates): the index at j is
    # the last i <= j where x_i equals the running extreme
    update = x == acc
    if x.dtype.kind == "f":
        update |= xp.isnan(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    pos = xp.arange(x.shape[axis]).reshape(shape)
    idx = xp.maximum.accumulate(xp.where(update, pos, 0), axis=axis)
    return result(*_select(input, axis, idx))


def cummax(input, dim):
    """Running maximum along ``dim`` and the index where it was (last) attained:
    ``(values, indices)``; a NaN propagates. The gradient goes to the indices.

    Example:
        >>> chainrule.tensor([1., 3., 2., 3.]).cummax(0)
        cummax(values=tensor([1., 3., 3., 3.]), indices=tensor([0, 1, 1, 3]))
    """
    return _cum_extreme(input, dim, "cummax", _CUMMAX)


def cummin(input, dim):
    """Running minimum along ``dim`` with its indices; the mirror image of :func:`cummax`."""
    return _cum_extreme(input, dim, "cummin", _CUMMIN)


@primitive
class LogCumsumExp(Primitive):
    @staticmethod
    def forward(ctx, x, axis, reverse):
        xp = xp_of(x)
        ctx.axis, ctx.reverse = axis, reverse
        if x.shape[axis] == 0:
            out = x.copy()
        elif reverse:
            out = xp.flip(xp.logaddexp.accumulate(xp.flip(x, axis), axis=axis), axis)
            out = xp.ascontiguousarray(out)
        else:
            out = xp.logaddexp.accumulate(x, axis=axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d out_j/dx_i = exp(x_i - out_j) [i <= j], summed in log space by the sign of g"""
        from . import where, log, exp
        x, out = ctx.saved_tensors
        g = grad_out
        reverse = not ctx.reverse

        # why: the lowest finite number, not -inf, stands for log 0, so that the double backward
        # (this rule applied to log_g - out) never computes -inf - -inf
        lowest = float(np.finfo(g.dtype.np).min)

        def part(mask, magnitude):
            log_g = where(mask, log(where(mask, magnitude, 1.0)), lowest)
            return exp(LogCumsumExp.apply(log_g - out, ctx.axis, reverse) + x)
        return part(g > 0, g) - part(g < 0, -g), None, None


def logcumsumexp(input, dim):
    """``log(cumsum(exp(input)))`` along ``dim``, computed as a running ``logaddexp`` so it is
    exact for large and very negative values.

    Example:
        >>> chainrule.tensor([0., 0., 1000.]).logcumsumexp(0)
        tensor([0.0000e+00, 6.9315e-01, 1.0000e+03])
    """
    from .shape import reshape
    axis = _prepare(input, dim, "logcumsumexp")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"logcumsumexp(): not implemented for {input.dtype}; pass a "
                                  "floating-point tensor")
    if input.ndim == 0:
        return reshape(LogCumsumExp.apply(reshape(input, (1,)), 0, False), ())
    return LogCumsumExp.apply(input, axis, False)


from .sorting_search import *  # noqa: E402,F401,F403
from .sorting_search import __all__ as _search_all, TENSOR_METHODS as _search_methods  # noqa
from .sorting_stats import *  # noqa: E402,F401,F403
from .sorting_stats import __all__ as _stats_all, TENSOR_METHODS as _stats_methods  # noqa

TENSOR_METHODS = {name: globals()[name] for name in __all__}
TENSOR_METHODS.update(_search_methods)
TENSOR_METHODS.update(_stats_methods)
__all__ += _search_all + _stats_all
