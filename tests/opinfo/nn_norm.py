"""OpInfo entries for the normalisation functions (chainrule.nn.functional.normalization).

batch_norm (training) and layer_norm run on the fused BatchNorm / LayerNorm primitives; their
composite references are checked in tests/test_nn_norm_modules.py.
"""
import numpy as np
import torch.nn.functional as TF

import chainrule.nn.functional as F
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig


def _r(rng, dt, *shape):
    return rng.standard_normal(shape).astype(dt)


def _pos(rng, dt, *shape):
    return rng.uniform(0.5, 2.0, shape).astype(dt)


def _bn_train_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 4, 3), _r(rng, dt, 3), _r(rng, dt, 3)), {}, "(N, C)"),
        Sample((_r(rng, dt, 2, 3, 4), _r(rng, dt, 3), _r(rng, dt, 3)), {"eps": 1e-3}, "(N, C, L)"),
        Sample((_r(rng, dt, 2, 2, 2, 3), _r(rng, dt, 2), _r(rng, dt, 2)), {}, "(N, C, H, W)"),
        Sample((_r(rng, dt, 2, 3, 3), None, None), {}, "no affine"),
        Sample((noncontig(_r(rng, dt, 4, 3)), _r(rng, dt, 3), None), {}, "noncontig, no bias"),
        Sample((np.array([[1.0, 2.0], [1.0, -2.0], [1.0, 0.5]], dtype=dt), _r(rng, dt, 2),
                _r(rng, dt, 2)), {"eps": 0.1}, "constant channel"),
        Sample((_r(rng, dt, 0, 3), _r(rng, dt, 3), _r(rng, dt, 3)), {},
               "empty batch: empty output"),
    ]


def _bn_train(x, w, b, **kw):
    return F.batch_norm(x, None, None, w, b, training=True, **kw)


def _bn_train_ref(x, w, b, **kw):
    return TF.batch_norm(x, None, None, w, b, training=True, **kw)


def _bn_eval_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 4, 3), _r(rng, dt, 3), _pos(rng, dt, 3), _r(rng, dt, 3),
                _r(rng, dt, 3)), {}, "(N, C)", no_grad=(1, 2)),
        Sample((_r(rng, dt, 2, 3, 2, 2), _r(rng, dt, 3), _pos(rng, dt, 3), _r(rng, dt, 3),
                _r(rng, dt, 3)), {}, "(N, C, H, W)", no_grad=(1, 2)),
        Sample((_r(rng, dt, 1, 3), _r(rng, dt, 3), _pos(rng, dt, 3), None, None), {},
               "batch of one, no affine", no_grad=(1, 2)),
        Sample((_r(rng, dt, 0, 3), _r(rng, dt, 3), _pos(rng, dt, 3), _r(rng, dt, 3),
                _r(rng, dt, 3)), {}, "empty batch", no_grad=(1, 2)),
    ]


def _bn_errors():
    def bn(x, *a, **kw):
        return F.batch_norm(x, None, None, *a, training=True, **kw)
    return [
        ErrorInput((np.ones((1, 3)),), {}, ValueError,
                   r"more than 1 value per channel when training, got input size \(1, 3\)", op=bn),
        ErrorInput((np.ones((4, 3)), np.ones(4)), {}, RuntimeError,
                   r"weight of shape \(3,\), got \(4,\)", op=bn),
        ErrorInput((np.ones(3),), {}, ValueError, r"at least 2 dims.*got \(3,\)", op=bn),
        ErrorInput((np.ones((4, 3)), None, None), {}, RuntimeError,
                   "running_mean and running_var must be given", op=F.batch_norm),
    ]


def _ln_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 3, 4), _r(rng, dt, 4), _r(rng, dt, 4)), {"normalized_shape": (4,)},
               "(N, D)"),
        Sample((_r(rng, dt, 2, 3, 4), _r(rng, dt, 3, 4), _r(rng, dt, 3, 4)),
               {"normalized_shape": (3, 4), "eps": 1e-3}, "2 normalised dims"),
        Sample((_r(rng, dt, 5), None, None), {"normalized_shape": 5}, "1-d, no affine"),
        Sample((_r(rng, dt, 0, 4), _r(rng, dt, 4), _r(rng, dt, 4)), {"normalized_shape": (4,)},
               "empty batch"),
        Sample((noncontig(_r(rng, dt, 3, 4)), _r(rng, dt, 4), None), {"normalized_shape": [4]},
               "noncontig, no bias"),
        Sample((np.array([[2.0, 2.0, 2.0], [1.0, -1.0, 0.0]], dtype=dt), _r(rng, dt, 3),
                _r(rng, dt, 3)), {"normalized_shape": (3,), "eps": 0.1}, "constant row"),
    ]


def _ln(x, w, b, normalized_shape, **kw):
    return F.layer_norm(x, normalized_shape, w, b, **kw)


def _ln_ref(x, w, b, normalized_shape, **kw):
    return TF.layer_norm(x, normalized_shape if not isinstance(normalized_shape, int)
                         else (normalized_shape,), w, b, **kw)


def _gn_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 2, 4, 3), _r(rng, dt, 4), _r(rng, dt, 4)), {"num_groups": 2},
               "(N, C, L)"),
        Sample((_r(rng, dt, 2, 4, 2, 2), _r(rng, dt, 4), _r(rng, dt, 4)), {"num_groups": 4},
               "(N, C, H, W), G = C"),
        Sample((_r(rng, dt, 3, 6), None, None), {"num_groups": 3}, "(N, C), no affine"),
        Sample((_r(rng, dt, 0, 4, 3), _r(rng, dt, 4), _r(rng, dt, 4)), {"num_groups": 2},
               "empty batch"),
        Sample((noncontig(_r(rng, dt, 2, 4, 3)), _r(rng, dt, 4), _r(rng, dt, 4)),
               {"num_groups": 1}, "noncontig, one group"),
    ]


def _gn(x, w, b, num_groups, **kw):
    return F.group_norm(x, num_groups, w, b, **kw)


def _gn_ref(x, w, b, num_groups, **kw):
    return TF.group_norm(x, num_groups, w, b, **kw)


def _in_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 2, 3, 4), _r(rng, dt, 3), _r(rng, dt, 3)), {}, "(N, C, L)"),
        Sample((_r(rng, dt, 2, 2, 2, 3), None, None), {"eps": 1e-3}, "(N, C, H, W), no affine"),
        Sample((noncontig(_r(rng, dt, 2, 3, 4)), _r(rng, dt, 3), None), {}, "noncontig"),
        Sample((_r(rng, dt, 0, 3, 4), None, None), {}, "empty batch, no affine"),
    ]


def _in(x, w, b, **kw):
    return F.instance_norm(x, None, None, w, b, **kw)


def _in_ref(x, w, b, **kw):
    return TF.instance_norm(x, None, None, w, b, **kw)


def _rms_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 3, 4), _r(rng, dt, 4)), {"normalized_shape": (4,)}, "(N, D)"),
        Sample((_r(rng, dt, 2, 3, 4), _r(rng, dt, 3, 4)), {"normalized_shape": (3, 4),
                                                           "eps": 1e-3}, "2 dims"),
        Sample((_r(rng, dt, 5), None), {"normalized_shape": 5}, "1-d, no weight, eps=None"),
        Sample((_r(rng, dt, 0, 4), _r(rng, dt, 4)), {"normalized_shape": (4,)}, "empty batch"),
        Sample((noncontig(_r(rng, dt, 3, 4)), _r(rng, dt, 4)), {"normalized_shape": (4,)},
               "noncontig"),
    ]


def _rms(x, w, normalized_shape, **kw):
    return F.rms_norm(x, normalized_shape, w, **kw)


def _rms_ref(x, w, normalized_shape, **kw):
    return TF.rms_norm(x, normalized_shape if not isinstance(normalized_shape, int)
                       else (normalized_shape,), w, **kw)


def _lrn_samples(dt, rng):
    return [
        Sample((_r(rng, dt, 2, 5, 2),), {"size": 3}, "(N, C, L)"),
        Sample((_r(rng, dt, 1, 4, 2, 2),), {"size": 2, "alpha": 0.1, "k": 2.0}, "(N, C, H, W)"),
        Sample((_r(rng, dt, 1, 3, 2, 1, 2),), {"size": 4, "beta": 0.5}, "5-d, size > C"),
        Sample((_r(rng, dt, 0, 3, 2),), {"size": 2}, "empty"),
        Sample((noncontig(_r(rng, dt, 2, 4, 3)),), {"size": 1}, "noncontig"),
    ]


_NC = "normalises per channel of an (N, C, *) input: torch rejects a 0-d input (see the errors)"
_NORMALIZED = ("normalises over normalized_shape, which torch requires to name >= 1 trailing dim: "
               "a 0-d input has none (see the error inputs)")


def _eval_bn(*a, **kw):
    return F.batch_norm(*a, training=False, **kw)


OPS = [
    OpInfo("batch_norm_train", _bn_train, _bn_train_ref, _bn_train_samples,
           primitives=("BatchNorm",), errors=_bn_errors, no_scalar_reason="batch_norm " + _NC),
    OpInfo("batch_norm_eval", _eval_bn, lambda *a, **kw: TF.batch_norm(*a, training=False, **kw),
           _bn_eval_samples, no_scalar_reason="batch_norm " + _NC,
           errors=lambda: [ErrorInput((np.ones((4, 3)), np.ones(2), np.ones(3)), {}, RuntimeError,
                                      r"batch_norm: expected running_mean of shape \(3,\), got "
                                      r"\(2,\)", op=_eval_bn),
                           ErrorInput((np.ones(()), np.ones(()), np.ones(())), {}, ValueError,
                                      r"batch_norm: expected input of at least 2 dims "
                                      r"\(N, C, \*\), got \(\)", op=_eval_bn)]),
    OpInfo("layer_norm", _ln, _ln_ref, _ln_samples, primitives=("LayerNorm",),
           no_scalar_reason="layer_norm " + _NORMALIZED,
           errors=lambda: [ErrorInput((np.ones((2, 3)), (4,)), {}, RuntimeError,
                                      r"normalized_shape=\[4\].*\[\*, 4\].*\(2, 3\)",
                                      op=F.layer_norm),
                           ErrorInput((np.ones(()), ()), {}, RuntimeError,
                                      r"layer_norm: given normalized_shape=\[\].*input of size "
                                      r"\(\)", op=F.layer_norm)]),
    OpInfo("group_norm", _gn, _gn_ref, _gn_samples, no_scalar_reason="group_norm " + _NC,
           errors=lambda: [ErrorInput((np.ones((2, 3, 4)), 2), {}, RuntimeError,
                                      r"divisible by num_groups.*\(2, 3, 4\).*num_groups=2",
                                      op=F.group_norm),
                           ErrorInput((np.ones(()), 1), {}, RuntimeError,
                                      r"group_norm: expected input of at least 2 dims "
                                      r"\(N, C, \*\), got \(\)", op=F.group_norm)]),
    OpInfo("instance_norm", _in, _in_ref, _in_samples, no_scalar_reason="instance_norm " + _NC,
           errors=lambda: [ErrorInput((np.ones((2, 3, 1)),), {}, ValueError,
                                      r"more than 1 spatial element.*\(2, 3, 1\)",
                                      op=F.instance_norm),
                           ErrorInput((np.ones(()),), {}, ValueError,
                                      r"instance_norm: expected input of at least 3 dims "
                                      r"\(N, C, \*\), got \(\)", op=F.instance_norm)]),
    OpInfo("rms_norm", _rms, _rms_ref, _rms_samples, no_scalar_reason="rms_norm " + _NORMALIZED,
           errors=lambda: [ErrorInput((np.ones((2, 3)), (4,)), {}, RuntimeError,
                                      r"normalized_shape=\[4\]", op=F.rms_norm)]),
    OpInfo("local_response_norm", F.local_response_norm, TF.local_response_norm, _lrn_samples,
           no_scalar_reason="local_response_norm needs (N, C, *) with >= 3 dims: torch rejects "
                            "fewer (see the error inputs)",
           errors=lambda: [ErrorInput((np.ones((2, 3)), 2), {}, ValueError,
                                      r"3D or higher.*\(2, 3\)", op=F.local_response_norm),
                           ErrorInput((np.ones(()), 2), {}, ValueError,
                                      r"local_response_norm: expected 3D or higher dimensional "
                                      r"input, got input of size \(\)", op=F.local_response_norm)]),
]
