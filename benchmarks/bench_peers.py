"""NumPy-based peers: chainrule against MyGrad, HIPS autograd, tinygrad (CPU) and Chainer.

The workloads are run_all.py's, with the same shapes, float32, the same seeded data and, within a
workload, the same initial weights for every library (one *step* = forward, loss, backward, SGD
update at lr 0.01):

  mlp          784-512-256-10 MLP, ReLU, cross-entropy, batch 128 (as bench_engine.py)
  tiny_mlp     2-16-16-1 MLP, tanh, mean squared error, batch 1 (as bench_engine.py)
  lenet        LeNet-like CNN on 1x28x28 (bench_conv._lenet), batch 64
  lenet_infer  the same network, forward only without autodiff, batch 256
  cifar        CIFAR-like CNN on 3x32x32 (bench_conv._cifar), batch 64

How each peer runs them:

  mygrad    mygrad.nnet conv_nd / max_pool / softmax_crossentropy, ``p.data -= lr * p.grad``;
            inference under ``mygrad.no_autodiff``
  autograd  a loss function of a parameter list, ``autograd.value_and_grad`` of it, in-place SGD.
            autograd has no convolution, so it is written as its users write one: im2col through
            a strided window view (an ``autograd.extend.primitive`` whose gradient adds the window
            slices back, kernel offset by kernel offset) and one matrix product, which autograd
            differentiates, as it does padding (``np.pad``), 2x2 max pooling (a reshape and a max)
            and the log-softmax; inference calls the same forward on plain arrays
  tinygrad  Tensor.conv2d / max_pool2d / sparse_categorical_crossentropy, nn.optim.SGD, the step
            (or the forward) under TinyJit; every step ends with a device synchronize. Its CPU
            device compiles C with clang by default; where clang is absent the device defaults
            here to ``DEV=CPU:X86`` (tinygrad's own x86 code generator, no compiler needed);
            a DEV set in the environment wins
  chainer   links (Convolution2D, Linear), F.max_pooling_2d(cover_all=False), optimizers.SGD;
            inference with train=False and no_backprop_mode. Chainer needs NumPy < 2: run this
            script with an interpreter that has it (see README.md)

chainrule runs in the same process, with the same code as run_all.py, and each repeat times every
library back to back, so machine load hits all of them alike; the figure to compare is the ratio
peer / chainrule of the medians (above 1: chainrule is faster). Before timing, a check runs each
training workload a few steps at a small batch: every library's losses must fall and match
chainrule's step for step (so the step is the same training step), and every library's network
output must match chainrule's (and torch's, when importable) on the same weights.

    python benchmarks/bench_peers.py                        # every importable peer, every workload
    python benchmarks/bench_peers.py --only lenet,cifar --libs mygrad --repeats 3
    python benchmarks/bench_peers.py --threads 1 --timer cpu --json peers.json
    python benchmarks/bench_peers.py --check-only
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _set_threads(threads):
    """BLAS / OpenMP pools (and tinygrad's CPU worker count) of ``threads``; before any import."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    os.environ["CPU_COUNT"] = str(threads)


if __name__ == "__main__":       # thread settings must precede the first import of numpy
    _pre = argparse.ArgumentParser(add_help=False)
    _pre.add_argument("--threads", type=int)
    if _pre.parse_known_args()[0].threads:
        _set_threads(_pre.parse_known_args()[0].threads)
if "DEV" not in os.environ and shutil.which("clang") is None:
    os.environ["DEV"] = "CPU:X86"

import numpy as np  # noqa: E402

sys.path.insert(0, ROOT)          # this checkout's chainrule
LR = 0.01
CLASSES = 10

# (kind, arguments, steps per timed sample, default repeats)
WORKLOADS = {
    "mlp": ("mlp", ((784, 512, 256, 10), 128, "ce"), 3, 7),
    "tiny_mlp": ("mlp", ((2, 16, 16, 1), 1, "mse"), 100, 7),
    "lenet": ("train", ("lenet", 64), 1, 5),
    "lenet_infer": ("infer", ("lenet", 256), 1, 5),
    "cifar": ("train", ("cifar", 64), 1, 3),
}
CONV_WORKLOADS = ("lenet", "lenet_infer", "cifar")

# layers: ("conv", in, out, kernel, padding), ("relu",), ("pool",) (2x2, stride 2), ("flatten",),
# ("linear", in, out); the same networks as bench_conv._lenet and bench_conv._cifar
NETS = {
    "lenet": ((1, 28, 28), (
        ("conv", 1, 32, 3, 0), ("relu",), ("pool",), ("conv", 32, 64, 3, 0), ("relu",),
        ("pool",), ("flatten",), ("linear", 64 * 5 * 5, 128), ("relu",), ("linear", 128, 10))),
    "cifar": ((3, 32, 32), (
        ("conv", 3, 64, 3, 1), ("relu",), ("conv", 64, 64, 3, 1), ("relu",), ("pool",),
        ("conv", 64, 128, 3, 1), ("relu",), ("pool",), ("flatten",), ("linear", 128 * 8 * 8, 10))),
}


# ---------------------------------------------------------------------------------------------
# data and weights, shared by every library

def mlp_data(sizes, batch, loss):
    """bench_engine._mlp_workload's arrays, drawn in the same order from the same seed:
    [W0 (in, out), b0, W1, b1, ...], x, y."""
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if loss == "ce":
        y = rng.integers(0, sizes[-1], batch)
    else:
        y = rng.standard_normal((batch, sizes[-1])).astype(np.float32)
    return params, x, y


def net_data(net, batch):
    """run_all.py's input (seed 0) and labels, and initial weights: per layer with parameters a
    (W, b) pair in torch's layout (conv (out, in, k, k), linear (out, in)), uniform in
    +-1/sqrt(fan_in) (seed 1)."""
    shape, layers = NETS[net]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + shape).astype(np.float32)
    y = rng.integers(0, CLASSES, batch)
    wrng = np.random.default_rng(1)
    params = []
    for layer in layers:
        if layer[0] == "conv":
            _, cin, cout, k, _ = layer
            shape_w, fan_in = (cout, cin, k, k), cin * k * k
        elif layer[0] == "linear":
            _, fin, fout = layer
            shape_w, fan_in, cout = (fout, fin), fin, fout
        else:
            params.append(None)
            continue
        bound = 1 / np.sqrt(fan_in)
        params.append((wrng.uniform(-bound, bound, shape_w).astype(np.float32),
                       wrng.uniform(-bound, bound, cout).astype(np.float32)))
    return layers, params, x, y


# ---------------------------------------------------------------------------------------------
# libraries. Each builds zero-argument step functions returning the loss (training) or the
# logits (inference) as its own object; value() turns that into NumPy, sync() waits for the
# library's pending work (a no-op for the eager ones).

class Chainrule:
    name = "chainrule"
    min_warmup = 0

    def __init__(self):
        import chainrule
        import chainrule.nn
        import chainrule.nn.functional
        self.cr, self.nn, self.F = chainrule, chainrule.nn, chainrule.nn.functional
        self.version = chainrule.__version__

    def mlp_step(self, sizes, arrays, x, y, loss):
        """bench_engine._mlp_workload's step."""
        cr, F = self.cr, self.F
        params = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
        x, y = cr.tensor(x), cr.tensor(y)

        def step():
            h = x
            for i in range(0, len(params), 2):
                h = h @ params[i] + params[i + 1]
                if i + 2 < len(params):
                    h = h.relu() if loss == "ce" else h.tanh()
            out = F.cross_entropy(h, y) if loss == "ce" else ((h - y) ** 2).mean()
            out.backward()
            with cr.no_grad():
                for p in params:
                    p -= LR * p.grad
                    p.grad = None
            return out
        return step

    def _model(self, layers, params):
        nn = self.nn
        mods = []
        for layer in layers:
            if layer[0] == "conv":
                mods.append(nn.Conv2d(layer[1], layer[2], layer[3], padding=layer[4]))
            elif layer[0] == "linear":
                mods.append(nn.Linear(layer[1], layer[2]))
            else:
                mods.append({"relu": nn.ReLU, "pool": lambda: nn.MaxPool2d(2),
                             "flatten": nn.Flatten}[layer[0]]())
        model = nn.Sequential(*mods)
        arrays = [a for p in params if p is not None for a in p]
        for q, a in zip(model.parameters(), arrays, strict=True):
            q.data[...] = a
        return model

    def net_step(self, layers, params, x, y):
        """run_all._module_step: zero_grad, cross_entropy, backward, optim.SGD.step."""
        model = self._model(layers, params)
        opt = self.cr.optim.SGD(model.parameters(), lr=LR)
        x, y, F = self.cr.tensor(x), self.cr.tensor(y), self.F

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return step

    def net_infer(self, layers, params, x):
        model = self._model(layers, params)
        model.eval()
        x, cr = self.cr.tensor(x), self.cr

        def infer():
            with cr.no_grad():
                return model(x)
        return infer

    def value(self, out):
        return np.asarray(out.detach().numpy())

    def sync(self):
        pass


class MyGrad:
    name = "mygrad"
    min_warmup = 0

    def __init__(self):
        import mygrad
        from mygrad.nnet.activations import relu
        from mygrad.nnet.layers import conv_nd, max_pool
        from mygrad.nnet.losses import softmax_crossentropy
        self.mg, self.relu, self.conv_nd, self.max_pool = mygrad, relu, conv_nd, max_pool
        self.softmax_crossentropy = softmax_crossentropy
        self.version = mygrad.__version__

    def _sgd(self, params):
        for p in params:
            p.data -= LR * p.grad

    def mlp_step(self, sizes, arrays, x, y, loss):
        mg = self.mg
        params = [mg.tensor(a.copy()) for a in arrays]

        def step():
            h = x
            for i in range(0, len(params), 2):
                h = mg.matmul(h, params[i]) + params[i + 1]
                if i + 2 < len(params):
                    h = self.relu(h) if loss == "ce" else mg.tanh(h)
            out = self.softmax_crossentropy(h, y) if loss == "ce" else mg.mean((h - y) ** 2)
            out.backward()
            self._sgd(params)
            return out
        return step

    def _net(self, layers, params):
        mg = self.mg
        tensors, weights = [], []
        for layer, p in zip(layers, params):
            if p is None:
                weights.append(None)
                continue
            w, b = p
            if layer[0] == "conv":
                w, b = mg.tensor(w.copy()), mg.tensor(b.reshape(-1, 1, 1).copy())
            else:                               # stored (in, out) for h @ W
                w, b = mg.tensor(np.ascontiguousarray(w.T)), mg.tensor(b.copy())
            weights.append((w, b))
            tensors += [w, b]

        def forward(h):
            for layer, p in zip(layers, weights):
                kind = layer[0]
                if kind == "conv":
                    h = self.conv_nd(h, p[0], stride=1, padding=layer[4]) + p[1]
                elif kind == "relu":
                    h = self.relu(h)
                elif kind == "pool":             # max_pool wants whole windows: crop odd sizes
                    if h.shape[2] % 2 or h.shape[3] % 2:
                        h = h[:, :, :h.shape[2] // 2 * 2, :h.shape[3] // 2 * 2]
                    h = self.max_pool(h, (2, 2), 2)
                elif kind == "flatten":
                    h = h.reshape(h.shape[0], -1)
                else:
                    h = mg.matmul(h, p[0]) + p[1]
            return h
        return forward, tensors

    def net_step(self, layers, params, x, y):
        forward, tensors = self._net(layers, params)

        def step():
            loss = self.softmax_crossentropy(forward(x), y)
            loss.backward()
            self._sgd(tensors)
            return loss
        return step

    def net_infer(self, layers, params, x):
        forward, _ = self._net(layers, params)
        mg = self.mg

        def infer():
            with mg.no_autodiff:
                return forward(x)
        return infer

    def value(self, out):
        return np.asarray(out.data if hasattr(out, "data") else out)

    def sync(self):
        pass


class Autograd:
    name = "autograd"
    min_warmup = 0

    def __init__(self):
        import autograd
        import autograd.numpy as anp
        from autograd.extend import defvjp, primitive
        self.autograd, self.anp = autograd, anp
        self.version = getattr(autograd, "__version__", None) or _dist_version("autograd")

        @primitive
        def im2col(x, kh, kw):
            """(N, C, H, W) -> (N*Ho*Wo, C*kh*kw) rows of every kh x kw window (stride 1)."""
            n, c, h, w = x.shape
            sn, sc, sh, sw = x.strides
            win = np.lib.stride_tricks.as_strided(
                x, (n, h - kh + 1, w - kw + 1, c, kh, kw), (sn, sh, sw, sc, sh, sw))
            return win.reshape(-1, c * kh * kw)

        def im2col_vjp(ans, x, kh, kw):
            n, c, h, w = x.shape
            ho, wo = h - kh + 1, w - kw + 1

            def vjp(g):
                g = g.reshape(n, ho, wo, c, kh, kw)
                dx = np.zeros(x.shape, g.dtype)
                for i in range(kh):
                    for j in range(kw):
                        dx[:, :, i:i + ho, j:j + wo] += g[..., i, j].transpose(0, 3, 1, 2)
                return dx
            return vjp

        defvjp(im2col, im2col_vjp)
        self.im2col = im2col

    def conv2d(self, x, w, b, pad):
        anp = self.anp
        if pad:
            x = anp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), "constant")
        n, _, h, wd = x.shape
        o, c, kh, kw = w.shape
        out = anp.dot(self.im2col(x, kh, kw), anp.reshape(w, (o, c * kh * kw)).T) + b
        return anp.transpose(anp.reshape(out, (n, h - kh + 1, wd - kw + 1, o)), (0, 3, 1, 2))

    def maxpool2(self, x):
        n, c, h, w = x.shape
        if h % 2 or w % 2:
            x = x[:, :, :h // 2 * 2, :w // 2 * 2]
        return self.anp.max(self.anp.reshape(x, (n, c, h // 2, 2, w // 2, 2)), axis=(3, 5))

    def log_softmax(self, z):
        anp = self.anp
        z = z - anp.max(z, axis=1, keepdims=True)
        return z - anp.log(anp.sum(anp.exp(z), axis=1, keepdims=True))

    def _train(self, loss_fn, params):
        value_and_grad = self.autograd.value_and_grad(loss_fn)

        def step():
            loss, grads = value_and_grad(params)
            for p, g in zip(params, grads):
                p -= LR * g
            return loss
        return step

    def mlp_step(self, sizes, arrays, x, y, loss):
        anp = self.anp
        params = [a.copy() for a in arrays]
        onehot = np.eye(sizes[-1], dtype=np.float32)[y] if loss == "ce" else None

        def loss_fn(params):
            h = x
            for i in range(0, len(params), 2):
                h = anp.dot(h, params[i]) + params[i + 1]
                if i + 2 < len(params):
                    h = anp.maximum(h, 0.0) if loss == "ce" else anp.tanh(h)
            if loss == "ce":
                return -anp.sum(self.log_softmax(h) * onehot) / h.shape[0]
            return anp.mean((h - y) ** 2)
        return self._train(loss_fn, params)

    def _net(self, layers, params):
        anp = self.anp
        flat, index = [], []
        for layer, p in zip(layers, params):
            if p is None:
                index.append(None)
                continue
            w, b = p
            index.append(len(flat))
            flat += [w.copy(), b.copy()] if layer[0] == "conv" else [np.ascontiguousarray(w.T),
                                                                    b.copy()]

        def forward(ps, h):
            for layer, i in zip(layers, index):
                kind = layer[0]
                if kind == "conv":
                    h = self.conv2d(h, ps[i], ps[i + 1], layer[4])
                elif kind == "relu":
                    h = anp.maximum(h, 0.0)
                elif kind == "pool":
                    h = self.maxpool2(h)
                elif kind == "flatten":
                    h = anp.reshape(h, (h.shape[0], -1))
                else:
                    h = anp.dot(h, ps[i]) + ps[i + 1]
            return h
        return forward, flat

    def net_step(self, layers, params, x, y):
        forward, flat = self._net(layers, params)
        onehot = np.eye(CLASSES, dtype=np.float32)[y]

        def loss_fn(ps):
            return -self.anp.sum(self.log_softmax(forward(ps, x)) * onehot) / x.shape[0]
        return self._train(loss_fn, flat)

    def net_infer(self, layers, params, x):
        forward, flat = self._net(layers, params)
        return lambda: forward(flat, x)

    def value(self, out):
        return np.asarray(out)

    def sync(self):
        pass


class Tinygrad:
    name = "tinygrad"
    min_warmup = 3            # TinyJit: the first call runs, the second captures, then replays

    def __init__(self):
        import tinygrad
        from tinygrad import Device, Tensor, TinyJit
        from tinygrad.nn.optim import SGD
        self.Tensor, self.TinyJit, self.SGD, self.Device = Tensor, TinyJit, SGD, Device
        self.version = getattr(tinygrad, "__version__", None) or _dist_version("tinygrad")
        self.device = Device.DEFAULT
        self.renderer = type(Device[self.device].renderer).__name__
        (Tensor([1.0]) + 1).realize()           # fail here, not mid-workload, if it cannot run

    def _tensor(self, a):
        return self.Tensor(np.ascontiguousarray(a)).realize()

    def _train(self, loss_fn, params):
        Tensor = self.Tensor
        opt = self.SGD(params, lr=LR)

        @self.TinyJit
        def step():
            with Tensor.train():
                opt.zero_grad()
                loss = loss_fn().backward()
                return loss.realize(*opt.schedule_step())
        return step

    def mlp_step(self, sizes, arrays, x, y, loss):
        params = [self._tensor(a) for a in arrays]
        tx = self._tensor(x)
        ty = self._tensor(y.astype(np.int32) if loss == "ce" else y)

        def loss_fn():
            h = tx
            for i in range(0, len(params), 2):
                h = h @ params[i] + params[i + 1]
                if i + 2 < len(params):
                    h = h.relu() if loss == "ce" else h.tanh()
            return h.sparse_categorical_crossentropy(ty) if loss == "ce" else ((h - ty) ** 2).mean()
        return self._train(loss_fn, params)

    def _net(self, layers, params):
        weights, flat = [], []
        for layer, p in zip(layers, params):
            if p is None:
                weights.append(None)
                continue
            w, b = p
            pair = (self._tensor(w), self._tensor(b)) if layer[0] == "conv" else \
                (self._tensor(w.T), self._tensor(b))
            weights.append(pair)
            flat += pair

        def forward(h):
            for layer, p in zip(layers, weights):
                kind = layer[0]
                if kind == "conv":
                    h = h.conv2d(p[0], p[1], padding=layer[4])
                elif kind == "relu":
                    h = h.relu()
                elif kind == "pool":
                    h = h.max_pool2d((2, 2))
                elif kind == "flatten":
                    h = h.flatten(1)
                else:
                    h = h @ p[0] + p[1]
            return h
        return forward, flat

    def net_step(self, layers, params, x, y):
        forward, flat = self._net(layers, params)
        tx, ty = self._tensor(x), self._tensor(y.astype(np.int32))
        return self._train(lambda: forward(tx).sparse_categorical_crossentropy(ty), flat)

    def net_infer(self, layers, params, x):
        forward, _ = self._net(layers, params)
        tx = self._tensor(x)

        @self.TinyJit
        def infer():
            return forward(tx).realize()
        return infer

    def value(self, out):
        return out.numpy()

    def sync(self):
        self.Device[self.device].synchronize()


class Chainer:
    name = "chainer"
    min_warmup = 0

    def __init__(self):
        import chainer
        import chainer.functions as F
        import chainer.links as L
        self.chainer, self.F, self.L = chainer, F, L
        self.version = chainer.__version__

    def _sgd(self, link):
        opt = self.chainer.optimizers.SGD(lr=LR)
        opt.setup(link)
        return opt

    def _linear(self, w, b):
        """A Linear link holding w (out, in) and b."""
        link = self.L.Linear(w.shape[1], w.shape[0])
        link.W.array[...] = w
        link.b.array[...] = b
        return link

    def _train(self, links, loss_fn):
        opt = self._sgd(links)

        def step():
            links.cleargrads()
            loss = loss_fn()
            loss.backward()
            opt.update()
            return loss
        return step

    def mlp_step(self, sizes, arrays, x, y, loss):
        F = self.F
        links = self.chainer.ChainList(*[self._linear(arrays[i].T, arrays[i + 1])
                                         for i in range(0, len(arrays), 2)])
        t = y.astype(np.int32) if loss == "ce" else y

        def loss_fn():
            h = x
            for i, link in enumerate(links):
                h = link(h)
                if i + 1 < len(links):
                    h = F.relu(h) if loss == "ce" else F.tanh(h)
            return F.softmax_cross_entropy(h, t) if loss == "ce" else F.mean_squared_error(h, t)
        return self._train(links, loss_fn)

    def _net(self, layers, params):
        F, L = self.F, self.L
        links = []
        for layer, p in zip(layers, params):
            if p is None:
                continue
            if layer[0] == "conv":
                link = L.Convolution2D(layer[1], layer[2], layer[3], pad=layer[4])
                link.W.array[...] = p[0]
                link.b.array[...] = p[1]
            else:
                link = self._linear(*p)
            links.append(link)
        links = self.chainer.ChainList(*links)

        def forward(h):
            it = iter(links)
            for layer in layers:
                kind = layer[0]
                if kind in ("conv", "linear"):
                    h = next(it)(h)
                elif kind == "relu":
                    h = F.relu(h)
                elif kind == "pool":
                    h = F.max_pooling_2d(h, 2, cover_all=False)
                else:
                    h = F.reshape(h, (h.shape[0], -1))
            return h
        return forward, links

    def net_step(self, layers, params, x, y):
        forward, links = self._net(layers, params)
        t = y.astype(np.int32)
        return self._train(links, lambda: self.F.softmax_cross_entropy(forward(x), t))

    def net_infer(self, layers, params, x):
        forward, _ = self._net(layers, params)
        chainer = self.chainer

        def infer():
            with chainer.using_config("train", False), chainer.no_backprop_mode():
                return forward(x)
        return infer

    def value(self, out):
        return np.asarray(out.array)

    def sync(self):
        pass


PEERS = {"mygrad": MyGrad, "autograd": Autograd, "tinygrad": Tinygrad, "chainer": Chainer}


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:     # noqa: BLE001
        return None


def load_libs(names):
    """({name: library}, {name: why it is unavailable}); chainrule always comes first."""
    libs, missing = {"chainrule": Chainrule()}, {}
    for name in names:
        try:
            libs[name] = PEERS[name]()
        except Exception as exc:      # noqa: BLE001 -- a peer that cannot run is reported, not fatal
            missing[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    return libs, missing


def make_step(lib, workload, batch=None):
    """The zero-argument step of one workload in one library (``batch`` overrides the batch)."""
    kind, args, _, _ = WORKLOADS[workload]
    if kind == "mlp":
        sizes, b, loss = args
        arrays, x, y = mlp_data(sizes, batch or b, loss)
        return lib.mlp_step(sizes, arrays, x, y, loss)
    net, b = args
    layers, params, x, y = net_data(net, batch or b)
    if kind == "infer":
        return lib.net_infer(layers, params, x)
    return lib.net_step(layers, params, x, y)


# ---------------------------------------------------------------------------------------------
# checks

def _rel_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(1e-6, float(np.max(np.abs(b)))))


def _torch_logits(net, batch):
    """torch's output of the same network on the same weights and input, or None."""
    try:
        import torch
    except ImportError:
        return None
    layers, params, x, _ = net_data(net, batch)
    h = torch.from_numpy(x)
    with torch.no_grad():
        for layer, p in zip(layers, params):
            kind = layer[0]
            if kind == "conv":
                h = torch.nn.functional.conv2d(h, torch.from_numpy(p[0]), torch.from_numpy(p[1]),
                                               padding=layer[4])
            elif kind == "relu":
                h = h.relu()
            elif kind == "pool":
                h = torch.nn.functional.max_pool2d(h, 2)
            elif kind == "flatten":
                h = h.flatten(1)
            else:
                h = torch.nn.functional.linear(h, torch.from_numpy(p[0]), torch.from_numpy(p[1]))
    return h.numpy()


def _same_architecture():
    """The networks here are bench_conv's (module for module), when bench_conv can be imported
    (it needs torch); None when it cannot be checked."""
    try:
        sys.path.insert(0, HERE)
        import bench_conv
    except ImportError:
        return None
    cr = Chainrule()
    for net, builder in (("lenet", bench_conv._lenet), ("cifar", bench_conv._cifar)):
        layers, params, _, _ = net_data(net, 1)
        if repr(cr._model(layers, params)) != repr(builder(cr.nn)):
            return False
    return True


def run_checks(libs, workloads, steps=3, batch=8, tol=1e-4, loss_rtol=1e-3):
    """Loss-decrease and agreement checks; a list of dicts, one per (workload, library)."""
    out = []
    ref_logits = {}
    for name in workloads:
        kind, args, _, _ = WORKLOADS[name]
        small = None if kind == "mlp" else batch
        if kind == "infer":
            continue                                  # its network's output is checked below
        losses = {}
        for lname, lib in libs.items():
            row = {"workload": name, "library": lname}
            try:
                step = make_step(lib, name, small)
                ls = []
                for _ in range(steps):
                    out_ = step()
                    lib.sync()
                    ls.append(float(lib.value(out_)))
                losses[lname] = ls
                row["losses"] = ls
                row["loss_falls"] = bool(ls[-1] < ls[0])
                if lname != "chainrule" and "chainrule" in losses:
                    ref = losses["chainrule"]
                    row["loss_rel_diff"] = max(abs(a - b) / max(1e-6, abs(b))
                                               for a, b in zip(ls, ref))
                    row["loss_matches"] = row["loss_rel_diff"] < loss_rtol
            except Exception as exc:   # noqa: BLE001
                row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            out.append(row)
    nets = sorted({WORKLOADS[n][1][0] for n in workloads if WORKLOADS[n][0] != "mlp"})
    for net in nets:
        layers, params, x, _ = net_data(net, batch)
        for lname, lib in libs.items():
            row = {"workload": f"{net} forward", "library": lname}
            try:
                infer = lib.net_infer(layers, params, x)
                logits = lib.value(infer())
                lib.sync()
                if lname == "chainrule":
                    ref_logits[net] = logits
                    t = _torch_logits(net, batch)
                    if t is not None:
                        row["rel_diff_torch"] = _rel_diff(logits, t)
                        row["forward_matches"] = row["rel_diff_torch"] < tol
                else:
                    row["rel_diff_chainrule"] = _rel_diff(logits, ref_logits[net])
                    row["forward_matches"] = row["rel_diff_chainrule"] < tol
            except Exception as exc:   # noqa: BLE001
                row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            out.append(row)
    return out


def check_failed(row):
    return "error" in row or not all(row.get(k, True) for k in
                                     ("loss_falls", "loss_matches", "forward_matches"))


def _print_check(row):
    status = "FAIL" if check_failed(row) else "ok"
    parts = [f"check {row['workload']:<15} {row['library']:<10} {status:<5}"]
    if "error" in row:
        parts.append(row["error"])
    if "losses" in row:
        parts.append("losses " + " ".join(f"{v:.5f}" for v in row["losses"]))
    if "loss_rel_diff" in row:
        parts.append(f"(rel. diff. to chainrule {row['loss_rel_diff']:.1e})")
    for key, label in (("rel_diff_chainrule", "chainrule"), ("rel_diff_torch", "torch")):
        if key in row:
            parts.append(f"output rel. diff. to {label} {row[key]:.1e}")
    print(" ".join(parts), flush=True)


# ---------------------------------------------------------------------------------------------
# timing

def measure(libs, name, repeats, warmup, clock):
    """{library: [ms per step, one per repeat]} or {library: error}; libraries back to back."""
    _, _, number, _ = WORKLOADS[name]
    steps, errors = {}, {}
    for lname, lib in libs.items():
        try:
            step = make_step(lib, name)
            for _ in range(max(warmup, lib.min_warmup)):
                step()
                lib.sync()
            steps[lname] = step
        except Exception as exc:   # noqa: BLE001
            errors[lname] = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
    times = {lname: [] for lname in steps}
    for _ in range(repeats):
        for lname, step in steps.items():
            lib = libs[lname]
            t0 = clock()
            for _ in range(number):
                step()
                lib.sync()
            times[lname].append((clock() - t0) / number * 1e3)
    return times, errors, number


def measure_separate(order, name, repeats, warmup, timer, threads):
    """``measure`` with each library in processes of its own (``--alone``), in run_all's
    alternating rounds. A peer's process does not import chainrule, so it runs with its own
    defaults (threads, and glibc's malloc, which importing chainrule tunes)."""
    from run_all import alternating_rounds
    errors = {}

    def time_one(lname, n):
        cmd = [sys.executable, os.path.abspath(__file__), "--alone", lname, "--only", name,
               "--repeats", str(n), "--warmup", str(warmup), "--timer", timer,
               "--no-check"] + (["--threads", str(threads)] if threads else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        try:
            got = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            got = {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:200]}
        if "error" in got:
            errors[lname] = got["error"]
            return None
        return got["times"]
    times = alternating_rounds(list(order), repeats, time_one)
    return times, errors, WORKLOADS[name][2]


def summary(ts):
    return {"median_ms": statistics.median(ts), "min_ms": min(ts), "max_ms": max(ts)}


def environment(libs, missing, timer):
    info = {"python": platform.python_version(), "executable": sys.executable,
            "numpy": np.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_avg": os.getloadavg(), "timer": timer}
    for var in THREAD_VARS + ("CPU_COUNT", "DEV", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    try:
        from chainrule.backends import blas
        info["blas"] = blas.info()
    except Exception:   # noqa: BLE001
        info["blas"] = {}
    info["libraries"] = {name: lib.version for name, lib in libs.items()}
    if "tinygrad" in libs:
        info["tinygrad_device"] = f"{libs['tinygrad'].device} ({libs['tinygrad'].renderer})"
    info["unavailable"] = missing
    return info


def _fmt(s):
    return f"{s['median_ms']:.2f} ({s['min_ms']:.2f}-{s['max_ms']:.2f})"


def verdict(results, factor=3.0):
    """The slowest margin over the peers on the convolutional workloads, and whether every
    peer / chainrule ratio there reaches ``factor``."""
    worst = None
    for row in results:
        if row["name"] not in CONV_WORKLOADS:
            continue
        for peer, ratio in row.get("ratio", {}).items():
            if worst is None or ratio < worst[0]:
                worst = (ratio, peer, row["name"])
    if worst is None:
        return None
    return {"factor": factor, "met": worst[0] >= factor, "lowest_ratio": worst[0],
            "peer": worst[1], "workload": worst[2]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    parser.add_argument("--only", default="", help="comma-separated workloads (default: all: "
                                                   + ",".join(WORKLOADS) + ")")
    parser.add_argument("--libs", default=",".join(PEERS),
                        help="comma-separated peers to try (default: %(default)s)")
    parser.add_argument("--repeats", type=int, help="timed samples per library (default: per "
                                                    "workload)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (tinygrad "
                                                              "takes at least 3, for TinyJit)")
    parser.add_argument("--threads", type=int, help="BLAS/OpenMP threads and tinygrad CPU "
                                                    "workers (default: as the environment)")
    parser.add_argument("--timer", choices=("wall", "cpu"), default="wall",
                        help="cpu (process time) is steadier on a busy machine; use it with "
                             "--threads 1, since it adds up the time of every thread")
    parser.add_argument("--json", metavar="PATH", help="write environment, checks and results")
    parser.add_argument("--no-check", action="store_true", help="skip the correctness checks")
    parser.add_argument("--check-only", action="store_true", help="checks only, no timing")
    parser.add_argument("--separate", action="store_true",
                        help="time each library in processes of its own, rounds in alternating "
                             "order (use it with more than one thread: in one process, "
                             "chainrule's thread pool and OpenBLAS's take turns holding the "
                             "cores)")
    parser.add_argument("--alone", metavar="LIB", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.alone:                 # internal (--separate): one library, JSON on the last line
        lib = Chainrule() if args.alone == "chainrule" else PEERS[args.alone]()
        clock = time.process_time if args.timer == "cpu" else time.perf_counter
        name = args.only
        times, errors, _ = measure({args.alone: lib}, name, args.repeats or WORKLOADS[name][3],
                                   args.warmup, clock)
        print(json.dumps({"error": errors[args.alone]} if errors else
                         {"times": times[args.alone]}))
        return 0
    only = [s for s in args.only.split(",") if s]
    unknown = [s for s in only if s not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    names = only or list(WORKLOADS)
    peers = [s for s in args.libs.split(",") if s]
    bad = [p for p in peers if p not in PEERS]
    if bad:
        parser.error(f"unknown peer(s) {', '.join(bad)}; known: {', '.join(PEERS)}")

    libs, missing = load_libs(peers)
    env = environment(libs, missing, args.timer)
    print("  ".join(f"{k}={v}" for k, v in env.items() if k != "unavailable"))
    for name, why in missing.items():
        print(f"{name}: unavailable ({why})")
    report = {"environment": env, "checks": [], "results": []}

    if not args.no_check:
        same = _same_architecture()
        report["same_architecture_as_bench_conv"] = same
        if same is False:
            print("check: the networks here differ from bench_conv's")
        report["checks"] = run_checks(libs, names)
        for row in report["checks"]:
            _print_check(row)

    if not args.check_only:
        clock = time.process_time if args.timer == "cpu" else time.perf_counter
        order = list(libs)
        print(f"{'workload':<13}{'library':<11}{'ms median (min-max)':>28}{'peer/chainrule':>16}")
        for name in names:
            if args.separate:
                times, errors, number = measure_separate(
                    order, name, args.repeats or WORKLOADS[name][3], args.warmup, args.timer,
                    args.threads)
            else:
                times, errors, number = measure(libs, name, args.repeats or WORKLOADS[name][3],
                                                args.warmup, clock)
            row = {"name": name, "number": number, "repeats": args.repeats or WORKLOADS[name][3]}
            row.update({lname: summary(ts) for lname, ts in times.items()})
            if errors:
                row["errors"] = errors
            if "chainrule" in times:
                base = row["chainrule"]["median_ms"]
                row["ratio"] = {p: row[p]["median_ms"] / base for p in order
                                if p != "chainrule" and p in times}
            report["results"].append(row)
            for lname in order:
                if lname in errors:
                    print(f"{name:<13}{lname:<11} error: {errors[lname]}", flush=True)
                elif lname in times:
                    ratio = "" if lname == "chainrule" else f"{row['ratio'][lname]:.2f}"
                    print(f"{name:<13}{lname:<11}{_fmt(row[lname]):>28}{ratio:>16}", flush=True)
        v = verdict(report["results"])
        if v is not None:
            report["verdict"] = v
            print(f"convolutional workloads ({', '.join(CONV_WORKLOADS)}): lowest peer/chainrule "
                  f"ratio {v['lowest_ratio']:.2f} ({v['peer']}, {v['workload']}); chainrule at "
                  f"least {v['factor']:g}x faster than every peer: {'yes' if v['met'] else 'no'}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    failed = [r for r in report["checks"] if check_failed(r)]
    if failed:
        print(f"{len(failed)} check(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
