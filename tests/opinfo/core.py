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
        gradcheck_reason: why ``gradcheck_tol`` is looser than (1e-6, 1e-7) (required then).
        no_scalar_reason / no_empty_reason / no_noncontig_reason: why the entry has no 0-d /
            size-0 / non-contiguous sample (torch rejects it, or the op has no such input).
        auto_noncontig: when no sample is non-contiguous, add a copy of the first sample with a
            >= 2-D float array whose first such array is a non-contiguous view (same values).
        error_names: other names the op's error messages may use (tests/test_error_lint.py).
        derived: extra samples made from the first sample (see ``derive_sample``): "scalar",
            "scalar_all", "empty", "empty_first", "empty_all".
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
    gradcheck_reason: str = ""
    no_scalar_reason: str = ""
    no_empty_reason: str = ""
    no_noncontig_reason: str = ""
    auto_noncontig: bool = True
    error_names: tuple = ()
    derived: tuple = ()

    def __post_init__(self):
        if self.derived:
            self.samples = _with_derived(self.samples, self.derived)
        if self.auto_noncontig:
            self.samples = _with_noncontig(self.samples)

    def tolerance(self, dtype_name):
        default = {"float32": (1e-4, 1e-5), "float64": (1e-7, 1e-9), "float16": (1e-2, 1e-3)}
        if self.tol and dtype_name in self.tol:
            return self.tol[dtype_name]
        return default.get(dtype_name, (0, 0))


def _noncontig_index(sample):
    """Position of the first float array of >= 2 dims and size > 0 in ``sample.args``, or None."""
    for i, a in enumerate(sample.args):
        if isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.ndim >= 2 and \
                min(a.shape[-2:]) > 1:
            return i
    return None


def is_noncontig_sample(sample):
    return any(isinstance(a, np.ndarray) and a.ndim >= 2 and not a.flags.c_contiguous
               for a in sample.args)


def _with_noncontig(gen):
    """``gen`` plus, if none of its samples is non-contiguous, a non-contiguous copy of one."""
    def samples(dtype, rng):
        out = gen(dtype, rng)
        if any(is_noncontig_sample(s) for s in out):
            return out
        for s in out:
            i = _noncontig_index(s)
            if i is not None:
                a = s.args[i]
                view = np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)
                args = s.args[:i] + (view,) + s.args[i + 1:]
                out.append(Sample(args, dict(s.kwargs), f"{s.desc} noncontig (auto)", s.no_grad,
                                  s.finite_diff))
                break
        return out
    samples.__wrapped__ = gen
    return samples


def _first_float(args):
    return next((i for i, a in enumerate(args)
                 if isinstance(a, np.ndarray) and a.dtype.kind == "f"), None)


def derive_sample(sample, how):
    """A 0-d or size-0 variant of ``sample`` (same kwargs and non-array arguments).

    "scalar": the first float array becomes 0-d (its first value); "scalar_all": every float
    array does. "empty": every array whose dim 0 has the first array's size gets size 0 there (a
    batch of 0); "empty_first": only the first array; "empty_all": every array of >= 1 dim.
    """
    args, first = list(sample.args), _first_float(sample.args)
    arrays = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    if how.startswith("scalar"):
        targets = [i for i in arrays if args[i].dtype.kind == "f"]
        for i in (targets if how == "scalar_all" else targets[:1]):
            args[i] = np.array(args[i].flat[0] if args[i].size else 0.5, dtype=args[i].dtype)
    else:
        n = args[first].shape[0] if args[first].ndim else None
        if how == "empty_first":
            targets = [first]
        elif how == "empty_all":
            targets = [i for i in arrays if args[i].ndim]
        else:
            targets = [i for i in arrays if args[i].ndim and args[i].shape[0] == n]
        for i in targets:
            args[i] = np.zeros((0,) + args[i].shape[1:], args[i].dtype)
    return Sample(tuple(args), dict(sample.kwargs), f"{sample.desc} {how} (derived)",
                  sample.no_grad, sample.finite_diff)


def _with_derived(gen, kinds):
    def samples(dtype, rng):
        out = gen(dtype, rng)
        return out + [derive_sample(out[0], how) for how in kinds]
    samples.__wrapped__ = gen
    return samples


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
