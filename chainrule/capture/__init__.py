"""Capture and replay: ``chainrule.compile`` records the NumPy calls of one run of a function
(``tape.py``) and replays them as generated straight-line code (``compiled.py``)."""
from .compiled import compile, CompiledFunction, GuardChanged  # noqa: F401
from .tape import CaptureError  # noqa: F401
