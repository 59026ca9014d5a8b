"""OpInfo entries for the binary and ternary elementwise ops (chainrule/ops/binary.py,
pointwise.py) and where."""
import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import binary_samples, uniform

SHAPE_ERR = r"(?=.*\(2, 3\))(?=.*\(4,\)).*cannot be broadcast"   # names both shapes


def _shape_error(op=None):
    return ErrorInput((np.ones((2, 3)), np.ones((4,))), {}, RuntimeError, SHAPE_ERR, op=op)


def _errors(*extra):
    return lambda: [_shape_error()] + list(extra)


def _with_ties(gen, pairs=(([0.0, 1.0, -2.0, 3.0], [0.0, 1.0, 2.0, -3.0]),), fd=False):
    """``gen``'s samples plus fixed pairs (ties and kinks: finite_diff=False)."""
    def samples(dtype, rng):
        out = gen(dtype, rng)
        for a, b in pairs:
            out.append(Sample((np.array(a, dtype=dtype), np.array(b, dtype=dtype)),
                              desc=f"pair {a} {b}", finite_diff=fd))
        return out
    return samples


def _with_ints(gen, low=-3, high=4, nonzero=False):
    """Add an int64 pair (integer ops stay integer, float ops promote), for float32 only."""
    def samples(dtype, rng):
        out = gen(dtype, rng)
        if dtype == np.float32:
            b = rng.integers(1, 4, (3, 4)) * (1 if nonzero else rng.choice([-1, 1], (3, 4)))
            out.append(Sample((rng.integers(low, high, (3, 4)), b.astype(np.int64)), desc="int"))
        return out
    return samples


def _np_scalar_sample(gen):
    """Add a NumPy float64 scalar operand: it must not turn float32 into float64."""
    def samples(dtype, rng):
        return gen(dtype, rng) + [Sample((uniform(rng, (3,), dtype), np.float64(1.25)),
                                         desc="numpy scalar")]
    return samples


def _ternary(low3=-2.0, high3=2.0):
    def gen(dtype, rng):
        u = lambda s, lo=-2.0, hi=2.0: uniform(rng, s, dtype, lo, hi)
        return [Sample((u((3, 4)), u((3, 4)), u((3, 4), low3, high3)), desc="same"),
                Sample((u((3, 1)), u((4,)), u((2, 1, 1), low3, high3)), desc="bcast"),
                Sample((u(()), u((3,)), u((), low3, high3)), desc="0-d"),
                Sample((u((0, 3)), u((3,)), u((1,), low3, high3)), desc="empty"),
                Sample((u((4, 3)).T, u((3, 4)), u((4,), low3, high3)), desc="noncontig")]
    return gen


def _clamp_samples(dtype, rng):
    u = lambda s, lo=-2.0, hi=2.0: uniform(rng, s, dtype, lo, hi)
    return [Sample((u((3, 4)), u((3, 4), -2, -0.5), u((3, 4), 0.5, 2)), desc="tensor bounds"),
            Sample((u((3, 4)), u((4,), -1, 0), u((3, 1), 0, 1)), desc="bcast bounds"),
            Sample((u((2, 3, 4)), u((3, 1), -1, 0), u((), 0, 1)), desc="bcast 3-d"),
            Sample((u((3, 4)), u((3, 4), 0.5, 1), u((3, 4), -1, -0.5)), desc="min > max"),
            Sample((u(()), u(()), u(())), desc="0-d"),
            Sample((u((0, 2)), u((2,)), u((2,))), desc="empty"),
            Sample((np.array([0.5, -1.0, 1.0, 2.0], dtype), np.array([-1.0] * 4, dtype),
                    np.array([1.0] * 4, dtype)), desc="on the bounds", finite_diff=False)]


def _clamp_scalar_samples(dtype, rng):
    u = lambda s: uniform(rng, s, dtype)
    out = [Sample((u(s), -0.5, 1.0), desc=f"{s}") for s in [(), (5,), (3, 4), (0, 3)]]
    out.append(Sample((u((4, 3)).T, None, 0.5), desc="noncontig, max only"))
    out.append(Sample((u((3, 4)), -0.5, None), desc="min only"))
    out.append(Sample((np.array([-0.5, 1.0, 0.2, 3.0], dtype), -0.5, 1.0), desc="on the bounds",
                      finite_diff=False))
    out.append(Sample((np.arange(-3, 4), 1, 2), desc="int stays int"))
    out.append(Sample((np.arange(-3, 4), 0.5, None), desc="int with float bound"))
    return out


_DIV_MODE = ErrorInput((np.ones(2), np.ones(2)), {"rounding_mode": "x"}, RuntimeError,
                       "expected rounding_mode to be one of None, 'trunc', or 'floor'", op=cr.div)
_INT_NEG_POW = ErrorInput((np.array([2]),), {}, RuntimeError,
                          "pow: Integers to negative integer powers are not allowed",
                          op=lambda a: cr.pow(a, -1))
_SHAPES = [(), (3, 4), (0,), (2, 0)]
_INT_ZERO = ErrorInput((np.array([1, 2]), np.array([1, 0])), {}, RuntimeError, "ZeroDivisionError")

B = binary_samples
POS2 = dict(low2=0.5, high2=2.0)      # divisors / log arguments away from 0


def _cmp(name, scalars=(2.5,)):
    return OpInfo(name, getattr(cr, name), getattr(torch, name),
                  _with_ints(_with_ties(B(scalars=scalars), fd=True)), grad=False,
                  errors=_errors())


OPS = [
    OpInfo("add", cr.add, torch.add, _np_scalar_sample(_with_ints(B())), primitives=("Add",),
           errors=_errors(ErrorInput((np.array([1]), np.array([1])), {"alpha": 0.5},
                                     RuntimeError, "alpha must not be a floating point",
                                     op=cr.add))),
    OpInfo("add_alpha", lambda a, b: cr.add(a, b, alpha=-2.5),
           lambda a, b: torch.add(a, b, alpha=-2.5), B(), errors=_errors()),
    OpInfo("sub", cr.sub, torch.sub, _np_scalar_sample(_with_ints(B())), primitives=("Sub",),
           errors=_errors(ErrorInput((np.array([True]), np.array([True])), {}, RuntimeError,
                                     "Subtraction, the `-` operator, with two bool", op=cr.sub))),
    OpInfo("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a,
           lambda dt, rng: [Sample((uniform(rng, s, dt),), desc=f"{s}") for s in _SHAPES],
           errors=lambda: [ErrorInput((np.ones((2, 3)), np.ones(4)), {}, RuntimeError, SHAPE_ERR,
                                      op=lambda a, b: cr.sub(a, b))]),
    OpInfo("mul", cr.mul, torch.mul, _np_scalar_sample(_with_ints(B())), primitives=("Mul",),
           errors=_errors()),
    OpInfo("div", cr.div, torch.div, _np_scalar_sample(_with_ints(B(**POS2), nonzero=True)),
           primitives=("Div",), errors=_errors(_DIV_MODE)),
    OpInfo("rdiv_scalar", lambda a: 2.5 / a, lambda a: 2.5 / a,
           lambda dt, rng: [Sample((uniform(rng, s, dt, 0.5, 2.0),), desc=f"{s}")
                            for s in _SHAPES],
           errors=lambda: [ErrorInput((np.ones(2),), {}, RuntimeError,
                                      "div: expected rounding_mode to be one of",
                                      op=lambda a: cr.div(2.5, a, rounding_mode="x"))]),
    OpInfo("div_floor", lambda a, b: cr.div(a, b, rounding_mode="floor"),
           lambda a, b: torch.div(a, b, rounding_mode="floor"), _with_ints(B(**POS2)),
           grad=False, errors=lambda: [ErrorInput(
               _INT_ZERO.args, {}, RuntimeError, "ZeroDivisionError",
               op=lambda a, b: cr.div(a, b, rounding_mode="floor"))]),
    OpInfo("div_trunc", lambda a, b: cr.div(a, b, rounding_mode="trunc"),
           lambda a, b: torch.div(a, b, rounding_mode="trunc"), _with_ints(B(**POS2)),
           grad=False, errors=lambda: [ErrorInput(
               _INT_ZERO.args, {}, RuntimeError, "ZeroDivisionError",
               op=lambda a, b: cr.div(a, b, rounding_mode="trunc"))]),
    OpInfo("floor_divide", cr.floor_divide, torch.floor_divide, _with_ints(B(**POS2)),
           grad=False, errors=lambda: [_INT_ZERO]),
    OpInfo("pow", cr.pow, torch.pow, _with_ties(B(0.5, 2.0, -1.5, 1.5), (([0.0, 0.0, 2.0],
                                                                       [0.0, 2.0, 0.0]),)),
           primitives=("Pow",), errors=_errors(ErrorInput(
               (np.array([2]), np.array([-1])), {}, RuntimeError,
               "Integers to negative integer powers are not allowed"))),
    OpInfo("pow_scalar_exp", lambda a: cr.pow(a, 3), lambda a: torch.pow(a, 3),
           lambda dt, rng: [Sample((uniform(rng, s, dt),)) for s in [(), (3, 4), (0,)]] +
           [Sample((np.array([0.0, -1.0, 2.0], dt),), desc="zero base", finite_diff=False)],
           errors=lambda: [_INT_NEG_POW]),
    OpInfo("pow_scalar_base", lambda a: cr.pow(2.5, a), lambda a: torch.pow(2.5, a),
           lambda dt, rng: [Sample((uniform(rng, s, dt),)) for s in [(), (3, 4), (0,)]],
           errors=lambda: [_INT_NEG_POW]),
    OpInfo("pow_zero_base", lambda a: cr.pow(0.0, a), lambda a: torch.pow(0.0, a),
           lambda dt, rng: [Sample((np.array([0.5, 1.0, 2.5], dt),), desc="positive"),
                            Sample((np.array([0.0, 1.0, -2.5], dt),), desc="zero exponent",
                                   finite_diff=False)] +
           [Sample((uniform(rng, s, dt, 0.5, 2.5),), desc=f"{s}") for s in [(), (0, 2)]] +
           [Sample((uniform(rng, (4, 3), dt, 0.5, 2.5).T,), desc="noncontig")],
           errors=lambda: [_INT_NEG_POW]),
    OpInfo("float_power", cr.float_power, torch.float_power, B(0.5, 2.0, -1.5, 1.5),
           errors=_errors()),
    OpInfo("atan2", cr.atan2, torch.atan2, _with_ints(B(scalars=())), primitives=("Atan2",),
           errors=_errors()),
    OpInfo("maximum", cr.maximum, torch.maximum, _with_ints(_with_ties(B(scalars=()))),
           primitives=("Maximum",), errors=_errors()),
    OpInfo("minimum", cr.minimum, torch.minimum, _with_ints(_with_ties(B(scalars=()))),
           primitives=("Minimum",), errors=_errors()),
    OpInfo("fmax", cr.fmax, torch.fmax, _with_ties(B(scalars=()), (([0.0, np.nan, 1.0, np.nan],
                                                                    [0.0, 1.0, np.nan, np.nan]),)),
           errors=_errors()),
    OpInfo("fmin", cr.fmin, torch.fmin, _with_ties(B(scalars=()), (([0.0, np.nan, 1.0, np.nan],
                                                                    [0.0, 1.0, np.nan, np.nan]),)),
           errors=_errors()),
    OpInfo("remainder", cr.remainder, torch.remainder,
           _with_ints(B(0.5, 3, 0.7, 1.3), nonzero=True), primitives=("Remainder",),
           errors=_errors(_INT_ZERO)),
    OpInfo("fmod", cr.fmod, torch.fmod, _with_ints(B(-3, 3, 0.7, 1.3), nonzero=True),
           primitives=("Fmod",), errors=_errors()),
    OpInfo("copysign", cr.copysign, torch.copysign,
           _with_ties(B(), (([1.0, -2.0, 3.0], [-0.0, 0.0, -1.0]),)), primitives=("Copysign",),
           errors=_errors()),
    OpInfo("xlogy", cr.xlogy, torch.xlogy,
           _with_ties(B(-2, 2, 0.2, 3.0), (([0.0, 0.0, 1.0], [0.0, 2.0, np.nan]),)),
           primitives=("Xlogy",), errors=_errors()),
    OpInfo("hypot", cr.hypot, torch.hypot, B(scalars=()), primitives=("Hypot",),
           errors=_errors(ErrorInput((np.array([1]), np.array([2])), {}, NotImplementedError,
                                     "hypot: not implemented for integer", op=cr.hypot))),
    OpInfo("logaddexp", cr.logaddexp, torch.logaddexp, B(-3, 3, scalars=()),
           primitives=("LogAddExp",),
           errors=_errors()),
    OpInfo("logaddexp2", cr.logaddexp2, torch.logaddexp2, B(-3, 3, scalars=()),
           primitives=("LogAddExp2",),
           errors=_errors()),
    OpInfo("heaviside", cr.heaviside, torch.heaviside,
           _with_ties(B(scalars=()), (([0.0, -1.0, 2.0, 0.0], [0.5, 0.5, 0.5, 3.0]),)),
           grad=False, errors=_errors(ErrorInput(
               (np.ones(2), np.ones(2, np.float32)), {}, RuntimeError,
               "heaviside: is not yet implemented for tensors with different dtypes"))),
    OpInfo("clamp", cr.clamp, torch.clamp, _clamp_samples, primitives=("Clamp",),
           errors=lambda: [ErrorInput((np.ones(2),), {}, RuntimeError,
                                      "At least one of 'min' or 'max' must not be None"),
                           ErrorInput((np.ones((2, 3)), np.ones(4)), {}, RuntimeError,
                                      "clamp: .*cannot be broadcast")]),
    OpInfo("clamp_scalar", cr.clamp, torch.clamp, _clamp_scalar_samples, errors=lambda: [
        ErrorInput((np.ones(2),), {}, RuntimeError, "clamp: At least one of 'min' or 'max'")]),
    OpInfo("clip_scalar", cr.clip, torch.clip, _clamp_scalar_samples, error_names=("clamp",),
           errors=lambda: [ErrorInput((np.ones(2),), {}, RuntimeError,
                                      "At least one of 'min' or 'max'")]),
    OpInfo("clamp_min", cr.clamp_min, torch.clamp_min,
           _with_ties(B(scalars=(0.5,)), (([0.0, 1.0, -1.0], [0.0, 0.5, 0.5]),)),
           errors=_errors()),
    OpInfo("clamp_max", cr.clamp_max, torch.clamp_max,
           _with_ties(B(scalars=(0.5,)), (([0.0, 1.0, -1.0], [0.0, 0.5, 0.5]),)),
           errors=_errors()),
    OpInfo("lerp", cr.lerp, torch.lerp, _ternary(-1.0, 2.0),
           errors=lambda: [ErrorInput((np.ones(2, np.float32), np.ones(2)), {"weight": 0.5},
                                      RuntimeError, "lerp: expected dtype", op=cr.lerp)]),
    OpInfo("lerp_scalar", lambda a, b: cr.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3),
           B(scalars=()), errors=_errors()),
    OpInfo("lerp_scalar_big", lambda a, b: cr.lerp(a, b, 0.8), lambda a, b: torch.lerp(a, b, 0.8),
           B(scalars=()), errors=_errors()),
    OpInfo("addcmul", lambda a, b, c: cr.addcmul(a, b, c, value=-0.5),
           lambda a, b, c: torch.addcmul(a, b, c, value=-0.5), _ternary(),
           errors=lambda: [ErrorInput(([1.0], np.ones(2), np.ones(2)), {}, TypeError,
                                      "addcmul: expected a Tensor", op=cr.addcmul)]),
    OpInfo("addcdiv", lambda a, b, c: cr.addcdiv(a, b, c, value=2),
           lambda a, b, c: torch.addcdiv(a, b, c, value=2), _ternary(0.5, 2.0),
           errors=lambda: [ErrorInput((np.ones(2), np.ones(2, np.int64), np.ones(2, np.int64)), {},
                                      RuntimeError, "Integer division with addcdiv",
                                      op=cr.addcdiv)]),
    OpInfo("where", lambda c, a, b: cr.where(c > 0, a, b), lambda c, a, b: torch.where(c > 0, a, b),
           lambda dt, rng: [
               Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)).astype(dt),
                       rng.standard_normal((4,)).astype(dt)), no_grad=(0,), desc="bcast"),
               Sample((rng.standard_normal(()), rng.standard_normal((2, 3)).astype(dt),
                       rng.standard_normal(()).astype(dt)), no_grad=(0,), desc="0-d"),
               Sample((rng.standard_normal((0, 2)), rng.standard_normal((0, 2)).astype(dt),
                       rng.standard_normal((2,)).astype(dt)), no_grad=(0,), desc="empty"),
               Sample((rng.standard_normal((3, 1)), rng.standard_normal((4, 3)).astype(dt).T,
                       rng.standard_normal((1, 4)).astype(dt)), no_grad=(0,), desc="noncontig"),
           ], primitives=("Where",),
           errors=lambda: [ErrorInput((np.ones(3), np.ones(3), np.ones(3)), {}, RuntimeError,
                                      "where: expected condition to be a boolean", op=cr.where)]),
    _cmp("eq"), _cmp("ne"), _cmp("lt"), _cmp("le"), _cmp("gt"), _cmp("ge"),
    _cmp("logical_and", ()), _cmp("logical_or", ()), _cmp("logical_xor", ()),
    OpInfo("bitwise_and", cr.bitwise_and, torch.bitwise_and,
           lambda dt, rng: [Sample((rng.integers(-8, 8, sa), rng.integers(-8, 8, sb)))
                            for sa, sb in [((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3))]],
           grad=False, errors=lambda: [
               ErrorInput((np.ones(2), np.ones(2)), {}, RuntimeError,
                          "bitwise_and: not implemented for floating"),
               ErrorInput((np.ones((2, 3), np.int64), np.ones(4, np.int64)), {}, RuntimeError,
                          SHAPE_ERR)]),
]
