"""The fused GELU primitive against its composite references (values, first- and second-order
gradients), on ordinary, extreme and 0-d inputs; torch parity is in tests/opinfo/nn_activation.py."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn import functional as F


def _composite(x, approximate):
    if approximate == "tanh":
        return x * 0.5 * (1 + cr.tanh((x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)))
    return x * 0.5 * (1 + cr.erf(x * (1 / math.sqrt(2.0))))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5, 4)])
def test_fused_gelu_matches_composite_to_second_order(approximate, shape):
    rng = np.random.default_rng(len(shape))
    x = np.asarray(rng.standard_normal(shape) * 3)          # float64, 0-d included
    up = np.asarray(rng.standard_normal(shape))
    a, b = cr.tensor(x, requires_grad=True), cr.tensor(x, requires_grad=True)
    ya, yb = F.gelu(a, approximate=approximate), _composite(b, approximate)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), 1e-13, 1e-15)
    (ga,) = cr.autograd.grad(ya, a, cr.tensor(up), create_graph=True)
    (gb,) = cr.autograd.grad(yb, b, cr.tensor(up), create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), 1e-12, 1e-14)
    (gga,) = cr.autograd.grad((ga * ga).sum(), a)
    (ggb,) = cr.autograd.grad((gb * gb).sum(), b)
    np.testing.assert_allclose(gga.numpy(), ggb.numpy(), 1e-10, 1e-12)
    # the first-order fast path (nothing recorded) gives the same gradient as the graph path
    c = cr.tensor(x, requires_grad=True)
    F.gelu(c, approximate=approximate).backward(cr.tensor(up))
    np.testing.assert_allclose(c.grad.numpy(), ga.detach().numpy(), 1e-14, 1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_gelu_extremes_match_torch(approximate, dtype):
    x = np.array([-1e4, -40.0, -8.0, -1e-30, -0.0, 0.0, 1e-30, 8.0, 40.0, 1e4, np.nan],
                 dtype=dtype)
    a, t = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya = F.gelu(a, approximate=approximate)
    yt = torch.nn.functional.gelu(t, approximate=approximate)
    assert ya.dtype == cr.float32 if dtype == np.float32 else ya.dtype == cr.float64
    np.testing.assert_allclose(ya.detach().numpy(), yt.detach().numpy(), 1e-6, 1e-30)
    ya.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), 1e-6, 1e-7)
    # x Phi(x) at the infinities: inf at +inf; -inf * 0 is nan at -inf (torch gives nan at both)
    y = F.gelu(cr.tensor([np.inf, -np.inf], dtype=cr.float32), approximate=approximate).numpy()
    assert y[0] == np.inf and np.isnan(y[1])


def test_fused_gelu_errors_name_the_op():
    with pytest.raises(RuntimeError, match=r"gelu\(\): expected a floating-point input, got "
                                           r"chainrule\.int64"):
        F.gelu(cr.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"gelu\(\): argument 'input' must be a Tensor"):
        F.gelu([1.0])
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(cr.ones(2), approximate="fast")
