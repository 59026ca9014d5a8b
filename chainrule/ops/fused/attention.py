"""Scaled dot-product attention fused into one primitive: softmax(Q K^T * scale + mask) V.

The composite (``nn.functional.scaled_dot_product_attention`` with dropout, the reference the
tests check this against) runs about a dozen elementwise ops over the (..., L, S) score array,
each a pass over memory and a graph node; here the forward makes seven passes in place and the
backward five, and the transposed key is copied once so that NumPy's batched matmul can use BLAS
(with a transposed second operand it falls back to a loop about twice as slow).

Masks arrive as an additive float array (0 to keep a key, -inf to drop it), already in the
query's dtype. A query whose every key is masked gets weight 0 on every key, so its output and
all its gradients are 0 (as torch 2.13 does).
"""

from .. import primitive, Primitive
from .._broadcast import sum_array_to_shape, sum_to_shape
from ..._backend import quiet_fp, xp_of
from ...autograd.grad_mode import is_grad_enabled

__all__ = []


def _t(a, xp):
    """The last two axes of ``a`` swapped, as a C-contiguous array (BLAS-friendly)."""
    return xp.ascontiguousarray(xp.swapaxes(a, -1, -2))


def _softmax_rows(s, xp):
    """softmax over the last axis of the scores ``s``, in place; rows that are all -inf get 0."""
    if s.shape[-1] == 0:
        return s
    m = s.max(axis=-1, keepdims=True)
    m[~xp.isfinite(m)] = 0        # all -inf (or inf/NaN) rows: shift by 0, NaN still propagates
    s -= m
    xp.exp(s, out=s)
    den = s.sum(axis=-1, keepdims=True)
    den[den == 0] = 1             # a fully masked row: 0 / 1 = 0 weights
    s /= den
    return s


@primitive
class Attention(Primitive):
    """Inputs q (..., L, E), k (..., S, E), v (..., S, Ev); ``mask``: None or an additive
    array broadcastable to (..., L, S); ``scale``: the factor on Q K^T."""

    @staticmethod
    def forward(ctx, q, k, v, mask, scale):
        xp = xp_of(q)
        with quiet_fp():
            s = xp.matmul(q, _t(k, xp))                        # (..., L, S)
            s *= scale
            if mask is not None:
                s = xp.add(s, mask, out=s) if xp.broadcast_shapes(s.shape, mask.shape) == \
                    s.shape else s + mask
            w = _softmax_rows(s, xp)
            out = xp.matmul(w, v)
        # saved, not attributes: the engine frees them once backward has run
        ctx.save_for_backward(q, k, v, w, mask)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """dV = W^T G;  dW = G V^T;  dS = W (dW - rowsum(dW W)) * scale;  dQ = dS K;  dK = dS^T Q
        (then summed over broadcast batch dims)"""
        q, k, v, w, mask = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if not is_grad_enabled():
            # why: a first-order pass records nothing: plain array math on the saved weights
            make, g, w = grad_out._make, grad_out.data, w.data
            xp = xp_of(g)
            qa, ka, va = q.data, k.data, v.data
            grad_v = make(sum_array_to_shape(xp.matmul(xp.swapaxes(w, -1, -2), g),
                                                  va.shape)) \
                if needs[2] else None
            grad_q = grad_k = None
            if needs[0] or needs[1]:
                ds = xp.matmul(g, _t(va, xp))                  # dW
                r = (ds * w).sum(axis=-1, keepdims=True)
                ds -= r
                ds *= w
                ds *= ctx.scale
                if needs[0]:
                    grad_q = make(sum_array_to_shape(xp.matmul(ds, ka), qa.shape))
                if needs[1]:
                    grad_k = make(sum_array_to_shape(xp.matmul(xp.swapaxes(ds, -1, -2), qa),
                                               ka.shape))
            return grad_q, grad_k, grad_v, None, None
        # the same rules in chainrule ops, so that the gradient can be differentiated again
        from .. import matmul, softmax, transpose, where, sum as _sum
        scores = matmul(q, transpose(k, -1, -2)) * ctx.scale
        full = None
        if mask is not None:
            scores = scores + mask
            xp = xp_of(mask.data)
            full_rows = xp.isneginf(scores.data).all(axis=-1, keepdims=True)
            if full_rows.any():
                full = grad_out._make(full_rows)
                scores = where(full, 0.0, scores)
        w = softmax(scores, -1)
        if full is not None:
            w = where(full, 0.0, w)
        grad_v = sum_to_shape(matmul(transpose(w, -1, -2), grad_out), tuple(v.shape)) \
            if needs[2] else None
        grad_q = grad_k = None
        if needs[0] or needs[1]:
            dw = matmul(grad_out, transpose(v, -1, -2))
            ds = w * (dw - _sum(dw * w, -1, keepdim=True)) * ctx.scale
            if needs[0]:
                grad_q = sum_to_shape(matmul(ds, k), tuple(q.shape))
            if needs[1]:
                grad_k = sum_to_shape(matmul(transpose(ds, -1, -2), q), tuple(k.shape))
        return grad_q, grad_k, grad_v, None, None


def attention(query, key, value, mask, scale):
    """``softmax(query @ key^T * scale + mask) @ value`` as one node (see the module docstring);
    ``mask`` is None or an additive NumPy array in query's dtype. Shape: (..., L, Ev)."""
    return Attention.apply(query, key, value, mask, scale)
