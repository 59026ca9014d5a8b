"""chainrule.compile: a replay must give what the eager function gives, bit for bit, and must
run eagerly (with a warning) or raise where it can't."""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F
from chainrule.capture import GuardChanged


def _model(kind):
    """(model, optimizer, loss function, batches) for one small network."""
    cr.manual_seed(0)
    if kind == "mlp_sgd_momentum":
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        opt = cr.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        loss, x, y = F.cross_entropy, (5, 8), ("classes", 4, (5,))
    elif kind == "adam":
        model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
        opt = cr.optim.Adam(model.parameters(), lr=0.01)
        loss, x, y = F.mse_loss, (5, 8), (5, 1)
    elif kind == "adamw_amsgrad":
        model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 1))
        opt = cr.optim.AdamW(model.parameters(), lr=0.01, amsgrad=True)
        loss, x, y = F.mse_loss, (5, 8), (5, 1)
    elif kind == "dropout_batchnorm":
        model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(16, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.05)
        loss, x, y = F.cross_entropy, (6, 8), ("classes", 3, (6,))
    elif kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(4, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 3))
        opt = cr.optim.SGD(model.parameters(), lr=0.05)
        loss, x, y = F.cross_entropy, (2, 1, 8, 8), ("classes", 3, (2,))
    elif kind == "lstm":
        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb, self.rnn = nn.Embedding(10, 6), nn.LSTM(6, 8, batch_first=True)
                self.out = nn.Linear(8, 10)

            def forward(self, tokens):
                return self.out(self.rnn(self.emb(tokens))[0]).reshape(-1, 10)
        model = LM()
        opt = cr.optim.SGD(model.parameters(), lr=0.1)
        loss = lambda out, target: F.cross_entropy(out, target.reshape(-1))  # noqa: E731
        x, y = ("classes", 10, (2, 5)), ("classes", 10, (2, 5))
    else:
        model = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
        opt = cr.optim.SGD(model.parameters(), lr=0.05)
        loss, x, y = F.mse_loss, (2, 4, 8), (2, 4, 8)

    def draw(spec):
        if spec[0] == "classes":
            return cr.randint(0, spec[1], spec[2])
        return cr.randn(*spec)
    batches = [(draw(x), draw(y)) for _ in range(7)]
    return model, opt, loss, batches


def _train_step(model, opt, loss_fn):
    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _state(model):
    return [t.data.copy() for t in list(model.parameters()) + list(model.buffers())]


@pytest.mark.parametrize("kind", ["mlp_sgd_momentum", "adam", "adamw_amsgrad",
                                  "dropout_batchnorm", "cnn", "lstm", "transformer"])
def test_training_replay_matches_eager_bit_for_bit(kind):
    model, opt, loss_fn, batches = _model(kind)
    cr.manual_seed(1)
    eager_losses = [_train_step(model, opt, loss_fn)(x, y).item() for x, y in batches]
    eager_state = _state(model)

    model, opt, loss_fn, batches = _model(kind)
    step = cr.compile(_train_step(model, opt, loss_fn))
    cr.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses = [step(x, y).item() for x, y in batches]
    assert step.replay is not None, step.eager_reason
    assert step.replays == len(batches) - 3
    assert losses == eager_losses
    for a, b in zip(eager_state, _state(model)):
        np.testing.assert_array_equal(a, b)


def _raw_mlp(lib=cr):
    """The per-step-overhead benchmark's step: raw tensors, mse, in-place SGD under no_grad."""
    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.uniform(-1, 1, s).astype(np.float32), requires_grad=True)
              for s in [(2, 16), (16,), (16, 16), (16,), (16, 1), (1,)]]

    def step(x, y):
        h = x
        for i in range(0, 6, 2):
            h = h @ params[i] + params[i + 1]
            if i < 4:
                h = h.tanh()
        loss = ((h - y) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            for p in params:
                p -= 0.01 * p.grad
                p.grad = None
        return loss
    return params, step


def test_raw_tensor_step_replays_and_moves_version_counters():
    rng = np.random.default_rng(1)
    data = [(cr.tensor(rng.standard_normal((1, 2)).astype(np.float32)),
             cr.tensor(rng.standard_normal((1, 1)).astype(np.float32))) for _ in range(6)]
    params, step = _raw_mlp()
    eager = [step(x, y).item() for x, y in data]
    eager_params = [p.data.copy() for p in params]
    params, step = _raw_mlp()
    compiled = cr.compile(step)
    versions = [p._version[0] for p in params]
    got = [compiled(x, y).item() for x, y in data]
    assert compiled.replay is not None
    assert got == eager
    for a, p in zip(eager_params, params):
        np.testing.assert_array_equal(a, p.data)
        assert p.grad is None
    assert [p._version[0] - v for p, v in zip(params, versions)] == [6] * 6


def test_gradients_left_on_parameters_are_bound_after_a_replay():
    w = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)

    def f(x):
        w.grad = None
        (x @ w).pow(2).sum().backward()

    compiled = cr.compile(f)
    for i in range(4):
        x = cr.tensor([[float(i), 1.0]])
        compiled(x)
        expected = 2 * x.data.T @ (x.data @ w.data)
        np.testing.assert_allclose(w.grad.data, expected, rtol=1e-6)
    assert compiled.replay is not None


def test_forward_only_function_with_outputs_and_keyword_arguments():
    lin = nn.Linear(3, 2)

    def f(x, *, scale):
        with cr.no_grad():
            out = lin(x) * scale
        return out, {"sum": out.sum()}

    compiled = cr.compile(f)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = cr.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        out, extra = compiled(x, scale=2.0)
        ref, ref_extra = f(x, scale=2.0)
        np.testing.assert_array_equal(out.data, ref.data)
        np.testing.assert_array_equal(extra["sum"].data, ref_extra["sum"].data)
        assert out.grad_fn is None and not out.requires_grad
    assert compiled.replay is not None


def test_new_shapes_and_arguments_record_again():
    compiled = cr.compile(lambda x, k: (x * k).sum(0))
    for n in [2, 2, 2, 2, 3, 3, 3, 3, 2, 2, 2]:
        x = cr.arange(n * 2, dtype=cr.float32).reshape(n, 2)
        np.testing.assert_array_equal(compiled(x, 3).data, (x.data * 3).sum(0))
    assert compiled(cr.ones(2, 2), 5).data.tolist() == [10.0, 10.0]
    assert compiled.eager_reason is None and compiled.replays >= 3


def test_module_mode_and_learning_rate_changes_are_seen():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    sched = cr.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    twin = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    twin.load_state_dict(model.state_dict())
    twin_opt = cr.optim.SGD(twin.parameters(), lr=0.1)
    twin_sched = cr.optim.lr_scheduler.StepLR(twin_opt, step_size=5, gamma=0.5)

    def make(m, o):
        def step(x):
            o.zero_grad()
            m(x).sum().backward()
            o.step()
            return m(x)
        return step
    compiled, eager = cr.compile(make(model, opt)), make(twin, twin_opt)
    x = cr.ones(3, 4)
    for i in range(16):
        if i == 12:
            model.eval()
            twin.eval()
        cr.manual_seed(i)
        got = compiled(x)
        cr.manual_seed(i)
        np.testing.assert_array_equal(got.data, eager(x).data)
        sched.step()
        twin_sched.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert compiled.replays >= 4 and compiled.misses >= 2      # each new lr, and eval()


def test_parameter_data_replaced_between_calls_is_read_again():
    w = cr.tensor([1.0, 2.0])
    compiled = cr.compile(lambda x: x * w)
    for _ in range(4):
        compiled(cr.ones(2))
    w.data = np.array([5.0, 7.0], dtype=np.float32)
    assert compiled(cr.ones(2)).data.tolist() == [5.0, 7.0]
    assert compiled.replays == 2


@pytest.mark.parametrize("body", ["item", "numpy_random"])
def test_what_the_tape_cannot_follow_runs_eagerly_with_a_warning(body):
    def f(x):
        if body == "item":
            return (x * 2).sum().item()                      # a Python number each call
        return x + cr.tensor(np.random.default_rng().random(2).astype(np.float32))

    compiled = cr.compile(f)
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        for i in range(6):
            out = compiled(cr.full((2,), float(i)))
    if body == "item":
        assert out == 20.0
    else:
        drawn = out.data - 5.0                               # the last call's x is 5
        assert ((drawn >= 0) & (drawn < 1)).all() and drawn[0] != drawn[1]
    assert compiled.eager_reason is not None and compiled.replay is None


def test_a_branch_on_a_value_before_any_change_records_again():
    def f(x):
        s = x.sum()
        return x * 2 if s > 0 else x * 3

    compiled = cr.compile(f)
    for v in [1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, -1.0, -1.0]:
        x = cr.full((2,), v)
        assert compiled(x).data.tolist() == f(x).data.tolist()
    assert compiled.replays >= 2


def test_a_branch_on_a_value_after_an_in_place_change_raises():
    w = cr.zeros(2)

    def f(x):
        with cr.no_grad():
            w.add_(x)
        return w * 2 if w.sum() > -100 else w * 3

    compiled = cr.compile(f)
    for _ in range(4):
        compiled(cr.ones(2))
    with pytest.raises(GuardChanged, match="changed state"):
        compiled(cr.full((2,), -1000.0))


def test_decorator_options_and_errors():
    @cr.compile
    def double(x):
        return x * 2
    assert double(cr.ones(1)).data.tolist() == [2.0]
    assert cr.compile(mode="reduce-overhead")(lambda x: x + 1)(cr.ones(1)).data.tolist() == [2.0]
    plain = lambda x: x  # noqa: E731
    assert cr.compile(plain, disable=True) is plain
    with pytest.raises(TypeError, match="unexpected keyword argument 'fast'"):
        cr.compile(plain, fast=True)


def test_numpy_is_left_as_it_was():
    compiled = cr.compile(lambda x: x * 2)
    for _ in range(4):
        compiled(cr.ones(2))
    assert np.zeros.__module__ == "numpy" and not hasattr(np.zeros, "_real")
    assert not hasattr(np.asarray, "_real")
    assert not hasattr(np.lib.stride_tricks.as_strided, "_real")
    assert type(cr.Tensor.__dict__["data"]).__name__ == "member_descriptor"
    assert type(compiled(cr.ones(2)).data) is np.ndarray


def test_a_compiled_module_and_a_compiled_call_inside_another():
    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    compiled_model = cr.compile(model)
    assert list(compiled_model.parameters()) == list(model.parameters())
    outer = cr.compile(lambda x: compiled_model(x).sum() * 2)
    for i in range(5):
        x = cr.full((4, 3), float(i))
        np.testing.assert_array_equal(outer(x).data, (model(x).sum() * 2).data)
    assert outer.replays == 2
