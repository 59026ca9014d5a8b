"""chainrule.autograd.functional (vs torch.autograd.functional), chainrule.func, and gradcheck /
gradgradcheck catching wrong backward rules."""
import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import chainrule as cr
import chainrule.autograd.functional as F
from chainrule.autograd import Function
from chainrule.autograd.gradcheck import GradcheckError
from chainrule.func import grad, value_and_grad, grad_and_value

RNG = np.random.default_rng(0)
X = RNG.standard_normal(3)
Y = RNG.standard_normal((2, 3))


def both(*arrays):
    return tuple(cr.tensor(a) for a in arrays), tuple(torch.tensor(a) for a in arrays)


def close(ours, theirs, tol=1e-9):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            close(o, t, tol)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


# Functions written once for both libraries (they only use methods both share).
def f_vec(x):
    return x.sin() * x * 2 + x ** 3


def f_scalar(x):
    return (x.exp() * x).sum() + (x ** 4).sum()


def f_two(x, y):
    return (y * x).sum() * x.tanh(), (y ** 2).sum()


def f_two_scalar(x, y):
    return (x.sin() * y.sum()).sum() + (x * x).sum() * (y ** 3).sum()


# ---------------------------------------------------------------- functional API
def test_vjp_single_and_tuple():
    (x,), (tx,) = both(X)
    v = np.array([0.5, -1.0, 2.0])
    close(F.vjp(f_vec, x, cr.tensor(v)), TF.vjp(f_vec, tx, torch.tensor(v)))
    (a, b), (ta, tb) = both(X, Y)
    vs = (cr.tensor(np.ones(3)), cr.tensor(2.0, dtype=cr.float64))
    tvs = (torch.ones(3, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))
    close(F.vjp(f_two, (a, b), vs), TF.vjp(f_two, (ta, tb), tvs))
    close(F.vjp(f_scalar, x), TF.vjp(f_scalar, tx))       # v defaults to 1 for scalar outputs


def test_jvp_single_and_tuple():
    (x,), (tx,) = both(X)
    v = np.array([0.5, -1.0, 2.0])
    close(F.jvp(f_vec, x, cr.tensor(v)), TF.jvp(f_vec, tx, torch.tensor(v)))
    (a, b), (ta, tb) = both(X, Y)
    vs = (cr.tensor(v), cr.tensor(np.ones((2, 3))))
    tvs = (torch.tensor(v), torch.ones(2, 3, dtype=torch.float64))
    close(F.jvp(f_two, (a, b), vs), TF.jvp(f_two, (ta, tb), tvs))


def test_jacobian_shapes_and_values():
    (x,), (tx,) = both(X)
    close(F.jacobian(f_vec, x), TF.jacobian(f_vec, tx))
    (a, b), (ta, tb) = both(X, Y)
    close(F.jacobian(f_two, (a, b)), TF.jacobian(f_two, (ta, tb)))
    close(F.jacobian(lambda m: m.sum(0) * 2, b), TF.jacobian(lambda m: m.sum(0) * 2, tb))
    close(F.jacobian(f_vec, x, vectorize=True), TF.jacobian(f_vec, tx, vectorize=True))


def test_hessian_vhp_hvp():
    (x,), (tx,) = both(X)
    close(F.hessian(f_scalar, x), TF.hessian(f_scalar, tx))
    (a, b), (ta, tb) = both(X, Y)
    close(F.hessian(f_two_scalar, (a, b)), TF.hessian(f_two_scalar, (ta, tb)))
    v = np.array([1.0, -2.0, 0.5])
    close(F.vhp(f_scalar, x, cr.tensor(v)), TF.vhp(f_scalar, tx, torch.tensor(v)))
    close(F.hvp(f_scalar, x, cr.tensor(v)), TF.hvp(f_scalar, tx, torch.tensor(v)))
    vs = (cr.tensor(v), cr.tensor(np.ones((2, 3))))
    tvs = (torch.tensor(v), torch.ones(2, 3, dtype=torch.float64))
    close(F.hvp(f_two_scalar, (a, b), vs), TF.hvp(f_two_scalar, (ta, tb), tvs))
    close(F.vhp(f_two_scalar, (a, b), vs), TF.vhp(f_two_scalar, (ta, tb), tvs))


def test_create_graph_allows_differentiating_results():
    x = cr.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    j = F.jacobian(f_vec, x, create_graph=True)
    tj = TF.jacobian(f_vec, tx, create_graph=True)
    assert j.requires_grad
    j.sum().backward()
    tj.sum().backward()
    close(x.grad, tx.grad)
    _, hv = F.hvp(f_scalar, x, cr.ones(3, dtype=cr.float64), create_graph=True)
    assert hv.requires_grad


def test_results_detached_without_create_graph():
    x = cr.tensor(X, requires_grad=True)
    out, g = F.vjp(f_scalar, x)
    assert not out.requires_grad and not g.requires_grad
    assert not F.jacobian(f_vec, x).requires_grad
    assert x.grad is None


def test_strict_mode_and_unused_inputs():
    (a, b), (ta, tb) = both(X, Y)

    def only_first(x, y):
        return x * 2

    close(F.jacobian(only_first, (a, b)), TF.jacobian(only_first, (ta, tb)))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(only_first, (a, b), strict=True)
    with pytest.raises(RuntimeError):
        TF.jacobian(only_first, (ta, tb), strict=True)
    close(F.vjp(only_first, (a, b), cr.ones(3, dtype=cr.float64)),
          TF.vjp(only_first, (ta, tb), torch.ones(3, dtype=torch.float64)))


def test_functional_errors():
    x = cr.tensor(X)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.vjp(f_vec, [x])
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(f_vec, x)
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        F.vjp(f_vec, x, cr.ones(4, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="single element"):
        F.hessian(f_vec, x)
    with pytest.raises(TypeError, match="outputs of the user-provided function"):
        F.vjp(lambda t: 3.0, x, cr.ones(3))


# ---------------------------------------------------------------- chainrule.func
def test_func_grad_matches_torch_func():
    (x,), (tx,) = both(X)
    close(grad(f_scalar)(x), torch.func.grad(f_scalar)(tx))
    (a, b), (ta, tb) = both(X, Y)
    close(grad(f_two_scalar, argnums=1)(a, b), torch.func.grad(f_two_scalar, argnums=1)(ta, tb))
    close(grad(f_two_scalar, argnums=(0, 1))(a, b),
          torch.func.grad(f_two_scalar, argnums=(0, 1))(ta, tb))


def test_func_value_and_grad_has_aux_and_nesting():
    (x,), (tx,) = both(X)

    def with_aux(t):
        return (t ** 2).sum(), {"mean": t.mean()}
    (value, aux), g = value_and_grad(with_aux, has_aux=True)(x)
    tg, (tvalue, taux) = torch.func.grad_and_value(with_aux, has_aux=True)(tx)
    close(value, tvalue)
    close(g, tg)
    close(aux["mean"], taux["mean"])
    g2, aux2 = grad(with_aux, has_aux=True)(x)
    close(g2, tg)
    second = grad(lambda t: grad(f_scalar)(t).sum())(x)
    tsecond = torch.func.grad(lambda t: torch.func.grad(f_scalar)(t).sum())(tx)
    close(second, tsecond)
    gv, v = grad_and_value(f_scalar)(x)
    close(v, f_scalar(tx))


def test_func_grad_through_closure_and_pytrees():
    (a, b), (ta, tb) = both(X, Y)
    outer = grad(lambda w: grad(lambda x: (x * w).sum() * w.sum())(a).sum())(a)
    touter = torch.func.grad(
        lambda w: torch.func.grad(lambda x: (x * w).sum() * w.sum())(ta).sum())(ta)
    close(outer, touter)
    params = {"w": a, "layers": [b]}
    g = grad(lambda p: (p["w"] * p["layers"][0]).sum())(params)
    assert set(g) == {"w", "layers"} and isinstance(g["layers"], list)
    close(g["w"], tb.sum(0))
    close(g["layers"][0], ta.expand(2, 3))


def test_func_grad_errors_and_no_side_effects():
    x = cr.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="single-element Tensor"):
        grad(f_vec)(x)
    with pytest.raises(ValueError, match="out of range"):
        grad(f_scalar, argnums=2)(x)
    with pytest.raises(RuntimeError, match=r"tuple \(output, aux\)"):
        grad(f_scalar, has_aux=True)(x)
    g = grad(f_scalar)(cr.tensor(X))
    assert not g.requires_grad and x.grad is None
    assert grad(lambda t: cr.tensor(1.0, dtype=cr.float64))(cr.tensor(X)).tolist() == [0.0] * 3


# ---------------------------------------------------------------- gradcheck / gradgradcheck
class GoodSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x


class WrongFirst(Function):            # d/dx x^2 is 2x, not 3x
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x


class WrongSecond(Function):
    """First derivative right, but computed from a constant copy of x: no second derivative."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x.detach() * 1)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x_const,) = ctx.saved_tensors
        return g * 2 * x_const


class TwoInputs(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * b, g * b            # second one is wrong: should be g * a


def _x(n=4, seed=1):
    return cr.tensor(np.random.default_rng(seed).standard_normal(n) + 2.0, requires_grad=True)


def test_gradcheck_passes_on_correct_function():
    assert cr.autograd.gradcheck(GoodSquare.apply, (_x(),))
    assert cr.autograd.gradgradcheck(GoodSquare.apply, (_x(),))
    assert cr.autograd.gradcheck(GoodSquare.apply, (_x(),), fast_mode=True)
    assert cr.autograd.gradgradcheck(GoodSquare.apply, (_x(),), fast_mode=True)


def test_gradcheck_catches_wrong_first_derivative_and_names_element():
    with pytest.raises(GradcheckError) as info:
        cr.autograd.gradcheck(WrongFirst.apply, (_x(),))
    msg = str(info.value)
    assert "output 0" in msg and "input 0" in msg and "element" in msg
    assert "analytical" in msg and "numerical" in msg
    assert cr.autograd.gradcheck(WrongFirst.apply, (_x(),), raise_exception=False) is False
    with pytest.raises(GradcheckError, match="random projection"):
        cr.autograd.gradcheck(WrongFirst.apply, (_x(),), fast_mode=True)


def test_gradcheck_names_the_wrong_input():
    a, b = _x(3, 1), _x(3, 2)
    with pytest.raises(GradcheckError, match="with respect to input 1"):
        cr.autograd.gradcheck(TwoInputs.apply, (a, b))


def test_gradgradcheck_catches_wrong_second_derivative():
    assert cr.autograd.gradcheck(WrongSecond.apply, (_x(),))      # first order is right
    with pytest.raises(GradcheckError, match="double backward"):
        cr.autograd.gradgradcheck(WrongSecond.apply, (_x(),))
    with pytest.raises(GradcheckError):
        cr.autograd.gradgradcheck(WrongSecond.apply, (_x(),), fast_mode=True)


def test_gradcheck_random_projection_used_for_large_inputs():
    x = cr.tensor(np.random.default_rng(3).standard_normal(400), requires_grad=True)
    assert cr.autograd.gradcheck(lambda t: (t.sin() * t).sum(0, keepdim=True) * t, (x,))
    with pytest.raises(GradcheckError, match="random projection"):
        cr.autograd.gradcheck(WrongFirst.apply, (x,))      # 400 x 400 > max_full_size**2


def test_gradcheck_warns_on_float32():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="not float64"):
        cr.autograd.gradcheck(GoodSquare.apply, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)
