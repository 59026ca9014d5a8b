"""Every layer against torch.nn with the same weights (copied through load_state_dict): outputs,
input gradients and parameter gradients, state_dict keys, reprs and error messages; plus
dropout statistics, the fused embedding against its composite reference, nn.utils and
activation checkpointing."""
import time

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck
from chainrule.ops.fused.embedding import EmbeddingBackward
from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential


def _both(build):
    t, c = build(torch), build(cr)
    c.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, c


def _np(x):
    return x.detach().numpy()


def run_both(build, *arrays, train=False, rtol=1e-5, atol=1e-6):
    """Run one layer in torch and chainrule; compare outputs and every gradient."""
    t, c = _both(build)
    assert list(c.state_dict()) == list(t.state_dict())
    assert repr(c) == repr(t).replace("torch.", "chainrule.")
    t.train(train)
    c.train(train)
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    c_in = [cr.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    t_out, c_out = t(*t_in), c(*c_in)
    name = type(c).__name__
    np.testing.assert_allclose(_np(c_out), _np(t_out), rtol=rtol, atol=atol, err_msg=name)
    assert c_out.dtype.name == str(t_out.dtype).replace("torch.", ""), name
    if not t_out.requires_grad:
        return t, c
    up = np.random.default_rng(1).standard_normal(tuple(t_out.shape)).astype(np.float32)
    t_out.backward(torch.tensor(up))
    c_out.backward(cr.tensor(up))
    for i, (a, b) in enumerate(zip(c_in, t_in)):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol * 10,
                                       atol=atol * 10, err_msg=f"{name}: grad of input {i}")
    for (k, p), (_, q) in zip(c.named_parameters(), t.named_parameters()):
        if q.grad is None:
            assert p.grad is None or not p.grad.numpy().any(), k
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol * 10,
                                       atol=atol * 10, err_msg=f"{name}: grad of {k}")
    return t, c


RNG = np.random.default_rng(0)


def rand(*shape, low=-3.0, high=3.0):
    return RNG.uniform(low, high, shape).astype(np.float32)


ACTIVATIONS = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.5,)),
    ("SELU", ()), ("CELU", (1.5,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()),
    ("Mish", ()), ("Softplus", (2.0, 5.0)), ("Softsign", ()), ("Hardtanh", (-0.5, 0.5)),
    ("Hardsigmoid", ()), ("Hardswish", ()), ("Sigmoid", ()), ("Tanh", ()), ("LogSigmoid", ()),
    ("Softmax", (-1,)), ("LogSoftmax", (1,)), ("Softmin", (0,)), ("GLU", (-1,)), ("PReLU", ()),
    ("Threshold", (0.1, 20.0)), ("RReLU", (0.1, 0.3)), ("Hardshrink", ()),
    ("Softshrink", (1.0,)), ("Tanhshrink", ()), ("Identity", (3, "ignored")),
]


@pytest.mark.parametrize("name,args", ACTIVATIONS, ids=[f"{n}{a}" for n, a in ACTIVATIONS])
def test_activation_modules_match_torch(name, args):
    x = rand(3, 4)
    if name == "ReLU" and args:      # in place: on a non-leaf
        def build(lib):
            return lib.nn.Sequential(lib.nn.Linear(4, 4), getattr(lib.nn, name)(*args))
    else:
        def build(lib):
            return getattr(lib.nn, name)(*args)
    run_both(build, x)


def test_softmax2d_prelu_channels_and_eval_rrelu():
    run_both(lambda lib: lib.nn.Softmax2d(), rand(2, 3, 2, 2))
    run_both(lambda lib: lib.nn.Softmax2d(), rand(3, 2, 2))
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D"):
        nn.Softmax2d()(cr.zeros(2, 3))
    run_both(lambda lib: lib.nn.PReLU(3, init=0.1), rand(2, 3, 4))
    run_both(lambda lib: lib.nn.RReLU(), rand(5, 4))


def test_rrelu_training_slopes_in_range():
    x = cr.tensor(-np.ones((1000,), np.float32), requires_grad=True)
    y = nn.RReLU(0.1, 0.3).train()(x)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-6)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(bias):
    run_both(lambda lib: lib.nn.Linear(4, 3, bias=bias), rand(5, 4))
    run_both(lambda lib: lib.nn.Linear(4, 3, bias=bias), rand(2, 5, 4))
    run_both(lambda lib: lib.nn.Linear(4, 3, bias=bias), rand(4))
    run_both(lambda lib: lib.nn.Linear(4, 3, bias=bias), rand(0, 4))


def test_bilinear_matches_torch():
    run_both(lambda lib: lib.nn.Bilinear(2, 3, 4), rand(5, 2), rand(5, 3))
    run_both(lambda lib: lib.nn.Bilinear(2, 3, 4, bias=False), rand(2, 5, 2), rand(2, 5, 3))


def test_lazy_linear():
    m = nn.LazyLinear(3)
    assert repr(m) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    y = m(cr.randn(2, 5))
    assert y.shape == (2, 3) and type(m) is nn.Linear and m.weight.shape == (3, 5)
    assert [k for k, _ in m.named_parameters()] == ["weight", "bias"]


def test_layer_errors_name_the_layer_and_shapes():
    with pytest.raises(RuntimeError) as info:
        nn.Linear(4, 2)(cr.zeros(3, 5))
    assert str(info.value) == ("Linear(in_features=4, out_features=2, bias=True): expected input "
                               "with last dimension 4, got (3, 5)")
    with pytest.raises(RuntimeError, match=r"Bilinear\(in1_features=2, in2_features=3, "
                       r"out_features=4, bias=True\): expected inputs with last dimensions 2 "
                       r"and 3, got \(5, 3\) and \(5, 3\)"):
        nn.Bilinear(2, 3, 4)(cr.zeros(5, 3), cr.zeros(5, 3))
    with pytest.raises(IndexError, match="index out of range"):
        nn.Embedding(3, 2)(cr.tensor([3]))
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 4"):
        nn.PReLU(3)(cr.zeros(2, 4))
    with pytest.raises(RuntimeError, match="unflatten: Provided sizes"):
        nn.Unflatten(1, (2, 4))(cr.zeros(3, 6))
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(1.2)


def test_flatten_unflatten_match_torch():
    run_both(lambda lib: lib.nn.Flatten(), rand(2, 3, 4))
    run_both(lambda lib: lib.nn.Flatten(0, 1), rand(2, 3, 4))
    run_both(lambda lib: lib.nn.Flatten(-2), rand(2, 3, 4))
    run_both(lambda lib: lib.nn.Unflatten(1, (2, 3)), rand(4, 6))
    run_both(lambda lib: lib.nn.Unflatten(-1, (2, -1)), rand(4, 6))
    assert nn.Flatten(0)(cr.tensor(2.0)).shape == (1,)
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        nn.Flatten(2, 1)(cr.zeros(2, 3, 4))


def test_distance_modules_match_torch():
    run_both(lambda lib: lib.nn.CosineSimilarity(), rand(3, 4, 2), rand(3, 4, 2))
    run_both(lambda lib: lib.nn.CosineSimilarity(dim=-1, eps=1e-3), rand(3, 4), rand(4))
    run_both(lambda lib: lib.nn.PairwiseDistance(), rand(3, 4), rand(3, 4))
    run_both(lambda lib: lib.nn.PairwiseDistance(1.0, keepdim=True), rand(3, 4), rand(4))


def test_cosine_similarity_tiny_vectors_match_torch():
    a = np.array([[1e-10, 0.0], [3.0, 4.0]], np.float32)
    b = np.array([[1.0, 2.0], [1.0, -1.0]], np.float32)
    run_both(lambda lib: lib.nn.CosineSimilarity(), a, b)


# ---- dropout ----
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics(p):
    x = cr.ones(200, 500, requires_grad=True)
    m = nn.Dropout(p)
    y = m(x)
    vals = y.detach().numpy()
    kept = vals != 0
    assert abs(kept.mean() - (1 - p)) < 0.01
    np.testing.assert_allclose(vals[kept], 1 / (1 - p), rtol=1e-6)
    g = np.random.default_rng(0).standard_normal(vals.shape).astype(np.float32)
    y.backward(cr.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g * kept / (1 - p), rtol=1e-6)
    m.eval()
    assert m(x) is x


def test_dropout_seeded_and_inplace_and_extremes():
    x = cr.randn(50, 40)
    cr.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    cr.manual_seed(3)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert not F.dropout(x, 1.0).numpy().any()
    assert F.dropout(x, 0.0) is x
    y = x.clone()
    out = F.dropout(y, 0.5, inplace=True)
    assert out is y and ((y.numpy() == 0) | np.isclose(y.numpy(), 2 * x.numpy())).all()
    r = repr(nn.Dropout(0.1, inplace=True))
    assert r == "Dropout(p=0.1, inplace=True)"


@pytest.mark.parametrize("fn,shape", [(F.dropout1d, (8, 50, 6)), (F.dropout1d, (50, 6)),
                                      (F.dropout2d, (8, 50, 3, 3)), (F.dropout2d, (50, 3, 3)),
                                      (F.dropout3d, (4, 50, 2, 2, 2))])
def test_channel_dropout_zeroes_whole_channels(fn, shape):
    x = cr.ones(*shape, requires_grad=True)
    y = fn(x, 0.4)
    v = y.detach().numpy()
    lead = 2 if len(shape) in (3, 4, 5) and fn is not F.dropout1d or len(shape) == 3 else 1
    chan = v.reshape(shape[:lead] + (-1,))
    assert ((chan == 0).all(-1) | (chan == 1 / 0.6).all(-1)).all()
    assert abs((chan[..., 0] != 0).mean() - 0.6) < 0.12
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), v, rtol=1e-6)


def test_alpha_dropout_keeps_mean_and_variance():
    cr.manual_seed(0)
    x = cr.randn(400, 500)
    y = F.alpha_dropout(x, 0.3, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    m = nn.AlphaDropout(0.3)
    assert m(x).shape == x.shape and m.eval()(x) is x
    z = nn.FeatureAlphaDropout(0.5)(cr.randn(8, 20, 3)).numpy()
    assert z.shape == (8, 20, 3)


def test_dropout_modules_repr_match_torch():
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                 "FeatureAlphaDropout"):
        assert repr(getattr(nn, name)(0.3)) == repr(getattr(torch.nn, name)(0.3))


# ---- embedding ----
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"max_norm": 1.0}, {"max_norm": 1.5, "norm_type": 1.0}])
def test_embedding_matches_torch(kwargs):
    idx = np.array([[1, 2, 2, 9], [0, 4, 2, 1]])
    t, c = run_both(lambda lib: lib.nn.Embedding(10, 3, **kwargs), idx)
    if "max_norm" in kwargs:    # the looked-up rows were renormalised in place
        np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_embedding_from_pretrained_and_padding_init():
    w = cr.randn(4, 3)
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad and np.array_equal(e(cr.tensor([2])).numpy()[0],
                                                         w.numpy()[2])
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=1)
    assert e2.weight.requires_grad and e2.padding_idx == 1
    assert repr(e2) == "Embedding(4, 3, padding_idx=1)"
    e3 = nn.Embedding(5, 2, padding_idx=-2)
    assert e3.padding_idx == 3 and not e3.weight.detach().numpy()[3].any()
    assert e3.weight.detach().numpy()[[0, 1, 2, 4]].all()


def _embedding_reference(idx, weight, padding_idx=None, scale_grad_by_freq=False):
    """The composite reference: one_hot(idx) @ weight, with torch's gradient rules."""
    onehot = F.one_hot(idx, weight.shape[0]).to(weight.dtype)
    scale = np.ones(idx.shape, np.float64)
    flat = idx.numpy().reshape(-1)
    if scale_grad_by_freq:
        scale = scale / np.bincount(flat, minlength=weight.shape[0])[idx.numpy()]
    if padding_idx is not None:
        scale = scale * (idx.numpy() != padding_idx)
    # value of onehot @ weight, gradient of (scaled, masked onehot) @ weight
    s = cr.tensor(scale[..., None].astype(np.float64)).to(weight.dtype)
    gradpath = (onehot * s) @ weight
    return gradpath + ((onehot @ weight) - gradpath).detach()


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"scale_grad_by_freq": True},
                                    {"padding_idx": 0, "scale_grad_by_freq": True}])
def test_fused_embedding_matches_composite_reference(kwargs):
    rng = np.random.default_rng(0)
    idx = cr.tensor(rng.integers(0, 6, (3, 5)))
    w1 = cr.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    w2 = cr.tensor(w1.detach().numpy(), requires_grad=True)
    fused = F.embedding(idx, w1, **kwargs)
    ref = _embedding_reference(idx, w2, **kwargs)
    np.testing.assert_allclose(fused.detach().numpy(), ref.detach().numpy())
    g = cr.tensor(rng.standard_normal((3, 5, 4)))
    (gw1,) = cr.autograd.grad(fused, w1, g, create_graph=True)
    (gw2,) = cr.autograd.grad(ref, w2, g, create_graph=True)
    np.testing.assert_allclose(gw1.detach().numpy(), gw2.detach().numpy(), atol=1e-12)
    # double backward: d<gw, v>/dg is the same gather in both
    v = cr.tensor(rng.standard_normal((6, 4)))
    gg = cr.tensor(g.numpy(), requires_grad=True)
    (gw1,) = cr.autograd.grad(F.embedding(idx, w1, **kwargs), w1, gg, create_graph=True)
    (h1,) = cr.autograd.grad((gw1 * v).sum(), gg)
    gg2 = cr.tensor(g.numpy(), requires_grad=True)
    (gw2,) = cr.autograd.grad(_embedding_reference(idx, w2, **kwargs), w2, gg2,
                              create_graph=True)
    (h2,) = cr.autograd.grad((gw2 * v).sum(), gg2)
    np.testing.assert_allclose(h1.numpy(), h2.numpy(), atol=1e-12)


@pytest.mark.parametrize("kwargs", [(None, False), (2, False), (None, True), (0, True)])
def test_embedding_backward_is_differentiable(kwargs):
    """gradcheck of the scatter-add itself (its backward is the gather the double backward of
    embedding uses), including padding and frequency scaling."""
    pad, freq = kwargs
    idx = cr.tensor(np.array([[0, 2, 2], [3, 0, 2]]))
    g = cr.tensor(np.random.default_rng(0).standard_normal((2, 3, 2)), requires_grad=True)
    assert gradcheck(lambda g: EmbeddingBackward.apply(g, idx, 5, pad, freq), (g,))


def test_embedding_backward_sums_repeated_rows():
    """The LM's hot path (sorted reduceat instead of np.add.at) sums 16k rows exactly; its speed
    is a benchmark's business, not a unit test's."""
    rng = np.random.default_rng(0)
    V, D, N = 1000, 128, 16384
    idx = rng.integers(0, V, N)
    g = rng.standard_normal((N, D)).astype(np.float32)
    w = cr.zeros(V, D, requires_grad=True)
    F.embedding(cr.tensor(idx), w).backward(cr.tensor(g))
    ref = np.zeros((V, D), np.float32)
    np.add.at(ref, idx, g)
    np.testing.assert_allclose(w.grad.numpy(), ref, rtol=1e-4, atol=1e-4)


def test_one_hot_and_functional_embedding():
    y = F.one_hot(cr.tensor([0, 2]), 4)
    assert y.dtype is cr.int64 and y.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0]]
    w = cr.randn(5, 2)
    assert cr.embedding(w, cr.tensor([1, 4])).shape == (2, 2)


# ---- nn.utils ----
def _params_with_grads(lib, grads):
    ps = []
    for g in grads:
        p = lib.nn.Parameter(lib.zeros(tuple(g.shape)))
        p.grad = lib.tensor(g)
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,), ()]]
    tp, cp = _params_with_grads(torch, grads), _params_with_grads(cr, grads)
    t_total = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    c_total = nn.utils.clip_grad_norm_(cp, max_norm, norm_type)
    assert c_total.dtype is cr.float32 and c_total.shape == ()
    np.testing.assert_allclose(c_total.item(), t_total.item(), rtol=1e-6)
    for a, b in zip(cp, tp):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_edge_cases():
    p = nn.Parameter(cr.ones(3))
    p.grad = cr.tensor([1.0, float("inf"), 2.0])
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                       "`parameters` is non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    q = nn.Parameter(cr.ones(2))
    q.grad = cr.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(q, 1.0).item() == 5.0     # a single tensor is accepted
    np.testing.assert_allclose(q.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    nn.utils.clip_grad_norm_([nn.Parameter(cr.ones(1))], 1.0)   # a parameter without grad


def test_clip_grad_value_and_vector_conversion_match_torch():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,)]]
    tp, cp = _params_with_grads(torch, grads), _params_with_grads(cr, grads)
    torch.nn.utils.clip_grad_value_(tp, 0.5)
    nn.utils.clip_grad_value_(cp, 0.5)
    for a, b in zip(cp, tp):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert vec.shape == (11,) and vec.requires_grad
    np.testing.assert_array_equal(vec.detach().numpy()[:6],
                                  m[0].weight.detach().numpy().reshape(-1))
    vec.sum().backward()
    assert (m[1].bias.grad.numpy() == 1).all()
    nn.utils.vector_to_parameters(cr.arange(11).float(), m.parameters())
    assert m[0].bias.detach().numpy().tolist() == [6.0, 7.0] and m[1].bias.item() == 10.0
    with pytest.raises(TypeError, match="expected chainrule.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], m.parameters())


# ---- checkpoint ----
def _grads_of(model, x, use_checkpoint, **kw):
    model.zero_grad()
    xx = cr.tensor(x.detach().numpy(), requires_grad=x.requires_grad)
    out = checkpoint(model, xx, use_reentrant=False, **kw) if use_checkpoint else model(xx)
    (out ** 2).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    return out.detach().numpy(), grads, None if xx.grad is None else xx.grad.numpy()


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_checkpoint_same_gradients(input_requires_grad):
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Dropout(0.3), nn.Linear(8, 2))
    x = cr.randn(5, 4, requires_grad=input_requires_grad)
    cr.manual_seed(7)
    out1, g1, gx1 = _grads_of(model, x, False)
    cr.manual_seed(7)
    out2, g2, gx2 = _grads_of(model, x, True)      # dropout replays the same mask
    np.testing.assert_allclose(out1, out2, rtol=1e-6)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    if input_requires_grad:
        np.testing.assert_allclose(gx1, gx2, rtol=1e-5, atol=1e-7)
    else:
        assert gx2 is None


def test_checkpoint_multiple_outputs_kwargs_and_sequential():
    lin = nn.Linear(3, 3)

    def fn(a, b, scale=1.0):
        return lin(a) * scale, (a * b).sum()
    a = cr.randn(2, 3, requires_grad=True)
    b = cr.randn(2, 3, requires_grad=True)
    y1, y2 = checkpoint(fn, a, b, scale=2.0, use_reentrant=True)
    (y1.sum() + y2).backward()
    ga, gb, gw = a.grad.numpy().copy(), b.grad.numpy().copy(), lin.weight.grad.numpy().copy()
    a.grad = b.grad = None
    lin.zero_grad()
    z1, z2 = fn(a, b, scale=2.0)
    (z1.sum() + z2).backward()
    np.testing.assert_allclose(ga, a.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gb, b.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gw, lin.weight.grad.numpy(), rtol=1e-6)
    seq = nn.Sequential(*[nn.Linear(3, 3) for _ in range(4)])
    x = cr.randn(2, 3, requires_grad=True)
    checkpoint_sequential(seq, 2, x, use_reentrant=False).sum().backward()
    g = x.grad.numpy().copy()
    x.grad = None
    seq(x).sum().backward()
    np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-6)
    with cr.no_grad():
        assert not checkpoint(seq, x, use_reentrant=False).requires_grad


@pytest.mark.parametrize("shape,kw", [((2, 3, 11, 9), {"kernel_size": 2}),
                                      ((2, 3, 10, 10), {"kernel_size": 2}),
                                      ((1, 2, 8, 7), {"kernel_size": 3, "padding": 1}),
                                      ((1, 2, 9, 9), {"kernel_size": 3, "stride": 3})])
def test_max_pool_gradient_when_windows_tile_the_plane(shape, kw):
    """Tiling windows (stride = kernel) write their gradient without a zeroed plane first: the
    rows and columns past the last window must still get 0, as torch gives."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    a = cr.tensor(x, requires_grad=True)
    g = np.random.default_rng(1).standard_normal(
        tuple(torch.nn.functional.max_pool2d(torch.tensor(x), **kw).shape)).astype(np.float32)
    cr.nn.functional.max_pool2d(a, **kw).backward(cr.tensor(g))
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(t, **kw).backward(torch.tensor(g))
    np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())
