"""Convolutions (torch.nn.functional API): argument checking and normalisation around the fused
Conv2d / ConvTranspose2d primitives, the 1-D versions (a 2-D conv of height 1), im2col
(``unfold``) and col2im (``fold``), and the unfold + matmul composite references."""
import numpy as np

from ... import ops
from ...ops.fused.conv import Conv2d, ConvTranspose2d
from ...ops.index import IndexAdd
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


def _tuple(value, n, name, op):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * n
    value = tuple(int(v) for v in value)
    if len(value) == 1:
        return value * n
    if len(value) != n:
        raise RuntimeError(f"{op}: expected {name} to be a single integer or a list of {n} "
                           f"integers, got {value}")
    return value


def _check_tensor(x, name, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{name}' must be a Tensor, not {type(x).__name__}")


def _check_args(op, input, weight, bias, n):
    """Validate dims and dtypes; returns (input with a batch dim, whether it was unbatched)."""
    _check_tensor(input, "input", op)
    _check_tensor(weight, "weight", op)
    if input.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{op}: Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to "
                           f"{op}, but got input of size: {list(input.shape)}")
    if weight.ndim != n + 2:
        raise RuntimeError(f"{op}: expected weight to be {n + 2}-D, got weight of size "
                           f"{list(weight.shape)}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}: \"slow_conv\" not implemented for '{input.dtype}' input; use a "
                           "floating-point input")
    if input.dtype is not weight.dtype or (bias is not None and bias.dtype is not input.dtype):
        other = bias.dtype if bias is not None and weight.dtype is input.dtype else weight.dtype
        raise RuntimeError(f"{op}: Input type ({input.dtype}) and weight/bias type ({other}) "
                           "should be the same")
    unbatched = input.ndim == n + 1
    return (ops.unsqueeze(input, 0) if unbatched else input), unbatched


def _check_bias(bias, channels, op):
    """The bias argument as the fused primitives take it: () for none, else (bias,)."""
    if bias is None:
        return ()
    _check_tensor(bias, "bias", op)
    if tuple(bias.shape) != (channels,):
        raise RuntimeError(f"{op}: expected bias of shape ({channels},), got "
                           f"{tuple(bias.shape)}")
    return (bias,)


def _add_bias(out, bias, op):
    if bias is None:
        return out
    _check_bias(bias, out.shape[1], op)
    return out + ops.reshape(bias, (1, -1) + (1,) * (out.ndim - 2))


def _same_padding(kernel, dilation, stride, op):
    if any(s != 1 for s in stride):
        raise RuntimeError(f"{op}: padding='same' is not supported for strided convolutions")
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)


def _conv(op, input, weight, bias, stride, padding, dilation, groups, n):
    x, unbatched = _check_args(op, input, weight, bias, n)
    stride = _tuple(stride, n, "stride", op)
    dilation = _tuple(dilation, n, "dilation", op)
    kernel = tuple(weight.shape[2:])
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got {stride}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, got {dilation}")
    if not isinstance(groups, (int, np.integer)) or groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got {groups}")
    if weight.shape[0] % groups:
        raise RuntimeError(f"{op}: Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of size {list(weight.shape)}")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"{op}: Given groups={groups}, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight.shape[1] * groups} "
                           f"channels, but got {x.shape[1]} channels instead")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * n
        elif padding == "same":
            before, after = _same_padding(kernel, dilation, stride, op)
            if before != after:     # odd total padding: the extra zero goes after (torch)
                from .vision import pad as _pad
                extra = []
                for b, a in zip(before[::-1], after[::-1]):
                    extra += [0, a - b]
                x = _pad(x, extra)
            padding = before
        else:
            raise RuntimeError(f"{op}: Invalid padding string: '{padding}' (expected 'same' or "
                               "'valid')")
    padding = _tuple(padding, n, "padding", op)
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported, got {padding}")
    padded = [x.shape[2 + i] + 2 * padding[i] for i in range(n)]
    ext = [dilation[i] * (kernel[i] - 1) + 1 for i in range(n)]
    if any(p < e for p, e in zip(padded, ext)):
        raise RuntimeError(
            f"{op}: Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
            f"Kernel size: ({' x '.join(map(str, ext))}). Kernel size can't be greater than "
            "actual input size")
    b = _check_bias(bias, weight.shape[0], op)      # added inside the fused primitive
    if n == 1:
        x, w = ops.unsqueeze(x, 2), ops.unsqueeze(weight, 2)
        out = Conv2d.apply(x, w, (1,) + stride, (0,) + padding, (1,) + dilation, int(groups), *b)
        out = ops.squeeze(out, 2)
    else:
        out = Conv2d.apply(x, weight, stride, padding, dilation, int(groups), *b)
    return ops.squeeze(out, 0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation over an input of several channels.

    Args:
        input: (N, C_in, L) or (C_in, L).
        weight: (C_out, C_in / groups, K).
        bias: optional (C_out,).
        stride, padding, dilation: ints or 1-tuples; ``padding`` may be 'valid' or 'same'.
        groups: split the channels into this many independent groups.

    Shape: output (N, C_out, L_out), L_out = (L + 2 padding - dilation (K - 1) - 1) // stride + 1.
    """
    return _conv("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation over an input of several channels (torch.nn.functional.conv2d).

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_out, C_in / groups, KH, KW).
        bias: optional (C_out,).
        stride, padding, dilation: an int or a pair; ``padding`` may also be 'valid' (no
            padding) or 'same' (output as large as the input; stride 1 only).
        groups: split the channels into this many independent groups.

    Shape: output (N, C_out, H_out, W_out) with
        H_out = (H + 2 padding[0] - dilation[0] (KH - 1) - 1) // stride[0] + 1 (W likewise).

    Example::

        >>> x = chainrule.randn(8, 3, 28, 28)
        >>> w = chainrule.randn(16, 3, 3, 3)
        >>> F.conv2d(x, w, padding=1).shape
        chainrule.Size([8, 16, 28, 28])
    """
    return _conv("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def _conv_transpose(op, input, weight, bias, stride, padding, output_padding, groups, dilation,
                    n):
    x, unbatched = _check_args(op, input, weight, bias, n)
    stride = _tuple(stride, n, "stride", op)
    padding = _tuple(padding, n, "padding", op)
    output_padding = _tuple(output_padding, n, "output_padding", op)
    dilation = _tuple(dilation, n, "dilation", op)
    if any(s <= 0 for s in stride) or any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: stride and dilation must be positive, got stride={stride}, "
                           f"dilation={dilation}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"{op}: negative padding is not supported, got {padding}")
    for i in range(n):
        if output_padding[i] >= max(stride[i], dilation[i]) or output_padding[i] < 0:
            raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                               f"dilation, but got output_padding={output_padding}, "
                               f"stride={stride}, dilation={dilation}")
    if groups <= 0 or x.shape[1] % groups:
        raise RuntimeError(f"{op}: Given groups={groups}, expected input channels "
                           f"({x.shape[1]}) to be divisible by groups")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {list(weight.shape)}, "
                           f"expected input{list(x.shape)} to have {weight.shape[0]} channels, "
                           f"but got {x.shape[1]} channels instead")
    kernel = tuple(weight.shape[2:])
    out_size = [(x.shape[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1)
                + output_padding[i] + 1 for i in range(n)]
    if any(s <= 0 for s in out_size):
        raise RuntimeError(f"{op}: Given input size per channel {list(x.shape[2:])}, calculated "
                           f"output size {out_size} is too small")
    b = _check_bias(bias, weight.shape[1] * groups, op)
    if n == 1:
        out = ConvTranspose2d.apply(ops.unsqueeze(x, 2), ops.unsqueeze(weight, 2), (1,) + stride,
                                    (0,) + padding, (0,) + output_padding, (1,) + dilation,
                                    int(groups), *b)
        out = ops.squeeze(out, 2)
    else:
        out = ConvTranspose2d.apply(x, weight, stride, padding, output_padding, dilation,
                                    int(groups), *b)
    return ops.squeeze(out, 0) if unbatched else out


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution (the gradient of conv1d w.r.t. its input).

    Args:
        input: (N, C_in, L) or (C_in, L).
        weight: (C_in, C_out / groups, K).

    Shape: output (N, C_out, L_out),
        L_out = (L - 1) stride - 2 padding + dilation (K - 1) + output_padding + 1.
    """
    return _conv_transpose("conv_transpose1d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution ("deconvolution"): the adjoint of conv2d w.r.t. its input.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W).
        weight: (C_in, C_out / groups, KH, KW).
        bias: optional (C_out,).
        stride, padding, output_padding, dilation: an int or a pair; output_padding adds rows and
            columns on one side and must be smaller than stride or dilation.

    Shape: output (N, C_out, H_out, W_out) with
        H_out = (H - 1) stride[0] - 2 padding[0] + dilation[0] (KH - 1) + output_padding[0] + 1.

    Example::

        >>> x = chainrule.randn(2, 8, 7, 7)
        >>> F.conv_transpose2d(x, chainrule.randn(8, 4, 3, 3), stride=2, padding=1,
        ...                    output_padding=1).shape
        chainrule.Size([2, 4, 14, 14])
    """
    return _conv_transpose("conv_transpose2d", input, weight, bias, stride, padding,
                           output_padding, groups, dilation, 2)


def _unfold_index(size, kernel, dilation, padding, stride, op):
    """Per spatial axis: (K, L) indices into the padded input, and L."""
    out = []
    for i in range(2):
        length = (size[i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
        if length <= 0:
            raise RuntimeError(f"{op}: Given input with spatial size {tuple(size)}, "
                               f"kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                               f"calculated shape of the array of sliding blocks is non-positive")
        idx = np.arange(kernel[i])[:, None] * dilation[i] + np.arange(length)[None, :] * stride[i]
        out.append((idx, length))
    return out


def _block_conf(kernel_size, dilation, padding, stride, op):
    return (_tuple(kernel_size, 2, "kernel_size", op), _tuple(dilation, 2, "dilation", op),
            _tuple(padding, 2, "padding", op), _tuple(stride, 2, "stride", op))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks (im2col).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size, dilation, padding, stride: an int or a pair.

    Shape: output (N, C * KH * KW, L) where L is the number of blocks; column ``l`` holds block
    ``l`` (row-major over the output grid) flattened in (C, KH, KW) order.
    """
    _check_tensor(input, "input", "unfold")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: Input Error: Only 3D or 4D input Tensors are supported "
                           f"(got {input.ndim}D)")
    kernel, dilation, padding, stride = _block_conf(kernel_size, dilation, padding, stride,
                                                    "unfold")
    x = ops.unsqueeze(input, 0) if input.ndim == 3 else input
    n, c, h, w = x.shape
    (hi, lh), (wi, lw) = _unfold_index((h, w), kernel, dilation, padding, stride, "unfold")
    if padding != (0, 0):
        from .vision import pad as _pad
        x = _pad(x, (padding[1], padding[1], padding[0], padding[0]))
    blocks = ops.getitem(x, (slice(None), slice(None), hi[:, None, :, None], wi[None, :, None, :]))
    out = ops.reshape(blocks, (n, c * kernel[0] * kernel[1], lh * lw))
    return ops.squeeze(out, 0) if input.ndim == 3 else out


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Combine sliding local blocks into a tensor, summing overlaps (col2im; adjoint of unfold).

    Args:
        input: (N, C * KH * KW, L) or (C * KH * KW, L).
        output_size: (H, W) of the result.

    Shape: output (N, C, H, W).
    """
    _check_tensor(input, "input", "fold")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: Input Error: Only unbatched (2D) or batched (3D) input Tensors "
                           f"are supported (got {input.ndim}D)")
    size = _tuple(output_size, 2, "output_size", "fold")
    kernel, dilation, padding, stride = _block_conf(kernel_size, dilation, padding, stride, "fold")
    x = ops.unsqueeze(input, 0) if input.ndim == 2 else input
    n, ckk, length = x.shape
    if ckk % (kernel[0] * kernel[1]):
        raise RuntimeError(f"fold: Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={ckk} and "
                           f"kernel_size={kernel}")
    (hi, lh), (wi, lw) = _unfold_index(size, kernel, dilation, padding, stride, "fold")
    if lh * lw != length:
        raise RuntimeError(f"fold: Given output_size={size}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}, expected "
                           f"size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {lh} * {lw} = {lh * lw}, but got {length}")
    c = ckk // (kernel[0] * kernel[1])
    blocks = ops.reshape(x, (n, c, kernel[0], kernel[1], lh, lw))
    padded = (n, c, size[0] + 2 * padding[0], size[1] + 2 * padding[1])
    index = (slice(None), slice(None), hi[:, None, :, None], wi[None, :, None, :])
    out = IndexAdd.apply(blocks, padded, index)
    out = ops.getitem(out, (slice(None), slice(None), slice(padding[0], padding[0] + size[0]),
                            slice(padding[1], padding[1] + size[1])))
    return ops.squeeze(out, 0) if input.ndim == 2 else out


def conv2d_reference(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d as unfold + matmul: the composite the fused Conv2d primitive must agree with."""
    n, c, h, w = input.shape
    o, cg, kh, kw = weight.shape
    stride, padding, dilation = (_tuple(v, 2, "", "conv2d") for v in (stride, padding, dilation))
    cols = unfold(input, (kh, kw), dilation, padding, stride)            # (N, C KH KW, L)
    cols = ops.reshape(cols, (n, groups, cg * kh * kw, cols.shape[-1]))
    out = ops.matmul(ops.reshape(weight, (groups, o // groups, cg * kh * kw)), cols)
    ho, wo = ((input.shape[2 + i] + 2 * padding[i] - dilation[i] * ((kh, kw)[i] - 1) - 1)
              // stride[i] + 1 for i in range(2))
    out = ops.reshape(out, (n, o, ho, wo))
    return _add_bias(out, bias, "conv2d")


def conv_transpose2d_reference(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                               groups=1, dilation=1):
    """conv_transpose2d as matmul + fold: the composite reference of ConvTranspose2d."""
    n, cin, h, w = input.shape
    _, cout_g, kh, kw = weight.shape
    stride, padding, output_padding, dilation = (
        _tuple(v, 2, "", "conv_transpose2d") for v in (stride, padding, output_padding, dilation))
    size = tuple((input.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                 + dilation[i] * ((kh, kw)[i] - 1) + output_padding[i] + 1 for i in range(2))
    x = ops.reshape(input, (n, groups, cin // groups, h * w))
    wg = ops.transpose(ops.reshape(weight, (groups, cin // groups, cout_g * kh * kw)), -1, -2)
    cols = ops.reshape(ops.matmul(wg, x), (n, groups * cout_g * kh * kw, h * w))
    # fold over the size without output_padding cropping, then add the extra rows/columns
    full = tuple(size[i] + 2 * padding[i] for i in range(2))
    out = fold(cols, full, (kh, kw), dilation, 0, stride)
    out = ops.getitem(out, (slice(None), slice(None), slice(padding[0], padding[0] + size[0]),
                            slice(padding[1], padding[1] + size[1])))
    return _add_bias(out, bias, "conv_transpose2d")
