"""The OpInfo tables cover what every op must be tested on.

Every differentiable entry has a 0-d, a size-0 and a non-contiguous sample (or a written reason why
the op cannot take one); every primitive is reached by such samples through its entries; binary
elementwise entries have >= 3 broadcasting samples; every entry has >= 1 ErrorInput (1.5 on
average); and at most 5 % of the entries loosen the gradcheck tolerance, each with a written reason.
"""
import numpy as np
import pytest

from chainrule.ops import PRIMITIVES
from opinfo import OP_DB, binary as binary_table
from opinfo.core import is_noncontig_sample

DEFAULT_GRADCHECK_TOL = (1e-6, 1e-7)
BINARY_NAMES = {op.name for op in binary_table.OPS}
_cache = {}


def _arrays(sample):
    for a in sample.args:
        if isinstance(a, np.ndarray):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, np.ndarray))


def _samples(op):
    if op.name not in _cache:
        _cache[op.name] = op.samples(np.dtype("float64"), np.random.default_rng(0))
    return _cache[op.name]


def _kinds(op):
    samples = _samples(op)
    return {
        "scalar": any(a.ndim == 0 for s in samples for a in _arrays(s)),
        "empty": any(a.size == 0 for s in samples for a in _arrays(s)),
        "noncontig": any(is_noncontig_sample(s) for s in samples),
    }


def _differentiable():
    return [op for op in OP_DB if op.grad and not op.skip_reason]


def _missing(op):
    kinds = _kinds(op)
    reasons = {"scalar": op.no_scalar_reason, "empty": op.no_empty_reason,
               "noncontig": op.no_noncontig_reason}
    return [k for k, ok in kinds.items() if not ok and not reasons[k]]


def test_every_differentiable_entry_has_scalar_empty_and_noncontig_samples():
    missing = {op.name: m for op in _differentiable() if (m := _missing(op))}
    assert not missing, f"entries lacking a 0-d / size-0 / non-contiguous sample: {missing}"


def test_reasons_are_not_given_needlessly():
    needless = []
    for op in _differentiable():
        kinds = _kinds(op)
        for kind, reason in (("scalar", op.no_scalar_reason), ("empty", op.no_empty_reason),
                             ("noncontig", op.no_noncontig_reason)):
            if reason and kinds[kind]:
                needless.append(f"{op.name}: has a {kind} sample and a reason not to")
    assert not needless, needless


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_every_primitive_is_reached_by_scalar_empty_and_noncontig_samples(name):
    entries = [op for op in _differentiable() if name in op.primitives]
    if not entries:
        pytest.skip(f"{name}: no OpInfo entry yet (tests/test_registry.py reports it)")
    for kind in ("scalar", "empty", "noncontig"):
        reasons = [getattr(op, f"no_{kind}_reason") for op in entries]
        if all(reasons):
            continue
        assert any(_kinds(op)[kind] for op in entries), \
            f"{name}: no {kind} sample in {[op.name for op in entries]}"


def _broadcasting(sample):
    shapes = [a.shape for a in sample.args if isinstance(a, np.ndarray)]   # integer ops too
    if len(shapes) < 2 or len(set(shapes)) < 2:
        return False
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def test_binary_elementwise_entries_broadcast():
    few = {}
    for op in OP_DB:
        samples = _samples(op)
        binary = op.name in BINARY_NAMES and any(
            sum(isinstance(a, np.ndarray) for a in s.args) >= 2 for s in samples)
        if binary:
            n = sum(_broadcasting(s) for s in samples)
            if n < 3:
                few[op.name] = n
    assert not few, f"binary elementwise entries with < 3 broadcasting samples: {few}"


def test_every_entry_has_an_error_input():
    counts = {op.name: len(op.errors()) if op.errors else 0 for op in OP_DB}
    none = sorted(name for name, n in counts.items() if n == 0)
    assert not none, f"entries without an ErrorInput: {none}"
    mean = sum(counts.values()) / len(counts)
    assert mean >= 1.5, f"{mean:.2f} ErrorInputs per entry on average (at least 1.5 wanted)"


def test_gradcheck_tolerance_is_loosened_rarely_and_with_a_reason():
    grad_ops = [op for op in OP_DB if op.grad]
    loose = [op for op in grad_ops if op.gradcheck_tol[0] > DEFAULT_GRADCHECK_TOL[0]
             or op.gradcheck_tol[1] > DEFAULT_GRADCHECK_TOL[1]]
    unexplained = [op.name for op in loose if not op.gradcheck_reason.strip()]
    assert not unexplained, f"gradcheck_tol loosened without a gradcheck_reason: {unexplained}"
    assert len(loose) <= 0.05 * len(grad_ops), \
        f"{len(loose)} of {len(grad_ops)} entries loosen gradcheck: {[op.name for op in loose]}"
    stray = [op.name for op in OP_DB if op.gradcheck_reason and op not in loose]
    assert not stray, f"gradcheck_reason on entries with the default tolerance: {stray}"
