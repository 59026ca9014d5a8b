"""softmax / log_softmax (fused primitives; tests/test_hypothesis_reduce.py checks them against
their composite references)."""
import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import uniform, noncontig

CASES = [((), 0), ((), -1), ((5,), 0), ((3, 4), 1), ((3, 4), -2), ((2, 3, 4), -1), ((2, 3, 4), 0),
         ((0, 3), 1), ((2, 0), 0)]


def _samples(dtype, rng):
    out = [Sample((uniform(rng, shape, dtype, -3, 3), dim), desc=f"{shape} dim={dim}")
           for shape, dim in CASES]
    out.append(Sample((noncontig(uniform(rng, (3, 4), dtype, -3, 3)), -1), desc="noncontig"))
    for s in (10.0, 1e3, 1e4):   # logits [s, 0, -s]: no overflow, exact values, finite grads
        out.append(Sample((np.array([[s, 0.0, -s], [-s, s, 0.0]], dtype=dtype), 1),
                          desc=f"large logits {s}"))
    out.append(Sample((np.array([[2.0, 2.0, 2.0], [1.0, 1.0, -1.0]], dtype=dtype), -1),
                      desc="ties"))
    # a row of -inf is nan (as torch); the row with one -inf entry is finite
    out.append(Sample((np.array([[-np.inf, -np.inf], [-np.inf, 0.5]], dtype=dtype), 1),
                      desc="-inf rows", finite_diff=False))
    return out


def _small_samples(dtype, rng):
    """(3, 4), 0-d and size-0 inputs (the methods reduce over dims -1 and 0)."""
    return [Sample((uniform(rng, s, dtype, -3, 3),), desc=f"{s}") for s in [(3, 4), (), (0, 3)]]


def _errors(fn, name):
    return lambda: [
        ErrorInput((np.ones((2, 3)), 2), {}, IndexError, r"Dimension out of range", op=fn),
        ErrorInput((np.ones((2, 3), dtype=np.int64), 1), {}, RuntimeError,
                   rf"{name}\(\): expected a floating-point input, got (chainrule\.)?int64", op=fn),
        ErrorInput(([1.0, 2.0], 0), {}, TypeError, rf"{name}\(\): argument 'input' must be a "
                   r"Tensor", op=fn),
    ]


OPS = [
    OpInfo("softmax", cr.softmax, torch.softmax, _samples, primitives=("Softmax",),
           errors=_errors(cr.softmax, "softmax")),
    OpInfo("log_softmax", cr.log_softmax, torch.log_softmax, _samples,
           primitives=("LogSoftmax",), errors=_errors(cr.log_softmax, "log_softmax")),
    OpInfo("softmax_method", lambda x: (x.softmax(-1), x.log_softmax(dim=0)),
           lambda x: (x.softmax(-1), x.log_softmax(dim=0)), _small_samples,
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"softmax.*Dimension out of range.*but got 2",
                                      op=lambda x: x.softmax(2))]),
    OpInfo("softmax_dtype", lambda x: (cr.softmax(x, -1, dtype=cr.float64),
                                       cr.log_softmax(x, 0, dtype=cr.float64)),
           lambda x: (torch.softmax(x, -1, dtype=torch.float64),
                      torch.log_softmax(x, 0, dtype=torch.float64)), _small_samples,
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, IndexError,
                                      r"log_softmax.*Dimension out of range.*but got -3",
                                      op=lambda x: cr.log_softmax(x, -3, dtype=cr.float64))]),
    OpInfo("log_softmax_int_dtype", lambda x: cr.log_softmax(x.long(), 1, dtype=cr.float32),
           lambda x: torch.log_softmax(x.long(), 1, dtype=torch.float32),
           lambda dt, rng: [Sample((uniform(rng, (3, 4), dt, -3, 3),))], grad=False,
           tol={"float64": (1e-6, 1e-7)},   # why: the output is float32 in every run
           errors=lambda: [ErrorInput((np.ones((2, 3)),), {}, RuntimeError,
                                      r"log_softmax\(\): expected a floating-point input, got "
                                      r"(chainrule\.)?int64",
                                      op=lambda x: cr.log_softmax(x.long(), 1))]),
]
