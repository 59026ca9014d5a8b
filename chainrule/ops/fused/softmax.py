"""LogSoftmax and Softmax along one dim, fused for speed and stability.

Composite references (tests check both against them, values and gradients):
    log_softmax(x) = x - logsumexp(x, dim, keepdim=True)
    softmax(x)     = exp(x - logsumexp(x, dim, keepdim=True))
"""
import warnings


from .. import primitive, Primitive
from .._util import wrap_dim
from ..._backend import quiet_fp, xp_of

__all__ = ["softmax", "log_softmax"]


def _shifted(x, axis):
    """x minus its maximum along axis (0 where the maximum is infinite, so -inf rows give nan as
    torch instead of inf - inf warnings)."""
    xp = xp_of(x)
    m = xp.amax(x, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype)
    return x - m


def log_softmax_array(x, axis):
    """log_softmax on a plain array (also the first step of the fused cross-entropy)."""
    xp = xp_of(x)
    z = _shifted(x, axis)
    with quiet_fp():
        return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


@primitive
class LogSoftmax(Primitive):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        out = log_softmax_array(x, axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d log_softmax(x)/dx = g - softmax(x) * sum(g)"""
        from .. import exp, sum as _sum
        (out,) = ctx.saved_tensors
        return grad_out - exp(out) * _sum(grad_out, ctx.axis, keepdim=True), None


@primitive
class Softmax(Primitive):
    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        xp = xp_of(x)
        e = xp.exp(_shifted(x, axis))
        with quiet_fp():
            out = e / e.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """d softmax(x)/dx = y * (g - sum(g * y))"""
        from .. import sum as _sum
        (out,) = ctx.saved_tensors
        return out * (grad_out - _sum(grad_out * out, ctx.axis, keepdim=True)), None


def _implicit_dim(ndim, op):
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _apply(prim, input, dim, dtype, op):
    from .. import cast, reshape
    from ...tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = cast(input, dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point input, got {input.dtype} "
                           f"(pass dtype=chainrule.float32 to convert)")
    if dim is None:
        dim = _implicit_dim(input.ndim, op)
    axis = wrap_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return reshape(prim.apply(reshape(input, (1,)), 0), ())
    if input.numel() == 0:
        return prim.apply(input, axis) if input.shape[axis] else input * 1.0
    return prim.apply(input, axis)


def softmax(input, dim=None, dtype=None):
    """``exp(x_i) / sum_j exp(x_j)`` along ``dim``; stable for any finite logits.

    Args:
        input: a floating-point Tensor.
        dim: the dim to normalise over (negative counts from the end).
        dtype: cast the input to this dtype first.

    Shape: output has the shape of input.

    Example:
        >>> chainrule.tensor([1e4, 0., -1e4]).softmax(0)
        tensor([1., 0., 0.])
    """
    return _apply(Softmax, input, dim, dtype, "softmax")


def log_softmax(input, dim=None, dtype=None):
    """``x_i - log(sum_j exp(x_j))`` along ``dim``; exact for large logits (no overflow).

    Args:
        input: a floating-point Tensor.
        dim: the dim to normalise over (negative counts from the end).
        dtype: cast the input to this dtype first.

    Shape: output has the shape of input.

    Example:
        >>> chainrule.tensor([1e4, 0., -1e4]).log_softmax(0)
        tensor([ 0.0000e+00, -1.0000e+04, -2.0000e+04])
    """
    return _apply(LogSoftmax, input, dim, dtype, "log_softmax")


TENSOR_METHODS = {"softmax": softmax, "log_softmax": log_softmax}
