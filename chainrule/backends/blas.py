"""Which BLAS NumPy runs chainrule's matrix products on, and environment settings that slow it.

Every GEMM in chainrule (linear layers, convolutions as im2col products, attention) is NumPy's
``matmul``, so its speed is the BLAS library NumPy loaded. NumPy's wheels bring OpenBLAS, which
picks kernels for the CPU it finds at load time unless ``OPENBLAS_CORETYPE`` names a core; a
forced older core (say ``Haswell`` on a CPU with AVX-512) can halve float32 matrix-product speed
(measured in benchmarks/README.md). ``OPENBLAS_L2_SIZE`` likewise overrides the cache size that
OpenBLAS blocks its products for.

    >>> from chainrule.backends import blas
    >>> blas.info()["core"]          # e.g. 'SkylakeX', or 'Haswell' when forced
    >>> blas.override_warning()      # None, or a sentence naming the variable and the fix
"""
import ctypes
import glob
import os

__all__ = ["info", "overrides", "override_warning", "log_override_note"]

# variables that make OpenBLAS ignore what it detects about this CPU
OVERRIDE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _openblas_library():
    """The OpenBLAS shared library NumPy's wheel bundles, opened with ctypes (None if absent)."""
    import numpy as np
    base = os.path.dirname(np.__file__)
    paths = sorted(glob.glob(os.path.join(base, os.pardir, "numpy.libs", "*openblas*"))
                   + glob.glob(os.path.join(base, ".dylibs", "*openblas*")))
    for path in paths:
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def info():
    """NumPy's BLAS as the loaded library reports it: ``name`` and ``version`` (from NumPy's build
    configuration) and, for OpenBLAS, ``core`` (the kernel set in use), ``threads`` and
    ``config``. Read through ctypes, so threadpoolctl is not needed; keys that cannot be read
    are absent."""
    import numpy as np
    try:
        cfg = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    except (TypeError, AttributeError):          # NumPy < 1.26 has no mode="dicts"
        cfg = {}
    out = {k: cfg[k] for k in ("name", "version") if cfg.get(k)}
    for key, name, restype in (("core", "get_corename", ctypes.c_char_p),
                               ("threads", "get_num_threads", ctypes.c_int),
                               ("config", "get_config", ctypes.c_char_p)):
        fn = openblas_function(name)
        if fn is not None:
            fn.restype = restype
            value = fn()
            out[key] = value.decode() if isinstance(value, bytes) else value
    return out


_functions = {}


def openblas_function(name):
    """OpenBLAS's ``openblas_<name>`` from NumPy's bundled library (ctypes), or None."""
    if name not in _functions:
        lib = _openblas_library()
        # scipy-openblas wheels prefix the symbols and 64-bit-integer builds add a suffix
        symbols = (prefix + name + suffix for prefix in ("scipy_openblas_", "openblas_")
                   for suffix in ("64_", ""))
        _functions[name] = None if lib is None else \
            next((f for f in (getattr(lib, s, None) for s in symbols) if f is not None), None)
    return _functions[name]


def overrides(environ=None):
    """The OpenBLAS overrides set in ``environ`` (default ``os.environ``): {variable: value}."""
    environ = os.environ if environ is None else environ
    return {var: environ[var] for var in OVERRIDE_VARS if environ.get(var)}


def override_warning(environ=None):
    """A sentence for the user when ``OPENBLAS_CORETYPE`` or ``OPENBLAS_L2_SIZE`` is set (they
    take effect when NumPy loads, so the process must be started without them); None when
    neither is set."""
    found = overrides(environ)
    if not found:
        return None
    settings = " and ".join(f"{k}={v}" for k, v in found.items())
    unset = " ".join(f"-u {k}" for k in found)
    return (f"{settings} {'is' if len(found) == 1 else 'are'} set: OpenBLAS uses "
            f"{'these settings' if len(found) > 1 else 'it'} instead of what it detects on this "
            f"CPU, which can make matrix products (linear layers, convolutions) up to 2x slower; "
            f"unless that was intended, start without {'them' if len(found) > 1 else 'it'} "
            f"(`env {unset} ...`)")


def log_override_note(log):
    """Pass ``"note: " + override_warning()`` to ``log`` when an override is set (training runs
    call this once after their opening line)."""
    warning = override_warning()
    if warning:
        log("note: " + warning)
