"""Lower bounds for a NumPy engine on run_all.py's workloads, measured on this machine.

Two floors, each timed with the same clock as the workloads:

* ``numpy_mlp_step``: the MLP step of bench_engine.py written out by hand in NumPy (forward,
  loss, backward, SGD; no graph, no Tensor objects). No autodiff engine on NumPy runs a step
  faster than the array calls it must make, so for the tiny MLP this is the per-step floor.
* ``gemm_floor_ms``: only the matrix products of a CNN step, at the shapes an im2col engine hands
  to BLAS (``gemm_shapes``), each into a preallocated output. Everything else a step does (the
  im2col copies, activations, pooling, the loss, the optimizer) comes on top, so no im2col-on-NumPy
  library - chainrule or a peer - can take less time than this.

    python benchmarks/floors.py            # prints both floors for every workload
"""
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def numpy_mlp_step(sizes, batch, loss, lr=0.01):
    """A zero-argument step of bench_engine's MLP (same initial weights and data), in NumPy.

    Hidden layers use tanh (``loss="mse"``) or ReLU (``loss="cross_entropy"``), as there."""
    sys.path.insert(0, HERE)
    from bench_peers import mlp_data
    params, x, y = mlp_data(sizes, batch, "ce" if loss == "cross_entropy" else loss)
    layers = len(params) // 2

    def step():
        acts, h = [x], x
        for i in range(layers):
            h = h @ params[2 * i] + params[2 * i + 1]
            if i + 1 < layers:
                h = np.maximum(h, 0) if loss == "cross_entropy" else np.tanh(h)
            acts.append(h)
        if loss == "cross_entropy":
            e = np.exp(h - h.max(axis=1, keepdims=True))
            g = e / e.sum(axis=1, keepdims=True)
            g[np.arange(batch), y] -= 1
            g /= batch
        else:
            g = (2 / h.size) * (h - y)
        for i in reversed(range(layers)):
            w = params[2 * i]
            gw, gb = acts[i].T @ g, g.sum(axis=0)
            if i:
                g = g @ w.T
                a = acts[i]
                g = g * (a > 0) if loss == "cross_entropy" else g * (1 - a * a)
            w -= lr * gw
            params[2 * i + 1] -= lr * gb
    return step


def gemm_shapes(model, x, train):
    """(M, K, N) of every matrix product one step of ``model`` (a chainrule module of Conv2d and
    Linear layers, groups 1) makes on input ``x`` in im2col form: the forward product of each
    layer and, with ``train``, its weight gradient and (where its input needs one) its input
    gradient. Each conv product has the forward's multiply count."""
    import chainrule as cr
    found = []

    def record(module, args, output):
        found.append((module, args[0], output))

    handles = [m.register_forward_hook(record) for m in model.modules()
               if isinstance(m, (cr.nn.Conv2d, cr.nn.Linear))]
    try:
        with cr.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    shapes = []
    first = True
    for module, inp, out in found:
        if isinstance(module, cr.nn.Conv2d):
            o, c, kh, kw = module.weight.shape
            m, k, n = out.shape[0] * out.shape[2] * out.shape[3], c * kh * kw, o
        else:
            m, k, n = int(np.prod(inp.shape[:-1])), inp.shape[-1], out.shape[-1]
        shapes.append((m, k, n))                    # forward: cols (M, K) @ weight (K, N)
        if train:
            shapes.append((k, m, n))                # weight gradient: cols^T @ grad
            if not first:
                shapes.append((m, n, k))            # input gradient: grad @ weight^T
        first = False
    return shapes


def gemm_floor_ms(shapes, repeats=5, clock=time.process_time):
    """Median ms of all ``shapes`` products (float32, into preallocated outputs), back to back."""
    rng = np.random.default_rng(0)
    operands = [(rng.standard_normal((m, k), dtype=np.float32),
                 rng.standard_normal((k, n), dtype=np.float32),
                 np.empty((m, n), dtype=np.float32)) for m, k, n in shapes]

    def run():
        for a, b, out in operands:
            np.matmul(a, b, out=out)
    run()
    times = []
    for _ in range(repeats):
        t0 = clock()
        run()
        times.append((clock() - t0) * 1e3)
    return statistics.median(times)


def conv_workload(name):
    """(chainrule model, input tensor, train) of run_all's convolutional workloads."""
    sys.path.insert(0, HERE)
    import chainrule as cr
    from run_all import cnn_workload
    build, shape, batch = cnn_workload(name)
    x = cr.tensor(np.random.default_rng(0).standard_normal((batch,) + shape, dtype=np.float32))
    return build(cr.nn), x, name != "lenet_infer"


MLP_SHAPES = {"mlp": ((784, 512, 256, 10), 128, "cross_entropy"),
              "tiny_mlp": ((2, 16, 16, 1), 1, "mse")}
CONV_WORKLOADS = ("lenet", "lenet_infer", "cifar")
WORKLOADS = tuple(MLP_SHAPES) + CONV_WORKLOADS      # those with a floor


def floor_ms(name, repeats=15, clock=time.process_time):
    """The floor of workload ``name`` in ms (see the module docstring), or None if it has none."""
    if name in MLP_SHAPES:
        step = numpy_mlp_step(*MLP_SHAPES[name])
        number = 200 if name == "tiny_mlp" else 5
        for _ in range(number):
            step()
        times = []
        for _ in range(repeats):
            t0 = clock()
            for _ in range(number):
                step()
            times.append((clock() - t0) / number * 1e3)
        return statistics.median(times)
    if name in CONV_WORKLOADS:
        shapes = gemm_shapes(*conv_workload(name))
        from chainrule.backends import threads
        threads.release()           # the step above held OpenBLAS at one thread for its pool
        return gemm_floor_ms(shapes, min(repeats, 7), clock)
    return None


def main():
    sys.path.insert(0, os.path.dirname(HERE))
    for name in WORKLOADS:
        kind = "hand-written NumPy step" if name in MLP_SHAPES else "GEMMs alone"
        print(f"{name:<12} {floor_ms(name):9.3f} ms  ({kind}, process time)")


if __name__ == "__main__":
    main()
