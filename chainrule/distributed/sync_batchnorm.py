"""SyncBatchNorm: batch normalisation with statistics over the batch of every rank."""
import numpy as np

from ..autograd import Function, grad_mode
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from ..ops import reshape, sqrt
from ..tensor import Tensor
from . import mpi

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm", "all_reduce_sum"]


class _AllReduceSum(Function):
    """y = Σ_ranks x; every rank holds y."""

    @staticmethod
    def forward(ctx, x):
        out = x.data.copy()
        mpi.all_reduce(out)
        return Tensor._make(out)

    @staticmethod
    def backward(ctx, grad_out):
        """d(Σ_r L_r)/dx = Σ_r dL_r/dy"""
        return _AllReduceSum.apply(grad_out)


def all_reduce_sum(tensor):
    """A differentiable all-reduce: the sum of ``tensor`` over the ranks (not in place).

    Its backward all-reduces the incoming gradient, so that every rank's input receives the
    gradient of the sum of all ranks' losses. Every rank must call it (and backward through it)
    in the same order.
    """
    if mpi.get_world_size() == 1:
        return tensor
    return _AllReduceSum.apply(tensor)


class SyncBatchNorm(_BatchNorm):
    r"""Batch normalisation whose mean and variance are taken over the batch of every rank.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} \gamma + \beta

    In training with more than one rank, the per-channel mean and (biased) variance are computed
    over all ranks' inputs together (two small all-reduces forward, two backward), so the result
    equals :class:`BatchNorm2d` on the concatenated global batch. Ranks may hold different batch
    sizes. In eval mode, or in a single process, it is ordinary batch normalisation. Every rank
    must run the layer (and its backward) the same number of times.

    Args:
        num_features: C. eps, momentum, affine, track_running_stats: as :class:`BatchNorm1d`.
        process_group: accepted for torch compatibility; the group is always every rank.

    Shape: input (N, C, *) with at least 2 dims; output the same.

    Example:
        >>> model = SyncBatchNorm.convert_sync_batchnorm(model)    # every BatchNorm*d replaced
        >>> model = DistributedDataParallel(model)
    """
    _layout = "(N, C, *)"
    _dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def forward(self, input):
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        if not use_batch or mpi.get_world_size() == 1:
            return super().forward(input)
        self._check_input_dim(input)
        c = self.num_features
        if input.shape[1] != c:
            raise RuntimeError(f"{self._short_repr()}: expected input (N, C, *) with C={c}, got "
                               f"{tuple(input.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] += 1
            self.num_batches_tracked._version[0] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        return _sync_batch_norm(input, self, factor)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every BatchNorm1d/2d/3d in ``module`` by a SyncBatchNorm sharing its
        parameters and buffers; returns the converted module (``module`` itself unless it is a
        batch norm layer)."""
        return convert_sync_batchnorm(module, process_group)


def _sync_batch_norm(x, bn, momentum):
    dims = (0,) + tuple(range(2, x.ndim))
    view = (1, -1) + (1,) * (x.ndim - 2)
    local_count = x.data.size // x.shape[1]
    counts = np.array([local_count], dtype=np.int64)
    mpi.all_reduce(counts)
    count = float(counts[0])
    mean = all_reduce_sum(x.sum(dim=dims)) / count
    centred = x - reshape(mean, view)
    var = all_reduce_sum((centred * centred).sum(dim=dims)) / count
    y = centred / sqrt(reshape(var, view) + bn.eps)
    if bn.weight is not None:
        y = y * reshape(bn.weight, view)
    if bn.bias is not None:
        y = y + reshape(bn.bias, view)
    if bn.training and bn.track_running_stats and bn.running_mean is not None:
        with grad_mode.no_grad():
            unbiased = var.data * (count / max(count - 1.0, 1.0))
            for running, stat in ((bn.running_mean, mean.data), (bn.running_var, unbiased)):
                running.data[...] = (running.data * (1 - momentum)
                                     + stat.astype(running.data.dtype) * momentum)
                running._version[0] += 1
    return y


def convert_sync_batchnorm(module, process_group=None):
    """Replace every BatchNorm1d/2d/3d in ``module`` by a :class:`SyncBatchNorm` that shares
    its parameters and buffers (torch's ``SyncBatchNorm.convert_sync_batchnorm``).

    Returns:
        The converted module: a new SyncBatchNorm if ``module`` is itself a batch norm layer,
        otherwise ``module`` with its batch norm children replaced.
    """
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        out = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
        if module.affine:
            out.weight, out.bias = module.weight, module.bias
        out.running_mean = module.running_mean
        out.running_var = module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
        return out
    if isinstance(module, Module):
        for name, child in list(module._modules.items()):
            if child is not None:
                new = convert_sync_batchnorm(child, process_group)
                if new is not child:
                    module._modules[name] = new
    return module
