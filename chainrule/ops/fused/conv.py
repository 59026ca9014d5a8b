"""Convolution primitives on NCHW tensors: Conv2d and ConvTranspose2d (each with an optional
fused bias), and Conv2dWeight, the weight gradient.

Composite reference: ``unfold`` + ``matmul`` (``conv2d_reference`` and
``conv_transpose2d_reference`` in chainrule.nn.functional.conv); a test checks both against each
other and against torch.

Why channels-last inside: the window view of an NHWC array has contiguous (kernel-column, channel)
runs, so the im2col copy that feeds the single GEMM is cheap; the result of the GEMM is NHWC too and
is returned as an NCHW *view*, so the next conv finds its input already channels-last in memory.
Each backward is written with the same two primitives, so double backward works:

    conv2d:            dx = conv_transpose2d(g, w)      dw = conv2d_weight(x, g)
    conv_transpose2d:  dx = conv2d(g, w)                dw = conv2d_weight(g, x)

where ``conv2d_weight`` is the Conv2dWeight primitive: the forward's im2col matrix (transposed)
times the upstream gradient, one GEMM; its own backward is again a conv2d / conv_transpose2d.
"""
import math

import numpy as np

from .. import primitive, Primitive, _parallel
from ..._backend import xp_of
from ...autograd.grad_mode import is_grad_enabled
from ...backends.threads import run as run_threads

__all__ = []


def _windows(xh, kernel, stride, dilation, out_hw):
    """(N, Ho, Wo, KH, KW, C) strided view of a channels-last array (no copy)."""
    xp = xp_of(xh)
    sn, sh, sw, sc = xh.strides
    shape = (xh.shape[0],) + tuple(out_hw) + tuple(kernel) + (xh.shape[3],)
    strides = (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc)
    return xp.lib.stride_tricks.as_strided(xh, shape, strides)


def _nhwc_padded(x, pad_h, pad_w):
    """x (N, C, H, W) as a C-contiguous (N, H', W', C) array, zero-padded by (before, after) pairs;
    a negative pad crops."""
    xp = xp_of(x)
    xh = x.transpose(0, 2, 3, 1)
    n, h, w, c = xh.shape
    crop = xh[:, max(-pad_h[0], 0):h - max(-pad_h[1], 0), max(-pad_w[0], 0):w - max(-pad_w[1], 0)]
    ph = (max(pad_h[0], 0), max(pad_h[1], 0))
    pw = (max(pad_w[0], 0), max(pad_w[1], 0))
    if ph == (0, 0) and pw == (0, 0):
        if crop.flags.c_contiguous:
            return crop
        return _parallel.copyto(xp.empty(crop.shape, dtype=crop.dtype), crop)
    hc, wc = crop.shape[1], crop.shape[2]
    out = xp.empty((n, hc + sum(ph), wc + sum(pw), c), dtype=x.dtype)
    # why: zero only the border, so the interior is written once
    out[:, :ph[0]] = 0
    out[:, ph[0] + hc:] = 0
    out[:, ph[0]:ph[0] + hc, :pw[0]] = 0
    out[:, ph[0]:ph[0] + hc, pw[0] + wc:] = 0
    _parallel.copyto(out[:, ph[0]:ph[0] + hc, pw[0]:pw[0] + wc], crop)
    return out


# A stride-1 transposed conv (the input gradient of a conv) whose output is this many times its
# input's area is mostly padding as a conv, so it runs as columns + adds: the input gradient of
# LeNet's unpadded 32 -> 64 layer (11 x 11 -> 13 x 13) went from 7.8 to 6.5 ms on one thread,
# while a padded same-size one (CIFAR's 64 -> 64) is twice as fast as a conv (65 against 132 ms)
_COL2IM_AREA = 1.3

# Elements of one im2col block (8 MiB of float32): a block buffer this small is reused from the
# heap and mostly stays in cache, where a full im2col matrix (150 MB for a 64-channel 32x32 layer
# at batch 64) is a fresh mapping each call and pays a page fault per 4 KiB.
_BLOCK_ELEMS = 1 << 21


def _blocks(n, ho, wo, k, parts=1):
    """(n0, n1, h0, h1) blocks: whole images, or row bands of one image, each about
    ``_BLOCK_ELEMS`` im2col elements (``k`` per output pixel) and at least ``parts`` of them when
    there are that many images; their output rows are contiguous."""
    per_image = ho * wo * k
    if per_image == 0:
        return []
    if per_image <= _BLOCK_ELEMS:
        step = max(1, min(_BLOCK_ELEMS // per_image, -(-n // parts)))
        return [(n0, min(n, n0 + step), 0, ho) for n0 in range(0, n, step)]
    band = max(1, _BLOCK_ELEMS // (wo * k))
    return [(i, i + 1, h0, min(ho, h0 + band)) for i in range(n) for h0 in range(0, ho, band)]


def _im2col_blocks(win, blocks):
    """For a window view (N, Ho, Wo, KH, KW, C) and some of its ``_blocks``, yield (first row,
    block matrix) pairs: the im2col matrix (rows in (n, ho, wo) order, columns in (kh, kw, c)
    order) one block at a time, copied into one reused buffer (column-major when C is 1)."""
    xp = xp_of(win)
    n, ho, wo, kh, kw, c = win.shape
    k = kh * kw * c
    buf = None
    for n0, n1, h0, h1 in blocks:
        rows = (n1 - n0) * (h1 - h0) * wo
        if buf is None:
            buf = xp.empty(rows * k, dtype=win.dtype)
        block = buf[:rows * k]
        if c == 1:
            # why: with one channel the window view's runs are single elements; copying each
            # kernel offset's plane (runs of whole output rows) into the transposed matrix is
            # about 8x faster (LeNet's first layer: 1.0 -> 0.13 ms a batch of 64)
            planes = block.reshape(kh, kw, n1 - n0, h1 - h0, wo)
            for i in range(kh):
                for j in range(kw):
                    xp.copyto(planes[i, j], win[n0:n1, h0:h1, :, i, j, 0])
            yield (n0 * ho + h0) * wo, block.reshape(k, rows).T
            continue
        xp.copyto(block.reshape(n1 - n0, h1 - h0, wo, kh, kw, c), win[n0:n1, h0:h1])
        yield (n0 * ho + h0) * wo, block.reshape(rows, k)


def _over_blocks(win, out_channels, fn):
    """``fn(blocks)`` for groups of the window view's im2col blocks, one group per thread at
    once (each with its own block buffer); returns the groups' results."""
    n, ho, wo, kh, kw, c = win.shape
    k = kh * kw * c
    # the work of one image: its im2col copy and output, and its product at the cost per
    # multiply-add that MIN_MACS / MIN_ELEMS gives (a small-K conv is all copies)
    per_image = ho * wo * (k + out_channels
                           + k * out_channels * _parallel.MIN_ELEMS // _parallel.MIN_MACS)
    threads = len(_parallel.row_ranges(n, per_image, _parallel.MIN_ELEMS, claim=True)) \
        if type(win) is np.ndarray else 1
    blocks = _blocks(n, ho, wo, k, threads)
    groups = _parallel.row_ranges(len(blocks), 1, 1) if threads > 1 else [(0, len(blocks))]
    return run_threads(lambda b0, b1: fn(blocks[b0:b1]), groups)


def _conv_nhwc(xh, w, stride, dilation, groups):
    """Valid (unpadded) convolution of channels-last ``xh`` with ``w`` (O, C/G, KH, KW);
    returns (N, Ho, Wo, O). groups == 1: one GEMM per im2col block."""
    xp = xp_of(xh)
    n, hp, wp, c = xh.shape
    o, cg, kh, kw = w.shape
    ho = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    win = _windows(xh, (kh, kw), stride, dilation, (ho, wo))
    if groups == 1:
        wm = xp.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o))
        out = xp.empty((n * ho * wo, o), dtype=xp.result_type(xh.dtype, w.dtype))

        def product(blocks):
            for r0, cols in _im2col_blocks(win, blocks):
                xp.matmul(cols, wm, out=out[r0:r0 + cols.shape[0]])
        _over_blocks(win, o, product)
        return out.reshape(n, ho, wo, o)
    og = o // groups
    cols = win.reshape(n * ho * wo, kh, kw, groups, cg).transpose(3, 0, 1, 2, 4)
    cols = cols.reshape(groups, n * ho * wo, kh * kw * cg)
    wm = w.reshape(groups, og, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, -1, og)
    out = cols @ wm                                   # (G, NHW, O/G)
    return out.transpose(1, 0, 2).reshape(n, ho, wo, o)


def conv2d_forward(x, w, stride, padding, dilation, groups):
    """Raw-array conv2d: x (N, C, H, W), w (O, C/G, KH, KW) -> (N, O, Ho, Wo) (an NCHW view of
    channels-last memory)."""
    xh = _nhwc_padded(x, (padding[0], padding[0]), (padding[1], padding[1]))
    return _conv_nhwc(xh, w, stride, dilation, groups).transpose(0, 3, 1, 2)


def _transposed_kernel(w, groups):
    """(Cin, Cout/G, KH, KW) -> the flipped (Cout, Cin/G, KH, KW) kernel of the equivalent conv."""
    cin, cout_g, kh, kw = w.shape
    wg = w.reshape(groups, cin // groups, cout_g, kh, kw).transpose(0, 2, 1, 3, 4)
    return wg.reshape(groups * cout_g, cin // groups, kh, kw)[:, :, ::-1, ::-1]


def conv_transpose2d_forward(x, w, stride, padding, output_padding, dilation, groups):
    """Raw-array conv_transpose2d: x (N, Cin, H, W), w (Cin, Cout/G, KH, KW) -> (N, Cout, Ho, Wo)
    with Ho = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1."""
    xp = xp_of(x)
    n, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    cout = cout_g * groups
    ext = [dilation[i] * (k - 1) for i, k in enumerate((kh, kw))]
    out_area = math.prod((x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + ext[i]
                         + output_padding[i] + 1 for i in range(2))
    if stride == (1, 1) and (groups > 1 or out_area < _COL2IM_AREA * h * wd):
        # why: at stride 1 the transposed conv is a plain conv of the padded input with the
        # flipped kernel -- one im2col + GEMM and no scatter
        xh = _nhwc_padded(x, (ext[0] - padding[0], ext[0] - padding[0] + output_padding[0]),
                          (ext[1] - padding[1], ext[1] - padding[1] + output_padding[1]))
        out = _conv_nhwc(xh, _transposed_kernel(w, groups), (1, 1), dilation, groups)
        return out.transpose(0, 3, 1, 2)
    # col2im: one GEMM to the (KH, KW, Cout) columns, then KH*KW strided adds
    xh = x.transpose(0, 2, 3, 1)
    if groups == 1:
        cols = _parallel.matmul(xh.reshape(n * h * wd, cin),
                                w.transpose(0, 2, 3, 1).reshape(cin, -1))
        cols = cols.reshape(n, h, wd, kh, kw, cout)
    else:
        cin_g = cin // groups
        xg = xh.reshape(n * h * wd, groups, cin_g).transpose(1, 0, 2)
        wg = w.reshape(groups, cin_g, cout_g, kh, kw).transpose(0, 1, 3, 4, 2)
        cols = xg @ wg.reshape(groups, cin_g, -1)         # (G, NHW, KH*KW*Cout_g)
        cols = cols.reshape(groups, n, h, wd, kh, kw, cout_g).transpose(1, 2, 3, 4, 5, 0, 6)
        cols = cols.reshape(n, h, wd, kh, kw, cout)
    full_h = (h - 1) * stride[0] + ext[0] + 1 + output_padding[0]
    full_w = (wd - 1) * stride[1] + ext[1] + 1 + output_padding[1]
    full = xp.zeros((n, full_h, full_w, cout), dtype=x.dtype)
    span_h, span_w = (h - 1) * stride[0] + 1, (wd - 1) * stride[1] + 1

    def scatter(start, stop):
        for i in range(kh):
            for j in range(kw):
                oi, oj = i * dilation[0], j * dilation[1]
                full[start:stop, oi:oi + span_h:stride[0], oj:oj + span_w:stride[1]] += \
                    cols[start:stop, :, :, i, j]
    _parallel.over_rows(scatter, full)
    ho = full_h - 2 * padding[0]
    wo = full_w - 2 * padding[1]
    out = full[:, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo]
    return out.transpose(0, 3, 1, 2)


def _weight_grad_nhwc(xh, g, weight_shape, stride, dilation, groups):
    """dL/dw of a valid convolution of channels-last ``xh`` for upstream ``g`` (N, O, Ho, Wo):
    the im2col matrix of ``xh`` (transposed) times ``g`` as an (N*Ho*Wo, O) matrix, accumulated
    over im2col blocks. Returns (O, C/G, KH, KW)."""
    xp = xp_of(xh)
    n, _, _, c = xh.shape
    o, cg, kh, kw = weight_shape
    ho, wo = g.shape[2], g.shape[3]
    rows = n * ho * wo
    gh = g.transpose(0, 2, 3, 1)                 # channels-last view: free when g already is
    win = _windows(xh, (kh, kw), stride, dilation, (ho, wo))
    if groups == 1:
        gm = gh.reshape(rows, o) if gh.flags.c_contiguous else None

        def product(blocks):             # this group's share of dw: sum of cols^T g over blocks
            dw = tmp = None
            for r0, cols in _im2col_blocks(win, blocks):
                r1 = r0 + cols.shape[0]
                if gm is not None:
                    gb = gm[r0:r1]
                else:                        # rows r0:r1 are whole images or one band
                    gb = xp.ascontiguousarray(_rows_of(gh, r0, r1, ho, wo)).reshape(-1, o)
                if dw is None:
                    dw = cols.T @ gb
                    tmp = xp.empty_like(dw)
                else:
                    xp.matmul(cols.T, gb, out=tmp)
                    dw += tmp
            return dw
        dw = _parallel.added(_over_blocks(win, o, product))
        if dw is None:                           # empty batch or empty output
            dw = xp.zeros((kh * kw * c, o), dtype=xp.result_type(xh.dtype, g.dtype))
        dw = dw.reshape(kh, kw, c, o)
        return xp.ascontiguousarray(dw.transpose(3, 2, 0, 1))
    og = o // groups
    gm = gh.reshape(rows, o)
    cols = win.reshape(rows, kh * kw * c)
    colsg = cols.reshape(rows, kh * kw, groups, cg).transpose(2, 1, 3, 0)
    colsg = colsg.reshape(groups, kh * kw * cg, rows)
    dw = colsg @ gm.reshape(rows, groups, og).transpose(1, 0, 2)     # (G, KH*KW*C/G, O/G)
    dw = dw.reshape(groups, kh, kw, cg, og).transpose(0, 4, 3, 1, 2)
    return xp.ascontiguousarray(dw.reshape(o, cg, kh, kw))


def _rows_of(gh, r0, r1, ho, wo):
    """Rows r0:r1 of the (N*Ho*Wo, O) matrix of channels-last ``gh`` as an array view: whole
    images, or a band of rows of one image (the blocks ``_blocks`` makes)."""
    per = ho * wo
    if r0 % per == 0 and r1 % per == 0:
        return gh[r0 // per:r1 // per]
    i, h0 = r0 // per, (r0 % per) // wo
    return gh[i:i + 1, h0:h0 + (r1 - r0) // wo]


def conv2d_weight(input, grad_out, weight_shape, stride, padding, dilation, groups):
    """The gradient of conv2d(input, w) w.r.t. w (shape ``weight_shape``) for upstream
    ``grad_out`` (Tensors in, a Tensor out; differentiable through Conv2dWeight)."""
    return Conv2dWeight.apply(input, grad_out, tuple(weight_shape), stride, padding, dilation,
                              groups)


def _transpose_out_pad(in_hw, out_hw, kernel, stride, padding, dilation):
    """output_padding that makes conv_transpose2d map ``out_hw`` back onto ``in_hw``."""
    return tuple(in_hw[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1
                 - (out_hw[i] - 1) * stride[i] for i in range(2))


def _crop_to(t, hw):
    """t (N, C, H', W') cropped to its first hw rows and columns (no-op when it fits)."""
    from .. import getitem
    if tuple(t.shape[2:]) == tuple(hw):
        return t
    return getitem(t, (slice(None), slice(None), slice(0, hw[0]), slice(0, hw[1])))


@primitive
class Conv2dWeight(Primitive):
    @staticmethod
    def forward(ctx, x, g, weight_shape, stride, padding, dilation, groups):
        """x (N, C, H, W), g (N, O, Ho, Wo) -> dL/dw (O, C/G, KH, KW) of conv2d(x, w)."""
        ctx.save_for_backward(x, g)
        ctx.conf = (weight_shape, stride, padding, dilation, groups)
        xh = _nhwc_padded(x, (padding[0], padding[0]), (padding[1], padding[1]))
        return _weight_grad_nhwc(xh, g, weight_shape, stride, dilation, groups)

    @staticmethod
    def backward(ctx, grad_w):
        """dw is bilinear in (x, g): dx = conv_transpose2d(g, grad_w), dg = conv2d(x, grad_w)"""
        x, g = ctx.saved_tensors
        weight_shape, stride, padding, dilation, groups = ctx.conf
        grad_x = grad_g = None
        if ctx.needs_input_grad[0]:
            out_pad = _transpose_out_pad(x.shape[2:], g.shape[2:], weight_shape[2:], stride,
                                         padding, dilation)
            grad_x = ConvTranspose2d.apply(g, grad_w, stride, padding, out_pad, dilation, groups)
        if ctx.needs_input_grad[1]:
            grad_g = _crop_to(Conv2d.apply(x, grad_w, stride, padding, dilation, groups),
                              g.shape[2:])
        return grad_x, grad_g, None, None, None, None, None


def _add_channel_bias(out, bias):
    """out (N, C, H, W) += bias (C,), in place, in out's memory order; returns out."""
    if bias is not None:
        _parallel.elementwise(xp_of(out).add, out, out, bias.reshape(1, -1, 1, 1))
    return out


def _bias_grad(grad_out):
    """d(out + bias)/d bias: the upstream gradient summed over batch and space."""
    g = grad_out.data
    if is_grad_enabled() or type(g) is not np.ndarray:
        from .. import sum as _sum
        return _sum(grad_out, (0, 2, 3))
    # why: a first-order pass records nothing: each thread sums its images, over the axes
    # that are contiguous in the gradient's memory
    n, c = g.shape[:2]
    gh = g.transpose(0, 2, 3, 1)
    plane = g.shape[2] * g.shape[3]
    if gh.flags.c_contiguous:
        view, axes = gh.reshape(n, plane, c), (0, 1)
    elif g.flags.c_contiguous:
        view, axes = g.reshape(n, c, plane), (0, 2)
    else:
        view, axes = g, (0, 2, 3)
    # (claimed: a conv's work, and its partial sums then do not hang on the pool's timing)
    total = _parallel.added(_parallel.for_rows(lambda a, b: view[a:b].sum(axis=axes), n,
                                               g.size // max(1, n), claim=True))
    return grad_out._make(total.astype(g.dtype, copy=False))


@primitive
class Conv2d(Primitive):
    @staticmethod
    def forward(ctx, x, w, stride, padding, dilation, groups, bias=None):
        """x (N, C, H, W), w (O, C/G, KH, KW), optional bias (O,) -> (N, O, Ho, Wo)."""
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None
        return _add_channel_bias(conv2d_forward(x, w, stride, padding, dilation, groups), bias)

    @staticmethod
    def backward(ctx, grad_out):
        """dx = conv_transpose2d(g, w), dw = conv2d_weight(x, g), db = sum of g over N, H, W"""
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            out_pad = _transpose_out_pad(x.shape[2:], grad_out.shape[2:], w.shape[2:], stride,
                                         padding, dilation)
            grad_x = ConvTranspose2d.apply(grad_out, w, stride, padding, out_pad, dilation, groups)
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight(x, grad_out, w.shape, stride, padding, dilation, groups)
        grads = (grad_x, grad_w, None, None, None, None)
        if ctx.has_bias:
            grads += (_bias_grad(grad_out) if ctx.needs_input_grad[6] else None,)
        return grads


@primitive
class ConvTranspose2d(Primitive):
    @staticmethod
    def forward(ctx, x, w, stride, padding, output_padding, dilation, groups, bias=None):
        """x (N, Cin, H, W), w (Cin, Cout/G, KH, KW), optional bias (Cout,) -> (N, Cout, Ho, Wo)."""
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None
        out = conv_transpose2d_forward(x, w, stride, padding, output_padding, dilation, groups)
        return _add_channel_bias(out, bias)

    @staticmethod
    def backward(ctx, grad_out):
        """dx = conv2d(g, w), dw = conv2d_weight(g, x), db = sum of g over N, H, W"""
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:       # output_padding >= stride leaves extra rows: crop
            grad_x = _crop_to(Conv2d.apply(grad_out, w, stride, padding, dilation, groups),
                              x.shape[2:])
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight(grad_out, x, w.shape, stride, padding, dilation, groups)
        grads = (grad_x, grad_w, None, None, None, None, None)
        if ctx.has_bias:
            grads += (_bias_grad(grad_out) if ctx.needs_input_grad[7] else None,)
        return grads
