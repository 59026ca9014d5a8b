"""The one place chainrule chooses an array module.

Ops never import numpy directly for computation on tensor data; they ask ``xp_of(array)`` so that a
CuPy array is handled by CuPy and a NumPy array by NumPy, with a single code path.
"""
import numpy as np

try:  # CuPy is optional (GPU extra); absence is the normal case.
    import cupy as _cupy  # type: ignore
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

try:  # NumPy 2 keeps the floating-point error state in a context variable
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
    _QUIET_STATE = _make_extobj(all="ignore")
except Exception:  # pragma: no cover - NumPy 1.x
    _extobj_contextvar = None


def xp_of(array):
    """The array module (numpy or cupy) that owns ``array``."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def is_array(obj):
    return isinstance(obj, np.ndarray) or (_cupy is not None and isinstance(obj, _cupy.ndarray))


def device_of(array):
    return "cuda" if (_cupy is not None and isinstance(array, _cupy.ndarray)) else "cpu"


def cuda_available():
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # pragma: no cover
        return False


def to_device(array, device):
    """Move ``array`` to ``"cpu"`` or ``"cuda"``."""
    if device == "cpu":
        if _cupy is not None and isinstance(array, _cupy.ndarray):
            return _cupy.asnumpy(array)
        return array
    if device == "cuda":
        if not cuda_available():
            raise RuntimeError(
                "to(device='cuda'): no CUDA device is available; install the GPU extra "
                "(pip install 'chainrule[gpu]') on a machine with an NVIDIA GPU")
        return _cupy.asarray(array)
    raise RuntimeError(f"to(device=...): unknown device type '{device}', expected 'cpu' or 'cuda'")


class _QuietFP:
    __slots__ = ("_token",)

    def __enter__(self):
        self._token = _extobj_contextvar.set(_QUIET_STATE)

    def __exit__(self, *exc_info):
        _extobj_contextvar.reset(self._token)


def quiet_fp():
    """``with quiet_fp():`` means ``with np.errstate(all="ignore"):``: tensor ops never warn about
    overflow, division by zero or invalid values (torch doesn't). On NumPy 2 it sets the error
    state made once at import, which costs about half of what ``np.errstate`` does (it runs on every
    small op)."""
    return _QuietFP() if _extobj_contextvar is not None else np.errstate(all="ignore")
