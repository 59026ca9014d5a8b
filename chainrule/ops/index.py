"""Indexing primitives. GetItem (basic and advanced) and its adjoint IndexAdd (scatter-add: repeated
indices accumulate) form a differentiable pair; IndexPut backs ``x[idx] = v``. gather, scatter,
index_select and the rest are composites of these three (see ``index_ops``)."""
import numpy as np

from . import primitive, Primitive
from ._broadcast import sum_to_shape
from .._backend import xp_of, is_array

__all__ = ["getitem", "index_put", "raw_index", "setitem_data"]


def raw_index(index):
    """Turn an index that may hold Tensors or lists into one NumPy understands (torch's rules)."""
    from ..tensor import Tensor
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = np.asarray(item)
            if item.dtype == object:
                raise IndexError("getitem: a list used as an index must hold only ints or bools")
        if is_array(item):
            if item.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors, "
                                 f"got {item.dtype}")
            if item.dtype == np.uint8:
                item = item.astype(bool)
            out.append(item)
        elif isinstance(item, slice):
            if item.step is not None and int(item.step) <= 0:
                raise ValueError("step must be greater than zero")
            out.append(item)
        elif item is None or item is Ellipsis or isinstance(item, (int, np.integer, bool,
                                                                   np.bool_)):
            out.append(item)
        else:
            raise IndexError(f"getitem: only integers, slices (`:`), ellipsis (`...`), None and "
                             f"long or bool tensors are valid indices (got {type(item).__name__})")
    return tuple(out)


def _int_arrays(index):
    return [i for i in index if is_array(i) and i.dtype.kind in "iu"]


def _advanced_block(index, ndim):
    """``(axis, arrays)`` when ``index`` is full slices around a run of adjacent integer arrays
    (``x[idx]``, ``x[:, idx]``, ``x[..., i, j]``), else None."""
    if any(i is None for i in index) or sum(i is Ellipsis for i in index) > 1:
        return None
    k = next((k for k, i in enumerate(index) if i is Ellipsis), None)
    if k is not None:
        index = index[:k] + (slice(None),) * (ndim - len(index) + 1) + index[k + 1:]
    axis, arrays = None, []
    for pos, item in enumerate(index):
        if is_array(item) and item.dtype.kind in "iu":
            if axis is None:
                axis = pos
            elif pos != axis + len(arrays):
                return None
            arrays.append(item)
        elif not (isinstance(item, slice) and item == slice(None)):
            return None
    return None if axis is None else (axis, arrays)


def _owning(out, x):
    """A result that is a copy gets no ``.base``: the engine reads a base as "view of the input",
    and NumPy returns some fancy-indexing copies as views of a temporary."""
    if getattr(out, "base", None) is not None and not xp_of(out).may_share_memory(out, x):
        return out.copy()
    return out


@primitive
class GetItem(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, index
        block = _advanced_block(index, x.ndim) if _int_arrays(index) else None
        if block is not None and len(block[1]) == 1:
            return xp_of(x).take(x, block[1][0], axis=block[0])
        return _owning(x[index], x)

    @staticmethod
    def backward(ctx, grad_out):
        """d x[i] / dx scatters the gradient back (repeated indices add up)"""
        return IndexAdd.apply(grad_out, ctx.in_shape, ctx.index), None


@primitive
class IndexAdd(Primitive):
    """zeros(shape) with ``grad`` added at ``index``; the indices must be in range."""

    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        return scatter_add_array(grad, shape, index)

    @staticmethod
    def backward(ctx, grad_out):
        """adjoint of scatter-add is gather"""
        return GetItem.apply(grad_out, ctx.index), None, None


def scatter_add_array(values, shape, index):
    """An array of ``shape``: zeros with ``values`` (shaped like ``zeros[index]``) added at index.

    Exact and faster than ``np.add.at``: the sums run in ``bincount`` (float64) or, for a small
    number of rows, in a one-hot matmul.
    """
    xp = xp_of(values)
    ints = _int_arrays(index)
    if not ints or max(i.size for i in ints) <= 1:    # no index can repeat: plain assignment
        out = xp.zeros(shape, dtype=values.dtype)
        out[index] = values
        return out
    if values.dtype.kind != "f":                       # integer index_add: no gradient, rare
        out = xp.zeros(shape, dtype=values.dtype)
        xp.add.at(out, index, values)
        return out
    block = _advanced_block(index, len(shape))
    if block is not None:
        axis, arrays = block
        span = len(arrays)
        size = int(np.prod(shape[axis:axis + span], dtype=np.int64))
        if span == 1:
            idx = arrays[0].ravel()
            idx = xp.where(idx < 0, idx + size, idx)
        else:   # adjacent index arrays address one flattened axis
            idx = xp.ravel_multi_index(xp.broadcast_arrays(*arrays), shape[axis:axis + span],
                                       mode="wrap").ravel()
        pre = int(np.prod(shape[:axis], dtype=np.int64))
        post = int(np.prod(shape[axis + span:], dtype=np.int64))
        rows = values.reshape(pre, idx.size, post)
        if pre == 1:
            return _add_rows(idx, rows.reshape(idx.size, post), size).reshape(shape)
        rows = rows.transpose(1, 0, 2).reshape(idx.size, pre * post)
        out = _add_rows(idx, rows, size).reshape(size, pre, post).transpose(1, 0, 2)
        return xp.ascontiguousarray(out).reshape(shape)
    numel = int(np.prod(shape, dtype=np.int64))   # general case: flat position of every element
    flat = xp.arange(numel).reshape(shape)[index]
    out = xp.bincount(flat.ravel(), values.ravel(), minlength=numel)
    return out.astype(values.dtype, copy=False).reshape(shape)


def _add_rows(idx, rows, size):
    """(size, K) zeros with row ``rows[m]`` added at row ``idx[m]`` (idx non-negative, in range).

    Measured on embedding-like shapes (vs np.add.at: 2-10x faster): a one-hot matmul wins for at
    most 32 output rows of 16+ columns (beyond that it is BLAS-bound and erratic on a busy
    machine); otherwise bincount over (row, column) pairs, first compacting the rows to the
    distinct indices when the output is much taller than the input (no huge float64 temporary)."""
    xp = xp_of(rows)
    m, k = rows.shape
    if m == 0 or k == 0:
        return xp.zeros((size, k), dtype=rows.dtype)
    if rows.dtype in (np.float32, np.float64) and size <= 32 and k >= 16:
        if bool(xp.isfinite(rows).all()):     # 0 * inf would spread NaN to other rows
            onehot = (xp.arange(size)[:, None] == idx[None, :]).astype(rows.dtype)
            return onehot @ rows
    if size > 2 * m:
        uniq, inverse = xp.unique(idx, return_inverse=True)
        out = xp.zeros((size, k), dtype=rows.dtype)
        out[uniq] = _bincount_rows(inverse.ravel(), rows, uniq.size)
        return out
    return _bincount_rows(idx, rows, size)


def _bincount_rows(idx, rows, size):
    xp = xp_of(rows)
    k = rows.shape[1]
    flat = idx if k == 1 else (idx[:, None] * k + xp.arange(k)).ravel()
    out = xp.bincount(flat, rows.ravel(), minlength=size * k)
    return out.astype(rows.dtype, copy=False).reshape(size, k)


def _wrap_error(op, e, shape):
    msg = str(e).replace("for axis", "for dimension").replace("array", "tensor")
    return IndexError(f"{op}: {msg} (tensor shape {tuple(shape)})")


def getitem(input, index):
    """input[index] with torch's semantics: ints, slices (positive steps), ellipsis, None, integer
    and boolean tensors or lists. Gradients of repeated integer indices accumulate.

    Raises IndexError for out-of-range indices (naming the dimension and its size) and for
    float index tensors; ValueError for a non-positive slice step."""
    idx = raw_index(index)
    if input.ndim == 0 and any(isinstance(i, (int, np.integer)) and not isinstance(
            i, (bool, np.bool_)) for i in idx):
        raise IndexError("getitem: invalid index of a 0-dim tensor. Use `tensor.item()` to "
                         "convert a 0-dim tensor to a number")
    try:
        return GetItem.apply(input, idx)
    except IndexError as e:
        raise _wrap_error("getitem", e, input.shape) from None


def setitem_data(array, index, value):
    """``array[index] = value`` in place (no graph), with torch's index rules and errors."""
    idx = raw_index(index)
    try:
        array[idx] = value
    except IndexError as e:
        raise _wrap_error("setitem", e, array.shape) from None
    except ValueError as e:
        raise RuntimeError(f"setitem: {e}") from None


@primitive
class IndexPut(Primitive):
    @staticmethod
    def forward(ctx, x, index, value):
        ctx.index = index
        ctx.value_shape = getattr(value, "shape", ())
        out = x.copy()
        out[index] = value
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """x's gradient passes except where overwritten; value's is the gradient there"""
        grad_x = grad_v = None
        if ctx.needs_input_grad[0]:
            grad_x = IndexPut.apply(grad_out, ctx.index, 0.0)
        if ctx.needs_input_grad[2]:
            grad_v = _unbroadcast(GetItem.apply(grad_out, ctx.index), ctx.value_shape)
        return grad_x, None, grad_v


def _unbroadcast(grad, shape):
    """sum_to_shape that also allows ``shape`` to carry leading 1s NumPy drops on assignment."""
    from . import reshape
    shape = tuple(shape)
    core = shape
    while len(core) > grad.ndim and core[0] == 1:
        core = core[1:]
    grad = sum_to_shape(grad, core)
    return reshape(grad, shape) if core != shape else grad


def _indexed_shape(shape, index):
    """The shape of ``x[index]`` for an ``x`` of ``shape`` (without touching x's data)."""
    return np.broadcast_to(np.zeros((), dtype=bool), shape)[index].shape


def index_put(input, indices, values, accumulate=False):
    """A copy of input with ``input[indices] = values`` (or ``+=`` with ``accumulate``, where
    repeated indices add up). Differentiable in input and values.

    Args:
        input (Tensor): the tensor to copy.
        indices: a tuple of index tensors (torch), or any index ``__getitem__`` accepts.
        values (Tensor or number): broadcast to the shape of ``input[indices]``.
        accumulate (bool): add instead of overwrite.
    """
    from ._util import cast_to
    from ..tensor import Tensor
    if isinstance(values, Tensor):
        values = cast_to(values, input.dtype)
    idx = raw_index(indices)
    try:
        if accumulate:
            from . import expand
            target = _indexed_shape(input.shape, idx)
            if not isinstance(values, Tensor):
                values = Tensor._make(np.asarray(values, dtype=input.dtype.np))
            values = expand(values, target)
            return input + IndexAdd.apply(values, tuple(input.shape), idx)
        return IndexPut.apply(input, idx, values)
    except IndexError as e:
        raise _wrap_error("index_put", e, input.shape) from None
    except ValueError as e:
        raise RuntimeError(f"index_put: {e}") from None


class CopySlices(Primitive):
    """``base`` with its view ``chain`` (see ``autograd.function._mark_view``) overwritten by
    ``src``: how a recorded in-place op on a view changes the view's base. Not in the op table:
    only in-place ops on views reach it (tested in tests/test_inplace_views.py)."""
    node_name = "CopySlices"

    @staticmethod
    def forward(ctx, base, src, chain, op):
        ctx.chain = chain
        out = base.copy(order="K")      # the same layout, so the chain still makes views of it
        _view_region(out, chain, op)[...] = src
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """base's gradient passes except in the view; src's is the gradient's view"""
        from ..autograd.function import replay_view
        grad_base = grad_src = None
        if ctx.needs_input_grad[0]:
            grad_base = CopySlices.apply(grad_out, 0.0, ctx.chain, "CopySlices backward")
        if ctx.needs_input_grad[1]:
            grad_src = replay_view(grad_out, ctx.chain)
        return grad_base, grad_src, None, None


def _view_region(array, chain, op):
    """The part of ``array`` that the view ops of ``chain`` select, as a writable view of it."""
    from ..autograd import grad_mode
    from ..autograd.function import replay_view
    from ..tensor import Tensor
    with grad_mode.no_grad():
        region = replay_view(Tensor._make(array), chain).data
    xp = xp_of(array)
    if not xp.may_share_memory(region, array):
        raise RuntimeError(f"{op}: in-place change of a view, while recording a graph: the view "
                           "can no longer be remade as a view of its base; use .clone() on the "
                           "view (or its base) before changing it in place")
    if not region.flags.writeable:
        raise RuntimeError(f"{op}: unsupported operation: more than one element of the written-to "
                           "tensor refers to a single memory location (an expanded view); use "
                           ".clone() before changing it in place")
    return region


def copy_slices(base, src, chain, op="copy_slices"):
    """A copy of ``base`` whose view ``chain`` holds ``src`` (of the view's shape), recorded."""
    return CopySlices.apply(base, src, chain, op)


TENSOR_METHODS = {}
