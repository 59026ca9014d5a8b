"""The Trainer under MPI: prints ``PASS <check> rank=<r>`` lines (run by tests/test_distributed.py
under mpiexec -n 2).

- trainer_same_data: a 2-rank Trainer (DDP + DistributedSampler, batch B per rank) ends with the
  same parameters as a one-process Trainer on batches of 2B holding the same samples (the
  one-process loader uses a DistributedSampler of one replica: the same permutation), for SGD
  with momentum and Adam; the sharded validation equals a one-process evaluation.
- trainer_nan: a non-finite loss on rank 1 only stops every rank with a TrainingError naming it.
- trainer_rank0_writes: only rank 0 writes the metrics log and checkpoints.

Usage: worker_trainer.py FOLDER (an empty folder every rank can see)
"""
import os
import sys

import numpy as np

import chainrule
import chainrule.distributed as dist
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.training import Progress, Trainer, TrainingError
from chainrule.utils.data import DataLoader, TensorDataset

dist.init()
rank, size = dist.get_rank(), dist.get_world_size()
assert size == 2, "run with mpiexec -n 2"
B = 8                      # per-rank batch; the one-process reference uses 2B
N = 64                     # divisible by 2B: no padding, every batch full


def dataset(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, 10)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 0.5).astype(np.int64)
    return TensorDataset(chainrule.tensor(x), chainrule.tensor(y))


def model():
    chainrule.manual_seed(7)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))


def run(make_opt, distributed, epochs=3):
    train, val = dataset(0), dataset(1)
    net = model()
    if distributed:
        loader = DataLoader(train, batch_size=B, shuffle=True)   # the Trainer shards it
    else:
        sampler = dist.DistributedSampler(train, num_replicas=1, rank=0, seed=11)
        loader = DataLoader(train, batch_size=2 * B, sampler=sampler)
    trainer = Trainer(net, make_opt(net.parameters()), loader, DataLoader(val, batch_size=16),
                      num_classes=3, progress=Progress(quiet=True), grad_clip=1.0,
                      distributed=None if distributed else False, sampler_seed=11)
    history = trainer.fit(epochs, handle_interrupt=False)
    return net, history, trainer


def same_data():
    for name, make_opt in (("sgd", lambda p: chainrule.optim.SGD(p, lr=0.1, momentum=0.9)),
                           ("adam", lambda p: chainrule.optim.Adam(p, lr=1e-2))):
        net, history, trainer = run(make_opt, True)
        assert trainer.world_size == 2 and trainer.global_batch_size == 2 * B
        ref, ref_history, _ = run(make_opt, False)
        for (pname, p), q in zip(net.named_parameters(), ref.parameters()):
            if not np.allclose(p.data, q.data, rtol=1e-5, atol=1e-6):
                raise AssertionError(f"rank {rank}: {name} {pname}: max abs diff "
                                     f"{np.abs(p.data - q.data).max()}")
        for mine, theirs in zip(history, ref_history):
            assert mine["step"] == theirs["step"] == mine["epoch"] * N // (2 * B)
            np.testing.assert_allclose(mine["train_loss"], theirs["train_loss"], rtol=1e-5)
            np.testing.assert_allclose(mine["val_loss"], theirs["val_loss"], rtol=1e-5)
            assert mine["val_acc"] == theirs["val_acc"] and mine["train_acc"] == \
                theirs["train_acc"]
    print(f"PASS trainer_same_data rank={rank}", flush=True)


def nan_on_one_rank():
    net = model()
    trainer = Trainer(net, chainrule.optim.SGD(net.parameters(), lr=0.1),
                      DataLoader(dataset(0), batch_size=B, shuffle=True), num_classes=3,
                      progress=Progress(quiet=True))

    def loss_fn(out, y):
        loss = F.cross_entropy(out, y)
        return loss * float("nan") if rank == 1 and trainer.step == 2 else loss
    trainer.loss_fn = loss_fn
    try:
        trainer.fit(2, handle_interrupt=False)
    except TrainingError as e:
        assert "on rank(s) [1] of 2" in str(e) and "at step 3" in str(e), str(e)
        assert trainer.step == 2
        print(f"PASS trainer_nan rank={rank}", flush=True)
        return
    raise AssertionError(f"rank {rank}: no TrainingError")


def rank0_writes(folder):
    net = model()
    metrics = os.path.join(folder, f"metrics-{rank}.jsonl")
    ckpt = os.path.join(folder, f"ckpt-{rank}.ckpt")
    trainer = Trainer(net, chainrule.optim.SGD(net.parameters(), lr=0.1),
                      DataLoader(dataset(0), batch_size=B, shuffle=True), num_classes=3,
                      progress=Progress(quiet=True), metrics_path=metrics)
    trainer.fit(1, handle_interrupt=False)
    trainer.save_checkpoint(ckpt)
    dist.barrier()
    assert os.path.exists(metrics) == os.path.exists(ckpt) == (rank == 0), rank
    if rank == 0:
        state = chainrule.load(ckpt)
        assert not any(k.startswith("module.") for k in state["model"])
        assert state["world_size"] == 2 and state["position"]["step"] == N // (2 * B)
    print(f"PASS trainer_rank0_writes rank={rank}", flush=True)


same_data()
nan_on_one_rank()
rank0_writes(sys.argv[1])
