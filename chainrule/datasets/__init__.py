"""Datasets and image transforms (torchvision's names), all read from local files.

Bundled with the package, no download: ``FashionMNIST()`` (a 10,000/2,000 class-balanced
subset), ``Digits()`` (8x8) and ``Shakespeare()`` (character-level text). From files you provide:
``MNIST``/``KMNIST``/``EMNIST`` (IDX), ``CIFAR10``/``CIFAR100`` (binary or python batches,
read without pickle) and ``ImageFolder``.
"""
from . import transforms
from ._batchfile import UnsafePickleError
from .bundled import Digits, bundled_path, verify_bundled
from .cifar import CIFAR10, CIFAR100
from .idx import EMNIST, KMNIST, MNIST, FashionMNIST, read_idx
from .image_folder import ImageFolder
from .text import CharDataset, CharVocab, Shakespeare, load_shakespeare

__all__ = ["transforms", "MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_idx", "CIFAR10",
           "CIFAR100", "UnsafePickleError", "ImageFolder", "Digits", "bundled_path",
           "verify_bundled", "CharVocab", "CharDataset", "Shakespeare", "load_shakespeare"]
