"""Reductions and scans: sum/mean/prod/amax/amin/max/min/median/aminmax/var/std/logsumexp/norm,
argmax/argmin/all/any/count_nonzero, cumsum/cumprod."""
import math

import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import uniform, noncontig

# (shape, kwargs) cases shared by most reductions: 0-d, size-0, negative dims, tuples, keepdim.
DIM_CASES = [
    ((), {}), ((), {"dim": 0}), ((), {"dim": -1, "keepdim": True}),
    ((5,), {}), ((5,), {"dim": 0}), ((3, 4), {"dim": 1}), ((3, 4), {"dim": -1, "keepdim": True}),
    ((3, 4), {"dim": (0, 1)}), ((2, 3, 4), {"dim": (0, -1)}),
    ((2, 3, 4), {"dim": (-3, 1), "keepdim": True}), ((2, 3, 4), {"dim": 1, "keepdim": False}),
    ((2, 0, 3), {"dim": 2}), ((2, 0, 3), {"dim": (0, 2), "keepdim": True}),
]
ONE_DIM_CASES = [c for c in DIM_CASES if not isinstance(c[1].get("dim"), tuple)]
NONEMPTY = [c for c in DIM_CASES if 0 not in c[0]]


def _nc_kw(cases):
    """Reduce the non-contiguous sample over its last dim when the op's cases pass ``dim``."""
    return {"dim": -1} if any("dim" in kw for _, kw in cases) else {}


def _dims_samples(cases, low=-2.0, high=2.0, extra=()):
    """One sample per case, a non-contiguous view reduced over its last dim, plus ``extra``
    (values, kwargs[, finite_diff]) samples with given values (ties, zeros, infinities)."""
    def gen(dtype, rng):
        out = [Sample((uniform(rng, shape, dtype, low, high),), dict(kw), f"{shape} {kw}")
               for shape, kw in cases]
        out.append(Sample((noncontig(uniform(rng, (3, 4), dtype, low, high)),), _nc_kw(cases),
                          "noncontig"))
        for item in extra:
            values, kw = item[0], item[1]
            fd = item[2] if len(item) > 2 else True
            out.append(Sample((np.array(values, dtype=dtype),), dict(kw), f"values {values} {kw}",
                              finite_diff=fd))
        return out
    return gen


def _unique_samples(cases, extra=()):
    """Like _dims_samples but with distinct values (a permutation), so argmax-like results are
    well defined and gradcheck is away from ties."""
    def gen(dtype, rng):
        out = []
        for shape, kw in cases:
            n = int(np.prod(shape, dtype=np.int64))
            vals = (rng.permutation(n).astype(dtype) - n / 2) / 4
            out.append(Sample((vals.reshape(shape),), dict(kw), f"{shape} {kw}"))
        out.append(Sample((noncontig(((rng.permutation(12) - 6) / 4).astype(dtype)
                                     .reshape(3, 4)),), _nc_kw(cases), "noncontig"))
        for item in extra:
            values, kw = item[0], item[1]
            fd = item[2] if len(item) > 2 else True
            out.append(Sample((np.array(values, dtype=dtype),), dict(kw), f"values {values} {kw}",
                              finite_diff=fd))
        return out
    return gen


def _call(fn):
    """Call ``fn(x, **kw)``: both libraries take dim/keepdim as keywords."""
    return lambda x, **kw: fn(x, **kw)


def _bad_dim(op, name):
    return lambda: [
        ErrorInput((np.ones((2, 3)),), {"dim": 2}, IndexError, r"Dimension out of range", op=op),
        ErrorInput((np.ones((2, 3)),), {"dim": -3}, IndexError, rf"{name}.*range", op=op),
    ]


TIES = [([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, 2.0, -1.0]], {"dim": 1}, False),
        ([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, 2.0, -1.0]], {}, False),
        ([[-1.0, 0.5, -1.0], [0.0, 0.0, 0.0]], {"dim": (0, 1), "keepdim": True}, False)]
MIN_TIES = [([[1.0, -3.0, -3.0, 0.5], [-2.0, -2.0, -2.0, 1.0]], {"dim": 1}, False),
            ([[1.0, -3.0, -3.0, 0.5], [-2.0, -2.0, -2.0, 1.0]], {}, False)]
ZEROS = [([1.5, 0.0, 2.0, -1.0], {"dim": 0}), ([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]], {"dim": 1}),
         ([[0.0, 2.0], [3.0, 0.5]], {}), ([[0.0, 0.0, 2.0], [0.0, 1.5, -2.0]], {"dim": 1})]
INF = math.inf
_NO_EMPTY_FULL = "torch.{0}(x) of no elements raises (see the error inputs); {0}_dim covers size 0"


def _full_reduce_errors(fn, name):
    return lambda: [ErrorInput((np.ones((0, 3)),), {}, RuntimeError,
                               rf"{name}\(\): Expected reduction dim to be specified for "
                               r"input.numel\(\) == 0", op=fn),
                    ErrorInput(([1.0],), {}, TypeError,
                               rf"{name}\(\): argument 'input' must be Tensor, not list", op=fn)]


def _sum_mean_methods(x):
    """Tensor.sum over the last dim; Tensor.mean over dims (0, -1) (or -1 below 2 dims)."""
    return x.sum(-1), (x.mean((0, -1), True) if x.ndim >= 2 else x.mean(-1, True))

OPS = [
    # ---- sum / mean ----
    OpInfo("sum_dim_cases", _call(cr.sum), _call(torch.sum), _dims_samples(DIM_CASES),
           primitives=("Sum",), errors=_bad_dim(cr.sum, "sum")),
    OpInfo("sum_dtype", lambda x, **kw: cr.sum(x, dtype=cr.float64, **kw),
           lambda x, **kw: torch.sum(x, dtype=torch.float64, **kw),
           _dims_samples([((3, 4), {"dim": 1}), ((2, 0), {"dim": 1}), ((), {})]),
           errors=_bad_dim(lambda x, dim: cr.sum(x, dim, dtype=cr.float64), "sum")),
    OpInfo("mean_dim_cases", _call(cr.mean), _call(torch.mean),
           _dims_samples([c for c in DIM_CASES]),
           primitives=("Mean",),
           errors=lambda: [ErrorInput((np.ones((2, 3), dtype=np.int64),), {}, RuntimeError,
                                      r"mean\(\): could not infer output dtype", op=cr.mean)]),
    OpInfo("tensor_sum_mean_methods", _sum_mean_methods, _sum_mean_methods,
           _dims_samples([((2, 3, 4), {}), ((), {}), ((2, 0, 3), {})]),
           primitives=("Mean",),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"sum: Dimension out of range.*\[-2, 1\], but got 5",
                                      op=lambda x: x.sum(5)),
                           ErrorInput((np.ones((2, 3)),), {}, RuntimeError,
                                      r"mean: dim \(0, 0\) appears multiple times",
                                      op=lambda x: x.mean((0, 0)))]),
    # ---- prod (zeros handled exactly) ----
    OpInfo("prod", _call(cr.prod), _call(torch.prod),
           _dims_samples(ONE_DIM_CASES, 0.5, 1.5, extra=ZEROS[:2]), primitives=("Prod",),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"dim": (0, 1)}, TypeError,
                                      r"prod\(\): dim must be an int", op=cr.prod),
                           ErrorInput((np.ones((2, 3)),), {"dim": 3}, IndexError,
                                      r"prod: Dimension out of range", op=cr.prod)]),
    # why: several zeros in one slice make the Hessian depend on which zero moves; first
    # derivatives are exact (checked here and by gradcheck), second ones are only for <= 1 zero.
    OpInfo("prod_zeros", _call(cr.prod), _call(torch.prod), lambda dt, rng: [
        Sample((np.array(v, dtype=dt),), dict(kw), f"{v} {kw}") for v, kw in ZEROS + [
            (0.0, {}), (0.0, {"dim": 0}), (np.zeros((2, 0)), {"dim": 1})]],
        gradgrad=False, errors=lambda: [ErrorInput((np.ones((2, 3)),), {"dim": (0, 1)}, TypeError,
                                                   r"prod\(\): dim must be an int", op=cr.prod)]),
    OpInfo("prod_int", lambda x: cr.prod(x.long(), 1), lambda x: torch.prod(x.long(), 1),
           _dims_samples([((3, 4), {})], 1, 4), grad=False,
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"prod: Dimension out of range.*but got 3",
                                      op=lambda x: cr.prod(x.long(), 3))]),
    # ---- amax / amin (ties split evenly) ----
    OpInfo("amax", _call(cr.amax), _call(torch.amax),
           _dims_samples(DIM_CASES, extra=TIES + [([1.0, INF, -INF], {"dim": 0}, False)]),
           primitives=("Amax",),
           errors=lambda: [ErrorInput((np.ones((0, 3)),), {"dim": 0}, IndexError,
                                      r"amax\(\): Expected reduction dim 0 to have non-zero size",
                                      op=cr.amax)] + _bad_dim(cr.amax, "amax")()),
    OpInfo("amin", _call(cr.amin), _call(torch.amin), _dims_samples(DIM_CASES, extra=MIN_TIES),
           primitives=("Amin",), errors=_bad_dim(cr.amin, "amin")),
    OpInfo("amax_nan", lambda x: cr.amax(x, -1), lambda x: torch.amax(x, -1),
           lambda dt, rng: [Sample((np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 2.0]], dtype=dt),),
                                   finite_diff=False, desc="nan"),
                            Sample((np.array(np.nan, dtype=dt),), finite_diff=False,
                                   desc="0-d nan"),
                            Sample((uniform(rng, (2, 3), dt),)), Sample((uniform(rng, (), dt),)),
                            Sample((uniform(rng, (0, 3), dt),), desc="empty")],
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"dim": (0, 0)}, RuntimeError,
                                      r"amax: dim \(0, 0\) appears multiple times", op=cr.amax),
                           ErrorInput((np.ones((2, 0)),), {"dim": -1}, IndexError,
                                      r"amax\(\): Expected reduction dim 1 to have non-zero size",
                                      op=cr.amax)]),
    # ---- max / min: full reduction splits ties; with dim, the first index takes it all ----
    OpInfo("max_full", lambda x: cr.max(x), lambda x: torch.max(x),
           _dims_samples([((), {}), ((5,), {}), ((3, 4), {})],
                         extra=[([[1.0, 3.0, 3.0], [3.0, 0.0, 1.0]], {}, False)]),
           no_empty_reason=_NO_EMPTY_FULL.format("max"), errors=_full_reduce_errors(cr.max, "max")),
    OpInfo("min_full", lambda x: cr.min(x), lambda x: torch.min(x),
           _dims_samples([((), {}), ((3, 4), {})],
                         extra=[([[1.0, -3.0, -3.0]], {}, False)]),
           no_empty_reason=_NO_EMPTY_FULL.format("min"), errors=_full_reduce_errors(cr.min, "min")),
    OpInfo("max_dim", lambda x, **kw: tuple(cr.max(x, **kw)),
           lambda x, **kw: tuple(torch.max(x, **kw)),
           _unique_samples([((), {"dim": 0}), ((), {"dim": -1, "keepdim": True}),
                            ((5,), {"dim": 0}), ((3, 4), {"dim": 1}),
                            ((3, 4), {"dim": -2, "keepdim": True}), ((2, 3, 4), {"dim": 1}),
                            ((0, 3), {"dim": 1})],
                           extra=[(v, kw, False) for v, kw, _ in TIES[:1]]),
           primitives=("IndexReduce",),
           errors=lambda: [ErrorInput((np.ones((0, 3)),), {"dim": 0}, IndexError,
                                      r"max\(\): Expected reduction dim 0 to have non-zero size",
                                      op=cr.max),
                           ErrorInput((np.ones((2, 3)),), {"dim": 2}, IndexError,
                                      r"max: Dimension out of range", op=cr.max)]),
    OpInfo("min_dim", lambda x, **kw: tuple(cr.min(x, **kw)),
           lambda x, **kw: tuple(torch.min(x, **kw)),
           _unique_samples([((), {"dim": 0}), ((5,), {"dim": -1}), ((3, 4), {"dim": 0}),
                            ((2, 3, 4), {"dim": -1, "keepdim": True}), ((0, 3), {"dim": 1})],
                           extra=[(v, kw, False) for v, kw, _ in MIN_TIES[:1]]),
           errors=lambda: [ErrorInput((np.ones((2, 0)),), {"dim": 1}, IndexError,
                                      r"min\(\): Expected reduction dim 1", op=cr.min)]),
    OpInfo("max_binary", lambda a, b: cr.max(a, b), lambda a, b: torch.max(a, b),
           lambda dt, rng: [Sample((uniform(rng, sa, dt), uniform(rng, sb, dt)), desc=f"{sa} {sb}")
                            for sa, sb in [((3, 4), (4,)), ((), (3,)), ((0, 3), (3,))]],
           errors=lambda: [ErrorInput((np.ones((2, 3)), np.ones(4)), {}, RuntimeError,
                                      r"maximum: shapes \(2, 3\) and \(4,\) cannot be broadcast",
                                      op=cr.max)]),
    # dims -1 and 0: valid for 0-d inputs too; (2, 0, 3) reduces the non-empty dims
    OpInfo("max_result_fields", lambda x: (cr.max(x, -1).values, cr.max(x, -1).indices,
                                           x.min(0).values, x.min(0).indices),
           lambda x: (torch.max(x, -1).values, torch.max(x, -1).indices,
                      x.min(0).values, x.min(0).indices),
           _unique_samples([((3, 4), {}), ((), {}), ((2, 0, 3), {})]),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"max: Dimension out of range.*but got 2",
                                      op=lambda x: cr.max(x, 2).values)]),
    # ---- median: value (ties share the gradient), or (values, indices) along dim ----
    OpInfo("median_full", lambda x: cr.median(x), lambda x: torch.median(x),
           _unique_samples([((), {}), ((5,), {}), ((3, 4), {})],
                           extra=[([1.0, 2.0, 2.0, 3.0, 2.0], {}, False),
                                  ([4.0, 1.0, 3.0, 2.0], {}), ([], {})]),   # empty: nan
           errors=lambda: [ErrorInput((np.ones((0,), np.int64),), {}, RuntimeError,
                                      r"median\(\): Expected reduction dim", op=cr.median),
                           ErrorInput(([1.0, 2.0],), {}, TypeError,
                                      r"median\(\): argument 'input' must be Tensor, not list",
                                      op=cr.median)]),
    OpInfo("median_dim", lambda x, **kw: tuple(cr.median(x, **kw)),
           lambda x, **kw: tuple(torch.median(x, **kw)),
           _unique_samples([((), {"dim": 0}), ((5,), {"dim": 0}), ((4, 3), {"dim": 0}),
                            ((3, 4), {"dim": -1, "keepdim": True}), ((2, 3, 4), {"dim": 1}),
                            ((2, 0, 3), {"dim": 2})],
                           extra=[([[1.0, 3.0, 3.0, 0.5]], {"dim": 1}, False)]),
           errors=_bad_dim(cr.median, "median")),
    OpInfo("aminmax", lambda x, **kw: tuple(cr.aminmax(x, **kw)),
           lambda x, **kw: tuple(torch.aminmax(x, **kw)),
           _dims_samples([((), {}), ((5,), {}), ((3, 4), {"dim": 1}),
                          ((3, 4), {"dim": -2, "keepdim": True}), ((2, 0, 3), {"dim": 2})],
                         extra=[([[1.0, 3.0, 3.0], [-1.0, -1.0, 0.0]], {"dim": 1}, False)]),
           errors=lambda: [ErrorInput((np.ones((0, 3)),), {}, RuntimeError,
                                      r"aminmax\(\): Expected reduction dim to be specified",
                                      op=cr.aminmax),
                           ErrorInput((np.ones((2, 3)),), {"dim": 2}, IndexError,
                                      r"aminmax: Dimension out of range.*but got 2",
                                      op=cr.aminmax)]),
    # ---- arg reductions and boolean reductions (no gradient) ----
    OpInfo("argmax", _call(cr.argmax), _call(torch.argmax),
           _dims_samples([((), {}), ((5,), {}), ((3, 4), {"dim": 1}), ((3, 4), {"keepdim": True}),
                          ((2, 3, 4), {"dim": -2, "keepdim": True}), ((0, 3), {"dim": 1})],
                         extra=TIES[:1] + [([[1.0, 1.0], [0.0, 0.0]], {})]), grad=False,
           errors=lambda: [ErrorInput((np.ones((0,)),), {}, RuntimeError,
                                      r"argmax\(\): Expected reduction dim to be specified",
                                      op=cr.argmax)] + _bad_dim(cr.argmax, "argmax")()),
    OpInfo("argmin", _call(cr.argmin), _call(torch.argmin),
           _dims_samples([((), {}), ((3, 4), {"dim": 0}), ((3, 4), {"dim": -1, "keepdim": True})],
                         extra=MIN_TIES[:1]), grad=False, errors=_bad_dim(cr.argmin, "argmin")),
    OpInfo("all", lambda x, **kw: cr.all(x > 0, **kw), lambda x, **kw: torch.all(x > 0, **kw),
           _dims_samples(DIM_CASES, -0.5, 2.0), grad=False, errors=_bad_dim(cr.all, "all")),
    OpInfo("any", lambda x, **kw: cr.any(x > 1, **kw), lambda x, **kw: torch.any(x > 1, **kw),
           _dims_samples(DIM_CASES), grad=False, errors=_bad_dim(cr.any, "any")),
    OpInfo("all_any_float", lambda x: (x.round().all(1), x.round().any()),
           lambda x: (x.round().all(1), x.round().any()), _dims_samples([((3, 4), {})], -1, 1),
           grad=False, errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                                  r"all: Dimension out of range.*but got 2",
                                                  op=lambda x: x.all(2))]),
    OpInfo("count_nonzero", lambda x, **kw: cr.count_nonzero(x.round(), **kw),
           lambda x, **kw: torch.count_nonzero(x.round(), **kw),
           lambda dt, rng: [Sample((uniform(rng, s, dt, -1, 1),), d, f"{s} {d}")
                            for s, d in [((), {}), ((3, 4), {}), ((3, 4), {"dim": 1}),
                                         ((2, 3, 4), {"dim": (0, -1)}), ((0, 3), {"dim": 0})]],
           grad=False, errors=_bad_dim(cr.count_nonzero, "count_nonzero")),
    # ---- var / std and friends ----
    # 0-d samples use correction=0: with the default, 1 - 1 degrees of freedom give nan.
    OpInfo("var", _call(cr.var), _call(torch.var), _dims_samples(
        NONEMPTY[3:] + [((), {"correction": 0}), ((), {"dim": -1, "correction": 0}),
                        ((2, 0, 3), {"dim": 2})]),
           errors=lambda: [ErrorInput((np.ones((2, 3), dtype=np.int64),), {}, RuntimeError,
                                      r"var\(\): only supports floating point", op=cr.var),
                           ErrorInput((np.ones((2, 3)),), {"unbiased": True, "correction": 0},
                                      RuntimeError, r"var\(\): cannot specify both", op=cr.var)]),
    OpInfo("var_correction", lambda x, **kw: cr.var(x, **kw), lambda x, **kw: torch.var(x, **kw),
           lambda dt, rng: [Sample((uniform(rng, s, dt),), kw, f"{s} {kw}") for s, kw in [
               ((3, 4), {"dim": 1, "correction": 0}), ((3, 4), {"dim": -2, "correction": 2}),
               ((2, 3, 4), {"dim": (0, 2), "unbiased": False, "keepdim": True}),
               ((5,), {"unbiased": True}), ((3, 4), {"dim": 0, "correction": 0.5}),
               ((), {"correction": 0}), ((2, 0, 3), {"dim": 2, "correction": 0})]],
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"unbiased": True, "correction": 0},
                                      RuntimeError, r"var\(\): cannot specify both", op=cr.var),
                           ErrorInput((np.ones((2, 3)),), {"dim": 2, "correction": 0},
                                      IndexError, r"var: Dimension out of range.*but got 2",
                                      op=cr.var)]),
    # the last dim: valid for 0-d inputs (unbiased=False: one value has variance 0)
    OpInfo("var_positional_unbiased", lambda x: (cr.var(x, False), cr.var(x, -1, False, True)),
           lambda x: (torch.var(x, False), torch.var(x, -1, False, True)),
           _dims_samples([((3, 4), {}), ((), {}), ((0, 3), {})]),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"var: Dimension out of range.*but got 2",
                                      op=lambda x: cr.var(x, 2, False))]),
    OpInfo("std", _call(cr.std), _call(torch.std), _dims_samples(
        NONEMPTY[3:] + [((), {"correction": 0}), ((2, 0, 3), {"dim": 2})]),
           errors=lambda: _bad_dim(cr.std, "std")() + [ErrorInput(
               (np.ones((2, 3), dtype=np.int64),), {}, RuntimeError,
               r"std\(\): only supports floating point dtypes, got (chainrule\.)?int64",
               op=cr.std)]),
    OpInfo("std_correction", lambda x, **kw: cr.std(x, correction=0, **kw),
           lambda x, **kw: torch.std(x, correction=0, **kw),
           _dims_samples([((2, 3, 4), {"dim": (0, 1), "keepdim": True}),
                          ((1, 1), {"dim": (0, 1), "keepdim": True}), ((), {}),
                          ((2, 0, 3), {"dim": 2})]),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"dim": (0, 0)}, RuntimeError,
                                      r"std: dim \(0, 0\) appears multiple times",
                                      op=lambda x, **kw: cr.std(x, correction=0, **kw))]),
    OpInfo("var_mean", lambda x, **kw: tuple(cr.var_mean(x, **kw)),
           lambda x, **kw: tuple(torch.var_mean(x, **kw)),
           _dims_samples([((5,), {}), ((3, 4), {"dim": 1}),
                          ((2, 3, 4), {"dim": (0, -1), "keepdim": True, "correction": 0}),
                          ((), {"correction": 0}), ((2, 0, 3), {"dim": 2})]),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"dim": 2}, IndexError,
                                      r"var_mean: Dimension out of range.*but got 2",
                                      op=cr.var_mean)]),
    OpInfo("std_mean", lambda x, **kw: tuple(cr.std_mean(x, **kw)),
           lambda x, **kw: tuple(torch.std_mean(x, **kw)),
           _dims_samples([((5,), {}), ((3, 4), {"dim": -2}),
                          ((2, 3, 4), {"dim": 1, "keepdim": True, "unbiased": False}),
                          ((), {"correction": 0}), ((2, 0, 3), {"dim": 2})]),
           errors=lambda: [ErrorInput((np.ones(3, dtype=np.int64),), {}, RuntimeError,
                                      r"std_mean\(\): only supports floating point dtypes",
                                      op=cr.std_mean)]),
    # ---- logsumexp: stable for huge logits, -inf rows give -inf ----
    OpInfo("logsumexp", lambda x, **kw: cr.logsumexp(x, **kw),
           lambda x, **kw: torch.logsumexp(x, **kw),
           _dims_samples([c for c in DIM_CASES if "dim" in c[1]], -5, 5, extra=[
               ([[1e4, 0.0, -1e4], [-1e4, 0.0, 1e4]], {"dim": 1}),
               ([[20.0, 20.0, -3.0], [1.0, 1.0, 1.0]], {"dim": -1, "keepdim": True}),
               ([[-INF, -INF], [0.5, -INF]], {"dim": 0}, False)]),
           errors=_bad_dim(cr.logsumexp, "logsumexp")),
    OpInfo("logsumexp_int", lambda x: cr.logsumexp(x.long(), 1),
           lambda x: torch.logsumexp(x.long(), 1), _dims_samples([((3, 4), {})], -3, 3),
           grad=False, errors=lambda: [ErrorInput(
               (np.ones((2, 3)),), {}, IndexError, r"logsumexp: Dimension out of range.*but got 2",
               op=lambda x: cr.logsumexp(x.long(), 2))]),
    # ---- norm ----
    OpInfo("norm", _call(cr.norm), _call(torch.norm), _dims_samples(
        [((), {}), ((5,), {}), ((3, 4), {"dim": 1}), ((3, 4), {"dim": (0, 1), "keepdim": True}),
         ((2, 3, 4), {"dim": -1}), ((0, 3), {"dim": 1})],
        extra=[([[0.0, 0.0], [3.0, 4.0]], {"dim": 1}, False), ([0.0, 0.0, 0.0], {}, False)]),
        errors=lambda: [ErrorInput((np.ones((2, 3)),), {"p": "nuc"}, RuntimeError,
                                   r"norm\(\): p='nuc' is not supported", op=cr.norm),
                        ErrorInput((np.ones((2, 3), dtype=np.int64),), {}, RuntimeError,
                                   r"Expected a floating point", op=cr.norm)]),
    OpInfo("norm_p", lambda x, **kw: cr.norm(x, **kw), lambda x, **kw: torch.norm(x, **kw),
           lambda dt, rng: [
               Sample((uniform(rng, s, dt),), kw, f"{s} {kw}") for s, kw in [
                   ((3, 4), {"p": 1, "dim": 1}), ((3, 4), {"p": 1}), ((5,), {"p": INF}),
                   ((3, 4), {"p": -INF, "dim": 0}), ((3, 4), {"p": 3, "dim": -1}),
                   ((3, 4), {"p": 1.5, "dim": 0, "keepdim": True}), ((2, 3), {"p": "fro"}),
                   ((3, 4), {"p": "fro", "dim": (0, 1)}), ((3, 4), {"p": -2, "dim": 1}),
                   ((3, 4), {"p": 0.5, "dim": 1}), ((), {"p": 3}), ((0, 3), {"p": 1, "dim": 1}),
                   ((0, 3), {"p": 3})]] + [
               Sample((np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0]], dtype=dt),),
                      {"p": p, "dim": 1}, f"zeros/ties p={p}", finite_diff=False)
               for p in (1, 3, INF, -INF)],
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"p": "abc"}, RuntimeError,
                                      r"norm\(\): p='abc' is not supported", op=cr.norm),
                           ErrorInput((np.ones((2, 3)),), {"p": 1, "dim": 2}, IndexError,
                                      r"norm.*Dimension out of range.*but got 2", op=cr.norm)]),
    OpInfo("norm_p0", lambda x: cr.norm(x, 0, 1), lambda x: torch.norm(x, 0, 1),
           lambda dt, rng: [Sample((np.array([[0.0, 1.5, -2.0], [0.0, 0.0, 0.0]], dtype=dt),))],
           grad=False, errors=lambda: [ErrorInput(
               (np.ones((2, 3)),), {}, IndexError, r"norm.*Dimension out of range.*but got 2",
               op=lambda x: cr.norm(x, 0, 2))]),
    OpInfo("vector_norm", lambda x, **kw: cr.linalg_vector_norm(x, **kw),
           lambda x, **kw: torch.linalg.vector_norm(x, **kw),
           lambda dt, rng: [Sample((uniform(rng, s, dt),), kw, f"{s} {kw}") for s, kw in [
               ((3, 4), {}), ((3, 4), {"ord": 3, "dim": 1}), ((2, 3, 4), {"dim": (0, 2)}),
               ((3, 4), {"ord": INF, "dim": -1, "keepdim": True}), ((), {}),
               ((0, 3), {"dim": 1}), ((0, 3), {"ord": 1})]],
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {"ord": "fro"}, RuntimeError,
                                      r"linalg.vector_norm: ord must be a number, got 'fro'",
                                      op=cr.linalg_vector_norm),
                           ErrorInput((np.ones(3, dtype=np.int64),), {}, RuntimeError,
                                      r"linalg.vector_norm: Expected a floating point tensor as "
                                      r"input. Got (chainrule\.)?int64",
                                      op=cr.linalg_vector_norm)]),
    # ---- scans ----
    OpInfo("cumsum", lambda x, **kw: cr.cumsum(x, **kw), lambda x, **kw: torch.cumsum(x, **kw),
           _dims_samples([((), {"dim": 0}), ((5,), {"dim": 0}), ((3, 4), {"dim": 1}),
                          ((3, 4), {"dim": -2}), ((2, 3, 4), {"dim": -1}),
                          ((2, 0, 3), {"dim": 1})]),
           primitives=("Cumsum",), errors=_bad_dim(lambda x, dim: cr.cumsum(x, dim), "cumsum")),
    OpInfo("cumsum_int", lambda x: cr.cumsum(x.long(), 0), lambda x: torch.cumsum(x.long(), 0),
           _dims_samples([((3, 4), {})], -5, 5), grad=False,
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"cumsum: Dimension out of range.*but got 2",
                                      op=lambda x: cr.cumsum(x.long(), 2))]),
    OpInfo("cumsum_dtype", lambda x: x.cumsum(-1, dtype=cr.float64),
           lambda x: x.cumsum(-1, dtype=torch.float64),
           _dims_samples([((3, 4), {}), ((), {}), ((2, 0), {})]),
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"cumsum: Dimension out of range.*but got -3",
                                      op=lambda x: x.cumsum(-3, dtype=cr.float64))]),
    OpInfo("cumprod", lambda x, **kw: cr.cumprod(x, **kw), lambda x, **kw: torch.cumprod(x, **kw),
           _dims_samples([((), {"dim": 0}), ((5,), {"dim": 0}), ((3, 4), {"dim": 1}),
                          ((2, 3, 4), {"dim": -2}), ((2, 0, 3), {"dim": 1})], 0.5, 1.5),
           primitives=("Cumprod",), errors=_bad_dim(lambda x, dim: cr.cumprod(x, dim), "cumprod")),
    # why: with a zero in a slice, the Hessian terms between the first zero and later entries
    # are not rebuilt; first derivatives are exact (vs torch and gradcheck).
    OpInfo("cumprod_zeros", lambda x, **kw: cr.cumprod(x, **kw),
           lambda x, **kw: torch.cumprod(x, **kw), lambda dt, rng: [
               Sample((np.array(v, dtype=dt),), {"dim": -1}, f"{v}") for v in [
                   [1.5, 0.0, 2.0, -1.0], [0.0, 2.0, 3.0], [2.0, 3.0, 0.0],
                   [[0.0, 2.0, 0.0, 1.5], [1.0, 0.5, -3.0, 0.0]], [[1.5, 0.0, 0.0, 2.0]], 0.0,
                   np.zeros((2, 0))]],
           gradgrad=False, errors=_bad_dim(lambda x, dim: cr.cumprod(x, dim), "cumprod")),
]
