"""Turn a ``TrainConfig`` into in-memory train / validation / test sets.

Every supported source is read into float32 arrays ``(N, C, H, W)`` once (images are small), so
batches are plain slices of a ``TensorDataset``: fast, and exactly repeatable for resume.
Classifier inputs are standardised with the training set's per-channel mean and standard
deviation; autoencoder inputs stay in [0, 1] (its decoder ends in a sigmoid).
"""
import os
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from ..utils.data import TensorDataset

__all__ = ["DataInfo", "Splits", "load_splits", "prepare_images", "resize_images"]


@dataclass
class DataInfo:
    """What ``evaluate``/``predict`` need to feed new images to a trained model.

    Stored as ``data.json`` in the run directory.
    """
    classes: list
    in_channels: int
    image_size: int
    mean: list = field(default_factory=list)     # per channel; empty: no standardisation
    std: list = field(default_factory=list)
    sizes: dict = field(default_factory=dict)    # {'train': n, 'val': n, 'test': n}

    def to_dict(self):
        return dict(classes=list(self.classes), in_channels=self.in_channels,
                    image_size=self.image_size, mean=list(self.mean), std=list(self.std),
                    sizes=dict(self.sizes))

    @classmethod
    def from_dict(cls, d):
        return cls(**d)


@dataclass
class Splits:
    """The three data sets (``TensorDataset``s of float32 images and int64 labels) and their info.

    ``test_raw`` holds the test images before standardisation, in [0, 1], for plots.
    """
    train: TensorDataset
    val: TensorDataset
    test: TensorDataset
    info: DataInfo
    test_raw: np.ndarray


def resize_images(images, size):
    """Resize ``(N, C, H, W)`` images to ``size`` x ``size`` (nearest neighbour)."""
    n, c, h, w = images.shape
    if (h, w) == (size, size):
        return images
    rows = np.minimum((np.arange(size) + 0.5) * h / size, h - 1).astype(np.int64)
    cols = np.minimum((np.arange(size) + 0.5) * w / size, w - 1).astype(np.int64)
    return np.ascontiguousarray(images[:, :, rows][:, :, :, cols])


def prepare_images(images, info):
    """Standardise ``(N, C, H, W)`` images in [0, 1] as the model was trained (``info``)."""
    images = resize_images(np.asarray(images, dtype=np.float32), info.image_size)
    if info.mean:
        mean = np.asarray(info.mean, dtype=np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(info.std, dtype=np.float32).reshape(1, -1, 1, 1)
        images = (images - mean) / std
    return np.ascontiguousarray(images, dtype=np.float32)


def _select_classes(images, labels, names, wanted, who):
    """Keep the classes in ``wanted`` (names, case-insensitive, or indices); relabel 0..k-1."""
    lower = [str(n).lower() for n in names]
    picked = []
    for w in wanted:
        w = str(w).strip()
        if w.lower() in lower:
            picked.append(lower.index(w.lower()))
        elif w.isdigit() and int(w) < len(names):
            picked.append(int(w))
        else:
            raise ValueError(f"{who}: unknown class {w!r}; the classes are "
                             f"{', '.join(map(str, names))}")
    if len(set(picked)) != len(picked):
        raise ValueError(f"{who}: --classes names a class twice")
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[picked] = np.arange(len(picked))
    keep = remap[labels] >= 0
    return images[keep], remap[labels[keep]], [names[i] for i in picked]


def _gray(images):
    """(N, H, W) uint8 or float -> (N, 1, H, W) float32 in [0, 1]."""
    images = np.asarray(images)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    return (images.astype(np.float32) / np.float32(scale))[:, None]


def _read_source(config, train):
    """(images (N, C, H, W) float32 in [0, 1], labels int64, class names) of one split."""
    from .. import datasets
    kind, root = config.data, os.path.expanduser(config.data_dir) if config.data_dir else None
    if kind == "fashion-mnist":
        ds = datasets.FashionMNIST(root or None, train=train)
        return _gray(ds.data.data), ds.targets.data, list(ds.classes)
    if kind == "mnist-idx":
        ds = datasets.MNIST(root, train=train)
        return _gray(ds.data.data), ds.targets.data, list(ds.classes)
    if kind == "digits":
        ds = datasets.Digits(root or None, train=train)
        return _gray(ds.data.data), ds.targets.data, list(ds.classes)
    if kind == "cifar10":
        ds = datasets.CIFAR10(root, train=train)
        images = np.asarray(ds.data).transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
        return images, np.asarray(ds.targets, dtype=np.int64), list(ds.classes)
    raise ValueError(f"unknown data set {kind!r}")


def _read_image_folder(config, folder, size):
    from .. import datasets
    from ..datasets import transforms as T
    from ..utils.data import DataLoader
    ds = datasets.ImageFolder(folder, transform=T.Compose([T.Resize((size, size)),
                                                           T.ToTensor()]))
    if len(ds) == 0:
        raise ValueError(f"dataset is empty: no readable images under {folder}")
    loader = DataLoader(ds, batch_size=64, num_workers=config.workers)
    xs, ys = zip(*[(x.data, y.data) for x, y in loader])
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64), list(ds.classes)


def _image_folder(config):
    """An image folder with ``train/`` and ``test/`` (or ``val/``) sub-folders, or one folder of
    class sub-folders that is split 80/20 (seeded) into train and test."""
    root = os.path.expanduser(config.data_dir)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"--data-dir {config.data_dir}: no such folder")
    size = config.image_size or 32
    test_dir = next((os.path.join(root, d) for d in ("test", "val")
                     if os.path.isdir(os.path.join(root, d))), None)
    if os.path.isdir(os.path.join(root, "train")) and test_dir:
        train = _read_image_folder(config, os.path.join(root, "train"), size)
        test = _read_image_folder(config, test_dir, size)
        if test[2] != train[2]:
            raise ValueError(f"imagefolder: train/ has classes {train[2]} but "
                             f"{os.path.basename(test_dir)}/ has {test[2]}")
        return train, test
    images, labels, names = _read_image_folder(config, root, size)
    order = np.random.default_rng(config.seed).permutation(len(labels))
    n_test = max(1, len(labels) // 5)
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train], names), (images[test], labels[test], names)


def _limit(images, labels, n, seed):
    if not n or n >= len(labels):
        return images, labels
    keep = np.sort(np.random.default_rng(seed).permutation(len(labels))[:n])
    return images[keep], labels[keep]


def _image_size(config, native):
    if config.image_size:
        return config.image_size
    if config.model == "lenet" and native < 12:
        return 16                # LeNet's two 5x5 convolutions need at least 12x12
    if config.model == "autoencoder" and native % 4:
        return native + (-native) % 4
    return native


def load_splits(config):
    """Read and prepare the data of ``config``: train, validation (split off the training set by
    ``config.val_fraction``, seeded) and test sets.

    Raises:
        FileNotFoundError, RuntimeError, ValueError: missing or unreadable data, bad classes.
    """
    if config.data_dir and config.data_dir != "system" and \
            not os.path.isdir(os.path.expanduser(config.data_dir)):
        raise FileNotFoundError(f"--data-dir {config.data_dir}: no such folder")
    if config.data == "imagefolder":
        (tr_x, tr_y, names), (te_x, te_y, _) = _image_folder(config)
    else:
        tr_x, tr_y, names = _read_source(config, True)
        te_x, te_y, _ = _read_source(config, False)
    if config.classes:
        tr_x, tr_y, chosen = _select_classes(tr_x, tr_y, names, config.classes, config.data)
        te_x, te_y, _ = _select_classes(te_x, te_y, names, config.classes, config.data)
        names = chosen
    tr_x, tr_y = _limit(tr_x, tr_y, config.limit_train, config.seed)
    te_x, te_y = _limit(te_x, te_y, config.limit_test, config.seed + 1)
    if len(tr_y) == 0:
        raise ValueError(f"dataset is empty: the {config.data} training set has no images")
    size = _image_size(config, tr_x.shape[-1])
    tr_x, te_x = resize_images(tr_x, size), resize_images(te_x, size)
    order = np.random.default_rng(config.seed).permutation(len(tr_y))
    n_val = int(round(len(tr_y) * config.val_fraction))
    if n_val >= len(tr_y):
        n_val = 0
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    channels = tr_x.shape[1]
    mean, std = [], []
    if config.model != "autoencoder":
        fit = tr_x[train_idx]
        mean = [float(v) for v in fit.mean(axis=(0, 2, 3), dtype=np.float64)]
        std = [max(float(v), 1e-6) for v in fit.std(axis=(0, 2, 3), dtype=np.float64)]
    info = DataInfo(classes=[str(n) for n in names], in_channels=int(channels),
                    image_size=int(size), mean=mean, std=std,
                    sizes={"train": int(len(train_idx)), "val": int(n_val),
                           "test": int(len(te_y))})

    def dataset(x, y):
        return TensorDataset(Tensor._make(prepare_images(x, info)),
                             Tensor._make(np.ascontiguousarray(y, dtype=np.int64)))

    return Splits(train=dataset(tr_x[train_idx], tr_y[train_idx]),
                  val=dataset(tr_x[val_idx], tr_y[val_idx]),
                  test=dataset(te_x, te_y), info=info, test_raw=te_x)
