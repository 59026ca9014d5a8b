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


OPS = [
    OpInfo("sum", cr.sum, torch.sum, unary_samples(), primitives=("Sum",)),
    OpInfo("sum_dim", lambda x: cr.sum(x, -1, keepdim=True), lambda x: torch.sum(x, -1, keepdim=True),
           unary_samples(shapes=[(3, 4), (2, 3, 4), (5,)])),
    OpInfo("sum_dims", lambda x: cr.sum(x, (0, 2)), lambda x: torch.sum(x, (0, 2)),
           unary_samples(shapes=[(2, 3, 4), (2, 0, 3)])),
    OpInfo("mean", lambda x: cr.mean(x, 1), lambda x: torch.mean(x, 1),
           unary_samples(shapes=[(3, 4), (2, 3, 4)])),
    OpInfo("reshape", lambda x: cr.reshape(x, (-1,)), lambda x: torch.reshape(x, (-1,)),
           unary_samples(), primitives=("Reshape",),
           errors=lambda: [ErrorInput((np.ones((2, 3)), (4,)), {}, RuntimeError, "invalid",
                                      op=cr.reshape)]),
    OpInfo("permute", lambda x: cr.permute(x, (2, 0, 1)), lambda x: torch.permute(x, (2, 0, 1)),
           unary_samples(shapes=[(2, 3, 4), (2, 0, 3)]), primitives=("Permute",)),
    OpInfo("expand", lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4),
           unary_samples(shapes=[(3, 1), (4,), ()]), primitives=("Expand",)),
    OpInfo("squeeze", lambda x: cr.squeeze(x), lambda x: torch.squeeze(x),
           unary_samples(shapes=[(3, 1, 4), (1,), ()]), primitives=("Squeeze",)),
    OpInfo("getitem_basic", lambda x: x[1:, ::2], lambda x: x[1:, ::2],
           unary_samples(shapes=[(3, 4), (2, 3, 4)]), primitives=("GetItem", "IndexAdd")),
    OpInfo("getitem_repeat", lambda x: x[[0, 0, 2]], lambda x: x[[0, 0, 2]],
           unary_samples(shapes=[(3, 4), (3,)])),
    OpInfo("index_put", lambda x, v: cr.index_put(x, (slice(None), 1), v),
           lambda x, v: x.index_put((torch.arange(x.shape[0]), torch.tensor(1)), v),
           lambda dt, rng: [Sample((rng.standard_normal((3, 4)).astype(dt),
                                    rng.standard_normal((3,)).astype(dt)))],
           primitives=("IndexPut",)),
    OpInfo("matmul", cr.matmul, torch.matmul, _mat_samples, primitives=("MatMul",),
           errors=lambda: [ErrorInput((np.ones((3, 4)), np.ones((5, 6))), {}, RuntimeError,
                                      r"matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 and 5")]),
]
