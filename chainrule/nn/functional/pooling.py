"""Pooling (torch.nn.functional API). Max and average pooling run on the fused primitives of
chainrule.ops.fused.pool (1-D pooling is 2-D pooling of height 1); adaptive average pooling
multiplies by an averaging matrix per axis; adaptive max pooling gathers the window argmax."""
import numpy as np

from ... import ops
from ...ops.fused.pool import (MaxPool2d, AvgPool2d, PlaneScatterAdd, pool_out_size,
                               window_flat_index)
from ...tensor import Tensor

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "max_unpool1d",
           "max_unpool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices"]


def _tuple(value, n, name, op):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of {n} ints, "
                           f"got {value}")
    return value


def _batched(input, n, op):
    """input with a batch dim, and whether one was added ((C, *spatial) is unbatched)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be a Tensor, not {type(input).__name__}")
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}: Expected {n + 1}D or {n + 2}D (batch mode) tensor for input, "
                           f"but got input of size {list(input.shape)}")
    if input.ndim == n + 1:
        return ops.unsqueeze(input, 0), True
    return input, False


def _pool_conf(op, input, kernel_size, stride, padding, dilation, ceil_mode, n):
    kernel = _tuple(kernel_size, n, "kernel_size", op)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) \
        else _tuple(stride, n, "stride", op)
    padding = _tuple(padding, n, "padding", op)
    dilation = _tuple(dilation, n, "dilation", op)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{op}: kernel_size must be greater than zero, but got {kernel}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: stride should be greater than zero, but got {stride}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {dilation}")
    for p, k, d in zip(padding, kernel, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but "
                               f"got pad={p}, kernel_size={k} and dilation={d}")
    spatial = tuple(input.shape[-n:])
    out = tuple(pool_out_size(spatial[i], kernel[i], stride[i], padding[i], dilation[i],
                              ceil_mode) for i in range(n))
    if any(o <= 0 for o in out):
        c = input.shape[-n - 1]
        raise RuntimeError(f"{op}: Given input size: ({'x'.join(map(str, (c,) + spatial))}). "
                           f"Calculated output size: ({'x'.join(map(str, (c,) + out))}). Output "
                           "size is too small")
    return kernel, stride, padding, dilation


def _to2d(conf):
    return tuple((1,) + c if len(c) == 1 else c for c in conf)


def _max_pool(op, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n):
    x, unbatched = _batched(input, n, op)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point input, got {x.dtype}")
    conf = _pool_conf(op, x, kernel_size, stride, padding, dilation, ceil_mode, n)
    kernel, stride, padding, dilation = _to2d(conf)
    if n == 1:
        padding = (0, padding[1])
        x = ops.unsqueeze(x, 2)
    pooled = MaxPool2d.apply(x, kernel, stride, padding, dilation, bool(ceil_mode),
                             bool(return_indices))
    # the offsets come back only when asked for or needed by backward
    out, arg = pooled if isinstance(pooled, tuple) else (pooled, None)
    if n == 1:
        out = ops.squeeze(out, 2)
    if unbatched:
        out = ops.squeeze(out, 0)
    if not return_indices:
        return out
    idx = window_flat_index(arg.data, x.shape[3], kernel, stride, padding, dilation)
    return out, Tensor._make(idx.reshape(tuple(out.shape)))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L); see :func:`max_pool2d`."""
    return _max_pool("max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 1)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling: the maximum of each (dilated) window.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size (int or pair).
        stride: window step; defaults to ``kernel_size``.
        padding: implicit -inf padding on both sides (at most half the effective kernel).
        dilation: spacing between window elements.
        ceil_mode: round the output size up (a last partial window is kept).
        return_indices: also return the flat (h * W + w) index of each maximum, for
            :func:`max_unpool2d`. Ties go to the first maximum in the window, as in torch.

    Shape: output (N, C, H_out, W_out),
        H_out = (H + 2 padding - dilation (kernel - 1) - 1) / stride + 1, floored (or ceiled).

    Example::

        >>> F.max_pool2d(chainrule.randn(1, 1, 4, 4), 2).shape
        chainrule.Size([1, 1, 2, 2])
    """
    return _max_pool("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices, 2)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _avg_pool(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, n):
    x, unbatched = _batched(input, n, op)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point input, got {x.dtype}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor must be not zero")
    kernel, stride, padding, _ = _to2d(_pool_conf(op, x, kernel_size, stride, padding, 1,
                                                  ceil_mode, n))
    if n == 1:
        padding = (0, padding[1])
        x = ops.unsqueeze(x, 2)
    out = AvgPool2d.apply(x, kernel, stride, padding, bool(ceil_mode), bool(count_include_pad),
                          divisor_override)
    if n == 1:
        out = ops.squeeze(out, 2)
    return ops.squeeze(out, 0) if unbatched else out


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L); see :func:`avg_pool2d`."""
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling: the mean of each window.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, stride (default ``kernel_size``), padding: int or pair.
        ceil_mode: round the output size up.
        count_include_pad: count the zero padding in the divisor.
        divisor_override: divide every window sum by this instead.

    Shape: output (N, C, H_out, W_out), H_out = (H + 2 padding - kernel) / stride + 1 (floored
    or ceiled).
    """
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, 2)


def _adaptive_sizes(x, output_size, n, op):
    if isinstance(output_size, (list, tuple)):
        sizes = tuple(x.shape[-n + i] if s is None else int(s) for i, s in enumerate(output_size))
    else:
        sizes = _tuple(output_size, n, "output_size", op)
    if len(sizes) != n:
        raise RuntimeError(f"{op}: output_size must be {n} ints, got {output_size}")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"{op}: output_size must be non-negative, got {sizes}")
    if any(s == 0 for s in x.shape[-n:]):
        raise RuntimeError(f"{op}: expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(x.shape)}")
    return sizes


def _bounds(n_in, n_out):
    o = np.arange(n_out)
    return (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)


def _adaptive_avg(x, sizes, op):
    """Average over each adaptive window: one averaging-matrix product per spatial axis."""
    n = len(sizes)
    spatial = tuple(x.shape[-n:])
    if n == 2 and all(i % o == 0 for i, o in zip(spatial, sizes) if o) and all(sizes):
        k = tuple(i // o for i, o in zip(spatial, sizes))
        return AvgPool2d.apply(x, k, k, (0, 0), False, True, None)
    for k in range(n):
        dim = x.ndim - n + k
        start, end = _bounds(spatial[k], sizes[k])
        m = np.zeros((sizes[k], spatial[k]), dtype=x.dtype.np)
        for o in range(sizes[k]):      # one row per output position of one axis (tiny)
            m[o, start[o]:end[o]] = 1.0 / (end[o] - start[o])
        mt = Tensor._make(m)
        x = ops.transpose(ops.matmul(mt, ops.transpose(x, dim, -2)), dim, -2) \
            if dim != x.ndim - 1 else ops.matmul(x, ops.transpose(mt, 0, 1))
    return x


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length: (N, C, L) -> (N, C, output_size)."""
    x, unbatched = _batched(input, 1, "adaptive_avg_pool1d")
    out = _adaptive_avg(x, _adaptive_sizes(x, output_size, 1, "adaptive_avg_pool1d"),
                        "adaptive_avg_pool1d")
    return ops.squeeze(out, 0) if unbatched else out


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size: window i along an axis of length L spans
    [floor(i L / out), ceil((i + 1) L / out)).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or pair (an entry may be None: keep that size).

    Example::

        >>> F.adaptive_avg_pool2d(chainrule.randn(2, 8, 7, 5), 1).shape
        chainrule.Size([2, 8, 1, 1])
    """
    x, unbatched = _batched(input, 2, "adaptive_avg_pool2d")
    out = _adaptive_avg(x, _adaptive_sizes(x, output_size, 2, "adaptive_avg_pool2d"),
                        "adaptive_avg_pool2d")
    return ops.squeeze(out, 0) if unbatched else out


def _adaptive_max(op, input, output_size, return_indices, n):
    x, unbatched = _batched(input, n, op)
    sizes = _adaptive_sizes(x, output_size, n, op)
    if n == 1:
        x = ops.unsqueeze(x, 2)
        sizes = (1,) + sizes
    nb, c, h, w = x.shape
    xp = x._xp()
    idx_axes = []
    for length, size in zip((h, w), sizes):
        start, end = _bounds(length, size)
        span = int((end - start).max()) if size else 0
        # windows shorter than the longest repeat their last element: the first max still wins
        idx_axes.append(np.minimum(start[:, None] + np.arange(span)[None, :], end[:, None] - 1))
    ih, iw = idx_axes
    flat = ih[:, None, :, None] * w + iw[None, :, None, :]            # (Ho, Wo, KH, KW)
    flat = xp.asarray(flat.reshape(sizes[0], sizes[1], ih.shape[1] * iw.shape[1]))
    windows = x.data.reshape(nb, c, h * w)[:, :, flat]                 # (N, C, Ho, Wo, K)
    arg = windows.argmax(-1) if windows.shape[-1] else xp.zeros(windows.shape[:-1], np.int64)
    idx = xp.take_along_axis(xp.broadcast_to(flat, windows.shape), arg[..., None], -1)[..., 0]
    rows = xp.arange(nb * c)[:, None]
    out = ops.getitem(ops.reshape(x, (nb * c, h * w)),
                      (rows, idx.reshape(nb * c, sizes[0] * sizes[1])))
    out = ops.reshape(out, (nb, c) + tuple(sizes))
    idx_t = Tensor._make(idx.astype(np.int64))
    if n == 1:
        out, idx_t = ops.squeeze(out, 2), ops.squeeze(idx_t, 2)
    if unbatched:
        out, idx_t = ops.squeeze(out, 0), ops.squeeze(idx_t, 0)
    return (out, idx_t) if return_indices else out


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length; see :func:`adaptive_max_pool2d`."""
    return _adaptive_max("adaptive_max_pool1d", input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size (windows as in :func:`adaptive_avg_pool2d`).

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or pair.
        return_indices: also return the flat (h * W + w) index of each maximum.
    """
    return _adaptive_max("adaptive_max_pool2d", input, output_size, return_indices, 2)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def _max_unpool(op, input, indices, kernel_size, stride, padding, output_size, n):
    x, unbatched = _batched(input, n, op)
    idx = indices.data if unbatched is False else indices.data[None]
    kernel = _tuple(kernel_size, n, "kernel_size", op)
    stride = kernel if stride is None else _tuple(stride, n, "stride", op)
    padding = _tuple(padding, n, "padding", op)
    default = tuple((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + kernel[i]
                    for i in range(n))
    if output_size is None:
        size = default
    else:
        size = tuple(int(s) for s in tuple(output_size)[-n:])
        for i in range(n):
            if not default[i] - stride[i] < size[i] < default[i] + stride[i]:
                raise ValueError(f"{op}: invalid output_size {tuple(output_size)} (dim {i} must "
                                 f"be between {default[i] - stride[i] + 1} and "
                                 f"{default[i] + stride[i] - 1})")
    if tuple(idx.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: Expected shape of indices to be same as that of the input "
                           f"tensor ({list(x.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    plane = int(np.prod(size))
    if idx.size and (idx.min() < 0 or idx.max() >= plane):
        raise RuntimeError(f"{op}: Found an invalid max index: {int(idx.max())} (output volumes "
                           f"are of size {'x'.join(map(str, size))})")
    out = PlaneScatterAdd.apply(x, idx.astype(np.int64), plane, True)
    out = ops.reshape(out, tuple(x.shape[:2]) + size)
    return ops.squeeze(out, 0) if unbatched else out


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool1d: put each value at its index, zeros elsewhere."""
    return _max_unpool("max_unpool1d", input, indices, kernel_size, stride, padding, output_size,
                       1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Partial inverse of max_pool2d: each value goes to its (flat h * W + w) index.

    Args:
        input: (N, C, H, W) or (C, H, W), the pooled values.
        indices: the indices :func:`max_pool2d` returned with ``return_indices=True``.
        kernel_size, stride (default ``kernel_size``), padding: those of the pooling.
        output_size: the unpooled (H, W), when the default (H - 1) stride - 2 padding + kernel
            is ambiguous.
    """
    return _max_unpool("max_unpool2d", input, indices, kernel_size, stride, padding, output_size,
                       2)


def max_pool2d_reference(input, kernel_size, stride=None, padding=0, dilation=1,
                         ceil_mode=False):
    """max_pool2d as -inf padding + unfold + max over the window axis (no ceil_mode): the
    composite reference of the fused MaxPool2d."""
    from .conv import unfold
    from .vision import pad as _pad
    n, c, h, w = input.shape
    kernel, stride, padding, dilation = _pool_conf("max_pool2d", input, kernel_size, stride,
                                                   padding, dilation, False, 2)
    x = _pad(input, (padding[1], padding[1], padding[0], padding[0]), value=float("-inf"))
    cols = unfold(x, kernel, dilation, 0, stride)
    cols = ops.reshape(cols, (n, c, kernel[0] * kernel[1], cols.shape[-1]))
    out = ops.max(cols, 2)[0]
    ho, wo = ((input.shape[2 + i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1)
              // stride[i] + 1 for i in range(2))
    return ops.reshape(out, (n, c, ho, wo))


def avg_pool2d_reference(input, kernel_size, stride=None, padding=0):
    """avg_pool2d (count_include_pad=True) as unfold + mean: the reference of AvgPool2d."""
    from .conv import unfold
    n, c, h, w = input.shape
    kernel, stride, padding, _ = _pool_conf("avg_pool2d", input, kernel_size, stride, padding, 1,
                                            False, 2)
    cols = unfold(input, kernel, 1, padding, stride)
    cols = ops.reshape(cols, (n, c, kernel[0] * kernel[1], cols.shape[-1]))
    ho, wo = ((input.shape[2 + i] + 2 * padding[i] - kernel[i]) // stride[i] + 1 for i in range(2))
    return ops.reshape(ops.mean(cols, 2), (n, c, ho, wo))
