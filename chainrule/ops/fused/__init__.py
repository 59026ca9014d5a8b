"""Primitives that exist for speed or numerical stability. Each names its composite reference, and
a test checks it against that reference (forward and gradients). Every module in this package is
imported here; each lists its public functions in ``__all__`` and Tensor methods in
``TENSOR_METHODS``."""
import importlib
import pkgutil

__all__ = []
TENSOR_METHODS = {}
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    _m = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_m, "__all__", ()):
        globals()[_name] = getattr(_m, _name)
    __all__ += list(getattr(_m, "__all__", ()))
    TENSOR_METHODS.update(getattr(_m, "TENSOR_METHODS", {}))
