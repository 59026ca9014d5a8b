"""Data-parallel training over MPI (the optional extra ``chainrule[mpi]``: mpi4py + an MPI).

Launch one process per rank with ``mpiexec -n 4 python -m mpi4py train.py``. Outside ``mpiexec``,
or without mpi4py, everything works as a job of one process (rank 0 of world size 1). Importing
this package does not import mpi4py; ``init()`` (or the first call that needs MPI) does.

    import chainrule.distributed as dist
    dist.init()
    model = dist.DistributedDataParallel(model)
    loader = DataLoader(ds, batch_size=64, sampler=dist.DistributedSampler(ds))

See docs/distributed.md.
"""
from .mpi import (ReduceOp, Work, abort, all_gather, all_gather_into_tensor, all_reduce, barrier,
                  broadcast, check_finite, get_rank, get_world_size, init, init_process_group,
                  is_available, is_initialized, is_main_process, print0, scaled_batch_settings)
from .data_parallel import DistributedDataParallel
from .sampler import DistributedSampler
from .sync_batchnorm import SyncBatchNorm, all_reduce_sum, convert_sync_batchnorm

__all__ = ["ReduceOp", "Work", "init", "init_process_group", "is_available", "is_initialized",
           "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather",
           "all_gather_into_tensor", "check_finite", "is_main_process", "print0",
           "scaled_batch_settings", "DistributedDataParallel", "DistributedSampler",
           "SyncBatchNorm", "convert_sync_batchnorm", "all_reduce_sum", "abort"]
