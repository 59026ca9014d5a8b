"""Pooling primitives on NCHW tensors: MaxPool2d and its gradient MaxPool2dBackward (argmax
scatter), AvgPool2d and its adjoint AvgPool2dAdjoint, and PlaneScatterAdd (max_unpool).

Composite references (chainrule.nn.functional.pooling): max pooling = ``unfold`` + ``max`` over the
window axis, average pooling = ``unfold`` + sum / divisor. Forwards loop over the KH*KW kernel
offsets, each a strided view of the whole batch, so no window copy is made and a channels-last
input stays channels-last.
"""
import numpy as np

from .. import primitive, Primitive, _parallel
from ..._backend import xp_of

__all__ = []


def pool_out_size(size, k, s, p, d, ceil_mode):
    """torch's pooling output length (a last window must start inside the input or left pad)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _padded(x, pad, fill, out_hw, kernel, stride, dilation):
    """x padded with ``fill`` so that every window of the output fits; keeps a channels-last
    layout channels-last."""
    xp = xp_of(x)
    n, c, h, w = x.shape
    need = [(out_hw[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 for i in range(2)]
    after = [max(need[0] - h - pad[0], 0), max(need[1] - w - pad[1], 0)]
    if pad == (0, 0) and after == [0, 0]:
        return x
    shape = (n, h + pad[0] + after[0], w + pad[1] + after[1], c)
    if x.transpose(0, 2, 3, 1).flags.c_contiguous:
        out = xp.full(shape, fill, dtype=x.dtype).transpose(0, 3, 1, 2)
    else:
        out = xp.full((n, c) + shape[1:3], fill, dtype=x.dtype)
    out[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    return out


def _offsets(xpad, kernel, stride, dilation, out_hw):
    """Yield (k, view) for each kernel offset: the (N, C, Ho, Wo) strided view it sees."""
    span = [(out_hw[i] - 1) * stride[i] + 1 for i in range(2)]
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            oi, oj = i * dilation[0], j * dilation[1]
            view = xpad[:, :, oi:oi + span[0]:stride[0], oj:oj + span[1]:stride[1]]
            yield i * kernel[1] + j, view


def _first_offsets(xp, out_hw, kernel, stride, padding, dilation):
    """(Ho, Wo) kernel offset of each window's first non-padding element."""
    first = [xp.maximum(-((xp.arange(out_hw[i]) * stride[i] - padding[i]) // dilation[i]), 0)
             for i in range(2)]
    return first[0][:, None] * kernel[1] + first[1][None, :]


def window_flat_index(arg, in_w, kernel, stride, padding, dilation):
    """Kernel offsets of window maxima -> flat (h * W + w) indices into the input plane."""
    xp = xp_of(arg)
    ho, wo = arg.shape[-2:]
    rows = (xp.arange(ho) * stride[0] - padding[0])[:, None]
    cols = xp.arange(wo) * stride[1] - padding[1]
    arg = arg.astype(np.int64)
    return (rows + (arg // kernel[1]) * dilation[0]) * in_w + cols + (arg % kernel[1]) * dilation[1]


@primitive
class MaxPool2d(Primitive):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode, with_index=True):
        """-> (max of each window, kernel offset of that max: uint8/int32, no gradient); only the
        maxima when neither ``with_index`` nor a gradient asks for the offsets."""
        xp = xp_of(x)
        h, w = x.shape[2:]
        out_hw = tuple(pool_out_size((h, w)[i], kernel[i], stride[i], padding[i], dilation[i],
                                     ceil_mode) for i in range(2))
        xpad = _padded(x, padding, -np.inf, out_hw, kernel, stride, dilation)
        first_view = next(_offsets(xpad, kernel, stride, dilation, out_hw))[1]
        best = xp.empty_like(first_view)          # the windows' memory order: channels-last stays
        if not (with_index or ctx.needs_input_grad[0]):
            # why: inference needs no argmax: one maximum per kernel offset (NaN propagates)
            def maxima(start, stop):
                top = best[start:stop]
                for k, view in _offsets(xpad[start:stop], kernel, stride, dilation, out_hw):
                    xp.copyto(top, view) if k == 0 else xp.maximum(top, view, out=top)
            _parallel.over_rows(maxima, best)
            return best
        has_nan = bool(xp.isnan(x).any())
        offset_type = np.uint8 if kernel[0] * kernel[1] < 256 else np.int32
        arg = xp.empty_like(best, dtype=offset_type)
        first = _first_offsets(xp, out_hw, kernel, stride, padding, dilation)

        # why: no masked copies (slow with random masks) and every work array shares the views'
        # memory order, so a channels-last input stays channels-last and each pass is a plain
        # ufunc. `better` is strict: the first maximum of a window wins, as in torch; a window
        # starts at its first non-padding offset, and -inf padding never beats it.
        def maxima_and_offsets(start, stop):
            top, where = best[start:stop], arg[start:stop]
            better, step = xp.empty_like(top, dtype=bool), xp.empty_like(where)
            for k, view in _offsets(xpad[start:stop], kernel, stride, dilation, out_hw):
                if k == 0:
                    xp.copyto(top, view)
                    where[...] = first
                    continue
                xp.greater(view, top, out=better)
                if has_nan:
                    better |= xp.isnan(view)     # torch: a NaN always takes over
                xp.maximum(top, view, out=top)
                xp.multiply(better, offset_type(k), out=step)
                xp.maximum(where, step, out=where)   # offsets only grow: the last "better" k wins
        _parallel.over_rows(maxima_and_offsets, best)
        ctx.arg, ctx.in_shape = arg, x.shape
        ctx.conf = (kernel, stride, padding, dilation)
        ctx.mark_non_differentiable(arg)
        return best, arg

    @staticmethod
    def backward(ctx, grad_out, grad_arg=None):
        """dx = grad routed to each window's argmax"""
        return (MaxPool2dBackward.apply(grad_out, ctx.arg, ctx.in_shape, *ctx.conf),) + \
            (None,) * 6


@primitive
class MaxPool2dBackward(Primitive):
    @staticmethod
    def forward(ctx, g, arg, in_shape, kernel, stride, padding, dilation):
        """(N, C, Ho, Wo) grads -> (N, C, H, W): each added at its window's argmax."""
        xp = xp_of(g)
        n, c, h, w = in_shape
        out_hw = g.shape[2:]
        ctx.arg, ctx.in_shape = arg, in_shape
        ctx.conf = (kernel, stride, padding, dilation)
        full = [max(h + 2 * padding[i] if i == 0 else w + 2 * padding[i],
                    (out_hw[i] - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1)
                for i in range(2)]
        unique = all(stride[i] >= dilation[i] * (kernel[i] - 1) + 1 for i in range(2))
        finite = bool(xp.isfinite(g).all())
        # why: windows that tile the plane (stride = kernel, no dilation) write every position
        # they cover below, so only the strips past the last window need zeros first
        tiled = unique and finite and all(stride[i] == kernel[i] and dilation[i] == 1
                                          for i in range(2))
        make = xp.empty if tiled else xp.zeros
        if g.transpose(0, 2, 3, 1).flags.c_contiguous:
            acc = make((n, full[0], full[1], c), dtype=g.dtype).transpose(0, 3, 1, 2)
        else:
            acc = make((n, c, full[0], full[1]), dtype=g.dtype)
        if tiled:
            acc[:, :, out_hw[0] * stride[0]:] = 0
            acc[:, :, :, out_hw[1] * stride[1]:] = 0

        def route(start, stop):
            grad, where = g[start:stop], arg[start:stop]
            hit = xp.empty_like(where, dtype=bool)
            for k, view in _offsets(acc[start:stop], kernel, stride, dilation, out_hw):
                xp.equal(where, k, out=hit)
                if not finite:       # why: inf * 0 would leak NaN into the other positions
                    view += xp.where(hit, grad, 0)
                elif unique:         # disjoint windows: write, no read-modify-write
                    xp.multiply(grad, hit, out=view)
                else:
                    view += grad * hit
        _parallel.over_rows(route, acc)
        return acc[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]

    @staticmethod
    def backward(ctx, grad_out):
        """d g = grad gathered at each window's argmax"""
        from .. import getitem, reshape
        xp = xp_of(ctx.arg)
        n, c, h, w = ctx.in_shape
        idx = window_flat_index(ctx.arg, w, *ctx.conf)
        index = (xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None], idx)
        return (getitem(reshape(grad_out, (n, c, h * w)), index),) + (None,) * 6


@primitive
class PlaneScatterAdd(Primitive):
    @staticmethod
    def forward(ctx, src, idx, plane, unique):
        """src, idx (N, C, ...) -> (N, C, plane) with out[n, c, idx] += src (channels-last)."""
        xp = xp_of(src)
        n, c = src.shape[:2]
        ctx.idx, ctx.src_shape = idx, src.shape
        extra = (1,) * (src.ndim - 2)
        pos = (xp.arange(n).reshape((n, 1) + extra) * (plane * c) + idx * c
               + xp.arange(c).reshape((1, c) + extra))
        if unique:       # why: distinct targets: a plain fancy assignment, cheaper than add.at
            out = xp.zeros(n * plane * c, dtype=src.dtype)
            out[pos] = src
        else:
            out = xp.bincount(pos.reshape(-1), weights=src.reshape(-1), minlength=n * plane * c)
            out = out.astype(src.dtype, copy=False)
        return out.reshape(n, plane, c).transpose(0, 2, 1)

    @staticmethod
    def backward(ctx, grad_out):
        """d src = grad gathered at idx"""
        from .. import getitem
        xp = xp_of(ctx.idx)
        n, c = ctx.src_shape[:2]
        extra = (1,) * (len(ctx.src_shape) - 2)
        index = (xp.arange(n).reshape((n, 1) + extra), xp.arange(c).reshape((1, c) + extra),
                 ctx.idx)
        return getitem(grad_out, index), None, None, None


def _avg_divisor(xp, in_hw, out_hw, kernel, stride, padding, count_include_pad, divisor_override,
                 dtype):
    """(Ho, Wo) divisor of each window, as torch counts it."""
    if divisor_override:
        return dtype.type(divisor_override)
    sizes = []
    for i in range(2):
        start = xp.arange(out_hw[i]) * stride[i] - padding[i]
        end = xp.minimum(start + kernel[i], in_hw[i] + padding[i])
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(xp.minimum(end, in_hw[i]) - xp.maximum(start, 0))
    return (sizes[0][:, None] * sizes[1][None, :]).astype(dtype)


@primitive
class AvgPool2d(Primitive):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        xp = xp_of(x)
        h, w = x.shape[2:]
        out_hw = tuple(pool_out_size((h, w)[i], kernel[i], stride[i], padding[i], 1, ceil_mode)
                       for i in range(2))
        ctx.conf = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
        ctx.in_shape = x.shape
        xpad = _padded(x, padding, 0, out_hw, kernel, stride, (1, 1))
        acc = None
        for _, view in _offsets(xpad, kernel, stride, (1, 1), out_hw):
            if acc is None:
                acc = xp.copy(view)
            else:
                acc += view
        acc /= _avg_divisor(xp, (h, w), out_hw, kernel, stride, padding, count_include_pad,
                            divisor_override, x.dtype)
        return acc

    @staticmethod
    def backward(ctx, grad_out):
        """dx = the adjoint: each output's grad / divisor spread over its window"""
        return (AvgPool2dAdjoint.apply(grad_out, ctx.in_shape, *ctx.conf),) + (None,) * 6


@primitive
class AvgPool2dAdjoint(Primitive):
    @staticmethod
    def forward(ctx, g, in_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                divisor_override):
        xp = xp_of(g)
        n, c, h, w = in_shape
        out_hw = g.shape[2:]
        ctx.conf = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
        g = g / _avg_divisor(xp, (h, w), out_hw, kernel, stride, padding, count_include_pad,
                             divisor_override, g.dtype)
        full = [max(h + 2 * padding[0], (out_hw[0] - 1) * stride[0] + kernel[0]),
                max(w + 2 * padding[1], (out_hw[1] - 1) * stride[1] + kernel[1])]
        if g.transpose(0, 2, 3, 1).flags.c_contiguous:
            acc = xp.zeros((n, full[0], full[1], c), dtype=g.dtype).transpose(0, 3, 1, 2)
        else:
            acc = xp.zeros((n, c, full[0], full[1]), dtype=g.dtype)
        for _, view in _offsets(acc, kernel, stride, (1, 1), out_hw):
            view += g
        return acc[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w]

    @staticmethod
    def backward(ctx, grad_out):
        """adjoint of the adjoint: average pooling"""
        return (AvgPool2d.apply(grad_out, *ctx.conf),) + (None,) * 7
