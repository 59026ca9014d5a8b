"""Padding, pixel shuffling and resampling (torch.nn.functional API), all composites: constant
padding writes the input into a filled tensor (``index_put``), the other padding modes and
nearest resampling gather with index arrays, and (bi)linear resampling multiplies by
interpolation matrices, one per spatial axis."""
import math

import numpy as np

from ... import ops
from ...tensor import Tensor

__all__ = ["pad", "pixel_shuffle", "pixel_unshuffle", "interpolate", "upsample",
           "upsample_nearest", "upsample_bilinear"]

_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_index(n, before, after, mode, dim):
    """Source indices of a padded axis of length n (negative pads crop)."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        if before >= n or after >= n:
            raise RuntimeError(f"pad: padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({before}, {after}) at dimension "
                               f"{dim} of size {n}")
        i = np.abs(i)
        i = np.where(i >= n, 2 * (n - 1) - i, i)
    elif mode == "replicate":
        if n == 0:
            raise RuntimeError(f"pad: replicate padding of dimension {dim} of size 0")
        i = np.clip(i, 0, n - 1)
    else:
        if before > n or after > n:
            raise RuntimeError(f"pad: Padding value causes wrapping around more than once "
                               f"(padding ({before}, {after}) at dimension {dim} of size {n})")
        i = np.mod(i, n)
    return i


def pad(input, pad, mode="constant", value=None):
    """Pad the last ``len(pad) // 2`` dimensions of ``input``.

    Args:
        input: a Tensor.
        pad: (left, right) for the last dim, then (top, bottom) for the one before, and so on;
            negative values crop.
        mode: 'constant' (fill with ``value``, default 0), 'reflect' (mirror without repeating
            the edge), 'replicate' (repeat the edge) or 'circular' (wrap around).
        value: the fill value of 'constant' mode.

    Example::

        >>> F.pad(chainrule.arange(3.), (2, 1), mode="reflect")
        tensor([2., 1., 0., 1., 2., 1.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: argument 'input' must be a Tensor, not {type(input).__name__}")
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: Padding length must be divisible by 2 and at most twice the "
                           f"number of dimensions of the input, got {len(pad)} for an input of "
                           f"{input.ndim} dimensions")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unsupported padding mode '{mode}', expected one of "
                                  f"{_PAD_MODES}")
    if mode != "constant" and value not in (None, 0):
        raise RuntimeError(f"pad: padding mode '{mode}' doesn't take in value argument")
    dims = len(pad) // 2
    if mode != "constant" and input.ndim < dims + 1:
        raise RuntimeError(f"pad: {mode} padding of {dims} dimension(s) expects an input of at "
                           f"least {dims + 1} dimensions, got shape {tuple(input.shape)}")
    pairs = [(input.ndim - 1 - k, pad[2 * k], pad[2 * k + 1]) for k in range(dims)]
    if mode == "constant":
        return _pad_constant(input, pairs, 0 if value is None else value)
    out = input
    for dim, before, after in pairs:
        if before == after == 0:
            continue
        idx = _pad_index(input.shape[dim], before, after, mode, dim)
        out = ops.getitem(out, (slice(None),) * dim + (idx,))
    return out


def _pad_constant(input, pairs, value):
    crop = [slice(None)] * input.ndim
    shape = list(input.shape)
    for dim, before, after in pairs:
        crop[dim] = slice(max(-before, 0), shape[dim] - max(-after, 0))
    if any(c != slice(None) for c in crop):
        input = ops.getitem(input, tuple(crop))
    shape = list(input.shape)
    place = [slice(None)] * input.ndim
    for dim, before, after in pairs:
        b, a = max(before, 0), max(after, 0)
        place[dim] = slice(b, b + shape[dim])
        shape[dim] += b + a
    if tuple(shape) == tuple(input.shape):
        return input
    base = ops.full(tuple(shape), value, dtype=input.dtype)
    return ops.index_put(base, tuple(place), input)


def pixel_shuffle(input, upscale_factor):
    """Rearrange (*, C r^2, H, W) into (*, C, H r, W r) (sub-pixel convolution).

    Example::

        >>> F.pixel_shuffle(chainrule.randn(1, 8, 3, 3), 2).shape
        chainrule.Size([1, 2, 6, 6])
    """
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} is "
                           f"not divisible by {r * r}")
    k = len(lead)
    x = ops.reshape(input, tuple(lead) + (c // (r * r), r, r, h, w))
    x = ops.permute(x, tuple(range(k)) + tuple(k + i for i in (0, 3, 1, 4, 2)))
    return ops.reshape(x, tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor):
    """Rearrange (*, C, H r, W r) into (*, C r^2, H, W): the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got input of size {tuple(input.shape)} and "
                           f"downscale_factor={r}")
    k = len(lead)
    x = ops.reshape(input, tuple(lead) + (c, h // r, r, w // r, r))
    x = ops.permute(x, tuple(range(k)) + tuple(k + i for i in (0, 2, 4, 1, 3)))
    return ops.reshape(x, tuple(lead) + (c * r * r, h // r, w // r))


_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _out_sizes(input, size, scale_factor, n, recompute):
    """Output sizes and the per-axis source/destination scales torch uses."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"interpolate: either size or scale_factor should be defined, not both "
                         f"and not neither (got size={size!r}, scale_factor={scale_factor!r})")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        sizes = (size,) * n if isinstance(size, int) else tuple(size)
        if len(sizes) != n:
            raise ValueError(f"interpolate: size shape must match input shape. Input is {n}D, "
                             f"size is {len(sizes)}")
        return tuple(int(s) for s in sizes), [i / o if o else 0.0 for i, o in zip(in_sizes,
                                                                                   sizes)]
    scales = (scale_factor,) * n if isinstance(scale_factor, (int, float)) else \
        tuple(scale_factor)
    if len(scales) != n:
        raise ValueError(f"interpolate: scale_factor shape must match input shape. Input is "
                         f"{n}D, scale_factor is {len(scales)}")
    sizes = tuple(int(math.floor(i * float(s))) for i, s in zip(in_sizes, scales))
    if recompute:
        return sizes, [i / o if o else 0.0 for i, o in zip(in_sizes, sizes)]
    return sizes, [1.0 / float(s) for s in scales]


def _nearest_index(n_in, n_out, scale, exact):
    dst = np.arange(n_out, dtype=np.float32)      # why: torch computes these in float
    scale = np.float32(scale)
    src = np.floor((dst + np.float32(0.5)) * scale) if exact else np.floor(dst * scale)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_matrix(n_in, n_out, scale, align_corners, dtype):
    """(n_out, n_in) matrix of linear-interpolation weights along one axis."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), i0), 1.0 - lam)
    np.add.at(m, (np.arange(n_out), i1), lam)
    return m.astype(dtype)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial dimensions of ``input`` (N, C, *spatial).

    Args:
        input: a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D tensor.
        size: output spatial size (int or tuple), or
        scale_factor: multiplier(s) for the spatial size (output size is floored).
        mode: 'nearest', 'nearest-exact', 'linear' (3-D), 'bilinear' (4-D), 'trilinear' (5-D) or
            'area' (adaptive average pooling).
        align_corners: for the linear modes: map corner pixel centres onto each other (True) or
            treat pixels as areas (False, the default).
        recompute_scale_factor: compute the scale from the output size instead of using
            ``scale_factor`` directly.

    Example::

        >>> F.interpolate(chainrule.randn(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        chainrule.Size([1, 3, 8, 8])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate: argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: input of {input.ndim} dimensions is not "
                                  "supported (expected 3-D, 4-D or 5-D)")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    n = input.ndim - 2
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError(f"interpolate: align_corners option can only be set with the "
                         f"interpolating modes: linear | bilinear | bicubic | trilinear (got "
                         f"mode={mode!r}, align_corners={align_corners!r})")
    if mode in _LINEAR and _LINEAR[mode] != n:
        raise NotImplementedError(f"interpolate: got {input.ndim}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode] + 2}D input")
    sizes, scales = _out_sizes(input, size, scale_factor, n, bool(recompute_scale_factor))
    if mode == "area":
        from .pooling import _adaptive_avg
        return _adaptive_avg(input, sizes, "interpolate")
    x = input
    for k in range(n):
        dim = 2 + k
        n_in, n_out = input.shape[dim], sizes[k]
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(n_in, n_out, scales[k], mode == "nearest-exact")
            x = ops.getitem(x, (slice(None),) * dim + (idx,))
        elif mode in _LINEAR:
            m = Tensor._make(_linear_matrix(n_in, n_out, scales[k], bool(align_corners),
                                            input.dtype.np))
            x = ops.transpose(ops.matmul(m, ops.transpose(x, dim, -2)), dim, -2) \
                if dim != x.ndim - 1 else ops.matmul(x, ops.transpose(m, 0, 1))
        else:
            raise NotImplementedError(f"interpolate: mode '{mode}' is not supported (nearest, "
                                      "nearest-exact, linear, bilinear, trilinear, area)")
    return x


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
