"""chainrule.nn.init and every layer's reset_parameters: the same distributions as torch's
(bounds, mean, std on large samples), the same deterministic fills, the same errors."""
import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.nn import init


def _stats(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    return a.min(), a.max(), a.mean(), a.std()


def assert_same_distribution(ours, theirs, uniform=False):
    """Mean and std agree within sampling error; uniform samples also share their bounds."""
    lo, hi, mean, std = _stats(ours)
    tlo, thi, tmean, tstd = _stats(theirs)
    n = np.asarray(ours).size
    assert abs(mean - tmean) < 6 * tstd / math.sqrt(n) + 1e-12, (mean, tmean)
    assert abs(std - tstd) < 0.05 * tstd + 1e-12, (std, tstd)
    if uniform:
        width = thi - tlo
        assert lo >= tlo - 0.01 * width and hi <= thi + 0.01 * width
        assert lo < tlo + 0.01 * width and hi > thi - 0.01 * width


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("shape", [(200, 300), (64, 16, 3, 3)])
@pytest.mark.parametrize("fn,kwargs,uniform", [
    ("kaiming_uniform_", {}, True),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, True),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, True),
    ("kaiming_normal_", {}, False),
    ("kaiming_normal_", {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"}, False),
    ("kaiming_normal_", {"nonlinearity": "tanh"}, False),
    ("xavier_uniform_", {}, True),
    ("xavier_uniform_", {"gain": 2.0}, True),
    ("xavier_normal_", {"gain": 0.5}, False),
    ("uniform_", {"a": -0.3, "b": 0.7}, True),
    ("normal_", {"mean": 1.0, "std": 0.2}, False),
    ("trunc_normal_", {"std": 0.02}, False),
    ("trunc_normal_", {"mean": 0.5, "std": 1.0, "a": 0.0, "b": 1.5}, True),
])
def test_random_inits_match_torch(fn, kwargs, uniform, shape):
    t = torch.empty(shape)
    getattr(torch.nn.init, fn)(t, **kwargs)
    c = cr.empty(*shape)
    out = getattr(init, fn)(c, **kwargs)
    assert out is c and c.dtype is cr.float32
    assert_same_distribution(c.numpy(), t.numpy(), uniform)


def test_trunc_normal_bounds():
    c = init.trunc_normal_(cr.empty(10000), mean=0.0, std=1.0, a=-0.5, b=2.0)
    assert c.numpy().min() >= -0.5 and c.numpy().max() <= 2.0


def test_init_uses_the_generator_and_the_seed():
    g1, g2 = cr.Generator().manual_seed(5), cr.Generator().manual_seed(5)
    a = init.normal_(cr.empty(4, 3), generator=g1).numpy()
    b = init.normal_(cr.empty(4, 3), generator=g2).numpy()
    np.testing.assert_array_equal(a, b)
    cr.manual_seed(11)
    x = init.kaiming_uniform_(cr.empty(5, 5), a=math.sqrt(5)).numpy()
    cr.manual_seed(11)
    np.testing.assert_array_equal(x, init.kaiming_uniform_(cr.empty(5, 5), a=math.sqrt(5))
                                  .numpy())
    cr.manual_seed(11)
    np.testing.assert_array_equal(x, nn.Linear(5, 5, bias=False).weight.detach().numpy())


def test_init_runs_outside_the_graph():
    p = nn.Parameter(cr.zeros(3, 4))
    init.xavier_uniform_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None
    init.constant_(p, 0.5)
    assert (p.detach().numpy() == 0.5).all()
    d = cr.zeros(3, dtype=cr.float64)
    init.normal_(d)
    assert d.dtype is cr.float64


def test_deterministic_fills_equal_torch():
    for shape in [(3, 5), (5, 3)]:
        np.testing.assert_array_equal(_np(init.eye_(cr.empty(*shape))),
                                      torch.nn.init.eye_(torch.empty(shape)).numpy())
    for shape, groups in [((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 4, 3, 3, 3), 1),
                          ((4, 4, 2, 2), 2)]:
        np.testing.assert_array_equal(_np(init.dirac_(cr.empty(*shape), groups)),
                                      torch.nn.init.dirac_(torch.empty(shape), groups).numpy())
    assert (_np(init.ones_(cr.empty(2, 2))) == 1).all()
    assert (_np(init.zeros_(cr.empty(2, 2))) == 0).all()
    assert (_np(init.constant_(cr.empty(2, 2), -1.5)) == -1.5).all()


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 2, 2, 2)])
def test_orthogonal(shape):
    w = _np(init.orthogonal_(cr.empty(*shape), gain=2.0)).reshape(shape[0], -1)
    if w.shape[0] <= w.shape[1]:
        np.testing.assert_allclose(w @ w.T, 4 * np.eye(w.shape[0]), atol=1e-5)
    else:
        np.testing.assert_allclose(w.T @ w, 4 * np.eye(w.shape[1]), atol=1e-5)


def test_sparse():
    w = _np(init.sparse_(cr.empty(10, 6), sparsity=0.3, std=0.5))
    assert ((w == 0).sum(0) == 3).all()


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 1),
                                  ("selu",), ("conv_transpose3d",)])
def test_calculate_gain_equals_torch(args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


@pytest.mark.parametrize("shape", [(3, 4), (8, 2, 3), (16, 4, 3, 3), (2, 3, 1, 2, 2)])
def test_fans_equal_torch(shape):
    assert init._calculate_fan_in_and_fan_out(cr.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_init_errors_match_torch():
    cases = [
        (lambda m: m.init.calculate_gain("swish"), ValueError, "Unsupported nonlinearity swish"),
        (lambda m: m.init.calculate_gain("leaky_relu", "x"), ValueError,
         "negative_slope x not a valid number"),
        (lambda m: m.init.kaiming_uniform_(m.empty(3)), ValueError,
         "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"),
        (lambda m: m.init.kaiming_normal_(m.empty(3, 3), mode="fan_avg"), ValueError,
         r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"),
        (lambda m: m.init.eye_(m.empty(3, 3, 3)), ValueError,
         "Only tensors with 2 dimensions are supported"),
        (lambda m: m.init.dirac_(m.empty(3, 3)), ValueError,
         "Only tensors with 3, 4, or 5 dimensions are supported"),
        (lambda m: m.init.dirac_(m.empty(3, 3, 3), 2), ValueError,
         "dim 0 must be divisible by groups"),
        (lambda m: m.init.orthogonal_(m.empty(3)), ValueError,
         "Only tensors with 2 or more dimensions are supported"),
    ]
    for fn, err, msg in cases:
        for lib in (torch, cr):
            mod = lib.nn
            mod.empty = lib.empty
            with pytest.raises(err, match=msg):
                fn(mod)


def test_zero_element_kaiming_is_a_noop():
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(cr.empty(0, 3))


# ---- every layer's reset_parameters draws torch's default distribution ----
LAYERS = [
    ("Linear", (300, 200), {"weight": True, "bias": True}),
    ("Linear", (7, 500), {"weight": True, "bias": True}),
    ("Bilinear", (40, 30, 50), {"weight": True, "bias": True}),
    ("Embedding", (400, 100), {"weight": False}),
    ("PReLU", (64,), {"weight": True}),
]


@pytest.mark.parametrize("name,args,params", LAYERS, ids=[f"{n}{a}" for n, a, _ in LAYERS])
def test_layer_default_init_matches_torch(name, args, params):
    torch.manual_seed(0)
    t = getattr(torch.nn, name)(*args)
    c = getattr(nn, name)(*args)
    for pname, uniform in params.items():
        ours, theirs = _np(getattr(c, pname)), _np(getattr(t, pname))
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        if name == "PReLU":
            np.testing.assert_array_equal(ours, theirs)
            continue
        if ours.size < 1000:        # too few samples for std: compare the bounds' scale
            tb = 1 / math.sqrt(args[0])     # Linear: 1/sqrt(in); Bilinear: 1/sqrt(in1)
            assert np.abs(ours).max() <= tb and np.abs(ours).max() > 0.5 * tb
            continue
        assert_same_distribution(ours, theirs, uniform)


def test_reset_parameters_redraws():
    lin = nn.Linear(4, 4)
    before = _np(lin.weight).copy()
    lin.reset_parameters()
    assert not np.array_equal(before, _np(lin.weight))
    emb = nn.Embedding(5, 2, padding_idx=0)
    emb.reset_parameters()
    assert not _np(emb.weight)[0].any()
