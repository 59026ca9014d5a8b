"""OpInfo entries: convolutions, unfold/fold, padding, pixel shuffle and interpolation."""
import numpy as np
import torch
import torch.nn.functional as TF

import chainrule.nn.functional as F
from chainrule.nn.functional.conv import conv2d_reference, conv_transpose2d_reference
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig

# Conv2dWeight (the weight gradient) is reached by the backward of both, so by gradgradcheck
CONV = ("Conv2d", "ConvTranspose2d", "Conv2dWeight")


def _no_0d(name, dims):
    return (f"{name} takes {dims} input (batch, channel and spatial dims): torch rejects 0-d "
            "input")


def _r(rng, dt):
    return lambda *s: rng.standard_normal(s).astype(dt)


def _conv2d_samples(dt, rng):
    r = _r(rng, dt)
    return [
        Sample((r(1, 2, 5, 5), r(3, 2, 3, 3), r(3)), desc="basic"),
        Sample((r(1, 2, 5, 4), r(2, 2, 2, 3)), dict(stride=(2, 1), padding=(1, 2)),
               desc="stride+padding"),
        Sample((r(1, 2, 5, 5), r(2, 1, 2, 2), r(2)), dict(dilation=2, groups=2, padding=1),
               desc="dilation+groups"),
        Sample((noncontig(r(1, 2, 4, 5)), r(2, 2, 2, 2)), dict(padding="same"),
               desc="noncontig, same (even kernel)"),
        Sample((r(2, 5, 4), r(2, 2, 3, 2)), dict(padding="valid"), desc="unbatched, valid"),
        Sample((r(1, 4, 4, 4), r(4, 1, 3, 3), r(4)), dict(groups=4, stride=2, padding=1),
               desc="depthwise"),
        Sample((r(0, 2, 4, 4), r(2, 2, 3, 3)), desc="empty batch"),
    ]


def _conv1d_samples(dt, rng):
    r = _r(rng, dt)
    return [
        Sample((r(2, 2, 7), r(3, 2, 3), r(3)), desc="basic"),
        Sample((r(1, 4, 8), r(4, 2, 2)), dict(stride=2, padding=1, dilation=2, groups=2),
               desc="all options"),
        Sample((noncontig(r(1, 3, 6)), r(2, 3, 4)), dict(padding="same"), desc="noncontig same"),
        Sample((r(2, 6), r(2, 2, 3)), desc="unbatched"),
        Sample((r(0, 2, 7), r(3, 2, 3), r(3)), desc="empty batch"),
    ]


def _convt2d_samples(dt, rng):
    r = _r(rng, dt)
    return [
        Sample((r(1, 2, 3, 3), r(2, 2, 3, 3), r(2)), desc="basic"),
        Sample((r(1, 2, 3, 2), r(2, 1, 3, 2)), dict(stride=2, padding=1, output_padding=1),
               desc="stride+padding+output_padding"),
        Sample((r(1, 4, 2, 3), r(4, 1, 2, 2), r(2)), dict(stride=(1, 2), groups=2, dilation=2,
                                                         padding=(1, 0)),
               desc="groups+dilation"),
        Sample((noncontig(r(1, 2, 3, 3)), r(2, 2, 2, 2)), dict(stride=3, output_padding=(2, 1)),
               desc="noncontig, stride 3"),
        Sample((r(2, 3, 3), r(2, 2, 2, 2)), dict(dilation=3, output_padding=2, padding=1),
               desc="unbatched, output_padding >= stride (< dilation)"),
        Sample((r(0, 2, 3, 3), r(2, 1, 3, 3)), desc="empty batch"),
    ]


def _convt1d_samples(dt, rng):
    r = _r(rng, dt)
    return [
        Sample((r(2, 2, 4), r(2, 3, 3), r(3)), dict(stride=2, output_padding=1), desc="basic"),
        Sample((r(1, 4, 3), r(4, 1, 2)), dict(groups=2, dilation=2, padding=1), desc="groups"),
        Sample((r(2, 5), r(2, 2, 3)), desc="unbatched"),
        Sample((r(0, 2, 4), r(2, 3, 3)), dict(stride=2), desc="empty batch"),
    ]


def _conv_errors(fn, name):
    return lambda: [
        ErrorInput((np.ones((1, 1, 5, 5)), np.ones((4, 3, 3, 3))), {}, RuntimeError,
                   r"expected input\[1, 1, 5, 5\] to have 3 channels, but got 1 channels",
                   op=fn),
        ErrorInput((np.ones((5, 5)), np.ones((4, 3, 3, 3))), {}, RuntimeError,
                   r"Expected 3D \(unbatched\) or 4D \(batched\) input", op=fn),
        ErrorInput((np.ones((1, 3, 2, 2)), np.ones((4, 3, 3, 3))), {}, RuntimeError,
                   "Kernel size can't be greater than actual input size", op=fn),
        ErrorInput((np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3))), dict(stride=2, padding="same"),
                   RuntimeError, "not supported for strided convolutions", op=fn),
        ErrorInput((np.ones((1, 3, 5, 5)), np.ones((4, 3, 3, 3)).astype(np.float32)), {},
                   RuntimeError, "should be the same", op=fn),
    ]


def _convt_errors():
    return [
        ErrorInput((np.ones((1, 2, 3, 3)), np.ones((2, 2, 3, 3))), dict(stride=2,
                                                                       output_padding=2),
                   RuntimeError, "output padding must be smaller than either stride or dilation"),
        ErrorInput((np.ones((1, 3, 3, 3)), np.ones((2, 2, 3, 3))), {}, RuntimeError,
                   r"expected input\[1, 3, 3, 3\] to have 2 channels"),
        ErrorInput((np.ones(()), np.ones((2, 2, 3, 3))), {}, RuntimeError,
                   r"conv_transpose2d: Expected 3D \(unbatched\) or 4D \(batched\) input to "
                   r"conv_transpose2d, but got input of size: \[\]"),
    ]


def _block_samples(dt, rng):
    r = _r(rng, dt)
    return [
        Sample((r(1, 2, 4, 4),), dict(kernel_size=2), desc="basic"),
        Sample((r(1, 1, 5, 4),), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1,
                                      stride=(2, 1)), desc="all options"),
        Sample((noncontig(r(1, 2, 3, 4)),), dict(kernel_size=2, stride=2), desc="noncontig"),
        Sample((r(2, 3, 3),), dict(kernel_size=2), desc="unbatched"),
        Sample((r(0, 2, 3, 3),), dict(kernel_size=2), desc="empty batch"),
    ]


def _fold_samples(dt, rng):
    r = _r(rng, dt)
    return [
        Sample((r(1, 4, 6),), dict(output_size=(3, 4), kernel_size=2), desc="overlapping"),
        Sample((r(1, 2, 8),), dict(output_size=(4, 5), kernel_size=(2, 1), padding=(0, 1),
                                    stride=2), desc="stride+padding"),
        Sample((noncontig(r(1, 6, 4)),), dict(output_size=(4, 4), kernel_size=(3, 2),
                                              dilation=(1, 2)), desc="noncontig dilation"),
        Sample((r(4, 4),), dict(output_size=3, kernel_size=2), desc="unbatched"),
        Sample((r(0, 4, 6),), dict(output_size=(3, 4), kernel_size=2), desc="empty batch"),
    ]


def _pad_samples(mode):
    def gen(dt, rng):
        r = _r(rng, dt)
        out = [Sample((r(1, 2, 3, 4),), dict(pad=(1, 2, 2, 1), mode=mode), desc="2-D"),
               Sample((r(2, 4),), dict(pad=(3, 1), mode=mode), desc="1-D"),
               Sample((noncontig(r(1, 3, 4)),), dict(pad=(1, 1), mode=mode), desc="noncontig")]
        if mode == "constant":
            out += [Sample((r(2, 3, 4),), dict(pad=(1, -2, 0, 1), value=2.5), desc="crop+value"),
                    Sample((r(0, 3),), dict(pad=(1, 1)), desc="empty"),
                    Sample((r(),), dict(pad=()), desc="0-d, no padding")]
        else:
            out.append(Sample((r(0, 3, 4),), dict(pad=(1, 1), mode=mode), desc="empty batch"))
        return out
    return gen


def _shuffle_samples(dt, rng):
    r = _r(rng, dt)
    return [Sample((r(1, 8, 2, 3),), dict(upscale_factor=2), desc="basic"),
            Sample((noncontig(r(9, 2, 1)),), dict(upscale_factor=3), desc="unbatched noncontig"),
            Sample((r(2, 1, 4, 1, 1),), dict(upscale_factor=2), desc="extra batch dim")]


def _unshuffle_samples(dt, rng):
    r = _r(rng, dt)
    return [Sample((r(1, 2, 4, 2),), dict(downscale_factor=2), desc="basic"),
            Sample((noncontig(r(1, 3, 6)),), dict(downscale_factor=3), desc="noncontig")]


# torch 2.13 has no usable reference on an empty batch: pixel_unshuffle returns its (0, C, H, W)
# input unchanged and pixel_shuffle's backward rejects the (0, C, H, W) gradient
_NO_EMPTY_SHUFFLE = "torch 2.13 mishandles an empty batch here (wrong shape / failing backward)"


def _interp_samples(kwargs_list, shape=(1, 2, 3, 4)):
    def gen(dt, rng):
        r = _r(rng, dt)
        out = [Sample((r(*shape),), dict(kw), desc=str(kw)) for kw in kwargs_list]
        out.append(Sample((noncontig(r(*shape)),), dict(kwargs_list[0]), desc="noncontig"))
        out.append(Sample((r(0, *shape[1:]),), dict(kwargs_list[0]), desc="empty batch"))
        return out
    return gen


_NEAREST = [dict(scale_factor=2), dict(size=(5, 3)), dict(scale_factor=(1.5, 0.75)),
            dict(size=(4, 7), mode="nearest-exact"), dict(size=2)]
_BILINEAR = [dict(scale_factor=2, mode="bilinear"),
             dict(size=(5, 3), mode="bilinear", align_corners=True),
             dict(size=(2, 7), mode="bilinear", align_corners=False),
             dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True),
             dict(size=(1, 1), mode="bilinear", align_corners=True)]


def _interp_errors():
    return [ErrorInput((np.ones((1, 1, 2, 2)),), dict(size=3, scale_factor=2), ValueError,
                       "either size or scale_factor"),
            ErrorInput((np.ones((1, 1, 2, 2)),), dict(size=3, mode="nearest", align_corners=True),
                       ValueError, "align_corners option can only be set"),
            ErrorInput((np.ones((1, 1, 2)),), dict(size=3, mode="bilinear"),
                       NotImplementedError, "bilinear mode needs 4D input"),
            ErrorInput((np.ones(()),), dict(scale_factor=2), NotImplementedError,
                       r"interpolate: input of 0 dimensions is not supported \(expected 3-D, "
                       r"4-D or 5-D\)")]


_NO_0D_PAD = ("mode='{}' pads the trailing dims of a (*, W) / (*, H, W) input: torch rejects "
              "0-d input (padding length > twice the number of dims)")
_NO_0D_INTERP = "interpolate takes (N, C, *spatial) input: torch rejects 0-d (see error inputs)"


def _ref_errors(fn, name, w_shape, bad_x):
    """The composite references: a channel mismatch fails in their reshape, naming the shapes."""
    return lambda: [ErrorInput((np.ones(bad_x), np.ones(w_shape)), {}, RuntimeError,
                               r"reshape: shape .* is invalid for input of size", op=fn)]


OPS = [
    OpInfo("nn.functional.conv2d", F.conv2d, TF.conv2d, _conv2d_samples, primitives=CONV,
           no_scalar_reason=_no_0d("conv2d", "3-D or 4-D"),
           errors=_conv_errors(F.conv2d, "conv2d")),
    OpInfo("nn.functional.conv2d_reference", conv2d_reference, TF.conv2d,
           lambda dt, rng: [_conv2d_samples(dt, rng)[i] for i in (0, 1, 2, 5, 6)],
           no_scalar_reason=_no_0d("conv2d", "4-D"),
           errors=_ref_errors(conv2d_reference, "conv2d", (4, 3, 3, 3), (1, 1, 5, 5))),
    OpInfo("nn.functional.conv1d", F.conv1d, TF.conv1d, _conv1d_samples, primitives=CONV,
           no_scalar_reason=_no_0d("conv1d", "2-D or 3-D"),
           errors=lambda: [ErrorInput((np.ones((1, 2, 5)), np.ones((4, 3, 3))), {}, RuntimeError,
                                      "to have 3 channels, but got 2 channels"),
                           ErrorInput((np.ones(()), np.ones((4, 3, 3))), {}, RuntimeError,
                                      r"conv1d: Expected 2D \(unbatched\) or 3D \(batched\) input "
                                      r"to conv1d, but got input of size: \[\]", op=F.conv1d)]),
    OpInfo("nn.functional.conv_transpose2d", F.conv_transpose2d, TF.conv_transpose2d,
           _convt2d_samples, primitives=CONV, errors=_convt_errors,
           no_scalar_reason=_no_0d("conv_transpose2d", "3-D or 4-D")),
    OpInfo("nn.functional.conv_transpose2d_reference", conv_transpose2d_reference,
           TF.conv_transpose2d,
           lambda dt, rng: [_convt2d_samples(dt, rng)[i] for i in (0, 1, 2, 3, 5)],
           no_scalar_reason=_no_0d("conv_transpose2d", "4-D"),
           errors=_ref_errors(conv_transpose2d_reference, "conv_transpose2d", (2, 2, 3, 3),
                              (1, 3, 3, 3))),
    OpInfo("nn.functional.conv_transpose1d", F.conv_transpose1d, TF.conv_transpose1d,
           _convt1d_samples, primitives=CONV,
           no_scalar_reason=_no_0d("conv_transpose1d", "2-D or 3-D"),
           errors=lambda: [ErrorInput((np.ones((1, 2, 5)), np.ones((3, 2, 3))), {}, RuntimeError,
                                      "to have 3 channels, but got 2 channels")]),
    OpInfo("nn.functional.unfold", F.unfold, TF.unfold, _block_samples,
           no_scalar_reason=_no_0d("unfold", "3-D or 4-D"),
           errors=lambda: [ErrorInput((np.ones((2, 2)),), dict(kernel_size=2), RuntimeError,
                                      "Only 3D or 4D input"),
                           ErrorInput((np.ones((1, 1, 2, 2)),), dict(kernel_size=3), RuntimeError,
                                      "non-positive")]),
    OpInfo("nn.functional.fold", F.fold, TF.fold, _fold_samples,
           no_scalar_reason=_no_0d("fold", "2-D or 3-D"),
           errors=lambda: [ErrorInput((np.ones((1, 4, 5)),), dict(output_size=3, kernel_size=2),
                                      RuntimeError, "sliding blocks"),
                           ErrorInput((np.ones((1, 3, 4)),), dict(output_size=3, kernel_size=2),
                                      RuntimeError, "divisible by the product of kernel_size")]),
    OpInfo("nn.functional.pad_constant", F.pad, TF.pad, _pad_samples("constant"),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), dict(pad=(1, 2, 3)), RuntimeError,
                                      "Padding length must be divisible by 2")]),
    OpInfo("nn.functional.pad_reflect", F.pad, TF.pad, _pad_samples("reflect"),
           no_scalar_reason=_NO_0D_PAD.format("reflect"),
           errors=lambda: [ErrorInput((np.ones((1, 2, 3)),), dict(pad=(3, 0), mode="reflect"),
                                      RuntimeError, "padding size should be less than"),
                           ErrorInput((np.ones(()),), dict(pad=(1, 1), mode="reflect"),
                                      RuntimeError, r"pad: Padding length must be divisible by 2 "
                                      r"and at most twice the number of dimensions of the input, "
                                      r"got 2 for an input of 0 dimensions")]),
    OpInfo("nn.functional.pad_replicate", F.pad, TF.pad, _pad_samples("replicate"),
           no_scalar_reason=_NO_0D_PAD.format("replicate"),
           errors=lambda: [ErrorInput((np.ones((1, 2, 3)),), dict(pad=(1, 1), mode="wrap"),
                                      NotImplementedError, "unsupported padding mode")]),
    OpInfo("nn.functional.pad_circular", F.pad, TF.pad, _pad_samples("circular"),
           no_scalar_reason=_NO_0D_PAD.format("circular"),
           errors=lambda: [ErrorInput((np.ones((1, 2, 3)),), dict(pad=(4, 0), mode="circular"),
                                      RuntimeError, "wrapping around more than once")]),
    OpInfo("nn.functional.pixel_shuffle", F.pixel_shuffle, TF.pixel_shuffle, _shuffle_samples,
           no_scalar_reason="pixel_shuffle needs (*, C, H, W): torch rejects fewer than 3 dims",
           no_empty_reason=_NO_EMPTY_SHUFFLE,
           errors=lambda: [ErrorInput((np.ones((1, 3, 2, 2)),), dict(upscale_factor=2),
                                      RuntimeError, "divisible by the square of upscale_factor")]),
    OpInfo("nn.functional.pixel_unshuffle", F.pixel_unshuffle, TF.pixel_unshuffle,
           _unshuffle_samples,
           no_scalar_reason="pixel_unshuffle needs (*, C, H, W): torch rejects fewer than 3 dims",
           no_empty_reason=_NO_EMPTY_SHUFFLE,
           errors=lambda: [ErrorInput((np.ones((1, 1, 3, 2)),), dict(downscale_factor=2),
                                      RuntimeError, "divisible by downscale_factor")]),
    OpInfo("nn.functional.interpolate_nearest", F.interpolate, TF.interpolate,
           _interp_samples(_NEAREST), errors=_interp_errors, no_scalar_reason=_NO_0D_INTERP),
    OpInfo("nn.functional.interpolate_bilinear", F.interpolate, TF.interpolate,
           _interp_samples(_BILINEAR), errors=_interp_errors, no_scalar_reason=_NO_0D_INTERP),
    OpInfo("nn.functional.interpolate_1d", F.interpolate, TF.interpolate,
           _interp_samples([dict(scale_factor=2.5, mode="linear"),
                            dict(size=7, mode="linear", align_corners=True),
                            dict(size=3, mode="area"), dict(size=5)], shape=(2, 2, 4)),
           errors=_interp_errors, no_scalar_reason=_NO_0D_INTERP),
]
