"""The OpInfo record and the machinery that runs a sample through chainrule and torch."""
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Sample:
    """One call: ``args`` may hold NumPy arrays (become tensors) and plain Python values.

    Float arrays are differentiable inputs unless their position is listed in ``no_grad``.
    ``finite_diff=False`` keeps the sample out of gradcheck/gradgradcheck: it sits on a kink
    (ties of max, a zero of |x|) where finite differences disagree with the subgradient torch uses.
    """
    args: tuple
    kwargs: dict = field(default_factory=dict)
    desc: str = ""
    no_grad: tuple = ()
    finite_diff: bool = True


@dataclass
class ErrorInput:
    """A bad call and the error it must raise (type, and a regex the message must match)."""
    args: tuple
    kwargs: dict = field(default_factory=dict)
    error: type = RuntimeError
    match: str = ""
    op: Callable = None      # call this instead of the OpInfo's op (e.g. to pass other arguments)


@dataclass
class OpInfo:
    """One op under test.

    Attributes:
        name: unique test id.
        op: the chainrule callable; receives chainrule tensors in place of arrays.
        ref: the torch callable; receives torch tensors in place of arrays.
        samples: ``samples(dtype, rng) -> [Sample]`` with ``dtype`` a NumPy float dtype.
        primitives: names in ``chainrule.ops.PRIMITIVES`` this entry exercises.
        dtypes: float dtypes to test forward/backward in (NumPy names).
        grad / gradgrad: whether to check first / second derivatives.
        errors: ``errors() -> [ErrorInput]``.
        tol: {dtype name: (rtol, atol)} for comparisons with torch.
        gradcheck_tol: (rtol, atol) for the float64 finite-difference check.
        compare_dtype: check the output dtype equals torch's.
    """
    name: str
    op: Callable
    ref: Callable
    samples: Callable
    primitives: tuple = ()
    dtypes: tuple = ("float32", "float64")
    grad: bool = True
    gradgrad: bool = True
    errors: Callable = None
    tol: dict = None
    gradcheck_tol: tuple = (1e-6, 1e-7)
    gradcheck_eps: float = 1e-6
    compare_dtype: bool = True
    skip_reason: str = ""
    extra: Any = None

    def tolerance(self, dtype_name):
        default = {"float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9), "float16": (1e-2, 1e-3)}
        if self.tol and dtype_name in self.tol:
            return self.tol[dtype_name]
        return default.get(dtype_name, (0, 0))


def cast_sample(sample, dtype):
    """The sample with every float array cast to ``dtype`` (keeps non-contiguous layouts)."""
    def cast(a):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype != dtype:
            if a.flags.c_contiguous or a.size == 0 or a.ndim < 2:
                return a.astype(dtype)
            return a.T.astype(dtype).T     # a transposed view stays non-contiguous
        return a
    return Sample(tuple(cast(a) for a in sample.args), sample.kwargs, sample.desc, sample.no_grad,
                  sample.finite_diff)


def differentiable_positions(sample):
    return [i for i, a in enumerate(sample.args)
            if isinstance(a, np.ndarray) and a.dtype.kind == "f" and i not in sample.no_grad]


def to_chainrule(sample, requires_grad):
    import chainrule
    pos = differentiable_positions(sample) if requires_grad else []
    args = []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            t = chainrule.Tensor._make(a.copy() if a.flags.c_contiguous else a.T.copy().T)
            if i in pos:
                t.requires_grad_(True)
            args.append(t)
        elif isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            ts = [chainrule.Tensor._make(x.copy()) for x in a]
            if requires_grad:
                for x in ts:
                    if x.dtype.is_floating_point:
                        x.requires_grad_(True)
            args.append(type(a)(ts))
        else:
            args.append(a)
    return args, pos


def to_torch(sample, requires_grad):
    import torch
    pos = differentiable_positions(sample) if requires_grad else []
    args = []
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(a.copy() if a.flags.c_contiguous else a.T.copy().T)
            if i in pos:
                t.requires_grad_(True)
            args.append(t)
        elif isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
            ts = [torch.from_numpy(x.copy()) for x in a]
            if requires_grad:
                for x in ts:
                    if x.is_floating_point():
                        x.requires_grad_(True)
            args.append(type(a)(ts))
        else:
            args.append(a)
    return args, pos


def grad_leaves(args, pos):
    """The differentiable tensors of a call: array positions plus tensors inside lists."""
    leaves = [args[i] for i in pos]
    for a in args:
        if isinstance(a, (list, tuple)):
            leaves.extend(x for x in a if getattr(x, "requires_grad", False))
    return leaves


def outputs_tuple(out):
    if isinstance(out, (tuple, list)):
        return tuple(out)
    return (out,)
