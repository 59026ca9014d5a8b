"""A job in which one rank fails while the others wait in a collective: it must stop every rank
quickly with a message naming the failing rank (run by tests/test_distributed.py).

Usage: worker_fail.py raise|nan
"""
import sys

import chainrule
import chainrule.distributed as dist

dist.init()
rank = dist.get_rank()
mode = sys.argv[1]
dist.barrier()
if mode == "raise":
    if rank == 1:
        raise ValueError("deliberate failure in the data pipeline")
    t = chainrule.ones(4)
    dist.all_reduce(t)             # rank 0 would wait here forever without the abort
    dist.barrier()
elif mode == "nan":
    loss = chainrule.tensor(float("nan") if rank == 1 else 1.0)
    dist.check_finite(loss)
    dist.barrier()
print(f"UNREACHABLE rank={rank}", flush=True)
