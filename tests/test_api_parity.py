"""API parity with torch 2.13 for what the other test files leave out: attention and transformer
layers, Fold/Unfold, 1-d pads and unpooling (weights copied through load_state_dict, then outputs,
input gradients, parameter gradients, state_dict keys, reprs and default-init statistics);
grad modes as bare decorators; load_state_dict corner cases; torch.func-style vjp/jvp; and the
error messages the engine and building-block issues quote."""
import math

import numpy as np
import pytest
import torch
import torch.func

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.autograd import gradcheck
from chainrule.autograd.gradcheck import GradcheckError

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _np(t):
    return t.detach().numpy()


def _close(ours, theirs, what, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=rtol, atol=atol, err_msg=what)


def _to(lib, value):
    if isinstance(value, np.ndarray):
        grad = value.dtype.kind == "f"
        return lib.tensor(value, requires_grad=grad)
    return value


def _pair(t_module, c_module):
    """Copy torch's weights into chainrule's module; both in eval mode (dropout off)."""
    assert list(c_module.state_dict()) == list(t_module.state_dict())
    for key, value in t_module.state_dict().items():
        assert tuple(c_module.state_dict()[key].shape) == tuple(value.shape), key
    c_module.load_state_dict({k: v.detach().numpy() for k, v in t_module.state_dict().items()})
    t_module.eval()
    c_module.eval()
    assert repr(c_module) == repr(t_module).replace("torch.", "")
    return t_module, c_module


def run_both(t_module, c_module, args, kwargs=None):
    """Forward both modules on the same inputs; compare every output, then every gradient."""
    kwargs = kwargs or {}
    t_module, c_module = _pair(t_module, c_module)
    t_args = [_to(torch, a) for a in args]
    c_args = [_to(cr, a) for a in args]
    t_kw = {k: _to(torch, v) for k, v in kwargs.items()}
    c_kw = {k: _to(cr, v) for k, v in kwargs.items()}
    t_out, c_out = t_module(*t_args, **t_kw), c_module(*c_args, **c_kw)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    c_outs = c_out if isinstance(c_out, tuple) else (c_out,)
    name = type(c_module).__name__
    assert len(t_outs) == len(c_outs)
    for i, (t, c) in enumerate(zip(t_outs, c_outs)):
        assert (t is None) == (c is None), f"{name}: output {i}"
        if t is not None:
            _close(c, t, f"{name}: output {i}")
            assert c.dtype.name == str(t.dtype).replace("torch.", "")
    up = rand(*t_outs[0].shape)
    t_outs[0].backward(torch.tensor(up))
    c_outs[0].backward(cr.tensor(up))
    for i, (t, c) in enumerate(zip(t_args, c_args)):
        if isinstance(t, torch.Tensor) and t.grad is not None:
            _close(c.grad, t.grad, f"{name}: grad of input {i}", atol=1e-4)
    for (key, p), (_, q) in zip(c_module.named_parameters(), t_module.named_parameters()):
        if q.grad is not None:
            assert p.grad is not None, f"{name}: no grad for {key}"
            _close(p.grad, q.grad, f"{name}: grad of {key}", atol=1e-4)


# ---------------------------------------------------------------- attention and transformers
Q, K, V = rand(2, 3, 8), rand(2, 4, 8), rand(2, 4, 8)
KEY_PADDING = np.array([[False, False, True, True], [False, False, False, True]])
CAUSAL = np.triu(np.full((3, 3), -np.inf, np.float32), 1)
SRC_PADDING = np.array([[False, False, True], [False, False, False]])

MHA_CASES = [
    ({}, (Q, K, V), {}),
    ({}, (Q, K, V), {"key_padding_mask": KEY_PADDING}),
    ({}, (Q, K, V), {"attn_mask": np.triu(np.ones((3, 4), bool), 1)}),
    ({}, (Q, K, V), {"attn_mask": rand(3, 4), "average_attn_weights": False}),
    ({}, (Q, K, V), {"attn_mask": rand(4, 3, 4), "need_weights": False}),
    ({"add_bias_kv": True, "add_zero_attn": True}, (Q, K, V), {"key_padding_mask": KEY_PADDING}),
    ({"kdim": 5, "vdim": 6, "bias": False}, (Q, rand(2, 4, 5), rand(2, 4, 6)), {}),
]


@pytest.mark.parametrize("ctor,args,kwargs", MHA_CASES, ids=[str(i) for i in range(len(MHA_CASES))])
def test_multihead_attention_matches_torch(ctor, args, kwargs):
    torch.manual_seed(0)
    run_both(torch.nn.MultiheadAttention(8, 2, batch_first=True, **ctor),
             nn.MultiheadAttention(8, 2, batch_first=True, **ctor), args, kwargs)


def test_multihead_attention_sequence_first_and_unbatched():
    torch.manual_seed(1)
    run_both(torch.nn.MultiheadAttention(8, 2), nn.MultiheadAttention(8, 2),
             (rand(3, 2, 8), rand(4, 2, 8), rand(4, 2, 8)))
    torch.manual_seed(2)
    run_both(torch.nn.MultiheadAttention(8, 4), nn.MultiheadAttention(8, 4),
             (rand(3, 8), rand(4, 8), rand(4, 8)))


LAYER_CASES = [
    ("TransformerEncoderLayer", dict(batch_first=True), (rand(2, 3, 8),),
     {"src_mask": CAUSAL, "src_key_padding_mask": SRC_PADDING}),
    ("TransformerEncoderLayer", dict(batch_first=True), (rand(2, 3, 8),),
     {"src_mask": CAUSAL, "is_causal": True}),
    ("TransformerEncoderLayer", dict(activation="gelu", norm_first=True, bias=False),
     (rand(3, 2, 8),), {}),
    ("TransformerDecoderLayer", dict(batch_first=True), (rand(2, 3, 8), rand(2, 4, 8)),
     {"tgt_mask": CAUSAL, "memory_key_padding_mask": KEY_PADDING}),
    ("TransformerDecoderLayer", dict(norm_first=True, layer_norm_eps=1e-3),
     (rand(3, 2, 8), rand(4, 2, 8)), {}),
]


@pytest.mark.parametrize("name,ctor,args,kwargs", LAYER_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(LAYER_CASES)])
def test_transformer_layers_match_torch(name, ctor, args, kwargs):
    torch.manual_seed(0)
    run_both(getattr(torch.nn, name)(8, 2, 16, 0.0, **ctor),
             getattr(nn, name)(8, 2, 16, 0.0, **ctor),
             args, kwargs)


@pytest.mark.filterwarnings("ignore:Support for mismatched")
def test_transformer_stacks_match_torch():
    torch.manual_seed(0)
    t = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0,
                                                                     batch_first=True),
                                    3, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    c = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True), 3,
                              norm=nn.LayerNorm(8))
    run_both(t, c, (rand(2, 3, 8),), {"mask": CAUSAL, "src_key_padding_mask": SRC_PADDING})
    torch.manual_seed(1)
    t = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16, 0.0), 2,
                                    norm=torch.nn.LayerNorm(8))
    c = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, 0.0), 2, norm=nn.LayerNorm(8))
    run_both(t, c, (rand(3, 2, 8), rand(4, 2, 8)), {"tgt_mask": CAUSAL})
    torch.manual_seed(2)
    run_both(torch.nn.Transformer(8, 2, 2, 2, 16, 0.0, batch_first=True),
             nn.Transformer(8, 2, 2, 2, 16, 0.0, batch_first=True),
             (rand(2, 4, 8), rand(2, 3, 8)), {"tgt_mask": CAUSAL})
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(4).numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())


def test_transformer_layer_accepts_a_callable_activation():
    torch.manual_seed(0)
    run_both(torch.nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation=torch.nn.functional.gelu),
             nn.TransformerEncoderLayer(8, 2, 16, 0.0, activation=F.gelu), (rand(3, 2, 8),))


def _assert_same_distribution(ours, theirs):
    ours, theirs = np.asarray(ours, np.float64).ravel(), np.asarray(theirs, np.float64).ravel()
    assert ours.shape == theirs.shape
    if not theirs.std():
        np.testing.assert_array_equal(ours, theirs)
        return
    sd, n = theirs.std(), ours.size
    assert abs(ours.mean() - theirs.mean()) < 6 * sd / math.sqrt(n)
    # the std of n samples has a relative error of about 1 / sqrt(2 n): allow six of them
    assert abs(ours.std() - sd) < max(0.06, 6 / math.sqrt(2 * n)) * sd, (ours.std(), sd)
    if n >= 4096:          # uniform draws then reach their bound closely
        assert abs(np.abs(ours).max() - np.abs(theirs).max()) < 0.2 * sd


@pytest.mark.parametrize("build", [
    lambda L: L.nn.MultiheadAttention(128, 4),
    lambda L: L.nn.MultiheadAttention(128, 4, kdim=64, vdim=32, add_bias_kv=True),
    lambda L: L.nn.TransformerEncoderLayer(128, 4, 256),
    lambda L: L.nn.TransformerDecoderLayer(128, 4, 256),
    lambda L: L.nn.Transformer(64, 2, 1, 1, 128),
], ids=["mha", "mha-kdim-biaskv", "encoder-layer", "decoder-layer", "transformer"])
def test_attention_default_init_matches_torch(build):
    torch.manual_seed(0)
    t, c = build(torch), build(cr)
    t_params, c_params = dict(t.named_parameters()), dict(c.named_parameters())
    assert list(c_params) == list(t_params)
    for key, q in t_params.items():
        _assert_same_distribution(_np(c_params[key]), _np(q))


# ---------------------------------------------------------------- small layers left out elsewhere
@pytest.mark.parametrize("name,args,shape", [
    ("ZeroPad1d", ((1, 2),), (2, 3, 4)),
    ("CircularPad1d", (2,), (2, 3, 4)),
    ("Unfold", (2,), (2, 3, 5, 5)),
    ("Unfold", ((2, 3),), (3, 4, 4)),
    ("Unfold", (3,), (1, 2, 7, 6)),
])
def test_parameter_free_layers_match_torch(name, args, shape):
    run_both(getattr(torch.nn, name)(*args), getattr(nn, name)(*args), (rand(*shape),))


@pytest.mark.parametrize("kwargs", [{}, {"dilation": 2, "padding": 1, "stride": 2}])
def test_fold_matches_torch_and_inverts_unfold(kwargs):
    t_unfold, c_unfold = torch.nn.Unfold(3, **kwargs), nn.Unfold(3, **kwargs)
    t_fold, c_fold = torch.nn.Fold((7, 8), 3, **kwargs), nn.Fold((7, 8), 3, **kwargs)
    cols = t_unfold(torch.tensor(rand(2, 2, 7, 8))).detach().numpy()
    run_both(t_fold, c_fold, (cols,))
    x = cr.tensor(rand(2, 2, 7, 8))
    ones = cr.ones(2, 2, 7, 8)
    # fold(unfold(x)) multiplies every pixel by the number of blocks that cover it
    _close(c_fold(c_unfold(x)), x * c_fold(c_unfold(ones)), "fold(unfold(x))")
    assert repr(c_fold) == repr(t_fold) and repr(c_unfold) == repr(t_unfold)


def test_max_unpool1d_matches_torch():
    x = rand(2, 3, 8)
    t_out, t_idx = torch.nn.MaxPool1d(2, return_indices=True)(torch.tensor(x))
    c_out, c_idx = nn.MaxPool1d(2, return_indices=True)(cr.tensor(x))
    np.testing.assert_array_equal(c_idx.numpy(), t_idx.numpy())
    t_un, c_un = torch.nn.MaxUnpool1d(2), nn.MaxUnpool1d(2)
    assert repr(c_un) == repr(t_un)
    values = rand(2, 3, 4)
    run_both(t_un, c_un, (values, t_idx.numpy()))
    _close(c_un(c_out, c_idx, output_size=[9]), t_un(t_out, t_idx, output_size=[9]), "size")


# ---------------------------------------------------------------- Module corners
def test_strict_load_accepts_a_checkpoint_without_num_batches_tracked():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
    t, c = build(torch), build(cr)
    old = {k: v.numpy() for k, v in t.state_dict().items() if "num_batches" not in k}
    t_res = t.load_state_dict({k: torch.tensor(v) for k, v in old.items()})
    c_res = c.load_state_dict(old)
    assert c_res.missing_keys == t_res.missing_keys == []
    assert int(c[1].num_batches_tracked.item()) == 0


def test_non_strict_load_reports_only_size_mismatches_like_torch():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.ReLU(), lib.nn.Linear(3, 1))
    messages = []
    for lib, value in ((cr, np.zeros((3, 3), np.float32)), (torch, torch.zeros(3, 3))):
        with pytest.raises(RuntimeError) as info:
            build(lib).load_state_dict({"0.weight": value, "extra": value}, strict=False)
        messages.append(str(info.value))
    for message in messages:
        assert "size mismatch for 0.weight" in message
        assert "Missing key" not in message and "Unexpected key" not in message
    with pytest.raises(RuntimeError) as info:
        build(cr).load_state_dict({"0.weight": np.zeros((3, 3), np.float32), "extra": 0})
    message = str(info.value)
    assert 'Missing key(s) in state_dict: "0.bias", "2.weight", "2.bias".' in message
    assert 'Unexpected key(s) in state_dict: "extra".' in message
    assert "size mismatch for 0.weight" in message


def test_parameter_str_and_repr_match_torch():
    c, t = nn.Parameter(cr.zeros(2)), torch.nn.Parameter(torch.zeros(2))
    assert str(c) == str(t) and repr(c) == repr(t)
    assert str(c).startswith("Parameter containing:\n")


# ---------------------------------------------------------------- grad modes as bare decorators
@pytest.mark.parametrize("name,inside", [("no_grad", True), ("enable_grad", False),
                                         ("inference_mode", True)])
def test_grad_modes_work_as_bare_decorators_like_torch(name, inside):
    results = []
    for lib in (cr, torch):
        mode = getattr(lib, name)

        @mode
        def double(x):
            return x * 2

        x = lib.ones(2, requires_grad=True)
        if inside:
            results.append(double(x).requires_grad)
        else:
            with lib.no_grad():
                results.append(double(x).requires_grad)
        assert double.__name__ == "double"
        assert lib.is_grad_enabled()
    assert results[0] == results[1] == (not inside)


def test_decorated_generator_runs_each_step_under_the_mode():
    for lib in (cr, torch):
        @lib.no_grad()
        def steps(x):
            for _ in range(3):
                received = yield (x * 2).requires_grad
                assert received is None or received == "ping"

        x = lib.ones(1, requires_grad=True)
        gen = steps(x)
        assert next(gen) is False
        assert lib.is_grad_enabled()          # the mode is off again between steps
        assert gen.send("ping") is False
        assert (x * 2).requires_grad
        assert list(gen) == [False]


def test_grad_mode_decorator_rejects_non_callables():
    with pytest.raises(TypeError, match="no_grad: can only decorate a callable"):
        cr.no_grad()(3)


# ---------------------------------------------------------------- torch.func-style vjp and jvp
def _fn(lib):
    def f(a, b):
        return (a.sin() * b, (a * b).sum())
    return f


def test_func_vjp_matches_torch_func():
    a, b = RNG.standard_normal(3), RNG.standard_normal(3)
    out, vjp_fn = cr.func.vjp(_fn(cr), cr.tensor(a), cr.tensor(b))
    t_out, t_vjp_fn = torch.func.vjp(_fn(torch), torch.tensor(a), torch.tensor(b))
    for o, t in zip(out, t_out):
        _close(o, t, "vjp output", rtol=1e-12)
    assert not out[0].requires_grad
    cots = (RNG.standard_normal(3), 1.5)
    grads = vjp_fn((cr.tensor(cots[0]), cr.tensor(cots[1], dtype=cr.float64)))
    t_grads = t_vjp_fn((torch.tensor(cots[0]), torch.tensor(cots[1], dtype=torch.float64)))
    for g, t in zip(grads, t_grads):
        _close(g, t, "vjp", rtol=1e-12)
    again = vjp_fn((cr.tensor(cots[0]), cr.tensor(cots[1], dtype=cr.float64)))
    _close(again[0], t_grads[0], "second call", rtol=1e-12)
    with pytest.raises(RuntimeError, match="cotangent 0 has shape \\(2,\\) but output 0"):
        vjp_fn((cr.zeros(2, dtype=cr.float64), cr.tensor(1.0, dtype=cr.float64)))


def test_func_vjp_with_aux_and_jvp_match_torch_func():
    a = RNG.standard_normal(4)

    def with_aux(lib):
        return lambda x: ((x ** 3).sum(), x.cos())
    out, vjp_fn, aux = cr.func.vjp(with_aux(cr), cr.tensor(a), has_aux=True)
    t_out, t_vjp_fn, t_aux = torch.func.vjp(with_aux(torch), torch.tensor(a), has_aux=True)
    _close(aux, t_aux, "aux", rtol=1e-12)
    _close(vjp_fn(cr.tensor(2.0, dtype=cr.float64))[0],
           t_vjp_fn(torch.tensor(2.0, dtype=torch.float64))[0], "vjp aux", rtol=1e-12)

    b, u, w = RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal(3)
    primals = (cr.tensor(a[:3]), cr.tensor(b))
    out, jvp_out = cr.func.jvp(_fn(cr), primals, (cr.tensor(u), cr.tensor(w)))
    t_out, t_jvp = torch.func.jvp(_fn(torch), (torch.tensor(a[:3]), torch.tensor(b)),
                                  (torch.tensor(u), torch.tensor(w)))
    for o, t in zip(out + jvp_out, t_out + t_jvp):
        _close(o, t, "jvp", rtol=1e-10)
    with pytest.raises(RuntimeError, match="expected one tangent per primal"):
        cr.func.jvp(_fn(cr), primals, (cr.tensor(u),))


def test_func_vjp_nests_for_second_derivatives():
    x = cr.tensor([0.3, -1.2], dtype=cr.float64)

    def first(v):
        _, vjp_fn = cr.func.vjp(lambda a: (a ** 3).sum(), v)
        return vjp_fn(cr.tensor(1.0, dtype=cr.float64))[0].sum()
    _close(cr.func.grad(first)(x), 6 * x, "d/dx sum(3 x^2)", rtol=1e-12)


# ---------------------------------------------------------------- errors the issues quote
def test_error_messages_quoted_by_the_issues():
    with pytest.raises(RuntimeError, match=r"^matmul: \(3, 4\) @ \(5, 6\): inner dimensions 4 "
                                           r"and 5 differ"):
        cr.randn(3, 4) @ cr.randn(5, 6)
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 16, kernel_size=\(3, 3\).*expected input "
                                           r"with 3 channels, got \(8, 1, 28, 28\) with 1 "
                                           r"channel"):
        nn.Conv2d(3, 16, kernel_size=3)(cr.randn(8, 1, 28, 28))
    logits = cr.randn(3, 4)
    with pytest.raises(IndexError, match="cross_entropy: target 4 is out of bounds"):
        F.cross_entropy(logits, cr.tensor([0, 1, 4]))
    with pytest.raises(RuntimeError, match="cross_entropy: expected class indices"):
        F.cross_entropy(logits, cr.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"expected input batch_size \(3\) to match target "
                                         r"batch_size \(2\)"):
        F.cross_entropy(logits, cr.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(3,\) differs from input "
                                         r"shape \(3, 1\)"):
        nn.MSELoss()(cr.randn(3, 1), cr.randn(3))
    with pytest.warns(UserWarning):       # torch only warns, and broadcasts
        torch.nn.MSELoss()(torch.randn(3, 1), torch.randn(3))


def test_sequence_layer_errors_name_the_layer_and_the_shape():
    with pytest.raises(AssertionError, match=r"MultiheadAttention\(embed_dim=8, num_heads=2\): "
                                             r"was expecting embedding dimension of 8 for "
                                             r"query, but got query of shape \(2, 3, 7\)"):
        nn.MultiheadAttention(8, 2, batch_first=True)(cr.randn(2, 3, 7), cr.randn(2, 3, 7),
                                                      cr.randn(2, 3, 7))
    with pytest.raises(AssertionError, match=r"kdim=5"):
        nn.MultiheadAttention(8, 2)(cr.randn(3, 2, 8), cr.randn(4, 2, 5), cr.randn(4, 2, 8))
    with pytest.raises(AssertionError, match=r"embed_dim=8, num_heads=3"):
        nn.MultiheadAttention(8, 3)
    with pytest.raises(RuntimeError, match=r"^LSTM\(4, 5\): input.size\(-1\) must be equal to "
                                           r"input_size. Expected 4, got 6 \(input of shape "
                                           r"\(3, 2, 6\)"):
        nn.LSTM(4, 5)(cr.randn(3, 2, 6))
    with pytest.raises(RuntimeError, match=r"^GRU\(4, 5, num_layers=2\): Expected hidden size "
                                           r"\(2, 2, 5\), got \[1, 2, 5\]"):
        nn.GRU(4, 5, 2)(cr.randn(3, 2, 4), cr.zeros(1, 2, 5))


def test_gradcheck_failure_names_the_function_and_both_values():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return 2 * x ** 2 * grad          # wrong on purpose: should be 3 x^2

    x = cr.tensor([0.5, -1.0], dtype=cr.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"gradcheck\(Cube\): Jacobian mismatch for output 0 "
                                             r"with respect to input 0.*analytical 0.5 vs "
                                             r"numerical 0.75"):
        gradcheck(Cube.apply, (x,))
    assert gradcheck(Cube.apply, (x,), raise_exception=False) is False


# ---------------------------------------------------------------- activation checkpointing
@pytest.mark.parametrize("use_reentrant", [False, True])
def test_checkpoint_recomputes_in_backward_and_matches_torch(use_reentrant):
    from chainrule.utils.checkpoint import checkpoint
    import torch.utils.checkpoint as t_checkpoint
    calls = []

    def block(lib):
        def f(x, w):
            calls.append(lib.__name__)
            return (x @ w).tanh().sin()
        return f
    x, w = rand(4, 3), rand(3, 5)
    c_x, c_w = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)
    t_x, t_w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    c_out = checkpoint(block(cr), c_x, c_w, use_reentrant=use_reentrant)
    t_out = t_checkpoint.checkpoint(block(torch), t_x, t_w, use_reentrant=use_reentrant)
    assert calls.count("chainrule") == 1
    up = rand(4, 5)
    c_out.backward(cr.tensor(up))
    t_out.backward(torch.tensor(up))
    assert calls.count("chainrule") == 2 == calls.count("torch")     # recomputed once, in backward
    _close(c_out, t_out, "checkpoint output")
    _close(c_x.grad, t_x.grad, "checkpoint grad x")
    _close(c_w.grad, t_w.grad, "checkpoint grad w")


# ---------------------------------------------------------------- in-place random fills
@pytest.mark.parametrize("call,check", [
    (lambda t: t.uniform_(-2.0, 3.0), lambda a: (a.min(), a.max(), a.mean())),
    (lambda t: t.uniform_(), lambda a: (a.min(), a.max(), a.mean())),
    (lambda t: t.normal_(1.0, 2.0), lambda a: (a.mean(), a.std())),
    (lambda t: t.bernoulli_(0.3), lambda a: (a.mean(), np.unique(a).tolist())),
], ids=["uniform", "uniform-default", "normal", "bernoulli"])
def test_inplace_random_fills_match_torch_in_distribution(call, check):
    ours, theirs = cr.empty(40000), torch.empty(40000)
    assert call(ours) is ours and call(theirs) is theirs
    assert ours._version_counter == 1
    a, b = check(ours.numpy()), check(theirs.numpy())
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, atol=0.05)


def test_inplace_random_fills_follow_the_inplace_rules():
    for lib in (cr, torch):
        p = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            p.normal_()
        with lib.no_grad():
            p.uniform_(-1.0, 1.0)
        assert p.requires_grad and p.grad_fn is None and p.abs().max().item() <= 1.0
    cr.manual_seed(3)
    first = cr.empty(5).normal_().numpy()
    cr.manual_seed(3)
    np.testing.assert_array_equal(cr.empty(5).normal_().numpy(), first)
    g = cr.Generator().manual_seed(1)
    again = cr.Generator().manual_seed(1)
    np.testing.assert_array_equal(cr.empty(4).uniform_(generator=g).numpy(),
                                  cr.empty(4).uniform_(generator=again).numpy())
    with pytest.raises(RuntimeError, match="normal_: expected a floating-point tensor"):
        cr.zeros(2, dtype=cr.int64).normal_()
    with pytest.raises(RuntimeError, match="uniform_: expects to return a \\[from, to\\) range"):
        cr.empty(2).uniform_(1.0, 0.0)


def test_bernoulli_and_multinomial_methods():
    probs = cr.tensor([0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(probs.bernoulli().numpy(), [0.0, 1.0, 0.0, 1.0])
    draws = cr.tensor([0.0, 3.0, 1.0]).multinomial(4000, replacement=True).numpy()
    assert draws.dtype == np.int64 and set(np.unique(draws)) <= {1, 2}
    assert abs((draws == 1).mean() - 0.75) < 0.03
    picked = cr.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 5.0]]).multinomial(1).numpy().ravel()
    assert picked[0] in (0, 1) and picked[1] == 2


def test_layer_dtype_and_name_errors():
    with pytest.raises(RuntimeError, match=r"^Linear\(in_features=2, out_features=3, bias=True\): "
                                           r"expected input of dtype chainrule.float32 \(the "
                                           r"weight's\), got chainrule.float64; convert the "
                                           r"input with .to\(chainrule.float32\) or the layer"):
        nn.Linear(2, 3)(cr.ones(1, 2, dtype=cr.float64))
    with pytest.raises(RuntimeError, match=r"got chainrule.int64; convert the input with "
                                           r".to\(chainrule.float32\)$"):
        nn.Linear(2, 3)(cr.ones(1, 2, dtype=cr.int64))
    for lib in (cr, torch):
        with pytest.raises(KeyError) as info:
            lib.nn.Module().add_module("a.b", lib.nn.ReLU())
        assert info.value.args[0] == 'module name can\'t contain ".", got: a.b'


# ---------------------------------------------------------------- gradient penalties through layers
def _penalty_nets(lib):
    n = lib.nn
    return {
        "conv-maxpool": (n.Sequential(n.Conv2d(2, 3, 3, padding=1), n.Tanh(), n.MaxPool2d(2),
                                      n.Flatten(), n.Linear(12, 1)), (2, 2, 4, 4)),
        "batchnorm-gelu": (n.Sequential(n.Linear(3, 4), n.BatchNorm1d(4), n.GELU(),
                                        n.Linear(4, 1)), (5, 3)),
        "groupnorm-softplus": (n.Sequential(n.Conv1d(2, 4, 3), n.GroupNorm(2, 4), n.Softplus(),
                                            n.Flatten(), n.Linear(12, 1)), (3, 2, 5)),
        "pad-instancenorm-mish": (n.Sequential(n.ReflectionPad2d(1), n.Conv2d(2, 2, 3),
                                               n.InstanceNorm2d(2, affine=True), n.Mish(),
                                               n.Flatten(), n.Linear(32, 1)), (2, 2, 4, 4)),
        "convT-avgpool-upsample": (n.Sequential(n.ConvTranspose2d(2, 2, 3, stride=2), n.ELU(),
                                                n.AvgPool2d(2), n.Upsample(scale_factor=2,
                                                                           mode="bilinear"),
                                                n.Flatten(), n.Linear(72, 1)), (2, 2, 3, 3)),
        "logsoftmax-softmax": (n.Sequential(n.Linear(3, 5), n.LogSoftmax(-1), n.Linear(5, 2),
                                            n.Softmax(-1), n.Linear(2, 1)), (4, 3)),
    }


@pytest.mark.parametrize("key", list(_penalty_nets(cr)))
def test_gradient_penalty_through_layers_matches_torch(key):
    """d/dtheta |d loss / d x|^2: double backward through every layer of the stack."""
    c_net, shape = _penalty_nets(cr)[key]
    t_net, _ = _penalty_nets(torch)[key]
    c_net.double()
    t_net.double()
    t_net.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                           for k, v in c_net.state_dict().items()})
    x = RNG.standard_normal(shape)
    results = []
    for lib, net in ((cr, c_net), (torch, t_net)):
        xt = lib.tensor(x, requires_grad=True)
        g, = lib.autograd.grad(net(xt).sum(), xt, create_graph=True)
        (g ** 2).sum().backward()
        grads = [None if p.grad is None else p.grad.numpy() for p in net.parameters()]
        results.append((g.detach().numpy(), xt.grad.numpy(), grads))
    (g, gx, gp), (tg, tgx, tgp) = results
    np.testing.assert_allclose(g, tg, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(gx, tgx, rtol=1e-6, atol=1e-10)
    for i, (a, b) in enumerate(zip(gp, tgp)):
        if a is None or b is None:       # a parameter the penalty does not depend on
            assert (a is None or not a.any()) and (b is None or not b.any()), i
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-10, err_msg=f"parameter {i}")


# ---------------------------------------------------------------- accelerator probes
@pytest.mark.skipif(cr.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_probes_behave_like_a_cpu_build_of_torch():
    assert cr.cuda.is_available() is torch.cuda.is_available() is False
    assert cr.cuda.device_count() == torch.cuda.device_count() == 0
    assert cr.cuda.is_initialized() is torch.cuda.is_initialized() is False
    assert cr.cuda.memory_allocated() == torch.cuda.memory_allocated() == 0
    assert cr.cuda.max_memory_allocated() == torch.cuda.max_memory_allocated() == 0
    assert cr.cuda.is_bf16_supported() is torch.cuda.is_bf16_supported() is False
    for name in ("empty_cache", "synchronize", "seed", "seed_all"):
        assert getattr(cr.cuda, name)() is None
    cr.cuda.manual_seed(0)
    cr.cuda.manual_seed_all(0)
    for name in ("current_device", "get_device_name", "get_device_capability"):
        with pytest.raises(AssertionError):
            getattr(torch.cuda, name)()
        with pytest.raises(AssertionError, match="no CUDA device is available.*pip install"):
            getattr(cr.cuda, name)()
    assert cr.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert cr.backends.mps.is_built() is False
    assert cr.backends.cudnn.is_available() is torch.backends.cudnn.is_available() is False
    cr.backends.cudnn.benchmark = True           # scripts set it; harmless
    cr.backends.cudnn.benchmark = False
    device = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    assert cr.zeros(2).to(device).device == device


# ---------------------------------------------------------------- names and defaults, as torch's
# Every module the building-blocks issue names, built with the fewest arguments torch needs.
ISSUE_MODULES = [
    ("Linear", (4, 3)), ("Bilinear", (2, 3, 4)), ("LazyLinear", (3,)), ("Conv1d", (2, 3, 3)),
    ("Conv2d", (2, 3, 3)), ("ConvTranspose1d", (2, 3, 3)), ("ConvTranspose2d", (2, 3, 3)),
    ("MaxPool1d", (2,)), ("MaxPool2d", (2,)), ("AvgPool1d", (2,)), ("AvgPool2d", (2,)),
    ("AdaptiveAvgPool1d", (2,)), ("AdaptiveAvgPool2d", (2,)), ("AdaptiveMaxPool2d", (2,)),
    ("MaxUnpool2d", (2,)), ("Upsample", ()), ("PixelShuffle", (2,)), ("ZeroPad2d", (1,)),
    ("ReflectionPad2d", (1,)), ("ReplicationPad2d", (1,)), ("BatchNorm1d", (3,)),
    ("BatchNorm2d", (3,)), ("LayerNorm", (3,)), ("GroupNorm", (1, 3)), ("InstanceNorm2d", (3,)),
    ("RMSNorm", (3,)), ("LocalResponseNorm", (2,)), ("Dropout", ()), ("Dropout1d", ()),
    ("Dropout2d", ()), ("AlphaDropout", ()), ("Embedding", (5, 2)), ("Identity", ()),
    ("Flatten", ()), ("Unflatten", (1, (2, 2))), ("Fold", ((4, 4), 2)), ("Unfold", (2,)),
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", ()), ("ELU", ()), ("SELU", ()), ("CELU", ()),
    ("GELU", ()), ("SiLU", ()), ("Mish", ()), ("Softplus", ()), ("Softsign", ()),
    ("Hardtanh", ()), ("Hardsigmoid", ()), ("Hardswish", ()), ("Sigmoid", ()), ("Tanh", ()),
    ("LogSigmoid", ()), ("Softmax", ()), ("LogSoftmax", ()), ("Softmin", ()), ("GLU", ()),
    ("PReLU", ()), ("Threshold", (0.1, 0.0)), ("MSELoss", ()), ("L1Loss", ()),
    ("SmoothL1Loss", ()), ("HuberLoss", ()), ("CrossEntropyLoss", ()), ("NLLLoss", ()),
    ("BCELoss", ()), ("BCEWithLogitsLoss", ()), ("KLDivLoss", ()), ("PoissonNLLLoss", ()),
    ("GaussianNLLLoss", ()), ("CosineEmbeddingLoss", ()), ("MarginRankingLoss", ()),
    ("TripletMarginLoss", ()), ("HingeEmbeddingLoss", ()), ("MultiMarginLoss", ()),
    ("SoftMarginLoss", ()), ("MultiLabelSoftMarginLoss", ()), ("RNN", (3, 4)),
    ("LSTM", (3, 4)), ("GRU", (3, 4)), ("RNNCell", (3, 4)), ("LSTMCell", (3, 4)),
    ("GRUCell", (3, 4)), ("MultiheadAttention", (4, 2)), ("TransformerEncoderLayer", (4, 2)),
    ("TransformerDecoderLayer", (4, 2)), ("Transformer", (4, 2, 1, 1, 8)),
]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name,args", ISSUE_MODULES, ids=[n for n, _ in ISSUE_MODULES])
def test_every_named_module_builds_with_torchs_defaults(name, args):
    t, c = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(c) == repr(t).replace("torch.", "")
    t_state, c_state = t.state_dict(), c.state_dict()
    assert list(c_state) == list(t_state)
    for key, value in t_state.items():
        if name.startswith("Lazy"):         # shapes are unknown until the first forward
            break
        assert tuple(c_state[key].shape) == tuple(value.shape), key
        assert c_state[key].dtype.name == str(value.dtype).replace("torch.", ""), key
    assert c.training is t.training
    _same_defaults(getattr(nn, name), getattr(torch.nn, name))


def _defaults(fn):
    import inspect
    skip = {"device", "dtype", "foreach", "capturable", "differentiable", "fused", "verbose",
            "_random_samples", "min_value", "max_value"}
    return {k: repr(p.default) for k, p in inspect.signature(fn).parameters.items()
            if k not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _same_defaults(ours, theirs):
    mine, torchs = _defaults(ours), _defaults(theirs)
    for key, default in torchs.items():
        assert key in mine, f"{ours.__name__}: missing argument {key!r}"
        if default.startswith("<function"):     # torch passes F.relu, chainrule "relu"
            continue
        assert mine[key] == default, f"{ours.__name__}({key}=...): {mine[key]} vs {default}"


OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad",
              "Adadelta", "Rprop", "LBFGS"]
SCHEDULERS = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
              "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
              "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"]
INITS = ["uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_", "dirac_",
         "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
         "trunc_normal_", "orthogonal_", "sparse_", "calculate_gain"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_take_torchs_hyperparameters_and_defaults(name):
    _same_defaults(getattr(cr.optim, name), getattr(torch.optim, name))
    if name == "LBFGS":
        return
    kwargs = {"lr": 0.1} if name == "SGD" else {}
    ours = getattr(cr.optim, name)([nn.Parameter(cr.zeros(2))], **kwargs)
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(2))], **kwargs)
    group = {k: v for k, v in theirs.param_groups[0].items()
             if k not in ("params", "foreach", "capturable", "differentiable", "fused")}
    assert {k: ours.param_groups[0][k] for k in group} == group


@pytest.mark.parametrize("name", SCHEDULERS)
def test_schedulers_take_torchs_arguments_and_defaults(name):
    _same_defaults(getattr(cr.optim.lr_scheduler, name), getattr(torch.optim.lr_scheduler, name))


@pytest.mark.parametrize("name", INITS)
def test_init_functions_take_torchs_arguments_and_defaults(name):
    _same_defaults(getattr(nn.init, name), getattr(torch.nn.init, name))
