"""The training loop: ``Trainer.fit`` and ``evaluate``.

One step is forward -> loss -> backward -> (gradient clipping) -> optimizer step -> scheduler
step. After each epoch the model is evaluated on the validation loader, the epoch's metrics are
appended to a JSON-lines log and callbacks run (``ModelCheckpoint`` writes a full checkpoint).

A checkpoint holds everything the rest of the run depends on: the model, optimizer and scheduler
state, chainrule's default RNG (dropout, random transforms) and the data-order generator, the
position in the data (epochs and batches done, the loader's shuffle state), the partial epoch's
running sums, the history and the callbacks' state. ``load_checkpoint`` followed by ``fit``
continues bit-identically: the losses are the same, to the last bit, as an uninterrupted run.

Under ``mpiexec`` with more than one process the Trainer trains data-parallel (see
``chainrule.training.parallel``): the model is wrapped in ``DistributedDataParallel``, the training
set is sharded by a ``DistributedSampler``, every step's loss is the mean over all ranks (a
non-finite loss on any rank stops every rank, naming it), validation is sharded and summed over
the ranks, and only rank 0 writes the log and checkpoints. A checkpoint written under MPI holds
the plain model's weights (no ``module.`` prefix) and loads on every rank.
"""
import json
import math
import os
import signal
import threading
import time

import numpy as np

from .. import random as _random
from ..autograd import no_grad
from ..errors import CheckpointError
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_, get_total_norm
from ..serialization import load, save
from .callbacks import Callback
from .metrics import ClassificationMeter
from . import parallel
from .progress import Progress

__all__ = ["Trainer", "TrainingError", "evaluate", "MetricsLog", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "chainrule-training-1"


class TrainingError(RuntimeError):
    """Training cannot go on (a non-finite loss or gradient); the message says where."""


class MetricsLog:
    """Append-only JSON-lines file: one object per line (``{"event": "step" | "epoch" | ...}``).

    Floats are written with ``repr``, so they read back to the same bits.
    """

    def __init__(self, path):
        self.path = path

    def write(self, record):
        if self.path is None:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def read(self):
        if self.path is None or not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def truncate_after(self, step):
        """Drop training records past global ``step`` (written after the checkpoint resumed)."""
        if self.path is None or not os.path.exists(self.path):
            return
        keep = [r for r in self.read() if r.get("event") not in ("step", "epoch")
                or r.get("step", 0) <= step]
        with open(self.path, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in keep)


def _brief(error, limit=240):
    """An exception's message on one line, shortened to about ``limit`` characters."""
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _is_classifier(task):
    return task == "classify"


def evaluate(model, loader, task="classify", num_classes=None, topk=3, loss_fn=None):
    """Evaluate ``model`` on every batch of ``loader`` in eval mode, without gradients.

    Returns:
        dict: ``loss`` (mean per sample) and, for a classifier, ``acc``, ``top<k>`` and
        ``confusion`` (``(C, C)`` int64 NumPy array, rows = true class).
    """
    return _meter_result(_evaluate_meter(model, loader, task, num_classes, topk, loss_fn))


def _meter_result(meter):
    result = meter.summary()
    if meter.confusion is not None:
        result["confusion"] = meter.confusion
    return result


def _evaluate_meter(model, loader, task, num_classes, topk, loss_fn):
    if loss_fn is None:
        loss_fn = F.cross_entropy if _is_classifier(task) else F.mse_loss
    meter = ClassificationMeter(num_classes if _is_classifier(task) else None, topk)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for x, y in loader:
                out = model(x)
                target = y if _is_classifier(task) else x
                loss = float(loss_fn(out, target).item())
                meter.update(loss, out.data if _is_classifier(task) else None, y.data,
                             n=len(x))
    finally:
        model.train(was_training)
    return meter


class Trainer:
    """Train a model with an optimizer on a DataLoader, with validation, checkpoints and logs.

    Args:
        model: the ``nn.Module`` to train.
        optimizer: a ``chainrule.optim`` optimizer over ``model.parameters()``.
        train_loader: a ``DataLoader`` of ``(inputs, targets)`` batches.
        val_loader: evaluated after every epoch (None: no validation).
        loss_fn: ``loss_fn(output, target)``; default cross-entropy (``task='classify'``) or
            mean squared error against the input (``task='reconstruct'``, an autoencoder).
        scheduler: a learning-rate scheduler, stepped after every batch
            (``scheduler_interval='step'``) or every epoch (``'epoch'``).
        task: ``'classify'`` or ``'reconstruct'``.
        num_classes: classes of the classifier (for accuracy and the confusion matrix).
        topk: the k of the top-k accuracy.
        grad_clip: clip the global gradient norm to this value (0 or None: no clipping).
        callbacks: ``Callback`` objects (see ``chainrule.training.callbacks``).
        metrics_path: the JSON-lines metrics log (None: no log).
        progress: a ``Progress`` (default: bar on a terminal, plain lines otherwise).
        data_generator: the ``chainrule.Generator`` that shuffles ``train_loader``; its state
            is saved in checkpoints (the default generator always is).
        log_steps: log every step's loss to ``metrics_path``, not only epoch summaries.
        distributed: ``None`` (default): train data-parallel when launched by ``mpiexec`` with
            more than one process (see the module docstring); ``False``: never.
        sampler_seed: under MPI, the ``DistributedSampler`` shuffles with ``sampler_seed +
            epoch`` (the same on every rank).

    Example:
        >>> trainer = Trainer(model, optim.Adam(model.parameters()), train_loader, val_loader,
        ...                   num_classes=10, callbacks=[ModelCheckpoint("ckpt")])
        >>> history = trainer.fit(epochs=5)
    """

    def __init__(self, model, optimizer, train_loader, val_loader=None, loss_fn=None,
                 scheduler=None, scheduler_interval="step", task="classify", num_classes=None,
                 topk=3, grad_clip=0.0, callbacks=(), metrics_path=None, progress=None,
                 data_generator=None, log_steps=True, distributed=None, sampler_seed=0):
        if task not in ("classify", "reconstruct"):
            raise ValueError(f"Trainer: task must be 'classify' or 'reconstruct', got {task!r}")
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(f"Trainer: scheduler_interval must be 'step' or 'epoch', got "
                             f"{scheduler_interval!r}")
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback instances, got "
                                f"{type(cb).__name__}")
        self.world_size = 1 if distributed is False else parallel.world_size()
        self.rank = 0 if self.world_size == 1 else parallel.rank()
        self.is_main = self.rank == 0
        if self.world_size > 1:
            from ..distributed import DistributedDataParallel
            if not isinstance(model, DistributedDataParallel):
                model = DistributedDataParallel(model)
            train_loader = parallel.shard_train_loader(train_loader, sampler_seed)
            if not self.is_main:
                metrics_path, progress = None, Progress(quiet=True)
        self.model, self.optimizer = model, optimizer
        self.train_loader, self.val_loader = train_loader, val_loader
        self.task, self.num_classes, self.topk = task, num_classes, topk
        if loss_fn is None:
            loss_fn = F.cross_entropy if _is_classifier(task) else F.mse_loss
        self.loss_fn, self.scheduler, self.scheduler_interval = loss_fn, scheduler, \
            scheduler_interval
        self.grad_clip = grad_clip or 0.0
        self.callbacks = list(callbacks)
        self.metrics = MetricsLog(metrics_path)
        self.progress = progress if progress is not None else Progress()
        self.data_generator, self.log_steps = data_generator, log_steps
        self.epoch = 0             # epochs completed
        self.batches_done = 0      # batches of the current (unfinished) epoch
        self.step = 0              # optimizer steps taken in all
        self.history = []          # one record per completed epoch
        self.stop_training = False
        self._meter_state = None   # running sums of the unfinished epoch (after a resume)
        self._loader_state = None
        self._interrupted = False
        self._agreed_interrupt = False
        self.interrupt_path = None  # where fit saves a checkpoint when interrupted
        self.extra = None           # saved in checkpoints as "extra" (e.g. the run's config)

    # ---------------------------------------------------------------------------- helpers
    def log(self, message):
        self.progress.log(message)

    @property
    def module(self):
        """The model being trained (inside the ``DistributedDataParallel`` wrapper under MPI)."""
        return parallel.unwrap(self.model)

    @property
    def global_batch_size(self):
        """Samples per optimizer step over all ranks (``batch_size x world_size``)."""
        return (self.train_loader.batch_size or 1) * self.world_size

    def _params(self):
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def _target(self, x, y):
        return y if _is_classifier(self.task) else x

    def _check_grads(self, epoch, batch):
        params = [p for p in self._params() if p.grad is not None]
        if self.grad_clip:
            norm = float(clip_grad_norm_(params, self.grad_clip).item())
        else:
            norm = float(get_total_norm([p.grad for p in params]).item())
        if math.isfinite(norm):
            return
        names = {id(p): n for n, p in self.module.named_parameters()}
        bad = next((names.get(id(p), "a parameter") for p in params
                    if not np.isfinite(p.grad.data).all()), "a parameter")
        where = "" if self.world_size == 1 else f" (averaged over {self.world_size} ranks)"
        raise TrainingError(f"non-finite gradient{where} (in {bad}) at step {self.step + 1} "
                            f"(epoch {epoch}, batch index {batch}); training stopped: try a "
                            f"lower --lr or gradient clipping")

    def train_step(self, x, y, epoch=0, batch=0):
        """One optimization step on a batch; returns ``(loss as a float, model output)``.

        Under MPI the loss returned is the mean over every rank's batch (the same on all ranks).
        """
        out = self.model(x)
        loss = self.loss_fn(out, self._target(x, y))
        value = float(loss.item())
        bad = [] if math.isfinite(value) else [self.rank]
        if self.world_size > 1:
            # every rank learns whether any rank was interrupted, so all stop at this step
            value, bad, self._agreed_interrupt = parallel.gather_step(value, len(x),
                                                                      self._interrupted)
        if bad:
            where = "" if self.world_size == 1 else f" on rank(s) {bad} of {self.world_size}"
            raise TrainingError(f"non-finite loss{where} ({value}) at step {self.step + 1} "
                                f"(epoch {epoch}, batch index {batch}); training stopped: try a "
                                f"lower --lr or gradient clipping")
        self.optimizer.zero_grad()
        loss.backward()
        self._check_grads(epoch, batch)
        self._call("on_backward_end", value)
        self.optimizer.step()
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        return value, out

    def evaluate(self, loader):
        """``evaluate`` (module function) with this trainer's model, task and loss.

        Under MPI every rank evaluates its contiguous slice of the data and the sums are added
        over the ranks, so every rank gets the figures of the whole set.
        """
        if self.world_size == 1:
            return evaluate(self.model, loader, self.task, self.num_classes, self.topk,
                            self.loss_fn)
        meter = _evaluate_meter(self.module, parallel.shard_eval_loader(loader), self.task,
                                self.num_classes, self.topk, self.loss_fn)
        return _meter_result(parallel.all_reduce_meter(meter))

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    # ---------------------------------------------------------------------------- the loop
    def fit(self, epochs, handle_interrupt=True, stop_after_steps=None, stop_after_epochs=None):
        """Train until ``epochs`` epochs are complete (counting those before a resume).

        Args:
            epochs: the total number of epochs.
            handle_interrupt: on Ctrl-C (SIGINT) finish the current step, save a checkpoint
                to ``self.interrupt_path`` (when set) and raise KeyboardInterrupt; a second
                Ctrl-C stops at once.
            stop_after_steps: stop (as if interrupted, but without raising) once this many
                optimizer steps are done in all; the checkpoint then resumes mid-epoch.
            stop_after_epochs: stop once this many epochs are complete, although the
                schedule was planned for ``epochs`` (a later ``fit`` continues).

        Returns:
            list: the epoch records (``history``).

        Raises:
            ValueError: the training set is empty ("dataset is empty").
            TrainingError: a non-finite loss or gradient.
        """
        try:
            n_batches = len(self.train_loader)
        except TypeError:
            n_batches = None
        try:
            empty = n_batches == 0 or len(self.train_loader.dataset) == 0
        except (TypeError, AttributeError):
            empty = False
        if empty:
            raise ValueError("dataset is empty: the training set has no batches")
        previous = None
        in_main = threading.current_thread() is threading.main_thread()
        if handle_interrupt and in_main:
            previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            self._call("on_fit_start")
            if self.step == 0 and self.epoch == 0:
                self.metrics.write({"event": "start", "step": 0, "time": time.time(),
                                    "world_size": self.world_size,
                                    "global_batch_size": self.global_batch_size})
            last = epochs if stop_after_epochs is None else min(epochs, stop_after_epochs)
            while self.epoch < last and not self.stop_training:
                if not self._run_epoch(epochs, n_batches, stop_after_steps):
                    return self.history
            self._call("on_fit_end")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.progress.close()
        return self.history

    def _on_sigint(self, signum, frame):
        if self._interrupted:            # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self._interrupted = True

    def _run_epoch(self, epochs, n_batches, stop_after_steps):
        epoch = self.epoch + 1
        self.model.train()
        meter = ClassificationMeter(self.num_classes if _is_classifier(self.task) else None,
                                    self.topk)
        if self._meter_state is not None:
            meter.load_state_dict(self._meter_state)
            self._meter_state = None
        if parallel.is_distributed_sampler(self.train_loader):
            self.train_loader.sampler.set_epoch(self.epoch)     # a new shuffle each epoch
        if self._loader_state is not None:
            self.train_loader.load_state_dict(self._loader_state)
            self._loader_state = None
        self._call("on_epoch_start", epoch)
        self.progress.start_epoch(epoch, epochs, n_batches or 0, self.batches_done)
        started = time.perf_counter()
        for x, y in self.train_loader:
            batch = self.batches_done
            value, out = self.train_step(x, y, epoch, batch)
            meter.update(value, out.data if _is_classifier(self.task) else None, y.data,
                         n=len(x))
            self.step += 1
            self.batches_done += 1
            if self.log_steps:
                self.metrics.write({"event": "step", "epoch": epoch, "batch": batch,
                                    "step": self.step, "loss": value})
            running = meter.summary()
            self.progress.update(self.batches_done, running["loss"], running.get("acc"))
            self._call("on_batch_end", self.step, value)
            interrupted = self._agreed_interrupt if self.world_size > 1 else self._interrupted
            if interrupted or (stop_after_steps and self.step >= stop_after_steps):
                if self.world_size > 1:     # the checkpoint holds the sums of every rank
                    meter = parallel.all_reduce_meter(meter)
                self._partial_meter = meter.state_dict()
                self._partial_loader = self.train_loader.state_dict()
                self.progress.close()
                if self.interrupt_path:
                    self.save_checkpoint(self.interrupt_path)
                if interrupted:
                    raise KeyboardInterrupt
                return False
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            self.scheduler.step()
        if self.world_size > 1:
            meter = parallel.all_reduce_meter(meter)
        record = {"event": "epoch", "epoch": epoch, "step": self.step}
        record.update({f"train_{k}": v for k, v in meter.summary().items()})
        if self.val_loader is not None:
            val = self.evaluate(self.val_loader)
            record.update({f"val_{k}": v for k, v in val.items() if k != "confusion"})
        record["seconds"] = round(time.perf_counter() - started, 3)
        self.epoch, self.batches_done = epoch, 0
        self._call("on_epoch_end", record)
        self.history.append(record)
        self.metrics.write(record)
        self.progress.end_epoch(self._describe(record, epochs))
        self._call("on_epoch_logged", record)
        return True

    def _describe(self, record, epochs):
        parts = [f"epoch {record['epoch']}/{epochs}", f"train loss {record['train_loss']:.4f}"]
        if "train_acc" in record:
            parts.append(f"acc {record['train_acc']:.4f}")
        if "val_loss" in record:
            parts.append(f"| val loss {record['val_loss']:.4f}")
        if "val_acc" in record:
            parts.append(f"acc {record['val_acc']:.4f}")
        return "  ".join(parts)

    # ---------------------------------------------------------------------------- checkpoints
    _partial_meter = None
    _partial_loader = None

    def state_dict(self):
        """Everything needed to continue this run exactly (see the module docstring)."""
        mid_epoch = self.batches_done > 0
        data_gen = self.data_generator
        return {
            "format": CHECKPOINT_FORMAT,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "rng": {"default": _random.get_rng_state(),
                    "data": None if data_gen is None else data_gen.get_state()},
            "position": {"epoch": self.epoch, "batches_done": self.batches_done,
                         "step": self.step},
            "loader": self._partial_loader if mid_epoch else None,
            "meter": self._partial_meter if mid_epoch else None,
            "history": [dict(r) for r in self.history],
            "callbacks": [cb.state_dict() for cb in self._stateful_callbacks()],
            "stop_training": self.stop_training,
            "extra": self.extra,
            "world_size": self.world_size,
        }

    def _stateful_callbacks(self):
        return [cb for cb in self.callbacks if getattr(cb, "stateful", True)]

    def load_state_dict(self, state):
        """Restore ``state_dict()``; the next ``fit`` continues where that run stopped."""
        if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError("not a chainrule training checkpoint (no "
                                  f"format {CHECKPOINT_FORMAT!r})")
        saved_world = state.get("world_size", 1)
        if saved_world != self.world_size:
            raise CheckpointError(f"the checkpoint was written by a job of {saved_world} "
                                  f"process(es) and this one has {self.world_size}: resume with "
                                  f"mpiexec -n {saved_world} (the data shards and the schedule "
                                  f"depend on it)")
        try:
            self.module.load_state_dict(state["model"])
        except (RuntimeError, KeyError, ValueError) as e:
            raise CheckpointError(f"the checkpoint does not match the model: "
                                  f"{_brief(e)}") from None
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                if state["scheduler"] is None:
                    raise ValueError("the checkpoint has no scheduler state")
                self.scheduler.load_state_dict(state["scheduler"])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise CheckpointError(f"the checkpoint's optimizer/scheduler state does not match: "
                                  f"{_brief(e)}") from None
        stateful = self._stateful_callbacks()
        if len(state["callbacks"]) != len(stateful):
            raise CheckpointError(f"the checkpoint has state for {len(state['callbacks'])} "
                                  f"callbacks, this trainer has {len(stateful)}")
        for cb, cb_state in zip(stateful, state["callbacks"]):
            cb.load_state_dict(cb_state)
        _random.set_rng_state(state["rng"]["default"])
        if self.data_generator is not None and state["rng"]["data"] is not None:
            self.data_generator.set_state(state["rng"]["data"])
        pos = state["position"]
        self.epoch, self.batches_done, self.step = pos["epoch"], pos["batches_done"], pos["step"]
        self.history = [dict(r) for r in state["history"]]
        self.stop_training = bool(state["stop_training"])
        self._meter_state = state["meter"]
        if not self.is_main and state["meter"] is not None:
            # rank 0's checkpoint holds the partial sums of every rank: count them once
            self._meter_state = ClassificationMeter(
                self.num_classes if _is_classifier(self.task) else None, self.topk).state_dict()
        self._loader_state = state["loader"]
        self._partial_meter, self._partial_loader = state["meter"], state["loader"]
        self.metrics.truncate_after(self.step)

    def save_checkpoint(self, path):
        """Write ``state_dict()`` to ``path`` with ``chainrule.save`` (atomically); under MPI
        only rank 0 writes (the state is the same on every rank)."""
        if self.is_main:
            save(self.state_dict(), path)

    def load_checkpoint(self, path):
        """Read a checkpoint written by ``save_checkpoint`` and ``load_state_dict`` it.

        Raises:
            CheckpointError: naming ``path`` and what is wrong (unreadable, not a training
                checkpoint, or not matching this trainer's model/optimizer/callbacks).
        """
        state = load(path)
        try:
            self.load_state_dict(state)
        except CheckpointError as e:
            raise CheckpointError(path, e.reason) from None
        return state

