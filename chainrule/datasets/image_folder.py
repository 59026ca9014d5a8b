"""ImageFolder: images stored as ``root/<class>/<file>``; the class is the sub-folder's name."""
import os
import warnings

from ..utils.data import Dataset

__all__ = ["ImageFolder", "IMG_EXTENSIONS", "pil_loader"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp",
                  ".gif")


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading images needs Pillow, an optional dependency: "
                          "pip install 'chainrule[images]'") from None
    return Image


def pil_loader(path):
    """Open ``path`` with Pillow, decode it fully and convert it to RGB."""
    Image = _pil()
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def _readable(path, full):
    Image = _pil()
    try:
        with Image.open(path) as img:
            if full:
                img.load()
            else:
                img.verify()
        return True
    except Exception:
        return False


class ImageFolder(Dataset):
    """A labelled image dataset laid out as one sub-folder per class.

    ::

        root/Cat/1.jpg   root/Cat/2.jpg   root/Dog/1.jpg ...

    Unreadable files (empty, truncated headers, not an image) are skipped when the dataset is
    built; how many were skipped is warned about and kept in ``skipped``. Needs Pillow
    (``pip install 'chainrule[images]'``).

    Args:
        root: the folder of class sub-folders.
        transform: applied to each image (a PIL RGB image), e.g. ``transforms.Compose``.
        target_transform: applied to each class index.
        loader: opens a path (default ``pil_loader``).
        is_valid_file: ``f(path) -> bool`` choosing files (default: by image extension).
        classes: keep only these sub-folders, labelled ``0..k-1`` in the order given (default:
            every sub-folder, sorted by name), e.g. ``classes=("Cat", "Dog")`` for
            ``PetImages``.
        check: ``"header"`` (default) opens every file and verifies it, ``"full"`` decodes every
            file (slow, catches truncated data), ``None`` trusts the files.

    Attributes:
        classes, class_to_idx, samples (list of ``(path, class_index)``), targets, skipped.
    """

    def __init__(self, root, transform=None, target_transform=None, loader=None,
                 is_valid_file=None, classes=None, check="header"):
        if check not in ("header", "full", None):
            raise ValueError(f"ImageFolder: check must be 'header', 'full' or None, got {check!r}")
        if loader is None:
            _pil()                                        # fail early, with the install hint
        self.root = os.path.expanduser(str(root))
        self.transform, self.target_transform = transform, target_transform
        self.loader = loader or pil_loader
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder")
        found = sorted(e.name for e in os.scandir(self.root) if e.is_dir())
        if classes is None:
            classes = found
        missing = [c for c in classes if c not in found]
        if missing:
            raise FileNotFoundError(f"ImageFolder: no sub-folder {missing} in {self.root} "
                                    f"(found {found})")
        if not classes:
            raise FileNotFoundError(f"ImageFolder: no class sub-folders in {self.root}")
        self.classes = list(classes)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        valid = is_valid_file or (lambda p: p.lower().endswith(IMG_EXTENSIONS))
        self.samples, self.skipped = [], []
        for c in self.classes:
            for dirpath, _, files in sorted(os.walk(os.path.join(self.root, c), followlinks=True)):
                for name in sorted(files):
                    path = os.path.join(dirpath, name)
                    if not valid(path):
                        continue
                    if check and not _readable(path, check == "full"):
                        self.skipped.append(path)
                        continue
                    self.samples.append((path, self.class_to_idx[c]))
        if self.skipped:
            warnings.warn(f"ImageFolder: skipped {len(self.skipped)} unreadable image(s) of "
                          f"{len(self.samples) + len(self.skipped)} in {self.root} (listed in "
                          f".skipped)")
        self.targets = [t for _, t in self.samples]

    @property
    def imgs(self):
        return self.samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        try:
            img = self.loader(path)
        except Exception as e:
            raise RuntimeError(f"ImageFolder: cannot read {path}: {e}") from e
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __repr__(self):
        return (f"ImageFolder(root={self.root!r}, samples={len(self)}, classes={self.classes}, "
                f"skipped={len(self.skipped)})")
