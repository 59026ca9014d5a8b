"""Engine overhead: chainrule vs torch on the same workloads, in one process, interleaved.

Workloads:
  ops/<name>   forward + backward of one op on 16x16 float32 tensors (per-op overhead)
  mlp          one training step of a 784-512-256-10 MLP at batch 128 (forward, cross-entropy,
               backward, SGD update under no_grad)
  tiny_mlp     the same step for a 2-16-16-1 MLP at batch 1 (pure overhead)
  mlp_compiled, tiny_mlp_compiled
               the same steps, chainrule's through ``chainrule.compile`` (a replay of the step's
               NumPy calls), torch's eager as above

Each repeat times ``number`` calls of the chainrule workload, then of the torch one, so both see the
same machine load; after a warm-up, it prints the median and min-max time per call and the ratio
chainrule / torch (of medians).

    python benchmarks/bench_engine.py                    # everything
    python benchmarks/bench_engine.py --filter ops/ --repeats 11
    python benchmarks/bench_engine.py --json results.json
    python benchmarks/bench_engine.py --profile tiny_mlp  # cProfile of the chainrule side
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import chainrule as cr  # noqa: E402
import torch  # noqa: E402

OPS = {
    "add": lambda lib, a, b: a + b,
    "mul": lambda lib, a, b: a * b,
    "matmul": lambda lib, a, b: a @ b,
    "exp": lambda lib, a, b: a.exp(),
    "tanh": lambda lib, a, b: a.tanh(),
    "relu": lambda lib, a, b: a.relu(),
    "sigmoid": lambda lib, a, b: a.sigmoid(),
    "sum": lambda lib, a, b: a.sum(),
    "mean": lambda lib, a, b: a.mean(),
    "reshape": lambda lib, a, b: a.reshape(8, 32),
    "transpose": lambda lib, a, b: a.transpose(0, 1),
    "getitem": lambda lib, a, b: a[2:10, ::2],
}


def _op_workload(lib, op):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((16, 16)).astype(np.float32), requires_grad=True)
    b = lib.tensor(rng.standard_normal((16, 16)).astype(np.float32), requires_grad=True)
    out = OPS[op](lib, a, b)
    grad = lib.ones(tuple(out.shape))

    def step():
        a.grad = b.grad = None
        OPS[op](lib, a, b).backward(grad)
    return step


def _cross_entropy(lib, logits, target):
    functional = getattr(getattr(lib, "nn", None), "functional", None)
    if functional is not None and hasattr(functional, "cross_entropy"):
        return functional.cross_entropy(logits, target)
    logp = logits - logits.exp().sum(-1, keepdim=True).log()      # log-softmax composite
    return -(logp * target_onehot(lib, target, logits.shape[-1])).sum() / logits.shape[0]


def target_onehot(lib, target, classes):
    return lib.tensor(np.eye(classes, dtype=np.float32)[target.numpy()])


def _mlp_workload(lib, sizes, batch, loss, lr=0.01):
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        params.append(lib.tensor(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
                                 requires_grad=True))
        params.append(lib.tensor(rng.uniform(-bound, bound, fan_out).astype(np.float32),
                                 requires_grad=True))
    x = lib.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    if loss == "cross_entropy":
        y = lib.tensor(rng.integers(0, sizes[-1], batch))
    else:
        y = lib.tensor(rng.standard_normal((batch, sizes[-1])).astype(np.float32))

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = h.relu() if loss == "cross_entropy" else h.tanh()
        out = _cross_entropy(lib, h, y) if loss == "cross_entropy" else ((h - y) ** 2).mean()
        out.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
    return step


def workloads():
    table = {f"ops/{op}": (lambda lib, op=op: _op_workload(lib, op), 300) for op in OPS}
    table["mlp"] = (lambda lib: _mlp_workload(lib, (784, 512, 256, 10), 128, "cross_entropy"), 5)
    table["tiny_mlp"] = (lambda lib: _mlp_workload(lib, (2, 16, 16, 1), 1, "mse"), 200)
    for name in ("mlp", "tiny_mlp"):
        make, number = table[name]
        table[name + "_compiled"] = (lambda lib, make=make: _compiled(lib, make(lib)), number)
    return table


def _compiled(lib, step):
    """chainrule's step through chainrule.compile; torch's stays eager (torch.compile needs a
    C++ toolchain and minutes of compiling, and is not what a PyTorch user runs by default)."""
    if lib.__name__ != "chainrule":
        return step
    compiled = lib.compile(step)
    for _ in range(3):                  # one eager call, then records until two agree
        compiled()
    if compiled.replay is None:
        raise RuntimeError(f"chainrule.compile did not capture the step: {compiled.eager_reason}")
    return compiled


def _timer(kind):
    return time.process_time if kind == "cpu" else time.perf_counter


def measure(name, make, number, repeats, warmup, timer):
    steps = {"chainrule": make(cr), "torch": make(torch)}
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {lib: [] for lib in steps}
    for _ in range(repeats):
        for lib, step in steps.items():      # interleaved: both see the same load
            start = timer()
            for _ in range(number):
                step()
            times[lib].append((timer() - start) / number)
    result = {"name": name, "number": number, "repeats": repeats}
    for lib, ts in times.items():
        result[lib] = {"median_s": statistics.median(ts), "min_s": min(ts), "max_s": max(ts)}
    result["ratio"] = result["chainrule"]["median_s"] / result["torch"]["median_s"]
    return result


def _fmt(seconds):
    return f"{seconds * 1e6:9.1f}us" if seconds < 1e-2 else f"{seconds * 1e3:9.2f}ms"


def environment():
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "chainrule": cr.__version__,
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads()}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads")}
                        for d in threadpool_info() if d.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def profile(name, number):
    import cProfile
    import pstats
    make, _ = workloads()[name]
    step = make(cr)
    for _ in range(5):
        step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(number):
        step()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="multiply calls per repeat")
    parser.add_argument("--filter", default="", help="only workloads whose name contains this")
    parser.add_argument("--timer", choices=("wall", "cpu"), default="wall",
                        help="cpu (process time) is steadier on a busy machine, but counts "
                             "every thread of a multithreaded BLAS")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--profile", metavar="WORKLOAD", help="cProfile chainrule on a workload")
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile, max(1, int(workloads()[args.profile][1] * args.scale)))
        return
    env = environment()
    print("  ".join(f"{k}={v}" for k, v in env.items()))
    print(f"{'workload':<16}{'chainrule median (min-max)':>38}{'torch median (min-max)':>38}"
          f"{'ratio':>8}")
    results = []
    timer = _timer(args.timer)
    for name, (make, number) in workloads().items():
        if args.filter not in name:
            continue
        r = measure(name, make, max(1, int(number * args.scale)), args.repeats, args.warmup, timer)
        results.append(r)
        cells = [f"{_fmt(r[lib]['median_s'])} ({_fmt(r[lib]['min_s']).strip()}-"
                 f"{_fmt(r[lib]['max_s']).strip()})" for lib in ("chainrule", "torch")]
        print(f"{name:<16}{cells[0]:>38}{cells[1]:>38}{r['ratio']:>8.2f}")
    ops = [r["ratio"] for r in results if r["name"].startswith("ops/")]
    if ops:
        print(f"ops geometric-mean ratio: {float(np.exp(np.mean(np.log(ops)))):.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "timer": args.timer, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
