"""Gradient clipping: by total norm and by value."""
import math

import numpy as np

from ..._backend import to_device
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def _params(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters):
    return [p.grad for p in _params(parameters) if p.grad is not None]


def _norm_of(array, norm_type):
    """The norm of a flat array in float64 (so float32 sums of squares cannot overflow early)."""
    a = np.abs(np.asarray(to_device(array, "cpu"), dtype=np.float64)).ravel()
    if a.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(a.max())
    if norm_type == -math.inf:
        return float(a.min())
    if norm_type == 0:
        return float((a != 0).sum())
    if norm_type == 2:
        return float(np.sqrt(np.dot(a, a)))
    return float((a ** norm_type).sum() ** (1.0 / norm_type))


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of all ``tensors`` together (the norm of their norms), as a 0-d
    tensor of their dtype."""
    tensors = _params(tensors)
    norm_type = float(norm_type)
    if not tensors:
        from ... import tensor
        return tensor(0.0)
    norms = [_norm_of(t.data, norm_type) for t in tensors]
    total = _norm_of(np.asarray(norms), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    out = Tensor._make(np.asarray(total, dtype=tensors[0].data.dtype))
    return out.to(tensors[0].device)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every gradient by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads(parameters)
    if not grads:
        return
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    coef = min(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        g.data *= g.data.dtype.type(coef)
        g._version[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``.

    The total norm is computed over all gradients together, as if concatenated into one vector;
    every gradient is multiplied by min(1, max_norm / (total_norm + 1e-6)).

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        max_norm: the largest allowed total norm.
        norm_type: the norm's order; ``inf`` for the largest absolute value.
        error_if_nonfinite: raise a RuntimeError if the total norm is nan or inf.
        foreach: accepted for torch compatibility.

    Returns:
        The total norm before clipping (a 0-d tensor).

    Example::

        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    """
    parameters = _params(parameters)
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of ``parameters`` to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np_clip = g._xp().clip
        np_clip(g.data, -clip_value, clip_value, out=g.data)
        g._version[0] += 1
