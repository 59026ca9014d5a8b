"""Data-parallel benchmark: weak scaling of a CIFAR-like CNN training step over MPI ranks.

Each rank trains on its own batch of ``--batch`` 3x32x32 images (weak scaling: the global batch
grows with the ranks) through DistributedDataParallel: forward, cross-entropy, backward (with
the gradient all-reduce) and an SGD step. For 1, 2 and 4 ranks it reports the median step time,
the time per step spent waiting for gradient reductions after backward, the throughput, and the
weak-scaling efficiency; then the measured all-reduce bandwidth for 1-64 MB float32 messages, and
overlap on/off with small buckets. Ranks beyond the machine's cores are oversubscribed: their
numbers measure contention, not scaling, and are marked so.

    python benchmarks/bench_distributed.py [--model small|cifar] [--ranks 1 2 4] [--steps 20]
                                           [--batch 32]

(the script launches itself under ``mpiexec -n N python -m mpi4py``; needs ``pip install mpi4py
mpich``). Models (3x3 convs, padding 1, ReLU after each conv):

- ``small`` (default): 3x32x32 -> conv 16 -> pool -> conv 32 -> pool -> fc 128 -> relu -> fc 10,
  268,650 parameters (1.07 MB of float32 gradients).
- ``cifar``, the CIFAR-like CNN of docs/distributed.md: conv 64 -> conv 64 -> pool -> conv 128 ->
  pool -> linear 10, 194,506 parameters (0.78 MB) but about 30x the compute of ``small``
  (``python benchmarks/bench_distributed.py --model cifar --steps 5 --batch 16``).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def make_model(nn, name="small"):
    if name == "cifar":
        return nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(128 * 8 * 8, 10))
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(32 * 8 * 8, 128), nn.ReLU(), nn.Linear(128, 10))


def worker(args):
    import chainrule
    import chainrule.distributed as dist
    import chainrule.nn as nn
    import chainrule.nn.functional as F

    dist.init()
    rank, size = dist.get_rank(), dist.get_world_size()
    result = {"ranks": size}

    def run_steps(ddp, steps):
        opt = chainrule.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
        rng = np.random.default_rng(rank)
        x = chainrule.tensor(rng.standard_normal((args.batch, 3, 32, 32)).astype(np.float32))
        y = chainrule.tensor(rng.integers(0, 10, args.batch))
        times, comm = [], []
        for i in range(steps + 2):                    # 2 warm-up steps
            dist.barrier()
            before = ddp.comm_time
            t0 = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(ddp(x), y).backward()
            opt.step()
            if i >= 2:
                times.append(time.perf_counter() - t0)
                comm.append(ddp.comm_time - before)
        # the slowest rank sets the pace: report rank maxima of the medians
        stats = np.array([statistics.median(times), statistics.median(comm)])
        dist.all_reduce(stats, op="max")
        return stats.tolist()

    chainrule.manual_seed(0)
    ddp = dist.DistributedDataParallel(make_model(nn, args.model))
    result["step_s"], result["comm_s"] = run_steps(ddp, args.steps)
    result["params"] = sum(p.numel() for p in ddp.parameters())
    if size > 1:
        for overlap in (True, False):
            chainrule.manual_seed(0)
            small = dist.DistributedDataParallel(make_model(nn, args.model), bucket_cap_mb=0.25,
                                                 overlap=overlap)
            key = "overlap_on" if overlap else "overlap_off"
            result[key] = run_steps(small, args.steps) + [len(small._buckets)]
        result["allreduce"] = []
        for mb in (1, 4, 16, 64):
            buf = np.ones(mb * 2 ** 20 // 4, dtype=np.float32)
            reps = max(3, 32 // mb)
            dist.all_reduce(buf)
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(reps):
                dist.all_reduce(buf)
            seconds = np.array([(time.perf_counter() - t0) / reps])
            dist.all_reduce(seconds, op="max")
            nbytes = buf.nbytes
            result["allreduce"].append({
                "MB": mb, "ms": seconds[0] * 1e3, "algbw_GBps": nbytes / seconds[0] / 1e9,
                "busbw_GBps": 2 * (size - 1) / size * nbytes / seconds[0] / 1e9})
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def launch(n, args):
    bindir = os.path.dirname(sys.executable)
    mpiexec = os.path.join(bindir, "mpiexec")
    if not os.access(mpiexec, os.X_OK):
        mpiexec = "mpiexec"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "mpi4py", os.path.abspath(__file__),
           "--worker", "--steps", str(args.steps), "--batch", str(args.batch),
           "--model", args.model]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"mpiexec -n {n} failed:\n{out.stderr[-3000:]}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["small", "cifar"], default="small")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32, help="images per rank per step")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    cores = os.cpu_count() or 1
    results = [launch(n, args) for n in args.ranks]
    base = results[0]["step_s"] if results[0]["ranks"] == 1 else None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"weak scaling, model {args.model}, {args.batch} images/rank/step, "
          f"{results[0]['params']:,} parameters, {cores} cores, OMP_NUM_THREADS=1, load "
          f"average {load:.1f} at the end")
    print(f"{'ranks':>5} {'step ms':>8} {'comm ms':>8} {'img/s':>8} {'efficiency':>10}")
    for r in results:
        n = r["ranks"]
        eff = f"{base / r['step_s']:.2f}" if base else "-"
        note = "  (oversubscribed)" if n > cores else ""
        print(f"{n:>5} {r['step_s'] * 1e3:8.1f} {r['comm_s'] * 1e3:8.2f} "
              f"{n * args.batch / r['step_s']:8.0f} {eff:>10}{note}")
    for r in results:
        if "overlap_on" in r:
            on, off = r["overlap_on"], r["overlap_off"]
            print(f"\n{r['ranks']} ranks, {on[2]} buckets of 0.25 MB: step {on[0] * 1e3:.1f} ms "
                  f"(wait {on[1] * 1e3:.2f} ms) with overlap, {off[0] * 1e3:.1f} ms "
                  f"(wait {off[1] * 1e3:.2f} ms) without")
            print(f"{'MB':>5} {'ms':>8} {'algbw GB/s':>11} {'busbw GB/s':>11}")
            for a in r["allreduce"]:
                print(f"{a['MB']:>5} {a['ms']:8.2f} {a['algbw_GBps']:11.2f} "
                      f"{a['busbw_GBps']:11.2f}")


if __name__ == "__main__":
    main()
