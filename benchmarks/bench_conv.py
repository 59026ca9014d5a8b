"""Convolution benchmarks: chainrule vs torch (CPU), in the same process.

Two training steps (forward, cross-entropy, backward, SGD update), float32, batch 64:

* LeNet-like: 1x28x28 -> conv 32 3x3 -> relu -> pool 2 -> conv 64 3x3 -> relu -> pool 2
  -> fc 128 -> relu -> fc 10
* CIFAR-like: 3x32x32 -> conv 64 -> relu -> conv 64 -> relu -> pool -> conv 128 -> relu -> pool
  -> fc 10 (3x3 convs, padding 1)

plus single-op timings (forward + backward) of conv2d, conv_transpose2d and max_pool2d. Prints
median milliseconds and the chainrule / torch ratio.

    python benchmarks/bench_conv.py [--repeat 15] [--ops-only | --steps-only]
"""
import argparse
import statistics
import time

import numpy as np
import torch

import chainrule as cr
import chainrule.nn as cnn
import chainrule.nn.functional as cF


def _median_ms(fn_a, fn_b, repeat, warmup=2):
    """Median ms of two functions, run alternately so both see the same machine load."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    times = ([], [])
    for _ in range(repeat):
        for fn, out in zip((fn_a, fn_b), times):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times[0]), statistics.median(times[1])


def _lenet(nn):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Linear(128, 10))


def _cifar(nn):
    return nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 8 * 8, 10))


def _copy_weights(src, dst):
    """torch module -> chainrule module, parameter by parameter."""
    for (name, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
        q.data[...] = p.detach().numpy()


def _step_fns(builder, in_shape, batch=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + in_shape).astype(np.float32)
    y = rng.integers(0, 10, batch)
    tmodel = builder(torch.nn)
    cmodel = builder(cnn)
    _copy_weights(tmodel, cmodel)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01)
    copt = cr.optim.SGD(cmodel.parameters(), lr=0.01)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    cx, cy = cr.tensor(x), cr.tensor(y)

    def torch_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
        loss.backward()
        topt.step()
        return loss

    def cr_step():
        copt.zero_grad()
        loss = cF.cross_entropy(cmodel(cx), cy)
        loss.backward()
        copt.step()
        return loss

    # sanity: the first losses agree
    a, b = torch_step().item(), cr_step().item()
    assert abs(a - b) < 1e-3 * max(1.0, abs(a)), f"losses differ: torch {a}, chainrule {b}"
    return torch_step, cr_step


def _op_fns(kind):
    rng = np.random.default_rng(0)
    r = lambda *s: rng.standard_normal(s).astype(np.float32)
    if kind == "conv2d 64x64x32x32 k3 p1":
        x, w = r(64, 64, 32, 32), r(64, 64, 3, 3)
        tf = lambda a, b: torch.nn.functional.conv2d(a, b, padding=1)
        cf = lambda a, b: cF.conv2d(a, b, padding=1)
    elif kind == "conv_transpose2d 64x32x16x16 k4 s2 p1":
        x, w = r(64, 32, 16, 16), r(32, 16, 4, 4)
        tf = lambda a, b: torch.nn.functional.conv_transpose2d(a, b, stride=2, padding=1)
        cf = lambda a, b: cF.conv_transpose2d(a, b, stride=2, padding=1)
    else:   # max_pool2d
        x, w = r(64, 64, 32, 32), None
        tf = lambda a, b: torch.nn.functional.max_pool2d(a, 2)
        cf = lambda a, b: cF.max_pool2d(a, 2)
    tx = torch.from_numpy(x).requires_grad_()
    tw = None if w is None else torch.from_numpy(w).requires_grad_()
    cx = cr.tensor(x, requires_grad=True)
    cw = None if w is None else cr.tensor(w, requires_grad=True)

    def t():
        tf(tx, tw).sum().backward()

    def c():
        cf(cx, cw).sum().backward()
    return t, c


def _report(name, t_ms, c_ms):
    print(f"{name:40s} torch {t_ms:9.2f} ms   chainrule {c_ms:9.2f} ms   ratio {c_ms / t_ms:5.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--ops-only", action="store_true")
    parser.add_argument("--steps-only", action="store_true")
    args = parser.parse_args()
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy "
          f"{np.__version__}; medians of {args.repeat} runs")
    if not args.ops_only:
        for name, builder, shape in (("LeNet-like train step (b64)", _lenet, (1, 28, 28)),
                                     ("CIFAR-like train step (b64)", _cifar, (3, 32, 32))):
            t, c = _step_fns(builder, shape)
            _report(name, *_median_ms(t, c, args.repeat))
    if not args.steps_only:
        for kind in ("conv2d 64x64x32x32 k3 p1", "conv_transpose2d 64x32x16x16 k4 s2 p1",
                     "max_pool2d 64x64x32x32 k2"):
            t, c = _op_fns(kind)
            _report(kind + " fwd+bwd", *_median_ms(t, c, args.repeat))


if __name__ == "__main__":
    main()
