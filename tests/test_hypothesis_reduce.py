"""Property tests: random shapes and dims for sum/mean/amax/var and broadcasting binary ops,
values and gradients against torch; the fused softmax/log_softmax against their composite
references (x - logsumexp(x)); stability of logsumexp/log_softmax for large logits."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import chainrule as cr

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def shape_and_dims(draw, max_dims=4, max_side=4):
    shape = tuple(draw(st.lists(st.integers(1, max_side), min_size=0, max_size=max_dims)))
    ndim = len(shape)
    if ndim == 0 or draw(st.booleans()):
        dim = None if draw(st.booleans()) or ndim == 0 else draw(st.integers(-ndim, ndim - 1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dim = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return shape, dim, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


def _pair(shape, seed, dtype=np.float64):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    a = cr.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    return a, b, np.random.default_rng(seed + 1)


def _check(ours, theirs, a, b, rng, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol, atol)
    up = rng.standard_normal(tuple(theirs.shape))
    ours.backward(cr.tensor(up, dtype=ours.dtype))
    theirs.backward(torch.tensor(up, dtype=theirs.dtype))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol * 10, atol * 10)


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "var"])
@SETTINGS
@given(case=shape_and_dims())
def test_reductions_match_torch(name, case):
    shape, dim, keepdim, seed = case
    a, b, rng = _pair(shape, seed)
    if name == "amax":
        dim = () if dim is None else dim
        ours, theirs = cr.amax(a, dim, keepdim), torch.amax(b, dim, keepdim)
    elif name == "var":
        n = int(np.prod([shape[d] for d in (range(len(shape)) if dim is None else
                                             np.atleast_1d(dim))], dtype=np.int64))
        correction = 1 if n > 1 else 0
        ours = cr.var(a, dim, keepdim=keepdim, correction=correction)
        theirs = torch.var(b, dim, keepdim=keepdim, correction=correction)
    else:
        ours = getattr(cr, name)(a, dim, keepdim)
        theirs = getattr(torch, name)(b, dim, keepdim)
    _check(ours, theirs, a, b, rng)


@st.composite
def broadcast_shapes(draw):
    """Two shapes that broadcast: drop leading dims and set some sides to 1 in either."""
    out = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4))
    sa, sb = list(out), list(out)
    for s in (sa, sb):
        for i in range(len(s)):
            if draw(st.booleans()) and draw(st.booleans()):
                s[i] = 1
    sa = sa[draw(st.integers(0, len(sa))):]
    sb = sb[draw(st.integers(0, len(sb))):]
    return tuple(sa), tuple(sb), draw(st.integers(0, 2**31 - 1))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum"])
@SETTINGS
@given(case=broadcast_shapes())
def test_broadcasting_binary_gradients_match_torch(op, case):
    sa, sb, seed = case
    rng = np.random.default_rng(seed)
    xa, xb = np.asarray(rng.standard_normal(sa)), np.asarray(rng.standard_normal(sb))
    if op == "div":
        xb = np.asarray(np.sign(xb) * (np.abs(xb) + 0.5))   # away from 0
    a, b = cr.tensor(xa, requires_grad=True), cr.tensor(xb, requires_grad=True)
    ta, tb = torch.tensor(xa, requires_grad=True), torch.tensor(xb, requires_grad=True)
    ours, theirs = getattr(cr, op)(a, b), getattr(torch, op)(ta, tb)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), 1e-12, 1e-12)
    up = rng.standard_normal(tuple(theirs.shape))
    ga = cr.autograd.grad(ours, (a, b), cr.tensor(up))
    gt = torch.autograd.grad(theirs, (ta, tb), torch.tensor(up))
    for g, h in zip(ga, gt):
        assert tuple(g.shape) == tuple(h.shape)
        np.testing.assert_allclose(g.numpy(), h.numpy(), 1e-10, 1e-12)


def _composite_log_softmax(x, dim):
    return x - cr.logsumexp(x, dim, keepdim=True)


@SETTINGS
@given(case=shape_and_dims(), scale=st.sampled_from([1.0, 30.0, 1e3]))
def test_fused_softmax_matches_composite_reference(case, scale):
    shape, dim, _, seed = case
    if not shape:
        shape = (3,)
    dim = dim if isinstance(dim, int) else -1
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    up = np.random.default_rng(seed + 1).standard_normal(shape)
    for fused, ref in ((cr.log_softmax, _composite_log_softmax),
                       (cr.softmax, lambda t, d: cr.exp(_composite_log_softmax(t, d)))):
        a, b = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
        ya, yb = fused(a, dim), ref(b, dim)
        np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), 1e-10, 1e-12)
        (ga,) = cr.autograd.grad(ya, a, cr.tensor(up), create_graph=True)
        (gb,) = cr.autograd.grad(yb, b, cr.tensor(up), create_graph=True)
        np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), 1e-9, 1e-11)
        # second order: the fused backward is itself differentiable like the composite
        (gga,) = cr.autograd.grad((ga * ga).sum(), a)
        (ggb,) = cr.autograd.grad((gb * gb).sum(), b)
        np.testing.assert_allclose(gga.numpy(), ggb.numpy(), 1e-7, 1e-9)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
@pytest.mark.parametrize("s", [1.0, 100.0, 1e4])
def test_large_logits_are_exact_and_gradients_finite(dtype, s):
    x = cr.tensor([[s, 0.0, -s]], dtype=dtype, requires_grad=True)
    lse = cr.logsumexp(x, 1)
    expected = s + np.log1p(np.exp(-s) + np.exp(-2 * s))
    np.testing.assert_allclose(lse.item(), expected, rtol=1e-6 if dtype is cr.float32 else 1e-15)
    ls = cr.log_softmax(x, 1)
    assert ls.dtype is dtype and np.isfinite(ls.detach().numpy()).all()
    np.testing.assert_allclose(ls.detach().numpy()[0, 0], -np.log1p(np.exp(-s) + np.exp(-2 * s)),
                               atol=1e-6)
    sm = cr.softmax(x, 1)
    for y in (lse, ls, sm):
        (g,) = cr.autograd.grad(y.sum(), x)
        assert g.dtype is dtype and np.isfinite(g.numpy()).all()


def test_logsumexp_of_neg_inf_rows():
    x = cr.tensor([[-np.inf, -np.inf], [0.0, -np.inf]])
    np.testing.assert_array_equal(cr.logsumexp(x, 1).numpy(), [-np.inf, 0.0])
