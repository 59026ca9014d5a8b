"""Collectives and DistributedSampler on every rank; prints ``PASS <check>`` lines (run by
tests/test_distributed.py under ``mpiexec -n 2 python -m mpi4py``)."""
import numpy as np

import chainrule
import chainrule.distributed as dist
from chainrule.utils.data import DataLoader, TensorDataset

dist.init()
rank, size = dist.get_rank(), dist.get_world_size()
assert size >= 2, "run me under mpiexec -n 2 (or more)"
FLOATS = (chainrule.float16, chainrule.float32, chainrule.float64)
INTS = (chainrule.int8, chainrule.uint8, chainrule.int32, chainrule.int64)


def as_np(dtype):
    return chainrule.zeros(1, dtype=dtype).numpy().dtype


def check(name, got, want, tol=0.0):
    if not np.allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64),
                       rtol=tol, atol=tol):
        raise AssertionError(f"rank {rank}: {name}: got {got}, want {want}")


def rank_array(r, dtype):
    nd = as_np(dtype)
    base = np.arange(6).reshape(2, 3) * (r + 1) + r
    if nd == np.bool_:
        return (base % 3) == 0
    return base.astype(nd)


for dtype in FLOATS + INTS + (chainrule.bool,):
    every = np.stack([rank_array(r, dtype) for r in range(size)])
    ops = {"sum": every.sum(0), "max": every.max(0), "min": every.min(0)}
    if dtype in FLOATS:
        ops["avg"] = every.astype(np.float64).mean(0)
    if dtype == chainrule.bool:
        ops = {"sum": every.any(0), "max": every.any(0), "min": every.all(0)}
    for op, want in ops.items():
        t = chainrule.tensor(rank_array(rank, dtype))
        dist.all_reduce(t, op=op)
        assert t.dtype == dtype, (t.dtype, dtype)
        check(f"all_reduce {op} {dtype}", t.numpy(), want.astype(t.numpy().dtype),
              tol=1e-3 if dtype == chainrule.float16 else 0)
    src = size - 1
    t = chainrule.tensor(rank_array(rank, dtype))
    dist.broadcast(t, src=src)
    check(f"broadcast {dtype}", t.numpy(), rank_array(src, dtype))
    out = []
    dist.all_gather(out, chainrule.tensor(rank_array(rank, dtype)))
    for r in range(size):
        assert out[r].dtype == dtype
        check(f"all_gather {dtype}", out[r].numpy(), rank_array(r, dtype))
    whole = chainrule.zeros(2 * size, 3, dtype=dtype)
    dist.all_gather_into_tensor(whole, chainrule.tensor(rank_array(rank, dtype)))
    check(f"all_gather_into_tensor {dtype}", whole.numpy(),
          np.concatenate([rank_array(r, dtype) for r in range(size)]))
print(f"PASS collectives_dtypes rank={rank}", flush=True)

# non-contiguous and asynchronous
base = chainrule.tensor(rank_array(rank, chainrule.float32))
view = base.t()
dist.all_reduce(view)
check("non-contiguous", base.numpy(), sum(rank_array(r, chainrule.float32) for r in range(size)))
t = chainrule.full((1000,), float(rank))
work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
work.wait()
check("async avg", t.numpy(), np.full(1000, (size - 1) / 2))
print(f"PASS collectives_misc rank={rank}", flush=True)

# DistributedSampler through the DataLoader's public API
n = 11
ds = TensorDataset(chainrule.arange(n))
for drop_last in (False, True):
    sampler = dist.DistributedSampler(ds, shuffle=True, seed=3, drop_last=drop_last)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        mine = np.concatenate([b[0].numpy() for b in DataLoader(ds, batch_size=4,
                                                                sampler=sampler)])
        assert len(mine) == len(sampler) == sampler.num_samples
        gathered = []
        dist.all_gather(gathered, chainrule.tensor(mine))
        union = np.concatenate([g.numpy() for g in gathered])
        counts = np.bincount(union, minlength=n)
        if drop_last:
            assert len(union) == (n // size) * size and counts.max() == 1, counts
        else:
            assert len(union) == -(-n // size) * size and counts.min() >= 1, counts
            assert counts.sum() - n == len(union) - n
        orders.append(union)
    assert not all(np.array_equal(orders[0], o) for o in orders[1:]), "no reshuffle per epoch"
print(f"PASS sampler rank={rank}", flush=True)
dist.barrier()
print(f"DONE rank={rank}", flush=True)
