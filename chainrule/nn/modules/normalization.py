"""Normalisation layers: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, LayerNorm, GroupNorm, RMSNorm,
LocalResponseNorm. Parameters, buffers, ``state_dict`` keys, defaults and reprs match torch.nn;
the math is in ``chainrule.nn.functional.normalization``."""
import warnings

from .module import Module
from .. import functional as F
from ..parameter import Parameter
from ... import dtypes as _dt
from ...ops import ones, zeros, tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d",
           "InstanceNorm3d", "LayerNorm", "GroupNorm", "RMSNorm", "LocalResponseNorm"]


def _factory(dtype):
    return _dt.to_dtype(dtype) if dtype is not None else _dt.get_default_dtype()


class _NormBase(Module):
    """Shared state of batch and instance norm: affine parameters and running statistics."""
    _layout = ""          # the expected input, e.g. "(N, C, H, W)"
    _dims = ()            # accepted input dims
    # As torch: a checkpoint without the batch counter (an older format) still loads strictly.
    _optional_state_keys = ("num_batches_tracked",)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = _factory(dtype)
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dt))
            if bias:
                self.bias = Parameter(zeros(num_features, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dt))
            self.register_buffer("running_var", ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=_dt.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches seen."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self):
        """Reset the running statistics; weight 1 and bias 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def _check_input_dim(self, input):
        if input.ndim not in self._dims:
            raise ValueError(f"{self._short_repr()}: expected {self._dims_text()} input "
                             f"{self._layout} with C={self.num_features}, got "
                             f"{tuple(input.shape)}")

    def _dims_text(self):
        return " or ".join(f"{d}D" for d in self._dims)

    def _short_repr(self):
        return f"{type(self).__name__}({self.num_features}, ...)"

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise RuntimeError(f"{self._short_repr()}: expected {self._dims_text()} input "
                               f"{self._layout} with C={self.num_features}, got "
                               f"{tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            self.num_batches_tracked._version[0] += 1
            if self.momentum is None:      # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation over a 2D (N, C) or 3D (N, C, L) input.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    In training the batch statistics normalise the input and update the running estimates
    ``r = (1 - momentum) r + momentum s`` (unbiased variance); in eval mode the running estimates
    normalise it. ``momentum=None`` gives a cumulative average (factor 1 / num_batches_tracked).

    Args:
        num_features: C. eps: added to the variance. momentum: running-average factor or None.
        affine: learnable γ (ones) and β (zeros). track_running_stats: keep running estimates
            (buffers ``running_mean``, ``running_var``, ``num_batches_tracked``).
        bias: learn β (with ``affine``).

    Shape: input (N, C) or (N, C, L); output the same.

    Example:
        >>> bn = BatchNorm1d(8)
        >>> y = bn(chainrule.randn(16, 8))
    """
    _layout = "(N, C) or (N, C, L)"
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation over a 4D input (N, C, H, W); see :class:`BatchNorm1d`.

    Shape: input (N, C, H, W); output the same.

    Example:
        >>> y = BatchNorm2d(3)(chainrule.randn(4, 3, 8, 8))
    """
    _layout = "(N, C, H, W)"
    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    r"""Batch normalisation over a 5D input (N, C, D, H, W); see :class:`BatchNorm1d`.

    Shape: input (N, C, D, H, W); output the same.
    """
    _layout = "(N, C, D, H, W)"
    _dims = (5,)


class _InstanceNorm(_NormBase):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input):
        self._check_input_dim(input)
        unbatched = input.ndim == self._dims[0]
        if unbatched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.num_features:
            msg = (f"{self._short_repr()}: expected {self._dims_text()} input {self._layout} "
                   f"with C={self.num_features}, got {tuple(input.shape)}")
            if self.affine or self.track_running_stats:
                raise ValueError(msg)
            warnings.warn(msg + " (num_features is unused as affine=False)", stacklevel=2)
        out = F.instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or not self.track_running_stats,
                              self.momentum if self.momentum is not None else 0.0, self.eps)
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    r"""Instance normalisation: each (sample, channel) of a (N, C, L) or (C, L) input normalised
    over L; optional affine γ/β and running statistics (off by default, as torch).

    Args: as :class:`BatchNorm1d`, with ``affine=False`` and ``track_running_stats=False``.

    Shape: input (N, C, L) or (C, L); output the same.

    Example:
        >>> y = InstanceNorm1d(4)(chainrule.randn(2, 4, 10))
    """
    _layout = "(N, C, L) or (C, L)"
    _dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    r"""Instance normalisation of a (N, C, H, W) or (C, H, W) input; see :class:`InstanceNorm1d`.

    Shape: input (N, C, H, W) or (C, H, W); output the same.
    """
    _layout = "(N, C, H, W) or (C, H, W)"
    _dims = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    r"""Instance normalisation of a (N, C, D, H, W) or (C, D, H, W) input; see
    :class:`InstanceNorm1d`.
    """
    _layout = "(N, C, D, H, W) or (C, D, H, W)"
    _dims = (4, 5)


def _as_shape(normalized_shape):
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(normalized_shape)


class LayerNorm(Module):
    r"""Layer normalisation over the trailing ``normalized_shape`` dims.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    Args:
        normalized_shape: int or tuple: the trailing shape to normalise over.
        eps: added to the variance.
        elementwise_affine: learnable γ (ones) and β (zeros) of ``normalized_shape``.
        bias: learn β (with ``elementwise_affine``).

    Shape: input (*, normalized_shape); output the same.

    Example:
        >>> ln = LayerNorm(16)
        >>> y = ln(chainrule.randn(2, 5, 16))
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dt = _factory(dtype)
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.elementwise_affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def forward(self, input):
        k = len(self.normalized_shape)
        if input.ndim < k or tuple(input.shape[input.ndim - k:]) != self.normalized_shape:
            raise RuntimeError(f"{type(self).__name__}({self.normalized_shape}, ...): expected "
                               f"input of shape (*, {', '.join(map(str, self.normalized_shape))})"
                               f", got {tuple(input.shape)}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    r"""Group normalisation: the C channels split into ``num_groups`` groups, each normalised
    over its channels and positions, then a per-channel affine transform.

    Args:
        num_groups: G, dividing ``num_channels``. num_channels: C. eps: added to the variance.
        affine: learnable per-channel γ (ones) and β (zeros). bias: learn β.

    Shape: input (N, C, *); output the same.

    Example:
        >>> y = GroupNorm(2, 6)(chainrule.randn(4, 6, 5))
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        dt = _factory(dtype)
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dt))
            if bias:
                self.bias = Parameter(zeros(num_channels, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.affine:
            self.weight.data[...] = 1
            if self.bias is not None:
                self.bias.data[...] = 0

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(f"GroupNorm({self.num_groups}, {self.num_channels}, ...): expected "
                               f"input (N, C, *) with C={self.num_channels}, got "
                               f"{tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class RMSNorm(Module):
    r"""Root-mean-square normalisation over the trailing ``normalized_shape`` dims.

    .. math:: y = \frac{x}{\sqrt{\mathrm{mean}(x^2) + \epsilon}} \gamma

    Args:
        normalized_shape: int or tuple. eps: None means the input dtype's machine epsilon.
        elementwise_affine: learnable γ (ones).

    Shape: input (*, normalized_shape); output the same.

    Example:
        >>> y = RMSNorm(16)(chainrule.randn(2, 16))
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=_factory(dtype)))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        if self.elementwise_affine:
            self.weight.data[...] = 1

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    r"""Local response normalisation across neighbouring channels (see
    :func:`~chainrule.nn.functional.local_response_norm`).

    Shape: input (N, C, *) with at least 3 dims; output the same.

    Example:
        >>> y = LocalResponseNorm(3)(chainrule.randn(2, 8, 4, 4))
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
