"""Index-driven ops, all composites of the GetItem / IndexAdd / IndexPut primitives (``index``):
gather/scatter along a dimension, index_select/index_add/index_copy/index_fill, masked_fill/
masked_select/masked_scatter, take/take_along_dim/put, nonzero/argwhere, and torch's in-place
variants (``scatter_``, ``index_add_``, ``masked_fill_``, ...)."""
import numpy as np

from ._util import wrap_dim, cast_to
from .index import GetItem, IndexAdd, IndexPut, index_put
from .shape import reshape, expand
from .. import dtypes as _dt
from .._backend import xp_of

__all__ = ["gather", "scatter", "scatter_add", "index_select", "index_add", "index_copy",
           "index_fill", "masked_fill", "masked_select", "masked_scatter", "take",
           "take_along_dim", "put", "nonzero", "argwhere"]

_INDEX_DTYPES = ("int64", "int32", "int16", "int8")


def _tensor(array):
    from ..tensor import Tensor
    return Tensor._make(array)


def _index_arg(index, op):
    from ..tensor import Tensor
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}(): index must be a Tensor, got {type(index).__name__}")
    if index.dtype.name not in _INDEX_DTYPES:
        raise RuntimeError(f"{op}(): Expected dtype int32 or int64 for index, got {index.dtype}")
    return index.data


def _check_range(idx, size, op, dim, negative=False, error=RuntimeError):
    if idx.size == 0:
        return
    low = -size if negative else 0
    bad = (idx < low) | (idx >= size)
    if bool(bad.any()):
        value = int(idx[bad].ravel()[0])
        raise error(f"{op}(): index {value} is out of bounds for dimension {dim} with size {size}")


def _along(idx, dim):
    """The full advanced index that reads ``x[..., idx[i, j, k], ...]`` at position (i, j, k):
    ``idx`` along ``dim`` and an aranged, broadcastable index along every other dimension."""
    xp = xp_of(idx)
    out = []
    for a, n in enumerate(idx.shape):
        if a == dim:
            out.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[a] = n
            out.append(xp.arange(n).reshape(shape))
    return tuple(out)


def _check_gather_shapes(op, x_shape, idx_shape, d, src_shape=None):
    if len(idx_shape) != len(x_shape):
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as "
                           f"input tensor (got {len(idx_shape)} and {len(x_shape)})")
    for a, (i, s) in enumerate(zip(idx_shape, x_shape)):
        if a != d and i > s:
            raise RuntimeError(f"{op}(): Size does not match at dimension {a} expected index "
                               f"{list(idx_shape)} to be no larger than self {list(x_shape)} "
                               f"apart from dimension {d}")
    if src_shape is not None:
        if len(src_shape) != len(idx_shape) or any(i > s for i, s in zip(idx_shape, src_shape)):
            raise RuntimeError(f"{op}(): Expected index {list(idx_shape)} to be no larger than "
                               f"src {list(src_shape)} in every dimension")


def _as_1d(input):
    """A 0-d tensor as shape (1,): a copy, not a view, so that the in-place variants
    (``index_add_`` on a 0-d tensor) may rebind ``input`` while recording a graph."""
    if input.ndim != 0:
        return input
    from .join import stack
    return stack([input])


def gather(input, dim, index, *, sparse_grad=False):
    """Values of input along ``dim`` at ``index``: ``out[i][j] = input[index[i][j]][j]`` for dim 0.

    ``index`` has input's number of dimensions and is no larger than input except along ``dim``;
    the result has index's shape. Gradients of repeated indices accumulate.

    Example:
        >>> chainrule.tensor([[1., 2.], [3., 4.]]).gather(1, chainrule.tensor([[1], [0]]))
        tensor([[2.],
                [3.]])
    """
    idx = _index_arg(index, "gather")
    d = wrap_dim(dim, input.ndim, "gather")
    if input.ndim == 0 or index.ndim == 0:
        if max(input.ndim, 1) != max(index.ndim, 1):
            _check_gather_shapes("gather", tuple(input.shape), idx.shape, d)
        out = gather(_as_1d(input), 0, _tensor(idx.reshape(-1)))
        return reshape(out, idx.shape)
    _check_gather_shapes("gather", tuple(input.shape), idx.shape, d)
    _check_range(idx, input.shape[d], "gather", d)
    return GetItem.apply(input, _along(idx, d))


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of input with ``src`` (a tensor, or a number ``value``) written along ``dim`` at
    ``index``: ``out[index[i][j]][j] = src[i][j]`` for dim 0.

    ``reduce='add'`` or ``'multiply'`` combines instead of overwriting (torch's deprecated form;
    'multiply' has no gradient). With repeated indices and no reduce, one of the writes wins.
    """
    from ..tensor import Tensor
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter(): expected a src tensor or a value")
    idx = _index_arg(index, "scatter")
    d = wrap_dim(dim, input.ndim, "scatter")
    is_tensor = isinstance(src, Tensor)
    if is_tensor and src.dtype is not input.dtype:
        raise RuntimeError(f"scatter(): Expected self.dtype to be equal to src.dtype (got "
                           f"{input.dtype} and {src.dtype})")
    if input.ndim == 0 or index.ndim == 0:
        src1 = _as_1d(src) if is_tensor else src
        out = scatter(_as_1d(input), 0, _tensor(idx.reshape(-1)), src1, reduce=reduce)
        return reshape(out, tuple(input.shape))
    _check_gather_shapes("scatter", tuple(input.shape), idx.shape, d,
                         tuple(src.shape) if is_tensor else None)
    _check_range(idx, input.shape[d], "scatter", d)
    if is_tensor and tuple(src.shape) != idx.shape:
        src = src[tuple(slice(0, n) for n in idx.shape)]
    where = _along(idx, d)
    if reduce is None:
        return IndexPut.apply(input, where, src)
    if reduce == "add":
        if not is_tensor:
            src = _tensor(xp_of(idx).full(idx.shape, src, dtype=input.dtype.np))
        return input + IndexAdd.apply(src, tuple(input.shape), where)
    if reduce == "multiply":
        from ..autograd import grad_mode
        if grad_mode.is_grad_enabled() and (input.requires_grad or is_tensor and
                                            src.requires_grad):
            raise RuntimeError("scatter(): the derivative for reduce='multiply' is not "
                               "implemented")
        out = input.data.copy()
        xp_of(out).multiply.at(out, where, src.data if is_tensor else src)
        return _tensor(out)
    raise RuntimeError(f"scatter(): reduce argument must be either add or multiply, got {reduce!r}")


def scatter_add(input, dim, index, src):
    """A copy of input with ``src`` added along ``dim`` at ``index`` (repeated indices add up)."""
    from ..tensor import Tensor
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): src must be a Tensor, got {type(src).__name__}")
    return scatter(input, dim, index, src, reduce="add")


def _vector_index(index, op):
    idx = _index_arg(index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector, got {idx.ndim} dimensions")
    return idx.reshape(-1)


def index_select(input, dim, index):
    """The slices of input along ``dim`` at the positions in the 1-d ``index`` (repeats allowed).

    Example:
        >>> chainrule.arange(6.).reshape(3, 2).index_select(0, chainrule.tensor([2, 0, 2]))
        tensor([[4., 5.],
                [0., 1.],
                [4., 5.]])
    """
    idx = _vector_index(index, "index_select")
    d = wrap_dim(dim, input.ndim, "index_select")
    x = _as_1d(input)
    _check_range(idx, x.shape[d], "index_select", d, error=IndexError)
    out = GetItem.apply(x, (slice(None),) * d + (idx,))
    return reshape(out, ()) if input.ndim == 0 else out


def _check_source(op, input, d, idx, source):
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{op}(): self ({input.dtype}) and source ({source.dtype}) must have "
                           "the same scalar type")
    x_shape, s_shape = tuple(_as_1d(input).shape), tuple(_as_1d(source).shape)
    if len(s_shape) != len(x_shape) or any(a != b for i, (a, b) in
                                           enumerate(zip(s_shape, x_shape)) if i != d):
        raise RuntimeError(f"{op}(): source {list(source.shape)} and self {list(input.shape)} "
                           f"must have the same shape except in dimension {d}")
    if s_shape[d] != idx.size:
        raise RuntimeError(f"{op}(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({s_shape[d]}), for dim: {d}")
    # torch: index_add reports a bad index as RuntimeError, index_copy as IndexError
    _check_range(idx, x_shape[d], op, d, error=RuntimeError if op == "index_add" else IndexError)


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of input with ``alpha * source[..., i, ...]`` added at ``index[i]`` along ``dim``
    (repeated indices add up)."""
    idx = _vector_index(index, "index_add")
    d = wrap_dim(dim, input.ndim, "index_add")
    _check_source("index_add", input, d, idx, source)
    if alpha != 1:
        source = source * alpha
    x = _as_1d(input)
    out = x + IndexAdd.apply(_as_1d(source), tuple(x.shape), (slice(None),) * d + (idx,))
    return reshape(out, ()) if input.ndim == 0 else out


def index_copy(input, dim, index, source):
    """A copy of input with its slices along ``dim`` at ``index`` replaced by source's."""
    idx = _vector_index(index, "index_copy")
    d = wrap_dim(dim, input.ndim, "index_copy")
    _check_source("index_copy", input, d, idx, source)
    x = _as_1d(input)
    out = IndexPut.apply(x, (slice(None),) * d + (idx,), _as_1d(source))
    return reshape(out, ()) if input.ndim == 0 else out


def _scalar_value(value, input, op):
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                               f"with {value.ndim} dimension(s).")
        return cast_to(value, input.dtype)
    if not isinstance(value, (bool, int, float, np.generic)):
        raise TypeError(f"{op}(): value must be a number or a 0-d Tensor, got "
                        f"{type(value).__name__}")
    return _tensor(xp_of(input.data).asarray(value).astype(input.dtype.np))


def index_fill(input, dim, index, value):
    """A copy of input with its slices along ``dim`` at ``index`` set to ``value`` (a number or
    a 0-d tensor, which receives the gradient of every filled element)."""
    idx = _vector_index(index, "index_fill")
    d = wrap_dim(dim, input.ndim, "index_fill")
    x = _as_1d(input)
    _check_range(idx, x.shape[d], "index_fill", d, negative=True, error=IndexError)
    value = _scalar_value(value, input, "index_fill")
    out = IndexPut.apply(x, (slice(None),) * d + (idx,), value)
    return reshape(out, ()) if input.ndim == 0 else out


def _bool_mask(mask, op):
    from ..tensor import Tensor
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}(): mask must be a Tensor, got {type(mask).__name__}")
    if mask.dtype is not _dt.bool:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype}")
    return mask


def masked_fill(input, mask, value):
    """input with the elements where ``mask`` is True replaced by ``value`` (a number or a 0-d
    tensor); ``mask`` broadcasts with input.

    Example:
        >>> x = chainrule.tensor([1., -2., 3.])
        >>> x.masked_fill(x < 0, 0.)
        tensor([1., 0., 3.])
    """
    from . import where
    from .binary import check_broadcast
    mask = _bool_mask(mask, "masked_fill")
    value = _scalar_value(value, input, "masked_fill")
    check_broadcast("masked_fill", mask, input)
    return where(mask, value, input)


def masked_select(input, mask):
    """The elements of input where the (broadcast) boolean ``mask`` is True, as a 1-d tensor."""
    from ._broadcast import broadcast_shapes
    mask = _bool_mask(mask, "masked_select")
    shape = broadcast_shapes(tuple(input.shape), tuple(mask.shape), op="masked_select")
    m = xp_of(mask.data).broadcast_to(mask.data, shape)
    return GetItem.apply(expand(input, shape), (m,))


def masked_scatter(input, mask, source):
    """A copy of input with the positions where ``mask`` is True filled, in row-major order, with
    the first elements of ``source``."""
    mask = _bool_mask(mask, "masked_scatter")
    try:
        m = xp_of(mask.data).broadcast_to(mask.data, tuple(input.shape))
    except ValueError:
        raise RuntimeError(f"masked_scatter: mask of shape {tuple(mask.shape)} cannot be "
                           f"broadcast to the input's shape {tuple(input.shape)}") from None
    count = int(m.sum())
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got "
                           f"{input.dtype} and {source.dtype}")
    if source.numel() < count:
        raise RuntimeError(f"masked_scatter: expected source to have at least {count} elements "
                           f"(the number of True values in mask), got {source.numel()}")
    values = reshape(cast_to(source, input.dtype), (-1,))[:count]
    return IndexPut.apply(input, (m,), values)


def take(input, index):
    """input treated as 1-d, read at ``index`` (negative counts from the end); the result has
    index's shape."""
    idx = _index_arg(index, "take")
    n = input.numel()
    if idx.size and bool(((idx < -n) | (idx >= n)).any()):
        bad = int(idx[(idx < -n) | (idx >= n)].ravel()[0])
        raise IndexError(f"take(): out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    return GetItem.apply(reshape(input, (-1,)), (idx,))


def take_along_dim(input, indices, dim=None):
    """gather along ``dim`` after broadcasting input and indices in every other dimension; with
    ``dim=None`` both are flattened."""
    idx = _index_arg(indices, "take_along_dim")
    if dim is None:
        return gather(reshape(input, (-1,)), 0, _tensor(idx.reshape(-1)))
    d = wrap_dim(dim, input.ndim, "take_along_dim")
    if idx.ndim != input.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input.ndim} dimensions for input, and "
                           f"{idx.ndim} dimensions for indices")
    if input.ndim == 0:
        return gather(input, 0, indices)
    from ._broadcast import broadcast_shapes
    a, b = list(input.shape), list(idx.shape)
    a[d] = b[d] = 1
    common = list(broadcast_shapes(tuple(a), tuple(b), op="take_along_dim"))
    x_shape, i_shape = list(common), list(common)
    x_shape[d], i_shape[d] = input.shape[d], idx.shape[d]
    idx = xp_of(idx).broadcast_to(idx, tuple(i_shape))
    return gather(expand(input, tuple(x_shape)), d, _tensor(idx))


def put(input, index, source, accumulate=False):
    """A copy of input (treated as 1-d) with ``source`` written (or, with ``accumulate``, added)
    at ``index``."""
    idx = _index_arg(index, "put").reshape(-1)
    n = input.numel()
    if source.numel() != idx.size:
        raise RuntimeError(f"put(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.numel()}, "
                           f"index.numel() = {idx.size}")
    if idx.size and bool(((idx < -n) | (idx >= n)).any()):
        bad = int(idx[(idx < -n) | (idx >= n)].ravel()[0])
        raise IndexError(f"put(): out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    flat = reshape(input, (-1,))
    values = reshape(cast_to(source, input.dtype), (-1,))
    if accumulate:
        out = flat + IndexAdd.apply(values, (n,), (idx,))
    else:
        out = IndexPut.apply(flat, (idx,), values)
    return reshape(out, tuple(input.shape))


def nonzero(input, *, as_tuple=False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-d
    tensor per dimension. No gradient."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"nonzero(): argument 'input' must be Tensor, not {type(input).__name__}")
    data = input.data
    xp = xp_of(data)
    if as_tuple:
        if input.ndim == 0:
            data = data.reshape(1)
        return tuple(_tensor(a.astype(np.int64)) for a in xp.nonzero(data))
    return _tensor(xp.argwhere(data).astype(np.int64))


def argwhere(input):
    """Indices of the non-zero elements as an (n, ndim) int64 tensor."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"argwhere(): argument 'input' must be Tensor, not {type(input).__name__}")
    return nonzero(input)


def _inplace(fn, name):
    def method(self, *args, **kwargs):
        return self._inplace_from(fn(self, *args, **kwargs), name)
    method.__name__ = name
    method.__doc__ = f"In-place ``{fn.__name__}``."
    return method


TENSOR_METHODS = {name: globals()[name] for name in __all__}
TENSOR_METHODS["index_put"] = index_put
for _name in ("scatter", "scatter_add", "index_add", "index_copy", "index_fill", "masked_fill",
              "masked_scatter", "put", "index_put"):
    TENSOR_METHODS[_name + "_"] = _inplace(TENSOR_METHODS[_name], _name + "_")
