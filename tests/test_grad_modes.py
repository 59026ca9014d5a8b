"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode and detect_anomaly as
context managers and decorators, their nesting, and their thread-locality."""
import threading

import numpy as np
import pytest
import torch

import chainrule as cr


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "set_grad_enabled"])
def test_grad_modes_as_context_and_decorator(mode):
    ctx = {"no_grad": cr.no_grad, "inference_mode": cr.inference_mode,
           "set_grad_enabled": lambda: cr.set_grad_enabled(False)}[mode]
    x = cr.tensor([1.0], requires_grad=True)
    with ctx():
        y = x * 2
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @ctx()
    def f():
        return x * 2, cr.is_grad_enabled()
    y, enabled = f()
    assert not enabled and not y.requires_grad and cr.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        with cr.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad

    @cr.enable_grad()
    def f():
        return x * 2
    with cr.no_grad():
        assert f().requires_grad


def test_set_grad_enabled_as_function():
    cr.set_grad_enabled(False)
    try:
        assert not cr.is_grad_enabled()
    finally:
        cr.set_grad_enabled(True)
    assert cr.is_grad_enabled()


def test_inference_mode_false_is_noop_and_nesting_restores():
    with cr.inference_mode(False):
        assert cr.is_grad_enabled()
    with cr.no_grad():
        with cr.set_grad_enabled(True):
            assert cr.is_grad_enabled()
        assert not cr.is_grad_enabled()


def test_grad_mode_restored_on_exception():
    with pytest.raises(ValueError):
        with cr.no_grad():
            raise ValueError
    assert cr.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = {}
    entered, release = threading.Event(), threading.Event()

    def other():
        entered.wait()
        seen["other"] = cr.is_grad_enabled()
        x = cr.tensor([1.0], requires_grad=True)
        seen["records"] = (x * 2).requires_grad
        release.set()
    t = threading.Thread(target=other)
    t.start()
    with cr.no_grad():
        entered.set()
        release.wait(5)
        seen["main"] = cr.is_grad_enabled()
    t.join()
    assert seen == {"other": True, "records": True, "main": False}


def test_set_grad_enabled_decorator_does_not_change_mode_at_definition_like_torch():
    @cr.set_grad_enabled(False)
    def f():
        return cr.is_grad_enabled()

    @torch.set_grad_enabled(False)
    def tf():
        return torch.is_grad_enabled()
    assert cr.is_grad_enabled() and torch.is_grad_enabled()
    assert f() is tf() is False
    assert cr.is_grad_enabled() and torch.is_grad_enabled()


def test_decorated_function_reentrant_and_generator_safe():
    @cr.no_grad()
    def recurse(n):
        assert not cr.is_grad_enabled()
        return 0 if n == 0 else 1 + recurse(n - 1)
    assert recurse(5) == 5 and cr.is_grad_enabled()


def test_detect_anomaly_context_and_flag():
    assert not cr.autograd.is_anomaly_enabled()
    with cr.autograd.detect_anomaly():
        assert cr.autograd.is_anomaly_enabled()
    assert not cr.autograd.is_anomaly_enabled()
    cr.autograd.set_detect_anomaly(True)
    try:
        assert cr.autograd.is_anomaly_enabled()
    finally:
        cr.autograd.set_detect_anomaly(False)


def test_threads_each_start_with_grad_enabled():
    results = []
    with cr.no_grad():
        threads = [threading.Thread(target=lambda: results.append(cr.is_grad_enabled()))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [True] * 4


@pytest.mark.parametrize("fn", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
                                lambda a, b: a / b, lambda a, b: 0.5 * a, lambda a, b: 3 - b,
                                lambda a, b: a / 2, lambda a, b: a[0, 0] * b[0, 0]])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int8"])
def test_unrecorded_arithmetic_matches_the_recorded_ops(fn, dtype):
    """Under no_grad, add/sub/mul/div run their ufunc directly (no Node): the same values and
    dtypes as with grad mode on, and as torch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a_np = (rng.standard_normal((3, 4)) * 5).astype(dtype)
    b_np = (rng.standard_normal((4,)) * 5 + 20).astype(dtype)
    b_np = np.broadcast_to(b_np, (3, 4)).copy()
    a, b = cr.tensor(a_np), cr.tensor(b_np)
    with cr.no_grad():
        fast = fn(a, b)
    slow = fn(a, b)
    expected = fn(torch.tensor(a_np), torch.tensor(b_np))
    assert fast.dtype is slow.dtype and str(fast.dtype).split(".")[1] == \
        str(expected.dtype).split(".")[1]
    assert fast.grad_fn is None and not fast.requires_grad
    np.testing.assert_array_equal(fast.numpy(), slow.numpy())
    np.testing.assert_allclose(fast.numpy(), expected.numpy(), rtol=1e-6)


def test_unrecorded_arithmetic_keeps_the_broadcast_error():
    with cr.no_grad(), pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(4,\) cannot "
                                                         r"be broadcast"):
        cr.ones(2, 3) + cr.ones(4)
