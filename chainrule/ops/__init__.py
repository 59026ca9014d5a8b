"""chainrule's operations.

``PRIMITIVES`` is the derivative table: every op with a backward rule of its own, by name. Every
other op in this package is a composite of primitives and has no backward of its own. Each family
module (unary, binary, reduce, shape, index, matmul, ...) lists its public functions in ``__all__``
and the Tensor methods it provides in ``TENSOR_METHODS``; this file gathers both.
"""
from ..autograd.function import Primitive

PRIMITIVES = {}


def primitive(cls):
    """Class decorator: register a Primitive under its class name."""
    if cls.__name__ in PRIMITIVES:
        raise RuntimeError(f"primitive {cls.__name__} registered twice")
    PRIMITIVES[cls.__name__] = cls
    return cls


from . import creation, unary, binary, reduce, shape, index, matmul, composite  # noqa: E402
from . import unary_math, logical, pointwise  # noqa: E402
from . import fused  # noqa: E402

_FAMILIES = (creation, unary, unary_math, binary, logical, pointwise, reduce, shape, index, matmul,
             composite, fused)
from . import join, pad, index_ops, sorting  # noqa: E402  (shape, index, sorting families)
_FAMILIES += (join, pad, index_ops, sorting)

__all__ = ["PRIMITIVES", "primitive", "Primitive"]
for _family in _FAMILIES:
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)


def _install_tensor_methods():
    from .. import tensor as _tensor_module
    for family in _FAMILIES:
        for name, fn in getattr(family, "TENSOR_METHODS", {}).items():
            setattr(_tensor_module.Tensor, name, fn)
    _tensor_module._ops = __import__(__name__, fromlist=["*"])


_install_tensor_methods()
