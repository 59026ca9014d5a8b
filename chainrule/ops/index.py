"""Indexing. GetItem (basic and advanced) and its adjoint IndexAdd (scatter-add, which makes
repeated indices accumulate) form a differentiable pair; IndexPut backs ``x[idx] = v``."""
import numpy as np

from . import primitive, Primitive
from ._broadcast import sum_to_shape
from .._backend import xp_of, is_array

__all__ = ["getitem", "index_put", "raw_index", "unbind"]


def raw_index(index):
    """Turn an index that may hold Tensors or lists into one NumPy understands."""
    from ..tensor import Tensor
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            if item.dtype.is_floating_point:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors, "
                                 f"got {item.dtype}")
            arr = item.data
            if arr.dtype == np.uint8:
                arr = arr.astype(bool)
            out.append(arr)
        elif isinstance(item, list):
            arr = np.asarray(item)
            if arr.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(arr)
        elif isinstance(item, (bool, np.bool_)):
            out.append(item)
        elif item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) or \
                is_array(item):
            out.append(item)
        else:
            raise IndexError(f"getitem: only integers, slices (`:`), ellipsis (`...`), None and "
                             f"long or bool tensors are valid indices (got {type(item).__name__})")
    return tuple(out)


def _is_basic(index):
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice))
               and not isinstance(i, (bool, np.bool_)) for i in index)


@primitive
class GetItem(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, x, index):
        ctx.in_shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, grad_out):
        """d x[i] / dx scatters the gradient back (repeated indices add up)"""
        return IndexAdd.apply(grad_out, ctx.in_shape, ctx.index), None


@primitive
class IndexAdd(Primitive):
    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        xp = xp_of(grad)
        out = xp.zeros(shape, dtype=grad.dtype)
        if _is_basic(index):
            out[index] = grad
        else:
            xp.add.at(out, index, grad)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """adjoint of scatter-add is gather"""
        return GetItem.apply(grad_out, ctx.index), None, None


def getitem(input, index):
    """input[index] with numpy/torch semantics: slices, steps, ellipsis, None, integer and
    boolean tensors. Gradients of repeated integer indices accumulate."""
    idx = raw_index(index)
    try:
        return GetItem.apply(input, idx if len(idx) != 1 else idx)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {tuple(input.shape)})") from None


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
            grad_v = sum_to_shape(GetItem.apply(grad_out, ctx.index), ctx.value_shape)
        return grad_x, None, grad_v


def index_put(input, index, value):
    """A copy of input with ``input[index] = value`` (differentiable in both)."""
    from ._util import cast_to
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        value = cast_to(value, input.dtype)
    try:
        return IndexPut.apply(input, raw_index(index), value)
    except IndexError as e:
        raise IndexError(f"setitem: {e} (tensor shape {tuple(input.shape)})") from None
    except ValueError as e:
        raise RuntimeError(f"setitem: {e}") from None


def unbind(input, dim=0):
    """The slices of input along ``dim``, as a tuple."""
    from ._util import wrap_dim
    d = wrap_dim(dim, input.ndim, "unbind")
    return tuple(getitem(input, (slice(None),) * d + (i,)) for i in range(input.shape[d]))


TENSOR_METHODS = {"unbind": unbind}
