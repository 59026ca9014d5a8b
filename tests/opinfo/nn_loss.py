"""OpInfo entries for the loss functions of chainrule.nn.functional.loss (margin and embedding
losses: nn_loss_margin.py).

Each entry runs every reduction, a 0-d or 1-D case, an empty batch (mean over nothing is nan, as
torch), a non-contiguous input and, where the loss has one, a sample on its kink (kept out of the
finite-difference checks; its gradient is still compared with torch's subgradient).
"""
import numpy as np
import torch.nn.functional as TF

import chainrule.nn.functional as F
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig

_RED = ("mean", "sum", "none")
_I64 = np.int64


def _u(rng, dt, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(dt)


def _sign(rng, dt, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(dt)


def _pairs(low=-2.0, high=2.0, tlow=None, thigh=None, kwargs=({},), kink=True, weight=False):
    """Elementwise losses: input and target of one shape (plus weight of that shape)."""
    tlow = low if tlow is None else tlow
    thigh = high if thigh is None else thigh

    def gen(dt, rng):
        def make(shape):
            args = (_u(rng, dt, shape, low, high), _u(rng, dt, shape, tlow, thigh))
            return args + ((_u(rng, dt, shape, 0.2, 2.0),) if weight else ())
        no_grad = (2,) if weight else ()
        out = []
        for kw in kwargs:
            for red in _RED:
                out.append(Sample(make((3, 4)), dict(kw, reduction=red), f"{kw} {red}", no_grad))
        out.append(Sample(make(()), {}, "0-d", no_grad))
        out.append(Sample(make((2, 3, 2)), {"reduction": "none"}, "3-d", no_grad))
        out.append(Sample(make((0, 3)), {}, "empty mean", no_grad))
        out.append(Sample(make((0, 3)), {"reduction": "sum"}, "empty sum", no_grad))
        x, *rest = make((3, 4))
        out.append(Sample((noncontig(x), *rest), {}, "noncontig", no_grad))
        if kink:
            x, y, *rest = make((2, 3))
            out.append(Sample((x, x.copy(), *rest), {"reduction": "sum"}, "kink: input == target",
                              no_grad, finite_diff=False))
        return out
    return gen


def _shape_error(fn, nargs=2, error=ValueError):
    args = (np.ones((3, 4)), np.ones((3,))) + (np.ones((3, 4)),) * (nargs - 2)
    return lambda: [
        ErrorInput(args, {}, error, r"shape \(3,\) differs from input shape \(3, 4\)", op=fn),
        ErrorInput((np.ones((3, 4)),) * nargs, {"reduction": "avg"}, ValueError,
                   "avg is not a valid value for reduction", op=fn)]


def _class_samples(logp=False, weight=False):
    """cross_entropy / nll_loss: (N, C), (C,), (N, C, d1, d2), ignore_index, empty batch."""
    def gen(dt, rng):
        def x(*shape):
            a = rng.standard_normal(shape).astype(dt)
            return -np.abs(a) if logp else a
        w = (_u(rng, dt, (3,), 0.2, 2.0),) if weight else ()
        ng = (2,) if weight else ()
        t = np.array([0, 2, 1, 2], dtype=_I64)
        out = [Sample((x(4, 3), t) + w, {"reduction": red}, red, ng) for red in _RED]
        out += [
            Sample((x(3), np.array(1, dtype=_I64)) + w, {}, "(C,) with 0-d target", ng),
            Sample((x(2, 3, 2, 2), rng.integers(0, 3, (2, 2, 2))) + w, {}, "K-dim", ng),
            Sample((x(2, 3, 3), rng.integers(0, 3, (2, 3))) + w, {"reduction": "none"},
                   "K-dim none", ng),
            Sample((x(4, 3), np.array([0, -100, 2, -100])) + w, {}, "ignore_index", ng),
            Sample((x(4, 3), np.array([0, 1, 2, 1])) + w, {"ignore_index": 1}, "ignore 1", ng),
            Sample((x(3, 3), np.full(3, -100)) + w, {}, "all ignored: nan", ng,
                   finite_diff=False),
            Sample((x(0, 3), np.zeros(0, dtype=_I64)) + w, {}, "empty batch", ng),
            Sample((noncontig(x(4, 3)), t) + w, {"reduction": "sum"}, "noncontig", ng),
        ]
        if not logp:
            out += [
                Sample((x(4, 3), t) + w, {"label_smoothing": 0.2}, "smoothing", ng),
                Sample((x(4, 3), np.array([0, -100, 2, 1])) + w,
                       {"label_smoothing": 0.3, "reduction": "sum"}, "smoothing ignore sum", ng),
                Sample((x(2, 3, 2), np.array([[0, -100], [2, 1]])) + w,
                       {"label_smoothing": 0.1, "reduction": "none"}, "smoothing K-dim", ng),
                Sample((x(4, 3), rng.dirichlet(np.ones(3), 4).astype(dt)) + w, {},
                       "probabilities", ng),
                Sample((x(2, 3, 2), rng.random((2, 3, 2)).astype(dt)) + w,
                       {"label_smoothing": 0.2, "reduction": "none"}, "probabilities K-dim", ng),
                Sample((x(3), rng.random(3).astype(dt)) + w, {"reduction": "sum"},
                       "probabilities (C,)", ng),
            ]
        return out
    return gen


def _class_errors(fn):
    x = np.zeros((3, 4))
    return lambda: [
        ErrorInput((x, np.array([0, 5, 1])), {}, IndexError,
                   r"target 5 is out of bounds: class indices must be in \[0, 3\]", op=fn),
        ErrorInput((x, np.array([0, -1, 1])), {}, IndexError,
                   r"target -1 is out of bounds.*\[0, 3\].*ignore_index=-100", op=fn),
        ErrorInput((x, np.array([0.0, 1.0, 2.0])), {}, RuntimeError,
                   r"expected class indices .*got a .*float64 tensor of shape \(3,\)", op=fn),
        ErrorInput((x, np.array([0, 1])), {}, ValueError,
                   r"input batch_size \(3\) to match target batch_size \(2\)", op=fn),
        ErrorInput((x, np.array([0, 1, 1]), np.ones(3)), {}, RuntimeError,
                   r"weight of shape \(4,\)", op=fn),
        ErrorInput((x, np.array([0, 1, 1])), {"reduction": "batchmean"}, ValueError,
                   "batchmean is not a valid value", op=fn),
    ]


def _bce_samples(dt, rng):
    out = _pairs(0.05, 0.95, 0.0, 1.0, kink=False)(dt, rng)
    hard = (rng.random((3, 4)) < 0.5).astype(dt)
    out.append(Sample((_u(rng, dt, (3, 4), 0.05, 0.95), hard), {}, "hard targets"))
    edge = np.array([0.0, 1.0, 0.0, 1.0], dtype=dt)
    out.append(Sample((edge, np.array([0.0, 1.0, 1.0, 0.0], dtype=dt)), {"reduction": "none"},
                      "input at 0 and 1: logs clamped at -100", no_grad=(0, 1)))
    return out


def _weighted(fn):
    return lambda x, y, w, **kw: fn(x, y, weight=w, **kw)


def _weight_errors(fn, name, exact=True):
    """A weighted elementwise loss: target of another shape, and a weight that does not fit."""
    x = np.ones((3, 4))
    match = (rf"{name}: weight shape \(3,\) differs from input shape \(3, 4\)" if exact else
             rf"{name}: weight of shape \(3,\) cannot be broadcast to the input's shape \(3, 4\)")
    return lambda: [
        ErrorInput((x, np.ones(3), x), {}, ValueError,
                   rf"{name}: target shape \(3,\) differs from input shape \(3, 4\)", op=fn),
        ErrorInput((x, x, np.ones(3)), {}, ValueError if exact else RuntimeError, match, op=fn)]


def _class_weight_errors(fn, name):
    x = np.zeros((4, 3))
    return lambda: [
        ErrorInput((x, np.array([0, 1, 2, 1]), np.ones(2)), {}, RuntimeError,
                   rf"{name}: expected weight of shape \(3,\) \(one per class\), got \(2,\)",
                   op=fn),
        ErrorInput((x, np.array([0, 3, 2, 1]), np.ones(3)), {}, IndexError,
                   rf"target 3 is out of bounds: class indices must be in \[0, 2\]", op=fn)]


def _bce_logits_weights_samples(dt, rng):
    def s(shape, pw_shape, red):
        return Sample((_u(rng, dt, shape, -4, 4), _u(rng, dt, shape, 0, 1),
                       _u(rng, dt, shape, 0.2, 2), _u(rng, dt, pw_shape, 0.2, 3)),
                      {"reduction": red}, f"{shape} {red}", no_grad=(2, 3))
    out = [s((3, 4), (4,), red) for red in _RED]
    out += [s((), (), "mean"), s((0, 4), (4,), "sum"), s((2, 3), (1,), "none")]
    x, y, w, p = (_u(rng, dt, (3, 4), -4, 4), _u(rng, dt, (3, 4), 0, 1),
                  _u(rng, dt, (3, 4), 0.2, 2), _u(rng, dt, (4,), 0.2, 3))
    out.append(Sample((noncontig(x), y, w, p), {}, "noncontig", no_grad=(2, 3)))
    return out


def _kl_samples(dt, rng):
    out = _pairs(-3.0, -0.1, 0.05, 1.0, kwargs=({}, {"log_target": False}), kink=False)(dt, rng)
    out.append(Sample((_u(rng, dt, (3, 4), -3, 0), _u(rng, dt, (3, 4), -3, 0)),
                      {"log_target": True, "reduction": "batchmean"}, "log_target batchmean"))
    out.append(Sample((_u(rng, dt, (3, 4), -3, 0), _u(rng, dt, (3, 4), 0.1, 1)),
                      {"reduction": "batchmean"}, "batchmean"))
    out.append(Sample((_u(rng, dt, (), -3, 0), _u(rng, dt, (), 0.1, 1)),
                      {"reduction": "batchmean"}, "0-d batchmean"))
    zero_t = _u(rng, dt, (2, 3), 0.1, 1)
    zero_t[0, 1] = 0
    out.append(Sample((_u(rng, dt, (2, 3), -3, 0), zero_t), {"reduction": "sum"},
                      "target 0: 0 log 0 = 0", no_grad=(1,)))
    return out


def _poisson_samples(dt, rng):
    out = _pairs(-2, 2, 0, 4, kwargs=({}, {"full": True}), kink=False)(dt, rng)
    counts = np.array([[0, 1, 2, 5], [3, 0, 1, 7]], dtype=dt)
    # counts of 0 and 1: torch's target gradient is nan at 0 (0 log 0) and Stirling's term jumps
    # at 1, so the target is not differentiated here
    out.append(Sample((_u(rng, dt, (2, 4), 0.5, 2), counts), {"log_input": False, "full": True},
                      "rates, full", no_grad=(1,)))
    out.append(Sample((_u(rng, dt, (2, 4), 0.5, 2), counts), {"log_input": False}, "rates",
                      no_grad=(1,)))
    return out


def _gauss_samples(dt, rng):
    def u(*s, lo=-2.0, hi=2.0):
        return _u(rng, dt, s, lo, hi)
    return [
        Sample((u(3, 2), u(3, 2), u(3, 2, lo=0.5)), {}, "heteroscedastic"),
        Sample((u(3, 2), u(3, 2), u(3, lo=0.5)), {"reduction": "sum"}, "var (N,)"),
        Sample((u(3, 2), u(3, 2), u(3, 1, lo=0.5)), {"reduction": "none", "full": True},
               "var (N, 1), full"),
        Sample((u(3, 2), u(3, 2), 0.7), {}, "float var"),
        Sample((u(), u(), u(lo=0.5)), {}, "0-d"),
        Sample((u(0, 2), u(0, 2), u(0, 2, lo=0.5)), {}, "empty"),
        Sample((u(3, 2), u(3, 2), u(3, 2, lo=0.0, hi=1e-7)), {}, "var below eps: clamped",
               no_grad=(2,)),
    ]


def _gauss_errors():
    x = np.ones((3, 2))
    return [ErrorInput((x, x, -np.ones((3, 2))), {}, ValueError, "var has negative entry",
                       op=F.gaussian_nll_loss),
            ErrorInput((x, x, np.ones((2, 3))), {}, ValueError, r"var is of incorrect size",
                       op=F.gaussian_nll_loss)]


OPS = [
    OpInfo("mse_loss", F.mse_loss, TF.mse_loss, _pairs(kink=False),
           errors=_shape_error(F.mse_loss)),
    OpInfo("mse_loss_weighted", _weighted(F.mse_loss), _weighted(TF.mse_loss),
           _pairs(weight=True, kink=False),
           errors=_weight_errors(_weighted(F.mse_loss), "mse_loss")),
    OpInfo("l1_loss", F.l1_loss, TF.l1_loss, _pairs(), errors=_shape_error(F.l1_loss)),
    OpInfo("l1_loss_weighted", _weighted(F.l1_loss), _weighted(TF.l1_loss), _pairs(weight=True),
           errors=_weight_errors(_weighted(F.l1_loss), "l1_loss")),
    OpInfo("smooth_l1_loss", F.smooth_l1_loss, TF.smooth_l1_loss,
           _pairs(kwargs=({}, {"beta": 0.5}, {"beta": 0.0})),
           errors=_shape_error(F.smooth_l1_loss)),
    OpInfo("huber_loss", F.huber_loss, TF.huber_loss, _pairs(kwargs=({}, {"delta": 0.5})),
           errors=_shape_error(F.huber_loss)),
    OpInfo("huber_loss_weighted", _weighted(F.huber_loss), _weighted(TF.huber_loss),
           _pairs(weight=True, kwargs=({"delta": 1.5},)),
           errors=_weight_errors(_weighted(F.huber_loss), "huber_loss")),
    OpInfo("cross_entropy", F.cross_entropy, TF.cross_entropy, _class_samples(),
           primitives=("LogSoftmax", "CrossEntropy"), errors=_class_errors(F.cross_entropy)),
    OpInfo("cross_entropy_weighted", lambda x, t, w, **kw: F.cross_entropy(x, t, w, **kw),
           lambda x, t, w, **kw: TF.cross_entropy(x, t, w, **kw), _class_samples(weight=True),
           errors=_class_weight_errors(lambda x, t, w: F.cross_entropy(x, t, w), "cross_entropy")),
    OpInfo("nll_loss", F.nll_loss, TF.nll_loss, _class_samples(logp=True),
           errors=_class_errors(F.nll_loss)),
    OpInfo("nll_loss_weighted", lambda x, t, w, **kw: F.nll_loss(x, t, w, **kw),
           lambda x, t, w, **kw: TF.nll_loss(x, t, w, **kw), _class_samples(True, True),
           errors=_class_weight_errors(lambda x, t, w: F.nll_loss(x, t, w), "nll_loss")),
    OpInfo("binary_cross_entropy", F.binary_cross_entropy, TF.binary_cross_entropy, _bce_samples,
           errors=lambda: _shape_error(F.binary_cross_entropy)() + [
               ErrorInput((np.array([0.5, 1.5]), np.array([0.0, 1.0])), {}, RuntimeError,
                          "between 0 and 1", op=F.binary_cross_entropy)]),
    OpInfo("binary_cross_entropy_weighted", _weighted(F.binary_cross_entropy),
           _weighted(TF.binary_cross_entropy), _pairs(0.05, 0.95, 0, 1, weight=True, kink=False),
           errors=_weight_errors(_weighted(F.binary_cross_entropy), "binary_cross_entropy",
                                 exact=False)),
    OpInfo("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
           TF.binary_cross_entropy_with_logits, _pairs(-4, 4, 0, 1, kink=False),
           primitives=("LogSigmoid",), errors=_shape_error(F.binary_cross_entropy_with_logits)),
    OpInfo("binary_cross_entropy_with_logits_weights",
           lambda x, y, w, p, **kw: F.binary_cross_entropy_with_logits(x, y, w, pos_weight=p,
                                                                       **kw),
           lambda x, y, w, p, **kw: TF.binary_cross_entropy_with_logits(x, y, w, pos_weight=p,
                                                                        **kw),
           _bce_logits_weights_samples, errors=lambda: [
               ErrorInput((np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 4)), np.ones(3)), {},
                          RuntimeError, r"binary_cross_entropy_with_logits: pos_weight of shape "
                          r"\(3,\) cannot be broadcast to the input's shape \(3, 4\)",
                          op=lambda x, y, w, p: F.binary_cross_entropy_with_logits(
                              x, y, w, pos_weight=p)),
               ErrorInput((np.ones((3, 4)), np.ones((3, 4)), np.ones(3), np.ones(4)), {},
                          RuntimeError, r"binary_cross_entropy_with_logits: weight of shape "
                          r"\(3,\) cannot be broadcast", op=lambda x, y, w, p:
                          F.binary_cross_entropy_with_logits(x, y, w, pos_weight=p))]),
    OpInfo("kl_div", F.kl_div, TF.kl_div, _kl_samples, errors=_shape_error(F.kl_div)),
    OpInfo("kl_div_log_target", lambda x, y, **kw: F.kl_div(x, y, log_target=True, **kw),
           lambda x, y, **kw: TF.kl_div(x, y, log_target=True, **kw),
           _pairs(-3, 0, -3, 0, kink=False),
           errors=_shape_error(lambda x, y, **kw: F.kl_div(x, y, log_target=True, **kw))),
    OpInfo("poisson_nll_loss", F.poisson_nll_loss, TF.poisson_nll_loss, _poisson_samples,
           errors=_shape_error(F.poisson_nll_loss)),
    OpInfo("gaussian_nll_loss", F.gaussian_nll_loss, TF.gaussian_nll_loss, _gauss_samples,
           errors=_gauss_errors),
]
