"""OpInfo entries for sorting, selection, search and counting ops (chainrule.ops.sorting):
sort/argsort/msort, topk, kthvalue, mode, nanmedian, cummax/cummin, logcumsumexp,
unique(_consecutive), searchsorted/bucketize, bincount, histc, nansum/nanmean, trace, diff,
meshgrid, cartesian_prod, cdist and rot90.

Gradient samples use distinct values (a permutation), so the selected indices are unique and
finite differences stay away from ties; tie samples are forward-only (``finite_diff=False``), and
where torch leaves the index of a tie unspecified (topk, kthvalue, mode) they compare the values
and the values read back at the returned indices."""
import math

import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig, uniform

NAN, INF = math.nan, math.inf
I = lambda *v: np.array(v, dtype=np.int64)           # noqa: E731,E741


def _distinct(rng, shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return ((rng.permutation(n) - n / 2) / 4).astype(dtype).reshape(shape)


def _samples(cases, extra=(), nc_kw=None):
    """One distinct-valued sample per (shape, kwargs) case, a non-contiguous (3, 4) view, and
    ``extra`` (values, kwargs) tie samples kept out of gradcheck."""
    def gen(dtype, rng):
        out = [Sample((_distinct(rng, shape, dtype),), dict(kw), f"{shape} {kw}")
               for shape, kw in cases]
        out.append(Sample((noncontig(_distinct(rng, (3, 4), dtype)),),
                          dict(nc_kw if nc_kw is not None else cases[-1][1]), "noncontig"))
        out += [Sample((np.array(v, dtype=dtype),), dict(kw), f"ties {v} {kw}",
                       finite_diff=False) for v, kw in extra]
        return out
    return gen


def _err(args, kwargs, error, match, op=None):
    return ErrorInput(args, kwargs, error, match, op=op)


def _dim_errors(op, name):
    return lambda: [_err((np.ones((2, 3)),), {"dim": 2}, IndexError,
                         rf"{name}: Dimension out of range .*but got 2", op=op),
                    _err(([1.0, 2.0],), {}, TypeError,
                         rf"{name}\(\): argument 'input' must be Tensor, not list", op=op)]


def _values_at_indices(fn):
    """(values, input.gather(dim, indices)): checks a tie result without fixing which index."""
    def call(x, *args, **kw):
        values, indices = fn(x, *args, **kw)
        dim = kw.get("dim", -1)
        if x.ndim == 0:
            return values, x
        if values.ndim < x.ndim:
            values, indices = values.unsqueeze(dim), indices.unsqueeze(dim)
        return values, x.gather(dim, indices)
    return call


TIES = [([3.0, 1.0, 3.0, 2.0, 1.0, 3.0, 0.0], {}),
        ([[2.0, 2.0, 1.0, 2.0], [0.0, 5.0, 5.0, 0.0]], {"dim": 1}),
        ([[2.0, 2.0, 1.0], [2.0, 0.0, 1.0]], {"dim": 0})]
NAN_TIES = [([1.0, NAN, 3.0, NAN, -INF, INF, 3.0], {})]

SORT_CASES = [((), {}), ((7,), {}), ((3, 4), {"dim": 0}), ((3, 4), {"descending": True}),
              ((2, 3, 4), {"dim": 1, "descending": True}), ((2, 0, 3), {"dim": 1}),
              ((2, 3, 4), {"dim": -1, "stable": True})]
SORT_TIES = TIES + NAN_TIES + [(v, {**kw, "descending": True}) for v, kw in TIES + NAN_TIES] + \
    [([[1.0, 0.0, 1.0, 0.0]], {"stable": True, "descending": True})]

TOPK_CASES = [((), {"k": 1}), ((7,), {"k": 3}), ((3, 4), {"k": 2, "dim": 0}),
              ((3, 4), {"k": 4, "largest": False}), ((2, 3, 4), {"k": 0, "dim": 1}),
              ((0, 3), {"k": 2}), ((3, 0), {"k": 0, "dim": 1}), ((3, 4), {"k": 2})]
KTH_CASES = [((), {"k": 1}), ((7,), {"k": 3}), ((3, 4), {"k": 3, "dim": 0, "keepdim": True}),
             ((2, 3, 4), {"k": 1, "dim": 1}), ((0, 3), {"k": 2}), ((3, 4), {"k": 4})]
MODE_CASES = [((), {}), ((6,), {}), ((3, 4), {"dim": 0}), ((2, 3, 4), {"dim": 1, "keepdim": True}),
              ((0, 3), {}), ((3, 4), {})]
CUM_CASES = [((), {"dim": 0}), ((7,), {"dim": 0}), ((3, 4), {"dim": 1}), ((2, 3, 4), {"dim": -3}),
             ((2, 0, 3), {"dim": 1}), ((3, 4), {"dim": 0})]
CUM_TIES = [([3.0, 1.0, 3.0, 2.0, 1.0, 3.0, 0.0], {"dim": 0}),
            ([[2.0, 2.0, 1.0, 2.0], [0.0, 5.0, 5.0, 0.0]], {"dim": 1}),
            ([1.0, NAN, 3.0, NAN, 0.0], {"dim": 0})]


def _topk_errors():
    return [_err((np.ones(3),), {"k": 4}, RuntimeError,
                 r"topk\(\): selected index k out of range: k=4", op=cr.topk),
            _err((np.ones(3),), {"k": -1}, RuntimeError, r"topk\(\).*k=-1", op=cr.topk),
            _err((np.ones((2, 3)),), {"k": 1, "dim": 3}, IndexError,
                 r"topk: Dimension out of range .*but got 3", op=cr.topk)]


def _kth_errors():
    return [_err((np.ones(3),), {"k": 4}, RuntimeError,
                 r"kthvalue\(\): selected number k out of range for dimension 0 \(k=4",
                 op=cr.kthvalue),
            _err((np.ones(3),), {"k": 0}, RuntimeError, r"kthvalue\(\).*k=0", op=cr.kthvalue),
            _err((np.ones((2, 0)),), {"k": 1}, IndexError,
                 r"kthvalue\(\): Expected reduction dim 1 to have non-zero size", op=cr.kthvalue)]


def _mode_errors():
    return [_err((np.ones((2, 0)),), {}, IndexError,
                 r"mode\(\): Expected reduction dim 1 to have non-zero size", op=cr.mode),
            _err((np.ones((2, 3)),), {"dim": -3}, IndexError,
                 r"mode: Dimension out of range .*but got -3", op=cr.mode)]


def _lcse_samples(dtype, rng):
    out = [Sample((uniform(rng, shape, dtype),), {"dim": d}, f"{shape} dim={d}")
           for shape, d in [((), 0), ((6,), 0), ((3, 4), 1), ((2, 3, 4), 0), ((2, 0, 3), 1),
                            ((3, 4), -2)]]
    out.append(Sample((noncontig(uniform(rng, (3, 4), dtype)),), {"dim": 1}, "noncontig"))
    out.append(Sample((np.array([1000.0, 0.0, -1000.0, 999.0], dtype=dtype),), {"dim": 0},
                      "large magnitudes"))
    out.append(Sample((np.array([[-INF, 0.0, -INF], [1.0, -INF, 2.0]], dtype=dtype),),
                      {"dim": 1}, "-inf", finite_diff=False))
    return out


def _tuple(fn):
    return lambda *a, **kw: tuple(fn(*a, **kw))


# ---- no-gradient ops: unique, search, counting ----
def _unique_samples(dtype, rng):
    ints = rng.integers(0, 4, (3, 5))
    rows = np.array([[1, 2, 0], [0, 5, 1], [1, 2, 0], [0, 1, 1]])
    out = []
    for kw in ({}, {"return_inverse": True}, {"return_counts": True, "sorted": False},
               {"return_inverse": True, "return_counts": True}):
        out.append(Sample((ints.astype(dtype),), dict(kw), f"float {kw}"))
        out.append(Sample((ints,), dict(kw), f"int64 {kw}"))
    full = {"return_inverse": True, "return_counts": True}
    out += [Sample((rows,), {**full, "dim": 0}, "rows dim=0"),
            Sample((rows,), {**full, "dim": 1}, "columns dim=1"),
            Sample((rows.astype(dtype),), {**full, "dim": -1}, "float dim=-1"),
            Sample((np.array(3.0, dtype=dtype),), dict(full), "0-d"),
            Sample((np.zeros((0, 3), dtype=dtype),), dict(full), "size-0"),
            Sample((np.zeros((2, 0), dtype=dtype),), {**full, "dim": 1}, "size-0 dim"),
            Sample((np.array([1.0, NAN, 2.0, NAN, 1.0], dtype=dtype),), dict(full), "nan"),
            Sample((np.array([True, False, True]),), dict(full), "bool")]
    return out


def _unique_consecutive_samples(dtype, rng):
    full = {"return_inverse": True, "return_counts": True}
    v = np.array([1, 1, 2, 2, 3, 1, 1, 2])
    rows = np.array([[1, 2], [1, 2], [3, 4], [1, 2]])
    return [Sample((v,), {}, "int"), Sample((v.astype(dtype),), dict(full), "float"),
            Sample((v.reshape(2, 4),), dict(full), "2-d flattened"),
            Sample((rows,), {**full, "dim": 0}, "rows"),
            Sample((rows.T.copy(),), {**full, "dim": 1}, "columns"),
            Sample((np.array(2.0, dtype=dtype),), dict(full), "0-d"),
            Sample((np.zeros(0, dtype=dtype),), dict(full), "size-0")]


def _unique_errors():
    return [_err((np.ones((2, 3)),), {"dim": 2}, IndexError,
                 r"unique: Dimension out of range .*but got 2", op=cr.unique),
            _err((np.ones((0, 3)),), {"dim": 1}, RuntimeError,
                 r"unique\(\): There are 0 sized dimensions.*dim=1", op=cr.unique),
            _err(([1, 2],), {}, TypeError, r"unique\(\): argument 'input' must be Tensor",
                 op=cr.unique)]


SEQ = np.array([1.0, 3.0, 5.0, 7.0, 7.0, 9.0])


def _search_samples(dtype, rng):
    seq, vals = SEQ.astype(dtype), np.array([[3.0, 6.0, 7.0], [10.0, 0.0, 1.0]], dtype=dtype)
    rows = np.sort(uniform(rng, (2, 3, 5), dtype), -1)
    return [Sample((seq, vals), {}, "1-d"), Sample((seq, vals), {"right": True}, "right"),
            Sample((seq, vals), {"side": "right"}, "side=right"),
            Sample((seq, vals), {"side": "left", "out_int32": True}, "int32"),
            Sample((seq, np.array(7.0, dtype=dtype)), {}, "0-d value"),
            Sample((seq, 4.0), {}, "number"), Sample((seq, np.zeros((0,), dtype)), {}, "size-0"),
            Sample((rows, uniform(rng, (2, 3, 4), dtype)), {}, "batched"),
            Sample((rows, uniform(rng, (2, 3, 4), dtype)), {"right": True}, "batched right"),
            Sample((seq.astype(np.int64), np.array([3, 8])), {}, "int64"),
            Sample((seq, np.array([NAN, 2.0], dtype=dtype)), {}, "nan value")]


def _search_errors():
    return [_err((np.ones((2, 3)), np.ones((3, 3))), {}, RuntimeError,
                 r"torch.searchsorted\(\): boundaries tensor should be 1 dimension.*\[2, 3\].*"
                 r"\[3, 3\]", op=cr.searchsorted),
            _err((np.ones(3), np.ones(3)), {"side": "up"}, RuntimeError,
                 r"side can only be 'left' or 'right' but got 'up'", op=cr.searchsorted),
            _err((np.ones(3), np.ones(3)), {"side": "left", "right": True}, RuntimeError,
                 r"side and right can't be set to opposites", op=cr.searchsorted)]


def _sorter_call(lib):
    def call(seq, vals, order, **kw):
        return lib.searchsorted(seq, vals, sorter=order, **kw)
    return call


def _bucketize_samples(dtype, rng):
    b, x = SEQ.astype(dtype), uniform(rng, (3, 4), dtype, 0.0, 10.0)
    return [Sample((x, b), {}, "2-d"), Sample((x, b), {"right": True}, "right"),
            Sample((np.array([1.0, 3.0, 7.0, 9.5], dtype=dtype), b), {"right": True}, "edges"),
            Sample((np.array([1.0, 3.0, 7.0, 9.5], dtype=dtype), b), {}, "edges left"),
            Sample((3.0, b), {}, "number"), Sample((x, b), {"out_int32": True}, "int32"),
            Sample((np.zeros((2, 0), dtype), b), {}, "size-0")]


def _bincount_samples(dtype, rng):
    x = rng.integers(0, 6, 20)
    w = uniform(rng, (20,), dtype)
    return [Sample((x,), {}, "counts"), Sample((x,), {"minlength": 10}, "minlength"),
            Sample((x, w), {}, "float weights"), Sample((x, w), {"minlength": 9}, "weights ml"),
            Sample((x, x * 2), {}, "int weights -> float64"),
            Sample((np.zeros(0, np.int64),), {}, "size-0"),
            Sample((np.zeros(0, np.int64),), {"minlength": 3}, "size-0 minlength")]


def _bincount_call(lib):
    def call(x, weights=None, **kw):
        return lib.bincount(x, weights, **kw)
    return call


def _bincount_errors():
    return [_err((np.array([1, -1]),), {}, RuntimeError,
                 r"bincount\(\): only supports 1-d non-negative integral inputs", op=cr.bincount),
            _err((np.ones(2),), {}, NotImplementedError, r"bincount\(\): not implemented for "
                 r"chainrule.float64", op=cr.bincount),
            _err((np.array([1, 2]), np.ones(3)), {}, RuntimeError,
                 r"bincount\(\): weights should be 1-d .*\[3\]", op=cr.bincount),
            _err((np.array([1, 2]),), {"minlength": -1}, RuntimeError,
                 r"bincount\(\): minlength should be >= 0, got -1", op=cr.bincount)]


def _histc_samples(dtype, rng):
    x = uniform(rng, (4, 5), dtype)
    return [Sample((x,), {}, "default"), Sample((x,), {"bins": 7, "min": -1, "max": 1}, "range"),
            Sample((np.array([1.0, 2.0, 1.0, 3.0, 0.0], dtype=dtype),),
                   {"bins": 4, "min": 0, "max": 3}, "edges"),
            Sample((np.array([2.0, 2.0], dtype=dtype),), {"bins": 4}, "constant data"),
            Sample((np.array([2.0, 2.9], dtype=dtype),), {"bins": 4, "min": 2, "max": 2},
                   "min == max"),
            Sample((np.array([1.0, NAN, INF, -1.0], dtype=dtype),), {"bins": 2, "min": 0,
                                                                      "max": 2}, "nan inf"),
            Sample((np.zeros((0,), dtype),), {"bins": 3}, "size-0"),
            Sample((np.array(0.5, dtype),), {"bins": 3}, "0-d")]


def _histc_errors():
    return [_err((np.ones(3),), {"bins": 0}, RuntimeError, r"histc\(\): bins must be > 0, but "
                 r"got 0", op=cr.histc),
            _err((np.ones(3),), {"min": 2, "max": 1}, RuntimeError,
                 r"histc\(\): max must be larger than min \(got min=2, max=1\)", op=cr.histc),
            _err((np.ones(3, np.int64),), {}, NotImplementedError,
                 r"histc\(\): not implemented for chainrule.int64", op=cr.histc)]


# ---- differentiable composites: nansum/nanmean, trace, diff, grids, cdist, rot90 ----
def _nan_samples(dtype, rng, all_nan=True):
    def with_nan(shape):
        a = uniform(rng, shape, dtype)
        a.reshape(-1)[::3] = NAN
        return a
    out = [Sample((uniform(rng, shape, dtype),), dict(kw), f"{shape} {kw}")
           for shape, kw in [((), {}), ((3, 4), {"dim": 1}), ((2, 0, 3), {"dim": 1}),
                             ((2, 3, 4), {"dim": (0, 2), "keepdim": True})]]
    out.append(Sample((noncontig(uniform(rng, (3, 4), dtype)),), {"dim": 0}, "noncontig"))
    out += [Sample((with_nan(shape),), dict(kw), f"nan {shape} {kw}", finite_diff=False)
            for shape, kw in [((3, 4), {}), ((3, 4), {"dim": 0}), ((2, 3, 4), {"dim": -1})]]
    if all_nan:
        out.append(Sample((np.full((2, 3), NAN, dtype),), {"dim": 1}, "all nan",
                          finite_diff=False))
    return out


def _trace_samples(dtype, rng):
    return [Sample((uniform(rng, s, dtype),), {}, f"{s}") for s in [(3, 4), (4, 4), (5, 2),
                                                                     (0, 3), (1, 1)]] + [
        Sample((noncontig(uniform(rng, (3, 3), dtype)),), {}, "noncontig")]


def _diff_call(lib):
    def call(x, prepend=None, append=None, **kw):
        return lib.diff(x, prepend=prepend, append=append, **kw)
    return call


def _diff_samples(dtype, rng):
    a = lambda *s: uniform(rng, s, dtype)     # noqa: E731
    return [Sample((a(6),), {}, "1-d"), Sample((a(3, 5),), {"n": 2}, "n=2"),
            Sample((a(3, 5),), {"dim": 0}, "dim 0"), Sample((a(2, 3, 4),), {"n": 3, "dim": 1},
                                                           "n >= size"),
            Sample((a(3, 4), a(3, 2), a(3, 1)), {"dim": 1}, "prepend append"),
            Sample((a(3, 4), a(1, 4)), {"dim": 0, "n": 2}, "prepend"),
            Sample((a(0, 4),), {"dim": 1}, "size-0"), Sample((a(3, 4),), {"n": 0}, "n=0"),
            Sample((noncontig(a(3, 4)),), {"dim": 0}, "noncontig")]


def _diff_errors():
    return [_err((np.ones(3),), {"n": -1}, RuntimeError,
                 r"diff\(\): order must be non-negative but got -1", op=cr.diff),
            _err((np.array(1.0),), {}, RuntimeError,
                 r"diff\(\): expects input to be at least one-dimensional", op=cr.diff),
            _err((np.ones((3, 2)),), {"prepend": cr.ones(3)}, RuntimeError,
                 r"diff\(\): expects prepend or append to be the same dimension.*1 and 2",
                 op=cr.diff)]


def _grid_call(lib, name):
    return lambda *ts, **kw: getattr(lib, name)(*ts, **kw)


def _mesh_samples(dtype, rng):
    a = lambda *s: uniform(rng, s, dtype)     # noqa: E731
    return [Sample((a(3), a(2)), {"indexing": "ij"}, "ij"),
            Sample((a(3), a(2)), {"indexing": "xy"}, "xy"),
            Sample((a(2), a(3), a(4)), {"indexing": "xy"}, "3 tensors xy"),
            Sample((a(2), a(), a(3)), {"indexing": "ij"}, "0-d"),
            Sample((a(0), a(3)), {"indexing": "ij"}, "size-0"),
            Sample((a(4),), {"indexing": "xy"}, "one tensor")]


def _mesh_errors():
    return [_err((np.ones((2, 2)),), {"indexing": "ij"}, RuntimeError,
                 r"meshgrid\(\): Expected 0D or 1D tensor.*\[2, 2\]", op=cr.meshgrid),
            _err((np.ones(2),), {"indexing": "foo"}, RuntimeError,
                 r'meshgrid\(\): indexing must be one of "xy" or "ij", but received: foo',
                 op=cr.meshgrid),
            _err((np.ones(2), np.ones(2, np.int64)), {"indexing": "ij"}, RuntimeError,
                 r"meshgrid\(\): expects all tensors to have the same dtype.*int64",
                 op=cr.meshgrid)]


def _cart_samples(dtype, rng):
    a = lambda *s: uniform(rng, s, dtype)     # noqa: E731
    return [Sample((a(3), a(2)), {}, "two"), Sample((a(2), a(3), a(2)), {}, "three"),
            Sample((a(4),), {}, "one"), Sample((a(0), a(3)), {}, "size-0"),
            Sample((np.array([1, 2]), np.array([3, 4, 5])), {}, "int64")]


def _cdist_samples(p):
    def gen(dtype, rng):
        a = lambda *s: uniform(rng, s, dtype)     # noqa: E731
        kw = {"p": p}
        out = [Sample((a(*s1[:-1], s1[-1]), a(*s2[:-1], s2[-1])), dict(kw), f"{s1} {s2}")
               for s1, s2 in [((4, 3), (3, 3)), ((2, 2, 3), (2, 3, 3)), ((2, 1, 2, 2), (3, 2, 2))]]
        out += [Sample((noncontig(a(3, 3)), a(2, 3)), dict(kw), "noncontig"),
                Sample((a(0, 3), a(2, 3)), dict(kw), "size-0 rows"),
                Sample((a(3, 0), a(2, 0)), dict(kw), "size-0 columns")]
        return out
    return gen


def _cdist_zero_samples(dtype, rng):
    x = np.array([[0.0, 1.0], [2.0, -1.0]], dtype=dtype)
    y = np.array([[0.0, 1.0], [2.0, 0.5], [1.0, -1.0]], dtype=dtype)
    out = [Sample((x, y), {"p": p}, f"p={p} zero distance and coordinates", finite_diff=False)
           for p in (2.0, 1.0, 0.5, 3.0, INF)]
    same_column = np.array([[0.0, 2.0], [1.0, 3.0]], dtype=dtype)   # equal coordinates only
    return out + [Sample((x, same_column), {"p": p}, f"p={p} zero coordinate") for p in (2.0, 3.0)]


def _cdist_mm_samples(dtype, rng):
    a = lambda *s: uniform(rng, s, dtype)     # noqa: E731
    return [Sample((a(26, 2), a(2, 2)), {}, "P > 25: matmul path"),
            Sample((a(2, 3, 2), a(1, 2, 2)), {"compute_mode": "use_mm_for_euclid_dist"},
                   "forced matmul"),
            Sample((a(26, 2), a(2, 2)), {"compute_mode": "donot_use_mm_for_euclid_dist"},
                   "P > 25 direct"),
            Sample((noncontig(a(27, 3)), a(0, 3)), {}, "noncontig, size-0")]


def _cdist_errors():
    return [_err((np.ones(3), np.ones((2, 3))), {}, RuntimeError,
                 r"cdist\(\): only supports at least 2D tensors, X1 got: 1D", op=cr.cdist),
            _err((np.ones((2, 3)), np.ones((2, 4))), {}, RuntimeError,
                 r"cdist\(\): X1 and X2 must have the same number of columns. X1: 3 X2: 4",
                 op=cr.cdist),
            _err((np.ones((2, 3)), np.ones((2, 3))), {"p": -1.0}, RuntimeError,
                 r"cdist\(\): only supports non-negative p values, got -1.0", op=cr.cdist),
            _err((np.ones((2, 3)), np.ones((2, 3))), {"compute_mode": "fast"}, ValueError,
                 r"cdist\(\): fast is not a valid value for compute_mode", op=cr.cdist),
            _err((np.ones((2, 3), np.int64), np.ones((2, 3))), {}, RuntimeError,
                 r"cdist\(\): only supports floating-point dtypes, X1 got: chainrule.int64",
                 op=cr.cdist)]


def _rot_samples(dtype, rng):
    a = lambda *s: uniform(rng, s, dtype)     # noqa: E731
    return [Sample((a(3, 4),), {"k": k}, f"k={k}") for k in (1, 2, 3, 0, -1, 6)] + [
        Sample((a(2, 3, 4),), {"k": 1, "dims": [1, 2]}, "dims 1 2"),
        Sample((a(2, 3, 4),), {"k": 3, "dims": (-1, 0)}, "dims -1 0"),
        Sample((a(0, 3),), {"k": 1}, "size-0"), Sample((noncontig(a(3, 4)),), {}, "noncontig")]


def _rot_errors():
    return [_err((np.ones((2, 2)),), {"dims": [0]}, RuntimeError,
                 r"rot90\(\): expected total rotation dims == 2, but got dims = 1", op=cr.rot90),
            _err((np.ones((2, 2)),), {"dims": [1, 1]}, RuntimeError,
                 r"rot90\(\): expected rotation dims to be different, but got dim0 = 1",
                 op=cr.rot90),
            _err((np.ones(2),), {}, RuntimeError,
                 r"rot90\(\): expected total dims >= 2, but got total dims = 1", op=cr.rot90),
            _err((np.ones((2, 2)),), {"dims": [0, 2]}, IndexError,
                 r"rot90: Dimension out of range .*but got 2", op=cr.rot90)]


def _methods(x):
    """The Tensor methods, called the same way on both libraries."""
    s = x.sort(0, True)
    return (s.values, s.indices, x.argsort(1), x.msort(), x.topk(2).values, x.kthvalue(2, 0)[0],
            x.mode(1).values, x.nanmedian(0).values, x.cummax(1).values, x.cummin(0).indices,
            x.logcumsumexp(1), x.nansum(1), x.nanmean(), x.trace(), x.diff(dim=0),
            x.rot90(1, [1, 0]))


def _method_samples(dtype, rng):
    return [Sample((_distinct(rng, (3, 4), dtype),), {}, "(3, 4)"),
            Sample((noncontig(_distinct(rng, (4, 3), dtype)),), {}, "noncontig")]


_NO_0D_MATRIX = "torch rejects a 0-d input (a matrix is required; see the error inputs)"
_NO_NONCONTIG_1D = "the inputs are 0-d or 1-d tensors, which have no non-contiguous layout here"
_DISCRETE = "the result is an integer index or count (no gradient, as torch)"

OPS = [
    OpInfo("sort", _tuple(cr.sort), _tuple(torch.sort), _samples(SORT_CASES, SORT_TIES),
           errors=_dim_errors(cr.sort, "sort")),
    OpInfo("argsort", cr.argsort, torch.argsort, _samples(SORT_CASES[:-1], SORT_TIES),
           grad=False, errors=_dim_errors(cr.argsort, "argsort")),
    OpInfo("msort", cr.msort, torch.msort, _samples([((), {}), ((5, 3), {}), ((0, 2), {})],
                                                    [(v, {}) for v, _ in TIES]),
           errors=lambda: [_err(([1.0],), {}, TypeError, r"sort\(\): argument 'input' must be "
                                r"Tensor, not list", op=cr.msort),
                           _err((np.ones(2),), {"dim": 0}, TypeError, r"unexpected keyword",
                                op=cr.msort)]),
    OpInfo("topk", _tuple(cr.topk), _tuple(torch.topk), _samples(TOPK_CASES), errors=_topk_errors),
    # torch leaves the order of tied values unspecified: compare values and what indices point to
    OpInfo("topk_ties", _values_at_indices(cr.topk), _values_at_indices(torch.topk),
           lambda dt, rng: [Sample((np.array(v, dtype=dt),), {"k": 3, **kw}, f"{v} {kw}")
                            for v, kw in TIES[:2] + [(TIES[0][0], {"largest": False})] +
                            NAN_TIES],
           grad=False, errors=_topk_errors),
    OpInfo("topk_unsorted", lambda x, **kw: cr.sort(cr.topk(x, sorted=False, **kw).values).values,
           lambda x, **kw: torch.sort(torch.topk(x, sorted=False, **kw).values).values,
           _samples(TOPK_CASES[:-2] + [((3, 4), {"k": 3, "largest": False})]),
           errors=_topk_errors),
    OpInfo("kthvalue", _tuple(cr.kthvalue), _tuple(torch.kthvalue), _samples(KTH_CASES),
           errors=_kth_errors),
    OpInfo("kthvalue_ties", _values_at_indices(cr.kthvalue), _values_at_indices(torch.kthvalue),
           lambda dt, rng: [Sample((np.array(v, dtype=dt),), {"k": k, **kw}, f"{v} k={k}")
                            for v, kw in TIES for k in (1, 2)],
           grad=False, errors=_kth_errors),
    OpInfo("mode", _tuple(cr.mode), _tuple(torch.mode), _samples(MODE_CASES), errors=_mode_errors),
    OpInfo("mode_ties", _values_at_indices(cr.mode), _values_at_indices(torch.mode),
           lambda dt, rng: [Sample((np.array(v, dtype=dt),), dict(kw), f"{v} {kw}")
                            for v, kw in TIES + [([1.0, 2.0, 2.0, 1.0, 3.0], {}),
                                                 ([[1.0, 1.0, 2.0, 2.0, 2.0]], {"dim": 1})]] + [
               Sample((np.random.default_rng(3).integers(0, 4, (3, 9)).astype(dt),),
                      {"dim": d}, f"random ints dim={d}") for d in (0, 1)],
           grad=False, errors=_mode_errors),
    OpInfo("nanmedian_full", cr.nanmedian, torch.nanmedian,
           _samples([((), {}), ((7,), {}), ((3, 4), {}), ((0, 3), {})],
                    [(v, {}) for v, _ in TIES] + [([[2.0, NAN, 1.0], [NAN, 2.0, 2.0]], {}),
                                                  ([NAN, NAN], {})]),
           errors=lambda: [_err(([1.0],), {}, TypeError, r"nanmedian\(\): argument 'input' must "
                                r"be Tensor, not list", op=cr.nanmedian),
                           _err((np.ones((2, 3)),), {"dim": 2}, IndexError,
                                r"nanmedian: Dimension out of range .*but got 2",
                                op=cr.nanmedian)]),
    OpInfo("nanmedian_dim", _tuple(cr.nanmedian), _tuple(torch.nanmedian),
           _samples([((), {"dim": 0}), ((7,), {"dim": 0}), ((3, 4), {"dim": 1, "keepdim": True}),
                     ((2, 3, 4), {"dim": -3}), ((0, 3), {"dim": 1}), ((3, 4), {"dim": 0})],
                    [(v, kw) for v, kw in TIES if kw] + [
                        ([[2.0, NAN, 1.0, 2.0], [3.0, 1.0, NAN, 0.0]], {"dim": 1}),
                        ([[2.0, NAN, 1.0], [NAN, NAN, 2.0]], {"dim": 0})]),
           errors=lambda: [_err((np.ones((2, 0)),), {"dim": 1}, IndexError,
                                r"nanmedian\(\): Expected reduction dim 1 to have non-zero size",
                                op=cr.nanmedian),
                           _err((np.ones((2, 3)),), {"dim": -3}, IndexError,
                                r"nanmedian: Dimension out of range .*but got -3",
                                op=cr.nanmedian)]),
    # an all-NaN slice: torch leaves its index unspecified
    OpInfo("nanmedian_all_nan", _values_at_indices(cr.nanmedian),
           _values_at_indices(torch.nanmedian),
           lambda dt, rng: [Sample((np.array([[NAN, NAN, NAN, NAN], [1.0, NAN, 0.0, NAN]], dt),),
                                   {"dim": 1})],
           grad=False, errors=lambda: [_err((np.ones((2, 0)),), {"dim": 1}, IndexError,
                                            r"nanmedian\(\): Expected reduction dim 1",
                                            op=cr.nanmedian)]),
    OpInfo("cummax", _tuple(cr.cummax), _tuple(torch.cummax), _samples(CUM_CASES, CUM_TIES),
           errors=_dim_errors(lambda x, dim=0: cr.cummax(x, dim), "cummax")),
    OpInfo("cummin", _tuple(cr.cummin), _tuple(torch.cummin), _samples(CUM_CASES, CUM_TIES),
           errors=_dim_errors(lambda x, dim=0: cr.cummin(x, dim), "cummin")),
    OpInfo("cummax_int", lambda x: tuple(cr.cummax(x.long(), 1)),
           lambda x: tuple(torch.cummax(x.long(), 1)),
           lambda dt, rng: [Sample((np.array([[3, 1, 3, 5], [0, 0, 2, 1]], dtype=dt),), {})],
           grad=False, errors=lambda: [_err((np.ones((2, 3)),), {}, IndexError,
                                            r"cummin: Dimension out of range .*but got 2",
                                            op=lambda x: cr.cummin(x.long(), 2))]),
    OpInfo("logcumsumexp", cr.logcumsumexp, torch.logcumsumexp, _lcse_samples,
           primitives=("LogCumsumExp",),
           errors=lambda: [_err((np.ones(2),), {"dim": 1}, IndexError,
                                r"logcumsumexp: Dimension out of range .*but got 1",
                                op=cr.logcumsumexp),
                           _err((np.ones(2, np.int64),), {"dim": 0}, NotImplementedError,
                                r"logcumsumexp\(\): not implemented for chainrule.int64",
                                op=cr.logcumsumexp)]),
    OpInfo("unique", cr.unique, torch.unique,
        _unique_samples, grad=False, errors=_unique_errors),
    OpInfo("unique_consecutive", cr.unique_consecutive, torch.unique_consecutive,
           _unique_consecutive_samples, grad=False,
           errors=lambda: [_err((np.ones(2),), {"dim": 1}, IndexError,
                                r"unique_consecutive: Dimension out of range .*but got 1",
                                op=cr.unique_consecutive),
                           _err(([1, 1],), {}, TypeError, r"unique_consecutive\(\): argument "
                                r"'input' must be Tensor, not list", op=cr.unique_consecutive)]),
    OpInfo("searchsorted", cr.searchsorted, torch.searchsorted, _search_samples, grad=False,
           errors=_search_errors),
    OpInfo("searchsorted_sorter", _sorter_call(cr), _sorter_call(torch), lambda dt, rng: [
        Sample((np.array([5.0, 1.0, 3.0], dt), np.array([2.0, 4.0, 6.0], dt), I(1, 2, 0)), {}),
        Sample((np.array([[5.0, 1.0, 3.0], [0.0, 2.0, -1.0]], dt),
                np.array([[2.0], [1.0]], dt), I([1, 2, 0], [2, 0, 1])), {"right": True})],
        grad=False, errors=lambda: [_err((np.ones(3), np.ones(2), I(0, 1)), {}, RuntimeError,
                                         r"boundary and sorter must have the same size.*\[2\]",
                                         op=_sorter_call(cr))]),
    OpInfo("bucketize", cr.bucketize, torch.bucketize, _bucketize_samples, grad=False,
           errors=lambda: [_err((np.ones(3), np.ones((2, 2))), {}, RuntimeError,
                                r"bucketize\(\): boundaries tensor must be 1 dimension, but got "
                                r"dim\(2\)", op=cr.bucketize),
                           _err((np.ones(3), [1.0, 2.0]), {}, TypeError,
                                r"bucketize\(\): argument 'boundaries' must be Tensor",
                                op=cr.bucketize)]),
    OpInfo("bincount", _bincount_call(cr), _bincount_call(torch), _bincount_samples, grad=False,
           errors=_bincount_errors),
    OpInfo("histc", cr.histc, torch.histc, _histc_samples, grad=False, errors=_histc_errors),
    OpInfo("nansum", cr.nansum, torch.nansum, _nan_samples,
           errors=lambda: [_err((np.ones((2, 3)),), {"dim": 2}, IndexError,
                                r"sum: Dimension out of range .*but got 2", op=cr.nansum),
                           _err(([1.0],), {}, TypeError, r"nansum\(\): argument 'input' must be "
                                r"Tensor", op=cr.nansum)]),
    OpInfo("nansum_int", lambda x: cr.nansum(x.long(), 1), lambda x: torch.nansum(x.long(), 1),
           lambda dt, rng: [Sample((np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dt),), {})],
           grad=False, errors=lambda: [_err(([1],), {}, TypeError, r"nansum\(\): argument",
                                            op=cr.nansum)]),
    OpInfo("nanmean", cr.nanmean, torch.nanmean, lambda dt, rng: _nan_samples(dt, rng, False),
           errors=lambda: [_err((np.ones(2, np.int64),), {}, RuntimeError,
                                r"nanmean\(\): expected input to have floating point dtype but "
                                r"got chainrule.int64", op=cr.nanmean),
                           _err((np.ones((2, 3)),), {"dim": (0, 0)}, RuntimeError,
                                r"sum: dim \(0, 0\) appears multiple times", op=cr.nanmean)]),
    # an all-NaN slice: chainrule's gradient is 0 there, torch's NaN (inf * 0 in its nansum rule)
    OpInfo("nanmean_all_nan", cr.nanmean, torch.nanmean, lambda dt, rng: [
        Sample((np.array([[NAN, NAN], [1.0, NAN]], dt),), kw) for kw in ({"dim": 1}, {})],
        grad=False, errors=lambda: [_err((np.ones(2, np.int64),), {}, RuntimeError,
                                         r"nanmean\(\).*got chainrule.int64", op=cr.nanmean)]),
    OpInfo("trace", cr.trace, torch.trace, _trace_samples, no_scalar_reason=_NO_0D_MATRIX,
           errors=lambda: [_err((np.ones(3),), {}, RuntimeError,
                                r"trace\(\): expected a matrix, but got tensor with dim 1",
                                op=cr.trace),
                           _err((np.array(1.0),), {}, RuntimeError,
                                r"trace\(\): expected a matrix, but got tensor with dim 0",
                                op=cr.trace)]),
    OpInfo("trace_int", lambda x: cr.trace(x.long()), lambda x: torch.trace(x.long()),
           lambda dt, rng: [Sample((np.arange(6.0, dtype=dt).reshape(2, 3),), {})], grad=False,
           errors=lambda: [_err((np.ones((2, 2, 2)),), {}, RuntimeError,
                                r"trace\(\): expected a matrix, but got tensor with dim 3",
                                op=cr.trace)]),
    OpInfo("diff", _diff_call(cr), _diff_call(torch), _diff_samples, errors=_diff_errors,
           no_scalar_reason="torch requires >= 1 dim (see the error inputs)"),
    OpInfo("diff_bool", lambda x, **kw: cr.diff(x > 0, **kw), lambda x, **kw: torch.diff(x > 0,
                                                                                         **kw),
           lambda dt, rng: [Sample((np.array([[1.0, -1.0, -2.0, 3.0], [1.0, 1.0, -1.0, 1.0]],
                                             dt),), {"dim": 1}),
                            Sample((np.array([1.0, -1.0, -2.0, 3.0], dt),), {"n": 2})],
           grad=False, errors=_diff_errors),
    OpInfo("meshgrid", _grid_call(cr, "meshgrid"), _grid_call(torch, "meshgrid"), _mesh_samples,
           no_noncontig_reason=_NO_NONCONTIG_1D, errors=_mesh_errors),
    OpInfo("cartesian_prod", _grid_call(cr, "cartesian_prod"), _grid_call(torch, "cartesian_prod"),
           _cart_samples, no_scalar_reason="torch requires 1-d tensors (see the error inputs)",
           no_noncontig_reason=_NO_NONCONTIG_1D,
           errors=lambda: [_err((np.ones((2, 2)),), {}, RuntimeError,
                                r"cartesian_prod\(\): Expect a 1D vector, but got shape \[2, 2\]",
                                op=cr.cartesian_prod),
                           _err((np.ones(2), 3), {}, TypeError,
                                r"cartesian_prod\(\): argument 'tensors\[1\]' must be Tensor",
                                op=cr.cartesian_prod)]),
    OpInfo("cdist_p2", cr.cdist, torch.cdist, _cdist_samples(2.0), no_scalar_reason=_NO_0D_MATRIX,
           errors=_cdist_errors),
    OpInfo("cdist_p1", cr.cdist, torch.cdist, _cdist_samples(1.0), no_scalar_reason=_NO_0D_MATRIX,
           errors=_cdist_errors),
    OpInfo("cdist_pinf", cr.cdist, torch.cdist, _cdist_samples(INF),
           no_scalar_reason=_NO_0D_MATRIX, errors=_cdist_errors),
    OpInfo("cdist_p3", cr.cdist, torch.cdist, _cdist_samples(3.0), no_scalar_reason=_NO_0D_MATRIX,
           errors=_cdist_errors),
    OpInfo("cdist_p05", cr.cdist, torch.cdist, _cdist_samples(0.5),
           no_scalar_reason=_NO_0D_MATRIX, errors=_cdist_errors),
    OpInfo("cdist_p0", cr.cdist, torch.cdist, _cdist_samples(0.0), grad=False,
           errors=_cdist_errors),
    OpInfo("cdist_zero_distance", cr.cdist, torch.cdist, _cdist_zero_samples,
           no_scalar_reason=_NO_0D_MATRIX, no_empty_reason="covered by the cdist_p* entries",
           errors=_cdist_errors),
    OpInfo("cdist_matmul", cr.cdist, torch.cdist, _cdist_mm_samples,
           no_scalar_reason=_NO_0D_MATRIX, errors=_cdist_errors),
    OpInfo("rot90", cr.rot90, torch.rot90, _rot_samples, errors=_rot_errors,
           no_scalar_reason="torch requires >= 2 dims (see the error inputs)"),
    OpInfo("sorting_tensor_methods", _methods, _methods, _method_samples,
           no_scalar_reason="trace and rot90 need a matrix; the 0-d cases are in the entries "
                            "above", no_empty_reason="topk(2) and kthvalue(2) need >= 2 "
                                                     "elements; the size-0 cases are above",
           errors=lambda: [_err((np.ones((2, 3)),), {}, IndexError,
                                r"sort: Dimension out of range .*but got 2",
                                op=lambda x: x.sort(2)),
                           _err((np.ones((2, 3)),), {}, RuntimeError,
                                r"topk\(\): selected index k out of range: k=4",
                                op=lambda x: x.topk(4))]),
]
