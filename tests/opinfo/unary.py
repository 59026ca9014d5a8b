"""OpInfo entries for the unary elementwise ops (chainrule/ops/unary.py, unary_math.py)."""
import numpy as np
import torch

import chainrule as cr
from chainrule.ops.unary_math import logsigmoid
from .core import OpInfo, Sample, ErrorInput
from .samplers import unary_samples

INF, NAN = float("inf"), float("nan")


def _with(gen, *extra):
    """``gen``'s samples plus fixed-value ones: ``(values, finite_diff)`` pairs (finite_diff=False
    for kinks, where finite differences disagree with torch's subgradient)."""
    def samples(dtype, rng):
        out = gen(dtype, rng)
        for values, fd in extra:
            out.append(Sample((np.array(values, dtype=dtype),), desc=f"values {values}",
                              finite_diff=fd))
        return out
    return samples


def _int_sample(gen):
    """Add an int64 input: float ops promote it to the default dtype, integer ops keep it."""
    def samples(dtype, rng):
        extra = [Sample((np.arange(-3, 4, dtype=np.int64),), desc="int64")] \
            if dtype == np.float32 else []   # the float32 result is compared at float32 tolerance
        return gen(dtype, rng) + extra
    return samples


def _not_tensor(op_name):
    return lambda: [ErrorInput(([1.0, 2.0],), {}, TypeError, "expected a Tensor")]


def _inplace_int(method):
    """In-place float op on an integer tensor: the float result can't be written back."""
    return ErrorInput((np.arange(3),), {}, RuntimeError,
                      "result type .* can't be cast to the desired output type",
                      op=lambda x: getattr(x, method)())


def _leaf_inplace(method):
    """An in-place op on a leaf that requires grad: torch's RuntimeError, naming the op."""
    return ErrorInput((np.ones(2),), {}, RuntimeError,
                      rf"{method}: a leaf Variable that requires grad is being used in an in-place",
                      op=lambda x: getattr(x.requires_grad_(), method)())


def _float_op(name, low=-2.0, high=2.0, prims=(), extra=(), torch_fn=None, cr_fn=None, **kw):
    """An entry for a float op: random samples, an int64 input, and its error inputs."""
    def errors():
        out = _not_tensor(name)()
        if hasattr(cr.Tensor, name + "_") and hasattr(torch.Tensor, name + "_"):
            out.append(_inplace_int(name + "_"))
        return out
    return OpInfo(name, cr_fn or getattr(cr, name), torch_fn or getattr(torch, name),
                  _int_sample(_with(unary_samples(low, high), *extra)), primitives=prims,
                  errors=errors, **kw)


def _no_grad_op(name, extra=(), torch_fn=None, cr_fn=None, ints=True, errors=(), **kw):
    gen = _with(unary_samples(-4.0, 4.0), *extra)
    return OpInfo(name, cr_fn or getattr(cr, name), torch_fn or getattr(torch, name),
                  _int_sample(gen) if ints else gen, grad=False,
                  errors=lambda: _not_tensor(name)() + list(errors), **kw)


_ROUND_INT = ErrorInput((np.arange(3),), {"decimals": 2}, NotImplementedError,
                        "round: decimals=2 is not implemented for integer", op=cr.round)


SPECIAL = ([0.0, -0.0, 1.5, -2.5, INF, -INF, NAN], False)
HALVES = ([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.0, -0.0], False)

OPS = [
    OpInfo("neg", cr.neg, torch.neg, _int_sample(unary_samples()), primitives=("Neg",),
           errors=lambda: [ErrorInput((np.array([True]),), {}, RuntimeError,
                                      "neg: negation.*bool")]),
    _float_op("exp", prims=("Exp",), extra=(([-1e4, 88.0, 1e4], False),)),
    _float_op("exp2", prims=("Pow",)),
    _float_op("expm1", prims=("Expm1",), extra=(([1e-10, -1e-10, 0.0], True),)),
    _float_op("log", 0.2, 3.0, prims=("Log",), extra=(([0.0, -1.0, INF], False),)),
    _float_op("log2", 0.2, 3.0, extra=(([0.0, 8.0, 0.125], False),)),
    _float_op("log10", 0.2, 3.0, extra=(([0.0, 100.0, 1e-3], False),)),
    _float_op("log1p", -0.8, 3.0, prims=("Log1p",), extra=(([1e-10, -1e-10, -1.0], False),)),
    _float_op("sqrt", 0.2, 3.0, prims=("Sqrt",), extra=(([0.0, 4.0, -1.0], False),)),
    _float_op("rsqrt", 0.2, 3.0, extra=(([0.0, 4.0, -1.0], False),)),
    OpInfo("square", cr.square, torch.square, _int_sample(unary_samples()),
           errors=_not_tensor("square")),
    _float_op("reciprocal", 0.5, 2.0, extra=(([-0.5, -2.0, 3.0], True),)),
    _float_op("sin", prims=("Sin",)),
    _float_op("cos", prims=("Cos",)),
    _float_op("tan", -1.2, 1.2, prims=("Tan",)),
    _float_op("asin", -0.9, 0.9, prims=("Asin",)),
    _float_op("acos", -0.9, 0.9, prims=("Acos",)),
    _float_op("atan", prims=("Atan",)),
    _float_op("sinh", prims=("Sinh",)),
    _float_op("cosh", prims=("Cosh",)),
    _float_op("tanh", prims=("Tanh",)),
    _float_op("asinh", prims=("Asinh",)),
    _float_op("acosh", 1.2, 3.0, prims=("Acosh",)),
    _float_op("atanh", -0.9, 0.9, prims=("Atanh",)),
    _float_op("arcsin", -0.9, 0.9),
    _float_op("arctanh", -0.9, 0.9),
    _float_op("sigmoid", -8.0, 8.0, prims=("Sigmoid",), extra=(([-1e4, 1e4, 0.0], False),)),
    OpInfo("logsigmoid", logsigmoid, torch.nn.functional.logsigmoid,
           _with(unary_samples(-10.0, 10.0), ([-1e4, -100.0, 0.0, 100.0, 1e4], False)),
           primitives=("LogSigmoid",), errors=_not_tensor("logsigmoid")),
    _float_op("erf", prims=("Erf",), extra=(([0.0, -0.0, 0.3, 1.9, 2.1, -5.0, 6.0], True),)),
    _float_op("erfc", prims=("Erfc",), extra=(([0.0, 0.9, 1.1, 2.6, -3.0, 9.0], True),)),
    _float_op("erfinv", -0.9, 0.9, prims=("Erfinv",),
              extra=(([0.0, 0.999, -0.9999, 1.0, -1.0, 1.5], False),)),
    _float_op("deg2rad", -180.0, 180.0),
    _float_op("rad2deg"),
    _float_op("sinc", extra=(([0.0, 1.0, -2.0, 0.5], True),)),
    OpInfo("frac", cr.frac, torch.frac, _with(unary_samples(), HALVES),
           errors=lambda: _not_tensor("frac")() + [ErrorInput(
               (np.arange(3),), {}, NotImplementedError, "frac: not implemented for integer")]),
    OpInfo("relu", cr.relu, torch.relu, _int_sample(_with(unary_samples(), SPECIAL)),
           primitives=("Relu",),
           errors=lambda: [ErrorInput((np.array([True]),), {}, RuntimeError,
                                      "relu: Boolean inputs not supported", op=cr.relu)]),
    OpInfo("abs", cr.abs, torch.abs, _int_sample(_with(unary_samples(), SPECIAL)),
           primitives=("Abs",), errors=_not_tensor("abs")),
    OpInfo("nan_to_num", cr.nan_to_num, torch.nan_to_num, _with(unary_samples(), SPECIAL),
           errors=_not_tensor("nan_to_num")),
    OpInfo("nan_to_num_args", lambda x: cr.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0),
           lambda x: torch.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-3.0),
           _with(unary_samples(), SPECIAL),
           errors=lambda: [ErrorInput(([1.0],), {"nan": 1.0}, TypeError,
                                      "nan_to_num: expected a Tensor, got list",
                                      op=cr.nan_to_num)]),
    _no_grad_op("sign", extra=(SPECIAL,)),
    _no_grad_op("sgn", extra=(SPECIAL,)),
    _no_grad_op("floor", extra=(SPECIAL, HALVES)),
    _no_grad_op("ceil", extra=(SPECIAL, HALVES)),
    _no_grad_op("round", extra=(SPECIAL, HALVES)),
    _no_grad_op("trunc", extra=(SPECIAL, HALVES)),
    _no_grad_op("fix", extra=(SPECIAL, HALVES)),
    _no_grad_op("round_decimals", extra=(([0.125, 0.135, -2.675, 1234.5], False),),
                cr_fn=lambda x: cr.round(x, decimals=2),
                torch_fn=lambda x: torch.round(x, decimals=2), ints=False, errors=(_ROUND_INT,)),
    _no_grad_op("round_neg_decimals", extra=(([1234.5, 1250.0, -1350.0], False),),
                cr_fn=lambda x: cr.round(x, decimals=-2),
                torch_fn=lambda x: torch.round(x, decimals=-2), ints=False),
    _no_grad_op("isnan", extra=(SPECIAL,)),
    _no_grad_op("isinf", extra=(SPECIAL,)),
    _no_grad_op("isfinite", extra=(SPECIAL,)),
    _no_grad_op("isposinf", extra=(SPECIAL,)),
    _no_grad_op("isneginf", extra=(SPECIAL,)),
    _no_grad_op("signbit", extra=(SPECIAL,)),
    _no_grad_op("logical_not", extra=(SPECIAL,)),
    OpInfo("clone", cr.clone, torch.clone, unary_samples(), primitives=("Clone",),
           errors=_not_tensor("clone")),
    OpInfo("cast_f64", lambda x: cr.cast(x, cr.float64), lambda x: x.to(torch.float64),
           unary_samples(), primitives=("Cast",),
           # exact in both directions: a tight float32 tolerance lets a wrong gradient show
           tol={"float32": (1e-7, 1e-9)},
           errors=lambda: [ErrorInput(([1.0],), {}, TypeError, "cast: expected a Tensor, got list",
                                      op=lambda x: cr.cast(x, cr.float64))]),
    OpInfo("to_cpu", lambda x: cr.to_device(x, "cpu"), lambda x: x.to("cpu"),
           unary_samples(), primitives=("ToDevice",),
           errors=lambda: [ErrorInput((np.ones(2),), {}, RuntimeError,
                                      "to\\(device=.*unknown device type 'tpu'",
                                      op=lambda x: cr.to_device(x, "tpu")),
                           ErrorInput(([1.0],), {}, TypeError, "to: expected a Tensor, got list",
                                      op=lambda x: cr.to_device(x, "cpu"))]),
    # in-place variants on a clone: values, and gradients through the rebound graph
    OpInfo("exp_", lambda x: x.clone().exp_(), lambda x: x.clone().exp_(), unary_samples(),
           errors=lambda: [_inplace_int("exp_"), _leaf_inplace("exp_")]),
    OpInfo("sigmoid_", lambda x: x.clone().sigmoid_(), lambda x: x.clone().sigmoid_(),
           unary_samples(), errors=lambda: [_inplace_int("sigmoid_"), _leaf_inplace("sigmoid_")]),
    OpInfo("relu_", lambda x: cr.relu_(x.clone()), lambda x: torch.relu_(x.clone()),
           _with(unary_samples(), SPECIAL),
           errors=lambda: [ErrorInput((np.array([True]),), {}, RuntimeError,
                                      "relu: Boolean inputs not supported", op=cr.relu_),
                           _leaf_inplace("relu_")]),
    OpInfo("erf_", lambda x: x.clone().erf_(), lambda x: x.clone().erf_(), unary_samples(),
           errors=lambda: [_inplace_int("erf_"), _leaf_inplace("erf_")]),
    OpInfo("floor_", lambda x: x.clone().floor_(), lambda x: x.clone().floor_(),
           unary_samples(), grad=False, errors=lambda: [_leaf_inplace("floor_")]),
]
