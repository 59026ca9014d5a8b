"""Shape ops that copy: joining, splitting and reordering.

Primitives: Cat and Split are each other's adjoint (Split with ``squeeze`` is unbind, Stack's
adjoint); Flip is its own. Composites: hstack/vstack/dstack, chunk, tensor_split, roll, repeat,
tile, repeat_interleave. Padding, triangles and diagonals live in ``pad``.
"""
import numpy as np

from . import primitive, Primitive
from ._util import wrap_dim, wrap_dims, cast_to
from .shape import reshape, expand, unsqueeze, narrow, _shape_args, atleast_1d, atleast_2d, \
    atleast_3d
from .. import dtypes as _dt
from .._backend import xp_of

__all__ = ["cat", "concat", "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack",
           "column_stack", "split", "chunk", "tensor_split", "unbind", "flip", "fliplr", "flipud",
           "roll", "tile", "repeat_interleave"]


@primitive
class Cat(Primitive):
    @staticmethod
    def forward(ctx, axis, *xs):
        # torch skips 1-d empty tensors among others (legacy); they get an empty gradient
        ndim = max(x.ndim for x in xs)
        ctx.skipped = tuple(x.shape == (0,) and ndim != 1 for x in xs)
        kept = [x for x, s in zip(xs, ctx.skipped) if not s]
        ctx.axis, ctx.sizes = axis, tuple(x.shape[axis] for x in kept)
        return xp_of(kept[0]).concatenate(kept, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        """d cat(x_1..x_n)/dx_i = the i-th piece of the gradient"""
        pieces = iter(Split.apply(grad_out, ctx.sizes, ctx.axis, False))
        return (None,) + tuple(grad_out.new_zeros((0,)) if s else next(pieces)
                               for s in ctx.skipped)


@primitive
class Stack(Primitive):
    @staticmethod
    def forward(ctx, axis, *xs):
        ctx.axis, ctx.count = axis, len(xs)
        return xp_of(xs[0]).stack(xs, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        """d stack(x_1..x_n)/dx_i = the i-th slice of the gradient"""
        grads = Split.apply(grad_out, (1,) * ctx.count, ctx.axis, True)
        return (None,) + tuple(grads)


@primitive
class Split(Primitive):
    @staticmethod
    def forward(ctx, x, sizes, axis, squeeze):
        ctx.axis, ctx.squeeze = axis, squeeze
        lead = (slice(None),) * axis
        if squeeze:
            return tuple(x[lead + (i,)] for i in range(len(sizes)))
        bounds = np.cumsum((0,) + tuple(sizes))
        return tuple(x[lead + (slice(int(a), int(b)),)] for a, b in zip(bounds[:-1], bounds[1:]))

    @staticmethod
    def backward(ctx, *grads):
        """split's adjoint is cat (stack, for the squeezed pieces of unbind)"""
        prim = Stack if ctx.squeeze else Cat
        return prim.apply(ctx.axis, *grads), None, None, None


@primitive
class Flip(Primitive):
    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return xp_of(x).flip(x, axes).copy()    # torch's flip copies

    @staticmethod
    def backward(ctx, grad_out):
        """flip is its own inverse"""
        return Flip.apply(grad_out, ctx.axes), None


def _tensor_list(tensors, op):
    from ..tensor import Tensor
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be a tuple or list of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected a Tensor at position {i}, got "
                            f"{type(t).__name__}")
    return list(tensors)


def _promoted(tensors):
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = _dt.promote_types(dtype, t.dtype)
    return [cast_to(t, dtype) for t in tensors]


def cat(tensors, dim=0, *, out=None):
    """Concatenate tensors along an existing dimension ``dim``.

    All tensors need the same number of dimensions and equal sizes except in ``dim``; 1-d empty
    tensors (shape ``(0,)``) are skipped, as in torch. Mixed dtypes promote.

    Example:
        >>> chainrule.cat([chainrule.zeros(2, 3), chainrule.ones(1, 3)]).shape
        chainrule.Size([3, 3])
    """
    tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"cat(): zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    ref = next((t for t in tensors if t.shape != (0,)), tensors[0])
    d = wrap_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.shape == (0,) and ref.ndim != 1:
            continue
        if t.ndim != ref.ndim:
            raise RuntimeError(f"cat(): Tensors must have same number of dimensions: got "
                               f"{ref.ndim} and {t.ndim}")
        for a in range(ref.ndim):
            if a != d and t.shape[a] != ref.shape[a]:
                raise RuntimeError(
                    f"cat(): Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ref.shape[a]} but got size {t.shape[a]} for tensor number {i} in the list.")
    return Cat.apply(d, *_promoted(tensors))


concat = concatenate = cat


def stack(tensors, dim=0, *, out=None):
    """Join equally shaped tensors along a new dimension ``dim``.

    Example:
        >>> chainrule.stack([chainrule.zeros(2, 3)] * 4, dim=1).shape
        chainrule.Size([2, 4, 3])
    """
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    d = wrap_dim(dim, tensors[0].ndim + 1, "stack")
    return Stack.apply(d, *_promoted(tensors))


def hstack(tensors):
    """Concatenate column-wise: along dim 0 for 1-d tensors, dim 1 otherwise."""
    tensors = _tensor_list(tensors, "hstack")
    if not tensors:
        raise RuntimeError("hstack expects a non-empty TensorList")
    tensors = [atleast_1d(t) for t in tensors]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    """Concatenate row-wise (dim 0) after making every tensor at least 2-d."""
    tensors = _tensor_list(tensors, "vstack")
    if not tensors:
        raise RuntimeError("vstack expects a non-empty TensorList")
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors):
    """Concatenate depth-wise (dim 2) after making every tensor at least 3-d."""
    tensors = _tensor_list(tensors, "dstack")
    if not tensors:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    """Stack 0-d/1-d tensors as columns (shape (n, 1)) and concatenate along dim 1."""
    tensors = _tensor_list(tensors, "column_stack")
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return cat([reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors], 1)


def _split(input, sizes, d):
    if len(sizes) == 1:   # a single piece: the input itself (as a view)
        return (narrow(input, d, 0, sizes[0]),)
    return tuple(Split.apply(input, tuple(sizes), d, False))


def split(tensor, split_size_or_sections, dim=0):
    """Split into pieces of ``split_size`` (the last may be smaller) or of the listed sizes.

    Example:
        >>> [p.shape[0] for p in chainrule.arange(5).split(2)]
        [2, 2, 1]
    """
    if tensor.ndim == 0:
        raise RuntimeError("split: expected a tensor with at least 1 dimension, got a 0-d tensor")
    d = wrap_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
        if not sizes:
            return ()
        return _split(tensor, sizes, d)
    size = int(split_size_or_sections)
    if size < 0 or (size == 0 and n != 0):
        raise RuntimeError(f"split: split_size can only be 0 if dimension size is 0, and must be "
                           f"non-negative, but got split_size={size} and dimension size {n}")
    if n == 0:
        return (tensor,)
    sizes = [size] * (n // size) + ([n % size] if n % size else [])
    return _split(tensor, sizes, d)


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` pieces of ``ceil(n / chunks)`` (fewer pieces when n is small)."""
    if int(chunks) <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, input.ndim, "chunk")
    n = input.shape[d]
    if n == 0:
        return tuple(narrow(input, d, 0, 0) for _ in range(int(chunks)))
    return split(input, -(-n // int(chunks)), d)


def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``sections`` nearly equal pieces (the first ``n % sections`` one larger), or
    at the given ``indices`` (pieces may be empty)."""
    from ..tensor import Tensor
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input.ndim, "tensor_split")
    n = input.shape[d]
    arg = indices_or_sections
    if isinstance(arg, Tensor):
        if arg.dtype.is_floating_point or arg.dtype is _dt.bool:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {arg.dtype}")
        arg = arg.item() if arg.ndim == 0 else [int(i) for i in arg.tolist()]
    if isinstance(arg, (list, tuple)):
        bounds = [0] + [min(max(int(i) + (n if i < 0 else 0), 0), n) for i in arg] + [n]
        if all(a <= b for a, b in zip(bounds[:-1], bounds[1:])):
            return _split(input, [b - a for a, b in zip(bounds[:-1], bounds[1:])], d)
        return tuple(narrow(input, d, a, max(b - a, 0)) for a, b in zip(bounds[:-1], bounds[1:]))
    sections = int(arg)
    if sections <= 0:
        raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got "
                           f"{sections}")
    small, extra = divmod(n, sections)
    return _split(input, [small + 1] * extra + [small] * (sections - extra), d)


def unbind(input, dim=0):
    """The slices of input along ``dim``, as a tuple (that dimension removed)."""
    if input.ndim == 0:
        raise IndexError("unbind: Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "unbind")
    if input.shape[d] == 0:
        return ()
    return tuple(Split.apply(input, (1,) * input.shape[d], d, True))


def flip(input, dims):
    """A copy of input with the order of elements reversed along ``dims``."""
    axes = wrap_dims(dims, input.ndim, "flip")
    if input.ndim == 0 or not axes:
        from . import clone
        return clone(input)
    return Flip.apply(input, axes)


def fliplr(input):
    """Flip the columns (dim 1) of a tensor with at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError(f"fliplr: Input must be >= 2-d, got {input.ndim}-D (shape "
                           f"{tuple(input.shape)})")
    return flip(input, (1,))


def flipud(input):
    """Flip the rows (dim 0) of a tensor with at least 1 dimension."""
    if input.ndim < 1:
        raise RuntimeError("flipud: Input must be >= 1-d.")
    return flip(input, (0,))


def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` by ``shifts`` (those leaving one end re-enter at the
    other). With ``dims=None`` the tensor is rolled as if flattened.

    Example:
        >>> chainrule.arange(5).roll(2)
        tensor([3, 4, 0, 1, 2])
    """
    from . import clone
    shifts = _int_tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        return reshape(roll(reshape(input, (-1,)), shifts, 0), tuple(input.shape))
    dims = _int_tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    out = input
    for shift, dim in zip(shifts, dims):
        d = wrap_dim(dim, input.ndim, "roll")
        n = input.shape[d] if input.ndim else 1
        if n == 0 or shift % n == 0 or input.ndim == 0:
            continue
        s = shift % n
        out = cat([narrow(out, d, n - s, s), narrow(out, d, 0, n - s)], d)
    return clone(out) if out is input else out


def _int_tuple(x):
    return tuple(int(i) for i in x) if isinstance(x, (list, tuple)) else (int(x),)


def repeat(input, *sizes):
    """Tensor.repeat: tile input ``sizes[i]`` times along each dimension (leading new dims when
    ``sizes`` is longer than input's shape).

    Example:
        >>> chainrule.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    from . import clone
    sizes = tuple(int(s) for s in _shape_args(sizes))
    if len(sizes) < input.ndim:
        raise RuntimeError("repeat: Number of dimensions of repeat dims can not be smaller than "
                           f"number of dimensions of tensor ({len(sizes)} < {input.ndim})")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: Trying to create tensor with negative dimension: {sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    final = tuple(r * s for r, s in zip(sizes, shape))
    if all(r == 1 for r in sizes):
        return clone(reshape(input, final))
    # view as (1, s0, 1, s1, ...), broadcast to (r0, s0, r1, s1, ...), then merge the pairs
    interleaved = reshape(input, tuple(v for s in shape for v in (1, s)))
    expanded = expand(interleaved, tuple(v for r, s in zip(sizes, shape) for v in (r, s)))
    return reshape(expanded, final)


def tile(input, dims):
    """Like ``repeat``, but ``dims`` shorter than input's shape is padded with 1s on the left."""
    dims = _int_tuple(dims)
    dims = (1,) * (input.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element (or each slice along ``dim``) ``repeats`` times, consecutively.

    ``repeats`` is an int or a tensor with one count per slice. Without ``dim`` the input is
    flattened first. ``repeat_interleave(counts)`` returns ``arange(len(counts))`` repeated.

    Example:
        >>> chainrule.tensor([1, 2]).repeat_interleave(chainrule.tensor([1, 3]))
        tensor([1, 2, 2, 2])
    """
    from ..tensor import Tensor
    from . import getitem
    if repeats is None:    # the one-argument form: input holds the counts
        counts = input
        if counts.ndim > 1 or counts.dtype.is_floating_point:
            raise RuntimeError("repeat_interleave: repeats must be a 0-d or 1-d integer tensor")
        xp = xp_of(counts.data)
        counts_arr = counts.data.reshape(-1)
        if (counts_arr < 0).any():
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        return Tensor._make(xp.repeat(xp.arange(counts_arr.size), counts_arr))
    if dim is None:
        input, d = reshape(input, (-1,)), 0
    else:
        d = wrap_dim(dim, input.ndim, "repeat_interleave")
        if input.ndim == 0:
            input = reshape(input, (1,))
    n = input.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.dtype.is_floating_point or repeats.dtype is _dt.bool:
            raise NotImplementedError(f"repeat_interleave: repeats must be an integer tensor, "
                                      f"got {repeats.dtype}")
        if repeats.ndim > 1:
            raise RuntimeError("repeat_interleave: repeats must be 0-dim or 1-dim tensor")
        if repeats.numel() == 1:
            repeats = int(repeats.item())
        elif repeats.numel() != n:
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input "
                               f"along dim, but got repeats.size(0) = {repeats.numel()} and "
                               f"input.size({d}) = {n}")
        else:
            counts = repeats.data
            if (counts < 0).any():
                raise RuntimeError("repeat_interleave: repeats can not be negative")
            xp = xp_of(counts)
            index = xp.repeat(xp.arange(n), counts)
            return getitem(input, (slice(None),) * d + (index,))
    repeats = int(repeats)
    if repeats < 0:
        raise RuntimeError(f"repeat_interleave: Repeats must be non-negative, got {repeats}")
    shape = tuple(input.shape)
    wide = expand(unsqueeze(input, d + 1), shape[:d + 1] + (repeats,) + shape[d + 1:])
    return reshape(wide, shape[:d] + (n * repeats,) + shape[d + 1:])


TENSOR_METHODS = {
    "split": split, "chunk": chunk, "tensor_split": tensor_split, "unbind": unbind, "flip": flip,
    "fliplr": fliplr, "flipud": flipud, "roll": roll, "repeat": repeat, "tile": tile,
    "repeat_interleave": repeat_interleave,
}
