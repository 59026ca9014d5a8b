"""Shape ops. Each backward is the inverse rearrangement of its forward."""
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


def reshape(input, *shape):
    """input with a new shape of the same number of elements (-1 infers one dimension)."""
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
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        axes = tuple(i for i in (wrap_dim(d, input.ndim, "squeeze") for d in dims)
                     if input.ndim and input.shape[i] == 1)
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
