"""The MNIST family: an IDX file reader and MNIST, FashionMNIST, KMNIST and EMNIST datasets.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the values in C order (big-endian). Files may be gzip-compressed (``.gz``).
"""
import glob
import math
import os
import string
import struct
import zlib

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset

__all__ = ["read_idx", "MNIST", "FashionMNIST", "KMNIST", "EMNIST"]

_IDX_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
BUNDLED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
SYSTEM_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path, expected_ndim=None):
    """Read an IDX file (raw or ``.gz``) into a NumPy array, validating its header.

    Args:
        path: the file.
        expected_ndim: if given, the number of dimensions the file must have (3 for images,
            1 for labels).

    Returns:
        An array of the file's shape; uint8 files stay uint8, wider types become native-endian.

    Raises:
        ValueError: naming the file and the problem (bad magic, unknown type, wrong number of
            dimensions, truncated or oversized data, corrupt gzip stream).
    """
    with open(path, "rb") as f:
        raw = f.read()
    gz = raw[:2] == b"\x1f\x8b"                   # gzip magic, whatever the file is called
    if gz:
        raw = _gunzip(raw, path, expected_ndim)
    dtype, dims, header, need = _parse_header(raw, path, expected_ndim)
    have = len(raw) - header
    if have != need:
        what = "truncated" if have < need else "has trailing bytes"
        holds = "more" if gz and have > need else str(have)
        raise ValueError(f"read_idx: {path}: {what}: the header says shape {tuple(dims)} of "
                         f"{dtype.name} ({need} bytes of data), the file holds {holds}")
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr if dtype.itemsize == 1 else arr.astype(dtype.newbyteorder("="))


def _parse_header(raw, path, expected_ndim):
    """``(dtype, dims, header bytes, data bytes)`` from the start of an IDX file."""
    if len(raw) < 4:
        raise ValueError(f"read_idx: {path}: file too short for an IDX header ({len(raw)} bytes)")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path}: bad magic number 0x{raw[:4].hex()} (expected "
                         f"0x0000 then a type code in {sorted(hex(c) for c in _IDX_TYPES)} and "
                         f"the number of dimensions)")
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"read_idx: {path}: expected {expected_ndim} dimensions, the header "
                         f"says {ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path}: truncated header: {ndim} dimensions need {header} "
                         f"bytes, the file has {len(raw)}")
    dims = struct.unpack(">" + "I" * ndim, raw[4:header])
    dtype = _IDX_TYPES[code]
    return dtype, dims, header, math.prod(dims) * dtype.itemsize    # Python ints: no overflow


def _gunzip(raw, path, expected_ndim):
    """Decompress a gzip IDX file (one or more members), never to more than its header declares
    plus one byte, so a gzip bomb behind a small header stops at that header's size."""
    stream, out, pending = zlib.decompressobj(16 + zlib.MAX_WBITS), bytearray(), raw

    def pull(limit):
        nonlocal stream, pending
        while len(out) < limit:
            if stream.eof:
                rest = stream.unused_data
                if not rest.strip(b"\0"):                 # the end (zero padding allowed)
                    return
                stream, pending = zlib.decompressobj(16 + zlib.MAX_WBITS), rest
            if not pending:
                raise ValueError(f"read_idx: {path}: the gzip stream is corrupt or truncated "
                                 f"(it ends after {len(out)} bytes)")
            out.extend(stream.decompress(pending, min(limit - len(out), 1 << 24)))
            pending = stream.unconsumed_tail

    try:
        pull(4 + 4 * 255)                                  # the longest possible header
        _, _, header, need = _parse_header(bytes(out[:4 + 4 * 255]), path, expected_ndim)
        pull(header + need + 1)
    except zlib.error as e:
        raise ValueError(f"read_idx: {path}: the gzip stream is corrupt or truncated ({e})") \
            from None
    return bytes(out)


def _find(folder, stem):
    for name in (stem, stem + ".gz"):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    return None


def _need(folder, stem, who):
    path = _find(folder, stem)
    if path is None:
        raise RuntimeError(f"{who}: {os.path.join(folder, stem)}[.gz] not found")
    return path


class MNIST(Dataset):
    """MNIST handwritten digits from IDX files (28x28 uint8 images, labels 0-9).

    Looks for ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``root``,
    ``root/<ClassName>/raw`` (torchvision's layout) or ``root/<ClassName>``. Nothing is downloaded.

    Args:
        root: the folder holding the files.
        train: the training split (True) or the test split (False).
        transform: applied to each image (a ``(28, 28)`` uint8 NumPy array), e.g.
            ``transforms.ToTensor()``.
        target_transform: applied to each label (an int).
        download: not supported (raises if True and the files are missing).

    Attributes:
        data: uint8 Tensor ``(N, 28, 28)``; targets: int64 Tensor ``(N,)``; classes: names.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    _prefix = ""

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        folder = self._locate(root, download)
        split = "train" if train else "t10k"
        name = type(self).__name__
        images = read_idx(_need(folder, f"{self._prefix}{split}-images-idx3-ubyte", name), 3)
        labels = read_idx(_need(folder, f"{self._prefix}{split}-labels-idx1-ubyte", name), 1)
        if len(images) != len(labels):
            raise ValueError(f"{name}: {folder}: {len(images)} images but "
                             f"{len(labels)} labels")
        self._images, self._labels = self._fix_images(images), labels.astype(np.int64)

    def _fix_images(self, images):
        return images

    def _locate(self, root, download):
        split = "train" if self.train else "t10k"
        stem = f"{self._prefix}{split}-images-idx3-ubyte"
        name = type(self).__name__
        candidates = [root, os.path.join(root, name, "raw"), os.path.join(root, name)]
        for folder in candidates:
            if _find(folder, stem):
                return folder
        hint = " (chainrule never downloads; put the files there yourself)" if download else ""
        raise RuntimeError(f"{name}: dataset not found: no {stem}[.gz] in any of "
                           f"{candidates}{hint}")

    @property
    def data(self):
        return Tensor._make(self._images)

    @property
    def targets(self):
        return Tensor._make(self._labels)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

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
        return (f"{type(self).__name__}(split={'train' if self.train else 'test'}, "
                f"samples={len(self)}, root={self.root!r})")


class FashionMNIST(MNIST):
    """Fashion-MNIST: 28x28 grayscale images of 10 kinds of clothing (Zalando).

    ``root=None`` (the default) uses the subset bundled with chainrule: 10,000 train and 2,000
    test images, class-balanced (the first 1,000 / 200 per class in file order). The full set
    (60,000 / 10,000) is used from ``/usr/share/datasets/fashion-mnist`` (Debian package
    ``dataset-fashion-mnist``) with ``full=True`` or ``root='system'``; otherwise ``root`` is a
    folder as for ``MNIST``.

    Example:
        >>> ds = FashionMNIST(train=True, transform=transforms.ToTensor())
        >>> img, label = ds[0]             # (1, 28, 28) float32 in [0, 1], int
    """

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False, full=False):
        if full or root == "system":
            root = self._system_root()
        elif root is None:
            root = os.path.join(BUNDLED, "fashion_mnist")
        super().__init__(root, train, transform, target_transform, download)

    @staticmethod
    def _system_root():
        found = glob.glob(os.path.join(SYSTEM_FASHION_MNIST, "**", "train-images-idx3-ubyte*"),
                          recursive=True)
        if not found:
            raise RuntimeError(f"FashionMNIST: the full data set was asked for but "
                               f"{SYSTEM_FASHION_MNIST} has no IDX files; install the Debian "
                               f"package: apt-get install dataset-fashion-mnist")
        return os.path.dirname(found[0])


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 images of 10 cursive Japanese (hiragana) characters."""

    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


_ALL = string.digits + string.ascii_uppercase + string.ascii_lowercase
_MERGED = set("cijklmopsuvwxyz")


class EMNIST(MNIST):
    """EMNIST: handwritten characters in MNIST's format (``emnist-<split>-...`` files).

    Args:
        split: one of ``byclass``, ``bymerge``, ``balanced``, ``letters``, ``digits``, ``mnist``.

    The stored images are transposed relative to MNIST; they are returned upright.
    """

    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _split_classes = {
        "byclass": list(_ALL),
        "bymerge": [c for c in _ALL if c not in _MERGED],
        "balanced": [c for c in _ALL if c not in _MERGED],
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split, train=True, transform=None, target_transform=None,
                 download=False):
        if split not in self.splits:
            raise ValueError(f"EMNIST: unknown split {split!r}; expected one of {self.splits}")
        self.split, self._prefix = split, f"emnist-{split}-"
        self.classes = self._split_classes[split]
        super().__init__(root, train, transform, target_transform, download)

    def _fix_images(self, images):
        return np.ascontiguousarray(images.transpose(0, 2, 1))

    def _locate(self, root, download):
        gz = os.path.join(root, "EMNIST", "raw")
        if os.path.isdir(os.path.join(root, "gzip")):
            root = os.path.join(root, "gzip")
        elif os.path.isdir(gz):
            root = gz
        return super()._locate(root, download)
