"""Normalisation layers' math (torch.nn.functional names and signatures).

``batch_norm`` (training) and ``layer_norm`` run on the fused primitives of
``chainrule.ops.fused.norm`` (one node, forward and backward in one pass); ``group_norm`` and
``instance_norm`` reshape onto the LayerNorm primitive. Running statistics are updated in place,
outside the graph, as torch does: the running variance takes the unbiased batch variance.
"""
import numpy as np

from ...autograd import grad_mode
from ...ops import mean, sqrt, reshape, matmul, pow as _pow, transpose
from ...ops.fused.norm import BatchNorm, LayerNorm
from ...tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm"]


def _shape(t):
    return tuple(t.shape)


def _check_param(op, name, t, shape):
    if t is not None and _shape(t) != tuple(shape):
        raise RuntimeError(f"{op}: expected {name} of shape {tuple(shape)}, got {_shape(t)}")


def _channel_view(t, ndim):
    """A (C,) tensor viewed as (C, 1, ..., 1) to broadcast against (N, C, *) of ``ndim`` dims."""
    return reshape(t, (t.shape[0],) + (1,) * (ndim - 2))


def _update_running(running, stat, momentum):
    """running <- (1 - momentum) running + momentum stat, in place and outside the graph."""
    with grad_mode.no_grad():
        new = running.data * (1 - momentum) + stat.astype(running.data.dtype) * momentum
        running.data[...] = new
        running._version[0] += 1


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    r"""Batch normalisation over every dim but the channel dim 1.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    In training, the statistics are the batch's (biased variance) and ``running_mean`` /
    ``running_var`` (if given) are updated in place: ``r = (1 - momentum) r + momentum s``, with
    the unbiased batch variance for ``running_var``. Otherwise the running statistics are used.

    Args:
        input: (N, C) or (N, C, *).
        running_mean, running_var: (C,) tensors or None (None needs ``training=True``).
        weight, bias: (C,) affine parameters γ and β, or None.
        training: use (and record) batch statistics.
        momentum: the weight of the new batch statistic in the running average.
        eps: added to the variance for stability.

    Shape: output has the input's shape.

    Example:
        >>> x = chainrule.randn(8, 3, 4, 4)
        >>> y = batch_norm(x, None, None, training=True)     # per-channel mean 0, var 1
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of at least 2 dims (N, C, *), got "
                         f"{_shape(input)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param("batch_norm", name, t, (c,))
    if training:
        count = input.shape[0] * int(np.prod(_shape(input)[2:]))
        if count == 0:      # torch: no values give an empty output; running stats unchanged
            n = input.ndim
            y = input * _channel_view(weight, n) if weight is not None else input * 1
            return y + _channel_view(bias, n) if bias is not None else y
        if count == 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input size {_shape(input)}")
        y, batch_mean, batch_var = BatchNorm.apply(input, weight, bias, eps)
        if running_mean is not None:
            _update_running(running_mean, batch_mean.data, momentum)
        if running_var is not None:
            _update_running(running_var, batch_var.data * (count / (count - 1)), momentum)
        return y
    if running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be given when "
                           "training=False")
    n = input.ndim
    y = (input - _channel_view(running_mean, n)) / sqrt(_channel_view(running_var, n) + eps)
    if weight is not None:
        y = y * _channel_view(weight, n)
    if bias is not None:
        y = y + _channel_view(bias, n)
    return y


def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    r"""Layer normalisation over the last ``len(normalized_shape)`` dims.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Args:
        input: (*, normalized_shape).
        normalized_shape: int or tuple, the trailing shape to normalise over.
        weight, bias: tensors of ``normalized_shape``, or None.
        eps: added to the (biased) variance.

    Shape: output has the input's shape.

    Example:
        >>> y = layer_norm(chainrule.randn(2, 5, 8), (8,))
    """
    shape = _normalized_shape(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or _shape(input)[input.ndim - k:] != shape:
        raise RuntimeError(f"layer_norm: given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of size "
                           f"{_shape(input)}")
    _check_param("layer_norm", "weight", weight, shape)
    _check_param("layer_norm", "bias", bias, shape)
    return LayerNorm.apply(input, weight, bias, k, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation: channels split into ``num_groups`` groups, each normalised over its
    channels and spatial positions, then a per-channel affine transform.

    Args:
        input: (N, C, *) with C divisible by ``num_groups``.
        num_groups: number of groups G.
        weight, bias: (C,) tensors or None.
        eps: added to the variance.

    Shape: output has the input's shape.

    Example:
        >>> y = group_norm(chainrule.randn(2, 6, 4), 3)
    """
    if input.ndim < 2:
        raise RuntimeError(f"group_norm: expected input of at least 2 dims (N, C, *), got "
                           f"{_shape(input)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"group_norm: expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {_shape(input)} and "
                           f"num_groups={num_groups}")
    _check_param("group_norm", "weight", weight, (c,))
    _check_param("group_norm", "bias", bias, (c,))
    grouped = reshape(input, (n, num_groups, -1)) if input.numel() else \
        reshape(input, (n, num_groups, (c // num_groups) * int(np.prod(_shape(input)[2:]))))
    y = reshape(LayerNorm.apply(grouped, None, None, 1, eps), _shape(input))
    return _affine(y, weight, bias)


def _affine(y, weight, bias):
    if weight is not None:
        y = y * _channel_view(weight, y.ndim)
    if bias is not None:
        y = y + _channel_view(bias, y.ndim)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation: each (sample, channel) normalised over its spatial positions.

    With ``use_input_stats`` and running statistics given, these are updated in place with the
    per-instance statistics averaged over the batch (unbiased variance); without
    ``use_input_stats`` the running statistics normalise the input (as batch_norm in eval).

    Args:
        input: (N, C, *) with at least one spatial dim.
        running_mean, running_var: (C,) tensors or None.
        weight, bias: (C,) tensors or None.
        use_input_stats: normalise with the instance's own statistics.
        momentum, eps: as in batch_norm.

    Shape: output has the input's shape.

    Example:
        >>> y = instance_norm(chainrule.randn(2, 3, 5))
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected input of at least 3 dims (N, C, *), got "
                         f"{_shape(input)}")
    n, c = input.shape[0], input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param("instance_norm", name, t, (c,))
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = int(np.prod(_shape(input)[2:]))
    if spatial <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                         f"got input size {_shape(input)}")
    flat = reshape(input, (n, c, spatial))
    y = reshape(LayerNorm.apply(flat, None, None, 1, eps), _shape(input))
    if running_mean is not None or running_var is not None:
        data = flat.data
        if running_mean is not None:
            _update_running(running_mean, data.mean(axis=(0, 2)), momentum)
        if running_var is not None:
            _update_running(running_var, data.var(axis=2, ddof=1).mean(axis=0), momentum)
    return _affine(y, weight, bias)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    r"""Root-mean-square normalisation over the last ``len(normalized_shape)`` dims.

    .. math:: y = \frac{x}{\sqrt{\mathrm{mean}(x^2) + \epsilon}} \gamma

    Args:
        input: (*, normalized_shape).
        normalized_shape: int or tuple.
        weight: tensor of ``normalized_shape`` or None.
        eps: added to the mean square; None means ``finfo(input.dtype).eps``.

    Shape: output has the input's shape.

    Example:
        >>> y = rms_norm(chainrule.randn(2, 8), (8,))
    """
    shape = _normalized_shape(normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or _shape(input)[input.ndim - k:] != shape:
        raise RuntimeError(f"rms_norm: given normalized_shape={list(shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, shape))}], but got input of size "
                           f"{_shape(input)}")
    _check_param("rms_norm", "weight", weight, shape)
    if eps is None:
        eps = float(np.finfo(input.dtype.np).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input / sqrt(mean(input * input, dims, keepdim=True) + eps)
    return y * weight if weight is not None else y


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    r"""Local response normalisation across channels.

    .. math:: y_c = x_c \Big/ \Big(k + \frac{\alpha}{n} \sum_{c'} x_{c'}^2\Big)^{\beta}

    where the sum runs over the ``size`` channels ``c - size//2 .. c + (size-1)//2`` (channels
    beyond the edges count as zeros, and n = ``size`` always, as torch).

    Args:
        input: (N, C, *) with at least 3 dims.
        size: number of neighbouring channels.
        alpha, beta, k: the constants above.

    Shape: output has the input's shape.

    Example:
        >>> y = local_response_norm(chainrule.randn(2, 6, 4, 4), size=3)
    """
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensional input, got "
                         f"input of size {_shape(input)}")
    if input.numel() == 0:
        return input * 1
    c = input.shape[1]
    lo, hi = size // 2, (size - 1) // 2
    idx = np.arange(c)
    # band[c, j] = 1 when channel j is in c's window: the window sum is a matmul
    band = ((idx[None, :] >= idx[:, None] - lo) & (idx[None, :] <= idx[:, None] + hi))
    band = Tensor._make(band.astype(input.dtype.np))
    sq = transpose(input * input, 1, -1)
    div = transpose(matmul(sq, transpose(band, 0, 1)), 1, -1)
    div = _pow(div * (alpha / size) + k, beta)
    return input / div
