"""Flatten and Unflatten: reshape a range of dimensions."""
from .module import Module
from ...ops._util import wrap_dim

__all__ = ["Flatten", "Unflatten"]


def _flatten(input, start_dim, end_dim):
    if input.ndim == 0:
        wrap_dim(start_dim, 0, "flatten"), wrap_dim(end_dim, 0, "flatten")
        return input.reshape(1)
    start, end = wrap_dim(start_dim, input.ndim, "flatten"), wrap_dim(end_dim, input.ndim,
                                                                     "flatten")
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(input.shape)
    n = 1
    for s in shape[start:end + 1]:
        n *= s
    return input.reshape(shape[:start] + (n,) + shape[end + 1:])


class Flatten(Module):
    """Flatten dims ``start_dim`` .. ``end_dim`` into one.

    Args:
        start_dim: first dim to flatten (default 1, keeping the batch dim).
        end_dim: last dim to flatten (default -1).

    Shape: (*, S_start, ..., S_end, *) -> (*, prod(S_start..S_end), *).

    Example::

        >>> nn.Flatten()(chainrule.zeros(32, 1, 5, 5)).shape
        chainrule.Size([32, 25])
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return _flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dim ``dim`` into the shape ``unflattened_size`` (one entry may be -1).

    Args:
        dim: the dimension to unflatten.
        unflattened_size: its new shape (tuple or list of ints).

    Shape: (*, S_dim, *) -> (*, U_1, ..., U_n, *) with prod(U) = S_dim.

    Example::

        >>> nn.Unflatten(1, (2, 5, 5))(chainrule.zeros(2, 50)).shape
        chainrule.Size([2, 2, 5, 5])
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"invalid argument: dim should be an int, got {type(dim).__name__}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be tuple or list, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, s in enumerate(unflattened_size):
            if not isinstance(s, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of "
                                f"type {type(s).__name__} at pos {i}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input):
        d = wrap_dim(self.dim, input.ndim, "unflatten")
        sizes = list(self.unflattened_size)
        n = input.shape[d]
        if sizes.count(-1) > 1:
            raise RuntimeError("unflatten: only one dimension can be inferred")
        known = 1
        for s in sizes:
            known *= s if s != -1 else 1
        if -1 in sizes:
            if known == 0 or n % known:
                raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the "
                                   f"size of dim {self.dim} ({n}) in the input tensor")
            sizes[sizes.index(-1)] = n // known
        elif known != n:
            raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size "
                               f"of dim {self.dim} ({n}) in the input tensor")
        shape = tuple(input.shape)
        return input.reshape(shape[:d] + tuple(sizes) + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
