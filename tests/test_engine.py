"""The autograd engine: graph traversal, accumulation, retain/create_graph, hooks, custom Functions,
in-place checks, anomaly detection and memory. Values are compared with torch where it has them."""
import gc
import time
import weakref

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import Function, once_differentiable


def pair(values, dtype="float64", requires_grad=True):
    """The same leaf in chainrule and torch."""
    arr = np.asarray(values, dtype=dtype)
    return (cr.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if isinstance(a, cr.Tensor) else np.asarray(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


# ---------------------------------------------------------------- accumulation on shared graphs
def test_diamond_graph_accumulates_both_paths():
    def f(lib, x):
        a = x * 2
        b = a.exp()
        c = a.sin()
        return (b * c + a).sum()
    x, tx = pair([0.1, -0.4, 0.7])
    f(cr, x).backward()
    f(torch, tx).backward()
    close(x.grad, tx.grad)


def test_tensor_used_twice_in_one_op():
    x, tx = pair([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    (tx * tx).sum().backward()
    close(x.grad, tx.grad)
    y, ty = pair([1.5])
    (y + y + y).sum().backward()
    close(y.grad, [3.0])


def test_leaf_grad_accumulates_across_backward_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    close(x.grad, [6.0, 6.0])


def test_grad_is_not_aliased_between_leaves():
    # Add's backward hands the same array to both inputs; accumulation must not leak across.
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    (a * 5).sum().backward()
    close(a.grad, [6.0, 6.0])
    close(b.grad, [1.0, 1.0])


def test_user_gradient_tensor_is_not_modified():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    g = cr.tensor([1.0, 1.0])
    (x + 0).backward(g)
    (x + 0).backward(g)
    close(g, [1.0, 1.0])
    close(x.grad, [2.0, 2.0])


def test_backward_returning_none_for_one_path_still_runs_the_shared_node():
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, None
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    FirstOnly.apply(y, y).sum().backward()
    close(x.grad, [2.0, 2.0])


# ---------------------------------------------------------------- retain_graph / create_graph
def test_second_backward_without_retain_graph_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward_and_accumulates():
    x, tx = pair([0.5, -1.0])
    y, ty = (x.exp() * x).sum(), (tx.exp() * tx).sum()
    y.backward(retain_graph=True)
    y.backward()
    ty.backward(retain_graph=True)
    ty.backward()
    close(x.grad, tx.grad)


def test_hessian_vector_product_matches_torch():
    def f(x):
        return (x.sin() * x * x).sum() + (x * x * x).sum()
    x, tx = pair([0.3, -1.2, 2.0])
    v = np.array([1.0, 0.5, -2.0])
    (g,) = cr.autograd.grad(f(x), x, create_graph=True)
    (hv,) = cr.autograd.grad((g * cr.tensor(v)).sum(), x)
    (tg,) = torch.autograd.grad(f(tx), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    close(g, tg)
    close(hv, thv)


def test_gradient_penalty_matches_torch():
    w, tw = pair([[0.2, -0.5], [1.0, 0.3]])
    xd = np.array([[1.0, 2.0], [-1.0, 0.5]])

    def loss(lib, w):
        x = lib.tensor(xd, requires_grad=True)
        out = (x @ w).tanh().sum()
        (gx,) = lib.autograd.grad(out, x, create_graph=True)
        return out + ((gx * gx).sum() - 1.0) ** 2
    loss(cr, w).backward()
    loss(torch, tw).backward()
    close(w.grad, tw.grad)


def test_third_order_derivative():
    x, tx = pair([0.7])
    g1 = cr.autograd.grad((x ** 4).sum(), x, create_graph=True)[0]
    g2 = cr.autograd.grad(g1.sum(), x, create_graph=True)[0]
    g3 = cr.autograd.grad(g2.sum(), x)[0]
    close(g3, 24 * 0.7)


def test_create_graph_backward_builds_graph_on_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    g = x.grad
    x.grad = None
    g.sum().backward()
    close(x.grad, [6.0, 12.0])


# ---------------------------------------------------------------- inputs= / autograd.grad
def test_backward_inputs_only_accumulates_into_those():
    x = cr.tensor([1.0], requires_grad=True)
    w = cr.tensor([2.0], requires_grad=True)
    (x * w).sum().backward(inputs=[x])
    close(x.grad, [2.0])
    assert w.grad is None


def test_backward_inputs_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h).sum().backward(inputs=[h])
    close(h.grad, [6.0, 12.0])
    assert x.grad is None


def test_backward_empty_inputs_raises():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="should not be empty"):
        (x * 2).sum().backward(inputs=[])


def test_grad_allow_unused_and_materialize():
    x = cr.tensor([1.0], requires_grad=True)
    w = cr.tensor([2.0, 3.0], requires_grad=True)
    gx, gw = cr.autograd.grad((x * 2).sum(), [x, w], allow_unused=True, retain_graph=True)
    close(gx, [2.0])
    assert gw is None
    gx, gw = cr.autograd.grad((x * 2).sum(), [x, w], materialize_grads=True)
    close(gw, [0.0, 0.0])
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        cr.autograd.grad((x * 2).sum(), [x, w])


def test_grad_does_not_touch_dot_grad_and_returns_tuple():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    res = cr.autograd.grad((x * x).sum(), x)
    assert isinstance(res, tuple) and len(res) == 1
    close(res[0], [2.0, 4.0])
    assert x.grad is None


def test_grad_with_respect_to_intermediate():
    x, tx = pair([0.5, 1.5])
    h, th = x.exp(), tx.exp()
    (g,) = cr.autograd.grad((h * h).sum(), h)
    (tg,) = torch.autograd.grad((th * th).sum(), th)
    close(g, tg)


def test_grad_with_grad_outputs_for_non_scalar():
    x, tx = pair([1.0, 2.0, 3.0])
    v = np.array([0.1, 0.2, 0.3])
    (g,) = cr.autograd.grad(x * x, x, grad_outputs=cr.tensor(v))
    (tg,) = torch.autograd.grad(tx * tx, tx, grad_outputs=torch.tensor(v))
    close(g, tg)


def test_grad_skips_unneeded_branches():
    calls = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            return grad
    x = cr.tensor([1.0], requires_grad=True)
    w = cr.tensor([2.0], requires_grad=True)
    out = (x * 2).sum() + Spy.apply(w).sum()
    cr.autograd.grad(out, x)
    assert calls == []


# ---------------------------------------------------------------- hooks, retain_grad
def test_hook_on_leaf_modifies_grad_and_handle_removes_it():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()
    close(x.grad, [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    close(x.grad, [2.0, 4.0])


def test_hook_on_non_leaf_changes_upstream_grads_like_torch():
    def run(lib, x):
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 3)
        (y * y).sum().backward()
        return y.grad
    x, tx = pair([1.0, 2.0])
    close(run(cr, x), run(torch, tx))     # retain_grad sees the grad after the hooks
    close(x.grad, tx.grad)


def test_hook_observes_without_changing():
    seen = []
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.sum().backward()
    close(seen[0], [1.0, 1.0])
    close(x.grad, [3.0, 3.0])


def test_register_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    assert h.retains_grad
    (h * 3).sum().backward()
    close(h.grad, [3.0, 3.0])
    m = x * 2
    (m * 1).sum().backward()
    assert m.grad is None
    assert x.retains_grad is False


# ---------------------------------------------------------------- detach
def test_detach_and_detach_inplace():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, y.data)
    z = x * 3
    z.detach_()
    assert not z.requires_grad and z.grad_fn is None
    (y + z).sum().backward()
    close(x.grad, [2.0, 2.0])


def test_detached_inplace_change_is_seen_by_version_check():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()                   # saves its output
    y.detach().zero_()            # shares y's version counter, as in torch
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ---------------------------------------------------------------- custom Functions
class Cube(Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x * ctx.scale, None


class TorchCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x * ctx.scale, None


def test_custom_function_first_and_double_backward_match_torch():
    x, tx = pair([0.5, -1.0, 2.0])
    y, ty = Cube.apply(x, 2.0), TorchCube.apply(tx, 2.0)
    assert y.grad_fn.name() == "CubeBackward" and ty.grad_fn.name() == "TorchCubeBackward"
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad(ty.sum(), tx, create_graph=True)
    close(g, tg)
    g.sum().backward()
    tg.sum().backward()
    close(x.grad, tx.grad)
    assert cr.autograd.gradcheck(lambda a: Cube.apply(a, 2.0), (x,))
    assert cr.autograd.gradgradcheck(lambda a: Cube.apply(a, 2.0), (x,))


def test_custom_function_needs_input_grad_in_forward_and_backward():
    seen = []

    class F(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append(("fwd", ctx.needs_input_grad))
            return a * b * k

        @staticmethod
        def backward(ctx, grad):
            seen.append(("bwd", ctx.needs_input_grad))
            return (grad * 2 if ctx.needs_input_grad[0] else None,
                    grad * 3 if ctx.needs_input_grad[1] else None, None)
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0])
    F.apply(a, b, 3).sum().backward()
    assert seen == [("fwd", (True, False, False)), ("bwd", (True, False, False))]
    close(a.grad, [2.0])


def test_custom_function_multiple_outputs_and_non_differentiable():
    class Split(Function):
        @staticmethod
        def forward(ctx, x):
            mask = x > 0
            ctx.mark_non_differentiable(mask)
            return x * 2, x * 3, mask

        @staticmethod
        def backward(ctx, g1, g2, g_mask):
            return g1 * 2 + g2 * 3
    x = cr.tensor([-1.0, 1.0], requires_grad=True)
    a, b, mask = Split.apply(x)
    assert a.grad_fn is b.grad_fn and a.grad_fn is not None
    assert not mask.requires_grad and mask.dtype == cr.bool
    (a.sum() + b.sum()).backward()
    close(x.grad, [5.0, 5.0])
    x.grad = None
    a.sum().backward()                          # b's gradient is materialized as zeros
    close(x.grad, [2.0, 2.0])


def test_custom_function_set_materialize_grads_false_and_once_differentiable():
    received = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        @once_differentiable
        def backward(ctx, g1, g2):
            received.append((g1 is None, g2 is None, cr.is_grad_enabled()))
            total = None
            for g, k in ((g1, 2), (g2, 3)):
                if g is not None:
                    total = g * k if total is None else total + g * k
            return total
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a, b = Two.apply(x)
    a.sum().backward(create_graph=True)
    assert received == [(False, True, False)]
    close(x.grad, [2.0, 2.0])
    assert not x.grad.requires_grad        # once_differentiable: no graph for the grad


def test_custom_function_non_tensor_args_and_outputs():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, factor, name):
            ctx.factor = factor
            return x * factor, name.upper()

        @staticmethod
        def backward(ctx, grad, _):
            return grad * ctx.factor, None, None
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y, label = Scale.apply(x, 4.0, "ok")
    assert label == "OK"
    y.sum().backward()
    close(x.grad, [4.0, 4.0])


def test_custom_function_saving_output():
    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            return grad * y
    x, tx = pair([0.2, 1.3])
    (g,) = cr.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    close(g, np.exp([0.2, 1.3]))
    g.sum().backward()
    close(x.grad, np.exp([0.2, 1.3]))           # d/dx exp(x) through the saved output


def test_custom_function_wrong_number_of_grads_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad
    a = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="BadBackward.*incorrect number of gradients"):
        Bad.apply(a, a).sum().backward()


def test_custom_function_wrong_grad_shape_raises():
    class Bad(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1

        @staticmethod
        def backward(ctx, grad):
            return grad.sum()
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadBackward returned an invalid gradient at index 0"):
        Bad.apply(a).sum().backward()


def test_next_functions_and_grad_fn_names():
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2
    z = y.exp()
    assert z.grad_fn.name() == "ExpBackward0"
    (fn, nr), = z.grad_fn.next_functions
    assert fn is y.grad_fn and nr == 0
    assert y.grad_fn.next_functions[0][0].name() == "AccumulateGrad"
    assert y.grad_fn.next_functions[0][0].variable is x


# ---------------------------------------------------------------- in-place and versions
def test_inplace_modification_of_saved_tensor_raises_naming_the_op():
    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        c = lib.tensor([1.0, -1.0, 0.5])
        d = (c * w).sin()             # Mul saves c
        c.mul_(2)                     # overwrites c's memory
        d.sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*saved by "
                                           "MulBackward0.*version 1; expected version 0"):
        run(cr)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch)


def test_inplace_not_touching_saved_values_is_fine():
    x, tx = pair([1.0, 2.0])
    y, ty = x.exp(), tx.exp()     # exp saves its output, not its input
    c, tc = x * 1, tx * 1
    c.add_(1)
    tc.add_(1)
    (y.sum() + (c * c).sum()).backward()
    (ty.sum() + (tc * tc).sum()).backward()
    close(x.grad, tx.grad)


def test_version_counter_increments():
    x = cr.tensor([1.0, 2.0])
    assert x._version_counter == 0
    x.add_(1)
    x.mul_(2)
    x[0] = 5.0
    assert x._version_counter == 3


def test_inplace_on_leaf_requiring_grad_raises():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2)
    with cr.no_grad():
        x.add_(1)                     # allowed: the usual optimizer update
    close(x, [2.0])


def test_inplace_on_non_leaf_is_differentiable():
    def f(lib, x, w):
        y = x * 2
        y.mul_(3)             # the in-place op's own saved input is its pre-op value
        y.add_(w)
        y.mul_(w)
        z = y.sin()
        z.div_(2)
        return z.sum() + y.sum()
    x, tx = pair([0.1, 0.2])
    w, tw = pair([0.3, -0.4])
    f(cr, x, w).backward()
    f(torch, tx, tw).backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


def test_recorded_inplace_keeps_saved_values_valid():
    # A recorded in-place op rebinds the tensor to a new array instead of overwriting memory, so
    # what earlier ops saved is intact and the gradient is exact (torch would refuse y.mul_(y)).
    x = cr.tensor([1.0, 2.0], requires_grad=True, dtype=cr.float64)
    y = x * 2
    s = y.sin()
    y.mul_(y)
    (y.sum() + s.sum()).backward()
    close(x.grad, 8 * np.array([1.0, 2.0]) + 2 * np.cos([2.0, 4.0]))
    assert y._version_counter == 1


def test_inplace_under_no_grad_on_saved_tensor_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    y = h.sin()
    with cr.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="saved by SinBackward0"):
        y.sum().backward()


# ---------------------------------------------------------------- errors match torch's types
def test_backward_error_types_match_torch():
    cases = [
        (lambda lib: (lib.tensor([1.0, 2.0], requires_grad=True) * 2).backward(),
         "grad can be implicitly created only for scalar outputs"),
        (lambda lib: lib.tensor([1.0, 2.0]).sum().backward(),
         "does not require grad and does not have a grad_fn"),
        (lambda lib: lib.tensor([1, 2]).requires_grad_(),
         "only Tensors of floating point dtype can require gradients"),
        (lambda lib: lib.tensor([1, 2], dtype=lib.int64, requires_grad=True),
         "only Tensors of floating point dtype can require gradients"),
    ]
    for fn, message in cases:
        with pytest.raises(Exception) as ours:
            fn(cr)
        with pytest.raises(Exception) as theirs:
            fn(torch)
        assert type(ours.value) is type(theirs.value), message
        assert message in str(ours.value)


def test_backward_gradient_shape_mismatch_raises():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="mismatch in shape"):
        (x * 2).backward(cr.tensor([1.0, 2.0, 3.0]))


def test_requires_grad_false_on_non_leaf_raises():
    x = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad_(False)


# ---------------------------------------------------------------- anomaly detection
def test_detect_anomaly_forward_names_op_and_line():
    x = cr.tensor([-1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        with pytest.raises(RuntimeError) as info:
            x.log()                      # this line must appear in the message
    msg = str(info.value)
    assert "Log" in msg and "nan" in msg and "forward" in msg
    assert f"test_engine.py:{info.tb.tb_lineno}" in msg


def test_detect_anomaly_backward_names_op_and_forward_line():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.detect_anomaly():
        y = x.sqrt()
        line = _lineno() - 1
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "SqrtBackward0" in msg and "inf" in msg and "backward" in msg
    assert f"test_engine.py:{line}" in msg
    assert not cr.autograd.is_anomaly_enabled()


def test_no_anomaly_check_by_default():
    x = cr.tensor([0.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()).all()


def _lineno():
    import inspect
    return inspect.currentframe().f_back.f_lineno


# ---------------------------------------------------------------- scale, memory, order
def test_long_chain_without_recursion_error_and_quickly():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    start = time.perf_counter()
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    elapsed = time.perf_counter() - start
    close(x.grad, 1.0)
    assert elapsed < 30, f"100,000-op chain took {elapsed:.1f}s"


def test_saved_tensors_are_freed_after_backward():
    x = cr.tensor(np.ones(1000), requires_grad=True)
    h = x * 2
    ref = weakref.ref(h.data)
    y = h.sin() * 3            # Sin saves h's array
    del h
    gc.collect()
    assert ref() is not None   # still needed by the graph
    y.sum().backward()
    gc.collect()
    assert ref() is None       # released once SinBackward0 ran


def test_graph_is_freed_when_output_dies():
    x = cr.tensor(np.ones(100), requires_grad=True)
    y = (x * 2).exp()
    ref = weakref.ref(y.grad_fn)
    del y
    gc.collect()
    assert ref() is None


def test_memory_not_retained_across_training_steps():
    w = cr.tensor(np.random.randn(64, 64), requires_grad=True)
    x = cr.tensor(np.random.randn(32, 64))
    refs = []
    for _ in range(5):
        h = (x @ w).tanh()
        refs.append(weakref.ref(h))
        (h * h).sum().backward()
        del h
    gc.collect()
    assert all(r() is None for r in refs)


def test_engine_runs_nodes_in_topological_order():
    order = []

    def spy(name):
        class Spy(Function):
            @staticmethod
            def forward(ctx, *xs):
                out = xs[0] * 1
                for x in xs[1:]:
                    out = out + x
                return out

            @staticmethod
            def backward(ctx, grad):
                order.append(name)
                return (grad,) * ctx.n
        Spy.__name__ = name
        return lambda *xs: _with_n(Spy, xs)
    a_fn, b_fn, c_fn, d_fn, e_fn = (spy(n) for n in "abcde")
    x = cr.tensor([1.0], requires_grad=True)
    a = a_fn(x)
    b = b_fn(a)
    c = c_fn(a, b)
    d = d_fn(b, c)
    e = e_fn(a, d, c)
    e.sum().backward()
    parents = {"a": [], "b": ["a"], "c": ["a", "b"], "d": ["b", "c"], "e": ["a", "d", "c"]}
    position = {n: i for i, n in enumerate(order)}
    assert sorted(order) == list("abcde")          # each node exactly once
    for node, inputs in parents.items():
        for p in inputs:
            assert position[node] < position[p], order
    close(x.grad, _torch_grad_of_same_graph())


def _with_n(cls, xs):
    out = cls.apply(*xs)
    out.grad_fn.n = len(xs)
    return out


def _torch_grad_of_same_graph():
    x = torch.tensor([1.0], requires_grad=True)
    a = x * 1
    b = a * 1
    c = a + b
    d = b + c
    e = a + d + c
    e.sum().backward()
    return x.grad


def test_engine_has_no_recursion_on_wide_and_deep_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    total = x
    for i in range(2000):
        total = total + x * (i % 3)
    total.sum().backward()
    close(x.grad, [1 + sum(i % 3 for i in range(2000))] * 2)


def test_backward_under_no_grad_still_computes_grads():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with cr.no_grad():
        y.backward()
    close(x.grad, [2.0, 4.0])


def test_inputs_sharing_one_array_get_their_own_gradients():
    base = cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)
    x = base.detach().requires_grad_()
    w = base.detach().requires_grad_()          # same ndarray as x, different tensor
    out = (x * w).sum() * w.sum()
    (g,) = cr.autograd.grad(out, x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), w)
    close(h, [12.0, 12.0, 12.0])


def test_first_order_fast_paths_match_the_recorded_backward():
    """tanh, x ** c, a broadcast add and a broadcast multiply take array-only backward rules when
    nothing is recorded (create_graph=False); they must give the recorded rules' gradients and
    torch's."""
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((4, 3)).astype(np.float32)
    b0 = rng.standard_normal(3).astype(np.float32)
    grads = []
    for create_graph in (False, True):
        x, b = cr.tensor(x0, requires_grad=True), cr.tensor(b0, requires_grad=True)
        loss = ((x + b).tanh() ** 3).sum() + ((x.abs() + 1) ** 2.5).sum() + (x * b).mean()
        gx, gb = cr.autograd.grad(loss, (x, b), create_graph=create_graph)
        grads.append((gx.detach().numpy(), gb.detach().numpy()))
    tx, tb = torch.tensor(x0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    (((tx + tb).tanh() ** 3).sum() + ((tx.abs() + 1) ** 2.5).sum() + (tx * tb).mean()).backward()
    for fast, recorded, expected in zip(*grads, (tx.grad.numpy(), tb.grad.numpy())):
        assert np.isfinite(fast).all() and fast.dtype == np.float32
        np.testing.assert_allclose(fast, recorded, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(fast, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op,changed", [(lambda a, b: a @ b, "b"), (lambda a, b: a * b, "b"),
                                        (lambda a, b: a / b, "b"),
                                        (lambda a, b: (a * b).tanh(), "out"),
                                        (lambda a, b: (a * b) ** 2, "out")])
def test_first_order_array_paths_still_check_saved_versions(op, changed):
    """Backward rules that read saved arrays directly (saved_arrays) keep the in-place check and
    the second-backward error of saved_tensors."""
    a, b = cr.randn(3, 3, requires_grad=True), cr.randn(3, 3)
    out = op(a, b)
    with cr.no_grad():
        (b if changed == "b" else out).mul_(2)      # a value the backward rule saved
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward(cr.ones(3, 3))
    out = op(a, b)
    out.backward(cr.ones(3, 3))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward(cr.ones(3, 3))


def test_inplace_update_fast_path_bumps_the_version_and_promotes_scalars():
    w = cr.ones(2, 2, requires_grad=True)
    g = cr.full((2, 2), 0.5)
    with cr.no_grad():
        v = w._version[0]
        w -= g                                       # same dtype: the fast path
        assert w._version[0] == v + 1
        w -= 1                                       # a Python number: promotion checked
        w.sub_(cr.ones(2, 2, dtype=cr.float64))      # float64 into float32: same-kind cast
    assert w.dtype is cr.float32
    np.testing.assert_array_equal(w.detach().numpy(), np.full((2, 2), -1.5, np.float32))
    with pytest.raises(RuntimeError, match="can't be cast"):
        cr.ones(2, dtype=cr.int64).sub_(cr.ones(2))  # float into int: refused, as torch


def test_a_gradient_array_shared_by_two_edges_is_not_accumulated_into():
    """add's backward hands one array to both inputs; a leaf that takes it as .grad must not add
    into it while the other edge still carries it (y + y + y: 3, not 4)."""
    for make_root in (lambda y: (y + y + y).sum(), lambda y: ((y + y) * 2 + y).sum(),
                      lambda y: (y + (y + (y + y))).mean() * 4):
        y = cr.tensor([1.5, -2.0], requires_grad=True)
        make_root(y).backward()
        ty = torch.tensor([1.5, -2.0], requires_grad=True)
        make_root(ty).backward()
        close(y.grad, ty.grad)
