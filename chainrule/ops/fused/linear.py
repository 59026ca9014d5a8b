"""The affine map y = x W^T + b in one node (the layer every network is built from).

Composite reference (``linear_reference`` below; the tests check both, values and gradients):
    reshape(matmul(reshape(x, (-1, in)), transpose(W)), (*, out)) + b
The composite records three to five nodes (transpose, reshapes, matmul, add) and its backward
sums the bias gradient in a separate node; this records one, whose first-order backward is two
GEMMs and one column sum on the arrays.
"""
import math

from .. import primitive, Primitive, _parallel
from ...autograd.grad_mode import is_grad_enabled

__all__ = []


def _rows(shape):
    """The rows of the (rows, in) matrix view of an input of ``shape`` (explicit, not -1, so that
    zero-size inputs reshape too)."""
    return math.prod(shape[:-1])


@primitive
class Linear(Primitive):
    """Inputs x (*, in), W (out, in), b (out,) or None; output (*, out)."""

    @staticmethod
    def forward(ctx, x, w, b):
        x2 = x.reshape(_rows(x.shape), x.shape[-1])
        out = _parallel.matmul(x2, w.T)
        if b is not None:
            out += b
        ctx.save_for_backward(x, w)
        return out.reshape(x.shape[:-1] + (w.shape[0],))

    @staticmethod
    def backward(ctx, grad_out):
        """dx = g W;  dW = g^T x (over all leading dims);  db = sum of g over them"""
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if not is_grad_enabled():
            # why: a first-order pass records nothing: two GEMMs and a sum on the arrays
            make = grad_out._make
            xa, wa = x.data, w.data
            g = grad_out.data.reshape(_rows(xa.shape), wa.shape[0])
            return (make(_parallel.matmul(g, wa).reshape(xa.shape)) if needs[0] else None,
                    make(_parallel.matmul(g.T, xa.reshape(g.shape[0], xa.shape[-1])))
                    if needs[1] else None,
                    make(g.sum(axis=0)) if needs[2] else None)
        from .. import matmul, reshape, transpose, sum as _sum
        g = reshape(grad_out, (_rows(x.shape), w.shape[0]))
        return (reshape(matmul(g, w), tuple(x.shape)) if needs[0] else None,
                matmul(transpose(g, 0, 1), reshape(x, (g.shape[0], x.shape[-1])))
                if needs[1] else None,
                _sum(g, 0) if needs[2] else None)


def linear_reference(x, w, b=None):
    """Composite reference of ``Linear``."""
    from .. import matmul, reshape, transpose
    out = matmul(reshape(x, (_rows(x.shape), x.shape[-1])), transpose(w, 0, 1))
    out = reshape(out, tuple(x.shape[:-1]) + (w.shape[0],))
    return out + b if b is not None else out
