import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample, ErrorInput
from .samplers import unary_samples

OPS = [
    OpInfo("neg", cr.neg, torch.neg, unary_samples(), primitives=("Neg",)),
    OpInfo("exp", cr.exp, torch.exp, unary_samples(), primitives=("Exp",)),
    OpInfo("log", cr.log, torch.log, unary_samples(0.2, 3.0), primitives=("Log",)),
    OpInfo("sqrt", cr.sqrt, torch.sqrt, unary_samples(0.2, 3.0), primitives=("Sqrt",)),
    OpInfo("sin", cr.sin, torch.sin, unary_samples(), primitives=("Sin",)),
    OpInfo("cos", cr.cos, torch.cos, unary_samples(), primitives=("Cos",)),
    OpInfo("tanh", cr.tanh, torch.tanh, unary_samples(), primitives=("Tanh",)),
    OpInfo("sigmoid", cr.sigmoid, torch.sigmoid, unary_samples(-8, 8), primitives=("Sigmoid",)),
    OpInfo("relu", cr.relu, torch.relu, unary_samples(), primitives=("Relu",)),
    OpInfo("abs", cr.abs, torch.abs, unary_samples(), primitives=("Abs",)),
    OpInfo("clone", cr.clone, torch.clone, unary_samples(), primitives=("Clone",)),
    OpInfo("cast_f64", lambda x: cr.cast(x, cr.float64), lambda x: x.to(torch.float64),
           unary_samples(), primitives=("Cast",)),
    OpInfo("to_cpu", lambda x: cr.to_device(x, "cpu"), lambda x: x.to("cpu"),
           unary_samples(), primitives=("ToDevice",)),
    OpInfo("where", lambda c, a, b: cr.where(c > 0, a, b), lambda c, a, b: torch.where(c > 0, a, b),
           lambda dt, rng: [
               Sample((rng.standard_normal((3, 4)), rng.standard_normal((3, 4)).astype(dt),
                       rng.standard_normal((4,)).astype(dt)), no_grad=(0,), desc="bcast"),
               Sample((rng.standard_normal(()), rng.standard_normal((2, 3)).astype(dt),
                       rng.standard_normal(()).astype(dt)), no_grad=(0,), desc="0-d"),
               Sample((rng.standard_normal((0, 2)), rng.standard_normal((0, 2)).astype(dt),
                       rng.standard_normal((2,)).astype(dt)), no_grad=(0,), desc="empty"),
           ], primitives=("Where",),
           errors=lambda: [ErrorInput((np.ones(3), np.ones(3), np.ones(3)), {}, RuntimeError, op=cr.where,
                                      match="where: expected condition to be a boolean")]),
]
