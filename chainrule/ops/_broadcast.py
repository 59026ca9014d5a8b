"""Undo broadcasting: the one place gradients are summed back to an input's shape."""
from ..autograd.grad_mode import is_grad_enabled


def _broadcast_axes(grad_shape, shape):
    """The axes of ``grad_shape`` that broadcasting added or stretched to reach it from ``shape``."""
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and grad_shape[lead + i] != 1)


def sum_to_shape(grad, shape):
    """Sum ``grad`` (a Tensor) over the axes that broadcasting added or stretched to reach it
    from ``shape``. Returns ``grad`` itself when the shapes already agree."""
    if grad.shape == shape:
        return grad
    if not is_grad_enabled():
        # why: a first-order pass records nothing, so the array sum will do (no sum/reshape nodes)
        return grad._make(sum_array_to_shape(grad.data, shape))
    from . import sum as _sum, reshape
    axes = _broadcast_axes(grad.shape, shape)
    if axes:
        grad = _sum(grad, axes)
    return reshape(grad, tuple(shape)) if grad.shape != tuple(shape) else grad


def sum_array_to_shape(grad, shape):
    """``sum_to_shape`` on a plain array (first-order backward passes that record nothing)."""
    if grad.shape == tuple(shape):
        return grad
    axes = _broadcast_axes(grad.shape, shape)
    return (grad.sum(axis=axes) if axes else grad).reshape(shape)


def broadcast_shapes(*shapes, op="broadcast"):
    """The broadcast shape of ``shapes``, or a RuntimeError naming ``op`` and the shapes."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for i in range(-ndim, 0):
        size = 1
        for s in shapes:
            if len(s) >= -i:
                d = s[i]
                if d != 1:
                    if size != 1 and size != d:
                        raise RuntimeError(
                            f"{op}: shapes {' and '.join(str(tuple(x)) for x in shapes)} cannot be "
                            f"broadcast together (size {size} vs {d} at dimension {ndim + i})")
                    size = d
        result.append(size)
    return tuple(result)


def broadcasts_to(shape, target):
    """Whether ``shape`` broadcasts to exactly ``target`` (as torch's expand would)."""
    shape, target = tuple(shape), tuple(target)
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(shape[::-1], target[::-1]))
