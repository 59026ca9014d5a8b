"""In-place ops through views while a graph is recorded, compared with torch 2.13.

A recorded in-place op on a view changes the view's base (a ``CopySlices`` node) and remakes every
live view of that base, so base and views read the new values, as if they shared storage.

Known differences, by design: a recorded in-place op rebinds the tensor to a new array, so what
earlier ops saved as graph values stays intact and backward is exact where torch refuses with
"modified by an inplace operation" (``a = x.exp(); a[0].add_(1); a.sum().backward()``). Changes
made under ``no_grad`` write through memory and raise at backward as in torch. In-place on
overlapping unfold windows raises (torch writes shared elements once per window). A
``detach()``-ed alias does not follow a recorded in-place change of its source.
"""
import gc

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import Function, gradcheck, gradgradcheck

X = np.random.default_rng(0).standard_normal((2, 3))


def run_both(fn, x=X):
    """fn(lib, x) -> tensor, for torch and chainrule: values of the result and x's gradient."""
    out = {}
    for lib in (torch, cr):
        leaf = lib.tensor(x, requires_grad=True)
        y = fn(lib, leaf)
        weights = lib.tensor(np.arange(1.0, y.numel() + 1).reshape(tuple(y.shape)))
        (y * weights).sum().backward()
        out[lib] = (y.detach().numpy().copy(), leaf.grad.numpy().copy())
    np.testing.assert_allclose(out[cr][0], out[torch][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out[cr][1], out[torch][1], rtol=1e-12, atol=1e-12)
    return out[cr]


# ---------------------------------------------------------------- the idioms
def test_augmented_assignment_on_a_column():
    def f(lib, x):
        y = x * 2
        y[:, 0] += 1          # getitem (a view), iadd on it, then __setitem__ with the result
        return y
    values, grad = run_both(f)
    np.testing.assert_allclose(values[:, 0], X[:, 0] * 2 + 1)
    np.testing.assert_allclose(grad, 2 * np.arange(1.0, 7).reshape(2, 3))


def test_augmented_assignment_records_one_copy_slices_like_torch():
    for lib in (torch, cr):
        y = lib.tensor(X, requires_grad=True) * 2
        y[:, 0] += 1
        assert type(y.grad_fn).__name__ == "CopySlices"


def test_augmented_assignment_with_a_tensor_and_multiply():
    def f(lib, x):
        y = x * 2
        y[1, 1:] *= x[0, :2]
        y[0] -= x[1].exp()
        return y
    run_both(f)


def test_inplace_on_reshaped_view_updates_the_base():
    def f(lib, x):
        y = x * 2
        y.view(3, 2).add_(1)
        return y
    values, _ = run_both(f)
    np.testing.assert_allclose(values, X * 2 + 1)


def test_setitem_after_a_view_was_taken():
    def f(lib, x):
        y = x * 2
        v = y.view(3, 2)
        mask = lib.tensor([True, False, True])
        y[0, mask] = x[1, :2].exp()
        return y * v.reshape(2, 3)      # the view reads the new values
    run_both(f)


def test_views_of_a_base_changed_in_place_read_new_values_and_gradients():
    def f(lib, x):
        y = x * 2
        row, col = y[1], y.t()[2]
        y.mul_(x)                       # base changed: both views follow, with gradients
        return lib.stack([row * col.sum(), y[0]])
    run_both(f)


def test_inplace_on_a_view_is_seen_by_sibling_views():
    def f(lib, x):
        y = x.sin()
        a, b = y[:, 1:], y.t()
        a.add_(x[0, 1:])
        b[0].mul_(3)
        return a * b.t()[:, 1:]
    run_both(f)


def test_view_of_a_view_and_diagonal():
    def f(lib, x):
        y = x * 1
        y.diagonal().mul_(5)
        y.t()[1:].unsqueeze(0)[0, :, 0].sub_(x[0, :2])
        return y
    run_both(f)


def test_view_gone_then_inplace_on_base():
    def f(lib, x):
        y = x * 2
        v = y[0]
        del v
        y.add_(1)
        return y
    run_both(f)


MASK = np.array([True, False, True])


@pytest.mark.parametrize("name, change", [
    ("relu_", lambda lib, x, y: y[1].relu_()),
    ("masked_fill_", lambda lib, x, y: y[:, 1:].t().masked_fill_(lib.tensor(MASK[:2, None]), 0.)),
    ("clamp_", lambda lib, x, y: y.t().clamp_(-0.5, 0.5)),
    ("relu inplace", lambda lib, x, y: lib.nn.functional.relu(y[0:1], inplace=True)),
    ("sigmoid_", lambda lib, x, y: y[1:].sigmoid_()),
    ("div_", lambda lib, x, y: y[:, ::2].div_(x[:, 1:].exp())),
    ("copy_", lambda lib, x, y: y[0].copy_(x[1] * 2)),
    ("zero_", lambda lib, x, y: y[1].zero_()),
    ("fill_", lambda lib, x, y: y[:, 0].fill_(3.0)),
    ("copy_ constant", lambda lib, x, y: y[:, 1:].copy_(lib.ones(2, 2, dtype=lib.float64))),
    ("fill_ whole", lambda lib, x, y: y.fill_(2.0)),
    ("copy_ whole", lambda lib, x, y: y.copy_(lib.ones(3, dtype=lib.float64))),
    ("setitem own view", lambda lib, x, y: y.__setitem__(0, y[0])),
    ("setitem other view", lambda lib, x, y: y.__setitem__(0, y[1])),
    ("iadd on a view of a view", lambda lib, x, y: y.t()[1:].__setitem__(
        (0, slice(None)), y.t()[1:][0].__iadd__(x[:, 0]))),
])
def test_inplace_ops_through_views(name, change):
    def f(lib, x):
        y = x * 1.5
        change(lib, x, y)
        return y * x
    run_both(f)


def test_unfold_is_a_view():
    def f(lib, x):
        y = x * 1.5
        w = y.unfold(1, 1, 2)            # windows [0] and [2] of each row: no overlap
        w.mul_(x[:, :2, None])
        return y + w.sum()
    values, _ = run_both(f)
    # y's columns 0 and 2 were multiplied through the view (the shared sum cancels out)
    np.testing.assert_allclose(values[:, ::2] - values[:, 1:2],
                               1.5 * X[:, ::2] * X[:, :2] - 1.5 * X[:, 1:2])


def test_inplace_on_overlapping_unfold_raises():
    # torch writes shared elements once per window (an order-dependent result); chainrule refuses
    y = cr.tensor(X, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="add_: unsupported operation: more than one element"):
        y.unfold(1, 2, 1).add_(1)


def test_inplace_into_a_plain_tensor_through_a_view_gains_a_graph():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        y = lib.zeros(2, 3, dtype=lib.float64)
        y[1].copy_(x[0] * 3)
        y.sum().backward()
        assert type(y.grad_fn).__name__ == "CopySlices"
        np.testing.assert_allclose(x.grad.numpy(), [[3, 3, 3], [0, 0, 0]])


def test_inplace_on_views_is_twice_differentiable():
    def f(x):
        y = x * x
        y[:, 1:] *= x[:, :2]
        y.t()[0].exp_()
        return y
    x = cr.tensor(X * 0.5, requires_grad=True)
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


def test_no_grad_write_through_a_view_still_shares_memory():
    y = cr.ones(2, 3)
    v = y[0]
    with cr.no_grad():
        v.fill_(4.0)
    assert y.tolist() == [[4.0, 4.0, 4.0], [1.0, 1.0, 1.0]]


# ---------------------------------------------------------------- errors where torch raises
def test_inplace_on_a_view_of_a_leaf_raises_like_torch():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        with pytest.raises(RuntimeError, match="view of a leaf Variable that requires grad"):
            x[0].add_(1)


@pytest.mark.parametrize("leaf", [True, False])
def test_inplace_with_grad_on_a_view_made_under_no_grad_raises_like_torch(leaf):
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        y = x if leaf else x * 2
        with lib.no_grad():
            v = y[0:1]
        with pytest.raises(RuntimeError, match="view was created in no_grad mode"):
            v.add_(1)
        with lib.no_grad():
            v.add_(1)             # both inside no_grad: allowed, written through
        np.testing.assert_allclose(y.detach().numpy()[0], X[0] * (1 if leaf else 2) + 1)


@pytest.mark.parametrize("views", [lambda y: y.unbind(0), lambda y: y.split(1, 1),
                                   lambda y: y.chunk(2, 0)])
def test_outputs_of_multi_view_ops_follow_torch(views):
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        y = x * 2
        first = views(y)[0]
        assert first._version == y._version if lib is torch else first._version is y._version
        with pytest.raises(RuntimeError, match="(?i)output 0 of .* is a view and is being modified "
                                               "inplace"):
            first.add_(1)
        y.add_(1)                                   # the base changes: the view reads it...
        np.testing.assert_allclose(first.detach().numpy(),
                                   views(y)[0].detach().numpy())
        with pytest.raises(RuntimeError, match="its base or another view of its base has been "
                                               "modified inplace"):
            (first * 1).sum().backward()             # ...but no gradient flows through it
        with lib.no_grad():
            views(y)[1].mul_(0)                     # no_grad: written through, version bumped
        assert float(views(y)[1].abs().sum()) == 0


def test_inplace_on_an_expanded_view_raises_like_torch():
    for lib in (torch, cr):
        x = lib.tensor(X, requires_grad=True)
        v = (x * 2)[None].expand(3, 2, 3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            v.add_(1)


def _no_grad_change_through_a_view_of_a_saved_tensor(lib):
    x = lib.tensor(X, requires_grad=True)
    a = x.exp()                  # exp saves its output
    with lib.no_grad():
        a[0].add_(1)
    return a.sum()


def _recorded_change_of_a_saved_plain_tensor(lib):
    # c has no grad_fn, so Mul keeps c itself: changing it (recorded) must not go unnoticed
    w = lib.tensor(X, requires_grad=True)
    c = lib.tensor(X)
    d = (c * w).sum()
    c.add_(w)
    return d


@pytest.mark.parametrize("change", [_no_grad_change_through_a_view_of_a_saved_tensor,
                                    _recorded_change_of_a_saved_plain_tensor],
                         ids=["no_grad-view-of-saved", "recorded-saved-plain"])
def test_change_of_a_saved_tensor_raises_at_backward_like_torch(change):
    for lib in (torch, cr):
        loss = change(lib)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


def test_recorded_change_of_a_base_under_a_saved_no_grad_view_raises():
    # torch raises on touching v; chainrule raises at backward, naming the op that saved v
    w = cr.tensor(X, requires_grad=True)
    y = w * 2
    with cr.no_grad():
        v = y[0:1]
    d = (v * w).sum()
    y.mul_(w)
    with pytest.raises(RuntimeError, match="saved by MulBackward0"):
        d.backward()


def test_recorded_change_through_a_view_keeps_backward_exact():
    # torch raises here (exp's saved output was overwritten); chainrule's saved array is intact
    x = cr.tensor(X, requires_grad=True)
    a = x.exp()
    a[0].add_(1)
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(X))
    np.testing.assert_allclose(a.detach().numpy(), np.exp(X) + [[1], [0]])


# ---------------------------------------------------------------- bookkeeping
def test_dead_views_are_not_kept():
    y = cr.tensor(X, requires_grad=True) * 2
    for _ in range(200):
        y[0].sum()
    gc.collect()
    assert len(y._views) < 64
    y.add_(1)
    assert y._views == []


def test_views_share_the_base_version_counter():
    values = {}
    for lib in (torch, cr):
        y = lib.tensor(X, requires_grad=True) * 2
        v = y[0]
        y.add_(1)
        v.mul_(2)
        values[lib] = (y.detach().numpy().copy(), v.detach().numpy().copy())
        if lib is torch:
            assert v._version == y._version == 2
    assert v._version is y._version
    assert y._version_counter == 2
    for ours, theirs in zip(values[cr], values[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(values[cr][1], (X[0] * 2 + 1) * 2)


# ---------------------------------------------------------------- grad_fn type names
def test_grad_fn_type_names_match_torch():
    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class TTwice(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x, tx = cr.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for y, ty in [(x * x, tx * tx), (x.exp(), tx.exp()), (Twice.apply(x), TTwice.apply(tx))]:
        assert type(y.grad_fn).__name__ == y.grad_fn.name() == \
            type(ty.grad_fn).__name__.replace("TTwice", "Twice")
        assert repr(y.grad_fn) == f"<{y.grad_fn.name()} object>"
    assert isinstance(y.grad_fn, cr.autograd.function.Node)
