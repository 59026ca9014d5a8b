"""OP_DB: one OpInfo per op, gathered from every module in this package.

Each module defines ``OPS = [OpInfo(...), ...]``. ``tests/test_ops.py`` expands every entry into
forward, backward, gradcheck, gradgradcheck and error tests; ``tests/test_registry.py`` fails when a
primitive in ``chainrule.ops.PRIMITIVES`` is covered by no entry.
"""
import importlib
import pkgutil

from .core import OpInfo, Sample, ErrorInput  # noqa: F401

OP_DB = []
for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod in ("core", "samplers"):
        continue
    OP_DB.extend(importlib.import_module(f"{__name__}.{_mod}").OPS)

_names = [op.name for op in OP_DB]
_dupes = {n for n in _names if _names.count(n) > 1}
if _dupes:
    raise RuntimeError(f"duplicate OpInfo names: {sorted(_dupes)}")
