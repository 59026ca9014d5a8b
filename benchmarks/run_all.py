"""Every benchmark in one command: chainrule vs torch (CPU), medians, min-max and ratios.

    python benchmarks/run_all.py                       # everything
    python benchmarks/run_all.py --only cifar,lenet --repeats 9 --json results.json
    python benchmarks/run_all.py --no-memory --skip-train
    python benchmarks/run_all.py --readme              # also rewrite the table in README.md
    python benchmarks/run_all.py --peers --peers-python .venv-peers/bin/python \
        --peers-python .venv-chainer/bin/python       # also the NumPy-based peers (bench_peers)

Workloads (float32; one *step* = forward, loss, backward, optimizer update):

  mlp             784-512-256-10 MLP, batch 128 (bench_engine)
  tiny_mlp        2-16-16-1 MLP, batch 1: per-step overhead (bench_engine)
  mlp_compiled, tiny_mlp_compiled
                  the same two steps with chainrule's through ``chainrule.compile`` (torch eager)
  lenet           LeNet-like CNN on 1x28x28, batch 64 (bench_conv)
  lenet_infer     the same network, inference only (eval, no_grad), batch 256
  cifar           CIFAR-like CNN on 3x32x32, batch 64 (bench_conv)
  autoencoder     conv autoencoder on 1x28x28 (2 strided convs, 2 transposed convs), batch 64
  lstm            2-layer LSTM character LM (bench_seq)
  transformer     2-layer transformer encoder LM (bench_seq)
  adam_10m        one Adam step over 10 M parameters (10 tensors of 1 M)
  import          ``import chainrule`` / ``import torch`` in fresh interpreters, median of 5
                  (bytecode caches written first, as a pip install does)
  train           ``python -m chainrule train`` end to end (chainrule only)

Timing: each workload runs in its own subprocess with both libraries, alternating chainrule and
torch step by step so machine load hits both alike; the ratio is chainrule / torch of the medians.
Peak memory: each (workload, library) pair runs alone in a fresh subprocess, and its ru_maxrss
(peak resident set, including the interpreter and the library import) is reported. ``--peers``
also runs bench_peers.py (MyGrad, HIPS autograd, tinygrad, Chainer on mlp, tiny_mlp, lenet,
lenet_infer and cifar, each against chainrule in the same process) under each ``--peers-python``
interpreter (default: this one) and adds its results to the JSON and, with ``--readme``, a table.
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
# chainrule.backends.blas.OVERRIDE_VARS, named here because they must go before numpy loads
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# name -> (steps per timed sample, default repeats)
WORKLOADS = {"mlp": (3, 15), "tiny_mlp": (100, 15), "mlp_compiled": (3, 15),
             "tiny_mlp_compiled": (100, 15), "lenet": (1, 11), "lenet_infer": (1, 11),
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


def cnn_workload(name):
    """(network builder taking an ``nn`` module, input shape without the batch, batch size) of a
    convolutional workload."""
    sys.path.insert(0, HERE)
    import bench_conv
    return {"lenet": (bench_conv._lenet, (1, 28, 28), 64),
            "lenet_infer": (bench_conv._lenet, (1, 28, 28), 256),
            "cifar": (bench_conv._cifar, (3, 32, 32), 64),
            "autoencoder": (_autoencoder, (1, 28, 28), 64)}[name]


def _make_steps(name, libs):
    """{lib name: zero-argument step function}; same weights and data when both are built."""
    import numpy as np
    sys.path.insert(0, HERE)
    rng = np.random.default_rng(0)
    mods = {lib: _lib(lib) for lib in libs}
    if name in ("mlp", "tiny_mlp", "mlp_compiled", "tiny_mlp_compiled"):
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
    build, shape, batch = cnn_workload(name)
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


def _worker_time(name, repeats, warmup, timer="wall", libs=LIBS):
    clock = time.process_time if timer == "cpu" else time.perf_counter
    number = WORKLOADS[name][0]
    steps = _make_steps(name, libs)
    for _ in range(warmup):
        for step in steps.values():
            step()
    times = {lib: [] for lib in libs}
    for _ in range(repeats):
        for lib in libs:        # interleaved: both see the same load
            t0 = clock()
            for _ in range(number):
                steps[lib]()
            times[lib].append((clock() - t0) / number * 1e3)
    return times


def _worker_memory(name, lib):
    step = _make_steps(name, (lib,))[lib]
    for _ in range(3):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # KiB -> MiB (Linux)


def _thread_env(threads):
    """The environment for worker processes: BLAS / OpenMP pools of ``threads`` (None: as is)."""
    env = dict(os.environ)
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def _run_worker(args, timeout, threads=None):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker"] + args
    env = _thread_env(threads)
    if args[-1] == "torch":
        # a torch-only process imports chainrule for the workload code only: torch as
        # installed, with glibc's malloc defaults (chainrule's import would tune them)
        env["CHAINRULE_MALLOC"] = "default"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


SEPARATE_ROUNDS = 3


def alternating_rounds(libs, repeats, time_one, rounds=SEPARATE_ROUNDS):
    """{lib: samples}, ``repeats`` or a few more each, from ``rounds`` rounds of
    ``time_one(lib, n)`` (a process of its own timing ``n`` samples: a list, or None to drop
    the library), the libraries' order alternating from round to round, so that a machine whose
    load drifts during the run slows them alike (as interleaving does within one process).
    bench_peers.py --separate uses it too."""
    per = max(1, -(-repeats // rounds))
    times = {lib: [] for lib in libs}
    for r in range(rounds):
        for lib in (libs if r % 2 == 0 else libs[::-1]):
            if lib in times:
                samples = time_one(lib, per)
                if samples is None:
                    del times[lib]
                else:
                    times[lib] += samples
    return times


def _separate_times(name, repeats, timer, timeout, threads):
    """{lib: samples} of ``name``, each library in processes of its own (alternating_rounds)."""
    return alternating_rounds(
        list(LIBS), repeats,
        lambda lib, n: _run_worker(["time", name, str(n), timer, lib], timeout, threads)[lib])


def _pop_overrides():
    """Remove the OpenBLAS overrides from os.environ (and so from the workers'); returns them."""
    return {v: os.environ.pop(v) for v in OPENBLAS_OVERRIDES if v in os.environ}


def _import_times(repeats=5):
    out = {}
    for lib in LIBS:
        # one import that may write bytecode caches first, so that (as after a pip install) the
        # timed imports load compiled modules even where PYTHONDONTWRITEBYTECODE is set;
        # compiling chainrule's sources takes longer than loading them
        warm_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-c", f"import {lib}"], check=True, cwd=ROOT,
                       env=warm_env)
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
                "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: d.get(k) for k in ("user_api", "internal_api", "version",
                                               "num_threads", "architecture")}
                        for d in threadpool_info()]
    except ImportError:
        from chainrule.backends import blas
        info["blas"] = blas.info()
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in f
                                if line.startswith("model name")), None)
    except OSError:
        info["cpu"] = platform.processor() or None
    try:
        sys.path.insert(0, ROOT)
        import chainrule
        info["chainrule"] = getattr(chainrule, "__version__", "?")
    except ImportError:
        info["chainrule"] = None
    info["peers"] = {}
    for peer in ("tinygrad", "autograd", "mygrad"):
        try:
            __import__(peer)
            info["peers"][peer] = "importable (benchmarked by bench_peers.py; --peers)"
        except ImportError:
            info["peers"][peer] = "not installed"
    return info


def cifar_gflop(batch=64):
    """Multiply-adds (x2) of one CIFAR-like training step: each 3x3 conv's forward, input gradient
    (not for the first layer) and weight gradient, and the final linear layer's three GEMMs."""
    convs = ((3, 64, 32, False), (64, 64, 32, True), (64, 128, 16, True))   # cin, cout, hw, dx
    flop = sum(2 * batch * hw * hw * 9 * cin * cout * (3 if dx else 2)
               for cin, cout, hw, dx in convs)
    return (flop + 3 * 2 * batch * 128 * 8 * 8 * 10) / 1e9


def _worker_gemm_peak(timer="wall"):
    """Float32 GEMM rate of this process's BLAS on a 2048^3 product, GFLOP/s (best of 5)."""
    import numpy as np
    clock = time.process_time if timer == "cpu" else time.perf_counter
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    a @ a
    best = float("inf")
    for _ in range(5):
        t0 = clock()
        a @ a
        best = min(best, clock() - t0)
    return 2 * 2048 ** 3 / best / 1e9


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
    parser.add_argument("--threads", type=int, help="BLAS/OpenMP threads of both libraries in "
                                                    "the workers (default: as the environment)")
    parser.add_argument("--timer", choices=("wall", "cpu"), default="wall",
                        help="cpu (process time) is steadier on a busy machine; use it with "
                             "--threads 1, since it adds up the time of every thread")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the results table in benchmarks/README.md")
    parser.add_argument("--peers", action="store_true",
                        help="also run bench_peers.py (NumPy-based peer libraries)")
    parser.add_argument("--peers-python", action="append", metavar="PATH",
                        help="interpreter with the peers installed, for --peers; repeat for "
                             "several (default: this interpreter)")
    parser.add_argument("--openblas-default", action="store_true",
                        help="drop OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE from the environment, "
                             "so that OpenBLAS picks its kernels for this CPU")
    parser.add_argument("--separate", choices=("auto", "yes", "no"), default="auto",
                        help="time each library in a process of its own (auto: unless "
                             "--threads 1); interleaved in one process, torch's OpenMP threads "
                             "keep spinning after each torch op and take the second core from "
                             "chainrule's BLAS threads")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:                      # internal: one measurement, JSON on the last line
        sys.path.insert(0, ROOT)         # this checkout's chainrule, not an installed one
        kind, name = args.worker[:2]
        if kind == "time":
            timer = args.worker[3] if len(args.worker) > 3 else "wall"
            libs = tuple(args.worker[4].split(",")) if len(args.worker) > 4 else LIBS
            print(json.dumps(_worker_time(name, int(args.worker[2]), args.warmup, timer, libs)))
        elif kind == "floor":
            sys.path.insert(0, HERE)
            import floors
            clock = time.process_time if args.worker[2] == "cpu" else time.perf_counter
            print(json.dumps(floors.floor_ms(name, clock=clock)))
        elif kind == "gemm":
            print(json.dumps(_worker_gemm_peak(args.worker[2] if len(args.worker) > 2
                                               else "wall")))
        else:
            print(json.dumps(_worker_memory(name, args.worker[2])))
        return

    sys.path.insert(0, ROOT)
    only = [s for s in args.only.split(",") if s]
    os.environ.update(_thread_env(args.threads))      # before this process loads numpy/torch
    # before numpy loads here (chainrule imports it) and in the workers
    dropped = _pop_overrides() if args.openblas_default else {}
    from chainrule.backends.blas import OVERRIDE_VARS, override_warning
    sys.path.insert(0, HERE)
    import floors                        # (numpy loads here, after the overrides were dropped)
    assert set(OVERRIDE_VARS) == set(OPENBLAS_OVERRIDES)
    env = environment()
    if dropped:
        env["openblas_overrides_dropped"] = dropped
    env["timer"] = args.timer
    separate = args.separate == "yes" or (args.separate == "auto" and args.threads != 1)
    env["libraries_timed"] = (f"in separate processes, {SEPARATE_ROUNDS} rounds alternating"
                              if separate else "interleaved, one process")
    print("  ".join(f"{k}={v}" for k, v in env.items()))
    print(f"{'workload':<18}{'chainrule ms median (min-max)':>34}{'torch ms median (min-max)':>34}"
          f"{'ratio':>7}{'peak MiB cr/torch':>20}{'floor ms':>10}")
    results = []
    for name, (_, default_repeats) in WORKLOADS.items():
        if only and name not in only:
            continue
        row = {"name": name}
        try:
            time_args = ["time", name, str(args.repeats or default_repeats), args.timer]
            if separate:         # one process per library: no thread pool spins beside the other
                ts = _separate_times(name, args.repeats or default_repeats, args.timer,
                                     args.timeout, args.threads)
            else:
                ts = _run_worker(time_args, args.timeout, args.threads)
            row.update({lib: _summary(ts[lib]) for lib in LIBS})
            row["ratio"] = row["chainrule"]["median_ms"] / row["torch"]["median_ms"]
        except Exception as exc:      # noqa: BLE001 -- one broken workload must not stop the rest
            row["error"] = str(exc)
        if name in floors.WORKLOADS and "error" not in row:
            row["floor_ms"] = _run_worker(["floor", name, args.timer], args.timeout, args.threads)
        if not args.no_memory and "error" not in row:
            row["peak_mib"] = {lib: _run_worker(["memory", name, lib], args.timeout, args.threads)
                               for lib in LIBS}
        results.append(row)
        if "error" in row:
            print(f"{name:<18} error: {row['error']}")
            continue
        mem = row.get("peak_mib")
        mem_s = f"{mem['chainrule']:.0f}/{mem['torch']:.0f}" if mem else "-"
        floor = f"{row['floor_ms']:.3g}" if row.get("floor_ms") else "-"
        print(f"{name:<18}{_cell(row['chainrule']):>34}{_cell(row['torch']):>34}"
              f"{row['ratio']:>7.2f}{mem_s:>20}{floor:>10}", flush=True)
    cifar = next((r for r in results if r["name"] == "cifar" and "error" not in r), None)
    if cifar is not None:
        peak = _run_worker(["gemm", "peak", args.timer], args.timeout, args.threads)
        gflop = cifar_gflop()
        env["gemm_peak_gflops"] = peak
        warning = override_warning()
        if warning:                # what the overrides cost: the same product without them
            saved = _pop_overrides()
            try:
                env["gemm_peak_gflops_without_overrides"] = _run_worker(
                    ["gemm", "peak", args.timer], args.timeout, args.threads)
            finally:
                os.environ.update(saved)
            print(f"note: {warning}. The 2048^3 sgemm: {peak:.0f} GFLOP/s as set, "
                  f"{env['gemm_peak_gflops_without_overrides']:.0f} without them "
                  f"(--openblas-default runs everything without them)")
        for lib in LIBS:
            rate = gflop / (cifar[lib]["median_ms"] / 1e3)
            cifar[lib]["gflops"] = rate
            cifar[lib]["fraction_of_gemm_peak"] = rate / peak
        print(f"cifar step {gflop:.1f} GFLOP; float32 GEMM peak {peak:.0f} GFLOP/s (2048^3, "
              f"same timer); chainrule {cifar['chainrule']['fraction_of_gemm_peak']:.0%}, torch "
              f"{cifar['torch']['fraction_of_gemm_peak']:.0%} of it")
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
    peers = run_peers(args, only) if args.peers else None
    if args.json:
        report = {"environment": env, "results": results}
        if peers is not None:
            report["peers"] = peers
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    if args.readme:
        write_readme(env, results, _shown_command(argv or sys.argv[1:]), peers=peers)


def run_peers(args, only):
    """bench_peers.py under each --peers-python interpreter: a list of its JSON reports, each with
    the interpreter added (or an error)."""
    import tempfile
    peer_workloads = ("mlp", "tiny_mlp", "lenet", "lenet_infer", "cifar")
    names = [n for n in peer_workloads if not only or n in only]
    if not names:
        print("peers: none of the selected workloads has a peer version")
        return []
    reports = []
    for python in args.peers_python or [sys.executable]:
        if os.sep in python:             # a path: relative to where run_all.py was started
            python = os.path.abspath(python)
        print(f"peers ({python}):", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "peers.json")
            cmd = [python, os.path.join(HERE, "bench_peers.py"), "--json", out,
                   "--only", ",".join(names), "--warmup", str(args.warmup), "--timer", args.timer]
            if args.repeats:
                cmd += ["--repeats", str(args.repeats)]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            try:
                proc = subprocess.run(cmd, cwd=ROOT, env=_thread_env(args.threads),
                                      timeout=args.timeout)
                with open(out) as f:
                    report = json.load(f)
                if proc.returncode != 0:
                    report["error"] = f"bench_peers.py exited {proc.returncode} (failed checks)"
            except Exception as exc:   # noqa: BLE001 -- peers must not stop the main results
                report = {"error": str(exc)}
        report["python"] = python
        reports.append(report)
    return reports


_BEGIN, _END = "<!-- results: begin (written by run_all.py --readme) -->", \
    "<!-- results: end -->"


def _overrides_text(env):
    """How the run treated OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, for the BLAS line."""
    dropped = env.get("openblas_overrides_dropped")
    if dropped:
        return (" (the environment's " + ", ".join(f"{k}={v}" for k, v in dropped.items())
                + " dropped by --openblas-default: OpenBLAS chose the core itself)")
    found = {k: env[k] for k in OPENBLAS_OVERRIDES if env.get(k)}
    if not found:
        return ""
    text = " (forced by " + ", ".join(f"{k}={v}" for k, v in found.items())
    if env.get("gemm_peak_gflops_without_overrides"):
        text += (f": 2048^3 sgemm {env['gemm_peak_gflops']:.0f} GFLOP/s, "
                 f"{env['gemm_peak_gflops_without_overrides']:.0f} without")
    return text + ")"


def results_markdown(env, results, command, peers=None):
    """The results table (and the conditions it was measured under) as Markdown; with ``peers``
    (run_peers' reports) a second table of the NumPy-based peers."""
    blas = env.get("blas") or {}
    if isinstance(blas, list):
        blas = blas[0] if blas else {}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with `{command}`.",
        "",
        f"- machine: {env.get('cpu')} ({env.get('machine')}), {env.get('cpus')} CPUs, load "
        f"average at start {', '.join(f'{v:.1f}' for v in env.get('load_avg', ()))}",
        f"- chainrule {env.get('chainrule')}, Python {env.get('python')}, NumPy "
        f"{env.get('numpy')}, torch {env.get('torch')} "
        f"({env.get('torch_threads')} threads)",
        f"- BLAS: {blas.get('name') or blas.get('internal_api')} {blas.get('version')}, core "
        f"{blas.get('core') or blas.get('architecture')}, "
        f"{blas.get('threads') or blas.get('num_threads')} threads{_overrides_text(env)}",
        f"- timer: {'process (CPU) time' if env.get('timer') == 'cpu' else 'wall clock'}; "
        f"libraries timed {env.get('libraries_timed', 'interleaved, one process')}",
        "",
        "| workload | chainrule ms, median (min-max) | torch ms, median (min-max) | ratio | "
        "peak MiB chainrule / torch | NumPy floor ms |",
        "|---|---|---|---|---|---|"]
    for row in results:
        if row["name"] == "train":
            ms = row.get("chainrule_ms")
            lines.append(f"| train | {ms:.0f} |  |  |  |  |" if ms else
                         f"| train | - ({row['note']}) |  |  |  |  |")
            continue
        if "error" in row:
            lines.append(f"| {row['name']} | error: {row['error']} |  |  |  |  |")
            continue
        mem = row.get("peak_mib")
        mem_s = f"{mem['chainrule']:.0f} / {mem['torch']:.0f}" if mem else "-"
        floor = f"{row['floor_ms']:.3g}" if row.get("floor_ms") else "-"
        lines.append(f"| {row['name']} | {_cell(row['chainrule'])} | {_cell(row['torch'])} | "
                     f"{row['ratio']:.2f} | {mem_s} | {floor} |")
    if any(row.get("floor_ms") for row in results):
        lines += ["", "NumPy floor (`floors.py`, same timer): for mlp and tiny_mlp the step written "
                      "out by hand in NumPy (no autodiff), for the CNNs the step's matrix products "
                      "alone at im2col shapes; no NumPy engine runs the step faster."]
    cifar = next((r for r in results if r["name"] == "cifar" and "gflops" in r.get("chainrule",
                                                                               {})), None)
    if cifar is not None:
        lines += ["", f"CIFAR-like step: {cifar_gflop():.1f} GFLOP; chainrule "
                      f"{cifar['chainrule']['gflops']:.0f} GFLOP/s "
                      f"({cifar['chainrule']['fraction_of_gemm_peak']:.0%} of the measured float32 "
                      f"GEMM peak, {env.get('gemm_peak_gflops', 0):.0f} GFLOP/s for a 2048^3 "
                      f"sgemm), torch {cifar['torch']['gflops']:.0f} GFLOP/s "
                      f"({cifar['torch']['fraction_of_gemm_peak']:.0%})."]
    if peers:
        floors = {r["name"]: r["floor_ms"] for r in results if r.get("floor_ms")}
        lines += [""] + peers_markdown(peers, floors)
    return "\n".join(lines) + "\n"


def _shown_path(path):
    """An interpreter path as the README shows it: relative to the checkout when inside it."""
    if path and os.path.isabs(path) and path.startswith(ROOT + os.sep):
        return os.path.relpath(path, ROOT)
    return path


def _shown_command(argv):
    """run_all.py's arguments as the README quotes them, without --readme and --json PATH."""
    shown, args = [], iter(argv)
    for a in args:
        if a == "--json":
            next(args, None)             # and its path
        elif a != "--readme" and not a.startswith("--json="):
            shown.append(a)
    return " ".join(["python", "benchmarks/run_all.py"] + shown)


def peers_markdown(reports, floors=None):
    """Lines of the peers table: per workload chainrule's median and each peer's median with, in
    brackets, peer / chainrule of the same run (above 1: chainrule is faster). With ``floors``
    ({workload: NumPy floor ms}), the most any NumPy engine could gain on each peer."""
    peers, rows, notes, lowest, bounds = [], {}, [], None, []
    for rep in reports:
        if "error" in rep and not rep.get("results"):
            notes.append(f"- `{_shown_path(rep.get('python'))}`: {rep['error']}")
            continue
        e = rep.get("environment", {})
        libs = dict(e.get("libraries", {}))
        libs.pop("chainrule", None)
        device = f", tinygrad device {e['tinygrad_device']}" if e.get("tinygrad_device") else ""
        notes.append(f"- `{_shown_path(rep.get('python'))}`: Python {e.get('python')}, "
                     f"NumPy {e.get('numpy')}, "
                     + ", ".join(f"{k} {v}" for k, v in libs.items()) + device
                     + (f" ({rep['error']})" if "error" in rep else ""))
        for row in rep.get("results", []):
            cells = rows.setdefault(row["name"], {})
            if "chainrule" in row:
                cells.setdefault("chainrule", f"{row['chainrule']['median_ms']:.2f}")
            for peer, ratio in row.get("ratio", {}).items():
                if peer not in peers:
                    peers.append(peer)
                cells[peer] = f"{row[peer]['median_ms']:.2f} ({ratio:.2f}x)"
                if row["name"] in ("lenet", "lenet_infer", "cifar"):
                    if lowest is None or ratio < lowest[0]:
                        lowest = (ratio, peer, row["name"])
                    if (floors or {}).get(row["name"]):
                        bounds.append((row[peer]["median_ms"] / floors[row["name"]], peer,
                                       row["name"]))
            for peer, err in row.get("errors", {}).items():
                if peer not in peers:
                    peers.append(peer)
                cells[peer] = "error"
    lines = ["NumPy-based peers (`bench_peers.py`, same workloads, data and initial weights), ms "
             "median and, in brackets, peer / chainrule measured in the same process:", "",
             "| workload | chainrule | " + " | ".join(peers) + " |",
             "|---|---|" + "---|" * len(peers)]
    for name, cells in rows.items():
        lines.append(f"| {name} | {cells.get('chainrule', '-')} | "
                     + " | ".join(cells.get(p, "-") for p in peers) + " |")
    lines += [""] + notes
    if lowest is not None:
        lines += ["", f"Lowest peer / chainrule ratio on the convolutional workloads: "
                      f"{lowest[0]:.2f} ({lowest[1]}, {lowest[2]})."]
    if bounds:
        lowest_bound = {}
        for b, peer, name in sorted(bounds):
            lowest_bound.setdefault(name, (b, peer))
        lines += ["", "Lowest peer / NumPy floor per workload (the floor: the step's GEMMs alone, "
                      "from the table above), the most any im2col engine on NumPy could be faster "
                      "than that peer: " +
                      ", ".join(f"{name} {b:.2f}x ({peer})"
                                for name, (b, peer) in lowest_bound.items()) + "."]
    return lines


def write_readme(env, results, command, path=os.path.join(HERE, "README.md"), peers=None):
    """Replace the block between the result markers of README.md (append one if missing)."""
    block = f"{_BEGIN}\n{results_markdown(env, results, command, peers)}{_END}"
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if _BEGIN in text and _END in text:
        head, rest = text.split(_BEGIN, 1)
        text = head + block + rest.split(_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
