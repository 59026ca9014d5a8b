"""chainrule.diagnose: each training pathology is detected, and a healthy run gets no alarm."""
import math

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.diagnose import Diagnostics


def _data(n=64, d=8, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal((d, classes))
    y = (x @ w).argmax(1)
    return cr.tensor(x), cr.tensor(y)


def _train(model, opt, steps=20, loss_fn=None, data=None):
    x, y = data or _data()
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    diag = Diagnostics(model, opt)
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        diag.on_backward(loss)
        opt.step()
        diag.on_step()
    diag.close()
    return diag, diag.report()


def test_healthy_model_has_no_alarm():
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                          nn.Linear(32, 3))
    diag, report = _train(model, optim.SGD(model.parameters(), lr=0.1), steps=30)
    assert report.ok, str(report)
    assert diag.losses[-1] < diag.losses[0]
    assert len(diag.grad_norms["0.weight"]) == 30 and len(diag.update_ratios["4.bias"]) == 30
    assert all(f < 0.4 for f in diag.dead_fractions().values())
    assert "No problems found" in str(report)


def test_vanishing_gradients_in_deep_sigmoid_stack():
    layers = [nn.Linear(8, 16), nn.Sigmoid()]
    for _ in range(8):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 3))
    _, report = _train(model, optim.SGD(model.parameters(), lr=0.1), steps=5)
    assert "vanishing_gradients" in report.kinds, str(report)
    v = next(v for v in report.verdicts if v.kind == "vanishing_gradients")
    assert v.layer == "0" and v.value < 1e-3
    assert "ReLU" in v.fix


def test_exploding_gradients():
    layers = []
    for _ in range(6):
        lin = nn.Linear(8, 8)
        with cr.no_grad():
            lin.weight.mul_(8.0)
        layers.append(lin)
    model = nn.Sequential(nn.Linear(8, 8), *layers, nn.Linear(8, 3))
    _, report = _train(model, optim.SGD(model.parameters(), lr=1e-12), steps=3)
    assert "exploding_gradients" in report.kinds, str(report)
    assert "clip" in next(v for v in report.verdicts if v.kind == "exploding_gradients").fix


def test_dead_relus():
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
    with cr.no_grad():
        model[0].bias.fill_(-50.0)          # every pre-activation is negative: all units dead
    _, report = _train(model, optim.SGD(model.parameters(), lr=0.1), steps=5)
    assert "dead_relu" in report.kinds, str(report)
    v = next(v for v in report.verdicts if v.kind == "dead_relu")
    assert v.layer == "1" and v.value == 1.0
    assert "no_gradient" in report.kinds          # the first layer is cut off from the loss


def test_layer_not_learning():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    _, report = _train(model, optim.SGD(model.parameters(), lr=1e-9), steps=5)
    assert "not_learning" in report.kinds, str(report)
    v = next(v for v in report.verdicts if v.kind == "not_learning")
    assert v.value < 1e-5 and "learning rate" in v.fix


def test_learning_rate_too_high_nan():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    x, _ = _data()
    target = cr.randn(64, 1) * 10
    with np.errstate(over="ignore", invalid="ignore"):
        diag, report = _train(model, optim.SGD(model.parameters(), lr=5.0), steps=30,
                              loss_fn=nn.MSELoss(), data=(x, target))
    assert not math.isfinite(diag.losses[-1]) or diag.losses[-1] > diag.losses[0]
    assert "lr_too_high" in report.kinds, str(report)


def test_learning_rate_too_high_diverging():
    diag = Diagnostics(nn.Linear(2, 2), None)
    for k in range(12):
        diag.record_loss(1.0 * 1.3 ** k)          # finite but rising
    report = diag.report()
    assert report.kinds == {"lr_too_high"}
    assert "going up" in report.verdicts[0].message


def test_hooks_removed_by_close():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with Diagnostics(model) as diag:
        model(cr.randn(4, 2))
    model(cr.randn(4, 2))
    assert len(diag._handles) == 0 and "1" in diag.dead_fractions()
