"""chainrule.nn.functional activations against torch.nn.functional.

Every entry has random samples (0-d, size-0, non-contiguous) for gradcheck/gradgradcheck and a
sample on the function's kinks (compared with torch, kept out of finite differences)."""
import numpy as np
import torch.nn.functional as TF

import chainrule.nn.functional as F
from .core import OpInfo, Sample, ErrorInput
from .samplers import uniform, noncontig

SHAPES = [(), (5,), (3, 4), (0,), (2, 0, 3), (2, 3, 4)]


def act_samples(low=-3.0, high=3.0, kinks=(), kwargs=({},), shapes=SHAPES):
    """Random samples for every kwargs set, a non-contiguous one, and one on ``kinks``."""
    def gen(dtype, rng):
        out = []
        for kw in kwargs:
            for shape in shapes:
                out.append(Sample((uniform(rng, shape, dtype, low, high),), dict(kw),
                                  f"{shape} {kw}"))
            out.append(Sample((noncontig(uniform(rng, (3, 4), dtype, low, high)),), dict(kw),
                              f"noncontig {kw}"))
            if kinks:
                out.append(Sample((np.array(kinks, dtype=dtype),), dict(kw), f"kinks {kw}",
                                  finite_diff=False))
        return out
    return gen


def not_tensor(fn, name, *extra):
    """The ErrorInput every activation has: a list instead of a Tensor."""
    return ErrorInput(([1.0, -1.0],) + extra, {}, TypeError,
                      rf"{name}\(\): argument 'input' must be a Tensor", op=fn)


def _leaf_inplace(fn, name):
    """An in-place activation on a leaf that requires grad: RuntimeError naming the op."""
    return ErrorInput((np.ones(3),), {}, RuntimeError,
                      rf"{name}: a leaf Variable that requires grad is being used in an in-place",
                      op=lambda x: fn(x.requires_grad_()))


def entry(name, fn, ref, samples, errors=(), extra_args=(), **kw):
    return OpInfo("F." + name, fn, ref, samples,
                  errors=lambda: [not_tensor(fn, name, *extra_args)] + list(errors), **kw)


ZERO = (-1.0, 0.0, 1.0, 2.0)

OPS = [
    entry("relu", F.relu, TF.relu, act_samples(kinks=ZERO)),
    entry("relu6", F.relu6, TF.relu6, act_samples(-2, 8, kinks=(-1.0, 0.0, 3.0, 6.0, 7.0))),
    entry("leaky_relu", F.leaky_relu, TF.leaky_relu,
          act_samples(kinks=ZERO, kwargs=({}, {"negative_slope": 0.2}))),
    entry("elu", F.elu, TF.elu, act_samples(-4, 4, kinks=ZERO, kwargs=({}, {"alpha": 0.5}))),
    entry("selu", F.selu, TF.selu, act_samples(kinks=ZERO)),
    entry("celu", F.celu, TF.celu, act_samples(kinks=ZERO, kwargs=({}, {"alpha": 2.0})),
          errors=[ErrorInput((np.ones(3), 0.0), {}, RuntimeError, "ZeroDivision",
                             op=F.celu)]),
    entry("gelu", F.gelu, TF.gelu, act_samples(-4, 4, kwargs=({}, {"approximate": "tanh"})),
          primitives=("Gelu",),
          errors=[ErrorInput((np.ones(3),), {"approximate": "fast"}, RuntimeError,
                             "approximate argument must be either none or tanh", op=F.gelu)]),
    entry("silu", F.silu, TF.silu, act_samples(-6, 6)),
    entry("mish", F.mish, TF.mish, act_samples(-6, 6)),
    entry("softplus", F.softplus, TF.softplus,
          act_samples(-30, 30, kwargs=({}, {"beta": 2.0, "threshold": 5.0},
                                       {"beta": 0.5, "threshold": 1.0}),
                      kinks=(-1e4, -100.0, -30.0, 0.0, 2.5, 20.0, 30.0, 100.0, 1e4))),
    entry("softsign", F.softsign, TF.softsign, act_samples(kinks=ZERO)),
    entry("hardtanh", F.hardtanh, TF.hardtanh,
          act_samples(kinks=(-2.0, -1.0, 0.0, 1.0, 1.5, 2.0),
                      kwargs=({}, {"min_val": -0.5, "max_val": 1.5})),
          errors=[ErrorInput((np.ones(3), 1.0, -1.0), {}, ValueError,
                             r"hardtanh: min_val \(1.0\) cannot be greater than max_val \(-1.0\)",
                             op=F.hardtanh)]),
    entry("hardsigmoid", F.hardsigmoid, TF.hardsigmoid,
          act_samples(-5, 5, kinks=(-4.0, -3.0, 0.0, 3.0, 4.0))),
    entry("hardswish", F.hardswish, TF.hardswish,
          act_samples(-5, 5, kinks=(-4.0, -3.0, 0.0, 3.0, 4.0))),
    entry("sigmoid", F.sigmoid, TF.sigmoid, act_samples(-8, 8)),
    entry("tanh", F.tanh, TF.tanh, act_samples()),
    entry("logsigmoid", F.logsigmoid, TF.logsigmoid,
          act_samples(-30, 30, kinks=(-1e4, -50.0, 0.0, 50.0, 1e4))),
    entry("threshold", F.threshold, TF.threshold,
          act_samples(kinks=(-1.0, 0.5, 1.0), kwargs=({"threshold": 0.5, "value": -2.0},)),
          extra_args=(0.5, -2.0)),
    entry("rrelu", F.rrelu, TF.rrelu, act_samples(kinks=ZERO)),
    entry("tanhshrink", F.tanhshrink, TF.tanhshrink, act_samples()),
    entry("softshrink", F.softshrink, TF.softshrink,
          act_samples(kinks=(-1.0, -0.5, 0.0, 0.5, 1.0), kwargs=({}, {"lambd": 1.0})),
          errors=[ErrorInput((np.ones(3), -0.5), {}, RuntimeError, "lambda must be greater",
                             op=F.softshrink)]),
    entry("hardshrink", F.hardshrink, TF.hardshrink,
          act_samples(kinks=(-1.0, -0.5, 0.0, 0.5, 1.0), kwargs=({}, {"lambd": 1.0}))),
]


def _dim_samples(dtype, rng):
    cases = [((), 0), ((5,), -1), ((3, 4), 1), ((3, 4), 0), ((2, 3, 4), -2), ((0, 3), 1)]
    out = [Sample((uniform(rng, s, dtype), d), desc=f"{s} dim={d}") for s, d in cases]
    out.append(Sample((noncontig(uniform(rng, (3, 4), dtype)), -1), desc="noncontig"))
    return out


def _dim_entry(name, fn, ref):
    return OpInfo("F." + name, fn, ref, _dim_samples, errors=lambda: [
        not_tensor(fn, name, 0),
        ErrorInput((np.ones((2, 3)), 2), {}, IndexError, "Dimension out of range", op=fn)])


OPS += [
    _dim_entry("softmax", F.softmax, TF.softmax),
    _dim_entry("log_softmax", F.log_softmax, TF.log_softmax),
    _dim_entry("softmin", F.softmin, TF.softmin),
    OpInfo("F.softmax_implicit_dim", lambda x: (F.softmax(x), F.log_softmax(x), F.softmin(x)),
           lambda x: (TF.softmax(x, 0 if x.ndim in (0, 1, 3) else 1),
                      TF.log_softmax(x, 0 if x.ndim in (0, 1, 3) else 1),
                      TF.softmin(x, 0 if x.ndim in (0, 1, 3) else 1)),
           act_samples(shapes=[(), (4,), (3, 4), (2, 3, 2), (0, 4)]),
           errors=lambda: [not_tensor(F.softmax, "softmax"), not_tensor(F.softmin, "softmin")]),
    OpInfo("F.glu", F.glu, TF.glu,
           lambda dt, rng: [Sample((uniform(rng, (4,), dt),), desc="1-d"),
                            Sample((uniform(rng, (4, 3), dt), 0), desc="odd other dim"),
                            Sample((uniform(rng, (2, 4, 3), dt), 1), desc="dim 1"),
                            Sample((uniform(rng, (0, 4), dt),), desc="empty"),
                            Sample((noncontig(uniform(rng, (3, 4), dt)), -1), desc="noncontig")],
           errors=lambda: [
               not_tensor(F.glu, "glu"),
               ErrorInput((np.ones((3, 3)), 1), {}, RuntimeError,
                          "Halving dimension must be even, but dimension 1 is size 3", op=F.glu),
               ErrorInput((np.ones(()),), {}, RuntimeError, "does not support scalars",
                          op=F.glu)],
           no_scalar_reason="glu halves a dimension: torch rejects 0-d input (see the error "
                            "inputs)"),
    OpInfo("F.prelu", F.prelu, TF.prelu,
           lambda dt, rng: [
               Sample((uniform(rng, (2, 3, 4), dt), uniform(rng, (3,), dt, 0, 0.5)),
                      desc="per channel"),
               Sample((uniform(rng, (2, 3), dt), uniform(rng, (1,), dt, 0, 0.5)), desc="shared"),
               Sample((uniform(rng, (5,), dt), uniform(rng, (1,), dt, 0, 0.5)), desc="1-d"),
               Sample((uniform(rng, (), dt), uniform(rng, (1,), dt, 0, 0.5)), desc="0-d"),
               Sample((uniform(rng, (0, 3), dt), uniform(rng, (3,), dt, 0, 0.5)), desc="empty"),
               Sample((noncontig(uniform(rng, (4, 3), dt)), uniform(rng, (3,), dt, 0, 0.5)),
                      desc="noncontig"),
               Sample((np.array([[-1.0, 0.0, 1.0]], dtype=dt), np.array([0.3], dtype=dt)),
                      desc="kink", finite_diff=False)],
           errors=lambda: [
               not_tensor(F.prelu, "prelu", np.ones(1)),
               ErrorInput((np.ones((2, 3)), np.ones(4)), {}, RuntimeError,
                          "Found parameter numbers = 4 and channel size = 3", op=F.prelu)]),
    OpInfo("F.activation_inplace",
           lambda x: [f(x * 1, *a, inplace=True) for f, a in
                      [(F.relu, ()), (F.relu6, ()), (F.leaky_relu, (0.1,)), (F.elu, (0.7,)),
                       (F.selu, ()), (F.celu, (1.5,)), (F.silu, ()), (F.mish, ()),
                       (F.hardtanh, (-0.5, 0.5)), (F.hardsigmoid, ()), (F.hardswish, ()),
                       (F.threshold, (0.1, 2.0)), (F.rrelu, ())]],
           lambda x: [f(x * 1, *a, inplace=True) for f, a in
                      [(TF.relu, ()), (TF.relu6, ()), (TF.leaky_relu, (0.1,)), (TF.elu, (0.7,)),
                       (TF.selu, ()), (TF.celu, (1.5,)), (TF.silu, ()), (TF.mish, ()),
                       (TF.hardtanh, (-0.5, 0.5)), (TF.hardsigmoid, ()), (TF.hardswish, ()),
                       (TF.threshold, (0.1, 2.0)), (TF.rrelu, ())]],
           act_samples(shapes=[(), (3, 4), (0, 3)]), gradgrad=False,
           errors=lambda: [_leaf_inplace(lambda x: F.relu(x, inplace=True), "relu_"),
                           _leaf_inplace(lambda x: F.elu(x, 0.7, inplace=True), "elu_")]),
    OpInfo("F.activation_inplace_underscore",
           lambda x: [F.relu_(x * 1), F.elu_(x * 1), F.leaky_relu_(x * 1, 0.2),
                      F.hardtanh_(x * 1), F.selu_(x * 1), F.celu_(x * 1),
                      F.threshold_(x * 1, 0.0, 1.0)],
           lambda x: [TF.relu_(x * 1), TF.elu_(x * 1), TF.leaky_relu_(x * 1, 0.2),
                      TF.hardtanh_(x * 1), TF.selu_(x * 1), TF.celu_(x * 1),
                      TF.threshold_(x * 1, 0.0, 1.0)],
           act_samples(shapes=[(3, 4), (), (0, 3)]), gradgrad=False,
           errors=lambda: [_leaf_inplace(F.relu_, "relu_"), _leaf_inplace(F.elu_, "elu_"),
                           _leaf_inplace(lambda x: F.threshold_(x, 0.0, 1.0), "threshold_")]),
]
