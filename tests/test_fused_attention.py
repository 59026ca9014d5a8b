"""The fused attention primitive (ops/fused/attention.py) against the composite reference
(values, first- and second-order gradients) and torch, on the masks it takes."""
import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.nn.functional.attention import _sdpa_reference

rng = np.random.default_rng(0)


def _mask(kind, L, S):
    if kind == "bool-full-row":            # the second query sees no key at all
        m = rng.random((L, S)) > 0.3
        m[1] = False
        m[0, 0] = True
        return m
    if kind == "float":
        return np.where(rng.random((L, S)) > 0.3, 0.0, -np.inf) + rng.standard_normal((L, S))
    return None


CASES = [  # (q shape, k shape, mask kind, is_causal)
    ((2, 3, 5, 4), (2, 3, 5, 4), None, False),
    ((2, 3, 5, 4), (2, 3, 5, 4), None, True),
    ((2, 4, 4), (2, 6, 4), None, True),         # L < S: torch's top-left causal mask
    ((2, 6, 4), (2, 4, 4), None, True),         # L > S
    ((2, 5, 4), (2, 7, 4), "bool-full-row", False),
    ((2, 5, 4), (2, 7, 4), "float", False),
    ((2, 3, 5, 4), (3, 6, 4), None, False),     # key/value broadcast over the batch
    ((5, 4), (0, 4), None, False),              # no keys
]


@pytest.mark.parametrize("qs,ks,mask,causal", CASES)
def test_fused_attention_matches_composite_to_second_order(qs, ks, mask, causal):
    q, k = rng.standard_normal(qs), rng.standard_normal(ks)
    v = rng.standard_normal(ks[:-1] + (3,))
    m = _mask(mask, qs[-2], ks[-2])
    fused = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    ref = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    cm = None if m is None else cr.tensor(m)
    out = F.scaled_dot_product_attention(*fused, attn_mask=cm, is_causal=causal)
    expected = _sdpa_reference(*ref, cm, 0.0, causal, 0.5)
    assert out.grad_fn.name() == "AttentionBackward0"       # the fused primitive ran
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), 1e-12, 1e-14)
    up = cr.tensor(rng.standard_normal(tuple(out.shape)))
    ga = cr.autograd.grad(out, fused, up, create_graph=True)
    gb = cr.autograd.grad(expected, ref, up, create_graph=True)
    for a, b in zip(ga, gb):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), 1e-11, 1e-13)
        assert np.isfinite(a.detach().numpy()).all()
    if out.numel():
        gga = cr.autograd.grad(sum((g * g).sum() for g in ga), fused)
        ggb = cr.autograd.grad(sum((g * g).sum() for g in gb), ref)
        for a, b in zip(gga, ggb):
            np.testing.assert_allclose(a.numpy(), b.numpy(), 1e-9, 1e-11)
    # the first-order fast path (nothing recorded) gives the graph path's gradients
    plain = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    F.scaled_dot_product_attention(*plain, attn_mask=cm, is_causal=causal).backward(up)
    for p, a in zip(plain, ga):
        np.testing.assert_allclose(p.grad.numpy(), a.detach().numpy(), 1e-13, 1e-14)


@pytest.mark.parametrize("mask,causal", [(None, True), ("bool-full-row", False), ("float", False)])
def test_fused_attention_float32_matches_torch(mask, causal):
    q, k, v = (rng.standard_normal((2, 3, 6, 8)).astype(np.float32) for _ in range(3))
    m = _mask(mask, 6, 6)
    m = m if m is None or m.dtype == bool else m.astype(np.float32)
    ours = [cr.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=None if m is None else cr.tensor(m),
                                         is_causal=causal)
    ref = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=None if m is None else torch.tensor(m), is_causal=causal)
    assert out.dtype == cr.float32
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), 1e-5, 1e-6)
    up = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(cr.tensor(up))
    ref.backward(torch.tensor(up))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), 1e-4, 1e-5)


def test_float_mask_that_needs_its_gradient_takes_the_composite():
    q = k = v = cr.randn(2, 4, 3)
    m = cr.zeros(4, 4, requires_grad=True)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    (gm,) = cr.autograd.grad(out.sum(), m)
    t = torch.zeros(4, 4, requires_grad=True)
    tq = torch.tensor(q.numpy())
    torch.nn.functional.scaled_dot_product_attention(tq, tq, tq, attn_mask=t).sum().backward()
    np.testing.assert_allclose(gm.numpy(), t.grad.numpy(), 1e-5, 1e-6)
