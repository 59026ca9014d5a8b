"""Character-level text data: a vocabulary, a windowed next-character dataset, and the bundled
Shakespeare corpus (eight plays, about one million characters)."""
import gzip
import os

import numpy as np

from ..tensor import Tensor
from ..utils.data import Dataset
from .bundled import bundled_path

__all__ = ["CharVocab", "CharDataset", "Shakespeare", "load_shakespeare"]


class CharVocab:
    """A character vocabulary: the sorted set of characters of a text.

    Args:
        text: the text whose characters make the vocabulary (or an iterable of characters).

    Attributes:
        chars: the characters, sorted; ``stoi``/``itos``: char -> id and id -> char.

    Example:
        >>> v = CharVocab("hello")
        >>> v.encode("hel"), v.decode([1, 0, 2])
        (array([1, 0, 2]), 'ehl')
    """

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))
        self._table = None

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """Ids of the characters of ``text`` as an int64 array ``(len(text),)``."""
        if self._table is None and all(ord(c) < 256 for c in self.chars):
            self._table = np.full(256, -1, dtype=np.int64)
            self._table[[ord(c) for c in self.chars]] = np.arange(len(self.chars))
        if self._table is not None and text.isascii():
            ids = self._table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
            if ids.size and ids.min() < 0:
                bad = sorted({c for c in text if c not in self.stoi})
                raise KeyError(f"CharVocab.encode: characters not in the vocabulary: {bad}")
            return ids
        try:
            return np.asarray([self.stoi[c] for c in text], dtype=np.int64)
        except KeyError as e:
            raise KeyError(f"CharVocab.encode: character {e.args[0]!r} not in the vocabulary") \
                from None

    def decode(self, ids):
        """The text for a sequence of ids (list, array or 1-d Tensor)."""
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        return "".join(self.itos[int(i)] for i in np.asarray(ids).reshape(-1).tolist())

    def state_dict(self):
        return {"chars": "".join(self.chars)}

    @classmethod
    def from_state_dict(cls, state):
        return cls(state["chars"])

    def __repr__(self):
        return f"CharVocab(size={len(self)})"


class CharDataset(Dataset):
    """Next-character prediction windows over encoded text.

    Sample ``i`` is ``(x, y)`` with ``x = ids[s : s + block_size]`` and
    ``y = ids[s + 1 : s + block_size + 1]`` where ``s = i * stride``; both int64 Tensors.

    Args:
        text: the text (a str) or already-encoded ids (an int array).
        block_size: the window length.
        vocab: a ``CharVocab`` (default: built from ``text``).
        stride: the step between window starts (1 = every offset).
    """

    def __init__(self, text, block_size, vocab=None, stride=1):
        if block_size <= 0 or stride <= 0:
            raise ValueError(f"CharDataset: block_size and stride must be positive, got "
                             f"block_size={block_size}, stride={stride}")
        if isinstance(text, str):
            self.vocab = vocab or CharVocab(text)
            self.ids = self.vocab.encode(text)
        else:
            self.vocab, self.ids = vocab, np.asarray(text, dtype=np.int64)
        self.block_size, self.stride = int(block_size), int(stride)

    def __len__(self):
        n = len(self.ids) - self.block_size
        return max(0, (n - 1) // self.stride + 1) if n > 0 else 0

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"CharDataset: index {index} out of range for {n} windows")
        s = index * self.stride
        chunk = self.ids[s:s + self.block_size + 1]
        return Tensor._make(chunk[:-1]), Tensor._make(chunk[1:])

    def _get_batch(self, indices):
        starts = np.asarray(indices, dtype=np.int64) * self.stride
        win = self.ids[starts[:, None] + np.arange(self.block_size + 1)]
        return [Tensor._make(np.ascontiguousarray(win[:, :-1])),
                Tensor._make(np.ascontiguousarray(win[:, 1:]))]


def load_shakespeare(root=None):
    """The Shakespeare corpus as one string (bundled unless ``root`` holds shakespeare.txt[.gz])."""
    if root is None:
        path = bundled_path("shakespeare", "shakespeare.txt.gz")
    else:
        path = next((os.path.join(root, n) for n in ("shakespeare.txt.gz", "shakespeare.txt")
                     if os.path.exists(os.path.join(root, n))), None)
        if path is None:
            raise FileNotFoundError(f"load_shakespeare: no shakespeare.txt[.gz] in {root}")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return f.read()


class Shakespeare(CharDataset):
    """Character-level Shakespeare (eight plays, bundled): windows for next-character training.

    The vocabulary comes from the whole corpus, so both splits share it; the first
    ``1 - val_fraction`` of the text is the training split, the rest the validation split.

    Args:
        root: a folder holding ``shakespeare.txt[.gz]`` (default: the bundled corpus).
        split: ``'train'`` or ``'val'``.
        block_size: window length (characters per sample).
        val_fraction: share of the text held out for validation.
        stride: step between window starts.

    Attributes:
        vocab (``CharVocab``), text (this split's text), ids.

    Example:
        >>> ds = Shakespeare(split="train", block_size=64)
        >>> x, y = ds[0]                  # int64 (64,), y is x shifted by one character
        >>> ds.vocab.decode(x)
    """

    def __init__(self, root=None, split="train", block_size=128, val_fraction=0.1, stride=1):
        if split not in ("train", "val"):
            raise ValueError(f"Shakespeare: split must be 'train' or 'val', got {split!r}")
        if not 0 < val_fraction < 1:
            raise ValueError(f"Shakespeare: val_fraction must be in (0, 1), got {val_fraction}")
        full = load_shakespeare(root)
        vocab = CharVocab(full)
        cut = int(len(full) * (1 - val_fraction))
        self.split, self.text = split, full[:cut] if split == "train" else full[cut:]
        super().__init__(vocab.encode(self.text), block_size, vocab, stride)

    def __repr__(self):
        return (f"Shakespeare(split={self.split}, characters={len(self.ids)}, "
                f"vocab={len(self.vocab)}, block_size={self.block_size}, windows={len(self)})")
