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


@pytest.mark.parametrize("sizes,batch,loss", [((2, 16, 16, 1), 1, "mse"),
                                              ((20, 12, 8, 5), 6, "cross_entropy")])
def test_numpy_mlp_step_matches_chainrule(sizes, batch, loss):
    pytest.importorskip("torch")            # bench_engine compares with it
    import bench_engine
    import chainrule as cr
    numpy_step = floors.numpy_mlp_step(sizes, batch, loss)
    cr_step = bench_engine._mlp_workload(cr, sizes, batch, loss)
    cr_params = next(c.cell_contents for c in cr_step.__closure__
                     if isinstance(c.cell_contents, list))
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
    # the floor is the median, in ms, of the timed repeats (a clock that advances 1, 3, 2 ms)
    ticks = iter([0.0, 0.001, 1.0, 1.003, 2.0, 2.002])
    assert floors.gemm_floor_ms([(4, 3, 2)], repeats=3, clock=lambda: next(ticks)) == \
        pytest.approx(2.0)


def test_cifar_gemm_list_has_the_benchmarked_flop_count():
    pytest.importorskip("torch")           # bench_conv (the CIFAR-like network) imports it
    import run_all
    shapes = floors.gemm_shapes(*floors.conv_workload("cifar"))
    assert sum(2 * m * k * n for m, k, n in shapes) / 1e9 == pytest.approx(run_all.cifar_gflop())
