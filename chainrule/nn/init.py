"""Parameter initialisation (torch.nn.init).

Every function fills its tensor in place, outside the autograd graph, with values drawn from
chainrule's default ``Generator`` (or the ``generator`` given), and returns the tensor. The
distributions (and their parameters: gains, fans, bounds) are torch's.
"""
import math
import warnings

import numpy as np

from ..random import _rng
from ..tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]


def _write(tensor, values):
    """Copy ``values`` (a NumPy array or number) into ``tensor`` in place, outside the graph."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    xp = tensor._xp()
    tensor.data[...] = xp.asarray(values).astype(tensor.data.dtype, copy=False)
    tensor._version[0] += 1
    return tensor


def _shape(tensor):
    return tuple(tensor.shape)


def calculate_gain(nonlinearity, param=None):
    """The recommended scale of weights feeding ``nonlinearity``.

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    Linear / Identity 1
    Conv{1,2,3}D      1
    Sigmoid           1
    Tanh              5/3
    ReLU              sqrt(2)
    Leaky ReLU        sqrt(2 / (1 + negative_slope^2))
    SELU              3/4
    ================= ====================================================

    Args:
        nonlinearity: the function's name (``'relu'``, ``'leaky_relu'``, ...).
        param: ``negative_slope`` for leaky_relu (default 0.01).
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel)."""
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    return _write(tensor, _rng(generator).uniform(a, b, _shape(tensor)))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std^2)."""
    return _write(tensor, _rng(generator).normal(mean, std, _shape(tensor)))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with samples from N(mean, std^2) truncated to [a, b] (a and b in absolute units).

    Draws by rejection: samples outside [a, b] are redrawn, which gives the exact truncated
    distribution."""
    if std <= 0 or b <= a:
        raise ValueError(f"trunc_normal_: expected std > 0 and a < b, got std={std}, a={a}, b={b}")
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    rng = _rng(generator)
    out = rng.normal(mean, std, _shape(tensor))
    bad = (out < a) | (out > b)
    for _ in range(1000):
        n = int(bad.sum())
        if n == 0:
            break
        out[bad] = rng.normal(mean, std, n)
        bad = (out < a) | (out > b)
    else:   # an interval with negligible mass: fall back to clipping what is left
        out = np.clip(out, a, b)
    return _write(tensor, out)


def constant_(tensor, val):
    """Fill with ``val``."""
    return _write(tensor, val)


def ones_(tensor):
    """Fill with 1."""
    return _write(tensor, 1)


def zeros_(tensor):
    """Fill with 0."""
    return _write(tensor, 0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity (ones on the diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _write(tensor, np.eye(*_shape(tensor)))


def dirac_(tensor, groups=1):
    """Fill a 3-, 4- or 5-D conv weight with the Dirac delta (the conv then copies its input
    channels), in ``groups`` groups."""
    dims = tensor.ndim
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = _shape(tensor)
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = shape[0] // groups
    min_dim = min(out_per_group, shape[1])
    out = np.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            out[(g * out_per_group + d, d) + centre] = 1
    return _write(tensor, out)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Fill with U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Fill with N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Fill with U(-bound, bound), bound = gain * sqrt(3 / fan) (He et al., 2015).

    Args:
        tensor: an n-dimensional tensor (n >= 2).
        a: negative slope of the following leaky_relu (0 for relu).
        mode: ``'fan_in'`` keeps the forward pass's variance, ``'fan_out'`` the backward's.
        nonlinearity: ``'relu'`` or ``'leaky_relu'`` (the recommended ones).
    """
    if 0 in _shape(tensor):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Fill with N(0, std^2), std = gain / sqrt(fan) (He et al., 2015); arguments as
    ``kaiming_uniform_``."""
    if 0 in _shape(tensor):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix (Saxe et al., 2013): the Q of the QR decomposition of
    a Gaussian matrix, sign-corrected so the distribution is uniform; trailing dims are
    flattened."""
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = _shape(tensor)[0]
    cols = tensor.numel() // rows
    flat = _rng(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(_shape(tensor)))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    """Fill a 2-D tensor from N(0, std^2) and zero a fraction ``sparsity`` of each column."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = _shape(tensor)
    num_zeros = int(math.ceil(sparsity * rows))
    rng = _rng(generator)
    out = rng.normal(0, std, (rows, cols))
    for c in range(cols):
        out[rng.permutation(rows)[:num_zeros], c] = 0
    return _write(tensor, out)
