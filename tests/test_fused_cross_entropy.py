"""The fused CrossEntropy primitive (ops/fused/cross_entropy.py) against its composite reference
and torch: values, first- and second-order gradients, and which path F.cross_entropy takes."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.nn.functional.loss import cross_entropy_reference

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fused_cross_entropy_matches_composite_and_torch_to_second_order(reduction, weighted):
    x = rng.standard_normal((7, 5))
    target = np.array([0, 4, 2, -100, 1, 1, 3])
    weight = rng.uniform(0.2, 2.0, 5) if weighted else None
    kw = {"weight": None if weight is None else cr.tensor(weight), "reduction": reduction}
    fused, ref = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    out = F.cross_entropy(fused, cr.tensor(target), **kw)
    expected = cross_entropy_reference(ref, cr.tensor(target), **kw)
    assert out.grad_fn.name() == "NllLossBackward0"
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.cross_entropy(
        xt, torch.tensor(target), weight=None if weight is None else torch.tensor(weight),
        reduction=reduction)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), 1e-13, 1e-14)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), 1e-13, 1e-14)
    up = rng.standard_normal(tuple(out.shape))
    (g,) = cr.autograd.grad(out, fused, cr.tensor(up), create_graph=True)
    (g_ref,) = cr.autograd.grad(expected, ref, cr.tensor(up), create_graph=True)
    (g_t,) = torch.autograd.grad(out_t, xt, torch.tensor(up), create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), g_ref.detach().numpy(), 1e-13, 1e-15)
    np.testing.assert_allclose(g.detach().numpy(), g_t.detach().numpy(), 1e-13, 1e-15)
    assert not g.detach().numpy()[3].any()               # the ignored row gets no gradient
    v = rng.standard_normal(x.shape)
    (h,) = cr.autograd.grad((g * cr.tensor(v)).sum(), fused)
    (h_t,) = torch.autograd.grad((g_t * torch.tensor(v)).sum(), xt)
    np.testing.assert_allclose(h.numpy(), h_t.numpy(), 1e-12, 1e-14)
    plain = cr.tensor(x, requires_grad=True)             # first-order path: array math
    F.cross_entropy(plain, cr.tensor(target), **kw).backward(cr.tensor(up))
    np.testing.assert_allclose(plain.grad.numpy(), g_t.detach().numpy(), 1e-13, 1e-15)


def test_float32_first_order_gradient_and_the_composite_cases():
    x = rng.standard_normal((64, 10)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    a = cr.tensor(x, requires_grad=True)
    F.cross_entropy(a, cr.tensor(t)).backward()
    b = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(b, torch.tensor(t)).backward()
    assert a.grad.dtype is cr.float32
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), 1e-5, 1e-7)
    # label smoothing, class probabilities and N-d inputs go through the composite
    assert F.cross_entropy(a, cr.tensor(t), label_smoothing=0.1).grad_fn.name() != \
        "NllLossBackward0"
    probs = cr.tensor(rng.dirichlet(np.ones(10), 64).astype(np.float32))
    assert F.cross_entropy(a, probs).grad_fn.name() != "NllLossBackward0"
    with pytest.raises(IndexError, match=r"cross_entropy: target 10 is out of bounds"):
        F.cross_entropy(a, cr.tensor(np.full(64, 10)))


def test_all_targets_ignored_gives_nan_and_zero_gradient():
    a = cr.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    loss = F.cross_entropy(a, cr.tensor(np.full(3, -100)))
    loss.backward()
    assert np.isnan(loss.item()) and not a.grad.numpy().any()
