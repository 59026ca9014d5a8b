"""``repr`` of a Tensor in torch's style: ``tensor([1.0000, 2.5000], requires_grad=True)``.

The rules are torch's print options at their defaults: 4 digits of precision, 80 columns, and
summarised output (``...``) above 1000 elements with 3 items kept at each edge. Floats choose
one of three notations for the whole tensor from its nonzero finite values: integers (``2.``),
fixed (``2.5000``) or scientific (``2.5000e+00``) when the magnitudes span more than 1000x or
leave [1e-4, 1e8].
"""
import math

import numpy as np

from . import dtypes as _dt
from ._backend import to_device

PRECISION, LINEWIDTH, THRESHOLD, EDGEITEMS = 4, 80, 1000, 3


class _Formatter:
    """Chooses one notation and one column width for every element of a tensor."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode, self.sci_mode, self.width = True, False, 1
        values = values.ravel()
        if not floating:
            self.width = max((len(_plain(v)) for v in values.tolist()), default=1)
            return
        finite = values[np.isfinite(values) & (values != 0)].astype(np.float64)
        if finite.size == 0:
            return
        mags = np.abs(finite)
        low, high = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        spread = high / low > 1000.0 or high > 1.0e8
        if self.int_mode:
            self.sci_mode = spread
            widths = (len(f"{v:.{PRECISION}e}") if spread else len(f"{v:.0f}") + 1
                      for v in finite.tolist())
        else:
            self.sci_mode = spread or low < 1.0e-4
            spec = f".{PRECISION}e" if self.sci_mode else f".{PRECISION}f"
            widths = (len(format(v, spec)) for v in finite.tolist())
        self.width = max(self.width, max(widths))

    def __call__(self, value):
        if not self.floating:
            text = _plain(value)
        elif self.sci_mode:
            text = f"{value:.{PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRECISION}f}"
        return text.rjust(self.width)


def _plain(value):
    return str(bool(value)) if isinstance(value, (bool, np.bool_)) else str(value)


def _summarized(arr):
    """The elements shown when summarising: ``EDGEITEMS`` at each end of every dimension."""
    if arr.ndim == 0:
        return arr
    if arr.shape[0] > 2 * EDGEITEMS:
        arr = np.concatenate([arr[:EDGEITEMS], arr[-EDGEITEMS:]])
    return np.stack([_summarized(a) for a in arr]) if arr.ndim > 1 else arr


def _vector(arr, indent, summarize, fmt):
    per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
    items = arr.tolist()
    if summarize and len(items) > 2 * EDGEITEMS:
        data = [fmt(v) for v in items[:EDGEITEMS]] + [" ..."] + \
            [fmt(v) for v in items[-EDGEITEMS:]]
    else:
        data = [fmt(v) for v in items]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(arr, indent, summarize, fmt):
    if arr.ndim == 0:
        return fmt(arr.item())
    if arr.ndim == 1:
        return _vector(arr, indent, summarize, fmt)
    if summarize and arr.shape[0] > 2 * EDGEITEMS:
        rows = [_body(a, indent + 1, summarize, fmt) for a in arr[:EDGEITEMS]] + ["..."] + \
            [_body(a, indent + 1, summarize, fmt) for a in arr[-EDGEITEMS:]]
    else:
        rows = [_body(a, indent + 1, summarize, fmt) for a in arr]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(text, suffixes, indent):
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def format_tensor(t, prefix="tensor("):
    arr = to_device(t.data, "cpu")
    dt = t.dtype
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if arr.size == 0:
        body = "[]"
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dt is not _dt.get_default_dtype():
            suffixes.append(f"dtype=chainrule.{dt.name}")
    else:
        summarize = arr.size > THRESHOLD
        fmt = _Formatter(_summarized(arr) if summarize else arr, dt.is_floating_point)
        body = _body(arr, indent, summarize, fmt)
        if dt not in (_dt.get_default_dtype(), _dt.int64, _dt.bool):
            suffixes.append(f"dtype=chainrule.{dt.name}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)

