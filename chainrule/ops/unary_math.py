"""Unary math beyond the core set: the numerically delicate functions are primitives (expm1, log1p,
tan, the inverse and hyperbolic trig functions, erf/erfc/erfinv, logsigmoid: composites would lose
precision near 0 or overflow); the rest are composites. Backward formulas follow torch's, term for
term, so that edge values (0, inf, huge inputs) give torch's gradients."""
import math

import numpy as np

from . import primitive, Primitive
from . import _erf
from .unary import (_unary, _float_input, _inplace, exp, log, sqrt, sin, cos, sigmoid, where,
                    isfinite, isnan, abs, neg, sign, trunc, floor, ceil, round, frac, relu)
from .. import dtypes as _dt
from .._backend import quiet_fp, xp_of

__all__ = ["expm1", "log1p", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh",
           "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "erf", "erfc",
           "erfinv", "exp2", "log2", "log10", "rsqrt", "square", "reciprocal", "sgn", "deg2rad",
           "rad2deg", "sinc", "nan_to_num", "fix", "logsigmoid",
           "abs_", "neg_", "negative_", "exp_", "exp2_", "expm1_", "log_", "log2_", "log10_",
           "log1p_", "sqrt_", "rsqrt_", "square_", "sin_", "cos_", "tan_", "asin_", "acos_",
           "atan_", "arcsin_", "arccos_", "arctan_", "sinh_", "cosh_", "tanh_", "asinh_", "acosh_",
           "atanh_", "arcsinh_", "arccosh_", "arctanh_", "sigmoid_", "relu_", "erf_", "erfc_",
           "reciprocal_", "floor_", "ceil_", "round_", "trunc_", "fix_", "frac_", "deg2rad_",
           "rad2deg_", "sinc_", "nan_to_num_"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _np_float(fn):
    """Run a float64 kernel on x; the result gets x's dtype (float32 is computed in float64)."""
    def run(x):
        with quiet_fp():
            return fn(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)
    return run


_erf_kernel, _erfc_kernel, _erfinv_kernel = (_np_float(_erf.erf), _np_float(_erf.erfc),
                                             _np_float(_erf.erfinv))


class _SavesInput(Primitive):
    ufunc = None

    @classmethod
    def forward(cls, ctx, x):
        ctx.save_for_backward(x)
        with quiet_fp():
            return getattr(xp_of(x), cls.ufunc)(x)


@primitive
class Expm1(Primitive):
    @staticmethod
    def forward(ctx, x):
        with quiet_fp():
            y = xp_of(x).expm1(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx (e^x - 1) = y + 1"""
        (y,) = ctx.saved_tensors
        return grad_out * (y + 1)


@primitive
class Log1p(_SavesInput):
    ufunc = "log1p"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx log(1 + x) = 1 / (x + 1)"""
        (x,) = ctx.saved_tensors
        return grad_out / (x + 1)


@primitive
class Tan(Primitive):
    @staticmethod
    def forward(ctx, x):
        with quiet_fp():
            y = xp_of(x).tan(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx tan x = 1 + tan^2 x"""
        (y,) = ctx.saved_tensors
        return grad_out * (1 + y * y)


@primitive
class Asin(_SavesInput):
    ufunc = "arcsin"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx asin x = 1 / sqrt(1 - x^2)"""
        (x,) = ctx.saved_tensors
        return grad_out * rsqrt(1 - x * x)


@primitive
class Acos(_SavesInput):
    ufunc = "arccos"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx acos x = -1 / sqrt(1 - x^2)"""
        (x,) = ctx.saved_tensors
        return grad_out * -rsqrt(1 - x * x)


@primitive
class Atan(_SavesInput):
    ufunc = "arctan"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx atan x = 1 / (1 + x^2)"""
        (x,) = ctx.saved_tensors
        return grad_out / (x * x + 1)


@primitive
class Sinh(_SavesInput):
    ufunc = "sinh"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx sinh x = cosh x"""
        (x,) = ctx.saved_tensors
        return grad_out * cosh(x)


@primitive
class Cosh(_SavesInput):
    ufunc = "cosh"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx cosh x = sinh x"""
        (x,) = ctx.saved_tensors
        return grad_out * sinh(x)


@primitive
class Asinh(_SavesInput):
    ufunc = "arcsinh"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx asinh x = 1 / sqrt(x^2 + 1)"""
        (x,) = ctx.saved_tensors
        return grad_out * rsqrt(x * x + 1)


@primitive
class Acosh(_SavesInput):
    ufunc = "arccosh"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx acosh x = 1 / sqrt(x^2 - 1)"""
        (x,) = ctx.saved_tensors
        return grad_out * rsqrt(x * x - 1)


@primitive
class Atanh(_SavesInput):
    ufunc = "arctanh"

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx atanh x = 1 / (1 - x^2)"""
        (x,) = ctx.saved_tensors
        return grad_out / (1 - x * x)


@primitive
class Erf(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf_kernel(x)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx erf x = 2/sqrt(pi) e^(-x^2)"""
        (x,) = ctx.saved_tensors
        return _TWO_OVER_SQRT_PI * exp(-(x * x)) * grad_out


@primitive
class Erfc(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erfc_kernel(x)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx erfc x = -2/sqrt(pi) e^(-x^2)"""
        (x,) = ctx.saved_tensors
        return -_TWO_OVER_SQRT_PI * exp(-(x * x)) * grad_out


@primitive
class Erfinv(Primitive):
    @staticmethod
    def forward(ctx, x):
        y = _erfinv_kernel(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx erfinv x = sqrt(pi)/2 e^(erfinv(x)^2)"""
        (y,) = ctx.saved_tensors
        return (0.5 * math.sqrt(math.pi)) * exp(y * y) * grad_out


@primitive
class LogSigmoid(Primitive):
    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        ctx.save_for_backward(x)
        with quiet_fp():
            y = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        # why: log(sigmoid(x)) = min(x, 0) - log1p(e^-|x|) never overflows and keeps the tails
        return y.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad_out):
        """d/dx log sigmoid(x) = sigmoid(-x)"""
        (x,) = ctx.saved_tensors
        return grad_out * sigmoid(-x)


expm1 = _unary(Expm1, "expm1")
log1p = _unary(Log1p, "log1p")
tan = _unary(Tan, "tan")
asin = arcsin = _unary(Asin, "asin")
acos = arccos = _unary(Acos, "acos")
atan = arctan = _unary(Atan, "atan")
sinh = _unary(Sinh, "sinh")
cosh = _unary(Cosh, "cosh")
asinh = arcsinh = _unary(Asinh, "asinh")
acosh = arccosh = _unary(Acosh, "acosh")
atanh = arctanh = _unary(Atanh, "atanh")
erf = _unary(Erf, "erf")
erfc = _unary(Erfc, "erfc")
erfinv = _unary(Erfinv, "erfinv")


def logsigmoid(input):
    """log(1 / (1 + e^-x)), finite for every finite x (torch.nn.functional.logsigmoid).

    Shape: any; the output has the input's shape. Example: ``logsigmoid(tensor([-1e4]))`` is -1e4.
    """
    return LogSigmoid.apply(_float_input(input, "logsigmoid"))


# ---- composites ----
_LN2, _LN10 = math.log(2.0), math.log(10.0)


def exp2(input):
    """2 ** input (integer inputs give the default float dtype)."""
    from .binary import pow
    return pow(2.0, _float_input(input, "exp2"))


def log2(input):
    """Base-2 logarithm: log(x) / ln 2."""
    _check_tensor(input, "log2")
    return log(input) / _LN2


def log10(input):
    """Base-10 logarithm: log(x) / ln 10."""
    _check_tensor(input, "log10")
    return log(input) / _LN10


def rsqrt(input):
    """1 / sqrt(input); inf at 0, NaN below 0."""
    _check_tensor(input, "rsqrt")
    return 1 / sqrt(input)


def square(input):
    """input * input (integer tensors stay integer)."""
    _check_tensor(input, "square")
    if input.dtype is _dt.bool:
        input = input.to(_dt.int64)
    return input * input


def reciprocal(input):
    """1 / input (integer inputs give the default float dtype)."""
    return 1 / _float_input(input, "reciprocal")


def sgn(input):
    """sign(input) for real tensors (torch's complex-aware sign)."""
    _check_tensor(input, "sgn")
    return sign(input)


def deg2rad(input):
    """Degrees to radians: input * pi / 180."""
    return _float_input(input, "deg2rad") * (math.pi / 180.0)


def rad2deg(input):
    """Radians to degrees: input * 180 / pi."""
    return _float_input(input, "rad2deg") * (180.0 / math.pi)


def sinc(input):
    """Normalised sinc: sin(pi x) / (pi x), 1 at 0 (gradient 0 there)."""
    x = _float_input(input, "sinc")
    zero = x == 0
    # why: the masked branch must stay finite at 0, or its 0 * nan gradient poisons the where
    safe = where(zero, 1.0, x) * math.pi
    return where(zero, 1.0, sin(safe) / safe)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan``, +inf by ``posinf``, -inf by ``neginf`` (default: the dtype's
    largest / lowest finite value); the gradient is 1 at finite inputs and 0 elsewhere."""
    from ..tensor import Tensor
    _check_tensor(input, "nan_to_num")
    if not input.dtype.is_floating_point:
        return input.clone()
    x = input.data
    xp = xp_of(x)
    info = np.finfo(x.dtype)
    fill = xp.where(xp.isnan(x), nan, xp.where(x > 0, info.max if posinf is None else posinf,
                                                 info.min if neginf is None else neginf))
    return where(isfinite(input), input, Tensor._make(fill.astype(x.dtype)))


def _check_tensor(x, op):
    from ..tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


fix = trunc


# ---- in-place variants: computed out of place, then written into self ----
abs_ = _inplace(abs, "abs_")
neg_ = negative_ = _inplace(neg, "neg_")
exp_ = _inplace(exp, "exp_")
exp2_ = _inplace(exp2, "exp2_")
expm1_ = _inplace(expm1, "expm1_")
log_ = _inplace(log, "log_")
log2_ = _inplace(log2, "log2_")
log10_ = _inplace(log10, "log10_")
log1p_ = _inplace(log1p, "log1p_")
sqrt_ = _inplace(sqrt, "sqrt_")
rsqrt_ = _inplace(rsqrt, "rsqrt_")
square_ = _inplace(square, "square_")
sin_ = _inplace(sin, "sin_")
cos_ = _inplace(cos, "cos_")
tan_ = _inplace(tan, "tan_")
asin_ = arcsin_ = _inplace(asin, "asin_")
acos_ = arccos_ = _inplace(acos, "acos_")
atan_ = arctan_ = _inplace(atan, "atan_")
sinh_ = _inplace(sinh, "sinh_")
cosh_ = _inplace(cosh, "cosh_")
asinh_ = arcsinh_ = _inplace(asinh, "asinh_")
acosh_ = arccosh_ = _inplace(acosh, "acosh_")
atanh_ = arctanh_ = _inplace(atanh, "atanh_")
from .unary import tanh  # noqa: E402
tanh_ = _inplace(tanh, "tanh_")
sigmoid_ = _inplace(sigmoid, "sigmoid_")
relu_ = _inplace(relu, "relu_")
erf_ = _inplace(erf, "erf_")
erfc_ = _inplace(erfc, "erfc_")
erfinv_ = _inplace(erfinv, "erfinv_")
reciprocal_ = _inplace(reciprocal, "reciprocal_")
floor_ = _inplace(floor, "floor_")
ceil_ = _inplace(ceil, "ceil_")
round_ = _inplace(round, "round_")
trunc_ = fix_ = _inplace(trunc, "trunc_")
frac_ = _inplace(frac, "frac_")
deg2rad_ = _inplace(deg2rad, "deg2rad_")
rad2deg_ = _inplace(rad2deg, "rad2deg_")
sinc_ = _inplace(sinc, "sinc_")
nan_to_num_ = _inplace(nan_to_num, "nan_to_num_")
sign_ = _inplace(sign, "sign_")
sgn_ = _inplace(sgn, "sgn_")

TENSOR_METHODS = {name: globals()[name] for name in __all__ if name != "logsigmoid"}
TENSOR_METHODS.update({"erfinv_": erfinv_, "sign_": sign_, "sgn_": sgn_})
