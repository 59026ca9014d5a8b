import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import unary_samples, noncontig


def _mat_samples(dt, rng):
    r = lambda *s: rng.standard_normal(s).astype(dt)
    return [Sample((r(3, 4), r(4, 5)), desc="2d"), Sample((r(4), r(4)), desc="dot"),
            Sample((r(4), r(4, 2)), desc="vec@mat"), Sample((r(2, 3, 4), r(4)), desc="batch@vec"),
            Sample((r(2, 1, 3, 4), r(5, 4, 2)), desc="broadcast batch"),
            Sample((noncontig(r(3, 4)), r(4, 2)), desc="noncontig"),
            Sample((r(0, 4), r(4, 3)), desc="empty")]


def _dim_error(fn, ndim=2, dim=2):
    """``fn(x, dim)`` with ``dim`` out of range for an ``ndim``-d tensor: IndexError naming both."""
    return lambda: [ErrorInput((np.ones((2,) * ndim), dim), {}, IndexError,
                               rf"Dimension out of range.*\[-{ndim}, {ndim - 1}\].*got {dim}",
                               op=fn)]


def _index_put_samples(dt, rng):
    r = lambda *s: rng.standard_normal(s).astype(dt)
    return [Sample((r(3, 4), r(3)), desc="(3, 4)"), Sample((r(3, 4), r()), desc="0-d value"),
            Sample((r(0, 4), r(0)), desc="empty")]


OPS = [
    OpInfo("sum", cr.sum, torch.sum, unary_samples(), primitives=("Sum",),
           errors=_dim_error(cr.sum)),
    OpInfo("sum_dim", lambda x: cr.sum(x, -1, keepdim=True),
           lambda x: torch.sum(x, -1, keepdim=True),
           unary_samples(shapes=[(3, 4), (2, 3, 4), (5,), (), (2, 0)]), error_names=("sum",),
           errors=_dim_error(cr.sum)),
    OpInfo("sum_dims", lambda x: cr.sum(x, (0, 2)), lambda x: torch.sum(x, (0, 2)),
           unary_samples(shapes=[(2, 3, 4), (2, 0, 3)]), error_names=("sum",),
           no_scalar_reason="reduces dims (0, 2): needs a tensor of >= 3 dims",
           errors=_dim_error(cr.sum, 3, 3)),
    OpInfo("mean", lambda x: cr.mean(x, 1), lambda x: torch.mean(x, 1),
           unary_samples(shapes=[(3, 4), (2, 3, 4), (0, 4)]),
           no_scalar_reason="reduces dim 1: needs a tensor of >= 2 dims",
           primitives=("Mean",), errors=lambda: _dim_error(cr.mean)() + [ErrorInput(
               (np.ones((2, 3), np.int64), 1), {}, RuntimeError,
               "mean.*could not infer output dtype.*int64", op=cr.mean)]),
    OpInfo("reshape", lambda x: cr.reshape(x, (-1,)), lambda x: torch.reshape(x, (-1,)),
           unary_samples(), primitives=("Reshape",),
           errors=lambda: [ErrorInput((np.ones((2, 3)), (4,)), {}, RuntimeError, "invalid",
                                      op=cr.reshape)]),
    OpInfo("permute", lambda x: cr.permute(x, (2, 0, 1)), lambda x: torch.permute(x, (2, 0, 1)),
           unary_samples(shapes=[(2, 3, 4), (2, 0, 3)]), primitives=("Permute",),
           no_scalar_reason="the permutation (2, 0, 1) needs a 3-d tensor",
           errors=lambda: [ErrorInput((np.ones((2, 3, 4)), (0, 1)), {}, RuntimeError,
                                      r"permute: number of dims.*3.*2", op=cr.permute),
                           ErrorInput((np.ones((2, 3, 4)), (0, 0, 1)), {}, RuntimeError,
                                      r"permute: repeated dim in \(0, 0, 1\)", op=cr.permute)]),
    OpInfo("expand", lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4),
           unary_samples(shapes=[(3, 1), (4,), (), (3, 4)]), primitives=("Expand",),
           no_empty_reason="expands to (2, 3, 4): a size-0 dim cannot expand to a non-zero size",
           errors=lambda: [ErrorInput((np.ones((3, 2)),), {}, RuntimeError,
                                      r"expand: the expanded size of the tensor \(4\) must match "
                                      r"the existing size \(2\)")]),
    OpInfo("squeeze", lambda x: cr.squeeze(x), lambda x: torch.squeeze(x),
           unary_samples(shapes=[(3, 1, 4), (1,), (), (1, 0), (2, 1, 3, 2)]),
           primitives=("Squeeze",), errors=_dim_error(cr.squeeze, 2, 3)),
    OpInfo("getitem_basic", lambda x: x[1:, ::2], lambda x: x[1:, ::2],
           unary_samples(shapes=[(3, 4), (2, 3, 4), (0, 4)]), primitives=("GetItem", "IndexAdd"),
           no_scalar_reason="slices two dims: needs a tensor of >= 2 dims",
           errors=lambda: [ErrorInput((np.ones((3, 4)),), {}, IndexError,
                                      r"getitem: too many indices.*2-dimensional.*3",
                                      op=lambda x: x[0, 0, 0])]),
    OpInfo("getitem_repeat", lambda x: x[[0, 0, 2]], lambda x: x[[0, 0, 2]],
           unary_samples(shapes=[(3, 4), (3,), (3, 0)]), error_names=("getitem",),
           no_scalar_reason="indexes dim 0 with [0, 0, 2]: needs a tensor of >= 1 dim",
           errors=lambda: [ErrorInput((np.ones((3, 4)),), {}, IndexError,
                                      r"getitem: index 7 is out of bounds for dimension 0 with "
                                      r"size 3", op=lambda x: x[[0, 7]])]),
    OpInfo("index_put", lambda x, v: cr.index_put(x, (slice(None), 1), v),
           lambda x, v: x.index_put((torch.arange(x.shape[0]), torch.tensor(1)), v),
           _index_put_samples, primitives=("IndexPut",),
           errors=lambda: [ErrorInput((np.ones((3, 4)), np.ones(5)), {}, RuntimeError,
                                      r"index_put:.*\(5,\).*\(3,\)")]),
    OpInfo("matmul", cr.matmul, torch.matmul, _mat_samples, primitives=("MatMul",),
           no_scalar_reason="torch.matmul rejects 0-d arguments (see the error inputs)",
           errors=lambda: [ErrorInput((np.ones((3, 4)), np.ones((5, 6))), {}, RuntimeError,
                                      r"matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5"),
                           ErrorInput((np.ones(()), np.ones(3)), {}, RuntimeError,
                                      r"matmul: both arguments need at least 1 dimension")]),
]
