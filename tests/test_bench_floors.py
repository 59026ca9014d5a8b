"""The benchmark floors (benchmarks/floors.py) compute what they claim: the hand-written NumPy MLP
step is the same training step as chainrule's, and the GEMM list of a CNN step has the step's
multiply count."""
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path.insert(0, BENCH)
floors = pytest.importorskip("floors")


def _chainrule_mlp_step(sizes, batch, loss, lr=0.01):
    """bench_engine's MLP step on chainrule (same seeded weights and data), with its params."""
    import chainrule as cr
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(cr.tensor(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                                requires_grad=True))
        params.append(cr.tensor(rng.uniform(-bound, bound, fan_out).astype(np.float32),
                                requires_grad=True))
    x = cr.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    if loss == "cross_entropy":
        y = cr.tensor(rng.integers(0, sizes[-1], batch))
    else:
        y = cr.tensor(rng.standard_normal((batch, sizes[-1])).astype(np.float32))

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = h.relu() if loss == "cross_entropy" else h.tanh()
        out = (cr.nn.functional.cross_entropy(h, y) if loss == "cross_entropy"
               else ((h - y) ** 2).mean())
        out.backward()
        with cr.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    return step, params


@pytest.mark.parametrize("sizes,batch,loss", [((2, 16, 16, 1), 1, "mse"),
                                              ((20, 12, 8, 5), 6, "cross_entropy")])
def test_numpy_mlp_step_matches_chainrule(sizes, batch, loss):
    numpy_step = floors.numpy_mlp_step(sizes, batch, loss)
    cr_step, cr_params = _chainrule_mlp_step(sizes, batch, loss)
    np_params = next(c.cell_contents for c in numpy_step.__closure__
                     if isinstance(c.cell_contents, list) and len(c.cell_contents) == len(cr_params))
    before = [p.copy() for p in np_params]
    for _ in range(3):
        numpy_step()
        cr_step()
    for a, b, b0 in zip(np_params, cr_params, before):
        assert not np.array_equal(a, b0)                  # the step trains
        np.testing.assert_allclose(a, b.data, rtol=1e-5, atol=1e-6)


def test_gemm_shapes_count_the_step_multiplies():
    import chainrule as cr
    model = cr.nn.Sequential(cr.nn.Conv2d(3, 8, 3, padding=1), cr.nn.ReLU(), cr.nn.MaxPool2d(2),
                             cr.nn.Flatten(), cr.nn.Linear(8 * 4 * 4, 10))
    x = cr.randn(5, 3, 8, 8)
    # conv: 5*8*8 output pixels x 27 inputs x 8 channels; linear: 5 x 128 x 10
    assert floors.gemm_shapes(model, x, train=False) == [(320, 27, 8), (5, 128, 10)]
    # training: the conv's weight gradient (no input gradient for the first layer), the
    # linear layer's weight and input gradients
    assert floors.gemm_shapes(model, x, train=True) == [
        (320, 27, 8), (27, 320, 8), (5, 128, 10), (128, 5, 10), (5, 10, 128)]
    assert floors.gemm_floor_ms([(4, 3, 2)], repeats=3) >= 0


def test_cifar_gemm_list_has_the_benchmarked_flop_count():
    pytest.importorskip("torch")           # bench_conv (the CIFAR-like network) imports it
    import run_all
    shapes = floors.gemm_shapes(*floors.conv_workload("cifar"))
    assert sum(2 * m * k * n for m, k, n in shapes) / 1e9 == pytest.approx(run_all.cifar_gflop())
