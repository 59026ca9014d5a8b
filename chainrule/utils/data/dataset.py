"""Datasets: map-style (``__getitem__`` + ``__len__``) and iterable-style, with PyTorch's API."""
import bisect
import math
import warnings

import numpy as np

from ...random import default_generator
from ...tensor import Tensor

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset",
           "ChainDataset", "random_split"]


class Dataset:
    """A map-style dataset: ``dataset[i]`` returns sample ``i``; ``len(dataset)`` their number.

    Subclasses implement ``__getitem__`` and ``__len__``. ``a + b`` concatenates two datasets.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses implement ``__iter__`` (``__len__`` optional).

    With ``num_workers > 0`` the DataLoader reads the stream in one background thread, so the
    samples are not duplicated across workers.
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are slices along the first dimension of the given tensors.

    Args:
        *tensors: Tensors (or NumPy arrays) with the same size of dimension 0.

    Example:
        >>> ds = TensorDataset(chainrule.randn(100, 3), chainrule.arange(100))
        >>> x, y = ds[0]          # x: (3,), y: ()
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        tensors = tuple(t if isinstance(t, Tensor) else Tensor._make(np.asarray(t))
                        for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if any(s != sizes[0] for s in sizes) or sizes[0] is None:
            raise ValueError(f"TensorDataset: size mismatch between tensors: dimension 0 sizes "
                             f"are {sizes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    def _get_batch(self, indices):
        """The collated batch for ``indices`` in one gather per tensor (DataLoader fast path)."""
        if any(t.requires_grad for t in self.tensors):
            return None
        idx = np.asarray(indices, dtype=np.int64)
        return [Tensor._make(t.data[idx]) for t in self.tensors]


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices`` (in that order)."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after another: index ``len(a)`` is ``b[0]``.

    Attributes:
        cumulative_sizes: running totals of the lengths.
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not "
                                 f"exceed dataset length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        d = bisect.bisect_right(self.cumulative_sizes, index)
        offset = self.cumulative_sizes[d - 1] if d else 0
        return self.datasets[d][index - offset]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into non-overlapping ``Subset``s of the given lengths.

    Args:
        dataset: a map-style dataset.
        lengths: integer lengths that sum to ``len(dataset)``, or fractions that sum to 1 (each
            part gets ``floor(frac * n)``; the remainder goes round-robin to the first parts).
        generator: a ``chainrule.Generator`` (default generator when None).

    Returns:
        A list of ``Subset``.

    Example:
        >>> g = chainrule.Generator().manual_seed(0)
        >>> train, val = random_split(ds, [0.8, 0.2], generator=g)
    """
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(0 <= x <= 1 for x in lengths) and math.isclose(sum(lengths), 1) \
            and sum(lengths) <= 1 + 1e-9 and not all(isinstance(x, int) for x in lengths):
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, s in enumerate(sizes):
            if s == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                              f"result in an empty dataset")
        lengths = sizes
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions "
                         f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal "
                         f"the length of the input dataset ({n})")
    perm = (generator or default_generator).rng.permutation(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + int(length)]))
        offset += int(length)
    return out
