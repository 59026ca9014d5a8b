"""detect_anomaly names the op and the forward file:line for a NaN injected into any primitive.

For every primitive in chainrule.ops.PRIMITIVES reached by a differentiable OpInfo entry, its
forward (then, separately, its backward) is patched to put a NaN into what it returns; the
entry's first sample then runs under ``detect_anomaly``, which must raise a RuntimeError naming
the primitive and the line of this file that called the op.
"""
import contextlib
import os
import re

import numpy as np
import pytest

import chainrule
from chainrule.ops import PRIMITIVES
from opinfo import OP_DB
from opinfo.core import grad_leaves, outputs_tuple, to_chainrule

_THIS_FILE = "test_anomaly_sweep.py"


def _with_nan(value):
    """``value`` (an array, a Tensor or a tuple of them) with a NaN in its first float array."""
    if isinstance(value, (tuple, list)):
        out, done = [], False
        for v in value:
            if not done and _is_float(v) and _size(v):
                v, done = _with_nan(v), True
            out.append(v)
        return type(value)(out)
    if isinstance(value, chainrule.Tensor):
        return chainrule.Tensor._make(_with_nan(value.data))
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind == "f" and value.size:
        value = np.array(value, copy=True)      # a NumPy scalar (0-d result) becomes an array
        value[(0,) * value.ndim] = np.nan       # in place whatever the layout (reshape may copy)
    return value


def _is_float(v):
    data = v.data if isinstance(v, chainrule.Tensor) else v
    return isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f"


def _size(v):
    return np.size(v.data if isinstance(v, chainrule.Tensor) else v)


@contextlib.contextmanager
def _patched(cls, method, calls):
    owner = next(k for k in cls.__mro__ if method in k.__dict__)
    original = owner.__dict__[method]
    bound = getattr(cls, method)           # staticmethods and classmethods alike

    def poisoned(ctx, *args):
        calls.append(1)
        return _with_nan(bound(ctx, *args))

    setattr(cls, method, staticmethod(poisoned))
    try:
        yield
    finally:
        if owner is cls:
            setattr(cls, method, original)
        else:
            delattr(cls, method)


def _cases(name, limit=12):
    """Up to ``limit`` (entry, sample) pairs of differentiable entries whose samples reach
    ``name``, with non-empty float inputs."""
    out = []
    for entry in OP_DB:
        if name not in entry.primitives or not entry.grad or entry.skip_reason:
            continue
        samples = [s for dt in ("float64", "float32") if dt in entry.dtypes
                   for s in entry.samples(np.dtype(dt), np.random.default_rng(0))]
        for sample in samples:
            arrays = [a for a in sample.args if isinstance(a, np.ndarray)]
            floats = [a for a in arrays if a.dtype.kind == "f"]
            if floats and all(a.size for a in floats):
                out.append((entry, sample))
            if len(out) >= limit:
                return out
    return out


_CASES = {name: _cases(name) for name in sorted(PRIMITIVES)}
_REACHED = sorted(name for name, cases in _CASES.items() if cases)


def test_most_primitives_are_swept():
    assert len(_REACHED) >= 0.9 * len(PRIMITIVES), sorted(set(PRIMITIVES) - set(_REACHED))


def _sites(entry):
    """Where the op may be called from in user code: this file, or the table's lambda."""
    sites = [_THIS_FILE]
    code = getattr(entry.op, "__code__", None)
    if code is not None:
        sites.append(f"{os.path.basename(code.co_filename)}:")
    return sites


def _check_message(msg, name, phase, entry):
    assert "nan" in msg.lower() and phase in msg, msg
    site = msg.rsplit("called in forward at ", 1)[-1]
    assert re.search(r":\d+\)?$", site), msg
    assert "chainrule/" not in site.replace("tests/", ""), msg     # user code, not the library
    assert any(s in site for s in _sites(entry)), msg


@pytest.mark.parametrize("name", _REACHED)
def test_nan_in_forward_is_named_with_its_line(name):
    """A NaN out of the primitive's forward. Primitives that only run inside another op's
    backward (conv and pooling adjoints, Split under cat, ...) are caught there: the engine
    checks each backward rule as one unit and names that rule."""
    calls = []
    for entry, sample in _CASES[name]:
        args, pos = to_chainrule(sample, True)
        with _patched(PRIMITIVES[name], "forward", calls), chainrule.autograd.detect_anomaly():
            try:
                result = entry.op(*args, **sample.kwargs)
            except RuntimeError as e:
                if not calls:
                    raise
                assert name in str(e), str(e)
                _check_message(str(e), name, "forward", entry)
                return
            assert not calls, f"{entry.name}: {name} put a NaN out and detect_anomaly did " \
                              f"not raise"
            outs = [o for o in outputs_tuple(result)
                    if isinstance(o, chainrule.Tensor) and o.requires_grad]
            leaves = grad_leaves(args, pos)
            if not outs or not leaves:
                continue
            try:
                chainrule.autograd.grad(sum((o * o).sum() for o in outs), leaves,
                                        allow_unused=True)
            except RuntimeError as e:
                if not calls:
                    raise
                _check_message(str(e), name, "backward", entry)
                return
            assert not calls, f"{entry.name}: {name} put a NaN into a backward and " \
                              f"detect_anomaly did not raise"
    pytest.fail(f"{name}: none of {len(_CASES[name])} samples reached the primitive")


@pytest.mark.parametrize("name", _REACHED)
def test_nan_in_backward_is_named_with_the_forward_line(name):
    calls = []
    for entry, sample in _CASES[name]:
        args, pos = to_chainrule(sample, True)
        with chainrule.autograd.detect_anomaly():
            outs = [o for o in outputs_tuple(entry.op(*args, **sample.kwargs))
                    if isinstance(o, chainrule.Tensor) and o.requires_grad]
            leaves = grad_leaves(args, pos)
            if not outs or not leaves:
                continue
            loss = sum((o * o).sum() for o in outs)
            with _patched(PRIMITIVES[name], "backward", calls):
                try:
                    chainrule.autograd.grad(loss, leaves, allow_unused=True)
                except RuntimeError as e:
                    if not calls:
                        raise
                    _check_message(str(e), name, "backward", entry)
                    return
        if calls:
            pytest.fail(f"{entry.name}: {name}'s backward put a NaN out and detect_anomaly "
                        f"did not raise")
    pytest.skip(f"{name}: its backward runs only in second-order gradients (it is itself "
                f"part of another op's backward)")
