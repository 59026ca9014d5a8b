"""chainrule.optim against torch.optim: the same parameters and gradients give the same steps."""
import re
import warnings

import numpy as np
import pytest
import torch

import chainrule
import chainrule.optim as optim
from chainrule.nn import Parameter

SHAPES = [(3, 4), (5,), ()]
STEPS = 30
# float64 follows torch's operation order to rounding; float32 differs only where torch's
# vectorised kernels fuse a multiply-add.
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.5), eps=1e-3)),     # lerp's weight >= 0.5 branch
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.02, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, betas=(0.8, 0.95), weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, momentum_decay=0.01, maximize=True)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.05, eps=1e-6, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, eps=1e-4, maximize=True)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.02, etas=(0.3, 1.5), step_sizes=(1e-3, 0.05))),
    ("Rprop", dict(lr=0.01, maximize=True)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CASES]


def _data(dtype, seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    # Parameter 1 has no gradient at steps 3 and 4: it must be skipped (state untouched).
    for t in (3, 4):
        grads[t][1] = None
    return init, grads


def _cr_params(arrays):
    return [Parameter(chainrule.tensor(a.copy())) for a in arrays]


def _torch_params(arrays):
    return [torch.nn.Parameter(torch.tensor(a.copy())) for a in arrays]


def _set_grads(cr_ps, t_ps, grads):
    for p, t, g in zip(cr_ps, t_ps, grads):
        p.grad = None if g is None else chainrule.tensor(g.copy())
        if t is not None:
            t.grad = None if g is None else torch.tensor(g.copy())


def _groups(params, kwargs, split):
    """Two param groups with different lrs when ``split``, else a plain list."""
    if not split:
        return params
    lr = kwargs.get("lr", 1e-2)
    return [{"params": params[:1]}, {"params": params[1:], "lr": lr * 0.5}]


def _assert_same(cr_ps, t_ps, dtype, step):
    for i, (p, t) in enumerate(zip(cr_ps, t_ps)):
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, t.detach().numpy(), **TOL[dtype],
                                   err_msg=f"parameter {i} after step {step}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch(name, kwargs, dtype):
    init, grads = _data(dtype)
    cr_ps, t_ps = _cr_params(init), _torch_params(init)
    split = name in ("Adam", "SGD", "Rprop")     # these also run with two param groups
    opt = getattr(optim, name)(_groups(cr_ps, kwargs, split), **kwargs)
    ref = getattr(torch.optim, name)(_groups(t_ps, kwargs, split), **kwargs)
    for step, gs in enumerate(grads):
        _set_grads(cr_ps, t_ps, gs)
        opt.step()
        ref.step()
        _assert_same(cr_ps, t_ps, dtype, step)
    # the state holds the same buffers as torch's
    for p, t in zip(cr_ps, t_ps):
        assert set(opt.state[p]) == set(ref.state[t])
        for key, value in ref.state[t].items():
            np.testing.assert_allclose(np.asarray(opt.state[p][key].data), value.numpy(),
                                       **TOL[dtype], err_msg=key)


@pytest.mark.parametrize("name,kwargs", CASES[::2], ids=IDS[::2])
def test_state_dict_round_trip(name, kwargs):
    dtype = np.float64
    init, grads = _data(dtype, seed=1)
    cr_ps, t_ps = _cr_params(init), _torch_params(init)
    opt = getattr(optim, name)(_groups(cr_ps, kwargs, True), **kwargs)
    ref = getattr(torch.optim, name)(_groups(t_ps, kwargs, True), **kwargs)
    for gs in grads[:15]:
        _set_grads(cr_ps, t_ps, gs)
        opt.step()
        ref.step()
    saved = opt.state_dict()
    assert sorted(saved["state"]) == sorted(ref.state_dict()["state"])
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1, 2]]
    fresh_ps = _cr_params([p.data for p in cr_ps])
    other = dict(kwargs, lr=123.0)      # load_state_dict must restore the saved lrs
    fresh = getattr(optim, name)(_groups(fresh_ps, other, True), **other)
    fresh.load_state_dict(saved)
    assert [g["lr"] for g in fresh.param_groups] == [g["lr"] for g in opt.param_groups]
    for gs in grads[15:]:
        _set_grads(cr_ps, t_ps, gs)
        _set_grads(fresh_ps, [None] * 3, gs)
        opt.step()
        fresh.step()
        ref.step()
        for p, q in zip(cr_ps, fresh_ps):
            np.testing.assert_array_equal(p.data, q.data)    # identical continuation
        _assert_same(fresh_ps, t_ps, dtype, "after reload")
    # the saved dict holds copies: stepping on did not change it
    again = opt.state_dict()
    for key in again["state"].get(0, {}):
        if key != "step":
            assert not np.array_equal(saved["state"][0][key].data, again["state"][0][key].data)


def test_load_state_dict_casts_and_copies():
    p = Parameter(chainrule.tensor(np.ones(3, np.float32)))
    opt = optim.Adam([p], lr=0.1)
    p.grad = chainrule.ones(3)
    opt.step()
    sd = opt.state_dict()
    q = Parameter(chainrule.tensor(np.ones(3, np.float64)))
    opt2 = optim.Adam([q], lr=0.1)
    opt2.load_state_dict(sd)
    assert opt2.state[q]["exp_avg"].dtype is chainrule.float64
    assert opt2.state[q]["step"].dtype is chainrule.float32      # "step" keeps its dtype
    assert opt2.state[q]["step"].item() == 1.0
    sd["state"][0]["exp_avg"].data[:] = 7
    assert opt2.state[q]["exp_avg"].data[0] != 7
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt2.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt2.load_state_dict({"state": {}, "param_groups": [dict(sd["param_groups"][0],
                                                                 params=[0, 1])]})


BAD = [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1e-3)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-1e-3)), ("Adam", dict(eps=-1e-8)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-0.1)),
    ("AdamW", dict(lr=-1.0)), ("AdamW", dict(betas=(0.9, 1.5))),
    ("AdamW", dict(weight_decay=-0.01)), ("AdamW", dict(eps=-1.0)),
    ("Adamax", dict(lr=-1.0)), ("Adamax", dict(eps=-1.0)), ("Adamax", dict(betas=(-0.1, 0.9))),
    ("Adamax", dict(betas=(0.9, 1.0))), ("Adamax", dict(weight_decay=-1.0)),
    ("NAdam", dict(lr=-1.0)), ("NAdam", dict(eps=-1.0)), ("NAdam", dict(betas=(1.1, 0.9))),
    ("NAdam", dict(betas=(0.9, 1.1))), ("NAdam", dict(weight_decay=-1.0)),
    ("NAdam", dict(momentum_decay=-1.0)),
    ("RAdam", dict(lr=-1.0)), ("RAdam", dict(eps=-1.0)), ("RAdam", dict(betas=(1.0, 0.9))),
    ("RAdam", dict(betas=(0.9, 1.0))), ("RAdam", dict(weight_decay=-1.0)),
    ("RMSprop", dict(lr=-1.0)), ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-1.0)),
    ("RMSprop", dict(weight_decay=-1.0)), ("RMSprop", dict(alpha=-1.0)),
    ("Adagrad", dict(lr=-1.0)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(weight_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)),
    ("Adadelta", dict(lr=-1.0)), ("Adadelta", dict(rho=1.5)), ("Adadelta", dict(rho=-0.5)),
    ("Adadelta", dict(eps=-1.0)), ("Adadelta", dict(weight_decay=-1.0)),
    ("Rprop", dict(lr=-1.0)), ("Rprop", dict(etas=(1.5, 1.2))), ("Rprop", dict(etas=(0.5, 0.9))),
    ("Rprop", dict(etas=(0.0, 1.2))),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{kw}" for n, kw in BAD])
def test_bad_hyperparameter(name, kwargs):
    with pytest.raises(ValueError) as expected:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        getattr(optim, name)([Parameter(chainrule.zeros(2))], **kwargs)


def test_param_group_errors():
    p, q = Parameter(chainrule.zeros(2)), Parameter(chainrule.zeros(3))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(2)], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [q, p]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optim.SGD([q, q], lr=0.1)
    assert any("duplicate parameters" in str(w.message) for w in caught)


def test_add_param_group_and_repr():
    p, q = Parameter(chainrule.zeros(2)), Parameter(chainrule.zeros(3))
    opt = optim.Adam([p], lr=0.1)
    opt.add_param_group({"params": q, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    assert opt.param_groups[1]["params"] == [q] or opt.param_groups[1]["params"][0] is q
    text = repr(opt)
    assert text.startswith("Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)")
    assert "Parameter Group 1\n" in text and "    lr: 0.01\n" in text and text.endswith("\n)")
    ref = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
    mine = optim.SGD([p], lr=0.1, momentum=0.9)
    keep = ("dampening", "lr", "maximize", "momentum", "nesterov", "weight_decay")
    wanted = [line for line in repr(ref).splitlines()
              if not line.startswith("    ") or line.split(":")[0].strip() in keep]
    assert repr(mine).splitlines() == wanted


def test_named_parameters():
    p, q = Parameter(chainrule.zeros(2)), Parameter(chainrule.zeros(3))
    opt = optim.SGD([("w", p), ("b", q)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    with pytest.raises(ValueError, match="with/without names"):
        opt.add_param_group({"params": [Parameter(chainrule.zeros(1))]})


def test_zero_grad_and_skipping():
    p, q = Parameter(chainrule.ones(2)), Parameter(chainrule.ones(2))
    opt = optim.SGD([p, q], lr=0.5, weight_decay=1.0)
    p.grad = chainrule.ones(2)
    opt.step()                      # q has no grad: untouched even with weight decay
    np.testing.assert_array_equal(q.data, [1.0, 1.0])
    np.testing.assert_array_equal(p.data, [0.0, 0.0])
    grad = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is grad and np.all(grad.data == 0) and q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_closure_and_hooks():
    p = Parameter(chainrule.tensor([1.0, -2.0]))
    opt = optim.SGD([p], lr=0.1)
    calls = []
    handle = opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0 and calls == ["pre", "post"]
    np.testing.assert_allclose(p.data, [0.8, -1.6])
    handle.remove()
    assert opt.step() is None and calls == ["pre", "post", "pre"]


def test_tensor_lr():
    p = Parameter(chainrule.tensor([1.0, 2.0]))
    opt = optim.Adam([p], lr=chainrule.tensor(0.1))
    p.grad = chainrule.tensor([1.0, -1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, 2.1], rtol=1e-6)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([p], lr=chainrule.tensor([0.1, 0.2]))


def test_step_does_not_record_graph():
    p = Parameter(chainrule.tensor([1.0, 2.0]))
    opt = optim.RMSprop([p], lr=0.1, momentum=0.9)
    p.grad = chainrule.tensor([1.0, -1.0])
    version = p._version_counter
    opt.step()
    assert p.grad_fn is None and p.is_leaf and p.requires_grad
    assert p._version_counter > version


def test_sgd_momentum_converges_on_quadratic():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 4))
    A = chainrule.tensor(a.T @ a + np.eye(4))          # positive definite
    b = chainrule.tensor(rng.standard_normal(4))
    x = Parameter(chainrule.zeros(4, dtype=chainrule.float64))
    opt = optim.SGD([x], lr=0.02, momentum=0.9)
    for _ in range(300):
        opt.zero_grad()
        loss = 0.5 * (x * (A @ x)).sum() - (b * x).sum()
        loss.backward()
        opt.step()
    solution = np.linalg.solve(A.data, b.data)
    np.testing.assert_allclose(x.data, solution, atol=1e-6)


def _rosenbrock(x):
    return ((1 - x[:-1]) ** 2).sum() + 100 * ((x[1:] - x[:-1] ** 2) ** 2).sum()


@pytest.mark.parametrize("kwargs", [dict(max_iter=5), dict(max_iter=4, history_size=2, lr=0.5),
                                    dict(max_iter=5, line_search_fn="strong_wolfe"),
                                    dict(max_iter=6, max_eval=9, history_size=3,
                                         line_search_fn="strong_wolfe")],
                         ids=["plain", "short-history", "strong_wolfe", "wolfe-max_eval"])
def test_lbfgs_matches_torch(kwargs):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    x, ref_x = Parameter(chainrule.tensor(x0.copy())), torch.nn.Parameter(torch.tensor(x0))
    opt, ref = optim.LBFGS([x], **kwargs), torch.optim.LBFGS([ref_x], **kwargs)

    def closure_for(o, p):
        def closure():
            o.zero_grad()
            loss = _rosenbrock(p)
            loss.backward()
            return loss
        return closure

    for step in range(8):
        if step == 4:     # continue from a reloaded state: the same trajectory
            fresh_x = Parameter(chainrule.tensor(x.data.copy()))
            fresh = optim.LBFGS([fresh_x], **kwargs)
            fresh.load_state_dict(opt.state_dict())
            x, opt = fresh_x, fresh
        loss = opt.step(closure_for(opt, x))
        ref_loss = ref.step(closure_for(ref, ref_x))
        # looser than the other optimizers: the line search and the two-loop recursion amplify
        # the last-bit differences between NumPy's and torch's dot-product summation order
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(x.data, ref_x.detach().numpy(), rtol=1e-8, atol=1e-10)
        assert opt.state[x]["func_evals"] == ref.state[ref_x]["func_evals"]
        assert opt.state[x]["n_iter"] == ref.state[ref_x]["n_iter"]


def test_lbfgs_converges_and_validates():
    x = Parameter(chainrule.tensor([-1.2, 1.0], dtype=chainrule.float64))
    opt = optim.LBFGS([x], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-4)    # torch stops at the same point
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [Parameter(chainrule.zeros(1))]}])
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.LBFGS([x], lr=-1)
    with pytest.raises(RuntimeError, match="only 'strong_wolfe'"):
        optim.LBFGS([x], line_search_fn="armijo").step(closure)


def test_load_state_dict_accepts_numpy_arrays_and_continues_like_torch():
    import torch
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(6)]
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.1)
    for g in grads[:3]:
        tw.grad = torch.tensor(g)
        topt.step()
    # a torch state turned into plain arrays (as read from a file) loads into chainrule
    sd = topt.state_dict()
    sd["state"] = {k: {n: v.numpy() for n, v in st.items()} for k, st in sd["state"].items()}
    w = chainrule.tensor(tw.detach().numpy(), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    opt.load_state_dict(sd)
    for g in grads[3:]:
        tw.grad = torch.tensor(g)
        topt.step()
        w.grad = chainrule.tensor(g)
        opt.step()
        np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
