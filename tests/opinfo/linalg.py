"""Matrix products: matmul (batched, broadcasting, 1-D), mm, bmm, mv, dot, inner, outer, addmm,
addmv, baddbmm, addbmm, tensordot and einsum."""
import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import noncontig


def _pairs(pairs, extra=()):
    """Samples from (shape_a, shape_b[, transform_a]) pairs of standard-normal inputs."""
    def gen(dt, rng):
        out = []
        for sa, sb in pairs:
            out.append(Sample((rng.standard_normal(sa).astype(dt),
                               rng.standard_normal(sb).astype(dt)), desc=f"{sa} {sb}"))
        for sa, sb in extra:   # non-contiguous wherever the operand has 2 dims or more
            a, b = rng.standard_normal(sa).astype(dt), rng.standard_normal(sb).astype(dt)
            out.append(Sample((noncontig(a) if a.ndim > 1 else a,
                               noncontig(b) if b.ndim > 1 else b),
                              desc=f"noncontig {sa} {sb}"))
        return out
    return gen


def _arrays(*groups):
    """Samples whose args are standard-normal arrays of the given shapes (plus kwargs)."""
    def gen(dt, rng):
        return [Sample(tuple(rng.standard_normal(s).astype(dt) for s in shapes), dict(kw),
                       f"{shapes} {kw}") for shapes, kw in groups]
    return gen


def _shape_error(fn, a, b, match, error=RuntimeError):
    return ErrorInput((np.ones(a), np.ones(b)), {}, error, match, op=fn)


EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 2)]), ("ij,jk", [(2, 3), (3, 4)]), ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]), ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("ij->j", [(3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
    ("b...i,bi->b...", [(2, 3, 2, 4), (2, 4)]), ("...,...->...", [(2, 1), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("i,i,i->i", [(3,), (3,), (3,)]),
    ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 2, 4)]), ("ab,cd->", [(2, 3), (2, 2)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("", [()]),
    (" i j , j k -> i k ", [(2, 3), (3, 2)]), ("ij,jk->ik", [(0, 3), (3, 2)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
]


def _einsum_samples(dt, rng):
    out = [Sample((eq,) + tuple(rng.standard_normal(s).astype(dt) for s in shapes), desc=eq)
           for eq, shapes in EINSUM_CASES]
    out.append(Sample(("ij,jk", noncontig(rng.standard_normal((3, 4)).astype(dt)),
                       rng.standard_normal((4, 2)).astype(dt)), desc="noncontig"))
    return out


def _einsum_errors():
    e = cr.einsum
    return [
        ErrorInput(("ij,jk", np.ones((2, 3)), np.ones((4, 2))), {}, RuntimeError,
                   r"einsum\(\): subscript j has size 4 for operand 1 .* previously seen size 3",
                   op=e),
        ErrorInput(("ij", np.ones((2, 3, 4))), {}, RuntimeError,
                   r"number of subscripts in the equation \(2\) does not match the number of "
                   r"dimensions \(3\) for operand 0", op=e),
        ErrorInput(("ij,jk", np.ones((2, 3))), {}, RuntimeError, r"fewer operands", op=e),
        ErrorInput(("ij", np.ones((2, 3)), np.ones(3)), {}, RuntimeError, r"more operands",
                   op=e),
        ErrorInput(("ij->ik", np.ones((2, 3))), {}, RuntimeError,
                   r"output subscript k does not appear", op=e),
        ErrorInput(("ij->ii", np.ones((2, 3))), {}, RuntimeError, r"appears more than once",
                   op=e),
        ErrorInput(("i1", np.ones((2, 3))), {}, RuntimeError, r"invalid subscript", op=e),
        ErrorInput(("ii", np.ones((2, 3))), {}, RuntimeError, r"sizes don't match, 3 != 2",
                   op=e),
    ]


OPS = [
    OpInfo("matmul_cases", cr.matmul, torch.matmul, _pairs(
        [((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (4,)), ((4,), (4,)),
         ((1, 3, 4), (2, 4, 2)), ((3, 4), (2, 4, 5)), ((2, 0, 4), (4, 3)), ((3, 0), (0, 2)),
         ((0, 3, 4), (1, 4, 2))], extra=[((3, 4), (4, 2)), ((2, 3, 4), (2, 4, 3))]),
           errors=lambda: [
               _shape_error(cr.matmul, (2, 3, 4), (3, 4, 2),
                            r"matmul: batch dimensions of \(2, 3, 4\) and \(3, 4, 2\) cannot be "
                            r"broadcast"),
               _shape_error(cr.matmul, (3,), (4,), r"matmul: \(3,\) @ \(4,\): inner dimensions"),
               _shape_error(cr.matmul, (), (3,), r"matmul: both arguments need at least 1 "
                            r"dimension")]),
    OpInfo("matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b,
           _pairs([((2, 3), (3, 4)), ((3,), (3, 2))])),
    OpInfo("mm", cr.mm, torch.mm, _pairs([((3, 4), (4, 2)), ((0, 3), (3, 2)), ((3, 0), (0, 2))],
                                         extra=[((3, 4), (4, 2))]),
           errors=lambda: [_shape_error(cr.mm, (3,), (3, 2), r"mm: expected self to be a 2-D"),
                           _shape_error(cr.mm, (3, 4), (5, 2),
                                        r"mm: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5")]),
    OpInfo("bmm", cr.bmm, torch.bmm, _pairs([((2, 3, 4), (2, 4, 2)), ((0, 2, 3), (0, 3, 2))],
                                            extra=[((2, 3, 4), (2, 4, 3))]),
           errors=lambda: [_shape_error(cr.bmm, (2, 3, 4), (3, 4, 2), r"bmm: batch sizes differ"),
                           _shape_error(cr.bmm, (3, 4), (4, 2), r"bmm: expected batch1 to be "
                                        r"a 3-D tensor")]),
    OpInfo("mv", cr.mv, torch.mv, _pairs([((3, 4), (4,)), ((0, 4), (4,)), ((3, 0), (0,))],
                                         extra=[((3, 4), (4,))]),
           errors=lambda: [_shape_error(cr.mv, (3, 4), (5,), r"mv: \(3, 4\) @ \(5,\)")]),
    OpInfo("dot", cr.dot, torch.dot, _pairs([((4,), (4,)), ((0,), (0,))]),
           errors=lambda: [_shape_error(cr.dot, (3,), (4,), r"dot: inconsistent tensor size"),
                           _shape_error(cr.dot, (2, 2), (4,), r"dot: expected input to be a "
                                        r"1-D")]),
    OpInfo("vdot", cr.vdot, torch.vdot, _pairs([((4,), (4,))])),
    OpInfo("inner", cr.inner, torch.inner, _pairs([((4,), (4,)), ((2, 4), (3, 4)),
                                                   ((2, 3, 4), (4,)), ((), (3,))])),
    OpInfo("outer", cr.outer, torch.outer, _pairs([((3,), (4,)), ((0,), (2,)), ((1,), (1,))]),
           errors=lambda: [_shape_error(cr.outer, (2, 2), (2,), r"outer: expected input to be a "
                                        r"1-D")]),
    OpInfo("addmm", lambda c, a, b, **kw: cr.addmm(c, a, b, **kw),
           lambda c, a, b, **kw: torch.addmm(c, a, b, **kw), _arrays(
               (((3, 2), (3, 4), (4, 2)), {}), (((2,), (3, 4), (4, 2)), {"beta": 0.5}),
               (((3, 1), (3, 4), (4, 2)), {"alpha": 2.0, "beta": -1.0}),
               (((), (3, 4), (4, 2)), {"alpha": 0.5}), (((3, 2), (3, 0), (0, 2)), {})),
           errors=lambda: [ErrorInput((np.ones((3, 3)), np.ones((2, 2)), np.ones((2, 2))), {},
                                      RuntimeError, r"\(3, 3\) and \(2, 2\)", op=cr.addmm)]),
    OpInfo("addmm_beta0_ignores_nan", lambda c, a, b: cr.addmm(c, a, b, beta=0),
           lambda c, a, b: torch.addmm(c, a, b, beta=0), lambda dt, rng: [Sample((
               np.array([[np.nan, 1.0]], dtype=dt), rng.standard_normal((1, 3)).astype(dt),
               rng.standard_normal((3, 2)).astype(dt)), finite_diff=False, desc="nan"),
               Sample(tuple(rng.standard_normal(s).astype(dt) for s in [(2,), (1, 3), (3, 2)]))]),
    OpInfo("addmv", lambda c, a, b, **kw: cr.addmv(c, a, b, **kw),
           lambda c, a, b, **kw: torch.addmv(c, a, b, **kw), _arrays(
               (((3,), (3, 4), (4,)), {}), (((), (3, 4), (4,)), {"beta": 2.0, "alpha": -1.0}))),
    OpInfo("baddbmm", lambda c, a, b, **kw: cr.baddbmm(c, a, b, **kw),
           lambda c, a, b, **kw: torch.baddbmm(c, a, b, **kw), _arrays(
               (((2, 3, 2), (2, 3, 4), (2, 4, 2)), {}),
               (((3, 2), (2, 3, 4), (2, 4, 2)), {"beta": 0.5, "alpha": 2.0}),
               (((1,), (2, 3, 4), (2, 4, 2)), {}))),
    OpInfo("addbmm", lambda c, a, b: cr.addbmm(c, a, b), lambda c, a, b: torch.addbmm(c, a, b),
           _arrays((((3, 2), (2, 3, 4), (2, 4, 2)), {}))),
    OpInfo("tensordot", lambda a, b, **kw: cr.tensordot(a, b, **kw),
           lambda a, b, **kw: torch.tensordot(a, b, **kw), _arrays(
               (((2, 3, 4), (3, 4, 2)), {}), (((2, 3), (3, 4)), {"dims": 1}),
               (((2, 3), (4,)), {"dims": 0}), (((2, 3, 4), (4, 2, 3)), {"dims": ([1, -1], [2, 0])}),
               (((3, 4), (4, 3)), {"dims": ([0, 1], [1, 0])}), (((0, 3), (3, 2)), {"dims": 1})),
           errors=lambda: [ErrorInput((np.ones((2, 3)), np.ones((4, 2))), {"dims": 1},
                                      RuntimeError, r"tensordot: contracted dimensions need to "
                                      r"match, but first has size 3", op=cr.tensordot)]),
    OpInfo("einsum", cr.einsum, torch.einsum, _einsum_samples, errors=_einsum_errors),
    OpInfo("einsum_list_operands", lambda a, b: cr.einsum("ij,jk->ik", [a, b]),
           lambda a, b: torch.einsum("ij,jk->ik", [a, b]), _pairs([((2, 3), (3, 4))])),
    OpInfo("einsum_sublist", lambda a, b: cr.einsum(a, [0, 1], b, [1, 2], [0, 2]),
           lambda a, b: torch.einsum(a, [0, 1], b, [1, 2], [0, 2]), _pairs([((2, 3), (3, 4))])),
]
