"""Data-parallel training over MPI for the Trainer (``mpiexec -n N chainrule train``).

Under an MPI launcher with more than one process the Trainer wraps the model in
``DistributedDataParallel``, gives every rank its own shard of the training set through a
``DistributedSampler`` (``--batch-size`` is the batch of one rank; the global batch is
``world_size`` times larger) and evaluates validation and test sets sharded, adding the sums of
every rank. Only rank 0 logs, draws progress, writes the metrics log, checkpoints, results and
plots. Outside ``mpiexec`` nothing here imports mpi4py: ``world_size()`` is 1 and the Trainer
runs exactly as a single process always did.
"""
import numpy as np

from ..distributed import mpi
from ..utils.data import DataLoader, Subset

__all__ = ["world_size", "rank", "barrier", "is_distributed_sampler", "shard_train_loader",
           "shard_eval_loader", "all_reduce_meter", "gather_step", "unwrap"]


def world_size():
    """Processes in the MPI job (1 outside ``mpiexec``; mpi4py is imported only under it)."""
    return mpi.get_world_size()


def rank():
    return mpi.get_rank()


def barrier():
    mpi.barrier()


def unwrap(model):
    """The model inside a ``DistributedDataParallel`` wrapper (or ``model`` itself)."""
    from ..distributed import DistributedDataParallel
    return model.module if isinstance(model, DistributedDataParallel) else model


def is_distributed_sampler(loader):
    from ..distributed import DistributedSampler
    return isinstance(getattr(loader, "sampler", None), DistributedSampler)


def shard_train_loader(loader, seed):
    """A DataLoader like ``loader`` whose DistributedSampler hands this rank its shard.

    The shuffle is seeded with ``seed + epoch`` (the same on every rank); the Trainer calls
    ``set_epoch`` before each epoch. Each rank keeps ``loader.batch_size``.
    """
    from ..distributed import DistributedSampler
    if is_distributed_sampler(loader):
        return loader
    sampler = DistributedSampler(loader.dataset, shuffle=True, seed=seed)
    return DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler,
                      num_workers=loader.num_workers, drop_last=loader.drop_last,
                      collate_fn=loader.collate_fn)


def shard_eval_loader(loader):
    """This rank's contiguous slice of ``loader``'s dataset (no padding, so every sample is
    counted once when the ranks' sums are added)."""
    n, size, r = len(loader.dataset), world_size(), rank()
    part = Subset(loader.dataset, list(range(r * n // size, (r + 1) * n // size)))
    return DataLoader(part, batch_size=loader.batch_size, collate_fn=loader.collate_fn)


def all_reduce_meter(meter):
    """Add every rank's ``ClassificationMeter`` sums into ``meter`` (on every rank)."""
    sums = np.array([meter.loss.total, meter.loss.count, meter.correct, meter.topk_hits,
                     meter.count], dtype=np.float64)
    mpi.all_reduce(sums)
    meter.loss.total, meter.loss.count = float(sums[0]), int(round(sums[1]))
    meter.correct, meter.topk_hits, meter.count = (int(round(v)) for v in sums[2:])
    if meter.confusion is not None:
        mpi.all_reduce(meter.confusion)
    return meter


def gather_step(loss, n, interrupted):
    """One small collective per step: every rank's ``(loss, batch size, interrupted)``.

    Returns:
        ``(global mean loss, ranks whose loss is not finite, any rank interrupted)`` -- the
        same on every rank, so that all ranks stop together.
    """
    mine = np.array([loss, n, 1.0 if interrupted else 0.0], dtype=np.float64)
    everyone = np.empty((world_size(), 3), dtype=np.float64)
    mpi.all_gather_into_tensor(everyone, mine[None])
    bad = np.flatnonzero(~np.isfinite(everyone[:, 0])).tolist()
    total = float(everyone[:, 1].sum())
    mean = float((everyone[:, 0] * everyone[:, 1]).sum() / total) if total else float("nan")
    return mean, bad, bool(everyone[:, 2].any())
