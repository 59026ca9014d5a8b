"""Cross-entropy of (N, C) logits and (N,) class indices as one primitive: log-softmax, each
target's log-probability, class weights, ``ignore_index`` and the reduction in a single node.

Composite reference: ``nll_loss(log_softmax(x, 1), target)`` as chainrule.nn.functional.loss builds
it (``cross_entropy_reference``), which is also the path for every other case (N-d inputs, class
probabilities, label smoothing); a test checks that both agree with torch, values and gradients,
to second order. Why fused: the composite records five nodes and a one-hot mask of the input's
shape, which cost more than the softmax itself at the batch sizes people train with.
"""
import numpy as np

from .. import primitive, Primitive
from ..._backend import quiet_fp, xp_of
from ...autograd.grad_mode import is_grad_enabled
from .softmax import log_softmax_array

__all__ = []


def class_weights(target, valid, weight, dtype):
    """(``target`` with ignored entries set to class 0, each entry's weight ``weight[t]``, or 1
    without ``weight``, and 0 where ``valid`` is False) for class-index targets."""
    xp = xp_of(target)
    safe = xp.where(valid, target, 0)
    w = valid.astype(dtype)
    if weight is not None:
        w *= weight.astype(dtype)[safe]
    return safe, w


@primitive
class CrossEntropy(Primitive):
    node_name = "NllLossBackward0"      # torch's grad_fn of cross_entropy with class indices

    @staticmethod
    def forward(ctx, x, target, valid, weight, reduction):
        """x (N, C) logits, target (N,) int class indices (validated by the caller), valid (N,)
        where the target is not ignore_index, weight (C,) array or None -> loss: () for 'mean'
        and 'sum', (N,) for 'none'."""
        xp = xp_of(x)
        logp = log_softmax_array(x, 1)
        safe, w = class_weights(target, valid, weight, x.dtype)
        rows = xp.arange(x.shape[0])
        with quiet_fp():
            # where, not a product: an ignored row's -inf log-probability must not become nan
            losses = xp.where(valid, -logp[rows, safe] * w, 0).astype(x.dtype)
        scale = w                                  # d loss / d loss_n, before the upstream grad
        if reduction == "none":
            out = losses
        elif reduction == "sum":
            out = losses.sum()
        else:
            total = w.sum()
            out = losses.sum() / total if total else xp.asarray(np.nan)
            # every target ignored (or weighted 0): nan loss, zero gradient (as torch)
            scale = w / total if total else xp.zeros_like(w)
        ctx.logp, ctx.rows, ctx.safe, ctx.scale = logp, rows, safe, scale
        ctx.save_for_backward(x)
        return xp.asarray(out, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        """d loss / dx_nc = g_n * scale_n * (softmax(x)_nc - [c == t_n]), where scale_n is the
        target's weight (divided by the summed weights for 'mean')"""
        from .. import softmax
        xp = xp_of(ctx.logp)
        if not is_grad_enabled():
            # why: a first-order pass records nothing, so the array form will do
            coef = ctx.scale * grad_out.data      # (N,): the grad is () or, for 'none', (N,)
            dx = xp.exp(ctx.logp)
            dx[ctx.rows, ctx.safe] -= 1
            dx *= coef[:, None].astype(dx.dtype, copy=False)
            return grad_out._make(dx), None, None, None, None
        (x,) = ctx.saved_tensors
        onehot = xp.zeros(x.shape, dtype=ctx.logp.dtype)
        onehot[ctx.rows, ctx.safe] = 1
        scale = grad_out._make(ctx.scale[:, None])
        g_col = grad_out.reshape(-1, 1) if grad_out.ndim else grad_out
        return ((softmax(x, 1) - grad_out._make(onehot)) * (g_col * scale),
                None, None, None, None)
