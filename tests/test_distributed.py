"""chainrule.distributed: collectives, DistributedDataParallel, DistributedSampler, SyncBatchNorm.

The multi-process tests launch ``mpiexec -n 2 python -m mpi4py tests/distributed_workers/<w>.py``
(or ``mpiexec -n 2 python -m chainrule train ...``) and skip (with the reason) when mpi4py or
mpiexec is not installed (``pip install mpi4py mpich``, the ``chainrule[mpi]`` extra). The rest
run in this process as a job of world size 1.
"""
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule
import chainrule.distributed as dist
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import engine
from chainrule.utils.data import DataLoader, TensorDataset

WORKERS = os.path.join(os.path.dirname(__file__), "distributed_workers")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                 "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


def _mpiexec():
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.access(local, os.X_OK) else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
HAVE_MPI4PY = importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not HAVE_MPI4PY,
    reason="multi-process tests need mpi4py and mpiexec: pip install mpi4py mpich "
           f"(mpi4py {'found' if HAVE_MPI4PY else 'missing'}, "
           f"mpiexec {'found' if MPIEXEC else 'missing'})")


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"   # 2 ranks share 2 cores
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def launch(worker, *args, n=2, timeout=60, via_mpi4py=True):
    return launch_target([os.path.join(WORKERS, worker)], *args, n=n, timeout=timeout,
                         via_mpi4py=via_mpi4py)


def launch_target(target, *args, n=2, timeout=60, via_mpi4py=True):
    """``mpiexec -n N python [-m mpi4py] TARGET... ARGS...``; TARGET: a script or ``-m mod``."""
    cmd = [MPIEXEC, "-n", str(n), sys.executable] + (["-m", "mpi4py"] if via_mpi4py else [])
    cmd += list(target) + list(args)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_clean_env(),
                          cwd=ROOT)
    return proc, time.perf_counter() - start


def _passes(proc):
    return set(re.findall(r"PASS (\S+) rank=(\d+)", proc.stdout))


@pytest.fixture(scope="module")
def collectives_run():
    return launch("worker_collectives.py")[0]


@pytest.fixture(scope="module")
def ddp_run():
    return launch("worker_ddp.py")[0]


def _check(proc, name):
    if (name, "0") not in _passes(proc) or (name, "1") not in _passes(proc):
        pytest.fail(f"check {name!r} did not pass on both ranks (rc={proc.returncode})\n"
                    f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")


@needs_mpi
@pytest.mark.parametrize("name", ["collectives_dtypes", "collectives_misc", "sampler"])
def test_collectives_two_ranks(collectives_run, name):
    _check(collectives_run, name)
    assert collectives_run.returncode == 0, collectives_run.stderr[-3000:]


@needs_mpi
@pytest.mark.parametrize("name", ["ddp_sgd", "ddp_adam", "ddp_sgd_no_overlap", "ddp_unused_param",
                                  "ddp_no_sync", "ddp_state_dict", "syncbn"])
def test_ddp_two_ranks(ddp_run, name):
    _check(ddp_run, name)
    assert ddp_run.returncode == 0, ddp_run.stderr[-3000:]


@needs_mpi
@pytest.mark.parametrize("mode,via_mpi4py", [("raise", True), ("raise", False), ("nan", True)])
def test_failure_on_one_rank_stops_the_job(mode, via_mpi4py):
    proc, seconds = launch("worker_fail.py", mode, timeout=30, via_mpi4py=via_mpi4py)
    assert proc.returncode != 0
    assert seconds < 20, f"the job took {seconds:.1f} s to stop"
    assert "UNREACHABLE" not in proc.stdout
    if mode == "raise":
        assert "rank 1 of 2 failed with ValueError" in proc.stderr, proc.stderr[-3000:]
    else:
        assert "not finite (NaN or inf) on rank(s) [1] of 2" in proc.stderr, proc.stderr[-3000:]


# ---- a single process: world size 1 ----
def test_single_process_does_not_import_mpi4py():
    code = ("import sys, chainrule, chainrule.distributed as d; d.init(); "
            "assert (d.get_rank(), d.get_world_size(), d.is_initialized()) == (0, 1, True); "
            "d.barrier(); t = chainrule.ones(3); d.all_reduce(t, op='avg'); d.broadcast(t); "
            "assert t.tolist() == [1.0, 1.0, 1.0]; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py imported outside mpiexec'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_clean_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_collectives_world_size_one():
    t = chainrule.arange(6, dtype=chainrule.float32).reshape(2, 3)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    out = []
    dist.all_gather(out, t)
    assert len(out) == 1 and out[0].tolist() == t.tolist()
    assert dist.all_reduce(t, async_op=True).wait()
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(t, op="prod")
    with pytest.raises(RuntimeError, match="'avg' needs a floating-point"):
        dist.all_reduce(chainrule.ones(2, dtype=chainrule.int64), op="avg")
    with pytest.raises(TypeError, match="expected a chainrule.Tensor"):
        dist.all_reduce([1.0, 2.0])


def test_helpers_world_size_one(capsys):
    assert dist.is_main_process()
    dist.print0("hello")
    assert capsys.readouterr().out == "hello\n"
    s = dist.scaled_batch_settings(32, base_lr=0.1, base_batch_size=64)
    assert s == {"world_size": 1, "per_rank_batch_size": 32, "global_batch_size": 32,
                 "lr": 0.05}
    dist.check_finite(chainrule.tensor(1.0))
    with pytest.raises(FloatingPointError, match=r"rank\(s\) \[0\] of 1"):
        dist.check_finite(chainrule.tensor([1.0, float("inf")]))


def test_ddp_world_size_one_is_the_plain_model():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    ref = copy.deepcopy(model)
    ddp = dist.DistributedDataParallel(model)
    assert ddp.module is model
    x, y = chainrule.randn(6, 4), chainrule.randn(6, 2)
    for m in (ddp, ref):
        F.mse_loss(m(x), y).backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.grad.data, q.grad.data)
    sd = ddp.state_dict()
    assert list(sd) == ["module." + k for k in model.state_dict()]
    ddp.load_state_dict(ref.state_dict())          # keys without the prefix load too
    ddp.load_state_dict(sd)


def test_queue_callback_runs_once_after_backward():
    calls = []
    x = chainrule.ones(3, requires_grad=True)

    def hook(grad):
        engine.queue_callback(lambda: calls.append(x.grad is not None))
    x.register_hook(hook)
    (x * 2).sum().backward()
    assert calls == [True]                 # after the leaf's accumulation, once
    (x * 2).sum().backward()
    assert calls == [True, True]


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (11, 2, False),
                                                 (11, 2, True), (2, 5, False), (12, 4, False)])
def test_sampler_matches_torch_indices(n, replicas, drop_last):
    torch_sampler = pytest.importorskip("torch.utils.data").DistributedSampler
    for rank in range(replicas):
        ours = dist.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                       drop_last=drop_last)
        theirs = torch_sampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shuffles_per_epoch_and_partitions():
    n, replicas = 13, 4
    samplers = [dist.DistributedSampler(range(n), replicas, r, seed=5) for r in range(replicas)]
    epochs = []
    for epoch in range(2):
        for s in samplers:
            s.set_epoch(epoch)
        shards = [list(s) for s in samplers]
        union = sorted(sum(shards, []))
        assert set(union) == set(range(n)) and len(union) == 16      # padded by 3
        epochs.append(shards)
    assert epochs[0] != epochs[1]
    loader = DataLoader(TensorDataset(chainrule.arange(n)), batch_size=2, sampler=samplers[1])
    assert sum(len(b[0]) for b in loader) == 4
    with pytest.raises(ValueError, match="Invalid rank 4"):
        dist.DistributedSampler(range(n), replicas, 4)


def test_sampler_resume_mid_epoch():
    s = dist.DistributedSampler(range(20), 2, 0, seed=1)
    s.set_epoch(3)
    it = iter(s)
    first = [next(it) for _ in range(4)]
    state = s.state_dict()
    rest = list(it)
    s2 = dist.DistributedSampler(range(20), 2, 0, seed=1)
    s2.load_state_dict(state)
    assert list(s2) == rest and len(first + rest) == 10


def test_sync_batchnorm_single_process_is_batchnorm():
    chainrule.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3),
                        nn.Sequential(nn.ReLU(), nn.BatchNorm2d(3, affine=False)))
    ref = copy.deepcopy(net)
    conv = dist.SyncBatchNorm.convert_sync_batchnorm(net)
    assert conv is net and isinstance(net[1], dist.SyncBatchNorm)
    assert isinstance(net[2][1], dist.SyncBatchNorm) and net[2][1].weight is None
    x = chainrule.randn(4, 2, 5, 5)
    np.testing.assert_allclose(net(x).data, ref(x).data, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(net[1].running_var.data, ref[1].running_var.data, rtol=1e-6)
    single = dist.convert_sync_batchnorm(nn.BatchNorm1d(4))
    assert isinstance(single, dist.SyncBatchNorm) and single.num_features == 4


# ---- the Trainer and `chainrule train` under mpiexec -n 2 ----
CLI_ARGS = ["--data", "digits", "--epochs", "2", "--limit-train", "200", "--limit-test", "60",
            "--batch-size", "16", "--seed", "5", "--no-plots"]


def _train_cli(*args, via_mpi4py=True, n=2):
    proc, _ = launch_target(["-m", "chainrule", "train"], *args, n=n, timeout=90,
                            via_mpi4py=via_mpi4py)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    return proc


def _records(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def _model_weights(path):
    return {k: v.numpy() for k, v in chainrule.load(path)["model"].items()}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """2-rank CLI runs: u uninterrupted, r stopped after 8 steps then resumed (2 ranks)."""
    base = tmp_path_factory.mktemp("mpi-runs")
    procs = {"u": _train_cli(*CLI_ARGS, "--out", str(base / "u"), via_mpi4py=False),
             "r": _train_cli(*CLI_ARGS, "--out", str(base / "r"), "--stop-after-steps", "8")}
    procs["r-resumed"] = _train_cli("--resume", str(base / "r"))
    return base, procs


@needs_mpi
def test_cli_train_two_ranks_one_run_directory(cli_runs):
    base, procs = cli_runs
    out = procs["u"].stdout
    # printed once (rank 0 only): the effective batch and the lr rule
    assert out.count("data-parallel over 2 MPI ranks: batch 16 per rank, global batch 32; "
                     "lr 0.003 (--lr-scaling none: the lr as given)") == 1, out
    assert out.count("test accuracy ") == 1 and out.count("epoch 2/2  train loss") == 1
    run = base / "u"
    assert sorted(os.listdir(run)) == ["checkpoints", "config.json", "data.json",
                                       "metrics.jsonl", "results.json"]
    records = _records(run)
    start = [r for r in records if r["event"] == "start"]
    assert len(start) == 1 and start[0]["world_size"] == 2
    assert start[0]["global_batch_size"] == 32
    # 180 training images / 2 ranks = 90 per rank = 6 batches of 16 per epoch, logged once
    assert [r["step"] for r in records if r["event"] == "step"] == list(range(1, 13))
    assert [r["step"] for r in records if r["event"] == "epoch"] == [6, 12]
    results = json.load(open(run / "results.json"))
    assert np.asarray(results["confusion"]).sum() == 60        # the whole test set, once
    state = chainrule.load(str(run / "checkpoints" / "last.ckpt"))
    assert state["world_size"] == 2 and not any(k.startswith("module.") for k in state["model"])


@needs_mpi
def test_cli_resume_two_ranks_matches_uninterrupted(cli_runs):
    base, procs = cli_runs
    assert "stopped after step 8" in procs["r"].stdout
    assert "resuming" in procs["r-resumed"].stdout and "at epoch 1, step 8" in \
        procs["r-resumed"].stdout
    ours = _model_weights(str(base / "r" / "checkpoints" / "last.ckpt"))
    ref = _model_weights(str(base / "u" / "checkpoints" / "last.ckpt"))
    assert ours.keys() == ref.keys()
    for k in ref:
        np.testing.assert_array_equal(ours[k], ref[k], err_msg=k)
    steps = {r["step"]: r["loss"] for r in _records(base / "r") if r["event"] == "step"}
    ref_steps = {r["step"]: r["loss"] for r in _records(base / "u") if r["event"] == "step"}
    assert steps == ref_steps
    # a checkpoint of a 2-rank job does not resume in one process (the shards differ)
    proc = subprocess.run([sys.executable, "-m", "chainrule", "train", "--resume",
                           str(base / "r")], capture_output=True, text=True, env=_clean_env(),
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 1
    assert "written by a job of 2 process(es) and this one has 1" in proc.stderr
    assert "last.ckpt" in proc.stderr


@pytest.fixture(scope="module")
def trainer_run(tmp_path_factory):
    return launch("worker_trainer.py", str(tmp_path_factory.mktemp("trainer")), timeout=90)[0]


@needs_mpi
@pytest.mark.parametrize("name", ["trainer_same_data", "trainer_nan", "trainer_rank0_writes"])
def test_trainer_two_ranks(trainer_run, name):
    _check(trainer_run, name)
    assert trainer_run.returncode == 0, trainer_run.stderr[-3000:]


@needs_mpi
def test_cli_error_on_one_rank_stops_every_rank(tmp_path):
    proc, seconds = launch("worker_cli_fail.py", str(tmp_path / "run"), timeout=30,
                           via_mpi4py=False)
    assert proc.returncode != 0 and seconds < 20
    assert "UNREACHABLE" not in proc.stdout
    assert ("chainrule: error on rank 1 of 2: deliberate failure reading digits on this rank; "
            "stopping all ranks") in proc.stderr, proc.stderr[-3000:]


def test_single_process_trainer_never_imports_mpi4py(tmp_path):
    code = ("import sys; from chainrule.cli import main; "
            f"assert main(['train', '--data', 'digits', '--epochs', '1', '--limit-train', '64', "
            f"'--limit-test', '32', '--no-plots', '--quiet', '--out', {str(tmp_path / 'r')!r}]) "
            "== 0; assert 'mpi4py' not in sys.modules, 'mpi4py imported outside mpiexec'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_clean_env(), timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    start = json.loads(open(tmp_path / "r" / "metrics.jsonl").readline())
    assert start["world_size"] == 1 and start["global_batch_size"] == 64


@needs_mpi
def test_cli_divergence_under_mpi_is_reported_once_with_its_diagnosis(tmp_path):
    run = tmp_path / "nan"
    proc, seconds = launch_target(
        ["-m", "chainrule", "train"], "--data", "digits", "--model", "mlp", "--optimizer", "sgd",
        "--lr", "1e6", "--grad-clip", "0", "--scheduler", "none", "--epochs", "1",
        "--limit-train", "200", "--limit-test", "32", "--batch-size", "16", "--no-plots",
        "--quiet", "--diagnose", "--out", str(run), timeout=60)
    assert proc.returncode == 1 and seconds < 30
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("chainrule: error")]
    assert len(errors) == 1 and "non-finite loss on rank(s) [" in errors[0], proc.stderr[-2000:]
    assert "of 2 (nan) at step " in errors[0]
    report = json.load(open(run / "diagnosis.json"))
    assert "lr_too_high" in {v["kind"] for v in report["verdicts"]}
    assert proc.stdout.count("[lr_too_high]") == 1          # printed by rank 0 only


@needs_mpi
def test_cli_lr_scaling_under_mpi(tmp_path):
    proc = _train_cli(*CLI_ARGS, "--out", str(tmp_path / "s"), "--lr-scaling", "linear",
                      "--scheduler", "none", "--stop-after-steps", "2")
    assert ("batch 16 per rank, global batch 32; lr 0.006 (--lr-scaling linear: --lr 0.003 "
            "scaled for 2 ranks)") in proc.stdout
    state = chainrule.load(str(tmp_path / "s" / "checkpoints" / "last.ckpt"))
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.006)
    config = json.load(open(tmp_path / "s" / "config.json"))
    assert config["lr"] == 0.003 and config["lr_scaling"] == "linear"   # as given, and the rule
