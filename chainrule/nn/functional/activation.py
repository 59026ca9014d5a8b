"""Activation functions (torch.nn.functional names and signatures), as composites of chainrule ops.

Kinks follow torch's subgradient choices (noted per function), so gradients match torch exactly
even at the points where the function is not differentiable.
"""
import math
import warnings

from ... import ops as _ops
from ...ops import where, exp, log1p, tanh as _tanh, sigmoid as _sigmoid, abs as _abs
from ...ops._util import wrap_dim
from ...tensor import Tensor

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "elu", "elu_", "selu", "selu_",
           "celu", "celu_", "gelu", "silu", "mish", "softplus", "softsign", "hardtanh",
           "hardtanh_", "hardsigmoid", "hardswish", "sigmoid", "tanh", "logsigmoid", "softmax",
           "log_softmax", "softmin", "glu", "prelu", "threshold", "threshold_", "rrelu", "rrelu_",
           "tanhshrink", "softshrink", "hardshrink"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")


def _inplace(input, result, inplace, op):
    """Write ``result`` into ``input`` when ``inplace`` (torch's ``inplace=True``)."""
    return input._inplace_from(result, op) if inplace else result


def _neg_part(x):
    # why: x where x <= 0, else 0; feeding exp() this keeps the unused branch of a where() finite,
    # so its zero gradient does not become 0 * inf = nan
    return where(x > 0, 0.0, x)


def relu(input, inplace=False):
    """max(x, 0); gradient 0 at 0.

    Shape: any; output has the input's shape. Example: ``F.relu(chainrule.randn(3))``."""
    _check(input, "relu")
    return _inplace(input, _ops.relu(input), inplace, "relu_")


def relu_(input):
    _check(input, "relu_")
    return relu(input, inplace=True)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """clamp(x, min_val, max_val); gradient 1 strictly inside, 0 outside and at the edges."""
    _check(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    out = where(input <= min_val, min_val, where(input >= max_val, max_val, input))
    return _inplace(input, out, inplace, "hardtanh_")


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    _check(input, "hardtanh_")
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    _check(input, "relu6")
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x if x > 0 else negative_slope * x (slope ``negative_slope`` at 0)."""
    _check(input, "leaky_relu")
    return _inplace(input, where(input > 0, input, input * negative_slope), inplace, "leaky_relu_")


def leaky_relu_(input, negative_slope=0.01):
    _check(input, "leaky_relu_")
    return leaky_relu(input, negative_slope, inplace=True)


def _elu(input, alpha, scale, input_scale):
    neg = _neg_part(input)
    if input_scale != 1:
        neg = neg * input_scale
    out = where(input > 0, input, (exp(neg) - 1) * alpha)
    return out * scale if scale != 1 else out


def elu(input, alpha=1.0, inplace=False):
    """x if x > 0 else alpha * (exp(x) - 1)."""
    _check(input, "elu")
    return _inplace(input, _elu(input, alpha, 1.0, 1.0), inplace, "elu_")


def elu_(input, alpha=1.0):
    _check(input, "elu_")
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al. (2017)."""
    _check(input, "selu")
    return _inplace(input, _elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace, "selu_")


def selu_(input):
    _check(input, "selu_")
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    _check(input, "celu")
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha must not be 0")
    return _inplace(input, _elu(input, alpha, 1.0, 1.0 / alpha), inplace, "celu_")


def celu_(input, alpha=1.0):
    _check(input, "celu_")
    return celu(input, alpha, inplace=True)


def gelu(input, approximate="none"):
    """x * Phi(x) with Phi the standard normal CDF (exact, via erf), or its tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) when ``approximate='tanh'`` (one fused
    primitive, ``ops/fused/gelu.py``)."""
    return _ops.gelu(input, approximate)


def silu(input, inplace=False):
    """x * sigmoid(x) (also called swish)."""
    _check(input, "silu")
    return _inplace(input, input * _sigmoid(input), inplace, "silu_")


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold.

    Computed as z + log1p(exp(-z)) for z = beta x > 0 and log1p(exp(z)) otherwise, so it stays
    finite (and exact) for any |x| without overflow."""
    _check(input, "softplus")
    z = input * beta if beta != 1 else input
    pos = z > 0
    z_pos = where(pos, z, 0.0)
    soft = where(pos, z_pos + log1p(exp(-z_pos)), log1p(exp(_neg_part(z))))
    if beta != 1:
        soft = soft / beta
    return where(z > threshold, input, soft)


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    _check(input, "mish")
    return _inplace(input, input * _tanh(softplus(input)), inplace, "mish_")


def softsign(input):
    """x / (1 + |x|)."""
    _check(input, "softsign")
    return input / (_abs(input) + 1)


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6; gradient 1/6 on (-3, 3), 0 elsewhere."""
    _check(input, "hardsigmoid")
    return _inplace(input, hardtanh(input + 3, 0.0, 6.0) / 6, inplace, "hardsigmoid_")


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6. Gradient x/3 + 1/2 on (-3, 3), 0 at -3 and 1 at 3 (as torch)."""
    _check(input, "hardswish")
    out = where(input <= -3, 0.0, where(input < 3, input * (input + 3) / 6, input))
    return _inplace(input, out, inplace, "hardswish_")


def sigmoid(input):
    """1 / (1 + exp(-x))."""
    _check(input, "sigmoid")
    return _sigmoid(input)


def tanh(input):
    """Hyperbolic tangent."""
    _check(input, "tanh")
    return _tanh(input)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), finite for any x."""
    _check(input, "logsigmoid")
    return -softplus(-input)


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _prepare_softmax(name, input, dim, dtype):
    if dim is None:
        dim = _softmax_dim(name, input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return input, wrap_dim(dim, input.ndim, name)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x_i) / sum_j exp(x_j) along ``dim``.

    Args:
        input: tensor of any shape.
        dim: the dimension that sums to 1.
        dtype: cast the input to this dtype first.
    """
    _check(input, "softmax")
    input, dim = _prepare_softmax("softmax", input, dim, dtype)
    return _ops.softmax(input, dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x_i - log(sum_j exp(x_j)) along ``dim`` (stable for any magnitude)."""
    _check(input, "log_softmax")
    input, dim = _prepare_softmax("log_softmax", input, dim, dtype)
    return _ops.log_softmax(input, dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``."""
    _check(input, "softmin")
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    if dtype is not None:
        input = input.to(dtype)
    return softmax(-input, dim)


def glu(input, dim=-1):
    """a * sigmoid(b), with a and b the two halves of ``input`` along ``dim``.

    Shape: (*, 2N, *) -> (*, N, *)."""
    _check(input, "glu")
    if input.ndim == 0:
        raise RuntimeError("glu: glu does not support scalars because halving size must be even")
    d = wrap_dim(dim, input.ndim, "glu")
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"glu: Halving dimension must be even, but dimension {d} is size {n}")
    lead = (slice(None),) * d
    return input[lead + (slice(0, n // 2),)] * _sigmoid(input[lead + (slice(n // 2, n),)])


def prelu(input, weight):
    """x if x > 0 else weight * x, with one learned slope per channel (dim 1) or one shared.

    Shape: input (N, C, *) or (C,) ... ; weight (1,) or (C,)."""
    _check(input, "prelu")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim > 1 else 1
        if channels != weight.numel():
            raise RuntimeError(f"prelu: Mismatch of parameter numbers and input channel size. "
                               f"Found parameter numbers = {weight.numel()} and channel size = "
                               f"{channels}.")
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1 and input.ndim == 0:
        weight = weight.reshape(())
    return where(input > 0, input, weight * input)


def threshold(input, threshold, value, inplace=False):
    """x if x > threshold else value."""
    _check(input, "threshold")
    return _inplace(input, where(input > threshold, input, value), inplace, "threshold_")


def threshold_(input, threshold, value):
    _check(input, "threshold_")
    return globals()["threshold"](input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomised leaky ReLU: negative inputs are scaled by a slope drawn uniformly from
    [lower, upper] per element (from chainrule's default generator) when training, and by the
    mean slope (lower + upper) / 2 in evaluation."""
    _check(input, "rrelu")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ...random import _rng
    slope = _rng(None).uniform(lower, upper, tuple(input.shape)).astype(input.data.dtype)
    slope = Tensor._make(input._xp().asarray(slope))
    return _inplace(input, where(input > 0, input, input * slope), inplace, "rrelu_")


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    _check(input, "rrelu_")
    return rrelu(input, lower, upper, training, inplace=True)


def tanhshrink(input):
    """x - tanh(x)."""
    _check(input, "tanhshrink")
    return input - _tanh(input)


def softshrink(input, lambd=0.5):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    _check(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be "
                           f"{lambd}.")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input, lambd=0.5):
    """x if |x| > lambd else 0."""
    _check(input, "hardshrink")
    return where((input >= -lambd) & (input <= lambd), 0.0, input)
