"""DistributedDataParallel and SyncBatchNorm against one process on the full batch; prints
``PASS <check>`` lines (run by tests/test_distributed.py under mpiexec -n 2)."""
import copy

import numpy as np

import chainrule
import chainrule.distributed as dist
import chainrule.nn as nn
import chainrule.nn.functional as F

dist.init()
rank, size = dist.get_rank(), dist.get_world_size()
LOCAL = 4                     # rows per rank; the reference sees LOCAL * size rows


class Net(nn.Module):
    """An MLP with a weight used twice (two gradient deliveries) and an optional unused layer."""

    def __init__(self, unused=False):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.shared = nn.Linear(16, 16)
        self.fc2 = nn.Linear(16, 3)
        if unused:
            self.spare = nn.Linear(3, 3)

    def forward(self, x):
        h = self.fc1(x).tanh()
        h = self.shared(self.shared(h).tanh()).tanh()
        return self.fc2(h)


def data(step, rows):
    rng = np.random.default_rng(100 + step)
    x = rng.standard_normal((rows, 6)).astype(np.float32)
    y = rng.standard_normal((rows, 3)).astype(np.float32)
    return chainrule.tensor(x), chainrule.tensor(y)


def local(t):
    return t[rank * LOCAL:(rank + 1) * LOCAL]


def assert_close(name, a, b, rtol=2e-5, atol=2e-6):
    a, b = np.asarray(a), np.asarray(b)
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        raise AssertionError(f"rank {rank}: {name}: max abs diff {np.abs(a - b).max()}")


def assert_same_on_all_ranks(name, model):
    for pname, p in model.named_parameters():
        gathered = []
        dist.all_gather(gathered, p.detach())
        for r, g in enumerate(gathered):
            if not np.array_equal(g.data, p.data):
                raise AssertionError(f"{name}: {pname} differs between rank {rank} and {r}")


def train_compare(name, make_opt, steps=20, overlap=True, bucket_cap_mb=0.0005, unused=False):
    chainrule.manual_seed(rank)              # different init per rank: DDP must broadcast rank 0's
    model = Net(unused)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=bucket_cap_mb, overlap=overlap,
                                       find_unused_parameters=unused)
    assert len(ddp._buckets) > 1, "the test wants several buckets"
    ref = copy.deepcopy(model)
    opt, opt_ref = make_opt(ddp.parameters()), make_opt(ref.parameters())
    for step in range(steps):
        x, y = data(step, LOCAL * size)
        opt.zero_grad()
        F.mse_loss(ddp(local(x)), local(y)).backward()
        opt.step()
        opt_ref.zero_grad()
        F.mse_loss(ref(x), y).backward()
        opt_ref.step()
    for (pname, p), q in zip(model.named_parameters(), ref.parameters()):
        assert_close(f"{name} {pname}", p.data, q.data)
        if unused and pname.startswith("spare"):
            assert p.grad is None, "a parameter unused on every rank keeps grad None"
    assert_same_on_all_ranks(name, model)
    print(f"PASS {name} rank={rank}", flush=True)


train_compare("ddp_sgd", lambda ps: chainrule.optim.SGD(ps, lr=0.1, momentum=0.9,
                                                        weight_decay=1e-3))
train_compare("ddp_adam", lambda ps: chainrule.optim.Adam(ps, lr=1e-2))
train_compare("ddp_sgd_no_overlap", lambda ps: chainrule.optim.SGD(ps, lr=0.1), steps=5,
              overlap=False, bucket_cap_mb=25 * 1e-5)
train_compare("ddp_unused_param", lambda ps: chainrule.optim.SGD(ps, lr=0.1, weight_decay=0.1),
              steps=3, unused=True)

# no_sync: two micro-batches accumulated, one averaging step
chainrule.manual_seed(0)
model = Net()
ddp = dist.DistributedDataParallel(model, bucket_cap_mb=0.0005)
ref = copy.deepcopy(model)
(x1, y1), (x2, y2) = data(50, LOCAL * size), data(51, LOCAL * size)
with ddp.no_sync():
    F.mse_loss(ddp(local(x1)), local(y1)).backward()
before = {n: p.grad.data.copy() for n, p in model.named_parameters()}
F.mse_loss(ddp(local(x2)), local(y2)).backward()
(F.mse_loss(ref(x1), y1) + F.mse_loss(ref(x2), y2)).backward()
for (pname, p), q in zip(model.named_parameters(), ref.parameters()):
    assert_close(f"no_sync {pname}", p.grad.data, q.grad.data)
gathered = []
dist.all_gather(gathered, chainrule.tensor(before["fc1.weight"]))
assert not np.array_equal(gathered[0].data, gathered[1].data), "no_sync reduced grads"
print(f"PASS ddp_no_sync rank={rank}", flush=True)

# state_dict: torch's "module." prefix; load accepts both forms
sd = ddp.state_dict()
assert all(k.startswith("module.") for k in sd)
ddp.load_state_dict(model.state_dict())
ddp.load_state_dict(sd)
print(f"PASS ddp_state_dict rank={rank}", flush=True)

# SyncBatchNorm == BatchNorm1d on the full batch (forward, running stats, grads, 5 SGD steps)
chainrule.manual_seed(0)
net = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
ref = copy.deepcopy(net)
sync = dist.DistributedDataParallel(dist.SyncBatchNorm.convert_sync_batchnorm(net))
assert isinstance(net[1], dist.SyncBatchNorm)
opt = chainrule.optim.SGD(sync.parameters(), lr=0.1)
opt_ref = chainrule.optim.SGD(ref.parameters(), lr=0.1)
for step in range(5):
    rng = np.random.default_rng(step)
    x = chainrule.tensor(rng.standard_normal((LOCAL * size, 5)).astype(np.float32) * 3 + 1)
    xl = local(x).detach().requires_grad_(True)
    xr = x.detach().requires_grad_(True)
    opt.zero_grad()
    out = sync(xl)
    (out ** 2).mean().backward()
    opt_ref.zero_grad()
    out_ref = ref(xr)
    (out_ref ** 2).mean().backward()
    assert_close("syncbn forward", out.data, local(out_ref).data)
    assert_close("syncbn input grad", xl.grad.data / size, local(xr.grad).data)
    opt.step()
    opt_ref.step()
for (pname, p), q in zip(net.state_dict().items(), ref.state_dict().values()):
    assert_close(f"syncbn {pname}", p.data, q.data)
net.eval()
ref.eval()
x = chainrule.randn(3, 5)
assert_close("syncbn eval", net(x).data, ref(x).data)
print(f"PASS syncbn rank={rank}", flush=True)
dist.barrier()
print(f"DONE rank={rank}", flush=True)
