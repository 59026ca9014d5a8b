"""Layers. Each file lists its classes in ``__all__``; they are gathered here."""
import importlib

from .module import Module

_FILES = ("container", "linear", "activation", "loss", "conv", "pooling", "normalization",
          "dropout", "sparse", "rnn", "attention", "transformer", "flatten", "padding",
          "pixelshuffle", "upsampling", "distance", "fold")

__all__ = ["Module"]
for _f in _FILES:
    _m = importlib.import_module(f"{__name__}.{_f}")
    for _name in _m.__all__:
        globals()[_name] = getattr(_m, _name)
    __all__ += list(_m.__all__)
