"""Lint of every error message in the OpInfo tables, and agreement with torch on shared bad inputs.

For each ``ErrorInput`` of every entry in ``OP_DB``:

* the message names the op: the entry's name (or a ``_``-prefix of it, e.g. ``div`` for
  ``div_floor``), one of its ``error_names``, a name the call itself uses (the function's
  ``__name__``, an attribute a lambda calls), or an alias listed in ``ALIASES`` with its reason;
* the message names at least one offending value: a shape of an input (``(2, 3)``, ``[2, 3]``,
  ``2x3``), a dimension size of 2 or more, its number of dimensions (``3-D``, ``3 dimensions``),
  its dtype (``float64``, ``chainrule.float64``, ``long``, ``boolean``), a number, string or
  keyword the call passes, or the type of a non-tensor argument (``got list``).

An entry whose message cannot satisfy the rule is listed in ``EXEMPT`` (message pattern ->
reason). Then, wherever torch's reference raises on the same bad input, chainrule must raise the
same exception class, and at least 50 such shared cases must exist.
"""
import re
import warnings

import numpy as np
import pytest
import torch

import chainrule
from opinfo import OP_DB

# op name -> the name its messages use instead, and why that is the right name to show
ALIASES = {
    "rsub": ("sub", "rsub(a, b) is sub(b, a); the broadcast error is sub's"),
    "rdiv": ("div", "rdiv is div with swapped operands"),
    "arcsin": ("asin", "arcsin is the same function object as asin"),
    "arctanh": ("atanh", "arctanh is the same function object as atanh"),
    "fix": ("trunc", "fix is the same function object as trunc"),
    "clip": ("clamp", "clip is the same function object as clamp"),
    "msort": ("sort", "msort(x) is sort(x, 0).values (chainrule/ops/sorting.py)"),
    "view": ("reshape", "Tensor.view of a contiguous tensor is reshape (torch words it alike)"),
    "broadcast_to": ("expand", "broadcast_to(x, s) is x.expand(s), as in torch"),
    "tile": ("repeat", "tile is repeat after padding the reps with leading 1s, as in torch"),
    "hstack": ("cat", "the stack functions are cat after reshaping, as in torch"),
    "vstack": ("cat", "the stack functions are cat after reshaping, as in torch"),
    "dstack": ("cat", "the stack functions are cat after reshaping, as in torch"),
    "column_stack": ("cat", "the stack functions are cat after reshaping, as in torch"),
    "nansum": ("sum", "nansum is sum over the NaN-zeroed input; the dim check is sum's"),
    "nanmean": ("sum", "nanmean divides nansum by a count; the dim check is sum's"),
    "softmin": ("softmax", "softmin(x) is softmax(-x), the dim check is softmax's"),
    "addmm": ("mm", "the product of addmm is mm; the message gives both operand shapes"),
    "addmv": ("mv", "the product of addmv is mv; the message gives both operand shapes"),
    "baddbmm": ("bmm", "the product of baddbmm is bmm; the message gives both operand shapes"),
    "addbmm": ("bmm", "the product of addbmm is bmm; the message gives both operand shapes"),
    "getitem": ("indices", "indexing has no op name in torch's words either: the message says "
                "'tensors used as indices'"),
    "conv_transpose2d_reference": ("reshape", "a test-only reference, not chainrule API"),
}

# message regex (or entry name) -> why the lint does not apply (kept small)
EXEMPT = {
    "nn.functional.conv2d_reference": "a test-only NumPy reference of conv2d, not chainrule API",
    r"leaf Variable that requires grad is being used in an in-place":
        "the offending property is requires_grad, which the message names",
    r"At least one of 'min' or 'max' must not be None":
        "the offending values are the missing min and max, which the message names",
    r"step must be greater than zero":
        "a negative slice step; NumPy's message (raised inside Tensor.__getitem__)",
    r"cannot specify both unbiased and correction":
        "the offending values are the two keywords, both named",
    r"running_mean and running_var must be given":
        "the offending values are the missing running statistics, both named",
    r"either size or scale_factor should be defined":
        "the message names both arguments",
    r"Padding_idx must be within num_embeddings":
        "torch's own message, asserted by the table entry",
}


_NOT_OP_NAMES = {"tensor", "shape", "dtype", "data", "float", "long", "double", "int", "bool",
                 "half", "to", "size", "dim", "ndim", "numel", "item", "clone", "detach",
                 "requires_grad_", "zeros", "ones", "arange", "Tensor", "Generator"}


def _is_op_name(name):
    """A chainrule function or Tensor method a call makes, not a module or a generic word."""
    if len(name) < 2 or name in _NOT_OP_NAMES:
        return False
    return any(callable(getattr(ns, name, None))
               for ns in (chainrule, chainrule.nn.functional, chainrule.Tensor))


def _candidate_names(op, err):
    base = op.name.split(".")[-1]
    names = {base, base.rstrip("_"), base.rstrip("0123456789"), *op.error_names}
    parts = base.split("_")
    names.update("_".join(parts[:i]) for i in range(1, len(parts)))
    for fn in (err.op, op.op):
        name = getattr(fn, "__name__", "")
        if name and name != "<lambda>":
            names.add(name.rstrip("_"))
        code = getattr(fn, "__code__", None)
        if code is not None:      # the ops a lambda calls (cr.sum, x.cummin, F.relu_, ...)
            names.update(n for n in code.co_names if _is_op_name(n))
    for n in list(names):
        if n in ALIASES:
            names.add(ALIASES[n][0])
    return {n.lower() for n in names if n and n != "F"}


_DTYPE_NAMES = {"float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                "uint8", "bool", "complex64", "complex128"}
_CAST_METHODS = {"long": "int64", "int": "int32", "float": "float32", "double": "float64",
                 "half": "float16", "bool": "bool"}
_DTYPE_WORDS = {"int64": ("long",), "bool": ("boolean",), "float32": ("float",),
                "int32": ("int",)}


def _value_tokens(err):
    toks = set()

    def add(a):
        if isinstance(a, np.ndarray):
            dt = str(chainrule.Tensor._make(a).dtype).replace("chainrule.", "")
            toks.update((dt,) + _DTYPE_WORDS.get(dt, ()))
            s = a.shape
            toks.update({str(tuple(s)), str(list(s)), "x".join(map(str, s)),
                         f"{a.ndim}-D", f"{a.ndim}D", f"{a.ndim} dim", f"{a.ndim}-dim",
                         f"{a.ndim} dimensions"})
            toks.update(str(d) for d in s if d >= 2)
            if a.ndim == 0:
                toks.update({"zero-dimensional", "no dimensions", "scalar"})
            if 0 < a.size <= 4:
                for v in a.ravel():
                    add(v.item())
        elif isinstance(a, (list, tuple)):
            toks.add(type(a).__name__)
            for x in a:
                add(x)
            if a and all(isinstance(x, int) for x in a):
                toks.update({str(tuple(a)), str(list(a))})
        elif a is None or isinstance(a, bool):
            toks.add(str(a))
        elif isinstance(a, (int, float)):
            toks.update({repr(a), str(a)})
            if isinstance(a, float) and a.is_integer():
                toks.add(str(int(a)))
        elif isinstance(a, str):
            toks.add(a)
        elif str(a).startswith("chainrule."):
            toks.add(str(a)[len("chainrule."):])
        elif not isinstance(a, slice):
            toks.add(type(a).__name__)

    for a in list(err.args) + list(err.kwargs.values()):
        add(a)
        if not isinstance(a, np.ndarray):
            toks.add(type(a).__name__)
    toks.update(err.kwargs)
    code = getattr(err.op, "__code__", None)
    if code is not None:     # values a custom call passes: its constants and closure cells
        toks.update(_CAST_METHODS.get(n, n) for n in code.co_names
                    if n in _DTYPE_NAMES or n in _CAST_METHODS)
        for c in code.co_consts:
            if isinstance(c, (int, float, str, tuple)) and not isinstance(c, bool):
                add(c)
        for cell in err.op.__closure__ or ():
            try:
                add(cell.cell_contents)
            except ValueError:
                pass
    return {t.lower() for t in toks if t}


def _chainrule_call(op, err):
    args = [chainrule.Tensor._make(a) if isinstance(a, np.ndarray) else a for a in err.args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            (err.op or op.op)(*args, **err.kwargs)
        except Exception as e:    # noqa: BLE001 -- every error is linted
            return e
    return None


def _cases():
    return [(op, i, err) for op in OP_DB if op.errors for i, err in enumerate(op.errors())]


CASES = _cases()


def _lint(op, err, exc):
    """'' when the message passes the lint, otherwise what it lacks."""
    msg = str(exc).lower()
    if op.name in EXEMPT or any(re.search(p, str(exc)) for p in EXEMPT):
        return ""
    problems = []
    if not any(n in msg for n in _candidate_names(op, err)):
        problems.append("names no op")
    vals = _value_tokens(err)
    if not any(re.search(r"(?<!\w)" + re.escape(v) + r"(?!\w)", msg) for v in vals):
        problems.append("names no offending value")
    return ", ".join(problems)


def test_every_error_message_names_op_and_offending_value():
    assert len(CASES) >= 700
    failures = []
    for op, i, err in CASES:
        exc = _chainrule_call(op, err)
        assert exc is not None, f"{op.name} error input {i} raised nothing"
        problem = _lint(op, err, exc)
        if problem:
            failures.append(f"{op.name}[{i}]: {problem}: {str(exc)[:150]!r}")
    assert not failures, f"{len(failures)} messages fail the lint:\n" + "\n".join(failures)


def test_lint_rejects_a_vague_message():
    op = next(o for o in OP_DB if o.name == "tril")
    err = op.errors()[0]
    assert _lint(op, err, RuntimeError("tril: input tensor must have at least 2 dimensions, "
                                       "got 1-D (shape (3,))")) == ""
    assert "offending value" in _lint(op, err, RuntimeError("tril: bad input"))
    assert "names no op" in _lint(op, err, RuntimeError("bad input of shape (3,)"))


def _to_torch(a):
    if isinstance(a, np.ndarray):
        return torch.from_numpy(np.array(a, order="C"))
    if isinstance(a, (list, tuple)) and a and all(isinstance(x, np.ndarray) for x in a):
        return type(a)(_to_torch(x) for x in a)
    return a


def _torch_call(op, err):
    args = [_to_torch(a) for a in err.args]
    kwargs = {k: _to_torch(v) for k, v in err.kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            op.ref(*args, **kwargs)
        except Exception as e:    # noqa: BLE001
            return e
    return None


# entry[index] -> why chainrule's class differs from torch's (the table entry asserts ours)
CLASS_MISMATCHES = {
    "index_copy[0]": "torch: IndexError; the table entry (tests/opinfo/index.py) asserts "
                     "RuntimeError",
    "put[1]": "torch: IndexError; the table entry (tests/opinfo/index.py) asserts RuntimeError",
    "nn.functional.unfold[0]": "torch: IndexError; the table entry (tests/opinfo/nn_conv.py) "
                               "asserts RuntimeError",
}


def test_same_exception_class_as_torch_on_shared_bad_inputs():
    shared, mismatches = 0, []
    for op, i, err in CASES:
        if err.op is not None:        # a chainrule-only call: torch's ref takes other arguments
            continue
        theirs = _torch_call(op, err)
        if theirs is None:
            continue
        ours = _chainrule_call(op, err)
        shared += 1
        if type(ours) is not type(theirs) and f"{op.name}[{i}]" not in CLASS_MISMATCHES:
            mismatches.append(f"{op.name}[{i}]: chainrule {type(ours).__name__}, torch "
                              f"{type(theirs).__name__}: {str(theirs)[:100]!r}")
    assert not mismatches, "\n".join(mismatches)
    assert shared >= 50, f"only {shared} bad inputs on which torch raises too"
