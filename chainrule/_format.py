"""``repr`` of a Tensor in torch's style: ``tensor([1.0000, 2.5000], requires_grad=True)``."""
import numpy as np

from ._backend import to_device


def _float_formatter(values):
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return lambda v: _special(v) or f"{v:.4f}"
    abs_nz = np.abs(finite[finite != 0])
    int_mode = bool(np.all(finite == np.round(finite)))
    sci = abs_nz.size > 0 and (abs_nz.max() / abs_nz.min() > 1000.0 or abs_nz.max() > 1e8
                               or abs_nz.min() < 1e-4)
    if int_mode and not sci:
        width = max(len(f"{v:.0f}.") for v in finite)
        return lambda v: (_special(v) or f"{v:.0f}.").rjust(width)
    if sci:
        return lambda v: _special(v) or f"{v:.4e}"
    width = max(len(f"{v:.4f}") for v in finite)
    return lambda v: (_special(v) or f"{v:.4f}").rjust(width)


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_tensor(t, prefix="tensor("):
    arr = to_device(t.data, "cpu")
    dt = t.dtype
    suffixes = []
    if arr.size == 0:
        body = "[]"
        if arr.shape != (0,):
            suffixes.append(f"size={tuple(arr.shape)}")
    else:
        if dt.is_floating_point:
            fmt = _float_formatter(arr.astype(np.float64).ravel())
            formatter = {"float_kind": lambda v: fmt(float(v))}
        elif dt.name == "bool":
            formatter = {"bool": lambda v: str(bool(v))}
        else:
            formatter = None
        summarize = arr.size > 1000
        body = np.array2string(arr, separator=", ", prefix=prefix, formatter=formatter,
                               threshold=1000 if summarize else arr.size + 1, edgeitems=3,
                               max_line_width=80)
    if dt.name not in ("float32", "int64", "bool") or (arr.size == 0 and dt.name != "float32"):
        if dt.name != "float32":
            suffixes.append(f"dtype=chainrule.{dt.name}")
    if t.device.type != "cpu":
        suffixes.insert(0, f"device='{t.device}'")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"
