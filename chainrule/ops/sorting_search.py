"""Counting and search ops, none differentiable (as torch): unique, unique_consecutive,
searchsorted, bucketize, bincount and histc. Re-exported by ``chainrule.ops.sorting``."""
import numpy as np

from ._util import wrap_dim
from .._backend import xp_of

__all__ = ["unique", "unique_consecutive", "searchsorted", "bucketize", "bincount", "histc"]


def _tensor(array):
    from ..tensor import Tensor
    return Tensor._make(array)


def _check_tensor(input, op, arg="input"):
    """TypeError naming ``op`` and ``arg`` unless ``input`` is a Tensor (shared by the sorting
    modules)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' must be Tensor, not {type(input).__name__}")


def _data(input, op, arg="input"):
    _check_tensor(input, op, arg)
    return input.data


def _results(values, inverse, counts, return_inverse, return_counts):
    out = [_tensor(values)]
    if return_inverse:
        out.append(_tensor(inverse.astype(np.int64)))
    if return_counts:
        out.append(_tensor(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements of ``input`` (or, with ``dim``, its distinct slices along ``dim``),
    in ascending (lexicographic for slices) order; ``sorted=False`` gives the same order, which
    torch allows. NaNs are all distinct, as in torch.

    Returns the unique values, followed by ``inverse`` (the position in the output of each
    element, input's shape; or one per slice) and ``counts`` when asked for; int64. No gradient.

    Example:
        >>> chainrule.unique(chainrule.tensor([2, 1, 2]), return_counts=True)
        (tensor([1, 2]), tensor([1, 2]))
    """
    x = _data(input, "unique")
    xp = xp_of(x)
    if dim is None:
        values, inverse, counts = xp.unique(x.reshape(-1), return_inverse=True,
                                            return_counts=True, equal_nan=False)
        inverse = inverse.reshape(x.shape)
    else:
        axis = wrap_dim(dim, input.ndim, "unique")
        if x.ndim == 0:
            x = x.reshape(1)
        if x.size == 0:
            if x.shape[axis]:
                raise RuntimeError(f"unique(): There are 0 sized dimensions, and they aren't "
                                   f"selected (dim={dim}, shape {list(x.shape)}), so unique "
                                   "cannot be applied")
            empty = xp.zeros(0, np.int64)
            return _results(x, empty, empty, return_inverse, return_counts)
        values, inverse, counts = xp.unique(x, return_inverse=True, return_counts=True,
                                            axis=axis, equal_nan=False)
        inverse = inverse.reshape(-1)
    return _results(values, inverse, counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse each run of equal consecutive elements (or slices along ``dim``) into one.

    Returns the values, then ``inverse`` and ``counts`` (int64) when asked for. No gradient.

    Example:
        >>> chainrule.unique_consecutive(chainrule.tensor([1, 1, 2, 1]))
        tensor([1, 2, 1])
    """
    x = _data(input, "unique_consecutive")
    xp = xp_of(x)
    if dim is None:
        flat = x.reshape(-1)
        rows, axis, shape = flat.reshape(-1, 1), 0, x.shape
    else:
        axis = wrap_dim(dim, input.ndim, "unique_consecutive")
        flat = x.reshape(1) if x.ndim == 0 else x
        rows = xp.moveaxis(flat, axis, 0).reshape(flat.shape[axis], -1)
        shape = (flat.shape[axis],)
    n = rows.shape[0]
    new = xp.ones(n, dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]).any(axis=1) if rows.shape[1] else False
    starts = xp.flatnonzero(new)
    values = xp.take(flat, starts, axis=axis)
    inverse = (xp.cumsum(new) - 1).reshape(shape)
    counts = xp.diff(xp.append(starts, n))
    return _results(values, inverse, counts, return_inverse, return_counts)


def _side(op, right, side):
    if side is None:
        return "right" if right else "left"
    if side not in ("left", "right"):
        raise RuntimeError(f"{op}: side can only be 'left' or 'right' but got {side!r}")
    if right and side == "left":
        raise RuntimeError(f"{op}: side and right can't be set to opposites, got side of left "
                           "while right was True")
    return side


def _values(input, like, op):
    from ..tensor import Tensor
    if isinstance(input, Tensor):
        return input.data
    if isinstance(input, (bool, int, float, np.generic)):
        return xp_of(like).asarray(input)
    raise TypeError(f"{op}: input must be a Tensor or a number, not {type(input).__name__}")


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """For each value of ``input``, the index where it would be inserted into the innermost dim
    of ``sorted_sequence`` to keep it sorted: the first such index (``side='left'``) or the last
    (``'right'`` or ``right=True``).

    Args:
        sorted_sequence: 1-d, or N-d with the first N-1 dims equal to input's (one sequence per
            row).
        input: a Tensor or a number.
        out_int32: int32 instead of int64 indices.
        sorter: indices that sort ``sorted_sequence`` along its last dim, if it is not sorted.

    Shape: input's shape.

    Example:
        >>> chainrule.searchsorted(chainrule.tensor([1., 3., 5.]), chainrule.tensor([3., 6.]))
        tensor([1, 3])
    """
    op = "torch.searchsorted()"
    seq = _data(sorted_sequence, "searchsorted", "sorted_sequence")
    values = _values(input, seq, op)
    side = _side(op, right, side)
    xp = xp_of(seq)
    if seq.ndim == 0:
        raise RuntimeError(f"{op}: boundaries tensor should be 1 dimension or the first N-1 "
                           "dimensions of boundaries tensor and input value tensor must match, "
                           "but we got a 0-d boundaries tensor")
    if sorter is not None:
        order = _data(sorter, "searchsorted", "sorter")
        if order.shape != seq.shape:
            raise RuntimeError(f"{op}: boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(seq.shape)} and got sorter tensor "
                               f"{list(order.shape)}")
        seq = xp.take_along_axis(seq, order.astype(np.int64), axis=-1)
    if seq.ndim == 1:
        out = xp.searchsorted(seq, values, side=side)
    else:
        if values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]:
            raise RuntimeError(f"{op}: boundaries tensor should be 1 dimension or the first N-1 "
                               "dimensions of boundaries tensor and input value tensor must "
                               f"match, but we got boundaries tensor {list(seq.shape)} and input "
                               f"value tensor {list(values.shape)}")
        rows, vals = seq.reshape(-1, seq.shape[-1]), values.reshape(-1, values.shape[-1])
        out = xp.empty(vals.shape, dtype=np.int64)
        for r in range(rows.shape[0]):
            out[r] = xp.searchsorted(rows[r], vals[r], side=side)
        out = out.reshape(values.shape)
    return _tensor(xp.asarray(out).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each value of ``input`` among the sorted 1-d ``boundaries``: ``i`` with
    ``boundaries[i-1] < x <= boundaries[i]`` (``right=False``) or
    ``boundaries[i-1] <= x < boundaries[i]`` (``right=True``).

    Shape: input's shape (0-d for a number). Example:
        >>> chainrule.bucketize(chainrule.tensor([1., 4.]), chainrule.tensor([1., 3., 5.]))
        tensor([0, 2])
    """
    b = _data(boundaries, "bucketize", "boundaries")
    if b.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries tensor must be 1 dimension, but got "
                           f"dim({b.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def bincount(input, weights=None, minlength=0):
    """How often each non-negative integer occurs in the 1-d ``input`` (or the sum of
    ``weights`` at its positions); the result has ``max(max(input) + 1, minlength)`` bins.

    dtype: int64 without weights; the weights' float dtype, or float64 for integer weights.
    No gradient.

    Example:
        >>> chainrule.bincount(chainrule.tensor([0, 2, 2]))
        tensor([1, 0, 2])
    """
    x = _data(input, "bincount")
    xp = xp_of(x)
    if x.dtype.kind not in "iub":
        raise NotImplementedError(f"bincount(): not implemented for {input.dtype}; pass an "
                                  "integer tensor")
    if x.ndim != 1 or (x.size and int(x.min()) < 0):
        raise RuntimeError(f"bincount(): only supports 1-d non-negative integral inputs (got "
                           f"shape {list(x.shape)})")
    if isinstance(minlength, bool) or not isinstance(minlength, (int, np.integer)) \
            or minlength < 0:
        raise RuntimeError(f"bincount(): minlength should be >= 0, got {minlength!r}")
    if weights is None:
        return _tensor(xp.bincount(x, minlength=minlength).astype(np.int64))
    w = _data(weights, "bincount", "weights")
    if w.ndim != 1 or w.shape[0] != x.shape[0]:
        raise RuntimeError(f"bincount(): weights should be 1-d and have the same length as "
                           f"input (got {list(w.shape)} for input {list(x.shape)})")
    dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.float64
    out = xp.bincount(x, weights=w.astype(np.float64), minlength=minlength)
    return _tensor(out.astype(dtype))


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``input`` with ``bins`` equal-width bins over ``[min, max]``; elements
    outside the range (and NaN) are ignored, ``max`` itself counts in the last bin. With
    ``min == max`` the data's minimum and maximum are used (widened by 1 on each side if equal).

    Shape: (bins,), input's float dtype. No gradient.

    Example:
        >>> chainrule.histc(chainrule.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    x = _data(input, "histc")
    xp = xp_of(x)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"histc(): not implemented for {input.dtype}; pass a "
                                  "floating-point tensor")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise RuntimeError(f"histc(): bins must be > 0, but got {bins!r}")
    if min > max:
        raise RuntimeError(f"histc(): max must be larger than min (got min={min}, max={max})")
    lo, hi = float(min), float(max)
    finite = x[xp.isfinite(x)]
    if lo == hi and finite.size:
        lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    dt = x.dtype.type
    flat = x.reshape(-1)
    keep = flat[(flat >= dt(lo)) & (flat <= dt(hi))]
    # torch's arithmetic, in the input's precision: (x - lo) * bins / (hi - lo)
    pos = ((keep - dt(lo)) * dt(bins) / (dt(hi) - dt(lo))).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    return _tensor(xp.bincount(pos, minlength=bins).astype(x.dtype))


TENSOR_METHODS = {"unique": unique, "unique_consecutive": unique_consecutive,
                  "bincount": bincount, "histc": histc}
