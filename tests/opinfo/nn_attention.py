"""scaled_dot_product_attention against torch: masks (bool, float, causal, fully masked rows),
scale, cross-attention shapes, grouped-query attention and size-0 inputs."""
import numpy as np
import torch.nn.functional as TF

import chainrule.nn.functional as F
from .core import OpInfo, Sample, ErrorInput
from .samplers import uniform, noncontig


def _samples(dt, rng):
    r = lambda *s: uniform(rng, s, dt)    # noqa: E731
    causal = np.tril(np.ones((3, 3), bool))
    keep = np.array([[True, False, True, True], [False, False, True, False],
                     [True, True, True, True]])
    full_row = np.array([[True, True, False], [False, False, False], [True, False, True]])
    fmask = np.where(keep, 0.0, -np.inf).astype(dt)
    return [
        Sample((r(2, 3, 4), r(2, 3, 4), r(2, 3, 4)), desc="(N, L, E)"),
        Sample((r(1, 2, 3, 2), r(1, 2, 4, 2), r(1, 2, 4, 3)), desc="4-d, L != S, Ev != E"),
        Sample((r(3, 2), r(4, 2), r(4, 2)), desc="2-d"),
        Sample((r(1, 3, 2), r(1, 4, 2), r(1, 4, 2), keep), desc="bool mask", no_grad=(3,)),
        Sample((r(1, 3, 2), r(1, 4, 2), r(1, 4, 2), fmask), desc="float -inf mask",
               no_grad=(3,)),
        Sample((r(2, 3, 2), r(2, 4, 2), r(2, 4, 2), r(3, 4)), desc="float additive mask"),
        Sample((r(2, 3, 2), r(2, 3, 2), r(2, 3, 2)), {"is_causal": True}, desc="causal"),
        Sample((r(1, 3, 2), r(1, 3, 2), r(1, 3, 2)), {"scale": 0.3}, desc="scale"),
        Sample((r(1, 3, 2), r(1, 3, 2), r(1, 3, 2), full_row), desc="fully masked row",
               no_grad=(3,)),
        Sample((r(1, 3, 2), r(1, 3, 2), r(1, 3, 2), causal), desc="bool causal mask",
               no_grad=(3,)),
        Sample((noncontig(r(2, 3, 3)), r(2, 3, 3), noncontig(r(2, 3, 3))), desc="noncontig"),
        Sample((r(0, 3, 2), r(0, 3, 2), r(0, 3, 2)), desc="empty batch"),
        Sample((r(2, 0, 2), r(2, 3, 2), r(2, 3, 2)), desc="no queries"),
        Sample((r(1, 4, 2, 2), r(1, 2, 3, 2), r(1, 2, 3, 2)), {"enable_gqa": True},
               desc="grouped-query"),
    ]


def _errors():
    q = np.ones((2, 3, 4))
    return [
        ErrorInput((q, q, q, np.ones((3, 3), bool)), {"is_causal": True}, RuntimeError,
                   "attn_mask should not be set when is_causal=True"),
        ErrorInput((q, np.ones((2, 3, 5)), q), {}, RuntimeError,
                   r"query and key must have the same embedding dim.*\(2, 3, 4\) and "
                   r"\(2, 3, 5\)"),
        ErrorInput((q, q, np.ones((2, 2, 4))), {}, RuntimeError,
                   "key and value must have the same sequence length"),
        ErrorInput((np.ones(4), q, q), {}, RuntimeError, "at least 2 dimensions"),
        ErrorInput((np.ones(()), q, q), {}, RuntimeError,
                   r"scaled_dot_product_attention: expected query to have at least 2 dimensions, "
                   r"got shape \(\)"),
        ErrorInput((q, q, q), {"attn_mask": np.ones((3, 3))}, TypeError,
                   "argument 'attn_mask' must be Tensor",
                   op=lambda a, b, c, attn_mask: F.scaled_dot_product_attention(
                       a, b, c, attn_mask=attn_mask.tolist())),
    ]


OPS = [OpInfo("scaled_dot_product_attention", F.scaled_dot_product_attention,
              TF.scaled_dot_product_attention, _samples, primitives=("Attention", "Softmax", "MatMul"),
              no_scalar_reason="query, key and value need >= 2 dims (L, E): torch rejects 0-d "
                               "(see the error inputs)", errors=_errors)]
