"""Samplers: the order in which a DataLoader visits a map-style dataset.

Random samplers draw one 63-bit *epoch seed* from a chainrule ``Generator`` (the default generator
unless one is passed) at the start of each pass and build that pass's permutation from it. The seed
and the number of indices already produced are the sampler's state: ``state_dict()`` returns them
and ``load_state_dict()`` makes the next pass replay the same permutation from that position, which
is how a training run resumes mid-epoch exactly.
"""
import numpy as np

from ...random import default_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _draw_seed(generator=None):
    return int((generator or default_generator).rng.integers(0, 2 ** 63 - 1, dtype=np.int64))


def _rng_from_seed(seed):
    return np.random.Generator(np.random.PCG64(seed))


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(value, name):
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be a boolean value, but got {name}={value}")


class Sampler:
    """Base class: an iterable over dataset indices (``__iter__``; ``__len__`` when known).

    Subclasses that support exact resume implement ``state_dict`` / ``load_state_dict``; the
    base versions describe a sampler with no randomness.
    """

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError

    # Resume machinery: ``_resume`` is consumed by the next ``_begin``.
    _resume = None
    _seed = None
    _num_yielded = 0

    def state_dict(self):
        """``{'seed': epoch seed or None, 'num_yielded': indices produced this pass}``."""
        return {"seed": self._seed, "num_yielded": self._num_yielded}

    def load_state_dict(self, state):
        """Make the next pass reuse ``state['seed']`` and skip ``state['num_yielded']`` indices."""
        self._resume = (state.get("seed"), int(state.get("num_yielded", 0)))

    def _begin(self, generator=None, random=True):
        seed, start = self._resume or (None, 0)
        self._resume = None
        if random and seed is None:
            seed = _draw_seed(generator)
        self._seed, self._num_yielded = seed, start
        return seed, start

    def _emit(self, indices, start):
        rest = indices[start:]
        for i in (rest.tolist() if isinstance(rest, np.ndarray) else rest):
            self._num_yielded += 1
            yield i


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        _, start = self._begin(random=False)
        return self._emit(np.arange(len(self.data_source)), start)

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Indices in a random order: a fresh permutation each pass, or draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw ``num_samples`` indices independently (with repeats) if True.
        num_samples: how many indices per pass (default ``len(data_source)``); without
            replacement and more than ``len(data_source)``, whole permutations are chained.
        generator: the ``chainrule.Generator`` that draws each pass's seed (default generator
            when None).

    Example:
        >>> chainrule.manual_seed(0)
        >>> list(RandomSampler(range(5)))      # the same list after every manual_seed(0)
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        _check_bool(replacement, "replacement")
        if num_samples is not None:
            _check_positive_int(num_samples, "num_samples")
        self.data_source, self.replacement = data_source, replacement
        self._num_samples, self.generator = num_samples, generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        seed, start = self._begin(self.generator)
        rng, n, k = _rng_from_seed(seed), len(self.data_source), self.num_samples
        if n == 0:
            indices = np.zeros(0, dtype=np.int64)
        elif self.replacement:
            indices = rng.integers(0, n, size=k, dtype=np.int64)
        else:
            parts = [rng.permutation(n) for _ in range(-(-k // n))]
            indices = np.concatenate(parts)[:k]
        return self._emit(indices, start)

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices, in a random order each pass (no replacement)."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, generator

    def __iter__(self):
        seed, start = self._begin(self.generator)
        order = _rng_from_seed(seed).permutation(len(self.indices))
        idx = self.indices
        return self._emit([idx[i] for i in order.tolist()], start)

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """Indices ``0..len(weights)-1`` drawn with probability proportional to ``weights``.

    Args:
        weights: a 1-d sequence of non-negative weights (need not sum to one).
        num_samples: how many indices per pass.
        replacement: with replacement (default) or each index at most once.
        generator: the ``chainrule.Generator`` that draws each pass's seed.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _check_positive_int(num_samples, "num_samples")
        _check_bool(replacement, "replacement")
        w = np.asarray(weights.data if hasattr(weights, "data") and not isinstance(
            weights, np.ndarray) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "have a positive sum")
        if not replacement and num_samples > np.count_nonzero(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {num_samples} samples without "
                               f"replacement from {np.count_nonzero(w)} non-zero weights")
        self.weights, self.num_samples = w, int(num_samples)
        self.replacement, self.generator = replacement, generator

    def __iter__(self):
        seed, start = self._begin(self.generator)
        p = self.weights / self.weights.sum()
        indices = _rng_from_seed(seed).choice(len(p), size=self.num_samples,
                                              replace=self.replacement, p=p)
        return self._emit(indices.astype(np.int64), start)

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler: any iterable of indices.
        batch_size: indices per batch (a positive int).
        drop_last: drop the final batch if it is smaller than ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), 2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        _check_positive_int(batch_size, "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        return self._batches(iter(self.sampler))   # iter() now: a random sampler seeds eagerly

    def _batches(self, it):
        batch = []
        for i in it:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def state_dict(self):
        return self.sampler.state_dict() if hasattr(self.sampler, "state_dict") else {}

    def load_state_dict(self, state):
        if hasattr(self.sampler, "load_state_dict"):
            self.sampler.load_state_dict(state)
