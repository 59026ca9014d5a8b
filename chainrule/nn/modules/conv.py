"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d."""
import math

from .module import Module
from .. import functional as F
from .. import init
from ..parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n):
    if isinstance(value, (tuple, list)):
        value = tuple(value)
        return value * n if len(value) == 1 else value
    return (value,) * n


def _empty(*shape, device=None, dtype=None):
    from ... import empty
    return empty(*shape, dtype=dtype, device=device)


class _ConvNd(Module):
    """Shared parameters, initialisation, checks and repr of the convolution layers."""
    _n = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, device=None,
                 dtype=None):
        super().__init__()
        name, n = type(self).__name__, self._n
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string '{padding}', should be one of "
                                 "{'valid', 'same'}")
            if padding == "same" and any(s != 1 for s in _ntuple(stride, n)):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if self.transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {name}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        self.groups, self.padding_mode = groups, padding_mode
        if isinstance(self.padding, str):
            pairs = []
            for d, k in zip(self.dilation, self.kernel_size):
                total = 0 if self.padding == "valid" else d * (k - 1)
                pairs.append((total // 2, total - total // 2))
            self._reversed_padding_repeated_twice = [p for pair in pairs[::-1] for p in pair]
        else:
            self._reversed_padding_repeated_twice = [p for p in self.padding[::-1] for _ in (0, 1)]
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(_empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_ with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):
        n = self._n
        if input.ndim not in (n + 1, n + 2):
            raise RuntimeError(f"{self._short_repr()}: expected a {n + 1}-D (unbatched) or "
                               f"{n + 2}-D (batched) input, got shape {tuple(input.shape)}")
        c = input.shape[-n - 1]
        if c != self.in_channels:
            raise RuntimeError(f"{self._short_repr()}: expected input with {self.in_channels} "
                               f"channels, got {tuple(input.shape)} with {c} "
                               f"channel{'s' if c != 1 else ''}")

    def _short_repr(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if isinstance(self.padding, str) or self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _conv_forward(self, input, weight, bias):
        conv = F.conv1d if self._n == 1 else F.conv2d
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input):
        self._check_input(input)
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over an input of several channels.

    Args:
        in_channels, out_channels: channel counts of input and output.
        kernel_size, stride, padding, dilation: int or 1-tuple; padding may be 'valid' or 'same'.
        groups: independent channel groups (both channel counts must be divisible by it).
        bias: learn an additive bias (default True).
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape:
        - Input: (N, C_in, L) or (C_in, L).
        - Output: (N, C_out, L_out), L_out = (L + 2 padding - dilation (K - 1) - 1) // stride + 1.

    Attributes:
        weight: (C_out, C_in / groups, K), from U(-k, k) with k = 1 / sqrt(C_in / groups * K).
        bias: (C_out,), from U(-k, k).
    """
    _n = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over an input of several channels.

    Args:
        in_channels, out_channels: channel counts of input and output.
        kernel_size: int or (KH, KW).
        stride, dilation: int or pair.
        padding: int, pair, 'valid' or 'same'.
        groups: independent channel groups (both channel counts must be divisible by it).
        bias: learn an additive bias (default True).
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W).
        - Output: (N, C_out, H_out, W_out),
          H_out = (H + 2 padding[0] - dilation[0] (KH - 1) - 1) // stride[0] + 1 (W likewise).

    Attributes:
        weight: (C_out, C_in / groups, KH, KW), from U(-k, k), k = 1 / sqrt(C_in / groups KH KW).
        bias: (C_out,), from U(-k, k).

    Example::

        >>> m = nn.Conv2d(3, 16, 3, padding=1)
        >>> m(chainrule.randn(8, 3, 28, 28)).shape
        chainrule.Size([8, 16, 28, 28])
    """
    _n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, 0, device, dtype)


class _ConvTransposeNd(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, "
                             f"got '{padding}'")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding, device, dtype)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        n = self._n
        size = tuple(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"{type(self).__name__}: output_size must have {n} or {n + 2} "
                             f"elements (got {len(tuple(output_size))})")
        pads = []
        for i in range(n):
            least = ((input.shape[-n + i] - 1) * self.stride[i] - 2 * self.padding[i]
                     + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not least <= size[i] < least + self.stride[i]:
                raise ValueError(f"{type(self).__name__}: requested an output size of {size}, "
                                 f"but valid sizes along dim {i} range from {least} to "
                                 f"{least + self.stride[i] - 1} (for an input of "
                                 f"{tuple(input.shape[-n:])})")
            pads.append(size[i] - least)
        return tuple(pads)

    def forward(self, input, output_size=None):
        self._check_input(input)
        conv = F.conv_transpose1d if self._n == 1 else F.conv_transpose2d
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution: the gradient of Conv1d w.r.t. its input.

    Args:
        in_channels, out_channels, kernel_size, stride, padding: as Conv1d (ints or 1-tuples).
        output_padding: extra length on one side of the output (< stride or dilation).
        groups, bias, dilation: as Conv1d.

    Shape:
        - Input: (N, C_in, L) or (C_in, L).
        - Output: (N, C_out, L_out),
          L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.

    Attributes:
        weight: (C_in, C_out / groups, K), from U(-k, k) with k = 1 / sqrt(C_out / groups * K).
        bias: (C_out,), from U(-k, k).
    """
    _n = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution ("deconvolution"): the gradient of Conv2d w.r.t. its input.

    Args:
        in_channels, out_channels: channel counts of input and output.
        kernel_size, stride, padding, dilation: int or pair.
        output_padding: extra rows/columns on one side of the output (< stride or dilation).
        groups, bias: as Conv2d.

    Shape:
        - Input: (N, C_in, H, W) or (C_in, H, W).
        - Output: (N, C_out, H_out, W_out), H_out = (H - 1) stride[0] - 2 padding[0]
          + dilation[0] (KH - 1) + output_padding[0] + 1; ``forward(input, output_size)`` picks
          the output_padding that gives ``output_size``.

    Attributes:
        weight: (C_in, C_out / groups, KH, KW), from U(-k, k), k = 1 / sqrt(C_out / groups KH KW).
        bias: (C_out,), from U(-k, k).

    Example::

        >>> up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        >>> up(chainrule.randn(1, 16, 6, 6), output_size=(12, 12)).shape
        chainrule.Size([1, 8, 12, 12])
    """
    _n = 2
