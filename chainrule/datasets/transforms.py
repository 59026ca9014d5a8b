"""Image transforms with torchvision's names, for NumPy arrays, PIL images and Tensors.

Layouts: NumPy arrays and PIL images are HW or HWC (as images are stored); Tensors are CHW (as
``ToTensor`` makes them). A transform returns the kind it was given, except ``ToTensor``.
Random transforms draw from chainrule's default generator, so ``chainrule.manual_seed`` repeats
them (with ``num_workers > 0`` the draws interleave across threads in no fixed order).
"""
import math
import numbers

import numpy as np

from ..random import default_generator
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "Resize", "CenterCrop", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "Grayscale", "Lambda"]


def _is_pil(img):
    try:
        from PIL import Image
    except ImportError:
        return False
    return isinstance(img, Image.Image)


def _to_hwc(img):
    """(array HWC, how to convert back) for an ndarray (HW/HWC), PIL image or CHW Tensor."""
    if isinstance(img, Tensor):
        arr = img.data
        if arr.ndim not in (2, 3):
            raise ValueError(f"transforms: expected a CHW (or HW) image tensor, got shape "
                             f"{tuple(arr.shape)}")
        if arr.ndim == 2:
            return arr[:, :, None], lambda a: Tensor._make(np.ascontiguousarray(a[:, :, 0]))
        return np.moveaxis(arr, -3, -1), \
            lambda a: Tensor._make(np.ascontiguousarray(np.moveaxis(a, -1, -3)))
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            return img[:, :, None], lambda a: a[:, :, 0]
        if img.ndim != 3:
            raise ValueError(f"transforms: expected an HW or HWC image array, got shape "
                             f"{img.shape}")
        return img, lambda a: a
    raise TypeError(f"transforms: expected a NumPy array, PIL image or Tensor, got "
                    f"{type(img).__name__}")


def _size2(size, name):
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{name}: size must be an int or a (h, w) pair, got {size}")
    return int(size[0]), int(size[1])


def _image_size(img):
    """(height, width) of any supported image."""
    if _is_pil(img):
        return img.height, img.width
    if isinstance(img, Tensor):
        return tuple(img.shape[-2:])
    return img.shape[:2]


def _uniform(low, high):
    return float(default_generator.rng.uniform(low, high))


class Compose:
    """Apply transforms in sequence: ``Compose([Resize(32), ToTensor()])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"Compose({inner}\n)"


class ToTensor:
    """HWC (or HW) uint8 array / PIL image in [0, 255] -> float32 CHW Tensor in [0, 1].

    Float arrays keep their values (HWC -> CHW only), as torchvision does.
    """

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            return pic
        if _is_pil(pic):
            if pic.mode not in ("L", "RGB", "RGBA", "1", "I;16", "I", "F"):
                pic = pic.convert("RGB")
            arr = np.asarray(pic)
            if pic.mode == "1":
                arr = arr.astype(np.uint8) * 255
        elif isinstance(pic, np.ndarray):
            arr = pic
        else:
            raise TypeError(f"ToTensor: expected a PIL image or NumPy array, got "
                            f"{type(pic).__name__}")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise ValueError(f"ToTensor: expected an HW or HWC image, got shape {arr.shape}")
        chw = np.ascontiguousarray(arr.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return Tensor._make(chw.astype(np.float32) / np.float32(255))
        if chw.dtype.kind == "f":
            return Tensor._make(chw.astype(np.float32, copy=False))
        return Tensor._make(chw.astype(np.float32))

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a CHW Tensor (or an HWC float array).

    Args:
        mean, std: per-channel sequences (or scalars).
        inplace: write into the input Tensor's storage.
    """

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace
        if np.any(np.asarray(std, dtype=np.float64) == 0):
            raise ValueError(f"Normalize: std evaluated to zero after conversion, leading to "
                             f"division by zero (std={std})")

    def __call__(self, x):
        if isinstance(x, Tensor):
            arr = x.data
            if not np.issubdtype(arr.dtype, np.floating):
                raise TypeError(f"Normalize: input tensor should be a float tensor, got "
                                f"{x.dtype}")
            shape = (-1, 1, 1)
        elif isinstance(x, np.ndarray):
            arr, shape = x.astype(np.float32, copy=False), (1, 1, -1) if x.ndim == 3 else (1, 1)
        else:
            raise TypeError(f"Normalize: expected a Tensor or NumPy array, got {type(x).__name__}")
        mean = np.asarray(self.mean, dtype=arr.dtype).reshape(shape)
        std = np.asarray(self.std, dtype=arr.dtype).reshape(shape)
        if isinstance(x, Tensor) and self.inplace:
            np.subtract(arr, mean, out=arr)
            np.divide(arr, std, out=arr)
            return x
        out = (arr - mean) / std
        return Tensor._make(out) if isinstance(x, Tensor) else out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _resize_array(arr, h, w, mode):
    """Resize an HWC array: nearest, or bilinear with half-pixel centres (no antialias)."""
    H, W = arr.shape[:2]
    if (H, W) == (h, w):
        return arr.copy()
    if mode == "nearest":
        ys = np.minimum((np.arange(h) * H / h).astype(np.int64), H - 1)
        xs = np.minimum((np.arange(w) * W / w).astype(np.int64), W - 1)
        return arr[ys][:, xs]
    def axis(n_out, n_in):
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(np.float32)
    y0, y1, fy = axis(h, H)
    x0, x1, fx = axis(w, W)
    a = arr.astype(np.float32)
    rows = a[y0] * (1 - fy)[:, None, None] + a[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    if arr.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(arr.dtype)


class Resize:
    """Resize to ``size``: an int matches the smaller edge (keeping the aspect ratio), a
    ``(h, w)`` pair sets both.

    Args:
        size: int or (h, w).
        interpolation: ``'bilinear'`` (default) or ``'nearest'``.
        max_size: upper bound on the longer edge when ``size`` is an int.
    """

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias=True):
        if str(interpolation).lower().split(".")[-1] not in ("bilinear", "nearest"):
            raise ValueError(f"Resize: interpolation must be 'bilinear' or 'nearest', got "
                             f"{interpolation}")
        self.size, self.max_size = size, max_size
        self.interpolation = str(interpolation).lower().split(".")[-1]

    def _target(self, h, w):
        if isinstance(self.size, numbers.Number) or len(self.size) == 1:
            s = int(self.size if isinstance(self.size, numbers.Number) else self.size[0])
            short, long = (h, w) if h <= w else (w, h)
            new_short, new_long = s, int(s * long / short)
            if self.max_size is not None and new_long > self.max_size:
                new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
            return (new_short, new_long) if h <= w else (new_long, new_short)
        return _size2(self.size, "Resize")

    def __call__(self, img):
        h, w = self._target(*_image_size(img))
        if _is_pil(img):
            from PIL import Image
            method = Image.BILINEAR if self.interpolation == "bilinear" else Image.NEAREST
            return img.resize((w, h), method)
        arr, back = _to_hwc(img)
        return back(_resize_array(arr, h, w, self.interpolation))

    def __repr__(self):
        return f"Resize(size={self.size}, interpolation={self.interpolation})"


def _crop(img, top, left, h, w):
    if _is_pil(img):
        return img.crop((left, top, left + w, top + h))
    arr, back = _to_hwc(img)
    return back(np.ascontiguousarray(arr[top:top + h, left:left + w]))


def _pad(img, pad, fill, mode):
    """pad = (left, top, right, bottom)."""
    left, top, right, bottom = pad
    pil = _is_pil(img)
    arr, back = _to_hwc(np.asarray(img) if pil else img)
    widths = ((top, bottom), (left, right), (0, 0))
    if mode == "constant":
        out = np.pad(arr, widths, mode="constant", constant_values=fill)
    else:
        out = np.pad(arr, widths, mode={"edge": "edge", "reflect": "reflect",
                                        "symmetric": "symmetric"}[mode])
    out = back(out)
    if pil:
        from PIL import Image
        return Image.fromarray(out, mode=img.mode)
    return out


class CenterCrop:
    """Crop the centre ``size`` (int or (h, w)); pads with zeros if the image is smaller."""

    def __init__(self, size):
        self.size = _size2(size, "CenterCrop")

    def __call__(self, img):
        th, tw = self.size
        h, w = _image_size(img)
        if th > h or tw > w:
            ph, pw = max(th - h, 0), max(tw - w, 0)
            img = _pad(img, (pw // 2, ph // 2, (pw + 1) // 2, (ph + 1) // 2), 0, "constant")
            h, w = _image_size(img)
        return _crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class RandomCrop:
    """Crop a random ``size`` window, after optional padding.

    Args:
        size: int or (h, w).
        padding: int (all sides), (left/right, top/bottom) or (left, top, right, bottom).
        pad_if_needed: pad images smaller than ``size``.
        fill: constant fill value; padding_mode: constant, edge, reflect or symmetric.
    """

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be constant, edge, reflect or "
                             f"symmetric, got {padding_mode!r}")
        self.size, self.padding = _size2(size, "RandomCrop"), padding
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def __call__(self, img):
        if self.padding is not None:
            p = self.padding
            p = (p,) * 4 if isinstance(p, numbers.Number) else \
                (p[0], p[1], p[0], p[1]) if len(p) == 2 else tuple(p)
            img = _pad(img, p, self.fill, self.padding_mode)
        th, tw = self.size
        h, w = _image_size(img)
        if self.pad_if_needed and (h < th or w < tw):
            pw, ph = max(tw - w, 0), max(th - h, 0)
            img = _pad(img, (pw, ph, pw, ph), self.fill, self.padding_mode)
            h, w = _image_size(img)
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"input image size {(h, w)}")
        top = int(default_generator.rng.integers(0, h - th + 1))
        left = int(default_generator.rng.integers(0, w - tw + 1))
        return _crop(img, top, left, th, tw)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        if default_generator.rng.random() >= self.p:
            return img
        if _is_pil(img):
            from PIL import Image
            return img.transpose(Image.FLIP_LEFT_RIGHT)
        arr, back = _to_hwc(img)
        return back(np.ascontiguousarray(arr[:, ::-1]))

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Flip the image upside down with probability ``p``."""

    def __call__(self, img):
        if default_generator.rng.random() >= self.p:
            return img
        if _is_pil(img):
            from PIL import Image
            return img.transpose(Image.FLIP_TOP_BOTTOM)
        arr, back = _to_hwc(img)
        return back(np.ascontiguousarray(arr[::-1]))


def _rotate_array(arr, angle, fill):
    """Rotate an HWC array counter-clockwise by ``angle`` degrees about its centre (nearest)."""
    H, W = arr.shape[:2]
    t = math.radians(angle)
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    # inverse map: output pixel -> source pixel (counter-clockwise on screen, y pointing down)
    sx = math.cos(t) * (xx - cx) - math.sin(t) * (yy - cy) + cx
    sy = math.sin(t) * (xx - cx) + math.cos(t) * (yy - cy) + cy
    ix, iy = np.rint(sx).astype(np.int64), np.rint(sy).astype(np.int64)
    inside = (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
    out = np.empty_like(arr)
    out[...] = np.asarray(fill, dtype=arr.dtype)
    out[inside] = arr[iy[inside], ix[inside]]
    return out


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` (a number d means (-d, d)).

    Args:
        degrees: number or (min, max), in degrees, counter-clockwise.
        fill: value for pixels outside the rotated image.
    """

    def __init__(self, degrees, interpolation="nearest", expand=False, center=None, fill=0):
        if isinstance(degrees, numbers.Number):
            if degrees < 0:
                raise ValueError("RandomRotation: if degrees is a single number, it must be "
                                 "positive")
            degrees = (-degrees, degrees)
        self.degrees, self.fill = (float(degrees[0]), float(degrees[1])), fill

    def __call__(self, img):
        angle = _uniform(*self.degrees)
        if _is_pil(img):
            from PIL import Image
            fill = self.fill if isinstance(self.fill, numbers.Number) or self.fill is None \
                else tuple(self.fill)
            return img.rotate(angle, resample=Image.NEAREST, fillcolor=fill)
        arr, back = _to_hwc(img)
        return back(_rotate_array(arr, angle, self.fill))

    def __repr__(self):
        return f"RandomRotation(degrees={self.degrees})"


class Grayscale:
    """Convert to grayscale (ITU-R 601-2 luma: 0.299 R + 0.587 G + 0.114 B).

    Args:
        num_output_channels: 1 or 3 (the gray channel repeated).
    """

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3):
            raise ValueError("Grayscale: num_output_channels should be either 1 or 3")
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        if _is_pil(img):
            gray = img.convert("L")
            return gray if self.num_output_channels == 1 else gray.convert("RGB")
        arr, back = _to_hwc(img)
        if arr.shape[2] == 1:
            gray = arr
        elif arr.dtype == np.uint8:   # Pillow's integer rounding, so both paths agree
            r, g, b = (arr[..., i].astype(np.uint32) for i in range(3))
            gray = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]
        else:
            gray = (0.299 * arr[..., 0] + 0.587 * arr[..., 1]
                    + 0.114 * arr[..., 2]).astype(arr.dtype)[..., None]
        return back(np.repeat(gray, self.num_output_channels, axis=2))

    def __repr__(self):
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class Lambda:
    """Wrap a function as a transform: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"
