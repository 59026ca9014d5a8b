"""GELU fused into one primitive: its formula is eight to ten elementwise ops, each a pass over
memory and a graph node, and in a transformer MLP it runs on the widest activations.

Composite references (tests check the primitive against them, values and gradients):
    exact: x * 0.5 * (1 + erf(x / sqrt(2)))
    tanh:  x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
"""
import math


from .. import primitive, Primitive
from ..unary_math import _erf_kernel
from ..._backend import quiet_fp, xp_of
from ...autograd.grad_mode import is_grad_enabled

__all__ = ["gelu"]

_K = math.sqrt(2.0 / math.pi)          # tanh form: inner = K (x + C x^3)
_C = 0.044715
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _tanh_inner(x, xp):
    """tanh(K (x + C x^3)) computed in two temporaries."""
    t = xp.multiply(x, x, out=xp.empty_like(x))      # out=: 0-d inputs stay arrays
    t *= _K * _C
    t += _K
    t *= x
    return xp.tanh(t, out=t)


@primitive
class Gelu(Primitive):
    @staticmethod
    def forward(ctx, x, approximate):
        xp = xp_of(x)
        ctx.approximate = approximate
        with quiet_fp():
            if approximate == "tanh":
                s = _tanh_inner(x, xp)             # tanh(...), saved for backward
            else:
                s = _erf_kernel(x * x.dtype.type(_INV_SQRT2))    # erf(x / sqrt 2), saved
            out = xp.add(s, 1, out=xp.empty_like(x))
            out *= x
            out *= 0.5
        ctx.save_for_backward(x, s)       # saved, not an attribute: backward frees it
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """tanh:  d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2),  t = tanh(K (x + C x^3))
        exact: d/dx = Phi(x) + x phi(x),  Phi = 0.5 (1 + erf(x / sqrt 2)),
               phi = exp(-x^2 / 2) / sqrt(2 pi)"""
        x, s = ctx.saved_tensors
        if not is_grad_enabled():
            # why: a first-order pass records nothing: plain array math on the saved erf/tanh
            xa, s, g = x.data, s.data, grad_out.data
            xp = xp_of(xa)
            with quiet_fp():
                if ctx.approximate == "tanh":
                    d = xp.multiply(xa, xa, out=xp.empty_like(xa))
                    d *= 3 * _C
                    d += 1
                    d *= xa
                    d *= 1 - s * s
                    d *= 0.5 * _K
                    d += 0.5 * (1 + s)
                else:
                    d = xp.multiply(xa, xa, out=xp.empty_like(xa))
                    d *= -0.5
                    d = xp.exp(d, out=d)
                    d *= _INV_SQRT_2PI
                    d *= xa
                    d += 0.5 * (1 + s)
                d *= g
            return grad_out._make(d), None
        # the same rules in chainrule ops, so that the gradient can be differentiated again
        from .. import erf, exp, tanh
        if ctx.approximate == "tanh":
            t = tanh((x + x * x * x * _C) * _K)
            d = (1 + t) * 0.5 + x * (1 - t * t) * ((1 + x * x * (3 * _C)) * (0.5 * _K))
        else:
            d = (1 + erf(x * _INV_SQRT2)) * 0.5 + x * exp(x * x * -0.5) * _INV_SQRT_2PI
        return grad_out * d, None


def gelu(input, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF (exact, via erf), or its tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) when ``approximate='tanh'``.

    Shape: any; the output has the input's shape and (floating) dtype."""
    from ...tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"gelu(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"gelu: approximate argument must be either none or tanh, got "
                           f"'{approximate}'")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"gelu(): expected a floating-point input, got {input.dtype}")
    return Gelu.apply(input, approximate)
