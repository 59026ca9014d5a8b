"""Reliability of training: the non-finite check, no memory growth, thread safety, and losses
that refuse bad targets with errors naming the values.

The long versions are documented commands:

    python scripts/leak_test.py                           # 10,000 LeNet steps, RSS growth
    python benchmarks/bench_trainer_checks.py             # cost of the non-finite check
"""
import copy
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.training import Progress, Trainer, TrainingError
from chainrule.utils.data import DataLoader, TensorDataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ the non-finite check
def _trainer(model, x, y, lr=0.1, loss_fn=None, batch_size=4, seed=0):
    loader = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=batch_size,
                        shuffle=True, generator=cr.Generator().manual_seed(seed))
    return Trainer(model, cr.optim.SGD(model.parameters(), lr=lr, momentum=0.9), loader,
                   num_classes=3, loss_fn=loss_fn, progress=Progress(quiet=True),
                   log_steps=False, distributed=False)


def test_huge_finite_gradients_do_not_stop_training_but_inf_does():
    x = np.ones((8, 5), np.float32)
    y = np.zeros(8, np.int64)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 3))
    # the loss is finite and its gradients are 1e20 (their squares overflow float32)
    trainer = _trainer(model, x, y, lr=0.0, loss_fn=lambda out, t: out.mean() * 1e20)
    trainer.fit(1)
    assert np.isfinite(model[0].weight.grad.data).all()
    assert np.abs(model[0].weight.grad.data).min() > 1e19
    # a finite loss (0) whose backward overflows: 0 * (1e30 * 1e30) = NaN in the gradient
    trainer = _trainer(model, x, y, lr=0.0, loss_fn=lambda out, t: (out * 0 * 1e30 * 1e30).sum())
    with pytest.raises(TrainingError, match=r"non-finite gradient .* at step 1 \(epoch 1, "
                                            r"batch index 0\)"):
        trainer.fit(1)


# ------------------------------------------------------------------ memory
def test_no_resident_memory_growth_and_the_test_catches_a_leak():
    """A short scripts/leak_test.py run is flat; with a loss graph kept per step it fails."""
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "leak_test.py"), "--every", "2",
           "--max-growth-mb", "3"]
    runs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for c in (cmd + ["--steps", "100", "--batch", "2"],
                      cmd + ["--steps", "60", "--batch", "8", "--inject-leak"])]
    (clean_out, clean_err), (leak_out, leak_err) = (p.communicate(timeout=300) for p in runs)
    assert runs[0].returncode == 0, clean_out + clean_err
    assert "ok" in clean_out.splitlines()[-1]
    assert runs[1].returncode == 1, leak_out + leak_err
    assert "LEAK" in leak_out.splitlines()[-1]


# ------------------------------------------------------------------ threads
def _thread_models():
    cr.manual_seed(1)
    mlp = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
    conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    rng = np.random.default_rng(1)
    data = [(rng.normal(size=(24, 6)).astype(np.float32), rng.integers(0, 3, 24)),
            (rng.normal(size=(24, 1, 6, 6)).astype(np.float32), rng.integers(0, 3, 24))]
    return [mlp, conv], data


def _train(model, data, seed, out, barrier=None):
    trainer = _trainer(model, *data, lr=0.05, seed=seed)
    losses = []

    class Record(cr.training.callbacks.Callback):
        def on_batch_end(self, trainer, step, loss):
            losses.append(loss)
            # grad mode is per thread: another thread's no_grad must not leak in here
            assert cr.is_grad_enabled()

    trainer.callbacks.append(Record())
    if barrier is not None:
        barrier.wait()
    trainer.fit(3, handle_interrupt=False)
    out[seed] = (losses, [p.data.copy() for p in model.parameters()])


def _evaluate_without_grad(model, x, stop, flags):
    while not stop.is_set():
        with cr.no_grad():
            flags.append(model(x).requires_grad or cr.is_grad_enabled())


def test_two_threads_train_two_models_like_sequential_runs():
    models, data = _thread_models()
    sequential = {}
    for seed, (model, d) in enumerate(zip(models, data)):
        _train(copy.deepcopy(model), d, seed, sequential)
    concurrent, barrier = {}, threading.Barrier(2)
    stop, flags = threading.Event(), []
    evaluator = threading.Thread(target=_evaluate_without_grad,
                                 args=(copy.deepcopy(models[0]), cr.tensor(data[0][0]), stop,
                                       flags))
    threads = [threading.Thread(target=_train, args=(copy.deepcopy(m), d, seed, concurrent,
                                                     barrier))
               for seed, (m, d) in enumerate(zip(models, data))]
    evaluator.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    evaluator.join(10)
    assert sorted(concurrent) == [0, 1], "a training thread failed"
    assert flags and not any(flags), "no_grad in the evaluating thread did not hold there"
    for seed in (0, 1):
        (a_losses, a_params), (b_losses, b_params) = sequential[seed], concurrent[seed]
        assert len(a_losses) == 18 and a_losses == b_losses      # bit-identical
        for p, q in zip(a_params, b_params):
            np.testing.assert_array_equal(p, q)


# ------------------------------------------------------------------ losses
_X = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
_P = np.full((4, 3), 0.5, np.float32)

# (loss, input, target, kwargs, exception, regex naming the values)
BAD_TARGETS = [
    ("cross_entropy", _X, np.array([0.0, 1, 2, 1], np.float32), {}, RuntimeError,
     r"cross_entropy: expected class indices .* got a chainrule\.float32"),
    ("nll_loss", _X, np.array([0.0, 1, 2, 1], np.float32), {}, RuntimeError,
     r"nll_loss: expected class indices .* got a chainrule\.float32"),
    ("cross_entropy", _X, np.array([0, 1, 3, 1]), {}, IndexError,
     r"cross_entropy: target 3 is out of bounds.*\[0, 2\]"),
    ("cross_entropy", _X, np.array([0, -2, 1, 1]), {}, IndexError,
     r"cross_entropy: target -2 is out of bounds.*ignore_index=-100"),
    ("nll_loss", _X, np.array([0, -1, 1, 1]), {}, IndexError, r"nll_loss: target -1 is out of"),
    ("cross_entropy", _X, np.array([0, 5, 1, 1]), {"ignore_index": 5}, None, None),
    ("cross_entropy", _X, np.array([0, 1, 1]), {}, ValueError,
     r"cross_entropy: expected input batch_size \(4\) to match target batch_size \(3\)"),
    ("nll_loss", _X, np.array([0, 1]), {}, ValueError,
     r"nll_loss: expected input batch_size \(4\) to match target batch_size \(2\)"),
    ("mse_loss", _X, np.ones((4, 1), np.float32), {}, ValueError,
     r"mse_loss: target shape \(4, 1\) differs from input shape \(4, 3\)"),
    ("l1_loss", _X, np.ones((1, 3), np.float32), {}, ValueError,
     r"l1_loss: target shape \(1, 3\) differs from input shape \(4, 3\)"),
    ("smooth_l1_loss", _X[:, 0], np.ones((4, 1), np.float32), {}, ValueError,
     r"smooth_l1_loss: target shape \(4, 1\) differs from input shape \(4,\)"),
    ("huber_loss", _X, np.ones(3, np.float32), {}, ValueError, r"huber_loss: target shape \(3,\)"),
    ("kl_div", _X, np.ones((4, 1), np.float32), {}, ValueError, r"kl_div: target shape \(4, 1\)"),
    ("binary_cross_entropy", _P[:, :1], np.ones(4, np.float32), {}, ValueError,
     r"binary_cross_entropy: target shape \(4,\) differs from input shape \(4, 1\)"),
    ("binary_cross_entropy_with_logits", _X, np.ones((4, 1), np.float32), {}, ValueError,
     r"binary_cross_entropy_with_logits: target shape \(4, 1\)"),
    ("binary_cross_entropy", _P, np.full((4, 3), 2.0, np.float32), {}, RuntimeError,
     r"binary_cross_entropy: all elements of target should be between 0 and 1, got 2\.0"),
    ("binary_cross_entropy", _P + 1, np.ones((4, 3), np.float32), {}, RuntimeError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1, got 1\.5"),
]


@pytest.mark.parametrize("name,x,t,kwargs,error,match", BAD_TARGETS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_TARGETS)])
def test_loss_rejects_bad_targets_naming_the_values(name, x, t, kwargs, error, match):
    ours = getattr(F, name)
    theirs = getattr(TF, name)
    if error is None:            # an allowed label (ignore_index): the value matches torch
        np.testing.assert_allclose(
            ours(cr.tensor(x), cr.tensor(t), **kwargs).item(),
            theirs(torch.from_numpy(x), torch.from_numpy(t), **kwargs).item(), rtol=1e-6)
        return
    with pytest.raises(error, match=match):
        ours(cr.tensor(x), cr.tensor(t), **kwargs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,target", [
    ("cross_entropy", np.zeros(0, np.int64)), ("nll_loss", np.zeros(0, np.int64)),
    ("mse_loss", np.zeros((0, 3), np.float32)), ("l1_loss", np.zeros((0, 3), np.float32)),
    ("binary_cross_entropy_with_logits", np.zeros((0, 3), np.float32)),
    ("binary_cross_entropy", np.zeros((0, 3), np.float32)),
])
def test_empty_batch_behaves_as_torch(name, target, reduction):
    """An empty batch: 'mean' is NaN (0 / 0, as torch documents), 'sum' 0, 'none' empty;
    the backward pass gives an empty gradient."""
    x = np.zeros((0, 3), np.float32)
    xc = cr.tensor(x, requires_grad=True)
    ours = getattr(F, name)(xc, cr.tensor(target), reduction=reduction)
    theirs = getattr(TF, name)(torch.from_numpy(x), torch.from_numpy(target),
                               reduction=reduction)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())
    ours.sum().backward()
    assert xc.grad is not None and tuple(xc.grad.shape) == (0, 3)
