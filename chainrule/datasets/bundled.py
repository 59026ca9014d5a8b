"""Data sets that ship inside the package (``chainrule/data/``): the 8x8 digits, plus helpers to
locate and checksum the bundled files (built by ``scripts/build_data.py``)."""
import gzip
import hashlib
import io
import os

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset

__all__ = ["Digits", "bundled_path", "verify_bundled"]

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def bundled_path(*parts):
    """The path of a bundled file, e.g. ``bundled_path('digits', 'digits.csv.gz')``."""
    path = os.path.join(DATA_DIR, *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"bundled data file {path} is missing (rebuild it with "
                                f"scripts/build_data.py)")
    return path


def verify_bundled():
    """Check every bundled file against ``SHA256SUMS``; returns the list of files checked.

    Raises:
        RuntimeError: naming each file whose checksum differs or that is missing.
    """
    with open(os.path.join(DATA_DIR, "SHA256SUMS")) as f:
        entries = [line.split(None, 1) for line in f if line.strip()]
    bad = []
    for digest, name in entries:
        name = name.strip()
        path = os.path.join(DATA_DIR, name)
        if not os.path.exists(path):
            bad.append(f"{name} (missing)")
            continue
        with open(path, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() != digest:
                bad.append(f"{name} (checksum mismatch)")
    if bad:
        raise RuntimeError("bundled data is damaged: " + ", ".join(bad))
    return [name.strip() for _, name in entries]


class Digits(Dataset):
    """The 8x8 handwritten digits (1,797 images, UCI optdigits; bundled, no download).

    Pixels are counts 0..16 in the file; images are returned as float32 ``(8, 8)`` arrays scaled
    to ``[0, 1]`` (divided by 16). The file has no official split, so ``train=True`` takes the
    first 1,437 rows, ``train=False`` the last 360, and ``train=None`` all of them.

    Args:
        train: which rows (see above).
        transform: applied to each image (e.g. ``transforms.ToTensor()`` gives ``(1, 8, 8)``).
        target_transform: applied to each label (int 0-9).

    Attributes:
        data: float32 Tensor ``(N, 8, 8)``; targets: int64 Tensor ``(N,)``; classes.

    Example:
        >>> x, y = Digits(train=True).data.reshape(-1, 64), Digits(train=True).targets
    """

    classes = [str(i) for i in range(10)]
    n_train = 1437

    def __init__(self, root=None, train=True, transform=None, target_transform=None):
        path = os.path.join(root, "digits.csv.gz") if root else bundled_path("digits",
                                                                             "digits.csv.gz")
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(io.StringIO(f.read()), delimiter=",", dtype=np.float32)
        if table.ndim != 2 or table.shape[1] != 65:
            raise ValueError(f"Digits: {path}: expected rows of 64 pixels and a label, got "
                             f"shape {table.shape}")
        rows = slice(None) if train is None else \
            slice(None, self.n_train) if train else slice(self.n_train, None)
        table = table[rows]
        self.train, self.transform, self.target_transform = train, transform, target_transform
        self._images = np.ascontiguousarray(table[:, :64].reshape(-1, 8, 8) / np.float32(16))
        self._labels = table[:, 64].astype(np.int64)

    @property
    def data(self):
        return Tensor._make(self._images)

    @property
    def targets(self):
        return Tensor._make(self._labels)

    def __len__(self):
        return len(self._labels)

    def __getitem__(self, index):
        img, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self):
        split = "all" if self.train is None else "train" if self.train else "test"
        return f"Digits(split={split}, samples={len(self)})"
