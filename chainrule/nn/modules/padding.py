"""Padding layers: constant (and zero), reflection, replication and circular, in 1-D and 2-D."""
from .module import Module
from .. import functional as F

__all__ = ["ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d",
           "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
           "CircularPad2d"]


def _pads(padding, n):
    if isinstance(padding, (tuple, list)):
        padding = tuple(padding)
        if len(padding) != 2 * n:
            raise ValueError(f"expected padding of {2 * n} values, got {padding}")
        return padding
    return (padding,) * (2 * n)


class _PadNd(Module):
    _n = 2
    mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _pads(padding, self._n)

    def forward(self, input):
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dimension with ``value``: padding = int or (left, right)."""
    _n = 1

    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dimensions with ``value``.

    Args:
        padding: int or (left, right, top, bottom).
        value: the fill value.

    Shape: (N, C, H, W) -> (N, C, H + top + bottom, W + left + right).

    Example::

        >>> nn.ConstantPad2d((1, 1, 2, 0), 3.5)(chainrule.zeros(1, 1, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4])
    """
    _n = 2


class ZeroPad1d(ConstantPad1d):
    """Pad the last dimension with zeros: padding = int or (left, right)."""
    _n = 1

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    """Pad the last two dimensions with zeros.

    Args:
        padding: int or (left, right, top, bottom).

    Example::

        >>> nn.ZeroPad2d(1)(chainrule.ones(1, 1, 2, 2)).shape
        chainrule.Size([1, 1, 4, 4])
    """
    _n = 2


class ReflectionPad1d(_PadNd):
    """Pad the last dimension with its reflection (edge not repeated); padding < size."""
    _n = 1
    mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dimensions with their reflection (the edge is not repeated).

    Args:
        padding: int or (left, right, top, bottom), each smaller than the padded dimension.
    """
    _n = 2
    mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dimension by repeating its edge values."""
    _n = 1
    mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dimensions by repeating their edge values.

    Args:
        padding: int or (left, right, top, bottom).
    """
    _n = 2
    mode = "replicate"


class CircularPad1d(_PadNd):
    """Pad the last dimension by wrapping around."""
    _n = 1
    mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last two dimensions by wrapping around (periodic boundary)."""
    _n = 2
    mode = "circular"
