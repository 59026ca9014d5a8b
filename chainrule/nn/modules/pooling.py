"""Pooling layers: max, average, adaptive and unpooling, thin wrappers of nn.functional."""
from .module import Module
from .. import functional as F

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxUnpool1d",
           "MaxUnpool2d"]


def _ntuple(value, n):
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L) or (C, L); arguments as :class:`MaxPool2d`.

    Shape: output (N, C, L_out), L_out = (L + 2 padding - dilation (kernel - 1) - 1) / stride + 1
    (floored, or ceiled with ``ceil_mode``).
    """

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling: the maximum of each window.

    Args:
        kernel_size: window size (int or pair).
        stride: window step (default: ``kernel_size``).
        padding: implicit -inf padding on both sides (at most half the kernel).
        dilation: spacing between window elements.
        return_indices: also return the argmax indices (for :class:`MaxUnpool2d`).
        ceil_mode: round the output size up instead of down.

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H_out, W_out),
          H_out = (H + 2 padding - dilation (kernel - 1) - 1) / stride + 1 (floored or ceiled).

    Example::

        >>> nn.MaxPool2d(2)(chainrule.randn(8, 16, 28, 28)).shape
        chainrule.Size([8, 16, 14, 14])
    """

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool1d(Module):
    """1-D average pooling over (N, C, L) or (C, L).

    Args:
        kernel_size, stride (default ``kernel_size``), padding: int or 1-tuple.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in each window's divisor.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, 1)
        self.stride = _ntuple(stride if stride is not None else kernel_size, 1)
        self.padding = _ntuple(padding, 1)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(Module):
    """2-D average pooling: the mean of each window.

    Args:
        kernel_size, stride (default ``kernel_size``), padding: int or pair.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in each window's divisor (default True).
        divisor_override: divide every window sum by this number instead.

    Shape:
        - Input: (N, C, H, W) or (C, H, W).
        - Output: (N, C, H_out, W_out), H_out = (H + 2 padding - kernel) / stride + 1.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _AdaptiveNd(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveNd):
    """Average pooling to a fixed length: (N, C, L) -> (N, C, output_size)."""

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveNd):
    """Average pooling to a fixed (H_out, W_out), whatever the input size.

    Args:
        output_size: int or pair; an entry may be None to keep that input size.

    Example::

        >>> nn.AdaptiveAvgPool2d(1)(chainrule.randn(2, 64, 7, 7)).shape
        chainrule.Size([2, 64, 1, 1])
    """

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptiveNd):
    """Max pooling to a fixed length; ``return_indices`` also returns the argmax indices."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveNd):
    """Max pooling to a fixed (H_out, W_out).

    Args:
        output_size: int or pair.
        return_indices: also return the flat argmax indices.
    """

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class _MaxUnpoolNd(Module):
    _n = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _ntuple(kernel_size, self._n)
        self.stride = _ntuple(stride if stride is not None else kernel_size, self._n)
        self.padding = _ntuple(padding, self._n)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d: values go back to their argmax positions, zeros elsewhere."""
    _n = 1

    def forward(self, input, indices, output_size=None):
        return F.max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d: values go back to their argmax positions, zeros elsewhere.

    Args:
        kernel_size, stride (default ``kernel_size``), padding: those of the MaxPool2d.

    ``forward(input, indices, output_size=None)``: ``indices`` as returned by
    ``MaxPool2d(..., return_indices=True)``; ``output_size`` resolves ambiguous sizes.

    Example::

        >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
        >>> out, idx = pool(chainrule.randn(1, 1, 4, 4))
        >>> unpool(out, idx).shape
        chainrule.Size([1, 1, 4, 4])
    """

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)
