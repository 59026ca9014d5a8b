"""Every OpInfo entry: forward and gradients against torch (float32, float64), gradcheck and
gradgradcheck in float64, and its error inputs."""
import re

import numpy as np
import pytest
import torch

import chainrule
from chainrule.autograd import gradcheck, gradgradcheck
from opinfo import OP_DB
from opinfo.core import (cast_sample, to_chainrule, to_torch, outputs_tuple, grad_leaves)

torch.set_default_dtype(torch.float32)


def _ids(ops):
    return [op.name for op in ops]


def _as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, chainrule.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def _compare(name, what, ours, theirs, rtol, atol, check_dtype=True):
    a, b = _as_numpy(ours), _as_numpy(theirs)
    assert a.shape == b.shape, f"{name}: {what}: shape {a.shape} vs torch {b.shape}"
    if check_dtype:
        assert str(a.dtype) == str(b.dtype), f"{name}: {what}: dtype {a.dtype} vs torch {b.dtype}"
    if a.dtype.kind in "biu":
        np.testing.assert_array_equal(a, b, err_msg=f"{name}: {what}")
    else:
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True, err_msg=f"{name}: {what}")


def _float_outputs(outs):
    return [o for o in outs if isinstance(o, (chainrule.Tensor, torch.Tensor))
            and o.dtype in (chainrule.float16, chainrule.float32, chainrule.float64,
                            torch.float16, torch.float32, torch.float64)]


def _params(kind):
    out = []
    for op in OP_DB:
        if kind == "fwd":
            for dt in op.dtypes:
                out.append(pytest.param(op, dt, id=f"{op.name}-{dt}"))
        else:
            out.append(pytest.param(op, id=op.name))
    return out


@pytest.mark.parametrize("op,dtype", _params("fwd"))
def test_forward_and_backward_match_torch(op, dtype):
    if op.skip_reason:
        pytest.skip(op.skip_reason)
    rng = np.random.default_rng(0)
    rtol, atol = op.tolerance(dtype)
    for sample in op.samples(np.dtype(dtype), rng):
        sample = cast_sample(sample, np.dtype(dtype))
        label = f"{op.name}[{sample.desc}]"
        cr_args, pos = to_chainrule(sample, op.grad)
        th_args, _ = to_torch(sample, op.grad)
        ours = outputs_tuple(op.op(*cr_args, **sample.kwargs))
        theirs = outputs_tuple(op.ref(*th_args, **sample.kwargs))
        assert len(ours) == len(theirs), f"{label}: {len(ours)} outputs vs torch {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _compare(label, f"output {i}", a, b, rtol, atol, op.compare_dtype)
        if not op.grad:
            continue
        cr_leaves, th_leaves = grad_leaves(cr_args, pos), grad_leaves(th_args, pos)
        cr_outs = [o for o in _float_outputs(ours) if o.requires_grad]
        th_outs = [o for o in _float_outputs(theirs) if o.requires_grad]
        if not cr_leaves or not th_outs:
            continue
        assert len(cr_outs) == len(th_outs), f"{label}: differentiable outputs differ"
        upstream = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in th_outs]
        th_grads = torch.autograd.grad(th_outs, th_leaves,
                                       [torch.from_numpy(u) for u in upstream], allow_unused=True)
        cr_grads = chainrule.autograd.grad(cr_outs, cr_leaves,
                                           [chainrule.tensor(u) for u in upstream],
                                           allow_unused=True)
        for i, (a, b) in enumerate(zip(cr_grads, th_grads)):
            if b is None:
                assert a is None or not np.any(_as_numpy(a)), f"{label}: grad {i} should be 0"
                continue
            assert a is not None, f"{label}: grad of input {i} is None, torch has one"
            _compare(label, f"grad of input {i}", a, b, rtol * 10, atol * 10)


def _gradcheck_params():
    return [p for p in _params("one") if p.values[0].grad]


def _closure(op, sample, cr_args, pos):
    def fn(*leaves):
        args = list(cr_args)
        for p, leaf in zip(pos, leaves):
            args[p] = leaf
        return op.op(*args, **sample.kwargs)
    return fn


@pytest.mark.parametrize("op", _gradcheck_params())
def test_gradcheck(op):
    if op.skip_reason:
        pytest.skip(op.skip_reason)
    rng = np.random.default_rng(1)
    rtol, atol = op.gradcheck_tol
    checked = 0
    for sample in op.samples(np.dtype("float64"), rng):
        sample = cast_sample(sample, np.dtype("float64"))
        cr_args, pos = to_chainrule(sample, True)
        if not pos or not sample.finite_diff:
            continue
        leaves = [cr_args[p] for p in pos]
        assert gradcheck(_closure(op, sample, cr_args, pos), leaves, eps=op.gradcheck_eps,
                         atol=atol, rtol=rtol, name=f"{op.name}[{sample.desc}]")
        checked += 1
    assert checked, f"{op.name}: no differentiable sample"


@pytest.mark.parametrize("op", [p for p in _gradcheck_params() if p.values[0].gradgrad])
def test_gradgradcheck(op):
    if op.skip_reason:
        pytest.skip(op.skip_reason)
    rng = np.random.default_rng(2)
    rtol, atol = op.gradcheck_tol
    for sample in op.samples(np.dtype("float64"), rng)[:4]:
        sample = cast_sample(sample, np.dtype("float64"))
        cr_args, pos = to_chainrule(sample, True)
        if not pos or not sample.finite_diff or any(cr_args[p].numel() == 0 for p in pos):
            continue
        leaves = [cr_args[p] for p in pos]
        assert gradgradcheck(_closure(op, sample, cr_args, pos), leaves, eps=op.gradcheck_eps,
                             atol=max(atol, 1e-6), rtol=max(rtol, 1e-5),
                             name=f"{op.name}[{sample.desc}]")


@pytest.mark.parametrize("op", [p for p in _params("one") if p.values[0].errors])
def test_error_inputs(op):
    for err in op.errors():
        sample_args = []
        for a in err.args:
            sample_args.append(chainrule.Tensor._make(a) if isinstance(a, np.ndarray) else a)
        with pytest.raises(err.error) as info:
            (err.op or op.op)(*sample_args, **err.kwargs)
        if err.match:
            assert re.search(err.match, str(info.value)), \
                f"{op.name}: message {str(info.value)!r} does not match {err.match!r}"
