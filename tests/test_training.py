"""chainrule.training: exact resume for every optimizer, stopping at non-finite values, empty data,
a short fit that learns, the autoencoder against its baseline, and the layer summary."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.training import Progress, TrainConfig, Trainer, TrainingError
from chainrule.training.run import train_run
from chainrule.training.summary import format_summary, model_summary
from chainrule.utils.data import DataLoader, TensorDataset

QUIET = dict(progress=Progress(quiet=True), log=lambda *_: None)


def _steps(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f]
    return [(r["step"], r["loss"]) for r in records if r["event"] == "step"]


def _untimed(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def _weights(run_dir):
    state = cr.load(os.path.join(run_dir, "checkpoints", "last.ckpt"))
    return {k: v.numpy() for k, v in state["model"].items()}


# MLP has dropout; shuffling is on in every run; each optimizer gets a scheduler.
RESUME_CASES = [
    dict(optimizer="sgd", lr=0.05, momentum=0.9, nesterov=False, scheduler="step"),
    dict(optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, scheduler="cosine"),
    dict(optimizer="adam", lr=3e-3, scheduler="onecycle"),
    dict(optimizer="adamw", lr=3e-3, weight_decay=0.05, scheduler="cosine"),
    dict(optimizer="rmsprop", lr=1e-3, momentum=0.5, scheduler="step"),
]


@pytest.mark.parametrize("case", RESUME_CASES, ids=lambda c: f"{c['optimizer']}-"
                         f"{c['scheduler']}{'-nesterov' if c.get('nesterov') else ''}")
def test_resume_is_bit_identical(tmp_path, case):
    base = TrainConfig(model="mlp", data="digits", epochs=2, batch_size=32, limit_train=320,
                       limit_test=100, plots=False, **case)
    full = train_run(base.replace(out=str(tmp_path / "full")), **QUIET)
    part = train_run(base.replace(out=str(tmp_path / "part")), stop_after_steps=13, **QUIET)
    assert part["test"] is None and len(_steps(tmp_path / "part")) == 13
    # the resume runs in a fresh interpreter: nothing but the checkpoint carries the state over
    code = ("import json, sys; from chainrule.training.run import train_run; "
            "from chainrule.training import Progress; "
            "r = train_run(None, resume=sys.argv[1], progress=Progress(quiet=True), "
            "log=lambda *a: None); print(json.dumps({'history': r['history'], "
            "'test_loss': r['test']['loss']}))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "part")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    resumed = json.loads(proc.stdout.strip().splitlines()[-1])
    a, b = _steps(tmp_path / "full"), _steps(tmp_path / "part")
    assert len(a) == 18 and [s for s, _ in a] == list(range(1, 19))
    assert a == b                                     # every loss, to the last bit
    assert _untimed(full["history"]) == _untimed(resumed["history"])
    assert full["test"]["loss"] == resumed["test_loss"]
    wa, wb = _weights(tmp_path / "full"), _weights(tmp_path / "part")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_resume_at_an_epoch_boundary_and_with_more_epochs(tmp_path):
    base = TrainConfig(model="mlp", data="digits", epochs=2, batch_size=64, limit_train=256,
                       scheduler="none", plots=False)
    train_run(base.replace(out=str(tmp_path / "full")), **QUIET)
    train_run(base.replace(out=str(tmp_path / "part")), stop_after_steps=4, **QUIET)  # 1 epoch
    train_run(None, resume=str(tmp_path / "part"), **QUIET)
    assert _steps(tmp_path / "full") == _steps(tmp_path / "part")
    # a finished run continues for more epochs when asked
    more = train_run(None, resume=str(tmp_path / "part"), overrides={"epochs": 3}, **QUIET)
    assert [r["epoch"] for r in more["history"]] == [1, 2, 3]
    assert len(_steps(tmp_path / "part")) == 12


def _tiny_trainer(x, y, loss_fn=None, batch_size=4):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 3))
    loader = DataLoader(TensorDataset(cr.tensor(x), cr.tensor(y)), batch_size=batch_size)
    return Trainer(model, cr.optim.SGD(model.parameters(), lr=0.1), loader, num_classes=3,
                   loss_fn=loss_fn, progress=Progress(quiet=True))


def test_stops_at_first_non_finite_loss_naming_step_and_batch():
    x = np.random.default_rng(0).normal(size=(24, 5)).astype(np.float32)
    x[13, 2] = np.nan                        # batch index 3 of epoch 1 (batch size 4)
    y = np.arange(24) % 3
    trainer = _tiny_trainer(x, y)
    with pytest.raises(TrainingError, match=r"non-finite loss \(nan\) at step 4 \(epoch 1, "
                                            r"batch index 3\)"):
        trainer.fit(2)
    assert trainer.step == 3                 # the bad batch made no update
    assert np.isfinite(trainer.model[0].weight.data).all()


def test_stops_at_non_finite_gradient():
    x = np.ones((8, 5), dtype=np.float32)
    y = np.zeros(8, dtype=np.int64)
    # sqrt at 0 is finite, its derivative is not
    trainer = _tiny_trainer(x, y, loss_fn=lambda out, t: cr.sqrt((out * 0).sum()))
    with pytest.raises(TrainingError, match=r"non-finite gradient \(in 0\.(weight|bias)\) at "
                                            r"step 1 \(epoch 1, batch index 0\)"):
        trainer.fit(1)


def test_empty_dataset_fails_clearly(tmp_path):
    trainer = _tiny_trainer(np.zeros((0, 5), np.float32), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="dataset is empty"):
        trainer.fit(1)
    folder = tmp_path / "images"
    for name in ("cat", "dog"):
        (folder / name).mkdir(parents=True)
    with pytest.raises(ValueError, match="dataset is empty"):
        train_run(TrainConfig(data="imagefolder", data_dir=str(folder),
                              out=str(tmp_path / "r"), plots=False), **QUIET)


def test_short_fit_learns_digits(tmp_path):
    result = train_run(TrainConfig(model="mlp", data="digits", epochs=3, batch_size=32,
                                   out=str(tmp_path / "r"), plots=False), **QUIET)
    assert result["test"]["acc"] > 0.85            # chance: 0.1
    assert result["history"][-1]["train_loss"] < result["history"][0]["train_loss"]
    saved = json.load(open(tmp_path / "r" / "results.json"))
    assert saved["acc"] == result["test"]["acc"]
    assert np.asarray(saved["confusion"]).sum() == 360       # the digits test split


def test_autoencoder_beats_mean_image(tmp_path):
    result = train_run(TrainConfig(model="autoencoder", data="digits", epochs=12,
                                   batch_size=32, lr=5e-3, out=str(tmp_path / "ae"),
                                   plots=False), **QUIET)
    test = result["test"]
    assert "acc" not in test and test["loss"] < 0.5 * test["mean_image_loss"]


def test_summary_counts_parameters_and_saved_memory():
    from chainrule.models import LeNet
    rows, totals = model_summary(LeNet(), (1, 1, 28, 28))
    assert totals["params"] == 120_382                     # as LeNet's docstring says
    assert [r.params for r in rows if r.params] == [416, 12_832, 96_120, 10_164, 850]
    assert rows[0].output_shape == (1, 16, 28, 28) and totals["output_shape"] == (1, 10)
    # the first convolution keeps its input image (784 float32) for backward
    assert rows[0].saved_bytes == 28 * 28 * 4
    # activations kept for backward grow linearly with the batch; weights are not counted
    _, t4 = model_summary(LeNet(), (4, 1, 28, 28))
    _, t8 = model_summary(LeNet(), (8, 1, 28, 28))
    assert t8["saved_bytes"] == 2 * t4["saved_bytes"]
    assert t4["saved_bytes"] < totals["param_bytes"]
    text = format_summary(rows, totals)
    assert "120,382" in text and "features.0" in text and "kept for backward" in text


def test_load_checkpoint_errors_name_the_file(tmp_path):
    from chainrule.errors import CheckpointError
    trainer = _tiny_trainer(np.zeros((8, 5), np.float32), np.zeros(8, np.int64))
    path = str(tmp_path / "weights.ckpt")
    cr.save({"format": "something-else"}, path)
    with pytest.raises(CheckpointError, match="not a chainrule training checkpoint") as info:
        trainer.load_checkpoint(path)
    assert info.value.path == path and path in str(info.value)
    trainer.save_checkpoint(path)
    other = _tiny_trainer(np.zeros((8, 5), np.float32), np.zeros(8, np.int64))
    other.callbacks.append(cr.training.EarlyStopping("train_loss"))
    with pytest.raises(CheckpointError, match="state for 0 callbacks") as info:
        other.load_checkpoint(path)
    assert info.value.path == path


def test_diagnose_callback_sees_every_step_and_is_not_checkpointed(tmp_path):
    from chainrule.training.callbacks import DiagnoseCallback
    diag = DiagnoseCallback()
    x = np.random.default_rng(0).standard_normal((32, 5)).astype(np.float32)
    trainer = _tiny_trainer(x, (x[:, 0] > 0).astype(np.int64))
    trainer.callbacks.append(diag)
    trainer.fit(2, handle_interrupt=False)
    report = diag.report()
    assert report.steps == trainer.step == len(diag.diagnostics.losses)
    assert len(diag.diagnostics.update_ratios[next(iter(diag.diagnostics.params))]) == \
        trainer.step
    assert trainer.state_dict()["callbacks"] == []          # stateful = False
    diag.write(str(tmp_path))
    saved = json.load(open(tmp_path / "diagnosis.json"))
    assert saved["steps"] == trainer.step and saved["ok"] == report.ok


def test_resume_refuses_to_stretch_a_fixed_length_schedule(tmp_path):
    from chainrule.training.run import RunError
    base = TrainConfig(model="mlp", data="digits", epochs=1, batch_size=64, limit_train=128,
                       scheduler="onecycle", plots=False, out=str(tmp_path / "run"))
    train_run(base, **QUIET)
    for change in ({"epochs": 2}, {"batch_size": 32}, {"scheduler": "cosine"}):
        with pytest.raises(RunError, match="learning-rate schedule"):
            train_run(None, resume=str(tmp_path / "run"), overrides=change, **QUIET)
