"""chainrule.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr at every step."""
import math
import warnings

import numpy as np
import pytest
import torch

import chainrule
import chainrule.optim as optim
from chainrule.nn import Parameter
from chainrule.optim import lr_scheduler as cr_sched
from torch.optim import lr_scheduler as t_sched

STEPS = 100
LRS = (0.1, 0.02)


def _optimizers(kind):
    """A chainrule and a torch optimizer, each with two param groups of different lrs."""
    def groups(make):
        return [{"params": [make((2,))]}, {"params": [make((3,))], "lr": LRS[1]}]
    cr_groups = groups(lambda s: Parameter(chainrule.zeros(*s)))
    t_groups = groups(lambda s: torch.nn.Parameter(torch.zeros(*s)))
    if kind == "sgd":
        return (optim.SGD(cr_groups, lr=LRS[0], momentum=0.9),
                torch.optim.SGD(t_groups, lr=LRS[0], momentum=0.9))
    return optim.Adam(cr_groups, lr=LRS[0]), torch.optim.Adam(t_groups, lr=LRS[0])


def _cr_optimizer(kind):
    return _optimizers(kind)[0]


def _same(cr_opt, t_opt, cr_s, t_s, where):
    np.testing.assert_allclose(cr_s.get_last_lr(), t_s.get_last_lr(), rtol=1e-12, atol=1e-15,
                               err_msg=f"get_last_lr at {where}")
    for g, h in zip(cr_opt.param_groups, t_opt.param_groups):
        np.testing.assert_allclose(g["lr"], h["lr"], rtol=1e-12, atol=1e-15, err_msg=where)
        for key in ("momentum", "betas"):
            if key in h:
                np.testing.assert_allclose(g[key], h[key], rtol=1e-12, atol=1e-15,
                                           err_msg=f"{key} at {where}")


def _lambda_a(epoch):
    return 0.97 ** epoch


def _lambda_b(epoch):
    return 1.0 / (epoch + 1)


# (id, optimizer kind, factory(module, optimizer))
SCHEDULERS = [
    ("LambdaLR", "sgd", lambda m, o: m.LambdaLR(o, _lambda_a)),
    ("LambdaLR-list", "sgd", lambda m, o: m.LambdaLR(o, [_lambda_a, _lambda_b])),
    ("MultiplicativeLR", "sgd", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95)),
    ("StepLR", "sgd", lambda m, o: m.StepLR(o, step_size=7, gamma=0.5)),
    ("MultiStepLR", "adam", lambda m, o: m.MultiStepLR(o, [10, 30, 30, 60], gamma=0.3)),
    ("ConstantLR", "sgd", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=13)),
    ("LinearLR", "sgd", lambda m, o: m.LinearLR(o)),
    ("LinearLR-decay", "adam",
     lambda m, o: m.LinearLR(o, start_factor=0.9, end_factor=0.05, total_iters=40)),
    ("ExponentialLR", "sgd", lambda m, o: m.ExponentialLR(o, gamma=0.95)),
    ("PolynomialLR", "sgd", lambda m, o: m.PolynomialLR(o, total_iters=60, power=2.0)),
    ("CosineAnnealingLR", "sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=1e-3)),
    ("CosineAnnealingLR-zero", "adam", lambda m, o: m.CosineAnnealingLR(o, T_max=17)),
    ("WarmRestarts", "sgd", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=9)),
    ("WarmRestarts-mult", "sgd",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=1e-4)),
    ("CyclicLR-triangular", "sgd",
     lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=8)),
    ("CyclicLR-triangular2", "sgd",
     lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.005], max_lr=[0.1, 0.05], step_size_up=6,
                             step_size_down=11, mode="triangular2", base_momentum=0.7)),
    ("CyclicLR-exp_range-adam", "adam",
     lambda m, o: m.CyclicLR(o, base_lr=1e-3, max_lr=1e-2, step_size_up=9, mode="exp_range",
                             gamma=0.99)),
    ("CyclicLR-no-momentum", "adam",
     lambda m, o: m.CyclicLR(o, base_lr=1e-3, max_lr=1e-2, step_size_up=5,
                             cycle_momentum=False)),
    ("CyclicLR-scale_fn", "sgd",
     lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                             scale_fn=lambda x: 0.5 * (1 + math.sin(x)),
                             scale_mode="iterations")),
    ("OneCycleLR-cos-sgd", "sgd", lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=100)),
    ("OneCycleLR-linear-three-adam", "adam",
     lambda m, o: m.OneCycleLR(o, max_lr=[0.01, 0.02], epochs=10, steps_per_epoch=11,
                               anneal_strategy="linear", three_phase=True, pct_start=0.25)),
    ("OneCycleLR-no-momentum", "sgd",
     lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=120, cycle_momentum=False,
                               div_factor=10.0, final_div_factor=100.0)),
    ("SequentialLR", "sgd",
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                     m.ExponentialLR(o, gamma=0.9)], milestones=[5])),
    ("SequentialLR-three", "adam",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=4),
                                     m.CosineAnnealingLR(o, T_max=20),
                                     m.StepLR(o, step_size=10)], milestones=[10, 50])),
    ("ChainedScheduler", "sgd",
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=2),
                                      m.ExponentialLR(o, gamma=0.9)])),
    ("ChainedScheduler-cos", "adam",
     lambda m, o: m.ChainedScheduler([m.CosineAnnealingLR(o, T_max=25, eta_min=1e-4),
                                      m.MultiStepLR(o, [20, 70], gamma=0.5)], optimizer=o)),
]
IDS = [s[0] for s in SCHEDULERS]


def _run(kind, factory, steps=STEPS, reload_at=None):
    cr_opt, t_opt = _optimizers(kind)
    cr_s, t_s = factory(cr_sched, cr_opt), factory(t_sched, t_opt)
    _same(cr_opt, t_opt, cr_s, t_s, "construction")
    for i in range(steps):
        if i == reload_at:
            saved_s, saved_o = cr_s.state_dict(), cr_opt.state_dict()
            cr_opt = _cr_optimizer(kind)
            cr_s = factory(cr_sched, cr_opt)
            cr_s.load_state_dict(saved_s)
            cr_opt.load_state_dict(saved_o)
        cr_opt.step()
        t_opt.step()
        cr_s.step()
        t_s.step()
        _same(cr_opt, t_opt, cr_s, t_s, f"step {i + 1}")


@pytest.mark.parametrize("kind,factory", [s[1:] for s in SCHEDULERS], ids=IDS)
def test_matches_torch(kind, factory):
    _run(kind, factory)


@pytest.mark.parametrize("kind,factory", [s[1:] for s in SCHEDULERS], ids=IDS)
def test_state_dict_round_trip(kind, factory):
    _run(kind, factory, reload_at=50)


CLOSED_FORM = [
    lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    lambda m, o: m.MultiStepLR(o, [2, 5, 5], gamma=0.5),
    lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=6),
    lambda m, o: m.ExponentialLR(o, gamma=0.8),
    lambda m, o: m.PolynomialLR(o, total_iters=8, power=0.5),
    lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
]


@pytest.mark.parametrize("factory", CLOSED_FORM, ids=lambda f: "closed")
def test_step_with_epoch_uses_closed_form(factory):
    cr_opt, t_opt = _optimizers("sgd")
    cr_s, t_s = factory(cr_sched, cr_opt), factory(t_sched, t_opt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in [1, 2, 5, 3, 9, 12, 4]:
            cr_opt.step()
            t_opt.step()
            cr_s.step(epoch)
            t_s.step(epoch)
            _same(cr_opt, t_opt, cr_s, t_s, f"epoch {epoch}")
    with pytest.warns(UserWarning, match="epoch parameter"):
        cr_s.step(3)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs(T_mult):
    cr_opt, t_opt = _optimizers("sgd")
    cr_s = cr_sched.CosineAnnealingWarmRestarts(cr_opt, T_0=4, T_mult=T_mult, eta_min=1e-3)
    t_s = t_sched.CosineAnnealingWarmRestarts(t_opt, T_0=4, T_mult=T_mult, eta_min=1e-3)
    epochs = [e + i / 4 for e in range(25) for i in range(4)]
    for n, epoch in enumerate(epochs):
        cr_opt.step()
        t_opt.step()
        cr_s.step(epoch)
        t_s.step(epoch)
        _same(cr_opt, t_opt, cr_s, t_s, f"epoch {epoch}")
        if n == 60:             # interleave plain steps and a jump, as torch allows
            for s in (cr_s, t_s):
                s.step()
                s.step(30)
                s.step()
            _same(cr_opt, t_opt, cr_s, t_s, "interleaved")
    with pytest.raises(ValueError, match="non-negative epoch"):
        cr_s.step(-1)


def _metrics(n=STEPS):
    """Improves, plateaus, improves a little, then worsens: every branch of the rule."""
    values = []
    for i in range(n):
        if i < 20:
            values.append(1.0 / (1 + i))
        elif i < 45:
            values.append(0.05 + 0.001 * math.sin(i))
        elif i < 70:
            values.append(0.05 - 0.0004 * (i - 45))
        else:
            values.append(0.04 + 0.002 * (i - 70))
    return values


PLATEAU = [
    dict(),
    dict(patience=3, factor=0.5),
    dict(patience=2, threshold=0.01, threshold_mode="abs", cooldown=3, min_lr=1e-3),
    dict(mode="max", patience=4, factor=0.3, min_lr=[1e-3, 1e-4]),
    dict(mode="max", patience=1, threshold_mode="abs", threshold=0.0, eps=1e-3),
]


@pytest.mark.parametrize("kwargs", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau(kwargs):
    cr_opt, t_opt = _optimizers("sgd")
    cr_s = cr_sched.ReduceLROnPlateau(cr_opt, **kwargs)
    t_s = t_sched.ReduceLROnPlateau(t_opt, **kwargs)
    sign = -1.0 if kwargs.get("mode") == "max" else 1.0
    for i, value in enumerate(_metrics()):
        if i == 50:
            saved = cr_s.state_dict()
            fresh_opt = _cr_optimizer("sgd")
            fresh_opt.load_state_dict(cr_opt.state_dict())
            cr_opt, cr_s = fresh_opt, cr_sched.ReduceLROnPlateau(fresh_opt, **kwargs)
            cr_s.load_state_dict(saved)
        cr_s.step(sign * value)
        t_s.step(sign * value)
        _same(cr_opt, t_opt, cr_s, t_s, f"epoch {i}")
        assert (cr_s.best, cr_s.num_bad_epochs, cr_s.cooldown_counter) == \
            (t_s.best, t_s.num_bad_epochs, t_s.cooldown_counter)


def test_initial_step_and_base():
    opt = _cr_optimizer("sgd")
    sched = cr_sched.StepLR(opt, step_size=2)
    assert sched.last_epoch == 0 and sched.base_lrs == list(LRS)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert sched.get_last_lr() == list(LRS)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        sched.step()
    assert "optimizer" not in sched.state_dict()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with pytest.raises(KeyError, match="initial_lr"):
        cr_sched.StepLR(_cr_optimizer("sgd"), step_size=2, last_epoch=3)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        cr_sched.ExponentialLR(object(), gamma=0.9)
    resumed = cr_sched.ExponentialLR(opt, gamma=0.5, last_epoch=3)
    assert resumed.last_epoch == 4


def test_scheduler_errors():
    opt = _cr_optimizer("sgd")
    adagrad = optim.Adagrad([Parameter(chainrule.zeros(2))])
    cases = [
        (ValueError, "between 0 and 1", lambda: cr_sched.ConstantLR(opt, factor=1.5)),
        (ValueError, "Starting multiplicative", lambda: cr_sched.LinearLR(opt, start_factor=0)),
        (ValueError, "Ending multiplicative", lambda: cr_sched.LinearLR(opt, end_factor=2.0)),
        (ValueError, "Expected 2 lr_lambdas", lambda: cr_sched.LambdaLR(opt, [_lambda_a])),
        (TypeError, "should be a function", lambda: cr_sched.MultiplicativeLR(opt, 0.9)),
        (ValueError, "positive integer T_0", lambda: cr_sched.CosineAnnealingWarmRestarts(opt, 0)),
        (ValueError, "T_mult >= 1",
         lambda: cr_sched.CosineAnnealingWarmRestarts(opt, 3, T_mult=0)),
        (ValueError, "mode is invalid", lambda: cr_sched.CyclicLR(opt, 0.1, 1.0, mode="up")),
        (ValueError, "must support momentum", lambda: cr_sched.CyclicLR(adagrad, 0.1, 1.0)),
        (ValueError, "same length", lambda: cr_sched.CyclicLR(opt, [0.1], 1.0)),
        (ValueError, "total_steps OR", lambda: cr_sched.OneCycleLR(opt, 0.1)),
        (ValueError, "positive integer total_steps", lambda: cr_sched.OneCycleLR(opt, 0.1, 0)),
        (ValueError, "positive integer epochs",
         lambda: cr_sched.OneCycleLR(opt, 0.1, epochs=0, steps_per_epoch=3)),
        (ValueError, "pct_start", lambda: cr_sched.OneCycleLR(opt, 0.1, 10, pct_start=1.5)),
        (ValueError, "anneal_strategy",
         lambda: cr_sched.OneCycleLR(opt, 0.1, 10, anneal_strategy="exp")),
        (ValueError, "Factor should be < 1.0", lambda: cr_sched.ReduceLROnPlateau(opt, factor=2)),
        (ValueError, "mode avg is unknown", lambda: cr_sched.ReduceLROnPlateau(opt, mode="avg")),
        (ValueError, "threshold mode", lambda: cr_sched.ReduceLROnPlateau(
            opt, threshold_mode="x")),
        (ValueError, "expected 2 min_lrs", lambda: cr_sched.ReduceLROnPlateau(opt, min_lr=[0])),
        (ValueError, "at least one scheduler", lambda: cr_sched.ChainedScheduler([])),
        (ValueError, "one more than the number of milestone",
         lambda: cr_sched.SequentialLR(opt, [cr_sched.StepLR(opt, 2)], milestones=[3])),
        (ValueError, "same optimizer", lambda: cr_sched.SequentialLR(
            opt, [cr_sched.StepLR(_cr_optimizer("sgd"), 2)], milestones=[])),
        (ValueError, "does not support `ReduceLROnPlateau`", lambda: cr_sched.ChainedScheduler(
            [cr_sched.ReduceLROnPlateau(opt)])),
    ]
    for exc, message, build in cases:
        with pytest.raises(exc, match=message):
            build()
    one_cycle = cr_sched.OneCycleLR(_cr_optimizer("sgd"), 0.1, total_steps=3)
    for _ in range(3):
        one_cycle.optimizer.step()
        one_cycle.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        one_cycle.step()


def test_schedule_drives_training():
    p = Parameter(chainrule.tensor([1.0]))
    opt = optim.SGD([p], lr=1.0)
    sched = cr_sched.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = chainrule.tensor([1.0])
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [1.0 - 1.0 - 0.5 - 0.25])
