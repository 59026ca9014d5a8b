"""OpInfo entries for the margin, ranking and embedding losses (nn.functional.loss_margin)."""
import numpy as np
import torch.nn.functional as TF

import chainrule.nn.functional as F
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig
from .nn_loss import _u, _sign, _shape_error, _RED, _I64


def _cosine_samples(dt, rng):
    t = np.array([1, -1, -1, 1], dtype=_I64)
    out = [Sample((_u(rng, dt, (4, 3)), _u(rng, dt, (4, 3)), t), {"reduction": r}, r)
           for r in _RED]
    out += [Sample((_u(rng, dt, (4, 3)), _u(rng, dt, (4, 3)), t), {"margin": -0.3}, "margin"),
            Sample((_u(rng, dt, (3,)), _u(rng, dt, (3,)), np.array(-1)), {}, "(D,) 0-d target"),
            Sample((_u(rng, dt, (0, 3)), _u(rng, dt, (0, 3)), np.zeros(0, _I64)), {}, "empty"),
            Sample((noncontig(_u(rng, dt, (4, 3))), _u(rng, dt, (4, 3)), t), {}, "noncontig")]
    x = _u(rng, dt, (2, 3))
    out.append(Sample((x, x.copy(), np.array([-1, -1])), {"margin": 1.0}, "kink: cos == margin",
                      finite_diff=False))
    return out


def _ranking_samples(dt, rng):
    out = [Sample((_u(rng, dt, (5,)), _u(rng, dt, (5,)), _sign(rng, dt, (5,))),
                  {"reduction": r, "margin": 0.3}, r) for r in _RED]
    out += [Sample((_u(rng, dt, ()), _u(rng, dt, ()), _sign(rng, dt, ())), {}, "0-d"),
            Sample((_u(rng, dt, (2, 3)), _u(rng, dt, (2, 3)), _sign(rng, dt, (2, 3))), {},
                   "2-d"),
            Sample((_u(rng, dt, (0,)), _u(rng, dt, (0,)), _sign(rng, dt, (0,))), {}, "empty"),
            Sample((noncontig(_u(rng, dt, (3, 4))), _u(rng, dt, (3, 4)),
                    _sign(rng, dt, (3, 4))), {}, "noncontig")]
    x = _u(rng, dt, (4,))
    out.append(Sample((x, x.copy(), _sign(rng, dt, (4,))), {}, "kink: x1 == x2, margin 0",
                      finite_diff=False))
    return out


def _hinge_samples(dt, rng):
    def s(shape, **kw):
        return Sample((_u(rng, dt, shape, -1, 3), _sign(rng, dt, shape)), kw, f"{shape} {kw}",
                      no_grad=(1,))
    out = [s((3, 4), reduction=r) for r in _RED]
    out += [s(()), s((0, 2)), s((3, 4), margin=2.0),
            Sample((noncontig(_u(rng, dt, (3, 4))), _sign(rng, dt, (3, 4))), {}, "noncontig",
                   no_grad=(1,)),
            Sample((np.array([1.0, 0.5, 2.0], dtype=dt), np.array([-1.0, -1.0, 1.0], dtype=dt)),
                   {}, "kink: input == margin", no_grad=(1,), finite_diff=False)]
    return out


def _triplet_samples(dt, rng):
    def u(*shape):
        return _u(rng, dt, shape)
    out = [Sample((u(3, 4), u(3, 4), u(3, 4)), {"reduction": r}, r) for r in _RED]
    out += [Sample((u(3, 4), u(3, 4), u(3, 4)), {"p": 1}, "p=1"),
            Sample((u(3, 4), u(3, 4), u(3, 4)), {"swap": True, "margin": 2.0}, "swap"),
            Sample((u(4), u(4), u(4)), {"p": 3}, "(D,) p=3"),
            Sample((u(), u(), u()), {"reduction": "none"}, "0-d: D = 1"),
            Sample((u(0, 4), u(0, 4), u(0, 4)), {}, "empty"),
            Sample((noncontig(u(3, 4)), u(3, 4), u(3, 4)), {}, "noncontig")]
    return out


def _triplet_errors():
    x = np.ones((3, 4))
    return [ErrorInput((x, x, np.ones((3, 5))), {}, ValueError,
                       r"negative shape \(3, 5\) differs", op=F.triplet_margin_loss),
            ErrorInput((x, x, x), {"margin": 0.0}, ValueError, "margin must be greater than 0",
                       op=F.triplet_margin_loss)]


def _soft_samples(dt, rng):
    def s(shape, **kw):
        return Sample((_u(rng, dt, shape, -4, 4), _sign(rng, dt, shape)), kw, f"{shape} {kw}",
                      no_grad=(1,))
    return [s((3, 4), reduction=r) for r in _RED] + [
        s(()), s((0, 3)), Sample((noncontig(_u(rng, dt, (3, 4))), _sign(rng, dt, (3, 4))), {},
                                 "noncontig", no_grad=(1,))]


def _multilabel_soft_samples(weight):
    def gen(dt, rng):
        w = (_u(rng, dt, (4,), 0.2, 2),) if weight else ()
        ng = (1, 2) if weight else (1,)

        def s(shape, **kw):
            t = (rng.random(shape) < 0.5).astype(dt)
            return Sample((_u(rng, dt, shape, -3, 3), t) + w, kw, f"{shape} {kw}", ng)
        return [s((3, 4), reduction=r) for r in _RED] + [
            s((4,)), s((0, 4)),
            Sample((noncontig(_u(rng, dt, (3, 4))), np.ones((3, 4), dt)) + w, {}, "noncontig", ng)]
    return gen


def _multi_margin_samples(weight):
    def gen(dt, rng):
        w = (_u(rng, dt, (4,), 0.2, 2),) if weight else ()
        ng = (2,) if weight else ()
        t = np.array([0, 3, 1], dtype=_I64)
        out = [Sample((_u(rng, dt, (3, 4)), t) + w, {"reduction": r}, r, ng) for r in _RED]
        out += [Sample((_u(rng, dt, (3, 4)), t) + w, {"p": 2, "margin": 0.5}, "p=2", ng),
                Sample((_u(rng, dt, (4,)), np.array(2)) + w, {}, "(C,)", ng),
                # torch's mean over an empty batch is 0 here (nan in chainrule, as for every
                # other loss): compare the unreduced losses
                Sample((_u(rng, dt, (0, 4)), np.zeros(0, _I64)) + w, {"reduction": "none"},
                       "empty", ng),
                Sample((noncontig(_u(rng, dt, (3, 4))), t) + w, {}, "noncontig", ng)]
        return out
    return gen


def _multilabel_margin_samples(dt, rng):
    t = np.array([[3, 0, -1, 1], [1, 2, 3, 0], [2, 2, -1, -1]], dtype=_I64)
    out = [Sample((_u(rng, dt, (3, 4)), t), {"reduction": r}, r) for r in _RED]
    out += [Sample((_u(rng, dt, (4,)), np.array([2, -1, 0, 0])), {}, "(C,)"),
            Sample((_u(rng, dt, ()), np.array(0)), {}, "0-d: C = 1"),
            # torch's mean over an empty batch reads uninitialised memory here: compare 'none'
            Sample((_u(rng, dt, (0, 4)), np.zeros((0, 4), _I64)), {"reduction": "none"}, "empty"),
            Sample((noncontig(_u(rng, dt, (3, 4))), t), {}, "noncontig")]
    return out


_NO_0D_MLSM = ("averages over the class dim (N, C) / (C,): torch rejects a 0-d input "
               "(IndexError, see the error inputs)")
_MLSM_0D = ErrorInput((np.ones(()), np.ones(())), {}, IndexError,
                      r"multilabel_soft_margin_loss: expected input \(N, C\) or \(C,\), got a 0-d",
                      op=F.multilabel_soft_margin_loss)


def _target_errors(fn, match):
    return lambda: [ErrorInput((np.zeros((3, 4)), np.array([0, 4, 1])), {}, IndexError, match,
                               op=fn)]


OPS = [
    OpInfo("cosine_embedding_loss", F.cosine_embedding_loss, TF.cosine_embedding_loss,
           _cosine_samples,
           errors=lambda: [ErrorInput((np.ones((3, 4)), np.ones((3, 4)), np.ones((2,))), {},
                                      RuntimeError, r"target \(2,\)",
                                      op=F.cosine_embedding_loss)]),
    OpInfo("margin_ranking_loss", F.margin_ranking_loss, TF.margin_ranking_loss,
           _ranking_samples, errors=_shape_error(F.margin_ranking_loss, 3)),
    OpInfo("hinge_embedding_loss", F.hinge_embedding_loss, TF.hinge_embedding_loss,
           _hinge_samples, errors=_shape_error(F.hinge_embedding_loss)),
    OpInfo("triplet_margin_loss", F.triplet_margin_loss, TF.triplet_margin_loss,
           _triplet_samples, errors=_triplet_errors),
    OpInfo("soft_margin_loss", F.soft_margin_loss, TF.soft_margin_loss, _soft_samples,
           primitives=("LogSigmoid",), errors=_shape_error(F.soft_margin_loss)),
    OpInfo("multilabel_soft_margin_loss", F.multilabel_soft_margin_loss,
           TF.multilabel_soft_margin_loss, _multilabel_soft_samples(False),
           no_scalar_reason=_NO_0D_MLSM,
           errors=lambda: _shape_error(F.multilabel_soft_margin_loss)() + [_MLSM_0D]),
    OpInfo("multilabel_soft_margin_loss_weighted",
           lambda x, y, w, **kw: F.multilabel_soft_margin_loss(x, y, w, **kw),
           lambda x, y, w, **kw: TF.multilabel_soft_margin_loss(x, y, w, **kw),
           _multilabel_soft_samples(True), no_scalar_reason=_NO_0D_MLSM,
           errors=lambda: [ErrorInput((np.ones((3, 4)), np.ones((3, 4)), np.ones(3)), {},
                                      RuntimeError, r"multilabel_soft_margin_loss: weight of "
                                      r"shape \(3,\) cannot be broadcast to the input's shape "
                                      r"\(3, 4\)", op=F.multilabel_soft_margin_loss), _MLSM_0D]),
    OpInfo("multi_margin_loss", F.multi_margin_loss, TF.multi_margin_loss,
           _multi_margin_samples(False),
           errors=_target_errors(F.multi_margin_loss, r"target 4 is out of bounds.*\[0, 3\]")),
    OpInfo("multi_margin_loss_weighted",
           lambda x, t, w, **kw: F.multi_margin_loss(x, t, weight=w, **kw),
           lambda x, t, w, **kw: TF.multi_margin_loss(x, t, weight=w, **kw),
           _multi_margin_samples(True), errors=lambda: [
               ErrorInput((np.zeros((3, 4)), np.array([0, 1, 2]), np.ones(3)), {}, RuntimeError,
                          r"multi_margin_loss: expected weight of shape \(4,\) \(one per class\), "
                          r"got \(3,\)", op=lambda x, t, w: F.multi_margin_loss(x, t, weight=w)),
               ErrorInput((np.zeros((3, 4)), np.array([0, 4, 1]), np.ones(4)), {}, IndexError,
                          r"target 4 is out of bounds.*\[0, 3\]",
                          op=lambda x, t, w: F.multi_margin_loss(x, t, weight=w))]),
    OpInfo("multilabel_margin_loss", F.multilabel_margin_loss, TF.multilabel_margin_loss,
           _multilabel_margin_samples,
           errors=lambda: [ErrorInput((np.zeros((2, 4)), np.array([[0, 4, -1, 0], [0] * 4])), {},
                                      IndexError, r"target 4 is out of bounds",
                                      op=F.multilabel_margin_loss)]),
]
