"""Matrix products: matmul (batched, broadcasting, 1-D), mm, bmm, mv, dot, inner, outer, addmm,
addmv, baddbmm, addbmm, tensordot and einsum."""
import re

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


def _add_errors(fn, name, shapes, bad_input):
    """``fn(input, x, y)`` with an input that does not broadcast to the product, and with an
    inner-dimension mismatch between x and y."""
    c, a, b = shapes
    bad_b = b[:-2] + (b[-2] + 1,) + b[-1:] if len(b) >= 2 else (b[0] + 1,)
    return lambda: [
        ErrorInput((np.ones(bad_input), np.ones(a), np.ones(b)), {}, RuntimeError,
                   rf"{name}: input of shape {re.escape(str(bad_input))} cannot be broadcast",
                   op=fn),
        ErrorInput((np.ones(c), np.ones(a), np.ones(bad_b)), {}, RuntimeError,
                   r"(bmm|mm|mv).*(inner dimensions|batch sizes|\(\d)", op=fn)]


_NO_0D = "torch.{} takes {} tensors only: a 0-d argument raises (see the error inputs)"
_NO_NC_1D = ("takes 1-D tensors only; the table's non-contiguous layouts are strided views of "
             ">= 2-D arrays")


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


def _einsum_list_samples(dt, rng):
    r = lambda *s: rng.standard_normal(s).astype(dt)    # noqa: E731
    return [Sample(("ij,jk->ik", r(2, 3), r(3, 4)), desc="2-d"),
            Sample((",->", r(), r()), desc="0-d"), Sample(("i,->i", r(3), r()), desc="0-d scale"),
            Sample(("ij,jk->ik", r(0, 3), r(3, 4)), desc="empty"),
            Sample(("ij,jk->ik", noncontig(r(2, 3)), r(3, 4)), desc="noncontig")]


def _einsum_sublist_samples(dt, rng):
    r = lambda *s: rng.standard_normal(s).astype(dt)    # noqa: E731
    return [Sample((r(2, 3), [0, 1], r(3, 4), [1, 2], [0, 2]), desc="matmul"),
            Sample((r(), [], r(3), [0], [0]), desc="0-d"),
            Sample((r(0, 3), [0, 1], r(3, 4), [1, 2], [0, 2]), desc="empty"),
            Sample((noncontig(r(2, 3)), [0, 1], r(3, 4), [1, 2]), desc="noncontig, implicit out")]


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
           no_scalar_reason=_NO_0D.format("matmul", ">= 1-D"),
           errors=lambda: [
               _shape_error(cr.matmul, (2, 3, 4), (3, 4, 2),
                            r"matmul: batch dimensions of \(2, 3, 4\) and \(3, 4, 2\) cannot be "
                            r"broadcast"),
               _shape_error(cr.matmul, (3,), (4,), r"matmul: \(3,\) @ \(4,\): inner dimensions"),
               _shape_error(cr.matmul, (), (3,), r"matmul: both arguments need at least 1 "
                            r"dimension")]),
    OpInfo("matmul_operator", lambda a, b: a @ b, lambda a, b: a @ b,
           _pairs([((2, 3), (3, 4)), ((3,), (3, 2)), ((0, 3), (3, 2))]),
           no_scalar_reason=_NO_0D.format("matmul", ">= 1-D"),
           errors=lambda: [_shape_error(lambda a, b: a @ b, (2, 3), (4, 2),
                                        r"matmul: \(2, 3\) @ \(4, 2\): inner dimensions 3 and 4"),
                           _shape_error(lambda a, b: a @ b, (), (3,),
                                        r"matmul: both arguments need at least 1 dimension")]),
    OpInfo("mm", cr.mm, torch.mm, _pairs([((3, 4), (4, 2)), ((0, 3), (3, 2)), ((3, 0), (0, 2))],
                                         extra=[((3, 4), (4, 2))]),
           no_scalar_reason=_NO_0D.format("mm", "2-D"),
           errors=lambda: [_shape_error(cr.mm, (3,), (3, 2), r"mm: expected self to be a 2-D"),
                           _shape_error(cr.mm, (), (3, 2),
                                        r"mm: expected self to be a 2-D tensor, got shape \(\)"),
                           _shape_error(cr.mm, (3, 4), (5, 2),
                                        r"mm: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5")]),
    OpInfo("bmm", cr.bmm, torch.bmm, _pairs([((2, 3, 4), (2, 4, 2)), ((0, 2, 3), (0, 3, 2))],
                                            extra=[((2, 3, 4), (2, 4, 3))]),
           no_scalar_reason=_NO_0D.format("bmm", "3-D"),
           errors=lambda: [_shape_error(cr.bmm, (2, 3, 4), (3, 4, 2), r"bmm: batch sizes differ"),
                           _shape_error(cr.bmm, (3, 4), (4, 2), r"bmm: expected batch1 to be "
                                        r"a 3-D tensor")]),
    OpInfo("mv", cr.mv, torch.mv, _pairs([((3, 4), (4,)), ((0, 4), (4,)), ((3, 0), (0,))],
                                         extra=[((3, 4), (4,))]),
           no_scalar_reason=_NO_0D.format("mv", "a 2-D and a 1-D"),
           errors=lambda: [_shape_error(cr.mv, (3, 4), (5,), r"mv: \(3, 4\) @ \(5,\)"),
                           _shape_error(cr.mv, (3, 4), (), r"mv: expected vec to be a 1-D tensor, "
                                        r"got shape \(\)")]),
    OpInfo("dot", cr.dot, torch.dot, _pairs([((4,), (4,)), ((0,), (0,))]),
           no_scalar_reason=_NO_0D.format("dot", "1-D"), no_noncontig_reason="dot " + _NO_NC_1D,
           errors=lambda: [_shape_error(cr.dot, (3,), (4,), r"dot: inconsistent tensor size"),
                           _shape_error(cr.dot, (2, 2), (4,), r"dot: expected input to be a "
                                        r"1-D"),
                           _shape_error(cr.dot, (), (), r"dot: expected input to be a 1-D tensor, "
                                        r"got shape \(\)"),
                           ErrorInput((np.ones(3), np.ones(3, np.float32)), {}, RuntimeError,
                                      r"dot: expected both vectors to have same dtype, but found "
                                      r"(chainrule\.)?float64 and (chainrule\.)?float32",
                                      op=cr.dot)]),
    OpInfo("vdot", cr.vdot, torch.vdot, _pairs([((4,), (4,)), ((0,), (0,))]),
           no_scalar_reason=_NO_0D.format("vdot", "1-D"), no_noncontig_reason="vdot " + _NO_NC_1D,
           errors=lambda: [_shape_error(cr.vdot, (3,), (4,), r"vdot: inconsistent tensor size, "
                                        r"expected tensor \[3\] and src \[4\]"),
                           _shape_error(cr.vdot, (), (), r"vdot: expected input to be a 1-D "
                                        r"tensor, got shape \(\)")]),
    OpInfo("inner", cr.inner, torch.inner, _pairs([((4,), (4,)), ((2, 4), (3, 4)),
                                                   ((2, 3, 4), (4,)), ((), (3,)),
                                                   ((0, 4), (3, 4))], extra=[((2, 3), (4, 3))]),
           errors=lambda: [_shape_error(cr.inner, (2, 3), (4,), r"inner: the last dimension must "
                                        r"match on both input tensors but got shapes \(2, 3\) "
                                        r"and \(4,\)")]),
    OpInfo("outer", cr.outer, torch.outer, _pairs([((3,), (4,)), ((0,), (2,)), ((1,), (1,))]),
           no_scalar_reason=_NO_0D.format("outer", "1-D"), no_noncontig_reason="outer " + _NO_NC_1D,
           errors=lambda: [_shape_error(cr.outer, (2, 2), (2,), r"outer: expected input to be a "
                                        r"1-D"),
                           _shape_error(cr.outer, (), (3,), r"outer: expected input to be a 1-D "
                                        r"tensor, got shape \(\)")]),
    OpInfo("addmm", lambda c, a, b, **kw: cr.addmm(c, a, b, **kw),
           lambda c, a, b, **kw: torch.addmm(c, a, b, **kw), _arrays(
               (((3, 2), (3, 4), (4, 2)), {}), (((2,), (3, 4), (4, 2)), {"beta": 0.5}),
               (((3, 1), (3, 4), (4, 2)), {"alpha": 2.0, "beta": -1.0}),
               (((), (3, 4), (4, 2)), {"alpha": 0.5}), (((3, 2), (3, 0), (0, 2)), {})),
           errors=lambda: [ErrorInput((np.ones((3, 3)), np.ones((2, 2)), np.ones((2, 2))), {},
                                      RuntimeError, r"addmm: input of shape \(3, 3\) cannot be "
                                      r"broadcast to the shape \(2, 2\)", op=cr.addmm),
                           ErrorInput((np.ones((1, 2, 2)), np.ones((2, 2)), np.ones((2, 2))), {},
                                      RuntimeError, r"addmm: input of shape \(1, 2, 2\)",
                                      op=cr.addmm)]),
    OpInfo("addmm_beta0_ignores_nan", lambda c, a, b: cr.addmm(c, a, b, beta=0),
           lambda c, a, b: torch.addmm(c, a, b, beta=0), lambda dt, rng: [Sample((
               np.array([[np.nan, 1.0]], dtype=dt), rng.standard_normal((1, 3)).astype(dt),
               rng.standard_normal((3, 2)).astype(dt)), finite_diff=False, desc="nan"),
               Sample(tuple(rng.standard_normal(s).astype(dt) for s in [(2,), (1, 3), (3, 2)])),
               Sample(tuple(rng.standard_normal(s).astype(dt) for s in [(), (2, 3), (3, 2)]),
                      desc="0-d input"),
               Sample(tuple(rng.standard_normal(s).astype(dt) for s in [(2,), (0, 3), (3, 2)]),
                      desc="empty")],
           errors=_add_errors(lambda c, a, b: cr.addmm(c, a, b, beta=0), "addmm",
                              ((2,), (1, 3), (3, 2)), (3, 3))),
    OpInfo("addmv", lambda c, a, b, **kw: cr.addmv(c, a, b, **kw),
           lambda c, a, b, **kw: torch.addmv(c, a, b, **kw), _arrays(
               (((3,), (3, 4), (4,)), {}), (((), (3, 4), (4,)), {"beta": 2.0, "alpha": -1.0}),
               (((0,), (0, 4), (4,)), {}), (((3,), (3, 0), (0,)), {"alpha": 2.0})),
           errors=_add_errors(cr.addmv, "addmv", ((3,), (3, 4), (4,)), (2,))),
    OpInfo("baddbmm", lambda c, a, b, **kw: cr.baddbmm(c, a, b, **kw),
           lambda c, a, b, **kw: torch.baddbmm(c, a, b, **kw), _arrays(
               (((2, 3, 2), (2, 3, 4), (2, 4, 2)), {}),
               (((3, 2), (2, 3, 4), (2, 4, 2)), {"beta": 0.5, "alpha": 2.0}),
               (((1,), (2, 3, 4), (2, 4, 2)), {}), (((), (2, 3, 4), (2, 4, 2)), {"beta": 2.0}),
               (((0, 3, 2), (0, 3, 4), (0, 4, 2)), {})),
           errors=_add_errors(cr.baddbmm, "baddbmm", ((2, 3, 2), (2, 3, 4), (2, 4, 2)), (2, 5, 2))),
    OpInfo("addbmm", lambda c, a, b, **kw: cr.addbmm(c, a, b, **kw),
           lambda c, a, b, **kw: torch.addbmm(c, a, b, **kw),
           _arrays((((3, 2), (2, 3, 4), (2, 4, 2)), {}), (((), (2, 3, 4), (2, 4, 2)), {}),
                   (((3, 2), (0, 3, 4), (0, 4, 2)), {"beta": 0.5, "alpha": -1.0})),
           errors=_add_errors(cr.addbmm, "addbmm", ((3, 2), (2, 3, 4), (2, 4, 2)), (2, 3, 2))),
    OpInfo("tensordot", lambda a, b, **kw: cr.tensordot(a, b, **kw),
           lambda a, b, **kw: torch.tensordot(a, b, **kw), _arrays(
               (((2, 3, 4), (3, 4, 2)), {}), (((2, 3), (3, 4)), {"dims": 1}),
               (((2, 3), (4,)), {"dims": 0}), (((2, 3, 4), (4, 2, 3)), {"dims": ([1, -1], [2, 0])}),
               (((3, 4), (4, 3)), {"dims": ([0, 1], [1, 0])}), (((0, 3), (3, 2)), {"dims": 1}),
               (((), (3,)), {"dims": 0})),
           errors=lambda: [ErrorInput((np.ones((2, 3)), np.ones((4, 2))), {"dims": 1},
                                      RuntimeError, r"tensordot: contracted dimensions need to "
                                      r"match, but first has size 3", op=cr.tensordot),
                           ErrorInput((np.ones((2, 3)), np.ones((3, 2))), {"dims": -1},
                                      RuntimeError, r"tensordot: expected a non-negative dims, "
                                      r"got -1", op=cr.tensordot)]),
    OpInfo("einsum", cr.einsum, torch.einsum, _einsum_samples, errors=_einsum_errors),
    OpInfo("einsum_list_operands", lambda eq, *ops: cr.einsum(eq, list(ops)),
           lambda eq, *ops: torch.einsum(eq, list(ops)), _einsum_list_samples,
           errors=lambda: [ErrorInput(("ij,jk->ik", np.ones((2, 3)), np.ones((4, 2))), {},
                                      RuntimeError, r"einsum\(\): subscript j has size 4 for "
                                      r"operand 1 \(shape \(4, 2\)\)",
                                      op=lambda eq, *ops: cr.einsum(eq, list(ops)))]),
    OpInfo("einsum_sublist", cr.einsum, torch.einsum, _einsum_sublist_samples,
           errors=lambda: [ErrorInput((np.ones((2, 3)), [0, 1], np.ones((4, 2)), [1, 2], [0, 2]),
                                      {}, RuntimeError, r"einsum\(\): subscript B has size 4 for "
                                      r"operand 1 \(shape \(4, 2\)\)", op=cr.einsum)]),
]
