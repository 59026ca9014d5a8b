"""Normalisation layers against torch.nn with copied weights, and the fused norm primitives
against their composite references (forward, gradients, second-order gradients)."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.ops.fused.norm import (BatchNorm, LayerNorm, batch_norm_reference,
                                      layer_norm_reference)


def _t(a, grad=False):
    return cr.tensor(a, requires_grad=grad)


def _grads(out, inputs, upstream, create_graph=False):
    return cr.autograd.grad([out], inputs, [_t(upstream)], create_graph=create_graph,
                            allow_unused=True)


# ---- fused primitives vs composite references ----
FUSED_CASES = [
    ("batch_norm", (4, 3), lambda x, w, b: BatchNorm.apply(x, w, b, 1e-5)[0],
     lambda x, w, b: batch_norm_reference(x, w, b, 1e-5), (3,)),
    ("batch_norm 4d", (2, 3, 2, 2), lambda x, w, b: BatchNorm.apply(x, w, b, 1e-3)[0],
     lambda x, w, b: batch_norm_reference(x, w, b, 1e-3), (3,)),
    ("layer_norm", (3, 5), lambda x, w, b: LayerNorm.apply(x, w, b, 1, 1e-5),
     lambda x, w, b: layer_norm_reference(x, 1, w, b, 1e-5), (5,)),
    ("layer_norm 2 dims", (2, 2, 3), lambda x, w, b: LayerNorm.apply(x, w, b, 2, 1e-5),
     lambda x, w, b: layer_norm_reference(x, 2, w, b, 1e-5), (2, 3)),
]


@pytest.mark.parametrize("name,shape,fused,ref,pshape", FUSED_CASES,
                         ids=[c[0] for c in FUSED_CASES])
@pytest.mark.parametrize("affine", [True, False])
def test_fused_matches_composite(name, shape, fused, ref, pshape, affine):
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal(shape), True)
    w = _t(rng.standard_normal(pshape), True) if affine else None
    b = _t(rng.standard_normal(pshape), True) if affine else None
    inputs = [t for t in (x, w, b) if t is not None]
    up = rng.standard_normal(shape)
    out_f, out_r = fused(x, w, b), ref(x, w, b)
    np.testing.assert_allclose(out_f.detach().numpy(), out_r.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    g_f = _grads(out_f, inputs, up, create_graph=True)
    g_r = _grads(out_r, inputs, up, create_graph=True)
    for a, c in zip(g_f, g_r):
        np.testing.assert_allclose(a.detach().numpy(), c.detach().numpy(), rtol=1e-10, atol=1e-12)
    # second order: d/d(inputs) of <grads, v> must agree too (the fused backward is differentiable)
    vs = [rng.standard_normal(tuple(g.shape)) for g in g_f]
    s_f = sum((g * _t(v)).sum() for g, v in zip(g_f, vs))
    s_r = sum((g * _t(v)).sum() for g, v in zip(g_r, vs))
    gg_f = cr.autograd.grad([s_f], inputs, allow_unused=True)
    gg_r = cr.autograd.grad([s_r], inputs, allow_unused=True)
    for a, c in zip(gg_f, gg_r):
        if a is None or c is None:          # a zero second derivative (e.g. of the bias)
            assert a is None or not a.numpy().any()
            assert c is None or not c.numpy().any()
            continue
        np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-9, atol=1e-11)


def test_fused_float32_stays_float32():
    x = cr.randn(4, 3)
    y, m, v = BatchNorm.apply(x, None, None, 1e-5)
    assert y.dtype is cr.float32 and m.dtype is cr.float32 and v.dtype is cr.float32
    assert LayerNorm.apply(x, cr.ones(3), cr.zeros(3), 1, 1e-5).dtype is cr.float32


# ---- modules vs torch.nn ----
MODULES = [
    ("BatchNorm1d", (3,), {}, (4, 3)),
    ("BatchNorm1d", (3,), {"momentum": None}, (4, 3, 5)),
    ("BatchNorm1d", (3,), {"affine": False}, (4, 3)),
    ("BatchNorm1d", (3,), {"bias": False, "momentum": 0.3}, (4, 3)),
    ("BatchNorm2d", (3,), {}, (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), {"track_running_stats": False}, (2, 3, 2, 2)),
    ("BatchNorm3d", (2,), {"eps": 1e-3}, (2, 2, 2, 2, 3)),
    ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True, "track_running_stats": True}, (2, 3, 5)),
    ("InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True, "momentum": 0.5},
     (2, 3, 3, 3)),
    ("InstanceNorm3d", (2,), {"track_running_stats": True}, (2, 2, 2, 2, 2)),
    ("LayerNorm", (5,), {}, (2, 3, 5)),
    ("LayerNorm", ((3, 5),), {"bias": False}, (2, 3, 5)),
    ("LayerNorm", ([5],), {"elementwise_affine": False, "eps": 1e-3}, (4, 5)),
    ("GroupNorm", (2, 4), {}, (2, 4, 3)),
    ("GroupNorm", (1, 4), {"affine": False}, (2, 4, 2, 2)),
    ("GroupNorm", (4, 4), {"bias": False}, (3, 4, 2)),
    ("RMSNorm", (5,), {}, (2, 3, 5)),
    ("RMSNorm", ((3, 5),), {"eps": 1e-3}, (2, 3, 5)),
    ("RMSNorm", (5,), {"elementwise_affine": False}, (4, 5)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 3, 3)),
    ("LocalResponseNorm", (2,), {"alpha": 0.1, "beta": 0.5, "k": 2.0}, (2, 4, 3)),
]
_IDS = [f"{m[0]}{m[1]}{m[2]}" for m in MODULES]


def _pair(name, args, kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def _load_from_torch(ours, theirs, rng):
    with torch.no_grad():
        for p in theirs.parameters():       # non-trivial weights, so the affine part is tested
            p.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, tuple(p.shape)).astype(np.float32)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def _close(a, b, what, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES, ids=_IDS)
def test_module_matches_torch(name, args, kwargs, shape):
    rng = np.random.default_rng(0)
    ours, theirs = _pair(name, args, kwargs)
    _load_from_torch(ours, theirs, rng)
    for step in range(3):                  # several train steps: running statistics must follow
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        up = rng.standard_normal(shape).astype(np.float32)
        xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yc, yt = ours(xc), theirs(xt)
        _close(yc.detach().numpy(), yt.detach().numpy(), f"{name} step {step}: output", atol=1e-5)
        yc.backward(cr.tensor(up))
        yt.backward(torch.tensor(up))
        _close(xc.grad.numpy(), xt.grad.numpy(), f"{name} step {step}: input grad", atol=1e-4)
        for (k, p), (k2, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert k == k2
            _close(p.grad.numpy(), q.grad.numpy(), f"{name} step {step}: grad of {k}", atol=1e-4)
        for k, v in theirs.state_dict().items():
            _close(ours.state_dict()[k].numpy(), v.numpy(), f"{name} step {step}: {k}")
        ours.zero_grad()
        theirs.zero_grad()
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    _close(ours(cr.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
           f"{name}: eval", atol=1e-5)


@pytest.mark.parametrize("name,args,kwargs,shape", MODULES, ids=_IDS)
def test_module_state_init_and_repr_match_torch(name, args, kwargs, shape):
    ours, theirs = _pair(name, args, kwargs)
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    for k, v in theirs_sd.items():
        assert str(ours_sd[k].dtype).split(".")[-1] == str(v.dtype).split(".")[-1], k
        np.testing.assert_array_equal(ours_sd[k].numpy(), v.numpy(), err_msg=k)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)


def test_batchnorm_momentum_none_is_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [np.random.default_rng(i).standard_normal((5, 2)).astype(np.float32)
               for i in range(4)]
    for b in batches:
        bn(cr.tensor(b))
    _close(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], 0), "running_mean")
    _close(bn.running_var.numpy(), np.mean([b.var(0, ddof=1) for b in batches], 0),
           "running_var (unbiased)")
    assert bn.num_batches_tracked.item() == 4 and bn.num_batches_tracked.dtype is cr.int64


def test_batchnorm_eval_uses_running_stats_and_does_not_update_them():
    bn = nn.BatchNorm1d(2)
    bn.running_mean.data[...] = [1.0, -1.0]
    bn.running_var.data[...] = [4.0, 0.25]
    bn.eval()
    y = bn(cr.tensor([[3.0, 0.0]]))        # a batch of one is fine in eval mode
    _close(y.detach().numpy(), [[(3 - 1) / np.sqrt(4 + 1e-5), (0 + 1) / np.sqrt(0.25 + 1e-5)]],
           "eval output")
    assert bn.num_batches_tracked.item() == 0
    _close(bn.running_mean.numpy(), [1.0, -1.0], "running_mean unchanged")


def test_running_stats_are_outside_the_graph():
    bn = nn.BatchNorm1d(3)
    x = cr.randn(4, 3, requires_grad=True)
    bn(x).sum().backward()
    assert not bn.running_mean.requires_grad and bn.running_mean.grad_fn is None


def test_module_input_errors_name_module_and_shapes():
    with pytest.raises(RuntimeError, match=r"BatchNorm2d\(16, \.\.\.\): expected 4D input "
                                           r"\(N, C, H, W\) with C=16, got \(8, 3, 28, 28\)"):
        nn.BatchNorm2d(16)(cr.randn(8, 3, 28, 28))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(4, \.\.\.\): expected 2D or 3D input "
                                         r"\(N, C\) or \(N, C, L\) with C=4, got \(2, 4, 3, 3\)"):
        nn.BatchNorm1d(4)(cr.randn(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 4\)"):
        nn.BatchNorm1d(4)(cr.randn(1, 4))
    with pytest.raises(ValueError, match=r"InstanceNorm1d\(4, \.\.\.\).*with C=4, got \(2, 3, 5\)"):
        nn.InstanceNorm1d(4, affine=True)(cr.randn(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"LayerNorm\(\(5,\), \.\.\.\): expected input of "
                                           r"shape \(\*, 5\), got \(2, 4\)"):
        nn.LayerNorm(5)(cr.randn(2, 4))
    with pytest.raises(RuntimeError, match=r"GroupNorm\(2, 4, \.\.\.\).*C=4, got \(2, 6, 3\)"):
        nn.GroupNorm(2, 4)(cr.randn(2, 6, 3))
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups"):
        nn.GroupNorm(2, 5)


def test_float64_module_keeps_float64():
    bn = nn.BatchNorm1d(3).double()
    y = bn(cr.randn(4, 3, dtype=cr.float64))
    assert y.dtype is cr.float64 and bn.running_mean.dtype is cr.float64
    ln = nn.LayerNorm(3, dtype=cr.float64)
    assert ln.weight.dtype is cr.float64
