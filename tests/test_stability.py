"""Numerical stability of the losses and normalisations: exact values for logits up to ±1e4 in
float32 and float64 (matching torch), and finite gradients everywhere."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F

SCALES = [1.0, 30.0, 100.0, 1e3, 1e4]
DTYPES = [(np.float32, 1e-6), (np.float64, 1e-12)]


def _run(fn, tfn, arrays, kwargs, dtype):
    """Value and gradient of input 0, for chainrule and torch."""
    c = [cr.tensor(a, requires_grad=(i == 0)) for i, a in enumerate(arrays)]
    t = [torch.tensor(a, requires_grad=(i == 0)) for i, a in enumerate(arrays)]
    out_c, out_t = fn(*c, **kwargs), tfn(*t, **kwargs)
    out_c.sum().backward()
    out_t.sum().backward()
    assert out_c.dtype.np == np.dtype(dtype)
    return (out_c.detach().numpy(), c[0].grad.numpy(), out_t.detach().numpy(),
            t[0].grad.numpy())


def _check(values, rtol):
    v_c, g_c, v_t, g_t = values
    assert np.isfinite(v_c).all() and np.isfinite(g_c).all(), (v_c, g_c)
    np.testing.assert_allclose(v_c, v_t, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(g_c, g_t, rtol=max(rtol, 1e-6), atol=max(rtol, 1e-6))


@pytest.mark.parametrize("dtype,rtol", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.1}, {"reduction": "none"}],
                         ids=["mean", "smoothing", "none"])
def test_cross_entropy_large_logits(s, dtype, rtol, kwargs):
    logits = np.array([[s, 0, -s]] * 3, dtype=dtype)
    target = np.array([0, 1, 2])                 # loss ~0, s and 2s for large s
    values = _run(F.cross_entropy, TF.cross_entropy, [logits, target], kwargs, dtype)
    _check(values, rtol)
    if kwargs.get("reduction") == "none" and s >= 30:
        np.testing.assert_allclose(values[0], [0.0, s, 2 * s], rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("dtype,rtol", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("s", SCALES)
def test_cross_entropy_probabilities_large_logits(s, dtype, rtol):
    logits = np.array([[s, 0, -s], [-s, s, 0]], dtype=dtype)
    probs = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=dtype)
    _check(_run(F.cross_entropy, TF.cross_entropy, [logits, probs], {"reduction": "none"}, dtype),
           rtol)


@pytest.mark.parametrize("dtype,rtol", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("s", SCALES)
def test_nll_of_log_softmax_large_logits(s, dtype, rtol):
    def nll_ls(x, t, **kw):
        mod = F if isinstance(x, cr.Tensor) else TF
        return mod.nll_loss(mod.log_softmax(x, 1), t, **kw)
    logits = np.array([[s, 0, -s]] * 3, dtype=dtype)
    values = _run(nll_ls, nll_ls, [logits, np.array([0, 1, 2])], {"reduction": "none"}, dtype)
    _check(values, rtol)


@pytest.mark.parametrize("dtype,rtol", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("pos_weight", [False, True])
def test_bce_with_logits_large_logits(s, dtype, rtol, pos_weight):
    x = np.array([s, 0, -s, s, -s], dtype=dtype)
    y = np.array([0, 0.5, 1, 1, 0], dtype=dtype)  # losses ~s, log 2, s, 0, 0 for large s
    kwargs = {"reduction": "none"}
    fn, tfn = F.binary_cross_entropy_with_logits, TF.binary_cross_entropy_with_logits
    if pos_weight:
        pw = np.full(5, 2.5, dtype=dtype)
        fn = (lambda x, y, **kw: F.binary_cross_entropy_with_logits(x, y, pos_weight=cr.tensor(pw),
                                                                    **kw))
        tfn = (lambda x, y, **kw: TF.binary_cross_entropy_with_logits(
            x, y, pos_weight=torch.tensor(pw), **kw))
    values = _run(fn, tfn, [x, y], kwargs, dtype)
    _check(values, rtol)
    if not pos_weight and s >= 30:
        np.testing.assert_allclose(values[0], [s, np.log(2), s, 0, 0], rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("dtype,rtol", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("s", SCALES)
def test_soft_margin_losses_large_inputs(s, dtype, rtol):
    x = np.array([[s, -s, 0]], dtype=dtype)
    y = np.array([[1, 1, -1]], dtype=dtype)
    out = F.soft_margin_loss(cr.tensor(x, requires_grad=True), cr.tensor(y), reduction="none")
    if s >= 30:
        np.testing.assert_allclose(out.detach().numpy(), [[0, s, np.log(2)]], rtol=rtol,
                                   atol=1e-6)
    _check(_run(F.multilabel_soft_margin_loss, TF.multilabel_soft_margin_loss,
                [x, (y > 0).astype(dtype)], {}, dtype), rtol)


def test_cross_entropy_with_minus_inf_logit_is_finite():
    # a masked class (logit -inf) must not turn the loss or the gradient into nan
    x = cr.tensor([[0.0, float("-inf"), 1.0], [2.0, 0.0, float("-inf")]], requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([2, 0]))
    loss.backward()
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tl = TF.cross_entropy(tx, torch.tensor([2, 0]))
    tl.backward()
    np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("offset", [1e2, 1e4])
def test_norms_with_large_offset_float32(offset):
    # two-pass statistics: a large common offset must not swamp a small spread
    rng = np.random.default_rng(0)
    x = (offset + rng.standard_normal((6, 4))).astype(np.float32)
    ref = x.astype(np.float64)
    bn = F.batch_norm(cr.tensor(x), None, None, training=True).numpy()
    bn_ref = (ref - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5)
    ln = F.layer_norm(cr.tensor(x), (4,)).numpy()
    ln_ref = (ref - ref.mean(1, keepdims=True)) / np.sqrt(ref.var(1, keepdims=True) + 1e-5)
    # float32 keeps x only to ~1e-7 * offset; a one-pass E[x^2] - E[x]^2 would be off by O(1)
    tol = 2e-7 * offset + 1e-5
    np.testing.assert_allclose(bn, bn_ref, atol=tol)
    np.testing.assert_allclose(ln, ln_ref, atol=tol)


def test_batch_norm_constant_channel_has_finite_gradient():
    x = cr.tensor([[1.0, 2.0], [1.0, -2.0], [1.0, 0.5]], requires_grad=True)
    y = F.batch_norm(x, None, None, cr.tensor([2.0, 1.0]), None, training=True)
    (y * cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(y.detach().numpy()[:, 0], 0.0)
