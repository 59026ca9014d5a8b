"""OpInfo entries: max / average / adaptive pooling and max unpooling."""
import numpy as np
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.nn.functional.pooling import max_pool2d_reference, avg_pool2d_reference
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig

MAXPOOL = ("MaxPool2d", "MaxPool2dBackward")
AVGPOOL = ("AvgPool2d", "AvgPool2dAdjoint")


def _distinct(rng, dt, *shape):
    """Values with no ties (so finite differences never cross a kink)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.25 - n / 8).astype(dt)


def _maxpool2d_samples(dt, rng):
    d = lambda *s: _distinct(rng, dt, *s)
    return [
        Sample((d(1, 2, 4, 4),), dict(kernel_size=2), desc="basic"),
        Sample((d(1, 1, 5, 5),), dict(kernel_size=3, stride=2, padding=1), desc="overlapping"),
        Sample((d(1, 2, 5, 4),), dict(kernel_size=(2, 3), stride=(2, 1), ceil_mode=True),
               desc="ceil_mode"),
        Sample((noncontig(d(1, 2, 4, 5)),), dict(kernel_size=2, dilation=(1, 2), padding=(1, 0)),
               desc="noncontig dilation"),
        Sample((d(2, 5, 3),), dict(kernel_size=2, stride=1), desc="unbatched"),
        Sample((d(0, 2, 4, 4),), dict(kernel_size=2), desc="empty batch"),
    ]


def _maxpool_indices_samples(dt, rng):
    """Ties (torch keeps the first maximum of each window) and -inf; forward only."""
    ties = rng.integers(0, 2, (2, 2, 4, 6)).astype(dt)
    ties[0, 0, :2, :2] = -np.inf
    return [Sample((ties,), dict(kernel_size=2, return_indices=True), desc="ties"),
            Sample((ties,), dict(kernel_size=3, stride=1, padding=1, return_indices=True),
                   desc="ties overlapping"),
            Sample((ties,), dict(kernel_size=(3, 2), stride=2, ceil_mode=True,
                                 return_indices=True), desc="ties ceil_mode")]


def _maxpool1d_samples(dt, rng):
    d = lambda *s: _distinct(rng, dt, *s)
    return [Sample((d(2, 2, 6),), dict(kernel_size=2), desc="basic"),
            Sample((d(1, 2, 7),), dict(kernel_size=3, stride=2, padding=1, dilation=1,
                                       ceil_mode=True), desc="ceil padding"),
            Sample((noncontig(d(1, 6, 3)),), dict(kernel_size=2, stride=1, dilation=2),
                   desc="noncontig"),
            Sample((d(2, 5),), dict(kernel_size=2), desc="unbatched"),
            Sample((d(0, 2, 6),), dict(kernel_size=2), desc="empty batch")]


def _avgpool2d_samples(dt, rng):
    r = lambda *s: rng.standard_normal(s).astype(dt)
    return [
        Sample((r(1, 2, 4, 4),), dict(kernel_size=2), desc="basic"),
        Sample((r(1, 1, 5, 5),), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
               desc="padding ceil_mode"),
        Sample((r(1, 1, 5, 4),), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                      count_include_pad=False), desc="exclude pad"),
        Sample((noncontig(r(1, 2, 4, 5)),), dict(kernel_size=(2, 3), stride=1,
                                                 divisor_override=4), desc="noncontig divisor"),
        Sample((r(2, 5, 3),), dict(kernel_size=2, stride=1), desc="unbatched"),
        Sample((r(0, 2, 4, 4),), dict(kernel_size=2), desc="empty batch"),
    ]


def _avgpool1d_samples(dt, rng):
    r = lambda *s: rng.standard_normal(s).astype(dt)
    return [Sample((r(2, 2, 6),), dict(kernel_size=2), desc="basic"),
            Sample((r(1, 2, 7),), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                       count_include_pad=False), desc="ceil exclude pad"),
            Sample((noncontig(r(1, 6, 3)),), dict(kernel_size=2, stride=1), desc="noncontig"),
            Sample((r(0, 2, 6),), dict(kernel_size=2), desc="empty batch")]


def _adaptive_samples(n, distinct):
    def gen(dt, rng):
        d = (lambda *s: _distinct(rng, dt, *s)) if distinct else \
            (lambda *s: rng.standard_normal(s).astype(dt))
        if n == 2:
            return [Sample((d(1, 2, 5, 4),), dict(output_size=(3, 2)), desc="uneven"),
                    Sample((d(1, 2, 4, 6),), dict(output_size=(2, 3)), desc="divisible"),
                    Sample((noncontig(d(1, 1, 5, 5)),), dict(output_size=(None, 2)),
                           desc="noncontig None"),
                    Sample((d(2, 3, 3),), dict(output_size=1), desc="unbatched global"),
                    Sample((d(0, 2, 3, 3),), dict(output_size=2), desc="empty batch")]
        return [Sample((d(2, 2, 7),), dict(output_size=3), desc="uneven"),
                Sample((d(1, 2, 6),), dict(output_size=3), desc="divisible"),
                Sample((noncontig(d(1, 5, 4)),), dict(output_size=2), desc="noncontig"),
                Sample((d(2, 5),), dict(output_size=4), desc="unbatched"),
                Sample((d(0, 2, 7),), dict(output_size=3), desc="empty batch")]
    return gen


def _unpool_samples(dt, rng):
    d = lambda *s: _distinct(rng, dt, *s)
    _, i1 = TF.max_pool2d(torch.from_numpy(d(1, 2, 4, 4)), 2, return_indices=True)
    _, i2 = TF.max_pool2d(torch.from_numpy(d(1, 1, 5, 5)), 2, return_indices=True)
    return [Sample((d(1, 2, 2, 2), i1.numpy()), dict(kernel_size=2), desc="basic"),
            Sample((d(1, 1, 2, 2), i2.numpy()), dict(kernel_size=2, output_size=(5, 5)),
                   desc="output_size"),
            Sample((noncontig(d(1, 2, 2, 2)), i1.numpy()), dict(kernel_size=2),
                   desc="noncontig"),
            Sample((d(0, 2, 2, 2), np.zeros((0, 2, 2, 2), np.int64)), dict(kernel_size=2),
                   desc="empty batch")]


def _pool_errors(fn, two_d=True):
    x = np.ones((1, 1, 4, 4)) if two_d else np.ones((1, 1, 4))
    return lambda: [
        ErrorInput((x,), dict(kernel_size=2, padding=2), RuntimeError,
                   "pad should be at most half of effective kernel size", op=fn),
        ErrorInput((x,), dict(kernel_size=5), RuntimeError, "Output size is too small", op=fn),
        ErrorInput((np.ones(4),), dict(kernel_size=2), RuntimeError, "Expected", op=fn),
        ErrorInput((x,), dict(kernel_size=2, stride=0), RuntimeError,
                   "stride should be greater than zero", op=fn)]


def _zero_d_error(fn, name, dims, **kw):
    return ErrorInput((np.ones(()),), dict(kw) if kw else dict(kernel_size=1), RuntimeError,
                      rf"{name}: Expected {dims} \(batch mode\) tensor for input, but got input "
                      r"of size \[\]", op=fn)


def _no_0d(name):
    return f"{name} pools the spatial dims of a (C, *) / (N, C, *) input: torch rejects 0-d input"


def _ref_errors(fn):
    """The composite references: the size checks they share with the primitives."""
    x = np.ones((1, 1, 4, 4))
    name = fn.__name__.replace("_reference", "")
    return lambda: [
        ErrorInput((x,), dict(kernel_size=5), RuntimeError,
                   rf"{name}: Given input size: \(1x4x4\). Calculated output size: \(1x0x0\). "
                   r"Output size is too small", op=fn),
        ErrorInput((x,), dict(kernel_size=2, padding=2), RuntimeError,
                   rf"{name}: pad should be at most half of effective kernel size, but got pad=2",
                   op=fn)]


def _no_ceil(fn):
    """The composite references have no ceil_mode/divisor options."""
    def gen(dt, rng):
        return [s for s in fn(dt, rng) if not any(k in s.kwargs for k in (
            "ceil_mode", "count_include_pad", "divisor_override", "return_indices"))
            and s.args[0].ndim == 4]
    return gen


OPS = [
    OpInfo("nn.functional.max_pool2d", F.max_pool2d, TF.max_pool2d, _maxpool2d_samples,
           primitives=MAXPOOL, no_scalar_reason=_no_0d("max_pool2d"),
           errors=lambda: _pool_errors(F.max_pool2d)() + [_zero_d_error(F.max_pool2d, "max_pool2d",
                                                                         "3D or 4D")]),
    # grad=False: a tie is a kink (finite differences are meaningless there); the tie gradients
    # are compared with torch in tests/test_nn_conv_modules.py
    OpInfo("nn.functional.max_pool2d_ties", F.max_pool2d, TF.max_pool2d,
           _maxpool_indices_samples, grad=False,
           errors=lambda: [ErrorInput((np.ones((1, 1, 4, 4)),),
                                      dict(kernel_size=2, stride=0, return_indices=True),
                                      RuntimeError, r"max_pool2d: stride should be greater than "
                                      r"zero, but got \(0, 0\)", op=F.max_pool2d)]),
    OpInfo("nn.functional.max_pool2d_reference", max_pool2d_reference, TF.max_pool2d,
           _no_ceil(_maxpool2d_samples), no_scalar_reason=_no_0d("max_pool2d"),
           errors=_ref_errors(max_pool2d_reference)),
    OpInfo("nn.functional.max_pool1d", F.max_pool1d, TF.max_pool1d, _maxpool1d_samples,
           primitives=MAXPOOL, no_scalar_reason=_no_0d("max_pool1d"),
           errors=lambda: _pool_errors(F.max_pool1d, False)() + [
               _zero_d_error(F.max_pool1d, "max_pool1d", "2D or 3D")]),
    OpInfo("nn.functional.avg_pool2d", F.avg_pool2d, TF.avg_pool2d, _avgpool2d_samples,
           primitives=AVGPOOL, no_scalar_reason=_no_0d("avg_pool2d"),
           errors=_pool_errors(F.avg_pool2d)),
    OpInfo("nn.functional.avg_pool2d_reference", avg_pool2d_reference, TF.avg_pool2d,
           _no_ceil(_avgpool2d_samples), no_scalar_reason=_no_0d("avg_pool2d"),
           errors=_ref_errors(avg_pool2d_reference)),
    OpInfo("nn.functional.avg_pool1d", F.avg_pool1d, TF.avg_pool1d, _avgpool1d_samples,
           primitives=AVGPOOL, no_scalar_reason=_no_0d("avg_pool1d"),
           errors=_pool_errors(F.avg_pool1d, False)),
    OpInfo("nn.functional.adaptive_avg_pool2d", F.adaptive_avg_pool2d, TF.adaptive_avg_pool2d,
           _adaptive_samples(2, False), primitives=AVGPOOL,
           no_scalar_reason=_no_0d("adaptive_avg_pool2d"),
           errors=lambda: [ErrorInput((np.ones((1, 1, 0, 2)),), dict(output_size=1),
                                      RuntimeError, "non-zero size"),
                           _zero_d_error(F.adaptive_avg_pool2d, "adaptive_avg_pool2d", "3D or 4D",
                                         output_size=1)]),
    OpInfo("nn.functional.adaptive_avg_pool1d", F.adaptive_avg_pool1d, TF.adaptive_avg_pool1d,
           _adaptive_samples(1, False), no_scalar_reason=_no_0d("adaptive_avg_pool1d"),
           errors=lambda: [ErrorInput((np.ones((1, 2, 3, 4)),), dict(output_size=1),
                                      RuntimeError, "Expected 2D or 3D"),
                           _zero_d_error(F.adaptive_avg_pool1d, "adaptive_avg_pool1d", "2D or 3D",
                                         output_size=1)]),
    OpInfo("nn.functional.adaptive_max_pool2d", F.adaptive_max_pool2d, TF.adaptive_max_pool2d,
           lambda dt, rng: [Sample(s.args, dict(s.kwargs, return_indices=True), s.desc)
                            for s in _adaptive_samples(2, True)(dt, rng)],
           no_scalar_reason=_no_0d("adaptive_max_pool2d"),
           errors=lambda: [ErrorInput((np.ones(3),), dict(output_size=1), RuntimeError,
                                      "Expected 3D or 4D"),
                           _zero_d_error(F.adaptive_max_pool2d, "adaptive_max_pool2d", "3D or 4D",
                                         output_size=1)]),
    OpInfo("nn.functional.adaptive_max_pool1d", F.adaptive_max_pool1d, TF.adaptive_max_pool1d,
           _adaptive_samples(1, True), no_scalar_reason=_no_0d("adaptive_max_pool1d"),
           errors=lambda: [ErrorInput((np.ones((2, 0)),), dict(output_size=1), RuntimeError,
                                      "non-zero size"),
                           _zero_d_error(F.adaptive_max_pool1d, "adaptive_max_pool1d", "2D or 3D",
                                         output_size=1)]),
    OpInfo("nn.functional.max_unpool2d", F.max_unpool2d, TF.max_unpool2d, _unpool_samples,
           primitives=("PlaneScatterAdd",), no_scalar_reason=_no_0d("max_unpool2d"),
           errors=lambda: [ErrorInput((np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 99)),
                                      dict(kernel_size=2), RuntimeError, "invalid max index",
                                      op=lambda x, i, **kw: F.max_unpool2d(
                                          x, cr.tensor(i.data), **kw))]),
]
