"""Constant padding (negative pads crop), and the triangle/diagonal builders tril, triu, diag,
diag_embed. PadConstant is the primitive: its adjoint is itself with the pads negated."""
from . import primitive, Primitive
from ._util import wrap_dim
from .shape import reshape, movedim, unsqueeze
from .shape import diagonal as _diagonal
from .._backend import xp_of

__all__ = ["pad_constant", "constant_pad_nd", "tril", "triu", "diag", "diag_embed"]


@primitive
class PadConstant(Primitive):
    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(pads, x.shape))
        x = x[crop]
        shape = tuple(s + max(lo, 0) + max(hi, 0) for (lo, hi), s in zip(pads, x.shape))
        out = xp_of(x).full(shape, value, dtype=x.dtype)
        out[tuple(slice(max(lo, 0), max(lo, 0) + s) for (lo, _), s in zip(pads, x.shape))] = x
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """padding's adjoint crops (and cropping's pads with zeros): pad by the negated widths"""
        return PadConstant.apply(grad_out, tuple((-lo, -hi) for lo, hi in ctx.pads), 0), None, None


def _tri(input, diagonal, upper, op):
    from ..tensor import Tensor
    from . import where
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got "
                           f"{input.ndim}-D (shape {tuple(input.shape)})")
    xp = xp_of(input.data)
    rows, cols = input.shape[-2], input.shape[-1]
    keep = xp.tri(rows, cols, int(diagonal) - (1 if upper else 0), dtype=bool)
    if upper:
        keep = ~keep
    zero = Tensor._make(xp.zeros((), dtype=input.dtype.np))
    return where(Tensor._make(keep), input, zero)


def tril(input, diagonal=0):
    """The lower triangle of the matrices in the last two dims (others set to 0): elements with
    ``col - row <= diagonal``."""
    return _tri(input, diagonal, False, "tril")


def triu(input, diagonal=0):
    """The upper triangle of the matrices in the last two dims (others set to 0): elements with
    ``col - row >= diagonal``."""
    return _tri(input, diagonal, True, "triu")


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices with the last dimension of input on their ``offset`` diagonal (zeros elsewhere);
    the matrix dimensions are ``dim1`` and ``dim2`` of the result.

    Shape: (..., n) -> (..., n + |offset|, n + |offset|) with the two last dims moved to dim1/dim2.
    """
    if input.ndim == 0:
        raise IndexError("diag_embed: expected a tensor with at least 1 dimension, got a 0-d "
                         "tensor (Dimension out of range)")     # torch: IndexError
    nd = input.ndim + 1
    d1, d2 = wrap_dim(dim1, nd, "diag_embed"), wrap_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diag_embed: diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1]
    lead = tuple(input.shape[:-1])
    # each value followed by n zeros, read back as (n, n), puts value i at (i, i)
    padded = pad_constant(unsqueeze(input, -1), (0, n))
    flat = reshape(padded, lead + (n * (n + 1),))
    square = reshape(pad_constant(flat, (0, -n)), lead + (n, n))
    k = int(offset)
    if k:
        square = pad_constant(square, (k, 0, 0, k) if k > 0 else (0, -k, -k, 0))
    return movedim(square, (-2, -1), (d1, d2))


def diag(input, diagonal=0):
    """A 1-d input becomes a square matrix with it on the ``diagonal``-th diagonal; a 2-d input
    gives that diagonal as a 1-d tensor (a copy)."""
    from . import clone
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return clone(_diagonal(input, diagonal))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")



def pad_constant(input, pad, value=0):
    """Pad with the constant ``value``; negative pads crop.

    Args:
        input (Tensor): any number of dimensions.
        pad (sequence of int): ``(left, right)`` widths for the last dimension, then for the one
            before it, and so on (torch's order): ``2 * k`` values pad the last ``k`` dims.
        value (number): the fill value.

    Example:
        >>> chainrule.pad_constant(chainrule.ones(2, 2), (1, 0, -1, 1)).shape
        chainrule.Size([2, 3])
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad_constant: Length of pad must be even but instead it equals "
                           f"{len(pad)}")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad_constant: Length of pad should be no more than twice the number "
                           f"of dimensions of the input. Pad length is {len(pad)} while the input "
                           f"has {input.ndim} dimensions.")
    pads = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        pads[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for d, ((lo, hi), s) in enumerate(zip(pads, input.shape)):
        if s + lo + hi < 0:
            raise RuntimeError(f"pad_constant: The input size {s}, plus negative padding {lo} and "
                               f"{hi} resulted in a negative output size, which is invalid. "
                               f"Check dimension {d} of your input.")
    return PadConstant.apply(input, tuple(pads), value)


def constant_pad_nd(input, pad, value=0):
    """torch.constant_pad_nd: see ``pad_constant``."""
    return pad_constant(input, pad, value)


TENSOR_METHODS = {
    "tril": tril, "triu": triu, "diag": diag, "diag_embed": diag_embed,
    "tril_": lambda self, diagonal=0: self._inplace_from(tril(self, diagonal), "tril_"),
    "triu_": lambda self, diagonal=0: self._inplace_from(triu(self, diagonal), "triu_"),
}
