"""Fold and Unfold: the col2im / im2col layers over ``F.fold`` and ``F.unfold``."""
from .module import Module
from .. import functional as F

__all__ = ["Fold", "Unfold"]


class Unfold(Module):
    """Extract sliding local blocks (im2col), as ``torch.nn.Unfold``.

    Args:
        kernel_size, dilation=1, padding=0, stride=1: an int or a pair.

    Shape: (N, C, H, W) -> (N, C * KH * KW, L), L the number of blocks.

    Example::

        >>> nn.Unfold(kernel_size=2)(chainrule.randn(1, 3, 4, 4)).shape
        chainrule.Size([1, 12, 9])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(Module):
    """Sum sliding local blocks back into an image (col2im), as ``torch.nn.Fold``.

    Args:
        output_size: (H, W) of the result.
        kernel_size, dilation=1, padding=0, stride=1: an int or a pair.

    Shape: (N, C * KH * KW, L) -> (N, C, H, W).
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)
