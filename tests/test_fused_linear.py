"""The fused Linear primitive (ops/fused/linear.py) against its composite reference: values,
first- and second-order gradients, and which path F.linear takes."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.ops.fused.linear import linear_reference

rng = np.random.default_rng(0)


@pytest.mark.parametrize("xshape,bias", [((3, 4), True), ((4,), True), ((2, 3, 4), False),
                                         ((0, 4), True)])
def test_fused_linear_matches_composite_to_second_order(xshape, bias):
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((5, 4)), rng.standard_normal(5)
    args = (x, w, b) if bias else (x, w)
    fused = [cr.tensor(a, requires_grad=True) for a in args]
    ref = [cr.tensor(a, requires_grad=True) for a in args]
    out, expected = F.linear(*fused), linear_reference(*ref)
    assert out.grad_fn.name() == "LinearBackward0"
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), 1e-13, 1e-14)
    up = cr.tensor(rng.standard_normal(tuple(out.shape)))
    ga = cr.autograd.grad(out, fused, up, create_graph=True)
    gb = cr.autograd.grad(expected, ref, up, create_graph=True)
    for a, c in zip(ga, gb):
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), 1e-13, 1e-14)
    # second order: d/d(x, W) of |dL/dx|^2 + |dL/dW|^2 (linear in x and W, so nonzero)
    gga = cr.autograd.grad((ga[0] * ga[0]).sum() + (ga[1] * ga[1]).sum(), fused[:2])
    ggb = cr.autograd.grad((gb[0] * gb[0]).sum() + (gb[1] * gb[1]).sum(), ref[:2])
    for a, c in zip(gga, ggb):
        np.testing.assert_allclose(a.numpy(), c.numpy(), 1e-12, 1e-14)
    plain = [cr.tensor(a, requires_grad=True) for a in args]
    F.linear(*plain).backward(up)
    for p, a in zip(plain, ga):
        np.testing.assert_allclose(p.grad.numpy(), a.detach().numpy(), 1e-14, 1e-15)


def test_odd_bias_shapes_take_the_composite_and_mixed_dtypes_raise():
    x = cr.randn(3, 4, requires_grad=True)
    w = cr.randn(2, 4, requires_grad=True)
    assert F.linear(x, w, cr.randn(1, 2)).grad_fn.name() == "AddBackward0"
    with pytest.raises(RuntimeError, match=r"linear: expected input, weight and bias to have the "
                                           r"same dtype, got chainrule\.float32, "
                                           r"chainrule\.float32 and chainrule\.float64"):
        F.linear(x, w, cr.randn(2, dtype=cr.float64))        # torch raises too
    with pytest.raises(RuntimeError, match="expected both arguments to have the same dtype"):
        F.linear(x, w.double())
