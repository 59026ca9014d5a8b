"""Shape ops that move no data: views. Primitives Reshape, Permute, Expand and Squeeze (each
backward is the inverse rearrangement); composites flatten, unflatten, movedim, narrow, select,
diagonal, unfold, t, broadcast_tensors, ... Ops that copy (cat, stack, split, pad, flip, repeat,
roll, tril/triu) live in ``join``."""
import numpy as np

from . import primitive, Primitive
from ._util import wrap_dim
from .._backend import xp_of

__all__ = ["reshape", "view", "permute", "transpose", "swapaxes", "swapdims", "expand",
           "expand_as", "broadcast_to"]


def _infer_shape(shape, numel, op, in_shape):
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s} in {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel} "
                           f"(input shape {tuple(in_shape)})")
    return shape


@primitive
class Reshape(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            return x.reshape(shape, copy=False)
        except ValueError:   # needs a copy: make one without a .base, so it is not taken for a view
            out = xp_of(x).empty(shape, dtype=x.dtype)
            out.reshape(x.shape)[...] = x
            return out
        except TypeError:    # array modules without reshape(copy=...)
            return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        """reshape back to the input's shape"""
        return reshape(grad_out, ctx.in_shape), None


@primitive
class Permute(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad_out):
        """permute by the inverse permutation"""
        return permute(grad_out, tuple(np.argsort(ctx.dims))), None


@primitive
class Expand(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return xp_of(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_out):
        """sum over the broadcast axes"""
        from ._broadcast import sum_to_shape
        return sum_to_shape(grad_out, ctx.in_shape), None


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _check_tensor(x, op):
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def reshape(input, *shape):
    """input with a new shape of the same number of elements (-1 infers one dimension)."""
    _check_tensor(input, "reshape")
    shape = _infer_shape(_shape_args(shape), input.numel(), "reshape", input.shape)
    if shape == input.shape:
        return input
    return Reshape.apply(input, shape)


def view(input, *shape):
    """Like reshape; chainrule copies when the memory layout requires it."""
    from .. import dtypes
    shape = _shape_args(shape)
    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise RuntimeError("view(dtype) is not supported; use .to(dtype)")
    shape = _infer_shape(shape, input.numel(), "view", input.shape)
    return Reshape.apply(input, shape)


def permute(input, *dims):
    """input with its dimensions reordered."""
    dims = _shape_args(dims)
    if len(dims) != input.ndim:
        raise RuntimeError(f"permute: number of dims don't match: the input has {input.ndim} "
                           f"dimensions but {len(dims)} were given ({tuple(dims)})")
    dims = tuple(wrap_dim(d, input.ndim, "permute") for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"permute: repeated dim in {dims}")
    return Permute.apply(input, dims)


def transpose(input, dim0, dim1):
    """Swap two dimensions."""
    n = input.ndim
    if n == 0:
        wrap_dim(dim0, 0, "transpose"), wrap_dim(dim1, 0, "transpose")
        return input
    d0, d1 = wrap_dim(dim0, n, "transpose"), wrap_dim(dim1, n, "transpose")
    if d0 == d1:
        return input
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(input, tuple(dims))


swapaxes = swapdims = transpose


def expand(input, *sizes):
    """A broadcast view of input with ``sizes`` (-1 keeps a dimension)."""
    sizes = _shape_args(sizes)
    if len(sizes) < input.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({input.ndim})")
    lead = len(sizes) - input.ndim
    shape = []
    for i, s in enumerate(sizes):
        cur = input.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError(f"expand: -1 not allowed in a new leading dimension ({sizes})")
            s = cur
        elif cur is not None and cur != 1 and cur != s:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the "
                               f"existing size ({cur}) at non-singleton dimension {i}. Target "
                               f"sizes: {list(sizes)}. Tensor sizes: {list(input.shape)}")
        shape.append(int(s))
    shape = tuple(shape)
    if shape == input.shape:
        return input
    return Expand.apply(input, shape)


def expand_as(input, other):
    return expand(input, tuple(other.shape))


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


TENSOR_METHODS = {"reshape": reshape, "view": view, "permute": permute, "transpose": transpose,
                  "swapaxes": transpose, "swapdims": transpose, "expand": expand,
                  "expand_as": expand_as, "broadcast_to": broadcast_to}


@primitive
class Squeeze(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, x, axes):
        ctx.in_shape = x.shape
        return x.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, grad_out):
        """reshape back to the input's shape"""
        return reshape(grad_out, ctx.in_shape), None


def squeeze(input, dim=None):
    """Remove dimensions of size 1 (all of them, or those in ``dim``)."""
    if dim is None:
        axes = tuple(i for i, s in enumerate(input.shape) if s == 1)
    else:
        from ._util import wrap_dims
        axes = tuple(i for i in wrap_dims(dim, input.ndim, "squeeze") if input.shape[i] == 1)
    if not axes:
        return input
    return Squeeze.apply(input, axes)


def unsqueeze(input, dim):
    """Insert a dimension of size 1 at ``dim``."""
    d = wrap_dim(dim, input.ndim + 1, "unsqueeze")
    shape = tuple(input.shape)
    return Reshape.apply(input, shape[:d] + (1,) + shape[d:])


__all__ += ["squeeze", "unsqueeze"]
TENSOR_METHODS.update({"squeeze": squeeze, "unsqueeze": unsqueeze})


def _dims_arg(dims, op):
    if isinstance(dims, (int, np.integer)):
        return (int(dims),)
    if isinstance(dims, (tuple, list)):
        return tuple(dims)
    raise TypeError(f"{op}: expected an int or a sequence of ints, got {type(dims).__name__}")


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim`` .. ``end_dim`` (inclusive) into one.

    Example:
        >>> chainrule.zeros(2, 3, 4).flatten(1).shape
        chainrule.Size([2, 12])
    """
    if input.ndim == 0:
        wrap_dim(start_dim, 0, "flatten"), wrap_dim(end_dim, 0, "flatten")
        return reshape(input, (1,))
    start = wrap_dim(start_dim, input.ndim, "flatten")
    end = wrap_dim(end_dim, input.ndim, "flatten")
    if start > end:
        raise RuntimeError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                           f"({end_dim})")
    shape = tuple(input.shape)
    merged = int(np.prod(shape[start:end + 1], dtype=np.int64))
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


def unflatten(input, dim, sizes):
    """Split dimension ``dim`` into ``sizes`` (one entry may be -1).

    Example:
        >>> chainrule.zeros(2, 12).unflatten(1, (3, -1)).shape
        chainrule.Size([2, 3, 4])
    """
    if input.ndim == 0:
        raise RuntimeError("unflatten: expected a tensor with at least 1 dimension, got a 0-d "
                           "tensor")
    d = wrap_dim(dim, input.ndim, "unflatten")
    sizes = tuple(int(s) for s in _dims_arg(sizes, "unflatten"))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    size = input.shape[d]
    try:
        sizes = _infer_shape(sizes, size, "unflatten", (size,))
    except RuntimeError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({size}) in the input tensor") from None
    shape = tuple(input.shape)
    return reshape(input, shape[:d] + sizes + shape[d + 1:])


def ravel(input):
    """The elements of input as a 1-D tensor (row-major order)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"ravel(): argument 'input' must be Tensor, not {type(input).__name__}")
    return reshape(input, (-1,))


def t(input):
    """Transpose a tensor of at most 2 dimensions (0-d and 1-d come back as they are)."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input.ndim}D")
    return transpose(input, 0, 1) if input.ndim == 2 else input


def movedim(input, source, destination):
    """Move dimension(s) ``source`` to position(s) ``destination``; the others keep their order.

    Example:
        >>> chainrule.zeros(2, 3, 4).movedim(0, -1).shape
        chainrule.Size([3, 4, 2])
    """
    src = _dims_arg(source, "movedim")
    dst = _dims_arg(destination, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)}) "
                           f"and destination ({list(dst)}) must have the same number of elements")
    n = input.ndim
    src = [wrap_dim(d, n, "movedim") for d in src]
    dst = [wrap_dim(d, n, "movedim") for d in dst]
    for name, dims, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(_dims_arg(given, ''))})")
    if n == 0:
        return input
    order = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(n) if d not in src)
    order = tuple(o if o is not None else next(rest) for o in order)
    if order == tuple(range(n)):
        return input
    return Permute.apply(input, order)


moveaxis = movedim


def narrow(input, dim, start, length):
    """The view ``input[..., start:start + length, ...]`` along ``dim`` (start may be negative)."""
    from . import getitem
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim, "narrow")
    size = input.shape[d]
    start, length = int(start), int(length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start ({start}) out of range for dimension {d} of size {size} "
                         f"(expected to be in range of [{-size}, {size}])")
    start %= size if size else 1
    if length < 0:
        raise RuntimeError(f"narrow: length must be non-negative, got {length}")
    if start + length > size:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))


def select(input, dim, index):
    """``input`` indexed by the integer ``index`` along ``dim`` (that dimension is removed)."""
    from . import getitem
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim, "select")
    size = input.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    return getitem(input, (slice(None),) * d + (index,))


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal of the matrices over ``dim1`` x ``dim2``, appended as the last dimension.

    ``offset`` > 0 selects a diagonal above the main one, < 0 below it.

    Example:
        >>> chainrule.arange(9.).reshape(3, 3).diagonal(1)
        tensor([1., 5.])
    """
    from . import getitem
    n = input.ndim
    d1, d2 = wrap_dim(dim1, n, "diagonal"), wrap_dim(dim2, n, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = movedim(input, (d1, d2), (-2, -1))
    rows, cols = x.shape[-2], x.shape[-1]
    offset = int(offset)
    if offset >= 0:
        start, length = offset, max(0, min(rows, cols - offset))
    else:
        start, length = -offset * cols, max(0, min(rows + offset, cols))
    # the diagonal of a row-major (rows, cols) block is every (cols + 1)-th element from start
    flat = reshape(x, tuple(x.shape[:-2]) + (rows * cols,))
    stop = start + (length - 1) * (cols + 1) + 1 if length else start
    return getitem(flat, (Ellipsis, slice(start, stop, cols + 1)))


def unfold(input, dimension, size, step):
    """Sliding windows of ``size`` elements, ``step`` apart, along ``dimension`` (Tensor.unfold).

    Shape: ``dimension`` becomes the number of windows ``(n - size) // step + 1`` and a new last
    dimension of length ``size`` is appended. The result is a view of ``input`` (overlapping
    windows, ``step < size``, are read-only: an in-place change of them raises).
    """
    if input.ndim == 0:
        wrap_dim(dimension, 0, "unfold")
        if size > 1 or size < 0:
            raise RuntimeError(f"unfold: maximum size for tensor at dimension 0 is 1 but size is "
                               f"{size}")
        if step <= 0:
            raise RuntimeError(f"unfold: step is {step} but must be > 0")
        return reshape(input, (1,))[:size]
    d = wrap_dim(dimension, input.ndim, "unfold")
    n = input.shape[d]
    if size < 0 or size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size "
                           f"is {size}")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    return Unfold.apply(input, d, int(size), int(step))


class Unfold(Primitive):
    """Sliding windows as a view (strided, no copy), as torch's unfold. Reached through the
    ``unfold`` entries of the op table; not registered apart from them."""
    is_view = True

    @staticmethod
    def forward(ctx, x, d, size, step):
        ctx.in_shape, ctx.args = x.shape, (d, size, step)
        count = (x.shape[d] - size) // step + 1
        shape = x.shape[:d] + (count,) + x.shape[d + 1:] + (size,)
        strides = x.strides[:d] + (x.strides[d] * step,) + x.strides[d + 1:] + (x.strides[d],)
        overlapping = step < size and count > 1     # windows share elements: read-only
        return xp_of(x).lib.stride_tricks.as_strided(x, shape, strides,
                                                     writeable=not overlapping)

    @staticmethod
    def backward(ctx, grad_out):
        """every window element's gradient adds up at the input position it reads"""
        from .index import IndexAdd
        d, size, step = ctx.args
        count = grad_out.shape[d]
        xp = xp_of(grad_out.data)
        idx = xp.arange(count)[:, None] * step + xp.arange(size)[None, :]
        windows = movedim(grad_out, -1, d + 1)
        return IndexAdd.apply(windows, tuple(ctx.in_shape), (slice(None),) * d + (idx,)), \
            None, None, None


def broadcast_shapes(*shapes):
    """The shape that ``shapes`` broadcast to (RuntimeError if they don't)."""
    from ._broadcast import broadcast_shapes as _bs
    from ..tensor import Size
    shapes = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    return Size(_bs(*shapes, op="broadcast_shapes"))


def broadcast_tensors(*tensors):
    """The tensors expanded to their common broadcast shape (views)."""
    from ._broadcast import broadcast_shapes as _bs
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _bs(*(tuple(t.shape) for t in tensors), op="broadcast_tensors")
    return tuple(expand(t, shape) for t in tensors)


def _atleast(n, tensors, op):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_atleast(n, tuple(tensors[0]), op))
    out = []
    for x in tensors:
        _check_tensor(x, op)
        shape = tuple(x.shape)
        if x.ndim < n:
            shape = {1: lambda s: (1,), 2: lambda s: (1,) * (2 - len(s)) + s,
                     3: lambda s: ((1, 1, 1) if not s else (1,) + s + (1,) if len(s) == 1
                                   else s + (1,))}[n](shape)
            x = reshape(x, shape)
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


def atleast_1d(*tensors):
    """Tensors with fewer than 1 dimension become shape (1,)."""
    return _atleast(1, tensors, "atleast_1d")


def atleast_2d(*tensors):
    """0-d -> (1, 1); (n,) -> (1, n)."""
    return _atleast(2, tensors, "atleast_2d")


def atleast_3d(*tensors):
    """0-d -> (1, 1, 1); (n,) -> (1, n, 1); (m, n) -> (m, n, 1)."""
    return _atleast(3, tensors, "atleast_3d")


__all__ += ["flatten", "unflatten", "ravel", "t", "movedim", "moveaxis", "narrow", "select",
            "diagonal", "broadcast_shapes", "broadcast_tensors", "atleast_1d", "atleast_2d",
            "atleast_3d"]
TENSOR_METHODS.update({
    "flatten": flatten, "unflatten": unflatten, "ravel": ravel, "t": t, "movedim": movedim,
    "moveaxis": movedim, "narrow": narrow, "select": select, "diagonal": diagonal,
    "unfold": unfold})
