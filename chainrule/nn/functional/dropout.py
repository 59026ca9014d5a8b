"""Dropout: zero random elements (or whole channels) while training, scaling the rest so the
expected value is unchanged. Masks come from chainrule's default Generator, so
``chainrule.manual_seed`` makes them repeatable."""
import warnings

from ...random import _rng
from ...tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_SELU_NEG = 1.7580993408473766   # -(selu scale * selu alpha): SELU's negative saturation value


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, p, mask_shape):
    """A constant 0/1 tensor of ``mask_shape`` (broadcastable to input) keeping with prob 1-p."""
    xp = input._xp()
    keep = _rng(None).random(mask_shape) >= p
    return xp.asarray(keep).astype(input.data.dtype)


def _apply(input, mask, inplace, op):
    out = input * Tensor._make(mask)
    return input._inplace_from(out, op) if inplace else out


def _dropout(input, p, training, inplace, mask_shape, op):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _apply(input, input._xp().zeros(mask_shape, dtype=input.data.dtype), inplace, op)
    mask = _keep_mask(input, p, mask_shape) * input.data.dtype.type(1.0 / (1.0 - p))
    return _apply(input, mask, inplace, op)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the others by 1 / (1 - p).

    Args:
        input: tensor of any shape.
        p: probability of an element being zeroed.
        training: apply dropout (identity when False).
        inplace: overwrite ``input``.

    The gradient is the same mask times 1 / (1 - p).
    """
    return _dropout(input, p, training, inplace, tuple(input.shape), "dropout_")


def _feature_shape(input, batched_ndim):
    """Mask shape for channel dropout: (N, C, 1, ...) or (C, 1, ...) when unbatched."""
    shape = tuple(input.shape)
    lead = 2 if input.ndim == batched_ndim else 1
    return shape[:lead] + (1,) * (input.ndim - lead)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: input (N, C, L) or (C, L); each (n, c) channel is kept or zeroed."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, _feature_shape(input, 3), "dropout1d_")


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: input (N, C, H, W) or (C, H, W)."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain the "
                      "behavior and silence this warning, please use dropout instead. Note that "
                      "dropout2d exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", stacklevel=2)
    if input.ndim < 2:
        return _dropout(input, p, training, inplace, tuple(input.shape), "dropout2d_")
    batched = 4 if input.ndim in (3, 4) else input.ndim
    return _dropout(input, p, training, inplace, _feature_shape(input, batched), "dropout2d_")


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: input (N, C, D, H, W) or (C, D, H, W)."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release.",
                      stacklevel=2)
    if input.ndim < 2:
        return _dropout(input, p, training, inplace, tuple(input.shape), "dropout3d_")
    batched = 5 if input.ndim in (4, 5) else input.ndim
    return _dropout(input, p, training, inplace, _feature_shape(input, batched), "dropout3d_")


def _alpha(input, p, training, inplace, mask_shape, op):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _apply(input, input._xp().zeros(mask_shape, dtype=input.data.dtype), inplace, op)
    dt = input.data.dtype.type
    keep = _keep_mask(input, p, mask_shape)
    a = 1.0 / ((_SELU_NEG ** 2 * p + 1) * (1 - p)) ** 0.5
    # kept: a * x + a * alpha * p ; dropped: -a * alpha + a * alpha * p (SELU's saturation)
    shift = (keep - 1) * dt(_SELU_NEG * a) + dt(_SELU_NEG * a * p)
    out = input * Tensor._make(keep * dt(a)) + Tensor._make(shift)
    return input._inplace_from(out, op) if inplace else out


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped elements take SELU's negative saturation value and an
    affine correction keeps the mean and variance of the input."""
    return _alpha(input, p, training, inplace, tuple(input.shape), "alpha_dropout_")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout over whole channels (dim 1 of a batched input)."""
    shape = tuple(input.shape)
    mask_shape = shape[:2] + (1,) * (input.ndim - 2) if input.ndim >= 2 else shape
    return _alpha(input, p, training, inplace, mask_shape, "feature_alpha_dropout_")
