"""Array work split over chainrule's threads (backends.threads, ops._parallel): every split
kernel gives what the one-call form gives, errors come through, and the pool hands OpenBLAS its
threads back. The split sizes are forced down to one row so that small arrays take the split
path."""
import os
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.backends import blas, threads
from chainrule.ops import _parallel

torch = pytest.importorskip("torch")

needs_openblas = pytest.mark.skipif(blas.openblas_function("set_num_threads") is None,
                                    reason="NumPy's BLAS here is not OpenBLAS")


@pytest.fixture
def pool(monkeypatch):
    """Two threads, every split taken (the pool counts as in use throughout)."""
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    monkeypatch.setattr(_parallel, "MIN_MACS", 1)
    monkeypatch.setattr(_parallel, "MIN_ELEMS", 1)
    monkeypatch.setattr(threads, "HOLD_S", 1e9)
    threads._state["pool_used_at"] = 0.0
    yield
    cr.set_num_threads(before)


def _serial(fn):
    """fn() with one thread (the one-call forms)."""
    before = cr.get_num_threads()
    cr.set_num_threads(1)
    try:
        return fn()
    finally:
        cr.set_num_threads(before)


def test_ranges_cover_the_rows_once_and_in_order(pool):
    for total in (2, 3, 7, 100):
        parts = threads.ranges(total, 1)
        assert len(parts) == 2 and parts[0][0] == 0 and parts[-1][1] == total
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    assert threads.ranges(1, 1) == [(0, 1)]
    assert threads.ranges(10, 6) == [(0, 10)]          # parts would be under min_size


def test_ranges_stay_whole_while_no_convolution_claimed_the_pool(monkeypatch):
    before = cr.get_num_threads()
    cr.set_num_threads(2)
    try:
        threads._state["pool_used_at"] = -1e9
        assert threads.ranges(100, 1) == [(0, 100)]
        if blas.openblas_function("set_num_threads") is not None:
            assert len(threads.ranges(100, 1, claim=True)) == 2
            assert threads.in_use() and blas.info()["threads"] == 1   # OpenBLAS held at one
            monkeypatch.setattr(threads, "HOLD_S", 0.0)
            assert not threads.in_use() and blas.info()["threads"] == 2   # and given back
    finally:
        cr.set_num_threads(before)


@needs_openblas
@pytest.mark.parametrize("sa,sb", [((5, 7), (7, 3)), ((4, 5, 7), (7, 3)), ((4, 5, 7), (4, 7, 3)),
                                   ((4, 5, 7), (1, 7, 3)), ((1, 5, 7), (4, 7, 3)),
                                   ((2, 3, 5, 7), (3, 7, 2)), ((6, 1), (1, 4))])
def test_split_matmul_equals_numpy(pool, sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    got = _parallel.matmul(a, b)
    np.testing.assert_array_equal(got, np.matmul(a, b))
    out = np.empty_like(got)
    assert _parallel.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, got)


@needs_openblas
def test_split_elementwise_broadcasts_the_operands_it_does_not_split(pool):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 3, 4, 5))
    bias = rng.standard_normal((1, 3, 1, 1))
    out = x.copy()
    _parallel.elementwise(np.add, out, out, bias)
    np.testing.assert_array_equal(out, x + bias)
    out = np.empty_like(x)
    _parallel.elementwise(np.maximum, out, x, 0.0)
    np.testing.assert_array_equal(out, np.maximum(x, 0.0))
    dst = np.empty((6, 5, 4))
    _parallel.copyto(dst, x[:, 0].transpose(0, 2, 1))
    np.testing.assert_array_equal(dst, x[:, 0].transpose(0, 2, 1))


@needs_openblas
def test_pool_threads_keep_the_callers_quiet_floating_point_state(pool):
    x = np.full((8, 4), np.inf)
    out = np.empty_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cr._backend.quiet_fp():
            _parallel.elementwise(np.multiply, out, x, 0.0)       # inf * 0: "invalid value"
    assert np.isnan(out).all()


@needs_openblas
def test_an_error_in_one_range_is_raised_after_every_range_ran(pool):
    done = []

    def part(start, stop):
        done.append(start)
        if start > 0:
            raise ValueError("second range")
        return start
    with pytest.raises(ValueError, match="second range"):
        threads.run(part, [(0, 5), (5, 10)])
    assert sorted(done) == [0, 5]
    assert threads.run(lambda a, b: b - a, [(0, 3), (3, 10)]) == [3, 7]


def _conv_case(dtype, stride, padding, dilation, bias, cin=3):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, cin, 9, 8)).astype(dtype)
    w = rng.standard_normal((4, cin, 3, 2)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype) if bias else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation)


def _conv_step(x, w, b, kw):
    xt = cr.tensor(x, requires_grad=True)
    wt = cr.tensor(w, requires_grad=True)
    bt = cr.tensor(b, requires_grad=True) if b is not None else None
    y = cr.nn.functional.conv2d(xt, wt, bt, **kw)
    y = cr.nn.functional.max_pool2d(cr.relu(y), 2, ceil_mode=True)
    (y * y).sum().backward()
    return [y.data, xt.grad.data, wt.grad.data] + ([bt.grad.data] if b is not None else [])


@needs_openblas
@pytest.mark.parametrize("stride,padding,dilation,bias,cin", [
    (1, 1, 1, True, 3), (2, 0, 1, False, 3), (1, 2, 2, True, 3), (1, 0, 1, True, 1),
    (2, 1, 2, False, 1)])       # one input channel: the column-major im2col blocks
def test_split_convolution_relu_and_pooling_equal_one_thread_and_torch(pool, stride, padding,
                                                                       dilation, bias, cin):
    x, w, b, kw = _conv_case(np.float64, stride, padding, dilation, bias, cin)
    split = _conv_step(x, w, b, kw)
    whole = _serial(lambda: _conv_step(x, w, b, kw))
    for s, o in zip(split, whole):
        np.testing.assert_allclose(s, o, rtol=1e-12, atol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if b is not None else None
    y = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.conv2d(xt, wt, bt, **kw)),
                                       2, ceil_mode=True)
    (y * y).sum().backward()
    ref = [y.detach(), xt.grad, wt.grad] + ([bt.grad] if b is not None else [])
    for s, r in zip(split, ref):
        np.testing.assert_allclose(s, r.numpy(), rtol=1e-10, atol=1e-10)


@needs_openblas
def test_split_relu_keeps_signed_zero_nan_and_its_gradient(pool):
    x = np.array([[-1.0, -0.0, 0.0, 2.0, np.nan]] * 4, dtype=np.float32)
    xt = cr.tensor(x, requires_grad=True)
    y = cr.relu(xt)
    y.sum().backward()
    ref = torch.relu(torch.tensor(x))
    np.testing.assert_array_equal(y.data, ref.numpy())
    np.testing.assert_array_equal(np.signbit(y.data), np.signbit(ref.numpy()))
    np.testing.assert_array_equal(xt.grad.data, np.tile([0, 0, 0, 1, 1], (4, 1)))


@needs_openblas
def test_a_lenet_step_on_the_pool_matches_one_thread(pool):
    def losses():
        cr.manual_seed(0)
        net = cr.nn.Sequential(cr.nn.Conv2d(1, 6, 3), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                               cr.nn.Flatten(), cr.nn.Linear(6 * 5 * 5, 10))
        opt = cr.optim.SGD(net.parameters(), lr=0.1)
        x = cr.tensor(np.random.default_rng(3).standard_normal((8, 1, 12, 12)).astype(np.float32))
        y = cr.tensor(np.arange(8) % 10)
        out = []
        for _ in range(3):
            opt.zero_grad()
            loss = cr.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            out.append(loss.item())
        return out
    np.testing.assert_allclose(losses(), _serial(losses), rtol=1e-5)


@needs_openblas
@pytest.mark.parametrize("bidirectional,batch_first", [(False, True), (True, False)])
def test_split_lstm_equals_one_thread(pool, bidirectional, batch_first):
    def run():
        cr.manual_seed(0)
        lstm = cr.nn.LSTM(3, 5, 2, bidirectional=bidirectional, batch_first=batch_first)
        x = np.random.default_rng(4).standard_normal((9, 4, 3) if batch_first else (4, 9, 3))
        xt = cr.tensor(x.astype(np.float32), requires_grad=True)
        out, (h, c) = lstm(xt)
        (out.sum() + (h * h).sum() + (c * c).sum()).backward()
        return [out.data, h.data, c.data, xt.grad.data] + [p.grad.data for p in lstm.parameters()]
    split = run()
    for s, o in zip(split, _serial(run)):
        np.testing.assert_allclose(s, o, rtol=1e-5, atol=1e-6)


@needs_openblas
@pytest.mark.parametrize("give_back", ["release", "one thread"])
def test_openblas_gets_its_threads_back(give_back):
    before = cr.get_num_threads()
    try:
        cr.set_num_threads(2)
        threads.ranges(100, 1, claim=True)
        assert blas.info()["threads"] == 1
        if give_back == "release":
            threads.release()
            assert blas.info()["threads"] == 2
        else:
            cr.set_num_threads(1)
            assert blas.info()["threads"] == 1
            assert threads.ranges(100, 1, claim=True) == [(0, 100)]
        assert not threads.in_use()
    finally:
        cr.set_num_threads(before)


@needs_openblas
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_pool(pool):
    import multiprocessing
    assert threads.run(lambda a, b: b - a, [(0, 2), (2, 5)]) == [2, 3]     # parent's pool is up
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as procs:
        assert procs.apply(_split_in_child, ()) == [2, 3]


def _split_in_child():
    return threads.run(lambda a, b: b - a, [(0, 2), (2, 5)])
