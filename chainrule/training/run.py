"""A training run on disk: what ``chainrule train`` / ``evaluate`` / ``predict`` do.

A run directory holds::

    config.json          the TrainConfig of the run (how evaluate/predict/--resume rebuild it)
    data.json            class names, image size and the input standardisation (DataInfo)
    metrics.jsonl        one JSON object per step and per epoch (see Trainer)
    checkpoints/         last.ckpt (every epoch, and on Ctrl-C), best.ckpt (lowest val loss)
    results.json         the test-set figures at the end of training
    plots/               PNG figures (when matplotlib is installed)
    diagnosis.txt/.json  gradient-flow verdicts (``chainrule train --diagnose``)

Under ``mpiexec -n N`` every rank runs ``train_run``; they train data-parallel (see
``chainrule.training.parallel``) and only rank 0 writes the run directory, which must therefore
be readable by every rank for ``--resume`` (every rank reads the same checkpoint file).

Example:
    >>> result = train_run(TrainConfig(data="digits", epochs=1, out="runs/try"))
    >>> result["test"]["acc"]
"""
import json
import os
import tempfile
import time

import numpy as np

from .. import random as _random
from ..backends import blas
from ..errors import CheckpointError
from ..serialization import load
from ..tensor import Tensor
from ..utils.data import DataLoader
from .build import build_model, build_optimizer, build_scheduler
from . import parallel
from .callbacks import DiagnoseCallback, EarlyStopping, LRLogger, ModelCheckpoint
from .config import TrainConfig
from .data import DataInfo, load_splits, prepare_images
from .progress import Progress
from .trainer import Trainer, TrainingError, _brief, evaluate

__all__ = ["train_run", "load_run", "evaluate_run", "predict_images", "resolve_resume",
           "RunError"]


class RunError(ValueError):
    """A run directory or its files cannot be used (the message says which and why)."""


def _task(config):
    return "reconstruct" if config.model == "autoencoder" else "classify"


def default_run_dir(config):
    """``config.out``, else ``runs/<name>``, else ``runs/<model>-<data>-<timestamp>``."""
    if config.out:
        return config.out
    name = config.name or f"{config.model}-{config.data}-{time.strftime('%Y%m%d-%H%M%S')}"
    return os.path.join("runs", name)


def _writable_dir(path):
    """Create ``path`` if needed and check that files can be written in it."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except FileExistsError:
        raise RunError(f"run directory {path}: exists and is not a folder") from None
    except OSError as e:
        raise RunError(f"run directory {path}: cannot write there ({e.strerror or e})") from None


def _write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def _read_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise RunError(f"{path}: not found; is {os.path.dirname(path) or '.'} a run directory "
                       f"written by 'chainrule train'?") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: the {what} is not valid JSON ({e})") from None


def _loaders(config, splits, data_gen):
    train = DataLoader(splits.train, batch_size=config.batch_size, shuffle=True,
                       generator=data_gen, num_workers=config.workers)
    val = DataLoader(splits.val, batch_size=256) if len(splits.val) else None
    test = DataLoader(splits.test, batch_size=256)
    return train, val, test


def scaled_lr(config, world_size):
    """The learning rate for a job of ``world_size`` ranks under ``config.lr_scaling``."""
    factor = {"none": 1.0, "linear": float(world_size), "sqrt": world_size ** 0.5}
    return config.lr * factor[config.lr_scaling]


def build_trainer(config, splits, run_dir, progress=None, diagnose=False):
    """Model, optimizer, scheduler, loaders and a ``Trainer`` for ``config`` writing to
    ``run_dir``; returns ``(trainer, test_loader)``. Seeds everything from ``config.seed``.

    Under ``mpiexec`` with N > 1 ranks the training loader is sharded (``config.batch_size``
    per rank) and the learning rate scaled by ``config.lr_scaling``.
    """
    world = parallel.world_size()
    _random.manual_seed(config.seed)
    model = build_model(config, splits.info)
    data_gen = _random.Generator().manual_seed(config.seed + 1)
    train_loader, val_loader, test_loader = _loaders(config, splits, data_gen)
    if world > 1:
        train_loader = parallel.shard_train_loader(train_loader, config.seed + 1)
        config = config.replace(lr=scaled_lr(config, world))
    optimizer = build_optimizer(config, model.parameters())
    scheduler = build_scheduler(config, optimizer, len(train_loader))
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    if world == 1 or parallel.rank() == 0:
        os.makedirs(ckpt_dir, exist_ok=True)
    monitor = "val_loss" if val_loader is not None else "train_loss"
    callbacks = [LRLogger(), ModelCheckpoint(ckpt_dir, monitor=monitor)]
    if config.patience:
        callbacks.append(EarlyStopping(monitor, patience=config.patience))
    if diagnose:
        callbacks.append(DiagnoseCallback())
    task = _task(config)
    trainer = Trainer(model, optimizer, train_loader, val_loader, scheduler=scheduler, task=task,
                      num_classes=len(splits.info.classes) if task == "classify" else None,
                      topk=config.topk, grad_clip=config.grad_clip, callbacks=callbacks,
                      metrics_path=os.path.join(run_dir, "metrics.jsonl"),
                      progress=progress, data_generator=data_gen,
                      loss_fn=_loss_fn(config), sampler_seed=config.seed + 1)
    trainer.interrupt_path = os.path.join(ckpt_dir, "last.ckpt")
    trainer.extra = {"config": json.dumps(config.to_dict()),
                     "data": json.dumps(splits.info.to_dict())}
    return trainer, test_loader


def _loss_fn(config):
    if config.model == "autoencoder" or not config.label_smoothing:
        return None
    from ..nn import functional as F
    return lambda out, y: F.cross_entropy(out, y, label_smoothing=config.label_smoothing)


def resolve_resume(path):
    """``(checkpoint file, run directory)`` for ``--resume PATH`` (a run directory or a
    checkpoint file)."""
    if os.path.isdir(path):
        ckpt = os.path.join(path, "checkpoints", "last.ckpt")
        if not os.path.isfile(ckpt):
            raise RunError(f"--resume {path}: no checkpoints/last.ckpt in that folder (is it a "
                           f"run directory of 'chainrule train'?)")
        return ckpt, path
    if not os.path.exists(path):
        raise FileNotFoundError(f"--resume {path}: no such file or folder")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.basename(folder) == "checkpoints":
        folder = os.path.dirname(folder)
    return path, folder


# settings that decide the model's shape or the data; a resumed run cannot change them
_FIXED_ON_RESUME = ("model", "data", "data_dir", "classes", "image_size", "seed",
                    "val_fraction", "limit_train")


# settings that fix the length of a learning-rate schedule (one-cycle, cosine, step) built for
# epochs x batches steps; with --scheduler none they may change on resume
_SCHEDULE_LENGTH = ("epochs", "batch_size", "scheduler")


def _check_overrides(config, overrides, path):
    for name in _FIXED_ON_RESUME:
        if name in overrides and overrides[name] != getattr(config, name):
            raise RunError(f"--resume {path}: the run was trained with --{name.replace('_', '-')}"
                           f" {getattr(config, name)!r}; it cannot change to "
                           f"{overrides[name]!r} (start a new run instead)")
    if config.scheduler == "none" and overrides.get("scheduler", "none") == "none":
        return
    for name in _SCHEDULE_LENGTH:
        if name in overrides and overrides[name] != getattr(config, name):
            raise RunError(f"--resume {path}: --{name.replace('_', '-')} {overrides[name]!r} "
                           f"would change the {config.scheduler!r} learning-rate schedule the "
                           f"run was started with (--{name.replace('_', '-')} "
                           f"{getattr(config, name)!r}); start a new run, or train with "
                           f"--scheduler none to extend runs")


def checkpoint_config(state, path):
    """The TrainConfig stored in a training checkpoint read from ``path``."""
    extra = state.get("extra") if isinstance(state, dict) else None
    if not isinstance(extra, dict) or not isinstance(extra.get("config"), str):
        raise CheckpointError(path, "not a checkpoint of 'chainrule train' (it holds no run "
                                    "config)")
    try:
        return TrainConfig.from_dict(json.loads(extra["config"]))
    except (TypeError, ValueError) as e:
        raise CheckpointError(path, f"the run config it holds is invalid ({_brief(e)})") \
            from None


def train_run(config, resume=None, overrides=None, progress=None, log=print,
              stop_after_steps=None, diagnose=False):
    """Train as ``config`` says (or continue the run saved at ``resume``) and evaluate on the
    test set; writes the run directory described in the module docstring.

    Args:
        config: a ``TrainConfig`` (ignored when ``resume`` is given, except ``overrides``).
        resume: a run directory or checkpoint file to continue; its stored config is used,
            updated with ``overrides``.
        overrides: settings to change on resume (``{'epochs': 10}``).
        progress: a ``Progress``; log: prints the closing lines.
        stop_after_steps: stop (and checkpoint) after this many optimizer steps in all.
        diagnose: record gradient-flow diagnostics; the report is printed and written to
            ``diagnosis.txt`` / ``diagnosis.json`` in the run directory.

    Under ``mpiexec -n N`` (N > 1) call it on every rank: rank 0 alone prints and writes the run
    directory; the others return the same ``history`` and ``test`` figures.

    Returns:
        dict: ``run_dir``, ``history`` (epoch records), ``test`` (loss, acc, ... on the test
        set; None when stopped early), ``plots`` (paths), ``seconds``, ``world_size``,
        ``global_batch_size`` and ``diagnosis`` (a ``DiagnosisReport`` or None).
    """
    world = parallel.world_size()
    main = world == 1 or parallel.rank() == 0
    if not main:
        log = _silent
    started = time.perf_counter()
    state = None
    if resume is not None:
        ckpt, run_dir = resolve_resume(resume)
        state = load(ckpt)
        config = checkpoint_config(state, ckpt)
        _check_overrides(config, overrides or {}, ckpt)
        if overrides:
            config = config.replace(**overrides)
        run_dir = config.out = (overrides or {}).get("out") or run_dir
    else:
        run_dir = config.out = default_run_dir(config)
        _refuse_old_run(run_dir)
    config.validate()
    if main:
        _writable_dir(run_dir)
    if world > 1:
        parallel.barrier()       # every rank checked the folder before rank 0 writes in it
    splits = load_splits(config)
    trainer, test_loader = build_trainer(config, splits, run_dir, progress, diagnose)
    if state is not None:
        try:
            trainer.load_state_dict(state)
        except CheckpointError as e:
            raise CheckpointError(ckpt, e.reason) from None
        trainer.log(f"resuming {ckpt} at epoch {trainer.epoch}, step {trainer.step}")
    else:
        trainer.log(f"training {config.model} on {config.data}: {splits.info.sizes['train']} "
                    f"train / {splits.info.sizes['val']} validation / "
                    f"{splits.info.sizes['test']} test images, {config.epochs} epochs")
    blas.log_override_note(trainer.log)      # a forced OpenBLAS core can halve GEMM speed
    if world > 1:
        trainer.log(_parallel_line(config, trainer))
    if main:
        _write_json(os.path.join(run_dir, "config.json"), config.to_dict())
        _write_json(os.path.join(run_dir, "data.json"), splits.info.to_dict())
    try:
        history = trainer.fit(config.epochs, stop_after_steps=stop_after_steps)
    except TrainingError:
        _diagnosis(trainer, run_dir, main, log, failed=True)   # most useful when it diverged
        raise
    result = {"run_dir": run_dir, "history": history, "test": None, "plots": {},
              "world_size": world, "global_batch_size": trainer.global_batch_size,
              "diagnosis": _diagnosis(trainer, run_dir, main, log)}
    if trainer.epoch < config.epochs and not trainer.stop_training:
        result["seconds"] = time.perf_counter() - started
        log(f"stopped after step {trainer.step}; continue with: chainrule train --resume "
            f"{run_dir}")
        _finish(world)
        return result
    test = trainer.evaluate(test_loader)
    if config.model == "autoencoder":
        test["mean_image_loss"] = _mean_image_mse(splits)
    result["test"] = test
    if main:
        _write_json(os.path.join(run_dir, "results.json"), _jsonable(test, splits.info))
        if config.plots:
            result["plots"] = _write_plots(config, trainer, splits, test, run_dir, log)
    result["seconds"] = time.perf_counter() - started
    _closing_lines(result, config, log)
    _finish(world)
    return result


def _silent(*args, **kwargs):
    pass


def _finish(world):
    if world > 1:
        parallel.barrier()       # the job ends once rank 0 has written everything


def _parallel_line(config, trainer):
    world, per_rank = trainer.world_size, config.batch_size
    lr = scaled_lr(config, world)
    if config.lr_scaling == "none":
        rule = "--lr-scaling none: the lr as given"
    else:
        rule = f"--lr-scaling {config.lr_scaling}: --lr {config.lr:g} scaled for {world} ranks"
    return (f"data-parallel over {world} MPI ranks: batch {per_rank} per rank, global batch "
            f"{trainer.global_batch_size}; lr {lr:g} ({rule})")


def _diagnosis(trainer, run_dir, main, log, failed=False):
    diag = next((cb for cb in trainer.callbacks if isinstance(cb, DiagnoseCallback)), None)
    if diag is None or diag.diagnostics is None:
        return None
    if failed:             # the step that stopped training had a non-finite loss or gradient
        diag.diagnostics.record_loss(float("nan"))
    if not main:
        return diag.report()
    report = diag.write(run_dir)
    if report is not None:
        log(str(report))
        log(f"diagnosis written to {os.path.join(run_dir, 'diagnosis.txt')} and diagnosis.json")
    return report


def _refuse_old_run(run_dir):
    """A new run must not mix its log and checkpoints with an earlier run's."""
    for name in ("metrics.jsonl", os.path.join("checkpoints", "last.ckpt")):
        if os.path.exists(os.path.join(run_dir, name)):
            raise RunError(f"run directory {run_dir} already holds a run ({name}); continue it "
                           f"with --resume {run_dir}, or choose another --out")


def _mean_image_mse(splits):
    """Test MSE of always predicting the training set's mean image (the baseline)."""
    train = splits.train.tensors[0].data
    test = splits.test.tensors[0].data
    return float(np.mean((test - train.mean(axis=0, keepdims=True)) ** 2))


def _jsonable(result, info):
    out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
    out["classes"] = list(info.classes)
    return out


def _write_plots(config, trainer, splits, test, run_dir, log):
    from . import plots
    try:
        return plots.write_run_plots(os.path.join(run_dir, "plots"), trainer.module,
                                     trainer.history, splits, test, config.model)
    except ImportError as e:
        log(f"plots skipped: {e}")
        return {}


def _closing_lines(result, config, log):
    test, run_dir = result["test"], result["run_dir"]
    if "acc" in test:
        figures = f"test accuracy {100 * test['acc']:.2f} %  (top-{config.topk} " \
                  f"{100 * test[f'top{config.topk}']:.2f} %), test loss {test['loss']:.4f}"
    else:
        figures = f"test MSE {test['loss']:.5f} (predicting the mean image: " \
                  f"{test['mean_image_loss']:.5f})"
    log(f"{figures}  [{result['seconds']:.1f} s]")
    files = "config.json  data.json  metrics.jsonl  results.json  checkpoints/last.ckpt"
    if result.get("diagnosis") is not None:
        files += "  diagnosis.txt"
    if result["plots"]:
        files += f"  plots/ ({len(result['plots'])} PNG)"
    log(f"run directory: {run_dir}")
    log(f"  {files}")


# ------------------------------------------------------------------------- saved runs
def load_run(run_dir, checkpoint="last"):
    """``(config, info, model)`` of a saved run, with the weights of ``checkpoint`` (``'last'``,
    ``'best'`` or a file path), in eval mode."""
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run directory {run_dir}: no such folder")
    config = _config_from(os.path.join(run_dir, "config.json"))
    info_path = os.path.join(run_dir, "data.json")
    try:
        info = DataInfo.from_dict(_read_json(info_path, "data description"))
    except TypeError as e:
        raise RunError(f"{info_path}: unexpected content ({e})") from None
    path = checkpoint_path(run_dir, checkpoint)
    state = load(path)
    weights = state.get("model") if isinstance(state, dict) and "format" in state else state
    _random.manual_seed(config.seed)
    model = build_model(config, info)
    try:
        model.load_state_dict(weights)
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        raise CheckpointError(path, f"does not match the run's {config.model} model: "
                                    f"{_brief(e)}") from None
    model.eval()
    return config, info, model


def checkpoint_path(run_dir, checkpoint):
    """The file of ``checkpoint`` (``'last'``, ``'best'`` or a file path) of a run directory;
    FileNotFoundError when it does not exist."""
    path = checkpoint if checkpoint not in ("last", "best") else \
        os.path.join(run_dir, "checkpoints", f"{checkpoint}.ckpt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path}: no such file")
    return path


def _config_from(path, config_class=TrainConfig):
    values = _read_json(path, "run config")
    try:
        return config_class.from_dict(values)
    except (TypeError, ValueError) as e:
        raise RunError(f"{path}: {e}") from None


def evaluate_run(run_dir, checkpoint="last", batch_size=256, data_dir=None):
    """Test-set figures of a saved run: ``(config, info, result)`` where ``result`` has
    ``loss``, ``acc``, ``top<k>`` and ``confusion`` (classifiers) as ``Trainer.evaluate``."""
    config, info, model = load_run(run_dir, checkpoint)
    if data_dir:
        config = config.replace(data_dir=data_dir)
    splits = load_splits(config)
    if splits.info.classes != info.classes:
        raise RunError(f"the data now has classes {splits.info.classes}, the run was trained "
                       f"on {info.classes}")
    loader = DataLoader(splits.test, batch_size=batch_size)
    task = _task(config)
    result = evaluate(model, loader, task, len(info.classes) if task == "classify" else None,
                      config.topk, _loss_fn(config))
    if task == "reconstruct":
        result["mean_image_loss"] = _mean_image_mse(splits)
    return config, info, result


def read_image(path, info):
    """One image file as ``(C, H, W)`` float32 in [0, 1], converted to the run's channels and
    size (Pillow)."""
    from ..datasets.image_folder import _pil
    Image = _pil()
    try:
        with Image.open(path) as img:
            img = img.convert("L" if info.in_channels == 1 else "RGB")
            img = img.resize((info.image_size, info.image_size), Image.BILINEAR)
            array = np.asarray(img, dtype=np.float32) / np.float32(255)
    except FileNotFoundError:
        raise FileNotFoundError(f"image {path}: no such file") from None
    except OSError as e:
        raise RunError(f"image {path}: cannot read it as an image ({e})") from None
    return array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)


def predict_images(run_dir, paths, topk=3, checkpoint="last"):
    """Top-k classes of each image file: a list of ``(path, [(class name, probability), ...])``.
    """
    config, info, model = load_run(run_dir, checkpoint)
    if config.model == "autoencoder":
        raise RunError(f"predict needs a classifier; {run_dir} trained an autoencoder")
    if topk < 1:
        raise RunError(f"--topk must be at least 1, got {topk}")
    images = np.stack([read_image(p, info) for p in paths])
    from .. import no_grad
    with no_grad():
        logits = model(Tensor._make(prepare_images(images, info))).data
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    k = min(topk, probs.shape[1])
    out = []
    for path, p in zip(paths, probs):
        order = np.argsort(-p, kind="stable")[:k]
        out.append((path, [(info.classes[i], float(p[i])) for i in order]))
    return out
