"""``chainrule train`` under MPI when one rank fails (its data cannot be read): the command must
print one line naming the rank and stop every rank within seconds, even when not started through
``python -m mpi4py`` (run by tests/test_distributed.py).

Usage: worker_cli_fail.py OUT_DIR
"""
import sys

import chainrule.distributed as dist
import chainrule.training.run as run
from chainrule.cli import main

original = run.load_splits


def load_splits(config):
    if dist.get_rank() == 1:
        raise OSError(f"deliberate failure reading {config.data} on this rank")
    return original(config)


run.load_splits = load_splits
status = main(["train", "--data", "digits", "--epochs", "1", "--limit-train", "64",
               "--limit-test", "32", "--no-plots", "--out", sys.argv[1]])
print(f"UNREACHABLE rank={dist.get_rank()} status={status}", flush=True)
sys.exit(status)
