"""Callbacks: code the Trainer calls at fixed points of training.

Hooks (all optional): ``on_fit_start(trainer)``, ``on_epoch_start(trainer, epoch)``,
``on_backward_end(trainer, loss)`` (after ``backward``, before the optimizer step),
``on_batch_end(trainer, step, loss)``, ``on_epoch_end(trainer, record)``,
``on_epoch_logged(trainer, record)`` and ``on_fit_end(trainer)``. ``record`` is the epoch's
metrics dict; in ``on_epoch_end`` a callback may add keys to it before it is written to
``metrics.jsonl``, and ``on_epoch_logged`` runs after it was written (checkpoints are saved
there, so a checkpoint never precedes its epoch's log line). Setting
``trainer.stop_training = True`` ends training after the current epoch. A callback with state
implements ``state_dict`` / ``load_state_dict``, so that it is saved in checkpoints and resumes
exactly; one with ``stateful = False`` is left out of checkpoints (so adding or removing it does
not stop a run from resuming).
"""
import json
import math
import os

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "LRLogger", "DiagnoseCallback"]


class Callback:
    """Base class: every hook does nothing."""

    stateful = True         # saved in checkpoints (state_dict / load_state_dict)

    def on_fit_start(self, trainer):
        pass

    def on_backward_end(self, trainer, loss):
        pass

    def on_epoch_start(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, step, loss):
        pass

    def on_epoch_end(self, trainer, record):
        pass

    def on_epoch_logged(self, trainer, record):
        pass

    def on_fit_end(self, trainer):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Args:
        monitor: a key of the epoch record, e.g. ``'val_loss'`` or ``'val_acc'``.
        mode: ``'min'`` (lower is better) or ``'max'``.
        patience: epochs without improvement before stopping (≥ 1).
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(self, monitor="val_loss", mode="min", patience=3, min_delta=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if patience < 1:
            raise ValueError(f"EarlyStopping: patience must be at least 1, got {patience}")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best, self.bad_epochs, self.stopped_epoch = None, 0, None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, record):
        value = record.get(self.monitor)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if self._improved(value):
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped_epoch = record["epoch"]
            trainer.stop_training = True
            trainer.log(f"early stopping: {self.monitor} has not improved for "
                        f"{self.patience} epoch(s) (best {self.best:.4f})")

    def state_dict(self):
        return {"best": self.best, "bad_epochs": self.bad_epochs,
                "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state):
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        self.stopped_epoch = state["stopped_epoch"]


class ModelCheckpoint(Callback):
    """Write a full checkpoint (``trainer.save_checkpoint``) after every epoch.

    Files in ``folder``: ``last.ckpt`` (always the newest, what ``--resume`` reads) and, when
    ``monitor`` improves, ``best.ckpt``; with ``keep_every=True`` also ``epoch-<n>.ckpt``.
    Checkpoints are written atomically by ``chainrule.save``.

    Args:
        folder: where checkpoints go (created if needed).
        monitor, mode: which record key decides the best checkpoint (``None``: no best file).
        keep_every: keep one file per epoch as well.
    """

    def __init__(self, folder, monitor="val_loss", mode="min", keep_every=False):
        self.folder, self.monitor, self.mode, self.keep_every = folder, monitor, mode, keep_every
        self.best = None

    @property
    def last_path(self):
        return os.path.join(self.folder, "last.ckpt")

    @property
    def best_path(self):
        return os.path.join(self.folder, "best.ckpt")

    def on_epoch_logged(self, trainer, record):
        os.makedirs(self.folder, exist_ok=True)
        value = record.get(self.monitor) if self.monitor else None
        better = value is not None and not (isinstance(value, float) and math.isnan(value)) and (
            self.best is None or (value < self.best if self.mode == "min" else value > self.best))
        if better:
            self.best = value
        # the state saved includes self.best, so update it first
        trainer.save_checkpoint(self.last_path)
        if better:
            trainer.save_checkpoint(self.best_path)
        if self.keep_every:
            trainer.save_checkpoint(os.path.join(self.folder, f"epoch-{record['epoch']}.ckpt"))

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]


class LRLogger(Callback):
    """Add the learning rate of each param group to the epoch record (``lr``, or ``lr_<i>``)."""

    def on_epoch_end(self, trainer, record):
        lrs = [group["lr"] for group in trainer.optimizer.param_groups]
        if len(lrs) == 1:
            record["lr"] = lrs[0]
        else:
            record.update({f"lr_{i}": lr for i, lr in enumerate(lrs)})


class DiagnoseCallback(Callback):
    """Gradient-flow diagnostics during training (``chainrule train --diagnose``).

    Attaches ``chainrule.diagnose.Diagnostics`` to the trainer's model (the plain model inside a
    data-parallel wrapper) and feeds it every step: the loss and the gradients after backward
    (under MPI these are already averaged over the ranks), the weights after the optimizer
    step. Not saved in checkpoints: after ``--resume`` it records from the resumed step on.

    Args:
        thresholds: overrides for ``chainrule.diagnose.THRESHOLDS``.
    """

    stateful = False

    def __init__(self, thresholds=None):
        self.thresholds, self.diagnostics = thresholds, None

    def on_fit_start(self, trainer):
        if self.diagnostics is None:
            from ..diagnose import Diagnostics
            self.diagnostics = Diagnostics(trainer.module, trainer.optimizer, self.thresholds)

    def on_backward_end(self, trainer, loss):
        self.diagnostics.on_backward(loss)

    def on_batch_end(self, trainer, step, loss):
        self.diagnostics.on_step()

    def report(self):
        """The ``DiagnosisReport`` of the steps recorded so far (None before training)."""
        return None if self.diagnostics is None else self.diagnostics.report()

    def write(self, folder):
        """Write ``diagnosis.txt`` and ``diagnosis.json`` into ``folder``; returns the report."""
        report = self.report()
        if report is None:
            return None
        with open(os.path.join(folder, "diagnosis.txt"), "w", encoding="utf-8") as f:
            f.write(str(report) + "\n")
        data = {"ok": report.ok, "steps": report.steps,
                "verdicts": [{"kind": v.kind, "message": v.message, "fix": v.fix,
                              "layer": v.layer, "value": v.value} for v in report.verdicts],
                "layers": report.layers}
        tmp = os.path.join(folder, "diagnosis.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, default=float)
            f.write("\n")
        os.replace(tmp, os.path.join(folder, "diagnosis.json"))
        return report
