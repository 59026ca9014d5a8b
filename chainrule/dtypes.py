"""dtype objects and PyTorch's type-promotion rules.

A ``chainrule.dtype`` wraps a NumPy dtype.  Promotion follows torch: operands are grouped into
dimensioned tensors, zero-dim tensors and Python scalars; a lower-priority group only changes the
result when its category (bool < integer < floating) is higher than the result so far.
"""
import numpy as np

__all__ = ["dtype", "float16", "half", "float32", "float", "float64", "double", "int8", "int16",
           "int32", "int", "int64", "long", "uint8", "bool", "get_default_dtype",
           "set_default_dtype", "promote_types", "result_type", "can_cast"]


class dtype:
    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "category")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category                    # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = category == 2 or (category == 1 and self.np.kind == "i")
        self.itemsize = self.np.itemsize

    @property
    def is_complex(self):
        return False

    def __repr__(self):
        return f"chainrule.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


def _by_name(name):
    return _BY_NAME[name]


float16 = half = dtype("float16", np.float16, 2)
float32 = float = dtype("float32", np.float32, 2)
float64 = double = dtype("float64", np.float64, 2)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = int = dtype("int32", np.int32, 1)
int64 = long = dtype("int64", np.int64, 1)
uint8 = dtype("uint8", np.uint8, 1)
bool = dtype("bool", np.bool_, 0)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool)
_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL}

_default_float = [float32]


def get_default_dtype():
    return _default_float[0]


def set_default_dtype(d):
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating-point dtypes are supported, got {d}")
    _default_float[0] = d


def from_numpy_dtype(np_dtype):
    """The chainrule dtype for a NumPy dtype; TypeError for dtypes chainrule does not support."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"can't convert NumPy array of dtype {np_dtype}: the supported dtypes are "
                        f"float64, float32, float16, int64, int32, int16, int8, uint8 and bool") from None


def to_dtype(d):
    """Accept a chainrule dtype, a NumPy dtype or a name ('float32'); return the chainrule dtype."""
    if isinstance(d, dtype):
        return d
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    if d is builtins_float:
        return float64
    if d is builtins_int:
        return int64
    if d is builtins_bool:
        return bool
    return from_numpy_dtype(d)


import builtins as _builtins  # noqa: E402  (after the module-level names that shadow builtins)
builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool


def promote_types(a, b):
    """torch.promote_types: the higher category wins; within a category, the wider type."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def _scalar_dtype(x):
    if isinstance(x, (_builtins.bool, np.bool_)):
        return bool
    if isinstance(x, (_builtins.int, np.integer)):
        return int64
    return get_default_dtype()


def result_type(*operands):
    """The dtype torch would give an op on ``operands`` (Tensors and Python numbers)."""
    dim_dt = zero_dt = scalar_dt = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim > 0:
                dim_dt = d if dim_dt is None else promote_types(dim_dt, d)
            else:
                zero_dt = d if zero_dt is None else promote_types(zero_dt, d)
        elif x is not None:
            s = _scalar_dtype(x)
            scalar_dt = s if scalar_dt is None else promote_types(scalar_dt, s)
    result = dim_dt
    for group in (zero_dt, scalar_dt):
        if group is None:
            continue
        if result is None or group.category > result.category:
            result = group
    return result


def can_cast(from_, to):
    """torch.can_cast: same-kind casting (no float -> int, no int -> bool)."""
    return from_.category <= to.category
