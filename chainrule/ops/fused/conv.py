"""Convolution primitives on NCHW tensors: Conv2d and ConvTranspose2d.

Composite reference: ``unfold`` + ``matmul`` (``conv2d_reference`` and
``conv_transpose2d_reference`` in chainrule.nn.functional.conv); a test checks both against each other and against torch.

Why channels-last inside: the window view of an NHWC array has contiguous (kernel-column, channel)
runs, so the im2col copy that feeds the single GEMM is cheap; the result of the GEMM is NHWC too and
is returned as an NCHW *view*, so the next conv finds its input already channels-last in memory.
Each backward is written with the same two primitives, so double backward works:

    conv2d:            dx = conv_transpose2d(g, w)      dw = conv2d_weight(x, g)
    conv_transpose2d:  dx = conv2d(g, w)                dw = conv2d_weight(g, x)

where ``conv2d_weight`` is itself a Conv2d with the batch and channel axes swapped.
"""
from .. import primitive, Primitive
from ..._backend import xp_of

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
        return xp.ascontiguousarray(crop)
    out = xp.zeros((n, crop.shape[1] + sum(ph), crop.shape[2] + sum(pw), c), dtype=x.dtype)
    out[:, ph[0]:ph[0] + crop.shape[1], pw[0]:pw[0] + crop.shape[2]] = crop
    return out


def _conv_nhwc(xh, w, stride, dilation, groups):
    """Valid (unpadded) convolution of channels-last ``xh`` with ``w`` (O, C/G, KH, KW);
    returns (N, Ho, Wo, O)."""
    n, hp, wp, c = xh.shape
    o, cg, kh, kw = w.shape
    ho = (hp - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wp - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    win = _windows(xh, (kh, kw), stride, dilation, (ho, wo))
    if groups == 1:
        cols = win.reshape(n * ho * wo, kh * kw * c)
        out = cols @ w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)
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
    if stride == (1, 1):
        # why: at stride 1 the transposed conv is a plain conv of the padded input with the
        # flipped kernel -- one im2col + GEMM and no scatter
        xh = _nhwc_padded(x, (ext[0] - padding[0], ext[0] - padding[0] + output_padding[0]),
                          (ext[1] - padding[1], ext[1] - padding[1] + output_padding[1]))
        out = _conv_nhwc(xh, _transposed_kernel(w, groups), (1, 1), dilation, groups)
        return out.transpose(0, 3, 1, 2)
    # col2im: one GEMM to the (KH, KW, Cout) columns, then KH*KW strided adds
    xh = x.transpose(0, 2, 3, 1)
    if groups == 1:
        cols = xh.reshape(n * h * wd, cin) @ w.transpose(0, 2, 3, 1).reshape(cin, -1)
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
    for i in range(kh):
        for j in range(kw):
            oi, oj = i * dilation[0], j * dilation[1]
            full[:, oi:oi + span_h:stride[0], oj:oj + span_w:stride[1]] += cols[:, :, :, i, j]
    ho = full_h - 2 * padding[0]
    wo = full_w - 2 * padding[1]
    out = full[:, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo]
    return out.transpose(0, 3, 1, 2)


def conv2d_weight(input, grad_out, weight_shape, stride, padding, dilation, groups):
    """The gradient of conv2d(input, w) w.r.t. w (shape ``weight_shape``) for upstream ``grad_out``:
    a Conv2d of the input (batch as channels) with grad_out (batch as input channels), stride and
    dilation swapped."""
    from .. import reshape, permute, getitem
    n, c, h, w = input.shape
    o, ho, wo = grad_out.shape[1], grad_out.shape[2], grad_out.shape[3]
    cg, og = c // groups, o // groups
    inp = permute(reshape(input, (n, groups, cg, h, w)), (2, 1, 0, 3, 4))
    inp = reshape(inp, (cg, groups * n, h, w))
    ker = permute(reshape(grad_out, (n, groups, og, ho, wo)), (1, 2, 0, 3, 4))
    ker = reshape(ker, (o, n, ho, wo))
    out = Conv2d.apply(inp, ker, dilation, padding, stride, groups)     # (C/G, O, KH', KW')
    kh, kw = weight_shape[2], weight_shape[3]
    if out.shape[2] != kh or out.shape[3] != kw:
        out = getitem(out, (slice(None), slice(None), slice(0, kh), slice(0, kw)))
    return permute(out, (1, 0, 2, 3))


@primitive
class Conv2d(Primitive):
    @staticmethod
    def forward(ctx, x, w, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        return conv2d_forward(x, w, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        """dx = conv_transpose2d(g, w), dw = conv2d(x^T, g^T) (batch and channels swapped)"""
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            out_pad = tuple(
                x.shape[2 + i] + 2 * padding[i] - dilation[i] * (w.shape[2 + i] - 1) - 1
                - (grad_out.shape[2 + i] - 1) * stride[i] for i in range(2))
            grad_x = ConvTranspose2d.apply(grad_out, w, stride, padding, out_pad, dilation, groups)
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight(x, grad_out, w.shape, stride, padding, dilation, groups)
        return grad_x, grad_w, None, None, None, None


@primitive
class ConvTranspose2d(Primitive):
    @staticmethod
    def forward(ctx, x, w, stride, padding, output_padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        return conv_transpose2d_forward(x, w, stride, padding, output_padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad_out):
        """dx = conv2d(g, w), dw = conv2d(g^T, x^T) (batch and channels swapped)"""
        from .. import getitem
        x, w = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = Conv2d.apply(grad_out, w, stride, padding, dilation, groups)
            if tuple(grad_x.shape) != tuple(x.shape):   # output_padding >= stride: extra rows
                grad_x = getitem(grad_x, (slice(None), slice(None), slice(0, x.shape[2]),
                                          slice(0, x.shape[3])))
        if ctx.needs_input_grad[1]:
            grad_w = conv2d_weight(grad_out, x, w.shape, stride, padding, dilation, groups)
        return grad_x, grad_w, None, None, None, None, None
