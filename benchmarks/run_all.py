"""Every benchmark in one command: chainrule vs torch (CPU), medians, min-max and ratios.

    python benchmarks/run_all.py                       # everything
    python benchmarks/run_all.py --only cifar,lenet --repeats 9 --json results.json
    python benchmarks/run_all.py --no-memory --skip-train

Workloads (float32; one *step* = forward, loss, backward, optimizer update):

  mlp             784-512-256-10 MLP, batch 128 (bench_engine)
  tiny_mlp        2-16-16-1 MLP, batch 1: per-step overhead (bench_engine)
  lenet           LeNet-like CNN on 1x28x28, batch 64 (bench_conv)
  lenet_infer     the same network, inference only (eval, no_grad), batch 256
  cifar           CIFAR-like CNN on 3x32x32, batch 64 (bench_conv)
  autoencoder     conv autoencoder on 1x28x28 (2 strided convs, 2 transposed convs), batch 64
  lstm            2-layer LSTM character LM (bench_seq)
  transformer     2-layer transformer encoder LM (bench_seq)
  adam_10m        one Adam step over 10 M parameters (10 tensors of 1 M)
  import          ``import chainrule`` / ``import torch`` in fresh interpreters, median of 5
  train           ``python -m chainrule train`` end to end (chainrule only)

Timing: each workload runs in its own subprocess with both libraries, alternating chainrule and
torch step by step so machine load hits both alike; the ratio is chainrule / torch of the medians.
Peak memory: each (workload, library) pair runs alone in a fresh subprocess, and its ru_maxrss
(peak resident set, including the interpreter and the library import) is reported. Peers
(tinygrad, autograd, mygrad) are only noted when importable; none has a workload here yet.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBS = ("chainrule", "torch")
# name -> (steps per timed sample, default repeats)
WORKLOADS = {"mlp": (3, 15), "tiny_mlp": (100, 15), "lenet": (1, 11), "lenet_infer": (1, 11),
             "cifar": (1, 7), "autoencoder": (1, 11), "lstm": (1, 7), "transformer": (1, 7),
             "adam_10m": (1, 11)}


def _lib(name):
    if name == "torch":
        import torch
        return torch
    import chainrule
    return chainrule


def _copy_params(src, dst):
    """torch module -> chainrule module with the same architecture, parameter by parameter."""
    for p, q in zip(src.parameters(), dst.parameters()):
        q.data[...] = p.detach().numpy()


def _autoencoder(nn):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())


def _module_step(lib, model, x, y, loss):
    opt = lib.optim.SGD(model.parameters(), lr=0.01)
    F = lib.nn.functional

    def step():
        opt.zero_grad()
        out = model(x)
        (F.cross_entropy(out, y) if loss == "ce" else F.mse_loss(out, y)).backward()
        opt.step()
    return step


def _make_steps(name, libs):
    """{lib name: zero-argument step function}; same weights and data when both are built."""
    import numpy as np
    sys.path.insert(0, HERE)
    rng = np.random.default_rng(0)
    mods = {lib: _lib(lib) for lib in libs}
    if name in ("mlp", "tiny_mlp"):
        import bench_engine
        make = bench_engine.workloads()[name][0]
        return {lib: make(mods[lib]) for lib in libs}
    if name in ("lstm", "transformer"):
        import bench_seq
        build = bench_seq.lstm_lm if name == "lstm" else bench_seq.transformer_lm
        x = rng.integers(0, bench_seq.VOCAB, (bench_seq.BATCH, bench_seq.SEQ))
        y = rng.integers(0, bench_seq.VOCAB, (bench_seq.BATCH, bench_seq.SEQ))
        models = {lib: build(mods[lib]) for lib in libs}
        if len(libs) == 2:
            models["chainrule"].load_state_dict(
                {k: v.detach().numpy() for k, v in models["torch"].state_dict().items()})
        return {lib: bench_seq.make_step(mods[lib], models[lib], mods[lib].tensor(x),
                                         mods[lib].tensor(y)) for lib in libs}
    if name == "adam_10m":
        params = [rng.standard_normal(1_000_000).astype(np.float32) for _ in range(10)]
        steps = {}
        for lib in libs:
            ps = [mods[lib].tensor(p.copy(), requires_grad=True) for p in params]
            for p in ps:
                p.grad = mods[lib].tensor(rng.standard_normal(p.shape[0]).astype(np.float32))
            steps[lib] = mods[lib].optim.Adam(ps, lr=1e-3).step
        return steps
    import bench_conv
    build, shape, batch = {"lenet": (bench_conv._lenet, (1, 28, 28), 64),
                           "lenet_infer": (bench_conv._lenet, (1, 28, 28), 256),
                           "cifar": (bench_conv._cifar, (3, 32, 32), 64),
                           "autoencoder": (_autoencoder, (1, 28, 28), 64)}[name]
    x = rng.standard_normal((batch,) + shape).astype(np.float32)
    y = (rng.random((batch,) + shape).astype(np.float32) if name == "autoencoder"
         else rng.integers(0, 10, batch))
    models = {lib: build(mods[lib].nn) for lib in libs}
    if len(libs) == 2:
        _copy_params(models["torch"], models["chainrule"])
    steps = {}
    for lib in libs:
        m, tx = models[lib], mods[lib].tensor(x)
        if name == "lenet_infer":
            m.eval()

            def infer(m=m, tx=tx, lib=mods[lib]):
                with lib.no_grad():
                    m(tx)
            steps[lib] = infer
        else:
            steps[lib] = _module_step(mods[lib], m, tx, mods[lib].tensor(y),
                                      "mse" if name == "autoencoder" else "ce")
    return steps


def _worker_time(name, repeats, warmup):
    number = WORKLOADS[name][0]
    steps = _make_steps(name, LIBS)
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {lib: [] for lib in LIBS}
    for _ in range(repeats):
        for lib in LIBS:        # interleaved: both see the same load
            t0 = time.perf_counter()
            for _ in range(number):
                steps[lib]()
            times[lib].append((time.perf_counter() - t0) / number * 1e3)
    return {lib: times[lib] for lib in LIBS}


def _worker_memory(name, lib):
    step = _make_steps(name, (lib,))[lib]
    for _ in range(3):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # KiB -> MiB (Linux)


def _run_worker(args, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + args
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _import_times(repeats=5):
    out = {}
    for lib in LIBS:
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {lib}"], check=True, cwd=ROOT)
            ts.append((time.perf_counter() - t0) * 1e3)
        out[lib] = ts
    base = []            # the bare interpreter's start-up, subtracted to get the import alone
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        base.append((time.perf_counter() - t0) * 1e3)
    b = statistics.median(base)
    return {lib: [t - b for t in ts] for lib, ts in out.items()}


def _train_time(timeout):
    import importlib.util
    if importlib.util.find_spec("chainrule.cli") is None:
        return None, "no chainrule.cli: skipped"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train"], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    ms = (time.perf_counter() - t0) * 1e3
    if proc.returncode != 0:
        return None, "python -m chainrule train failed: " + (proc.stderr.strip()[-200:] or "?")
    return ms, "python -m chainrule train (defaults), one run"


def environment():
    import numpy as np
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_avg": os.getloadavg()}
    try:
        import torch
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    except ImportError:
        info["torch"] = None
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("user_api", "internal_api", "version",
                                               "num_threads", "architecture")}
                        for d in threadpool_info()]
    except ImportError:
        cfg = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        info["blas"] = {k: cfg.get(k) for k in ("name", "version", "openblas configuration")}
    info["peers"] = {}
    for peer in ("tinygrad", "autograd", "mygrad"):
        try:
            __import__(peer)
            info["peers"][peer] = "importable (no workloads wired in yet)"
        except ImportError:
            info["peers"][peer] = "not installed"
    return info


def _summary(ts):
    return {"median_ms": statistics.median(ts), "min_ms": min(ts), "max_ms": max(ts)}


def _cell(s):
    if s is None:
        return "-"
    return f"{s['median_ms']:.2f} ({s['min_ms']:.2f}-{s['max_ms']:.2f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated workload names")
    parser.add_argument("--repeats", type=int, help="timed samples per library (default: "
                                                    "per workload)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory runs")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per subprocess")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:                      # internal: one measurement, JSON on the last line
        kind, name = args.worker[:2]
        if kind == "time":
            print(json.dumps(_worker_time(name, int(args.worker[2]), args.warmup)))
        else:
            print(json.dumps(_worker_memory(name, args.worker[2])))
        return

    sys.path.insert(0, ROOT)
    only = [s for s in args.only.split(",") if s]
    env = environment()
    print("  ".join(f"{k}={v}" for k, v in env.items()))
    print(f"{'workload':<13}{'chainrule ms median (min-max)':>34}{'torch ms median (min-max)':>34}"
          f"{'ratio':>7}{'peak MiB cr/torch':>20}")
    results = []
    for name, (_, default_repeats) in WORKLOADS.items():
        if only and name not in only:
            continue
        row = {"name": name}
        try:
            ts = _run_worker(["time", name, str(args.repeats or default_repeats)], args.timeout)
            row.update({lib: _summary(ts[lib]) for lib in LIBS})
            row["ratio"] = row["chainrule"]["median_ms"] / row["torch"]["median_ms"]
        except Exception as exc:      # noqa: BLE001 -- one broken workload must not stop the rest
            row["error"] = str(exc)
        if not args.no_memory and "error" not in row:
            row["peak_mib"] = {lib: _run_worker(["memory", name, lib], args.timeout)
                               for lib in LIBS}
        results.append(row)
        if "error" in row:
            print(f"{name:<13} error: {row['error']}")
            continue
        mem = row.get("peak_mib")
        mem_s = f"{mem['chainrule']:.0f}/{mem['torch']:.0f}" if mem else "-"
        print(f"{name:<13}{_cell(row['chainrule']):>34}{_cell(row['torch']):>34}"
              f"{row['ratio']:>7.2f}{mem_s:>20}", flush=True)
    if not only or "import" in only:
        ts = _import_times()
        row = {"name": "import", **{lib: _summary(ts[lib]) for lib in LIBS}}
        row["ratio"] = row["chainrule"]["median_ms"] / row["torch"]["median_ms"]
        results.append(row)
        print(f"{'import':<13}{_cell(row['chainrule']):>34}{_cell(row['torch']):>34}"
              f"{row['ratio']:>7.2f}   (interpreter start-up subtracted)")
    if (not only or "train" in only) and not args.skip_train:
        ms, note = _train_time(args.timeout)
        results.append({"name": "train", "chainrule_ms": ms, "note": note})
        print(f"{'train':<13}{(f'{ms:.0f}' if ms else '-'):>34}   {note}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
