"""DistributedSampler: each rank reads its own shard of a map-style dataset."""
import math

import numpy as np

from ..utils.data.sampler import Sampler
from . import mpi

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Split a dataset into ``num_replicas`` equal shards, one per rank (torch's semantics).

    Each pass: the index list is ``0 .. len-1`` (or, with ``shuffle``, a permutation seeded by
    ``seed + epoch``, identical on every rank); it is padded by repeating its head until its length
    divides by ``num_replicas`` (or, with ``drop_last``, cut down to a multiple); rank r takes
    positions ``r, r + num_replicas, r + 2 num_replicas, …``. So the ranks together visit every
    sample at least once and each rank yields ``num_samples`` indices. Call ``set_epoch(epoch)``
    before each epoch, or every epoch repeats the same order.

    The permutation comes from chainrule's PCG64 generator, so it differs from torch's for the
    same seed; the padding and striding are the same as torch's.

    Args:
        dataset: the dataset (only its length is used).
        num_replicas: the number of ranks (default: ``get_world_size()``).
        rank: this rank (default: ``get_rank()``).
        shuffle: permute the indices each epoch.
        seed: the base seed; must be the same on every rank.
        drop_last: drop the tail instead of padding, so no sample is seen twice.

    Example:
        >>> sampler = DistributedSampler(train_set, shuffle=True, seed=0)
        >>> loader = DataLoader(train_set, batch_size=64, sampler=sampler)
        >>> for epoch in range(epochs):
        ...     sampler.set_epoch(epoch)
        ...     for x, y in loader: ...
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None:
            num_replicas = mpi.get_world_size()
        if rank is None:
            rank = mpi.get_rank()
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got "
                             f"{num_replicas!r}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        self._start = self._yielded = 0      # resume position, indices produced this pass
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """Use the permutation of ``epoch`` in the next pass (same on every rank)."""
        self.epoch = int(epoch)

    def _all_indices(self):
        n = len(self.dataset)
        if self.shuffle:
            rng = np.random.Generator(np.random.PCG64(self.seed + self.epoch))
            indices = rng.permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0 and n > 0:
                indices = np.concatenate([indices, np.resize(indices, pad)])
        else:
            indices = indices[:self.total_size]
        return indices

    def __iter__(self):
        start, self._start = self._start, 0
        mine = self._all_indices()[self.rank:self.total_size:self.num_replicas]
        self._yielded = start
        for i in mine[start:].tolist():
            self._yielded += 1
            yield i

    def __len__(self):
        return self.num_samples

    def state_dict(self):
        """``{'epoch', 'num_yielded'}``: enough to resume this pass exactly."""
        return {"epoch": self.epoch, "num_yielded": self._yielded}

    def load_state_dict(self, state):
        """Make the next pass replay epoch ``state['epoch']`` from ``state['num_yielded']``."""
        self.epoch = int(state.get("epoch", self.epoch))
        self._start = int(state.get("num_yielded", 0))
