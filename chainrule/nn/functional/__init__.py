"""torch.nn.functional's API: the math of every layer, as composites of chainrule ops (plus the
fused primitives in chainrule.ops.fused where speed or stability needs them)."""
import importlib

_FILES = ("activation", "linear", "conv", "pooling", "normalization", "dropout", "sparse",
          "attention", "loss", "distance", "vision", "rnn")

__all__ = []
for _f in _FILES:
    _m = importlib.import_module(f"{__name__}.{_f}")
    for _name in _m.__all__:
        globals()[_name] = getattr(_m, _name)
    __all__ += list(_m.__all__)
