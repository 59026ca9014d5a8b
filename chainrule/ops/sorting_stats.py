"""NaN-aware reductions, differences, grids, pairwise distances and rotations, all composites:
nansum, nanmean, trace, diff, meshgrid, cartesian_prod, cdist and rot90. Re-exported by
``chainrule.ops.sorting``."""
import math
import warnings

from ._util import wrap_dim
from .sorting_search import _check_tensor

__all__ = ["nansum", "nanmean", "trace", "diff", "meshgrid", "cartesian_prod", "cdist", "rot90"]

_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                "donot_use_mm_for_euclid_dist")


def _without_nan(input):
    from .unary import where, isnan
    return where(isnan(input), 0.0, input) if input.dtype.is_floating_point else input


def nansum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` treating NaN as 0 (their gradient is 0). Arguments as :func:`sum`.

    Example:
        >>> chainrule.tensor([1., float("nan"), 2.]).nansum()
        tensor(3.)
    """
    from .reduce import sum as _sum
    _check_tensor(input, "nansum")
    return _sum(_without_nan(input), dim, keepdim, dtype=dtype)


def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean of the non-NaN elements over ``dim`` (NaN where all are NaN). Needs a
    floating-point input.

    Example:
        >>> chainrule.tensor([1., float("nan"), 2.]).nanmean()
        tensor(1.5000)
    """
    from .reduce import sum as _sum
    from .unary import isnan
    from .logical import logical_not
    _check_tensor(input, "nanmean")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got "
                           f"{input.dtype}")
    count = _sum(logical_not(isnan(input)), dim, keepdim)
    return _sum(_without_nan(input), dim, keepdim, dtype=dtype) / count


def trace(input):
    """The sum of the main diagonal of a 2-D tensor (integers sum to int64).

    Example:
        >>> chainrule.tensor([[1., 2.], [3., 4.]]).trace()
        tensor(5.)
    """
    from .reduce import sum as _sum
    from .shape import diagonal
    _check_tensor(input, "trace")
    if input.ndim != 2:
        raise RuntimeError(f"trace(): expected a matrix, but got tensor with dim {input.ndim}")
    return _sum(diagonal(input))


def _as_edge(t, input, op):
    """A prepend/append argument: a tensor with input's number of dims."""
    _check_tensor(t, op, "prepend/append")
    if t.ndim != input.ndim:
        raise RuntimeError(f"{op}(): expects prepend or append to be the same dimension as "
                           f"input (got {t.ndim} and {input.ndim})")
    return t


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] - x[i]``, applied
    ``n`` times (``x[i + 1] != x[i]`` for bool), after concatenating ``prepend`` and
    ``append`` to ``input`` along ``dim``.

    Shape: input's shape with ``dim`` shortened by ``n`` (never below 0).

    Example:
        >>> chainrule.tensor([1., 4., 9., 16.]).diff()
        tensor([3., 5., 7.])
    """
    from .join import cat
    from .shape import narrow
    from .logical import ne
    _check_tensor(input, "diff")
    if input.ndim == 0:
        raise RuntimeError("diff(): expects input to be at least one-dimensional")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise RuntimeError(f"diff(): order must be non-negative but got {n!r}")
    axis = wrap_dim(dim, input.ndim, "diff")
    parts = [input]
    if prepend is not None:
        parts.insert(0, _as_edge(prepend, input, "diff"))
    if append is not None:
        parts.append(_as_edge(append, input, "diff"))
    x = cat(parts, axis) if len(parts) > 1 else input
    for _ in range(n):
        size = x.shape[axis]
        if size == 0:
            break
        hi, lo = narrow(x, axis, 1, size - 1), narrow(x, axis, 0, size - 1)
        x = ne(hi, lo) if x.dtype.name == "bool" else hi - lo
    return x


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 0-d/1-d tensors of sizes n1, n2, ...: with ``indexing='ij'``
    output i has shape (n1, n2, ...) and varies along dim i; ``'xy'`` (Cartesian) swaps the
    first two dims. Without ``indexing``, 'ij' with a warning (as torch).

    Returns a tuple of expanded views (gradients sum back to each input).

    Example:
        >>> x, y = chainrule.meshgrid(chainrule.tensor([1, 2]), chainrule.tensor([3, 4, 5]),
        ...                           indexing="ij")
        >>> x.shape, y.shape
        (chainrule.Size([2, 3]), chainrule.Size([2, 3]))
    """
    from .shape import reshape, expand
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'meshgrid(): indexing must be one of "xy" or "ij", but received: '
                           f"{indexing}")
    if not tensors:
        raise RuntimeError("meshgrid(): expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        _check_tensor(t, "meshgrid", f"tensors[{i}]")
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid(): Expected 0D or 1D tensor in the tensor list but got "
                               f"a tensor of shape {list(t.shape)}")
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError(f"meshgrid(): expects all tensors to have the same dtype (got "
                               f"{tensors[0].dtype} and {t.dtype})")
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors = (tensors[1], tensors[0]) + tuple(tensors[2:])
    shape = tuple(t.numel() for t in tensors)
    k = len(tensors)
    grids = [expand(reshape(t, (1,) * i + (-1,) + (1,) * (k - i - 1)), shape)
             for i, t in enumerate(tensors)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """The Cartesian product of 1-d tensors as an (n1 * n2 * ..., k) tensor, rows in
    lexicographic order (a single tensor is returned unchanged).

    Example:
        >>> chainrule.cartesian_prod(chainrule.tensor([1, 2]), chainrule.tensor([3, 4]))
        tensor([[1, 3],
                [1, 4],
                [2, 3],
                [2, 4]])
    """
    from .join import stack
    from .shape import reshape
    for i, t in enumerate(tensors):
        _check_tensor(t, "cartesian_prod", f"tensors[{i}]")
        if t.ndim != 1:
            raise RuntimeError(f"cartesian_prod(): Expect a 1D vector, but got shape "
                               f"{list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([reshape(g, (-1,)) for g in grids], 1)


def _cdist_check(x1, x2, p, compute_mode):
    for name, x in (("X1", x1), ("X2", x2)):
        _check_tensor(x, "cdist", name.lower())
        if x.ndim < 2:
            raise RuntimeError(f"cdist(): only supports at least 2D tensors, {name} got: "
                               f"{x.ndim}D")
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"cdist(): only supports floating-point dtypes, {name} got: "
                               f"{x.dtype}")
    if x1.dtype is not x2.dtype:
        raise RuntimeError(f"cdist(): X1 and X2 must have the same dtype, got {x1.dtype} and "
                           f"{x2.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist(): X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p >= 0:
        raise RuntimeError(f"cdist(): only supports non-negative p values, got {p!r}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"cdist(): {compute_mode} is not a valid value for compute_mode")


def _euclid_mm(x1, x2):
    """sqrt(|a|^2 - 2 a.b + |b|^2) with one matmul, as torch's matmul path."""
    from .reduce import sum as _sum
    from .join import cat
    from .creation import ones_like
    from .matmul import matmul
    from .pointwise import clamp_min
    from .unary import sqrt
    from ._reduce_stats import _safe_root
    n1, n2 = _sum(x1 * x1, -1, keepdim=True), _sum(x2 * x2, -1, keepdim=True)
    a = cat([x1 * -2.0, n1, ones_like(n1)], -1)
    b = cat([x2, ones_like(n2), n2], -1)
    return _safe_root(clamp_min(matmul(a, b.transpose(-1, -2)), 0.0), sqrt)


def _pnorm_last(d, p):
    """The p-norm of ``d`` over its last dim with a 0 gradient where an entry or the norm is 0."""
    from .reduce import sum as _sum, amax
    from .unary import abs as _abs, sqrt, where, cast
    from ._reduce_stats import _safe_root
    if p == 2:
        return _safe_root(_sum(d * d, -1), sqrt)
    a = _abs(d)
    if p == 1:
        return _sum(a, -1)
    if p == math.inf:
        if d.shape[-1] == 0:
            return _sum(a, -1)
        # torch's subgradient: every coordinate attaining the maximum gets the whole gradient
        # (amax would split it among ties); the mask is constant, so higher orders follow
        top = amax(a, -1, keepdim=True).detach()
        hit = cast(a == top, d.dtype)
        return _sum(hit * (a - a.detach()), -1) + top.squeeze(-1)
    if p == 0:
        return _sum(cast(d != 0, d.dtype), -1)
    zero = a == 0
    powered = where(zero, 0.0, where(zero, 1.0, a) ** p)    # why: |0|^(p-1) is inf for p < 1
    return _safe_root(_sum(powered, -1), lambda s: s ** (1.0 / p))


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """Pairwise p-norm distances between the rows of ``x1`` and of ``x2`` (batched).

    Args:
        x1: (B..., P, M) floating-point tensor.
        x2: (B..., R, M) tensor of x1's dtype; the batch dims broadcast.
        p: the norm's order, in [0, inf]; p=0 counts the differing coordinates (no gradient).
        compute_mode: for p=2, 'use_mm_for_euclid_dist_if_necessary' (default) uses a matmul
            when P > 25 or R > 25, 'use_mm_for_euclid_dist' always, and
            'donot_use_mm_for_euclid_dist' never (exact, but builds a (B, P, R, M) difference).

    Shape: (B..., P, R). The gradient at a zero distance is 0 (torch's subgradient).

    Example:
        >>> chainrule.cdist(chainrule.tensor([[0., 0.]]), chainrule.tensor([[3., 4.], [0., 1.]]))
        tensor([[5., 1.]])
    """
    from ._broadcast import broadcast_shapes
    from .shape import expand, unsqueeze
    _cdist_check(x1, x2, p, compute_mode)
    batch = broadcast_shapes(tuple(x1.shape[:-2]), tuple(x2.shape[:-2]), op="cdist")
    x1 = expand(x1, batch + tuple(x1.shape[-2:]))
    x2 = expand(x2, batch + tuple(x2.shape[-2:]))
    rows1, rows2 = x1.shape[-2], x2.shape[-2]
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
        compute_mode == _CDIST_MODES[0] and (rows1 > 25 or rows2 > 25)))
    if use_mm:
        return _euclid_mm(x1, x2)
    return _pnorm_last(unsqueeze(x1, -2) - unsqueeze(x2, -3), p)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards the
    second (``k`` may be negative).

    Example:
        >>> chainrule.tensor([[1, 2], [3, 4]]).rot90()
        tensor([[2, 4],
                [1, 3]])
    """
    from .join import flip
    from .shape import transpose
    from .unary import clone
    _check_tensor(input, "rot90")
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90(): expected total rotation dims == 2, but got dims = "
                           f"{len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90(): expected total dims >= 2, but got total dims = "
                           f"{input.ndim}")
    d0, d1 = (wrap_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90(): expected rotation dims to be different, but got dim0 = "
                           f"{d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, [d1]), d0, d1)
    if k == 2:
        return flip(input, [d0, d1])
    if k == 3:
        return transpose(flip(input, [d0]), d0, d1)
    return clone(input)


TENSOR_METHODS = {"nansum": nansum, "nanmean": nanmean, "trace": trace, "diff": diff,
                  "rot90": rot90}
