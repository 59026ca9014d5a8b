"""CIFAR-10 and CIFAR-100 from their binary (``.bin``) or python-batch files.

The python batches are read by a restricted opcode reader (``_batchfile``) that never runs
``pickle``; a file that names anything beyond the standard layout is rejected.
"""
import os

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset
from ._batchfile import read_batch_file

__all__ = ["CIFAR10", "CIFAR100"]

_PIXELS = 3 * 32 * 32


def _read_bin(path, label_bytes):
    with open(path, "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8)
    rec = label_bytes + _PIXELS
    if raw.size % rec:
        raise ValueError(f"CIFAR: {path}: size {raw.size} bytes is not a whole number of "
                         f"{rec}-byte records (truncated or not a CIFAR .bin file)")
    raw = raw.reshape(-1, rec)
    return raw[:, label_bytes:], raw[:, :label_bytes].astype(np.int64)


def _read_py(path, label_keys):
    d = read_batch_file(path)
    data = d.get("data")
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != _PIXELS:
        shape = getattr(data, "shape", type(data).__name__)
        raise ValueError(f"CIFAR: {path}: 'data' must be a uint8 array of shape (N, {_PIXELS}), "
                         f"got {shape}")
    labels = []
    for key in label_keys:
        lab = d.get(key)
        if not isinstance(lab, list) or len(lab) != len(data) or \
                not all(type(v) is int for v in lab):
            raise ValueError(f"CIFAR: {path}: {key!r} must be a list of {len(data)} ints")
        labels.append(np.asarray(lab, dtype=np.int64))
    return data, np.stack(labels, 1)


def _names(values):
    return [v.decode("latin1") if isinstance(v, bytes) else str(v) for v in values]


class CIFAR10(Dataset):
    """CIFAR-10: 32x32 colour images in 10 classes (50,000 train / 10,000 test).

    ``root`` is the folder holding ``cifar-10-batches-py`` (``data_batch_1..5``,
    ``test_batch``, ``batches.meta``) or ``cifar-10-batches-bin`` (``data_batch_1..5.bin``,
    ``test_batch.bin``, ``batches.meta.txt``), or one of those folders itself.

    Args:
        root: see above. Nothing is downloaded.
        train: the five training batches (True) or the test batch (False).
        transform: applied to each image, a ``(32, 32, 3)`` uint8 NumPy array (HWC).
        target_transform: applied to each label.
        classes: keep only these classes (names or indices) and relabel them ``0..k-1`` in the
            order given, e.g. ``classes=("cat", "dog")`` for a cats-vs-dogs classifier.

    Attributes:
        data: uint8 ``(N, 32, 32, 3)`` array; targets: list of int; classes; class_to_idx.

    Example:
        >>> ds = CIFAR10("~/data", classes=("cat", "dog"), transform=transforms.ToTensor())
        >>> img, label = ds[0]       # (3, 32, 32) float32, 0 (cat) or 1 (dog)
    """

    _folders = ("cifar-10-batches-py", "cifar-10-batches-bin")
    _default_classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                        "ship", "truck"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False,
                 classes=None):
        self.root, self.train = os.path.expanduser(str(root)), train
        self.transform, self.target_transform = transform, target_transform
        folder, binary = self._locate(download)
        images, labels = self._load(folder, binary)
        self.data = np.ascontiguousarray(images.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.targets = labels.tolist()
        self.classes = self._meta(folder, binary) or list(self._default_classes)
        if classes is not None:
            self._select(classes)

    def _files(self, binary):
        names = [f"data_batch_{i}" for i in range(1, 6)] if self.train else ["test_batch"]
        return [n + ".bin" for n in names] if binary else names

    def _locate(self, download):
        for sub in ("",) + self._folders:
            folder = os.path.join(self.root, sub)
            for binary in (False, True):
                if all(os.path.isfile(os.path.join(folder, f)) for f in self._files(binary)):
                    return folder, binary
        hint = " (chainrule never downloads; put the files there yourself)" if download else ""
        raise RuntimeError(f"{type(self).__name__}: dataset not found under {self.root}: "
                           f"expected {self._files(False)} or {self._files(True)} in it or in "
                           f"one of {list(self._folders)}{hint}")

    def _load(self, folder, binary):
        parts = []
        for name in self._files(binary):
            path = os.path.join(folder, name)
            parts.append(_read_bin(path, 1) if binary else _read_py(path, ["labels"]))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])[:, 0]

    def _meta(self, folder, binary):
        if binary:
            path = os.path.join(folder, "batches.meta.txt")
            if os.path.isfile(path):
                with open(path) as f:
                    return [s.strip() for s in f if s.strip()]
            return None
        path = os.path.join(folder, "batches.meta")
        return _names(read_batch_file(path)["label_names"]) if os.path.isfile(path) else None

    def _select(self, classes):
        keep = []
        for c in classes:
            if isinstance(c, str):
                if c not in self.classes:
                    raise ValueError(f"{type(self).__name__}: unknown class {c!r}; classes are "
                                     f"{self.classes}")
                c = self.classes.index(c)
            if not 0 <= int(c) < len(self.classes):
                raise ValueError(f"{type(self).__name__}: class index {c} out of range")
            keep.append(int(c))
        targets = np.asarray(self.targets, dtype=np.int64)
        remap = np.full(len(self.classes), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        mask = remap[targets] >= 0
        self.data = self.data[mask]
        self.targets = remap[targets[mask]].tolist()
        self.classes = [self.classes[c] for c in keep]

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img, target = self.data[index], self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def as_tensors(self):
        """All images as a uint8 Tensor ``(N, 32, 32, 3)`` and labels as int64 ``(N,)``."""
        return Tensor._make(self.data), Tensor._make(np.asarray(self.targets, dtype=np.int64))

    def __repr__(self):
        return (f"{type(self).__name__}(split={'train' if self.train else 'test'}, "
                f"samples={len(self)}, classes={len(self.classes)})")


class CIFAR100(CIFAR10):
    """CIFAR-100: 32x32 colour images in 100 fine classes grouped into 20 coarse ones.

    ``root`` holds ``cifar-100-python`` (``train``, ``test``, ``meta``) or ``cifar-100-binary``
    (``train.bin``, ``test.bin``, ``fine_label_names.txt``, ``coarse_label_names.txt``).
    ``label='coarse'`` uses the 20 super-classes as targets. Other arguments as ``CIFAR10``.
    """

    _folders = ("cifar-100-python", "cifar-100-binary")
    _default_classes = None

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False,
                 classes=None, label="fine"):
        if label not in ("fine", "coarse"):
            raise ValueError(f"CIFAR100: label must be 'fine' or 'coarse', got {label!r}")
        self.label = label
        super().__init__(root, train, transform, target_transform, download, classes)

    def _files(self, binary):
        name = "train" if self.train else "test"
        return [name + ".bin"] if binary else [name]

    def _load(self, folder, binary):
        path = os.path.join(folder, self._files(binary)[0])
        if binary:
            images, labels = _read_bin(path, 2)        # bytes: coarse, fine
        else:
            images, labels = _read_py(path, ["coarse_labels", "fine_labels"])
        return images, labels[:, 0 if self.label == "coarse" else 1]

    def _meta(self, folder, binary):
        n = 20 if self.label == "coarse" else 100
        if binary:
            path = os.path.join(folder, f"{self.label}_label_names.txt")
            if os.path.isfile(path):
                with open(path) as f:
                    return [s.strip() for s in f if s.strip()]
        else:
            path = os.path.join(folder, "meta")
            if os.path.isfile(path):
                return _names(read_batch_file(path)[f"{self.label}_label_names"])
        return [str(i) for i in range(n)]
