"""RNN, LSTM, GRU and their cells against torch.nn with copied weights: outputs, final states,
input / initial-state / parameter gradients (float32 and float64) over option combinations;
state_dict keys, reprs, initialisation, inter-layer dropout, errors; gradcheck of the cells; the
fused LSTM gate primitive against its composite reference (values, gradients, double backward)."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
from chainrule.autograd import gradcheck, gradgradcheck
from chainrule.nn.functional.rnn import _lstm_gates_reference
from chainrule.ops.fused.rnn import lstm_gates, lstm_sequence, lstm_sequence_reference

TOL = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12)}


def _build(cls, args, kwargs, dtype):
    t = getattr(torch.nn, cls)(*args, **kwargs).to(getattr(torch, dtype))
    c = getattr(nn, cls)(*args, **kwargs).to(getattr(cr, dtype))
    c.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, c


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flat(item)]
    return [x]


def _check_close(a, b, dtype, what, scale=1.0):
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol * scale,
                               atol=atol * scale, err_msg=what)


def _compare(cls, args, kwargs, arrays, dtype, train=False):
    """Run the module in both libraries on ``arrays`` (input, then states as a nested
    structure); compare every output and every gradient."""
    t, c = _build(cls, args, kwargs, dtype)
    assert list(c.state_dict()) == list(t.state_dict())
    assert repr(c) == repr(t)
    t.train(train)
    c.train(train)

    def make(lib, a):
        if isinstance(a, tuple):
            return tuple(make(lib, x) for x in a)
        if a is None:
            return None
        return lib.tensor(a.astype(dtype), requires_grad=True)
    t_in, c_in = [make(torch, a) for a in arrays], [make(cr, a) for a in arrays]
    t_out, c_out = _flat(t(*t_in)), _flat(c(*c_in))
    assert len(t_out) == len(c_out)
    rng = np.random.default_rng(5)
    ups = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in t_out]
    for i, (a, b) in enumerate(zip(c_out, t_out)):
        assert tuple(a.shape) == tuple(b.shape), f"output {i}: {a.shape} vs {b.shape}"
        assert a.dtype.name == dtype
        _check_close(a, b, dtype, f"{cls} output {i}")
    torch.autograd.backward(t_out, [torch.tensor(u) for u in ups])
    cr.autograd.backward(c_out, [cr.tensor(u) for u in ups])
    for i, (a, b) in enumerate(zip(_flat(c_in), _flat(t_in))):
        if b is not None:
            _check_close(a.grad, b.grad, dtype, f"{cls} grad of input {i}", 10)
    for (k, p), (_, q) in zip(c.named_parameters(), t.named_parameters()):
        _check_close(p.grad, q.grad, dtype, f"{cls} grad of {k}", 10)
    return t, c


R = np.random.default_rng(0)


def rand(*shape):
    return R.uniform(-1.5, 1.5, shape)


# (class, constructor args, constructor kwargs, input shape, with initial states)
CONFIGS = [
    ("RNN", (3, 4), {}, (5, 2, 3), False),
    ("RNN", (3, 4), {"nonlinearity": "relu", "batch_first": True}, (2, 5, 3), True),
    ("RNN", (3, 4, 2), {"bidirectional": True, "bias": False}, (4, 2, 3), True),
    ("LSTM", (3, 4), {}, (5, 2, 3), False),
    ("LSTM", (3, 4, 2), {"batch_first": True}, (2, 5, 3), True),
    ("LSTM", (3, 4, 2), {"bidirectional": True}, (4, 3, 3), True),
    ("LSTM", (3, 4, 2), {"proj_size": 2, "bidirectional": True, "batch_first": True},
     (2, 4, 3), True),
    ("LSTM", (3, 4), {"bias": False}, (4, 3), True),             # unbatched
    ("GRU", (3, 4), {}, (5, 2, 3), False),
    ("GRU", (3, 4, 2), {"batch_first": True, "bidirectional": True}, (2, 4, 3), True),
    ("GRU", (3, 4), {"bias": False}, (4, 3), True),              # unbatched
    ("GRU", (3, 4, 2), {"dropout": 0.4}, (4, 2, 3), False),      # eval: no dropout
]


def _states(cls, args, kwargs, in_shape):
    layers = args[2] if len(args) > 2 else 1
    dirs = 2 if kwargs.get("bidirectional") else 1
    hidden = args[1]
    h_out = kwargs.get("proj_size") or hidden
    if len(in_shape) == 2:
        lead = (layers * dirs,)
    else:
        lead = (layers * dirs, in_shape[0] if kwargs.get("batch_first") else in_shape[1])
    h0 = rand(*lead, h_out)
    return (h0, rand(*lead, hidden)) if cls == "LSTM" else h0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls,args,kwargs,in_shape,with_state", CONFIGS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CONFIGS)])
def test_recurrent_layers_match_torch(cls, args, kwargs, in_shape, with_state, dtype):
    arrays = [rand(*in_shape)]
    if with_state:
        arrays.append(_states(cls, args, kwargs, in_shape))
    _compare(cls, args, kwargs, arrays, dtype)


def test_dropout_between_layers_in_training():
    # p = 1 zeroes the second layer's input: deterministic, so it can be compared with torch
    x = rand(4, 2, 3)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.5)
    _compare("LSTM", (3, 4, 2), {"dropout": 1.0}, [x], "float64", train=True)
    _compare("GRU", (3, 4, 3), {"dropout": 0.0}, [x], "float64", train=True)
    cr.manual_seed(0)
    m = nn.RNN(3, 50, 2, dropout=0.5)
    m.train()
    out_a = m(cr.tensor(x.astype(np.float32)))[0]
    m.eval()
    out_b = m(cr.tensor(x.astype(np.float32)))[0]
    assert not np.allclose(out_a.detach().numpy(), out_b.detach().numpy())


def test_default_init_and_parameter_shapes():
    cr.manual_seed(0)
    m = nn.LSTM(10, 64, 2, bidirectional=True, proj_size=16)
    t = torch.nn.LSTM(10, 64, 2, bidirectional=True, proj_size=16)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    bound = 1 / 8
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert abs(values.mean()) < 0.01
    assert abs(values.std() - bound / np.sqrt(3)) < 0.01     # U(-k, k) has std k / sqrt(3)
    assert len(m.all_weights) == 4 and len(m.all_weights[0]) == 5
    cell = nn.GRUCell(5, 25)
    w = cell.weight_hh.detach().numpy()
    assert w.shape == (75, 25) and np.abs(w).max() <= 0.2


CELLS = [("RNNCell", (3, 4), {}), ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
         ("LSTMCell", (3, 4), {}), ("LSTMCell", (3, 4), {"bias": False}),
         ("GRUCell", (3, 4), {}), ("GRUCell", (3, 4), {"bias": False})]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cls,args,kwargs", CELLS, ids=[f"{c[0]}-{i}" for i, c in
                                                        enumerate(CELLS)])
def test_cells_match_torch(cls, args, kwargs, dtype):
    lstm = cls == "LSTMCell"
    for batch in ((2,), ()):
        state = (rand(*batch, 4), rand(*batch, 4)) if lstm else rand(*batch, 4)
        _compare(cls, args, kwargs, [rand(*batch, 3), state], dtype)
        _compare(cls, args, kwargs, [rand(*batch, 3)], dtype)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck(cls):
    cell = getattr(nn, cls)(2, 3).double()
    x = cr.tensor(rand(2, 2), requires_grad=True)
    h = cr.tensor(rand(2, 3), requires_grad=True)
    params = list(cell.parameters())
    if cls == "LSTMCell":
        c = cr.tensor(rand(2, 3), requires_grad=True)

        def fn(x, h, c, *ps):
            return cell(x, (h, c))
        inputs = [x, h, c] + params
    else:
        def fn(x, h, *ps):
            return cell(x, h)
        inputs = [x, h] + params
    assert gradcheck(fn, inputs, name=cls)
    assert gradgradcheck(fn, inputs[:3], name=cls, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_sequence_gradcheck(cls):
    m = getattr(nn, cls)(2, 2, bidirectional=True).double()
    x = cr.tensor(rand(3, 1, 2), requires_grad=True)
    assert gradcheck(lambda x, *ps: m(x)[0], [x] + list(m.parameters()), name=cls)


def test_fused_lstm_gates_match_composite():
    for dtype in ("float64", "float32"):
        g = rand(3, 8).astype(dtype) * 2
        c = rand(3, 2).astype(dtype)
        outs = []
        for fn in (lstm_gates, _lstm_gates_reference):
            gt = cr.tensor(g, requires_grad=True)
            ct = cr.tensor(c, requires_grad=True)
            h, c_new = fn(gt, ct)
            (h * h + c_new * 3).sum().backward()
            outs.append([h, c_new, gt.grad, ct.grad])
        for a, b in zip(*outs):
            _check_close(a, b, dtype, "fused vs composite", 10)
    # double backward through the fused primitive matches the composite
    grads = []
    g, c = rand(2, 8), rand(2, 2)
    for fn in (lstm_gates, _lstm_gates_reference):
        gt = cr.tensor(g, requires_grad=True)
        ct = cr.tensor(c, requires_grad=True)
        h, c_new = fn(gt, ct)
        (dg, dc) = cr.autograd.grad((h * c_new).sum(), [gt, ct], create_graph=True)
        grads.append(cr.autograd.grad((dg * dg).sum() + dc.sum(), [gt, ct]))
    for a, b in zip(*grads):
        _check_close(a, b, "float64", "fused double backward")


@pytest.mark.parametrize("time_dim,reverse", [(0, False), (1, False), (0, True), (1, True)])
def test_fused_lstm_sequence_matches_composite(time_dim, reverse):
    xg = rand(4, 3, 8) * 2
    h0, c0, w = rand(3, 2), rand(3, 2), rand(8, 2)
    if time_dim == 1:
        xg = xg.transpose(1, 0, 2).copy()
    up = [rand(*xg.shape[:-1], 2), rand(3, 2), rand(3, 2)]
    results = []
    for fn in (lstm_sequence, lstm_sequence_reference):
        ins = [cr.tensor(a, requires_grad=True) for a in (xg, h0, c0, w)]
        outs = fn(*ins, time_dim=time_dim, reverse=reverse)
        first = cr.autograd.grad(outs, ins, [cr.tensor(u) for u in up], create_graph=True)
        second = cr.autograd.grad(sum((g * g).sum() for g in first), ins)
        plain = [cr.tensor(a, requires_grad=True) for a in (xg, h0, c0, w)]
        cr.autograd.backward(fn(*plain, time_dim=time_dim, reverse=reverse),
                             [cr.tensor(u) for u in up])
        results.append(list(outs) + list(first) + list(second) + [p.grad for p in plain])
    for a, b in zip(*results):
        _check_close(a, b, "float64", "fused sequence vs composite")


def test_state_dict_round_trip_and_reprs():
    t = torch.nn.GRU(3, 5, 2, batch_first=True, bidirectional=True, dropout=0.25)
    c = nn.GRU(3, 5, 2, batch_first=True, bidirectional=True, dropout=0.25)
    c.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    assert list(c.state_dict()) == list(t.state_dict())
    assert repr(c) == repr(t)
    for m_args in [("RNN", (3, 4, 1, "relu")), ("LSTM", (3, 4)), ("RNNCell", (3, 4, False, "relu")),
                   ("LSTMCell", (3, 4)), ("LSTM", (3, 4, 3, False, True, 0.0, False, 2))]:
        name, args = m_args
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_errors():
    m = nn.LSTM(3, 4, 2)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 3, got 5"):
        m(cr.randn(2, 2, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 2, 4\), got \[1, 2, 4\]"):
        m(cr.randn(3, 2, 3), (cr.zeros(1, 2, 4), cr.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match="hx and cx should also be 3-D but got 2-D"):
        m(cr.randn(3, 2, 3), (cr.zeros(2, 4), cr.zeros(2, 4)))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(cr.randn(1, 3, 2, 3))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D"):
        nn.GRUCell(3, 4)(cr.randn(1, 2, 3))
    with pytest.raises(RuntimeError, match="inconsistent input_size: got 2 expected 3"):
        nn.RNNCell(3, 4)(cr.randn(5, 2))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(5, 4\), got \[5, 3\]"):
        nn.RNNCell(3, 4)(cr.randn(5, 3), cr.randn(5, 3))
