"""Fused normalisation: batch statistics (BatchNorm) and layer statistics (LayerNorm) in one node.

Composite references: ``batch_norm_reference`` and ``layer_norm_reference`` below, built from
mean/var composites; the tests check each primitive against its reference, forward and gradients.
Both primitives share one backward, written in chainrule ops so it can be differentiated again.
"""
from .. import primitive, Primitive
from .._broadcast import sum_array_to_shape, sum_to_shape
from ...autograd import grad_mode
from ..._backend import xp_of

__all__ = []


def _normalize(ctx, x, weight, bias, axes, bshape, eps):
    """Forward on arrays: (x - mean) / sqrt(var + eps) * weight + bias over ``axes``."""
    xp = xp_of(x)
    mean = x.mean(axis=axes, keepdims=True)
    xc = x - mean
    var = (xc * xc).mean(axis=axes, keepdims=True)
    rstd = 1 / xp.sqrt(var + eps)
    y = xc * rstd
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    ctx.axes, ctx.bshape, ctx.eps = axes, bshape, eps
    # mean/rstd come back as constants: used only when backward builds no graph
    ctx.save_for_backward(x, weight, bias, mean, rstd)
    return y.astype(x.dtype, copy=False), mean, var


def _normalize_backward(ctx, grad_out):
    """dx = rstd (g - mean(g) - xhat mean(g xhat)), g = grad_out w; dw = sum(grad_out xhat);
    db = sum(grad_out)"""
    from .. import mean, sqrt, reshape
    x, weight, bias, mu, rstd = ctx.saved_tensors
    axes, bshape = ctx.axes, ctx.bshape
    if not grad_mode.is_grad_enabled():
        return _normalize_backward_arrays(ctx, grad_out, x, weight, bias, mu, rstd)
    # double backward: the statistics must depend on x
    mu = mean(x, axes, keepdim=True)
    xc = x - mu
    rstd = 1 / sqrt(mean(xc * xc, axes, keepdim=True) + ctx.eps)
    xhat = xc * rstd
    grad_x = grad_w = grad_b = None
    if ctx.needs_input_grad[0]:
        g = grad_out * reshape(weight, bshape) if weight is not None else grad_out
        grad_x = rstd * (g - mean(g, axes, keepdim=True)
                         - xhat * mean(g * xhat, axes, keepdim=True))
    if weight is not None and ctx.needs_input_grad[1]:
        grad_w = reshape(sum_to_shape(grad_out * xhat, bshape), tuple(weight.shape))
    if bias is not None and ctx.needs_input_grad[2]:
        grad_b = reshape(sum_to_shape(grad_out, bshape), tuple(bias.shape))
    return grad_x, grad_w, grad_b


def _normalize_backward_arrays(ctx, grad_out, x, weight, bias, mu, rstd):
    """The same rules on plain arrays, for a first-order pass that records nothing."""
    make, g0 = grad_out._make, grad_out.data
    axes, bshape = ctx.axes, ctx.bshape
    xhat = x.data - mu.data
    xhat *= rstd.data
    grad_x = grad_w = grad_b = None
    if ctx.needs_input_grad[0]:
        g = g0 * weight.data.reshape(bshape) if weight is not None else g0
        gx = g * xhat
        dx = xhat * gx.mean(axis=axes, keepdims=True)
        dx += g.mean(axis=axes, keepdims=True)
        xp_of(g).subtract(g, dx, out=dx)
        dx *= rstd.data
        grad_x = make(dx.astype(g0.dtype, copy=False))
    if weight is not None and ctx.needs_input_grad[1]:
        grad_w = make(sum_array_to_shape(g0 * xhat, bshape).reshape(weight.shape))
    if bias is not None and ctx.needs_input_grad[2]:
        grad_b = make(sum_array_to_shape(g0, bshape).reshape(bias.shape))
    return grad_x, grad_w, grad_b


@primitive
class BatchNorm(Primitive):
    """Normalise over every axis but 1 (channels); outputs (y, batch mean, biased batch var)."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        axes = (0,) + tuple(range(2, x.ndim))
        bshape = (x.shape[1],) + (1,) * (x.ndim - 2)
        y, mean, var = _normalize(ctx, x, weight, bias, axes, bshape, eps)
        mean, var = mean.reshape(-1), var.reshape(-1)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_out, grad_mean, grad_var):
        """see _normalize_backward (statistics outputs carry no gradient)"""
        return _normalize_backward(ctx, grad_out) + (None,)


@primitive
class LayerNorm(Primitive):
    """Normalise over the last ``ndim`` axes; weight and bias have those axes' shape."""

    @staticmethod
    def forward(ctx, x, weight, bias, ndim, eps):
        axes = tuple(range(x.ndim - ndim, x.ndim))
        y, _, _ = _normalize(ctx, x, weight, bias, axes, x.shape[x.ndim - ndim:], eps)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """see _normalize_backward"""
        return _normalize_backward(ctx, grad_out) + (None, None)


def _reference(x, weight, bias, axes, bshape, eps):
    from .. import mean, sqrt, reshape
    xc = x - mean(x, axes, keepdim=True)
    y = xc / sqrt(mean(xc * xc, axes, keepdim=True) + eps)
    if weight is not None:
        y = y * reshape(weight, bshape)
    if bias is not None:
        y = y + reshape(bias, bshape)
    return y


def batch_norm_reference(x, weight=None, bias=None, eps=1e-5):
    """Composite reference of ``BatchNorm`` (its first output), from mean/var composites."""
    axes = (0,) + tuple(range(2, x.ndim))
    return _reference(x, weight, bias, axes, (x.shape[1],) + (1,) * (x.ndim - 2), eps)


def layer_norm_reference(x, ndim, weight=None, bias=None, eps=1e-5):
    """Composite reference of ``LayerNorm``, from mean/var composites."""
    axes = tuple(range(x.ndim - ndim, x.ndim))
    return _reference(x, weight, bias, axes, tuple(x.shape[x.ndim - ndim:]), eps)
