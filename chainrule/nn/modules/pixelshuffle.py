"""PixelShuffle and PixelUnshuffle."""
from .module import Module
from .. import functional as F

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """Rearrange (*, C r^2, H, W) into (*, C, H r, W r) (sub-pixel convolution upsampling).

    Args:
        upscale_factor: r.

    Example::

        >>> nn.PixelShuffle(3)(chainrule.randn(1, 9, 4, 4)).shape
        chainrule.Size([1, 1, 12, 12])
    """

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = upscale_factor

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)


class PixelUnshuffle(Module):
    """Rearrange (*, C, H r, W r) into (*, C r^2, H, W): the inverse of PixelShuffle.

    Args:
        downscale_factor: r.
    """

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = downscale_factor

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)
