"""DistributedDataParallel: one model replica per rank, gradients averaged during backward."""
import contextlib
import time
import zlib

import numpy as np

from ..autograd import engine, grad_mode
from ..nn.modules.module import Module
from ..tensor import Tensor
from . import mpi

__all__ = ["DistributedDataParallel"]


class _Bucket:
    """Parameters whose gradients are reduced together, as one flat array of one dtype."""

    def __init__(self, index, params, dtype):
        self.index, self.params = index, params
        sizes = [p.data.size for p in params]
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.views = [self.flat[a:b].reshape(p.data.shape)
                      for a, b, p in zip(offsets, offsets[1:], params)]
        self.work = None


class DistributedDataParallel(Module):
    """Data parallelism across MPI ranks: each rank runs the same model on its own share of
    each batch, and gradients are averaged over the ranks during ``backward``.

    At wrap time rank 0's parameters and buffers are broadcast (in sorted-name order) so that
    every replica starts identical. In ``backward`` each parameter's gradient is counted as it
    arrives; gradients are packed into fused buckets of about ``bucket_cap_mb`` and each bucket
    starts a non-blocking all-reduce (MPI ``Iallreduce``) as soon as all its gradients are there,
    in the same bucket order on every rank, so communication overlaps the rest of backward.
    Before ``backward`` returns, every reduction is waited for and each ``param.grad`` holds the
    average over the ranks, so ``optimizer.step()`` needs no change. With ``overlap=False`` all
    buckets are reduced after backward instead.

    Because each rank's loss is the mean over its local batch, the averaged gradient is the
    gradient of the mean loss over the global batch (``world_size ×`` the local batch).

    BatchNorm statistics stay local to each rank (as in torch); with ``broadcast_buffers`` the
    buffers (running statistics) are copied from rank 0 at each training forward. Use
    :class:`SyncBatchNorm` (``SyncBatchNorm.convert_sync_batchnorm(model)``) for statistics
    over the global batch.

    ``state_dict()`` keys carry torch's ``module.`` prefix (the wrapped model is the child
    ``module``); ``load_state_dict`` accepts keys with or without it. Save ``ddp.module``'s
    state dict (on rank 0 only) to get checkpoints that load into an unwrapped model.

    Args:
        module: the model (the same architecture on every rank).
        broadcast_buffers: copy rank 0's buffers to every rank at each training forward.
        bucket_cap_mb: the size of a gradient bucket in MiB.
        overlap: reduce buckets during backward (True) or all after it (False).
        device_ids, output_device, dim, find_unused_parameters, gradient_as_bucket_view:
            accepted for torch compatibility. Unused parameters are always handled: a gradient
            missing on some ranks counts as zero there, and a parameter without a gradient on
            every rank keeps ``grad`` None. Gradients always live in the buckets (after the
            first synchronised backward ``param.grad`` is a view of a bucket).

    Example:
        >>> dist.init()
        >>> model = DistributedDataParallel(Net())
        >>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1)
        >>> loss = F.cross_entropy(model(x_local), y_local)
        >>> opt.zero_grad(); loss.backward(); opt.step()     # grads averaged over the ranks
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, bucket_cap_mb=25, find_unused_parameters=False,
                 gradient_as_bucket_view=True, overlap=True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a chainrule.nn.Module, got "
                            f"{type(module).__name__}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.bucket_cap_mb = bucket_cap_mb
        self.overlap = overlap
        self.world_size = mpi.get_world_size()
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_same_model(named)
        self._sync_tensors([p for _, p in sorted(named, key=lambda np_: np_[0])])
        self._sync_tensors(self._sorted_buffers())
        self._params = [p for _, p in named]
        self._buckets = self._make_buckets()
        self._slot = {}            # id(param) -> (bucket index, position in bucket)
        for b in self._buckets:
            for k, p in enumerate(b.params):
                self._slot[id(p)] = (b.index, k)
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._step_used = np.zeros(len(self._params), dtype=np.uint8)
        self._step = None          # the state of the backward pass being synchronised
        self.comm_time = 0.0       # seconds spent waiting for reductions (for benchmarks)
        if self.world_size > 1:
            for p in self._params:
                p.register_hook(self._make_hook(p))

    # ---- wrap time ----
    def _sorted_buffers(self):
        return [b for _, b in sorted(self.module.named_buffers(), key=lambda nb: nb[0])]

    def _check_same_model(self, named):
        if self.world_size == 1:
            return
        text = ";".join(f"{n}:{tuple(p.shape)}:{p.data.dtype}" for n, p in named)
        mine = np.array([zlib.crc32(text.encode())], dtype=np.int64)
        every = np.empty(self.world_size, dtype=np.int64)
        mpi.all_gather_into_tensor(every, mine)
        differ = np.flatnonzero(every != every[0]).tolist()
        if differ:
            raise RuntimeError(f"DistributedDataParallel: the model's parameters (names, shapes "
                               f"or dtypes) differ between rank 0 and rank(s) {differ}")

    def _sync_tensors(self, tensors):
        """Broadcast ``tensors`` from rank 0, packed into one flat array per dtype."""
        if self.world_size == 1 or not tensors:
            return
        groups = {}
        for t in tensors:
            groups.setdefault(t.data.dtype.str, []).append(t)
        for key in sorted(groups):
            group = groups[key]
            flat = np.concatenate([t.data.reshape(-1) for t in group])
            mpi.broadcast(flat, src=0)
            offset = 0
            for t in group:
                n = t.data.size
                t.data[...] = flat[offset:offset + n].reshape(t.data.shape)
                t._version[0] += 1
                offset += n

    def _make_buckets(self):
        """Buckets in reverse registration order (about the order backward produces grads)."""
        cap = max(1, int(self.bucket_cap_mb * 2 ** 20))
        buckets, open_ = [], {}          # dtype -> (params, bytes)
        for p in reversed(self._params):
            key = p.data.dtype.str
            params, size = open_.get(key, ([], 0))
            params.append(p)
            size += p.data.nbytes
            if size >= cap:
                buckets.append(_Bucket(len(buckets), params, p.data.dtype))
                params, size = [], 0
            open_[key] = (params, size)
        for key, (params, _) in open_.items():
            if params:
                buckets.append(_Bucket(len(buckets), params, params[0].data.dtype))
        return buckets

    # ---- forward ----
    def forward(self, *inputs, **kwargs):
        if self.world_size > 1 and grad_mode.is_grad_enabled() and self.training:
            if self.broadcast_buffers:
                self._sync_tensors(self._sorted_buffers())
        out = self.module(*inputs, **kwargs)
        if (self.world_size > 1 and grad_mode.is_grad_enabled()
                and self.require_backward_grad_sync and self._params):
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, out):
        """Count how many gradient deliveries each parameter will get from ``out``'s graph."""
        if self._step is None:
            self._step = {"expected": {}, "fired": {},
                          "remaining": None, "launched": 0, "late": [], "queued": False}
        expected = self._step["expected"]      # id(param) -> number of deliveries
        outs = _tensors_in(out)
        stack = [t.grad_fn for t in outs if t.grad_fn is not None]
        for t in outs:
            if t.grad_fn is None and id(t) in self._slot:
                expected[id(t)] = expected.get(id(t), 0) + 1
        seen = set(stack)
        while stack:
            node = stack.pop()
            for edge in node.next_edges:
                if edge is None:
                    continue
                target, nr = edge
                if nr is None:
                    if id(target) in self._slot:
                        expected[id(target)] = expected.get(id(target), 0) + 1
                elif target not in seen:
                    seen.add(target)
                    stack.append(target)
        need = [0] * len(self._buckets)
        for pid in expected:
            need[self._slot[pid][0]] += 1
        self._step["remaining"] = need

    # ---- backward ----
    def _make_hook(self, param):
        pid = id(param)

        def hook(grad):
            step = self._step
            if step is None or step["remaining"] is None:
                return None
            if not step["queued"]:
                step["queued"] = True
                engine.queue_callback(self._finish_backward)
            if self.overlap:
                self._launch_ready(step)
            b, k = self._slot[pid]
            fired = step["fired"].get(pid, 0) + 1
            step["fired"][pid] = fired
            if b < step["launched"]:
                step["late"].append(param)
            elif fired == step["expected"].get(pid, 0):
                step["remaining"][b] -= 1
            return None
        return hook

    def _launch_ready(self, step):
        """Start the reductions of complete buckets, strictly in bucket order."""
        active = [b.work for b in self._buckets[:step["launched"]] if b.work is not None]
        for w in active:
            w.is_completed()             # lets MPI progress the reductions already started
        while (step["launched"] < len(self._buckets)
               and step["remaining"][step["launched"]] <= 0):
            self._launch(self._buckets[step["launched"]])
            step["launched"] += 1

    def _launch(self, bucket):
        used = self._step_used
        for p, view in zip(bucket.params, bucket.views):
            g = p.grad
            used[self._index[id(p)]] = g is not None
            if g is None:
                view[...] = 0
            elif g.data is not view:
                view[...] = g.data
            if g is None or g.data is not view:
                p.grad = Tensor._make(view)
        bucket.work = mpi.all_reduce(bucket.flat, mpi.ReduceOp.SUM, async_op=True)

    def _finish_backward(self):
        step, self._step = self._step, None
        if step is None:
            return
        start = time.perf_counter()
        while step["launched"] < len(self._buckets):
            self._launch(self._buckets[step["launched"]])
            step["launched"] += 1
        # Which parameters had a gradient on some rank: the others keep grad None (as torch).
        used = self._step_used.copy()
        used_work = mpi.all_reduce(used, mpi.ReduceOp.MAX, async_op=True)
        scale = 1.0 / self.world_size
        for b in self._buckets:
            b.work.wait()
            b.work = None
            b.flat *= b.flat.dtype.type(scale)
            for p in b.params:
                p.grad._version[0] += 1
        used_work.wait()
        for i in np.flatnonzero(used == 0).tolist():
            self._params[i].grad = None
        self.comm_time += time.perf_counter() - start
        if step["late"]:
            names = {id(p): n for n, p in self.module.named_parameters()}
            late = sorted({names.get(id(p), "?") for p in step["late"]})
            raise RuntimeError(
                f"DistributedDataParallel (rank {mpi.get_rank()}): parameter(s) {late} received a "
                "gradient after their bucket was reduced: the loss uses them outside the wrapped "
                "module's forward; pass overlap=False or compute it inside forward")

    # ---- accumulation and state ----
    @contextlib.contextmanager
    def no_sync(self):
        """Skip gradient averaging for the backward of forwards run inside this block.

        Gradients accumulate locally in ``.grad``; the first backward outside the block averages
        the accumulated sum.

        Example:
            >>> with ddp.no_sync():
            ...     ddp(x1).sum().backward()       # local accumulation only
            >>> ddp(x2).sum().backward()           # averages the gradients of x1 and x2
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Load a state dict with torch's ``module.``-prefixed keys or the plain model's keys."""
        if state_dict and not any(k.startswith("module.") for k in state_dict):
            state_dict = {"module." + k: v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def extra_repr(self):
        return f"world_size={self.world_size}, buckets={len(self._buckets)}"


def _tensors_in(obj):
    """The Tensors in a (nested) output: a Tensor, tuple, list or dict."""
    found, stack = [], [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            found.append(o)
        elif isinstance(o, (tuple, list)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
    return found
