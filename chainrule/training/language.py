"""Train a character-level language model (``CharLSTM`` / ``CharTransformer``) on the bundled
Shakespeare text, and sample from a saved run.

Each step draws ``batch_size`` random windows of ``block_size + 1`` characters from the training
split (the first 90 % of the corpus), predicts every next character and takes one Adam step
(linear warm-up, then cosine decay to ``min_lr``, see ``learning_rate``; gradient norm
clipped). Every ``eval_interval`` steps the loss on a fixed set of validation windows is
measured in nats per character (a unigram model scores about 3.3 on this text) and a checkpoint
is written.

A run directory holds::

    config.json          the LanguageConfig of the run
    vocab.json           the characters of the vocabulary, in id order
    metrics.jsonl        one JSON object per logged step and per validation
    checkpoints/         last.ckpt (every validation), best.ckpt (lowest validation loss)
    samples.txt          text generated at the end of training
    plots/loss.png       training and validation loss per step (when matplotlib is installed)

Example:
    >>> result = train_language_model(LanguageConfig(model="char-lstm", steps=200,
    ...                                              out="runs/lstm"))
    >>> print(generate_from_run("runs/lstm", "ROMEO:", length=200, seed=0))
"""
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .. import optim
from .. import random as _random
from ..backends import blas
from ..autograd import no_grad
from ..datasets.text import CharDataset, CharVocab, load_shakespeare
from ..errors import CheckpointError
from ..models.language import CharLSTM, CharTransformer, count_parameters, generate
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..serialization import load, save
from .config import ConfigMethods
from .progress import Progress
from .run import (RunError, _config_from, _read_json, _writable_dir, _write_json,
                  checkpoint_path, default_run_dir)
from .trainer import MetricsLog, TrainingError

__all__ = ["LanguageConfig", "LANGUAGE_MODELS", "train_language_model", "load_language_run",
           "generate_from_run", "build_language_model", "learning_rate", "validation_loss"]

LANGUAGE_MODELS = {"char-transformer": CharTransformer, "char-lstm": CharLSTM}
CHECKPOINT_FORMAT = "chainrule-language-1"


@dataclass
class LanguageConfig(ConfigMethods):
    """The settings of one language-model run.

    The defaults train the 2-layer LSTM on the bundled Shakespeare for ten minutes (the time
    limit; the 8,000-step schedule is longer than two cores get through in that time, so the
    cosine decay follows the clock). Measured on two idle cores: validation loss below 1.7
    nats/char in the ten minutes; the transformer (``model='char-transformer'``, same settings)
    learns more slowly per second at this size and ends higher (figures in README.md).
    ``time_limit=0`` trains for exactly ``steps`` steps, the same on any machine.

    Attributes:
        model: ``'char-transformer'`` or ``'char-lstm'``. data: ``'shakespeare'`` (bundled; a
            folder in ``data_dir`` holding ``shakespeare.txt[.gz]`` replaces it) or ``'text'``
            (the UTF-8 file ``data_dir``).
        block_size: characters of context per training window (and the transformer's longest
            context). batch_size: windows per step.
        steps: optimizer steps (the schedule's length); time_limit: stop earlier after this
            many seconds of training (0: no limit), validating once more before stopping.
        lr, min_lr, warmup_steps: the peak rate, the floor of the cosine decay, the linear
            warm-up. weight_decay: Adam's (L2) weight decay. grad_clip: global norm (0: off).
        eval_interval: validate (and checkpoint) every this many steps; eval_windows: the
            number of validation windows (evenly spaced over the validation text).
        log_interval: write the running training loss to the log every this many steps.
        val_fraction: the share of the text (its end) held out for validation.
        model_args: keyword arguments of the model (e.g. ``{"d_model": 128, "n_layers": 4}``
            or ``{"hidden_size": 256}``); the rest keep the model's defaults.
        seed: seeds the initialisation and the order of the training windows.
        sample_length, sample_prompt: the text generated into ``samples.txt`` at the end.
        name, out: the run directory is ``out`` if given, else ``runs/<name>``, else
            ``runs/<model>-<data>-<time>``.
    """

    kind = "language-model"      # not a field: names the settings in error messages

    model: str = "char-lstm"
    data: str = "shakespeare"
    data_dir: str = ""
    block_size: int = 64
    batch_size: int = 32
    steps: int = 8000
    time_limit: float = 600.0
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 100
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_windows: int = 256
    log_interval: int = 10
    val_fraction: float = 0.1
    model_args: dict = field(default_factory=dict)
    seed: int = 0
    sample_length: int = 400
    sample_prompt: str = "ROMEO:"
    name: str = ""
    out: str = ""

    def validate(self):
        """Raise ValueError naming the first setting that is out of range."""
        if self.model not in LANGUAGE_MODELS:
            raise ValueError(f"--model must be one of {', '.join(LANGUAGE_MODELS)}; got "
                             f"{self.model!r}")
        if self.data not in ("shakespeare", "text"):
            raise ValueError(f"--data must be shakespeare or text; got {self.data!r}")
        if self.data == "text" and not self.data_dir:
            raise ValueError("--data text needs --data-dir (the text file to train on)")
        for name in ("block_size", "batch_size", "steps", "eval_interval", "eval_windows",
                     "log_interval"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1; got "
                                 f"{getattr(self, name)}")
        for name in ("warmup_steps", "weight_decay", "grad_clip", "time_limit", "min_lr",
                     "sample_length"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must not be negative; got "
                                 f"{getattr(self, name)}")
        if not 0 < self.lr < math.inf:
            raise ValueError(f"--lr must be a positive number; got {self.lr}")
        if not 0 < self.val_fraction < 1:
            raise ValueError(f"--val-fraction must be in (0, 1); got {self.val_fraction}")
        if not isinstance(self.model_args, dict):
            raise ValueError(f"model_args must be a dict of model settings; got "
                             f"{type(self.model_args).__name__}")
        return self


# ------------------------------------------------------------------------------- pieces
def _load_text(config):
    if config.data == "text":
        try:
            with open(config.data_dir, encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"--data text: no such file {config.data_dir}") from None
    return load_shakespeare(config.data_dir or None)


def _splits(text, config):
    """``(vocab, train CharDataset, val CharDataset)``: the vocabulary covers the whole text."""
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    cut = int(len(ids) * (1 - config.val_fraction))
    train, val = ids[:cut], ids[cut:]
    for name, part in (("training", train), ("validation", val)):
        if len(part) <= config.block_size:
            raise ValueError(f"the {name} text has {len(part)} characters, not more than "
                             f"block_size {config.block_size}: use a longer text, a smaller "
                             f"--block-size or another --val-fraction")
    return vocab, CharDataset(train, config.block_size, vocab), \
        CharDataset(val, config.block_size, vocab)


def build_language_model(config, vocab_size):
    """The model of ``config.model`` for ``vocab_size`` characters, seeded by ``config.seed``."""
    _random.manual_seed(config.seed)
    cls = LANGUAGE_MODELS[config.model]
    kwargs = dict(config.model_args)
    if cls is CharTransformer:
        kwargs.setdefault("block_size", config.block_size)
    try:
        return cls(vocab_size, **kwargs)
    except TypeError as e:
        raise ValueError(f"model_args for {config.model}: {e}") from None


def learning_rate(config, step, elapsed=0.0):
    """The rate for optimizer step ``step`` (0-based): linear warm-up over ``warmup_steps``,
    then cosine decay from ``lr`` to ``min_lr``.

    The decay follows the share of the run that is done: ``step / steps``, or, with a
    ``time_limit``, ``elapsed / time_limit`` when that is larger, so that a run stopped by its
    time limit still ends at ``min_lr`` however fast the machine is.
    """
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    done = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    if config.time_limit:
        done = max(done, elapsed / config.time_limit)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
    return config.min_lr + (config.lr - config.min_lr) * cosine


def _loss(model, x, y):
    logits = model(x)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _val_indices(dataset, n):
    """``n`` window indices evenly spread over ``dataset`` (the same every validation)."""
    return np.unique(np.linspace(0, len(dataset) - 1, num=min(n, len(dataset))).astype(np.int64))


def validation_loss(model, dataset, indices, batch_size):
    """Mean cross-entropy (nats per character) of ``model`` over the windows ``indices``."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with no_grad():
            for s in range(0, len(indices), batch_size):
                x, y = dataset._get_batch(indices[s:s + batch_size])
                total += float(_loss(model, x, y).item()) * y.numel()
                count += y.numel()
    finally:
        model.train(was_training)
    return total / count


def _checkpoint(model, optimizer, step, config, vocab, val_loss):
    return {"format": CHECKPOINT_FORMAT, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "step": step, "val_loss": val_loss,
            "extra": {"config": json.dumps(config.to_dict()),
                      "vocab": "".join(vocab.chars)}}


# ------------------------------------------------------------------------------- training
def train_language_model(config=None, progress=None, log=print, text=None, **settings):
    """Train a character-level language model as ``config`` says; writes the run directory
    described in the module docstring.

    Args:
        config: a ``LanguageConfig`` (default: its defaults), updated with ``settings``
            (e.g. ``steps=300``).
        progress: a ``Progress`` (default: a bar on a terminal, plain lines otherwise).
        log: prints the validation lines and the closing lines.
        text: train on this string instead of the configured data (tests, notebooks).

    Returns:
        dict: ``run_dir``, ``steps`` (done), ``val_loss`` (last), ``best_val_loss``,
        ``history`` (the validation records), ``sample`` (generated text), ``seconds``,
        ``parameters``.

    Raises:
        TrainingError: the loss or the gradient stopped being finite (the message says when).
        KeyboardInterrupt: after saving the current weights to ``checkpoints/last.ckpt``.
    """
    config = (config or LanguageConfig()).replace(**settings).validate()
    started = time.perf_counter()
    vocab, train_set, val_set = _splits(_load_text(config) if text is None else text, config)
    run_dir = config.out = default_run_dir(config)
    _writable_dir(run_dir)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    os.makedirs(ckpt_dir, exist_ok=True)
    model = build_language_model(config, len(vocab))
    optimizer = optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    data_gen = _random.Generator().manual_seed(config.seed + 1)
    _write_json(os.path.join(run_dir, "config.json"), config.to_dict())
    _write_json(os.path.join(run_dir, "vocab.json"), {"chars": "".join(vocab.chars)})
    metrics = MetricsLog(os.path.join(run_dir, "metrics.jsonl"))
    if os.path.exists(metrics.path):
        os.remove(metrics.path)          # a fresh run in an old folder starts a fresh log
    metrics.write({"event": "start", "step": 0, "time": time.time()})
    n_params = count_parameters(model)
    progress = progress if progress is not None else \
        Progress(lines_per_epoch=max(1, config.steps // config.eval_interval))
    log(f"training {config.model} ({n_params:,} parameters) on {config.data}: "
        f"{len(train_set.ids):,} training / {len(val_set.ids):,} validation characters, "
        f"vocabulary {len(vocab)}, {config.steps} steps of {config.batch_size} x "
        f"{config.block_size} characters")
    blas.log_override_note(log)      # a forced OpenBLAS core can halve GEMM speed
    state = _TrainState(config, model, optimizer, vocab, metrics, ckpt_dir)
    val_idx = _val_indices(val_set, config.eval_windows)
    progress.start_epoch(1, 1, config.steps)
    try:
        state.loop(train_set, val_set, val_idx, data_gen, progress, log, started)
    except KeyboardInterrupt:
        progress.close()
        save(_checkpoint(model, optimizer, state.step, config, vocab, None),
             os.path.join(ckpt_dir, "last.ckpt"))
        log(f"interrupted at step {state.step}: weights saved to "
            f"{os.path.join(ckpt_dir, 'last.ckpt')}")
        raise
    finally:
        progress.close()
    sample = ""
    if config.sample_length:
        prompt = "".join(c for c in config.sample_prompt if c in vocab.stoi) or vocab.chars[0]
        sample = generate(model, prompt, config.sample_length, temperature=0.8, top_k=None,
                          seed=config.seed, vocab=vocab)
        with open(os.path.join(run_dir, "samples.txt"), "w", encoding="utf-8") as f:
            f.write(sample + "\n")
    plot = _write_plot(run_dir, metrics.read(), log)
    seconds = time.perf_counter() - started
    log(f"validation loss {state.last_val:.4f} nats/char (best {state.best_val:.4f}) after "
        f"{state.step} steps [{seconds:.1f} s]; run directory: {run_dir}")
    return {"run_dir": run_dir, "steps": state.step, "val_loss": state.last_val,
            "best_val_loss": state.best_val, "history": state.history, "sample": sample,
            "seconds": seconds, "parameters": n_params, "plot": plot}


class _TrainState:
    """The loop's moving parts (kept together so that the loop itself stays short)."""

    def __init__(self, config, model, optimizer, vocab, metrics, ckpt_dir):
        self.config, self.model, self.optimizer = config, model, optimizer
        self.vocab, self.metrics, self.ckpt_dir = vocab, metrics, ckpt_dir
        self.step, self.history = 0, []
        self.last_val = self.best_val = math.inf

    def loop(self, train_set, val_set, val_idx, data_gen, progress, log, started):
        config, running, count = self.config, 0.0, 0
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.model.train()
        while self.step < config.steps:
            idx = data_gen.rng.integers(0, len(train_set), size=config.batch_size)
            x, y = train_set._get_batch(idx)
            loss = _loss(self.model, x, y)
            value = float(loss.item())
            if not math.isfinite(value):
                raise TrainingError(f"non-finite loss {value} at step {self.step + 1}; try a "
                                    f"lower --lr (now {config.lr})")
            self.optimizer.zero_grad()
            loss.backward()
            norm = float(clip_grad_norm_(params, config.grad_clip or math.inf).item())
            if not math.isfinite(norm):
                raise TrainingError(f"non-finite gradient norm at step {self.step + 1}; try a "
                                    f"lower --lr or --grad-clip")
            lr = learning_rate(config, self.step, time.perf_counter() - started)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.optimizer.step()
            self.step += 1
            running, count = running + value, count + 1
            progress.update(self.step, running / count)
            if self.step % config.log_interval == 0:
                self.metrics.write({"event": "step", "step": self.step, "loss": running / count,
                                    "lr": self.optimizer.param_groups[0]["lr"],
                                    "grad_norm": norm,
                                    "seconds": round(time.perf_counter() - started, 3)})
                running, count = 0.0, 0
            out_of_time = config.time_limit and time.perf_counter() - started >= \
                config.time_limit
            if self.step % config.eval_interval == 0 or self.step == config.steps or \
                    out_of_time:
                self._validate(val_set, val_idx, progress, log, started)
            if out_of_time:
                log(f"time limit of {config.time_limit:g} s reached after {self.step} steps")
                break

    def _validate(self, val_set, val_idx, progress, log, started):
        val = validation_loss(self.model, val_set, val_idx, self.config.batch_size)
        self.last_val = val
        seconds = round(time.perf_counter() - started, 3)
        record = {"event": "val", "step": self.step, "val_loss": val, "seconds": seconds}
        self.history.append(record)
        self.metrics.write(record)
        state = _checkpoint(self.model, self.optimizer, self.step, self.config, self.vocab,
                            val)
        save(state, os.path.join(self.ckpt_dir, "last.ckpt"))
        if val < self.best_val:
            self.best_val = val
            save(state, os.path.join(self.ckpt_dir, "best.ckpt"))
        progress.log(f"step {self.step}/{self.config.steps}  validation loss {val:.4f} "
                     f"nats/char  lr {self.optimizer.param_groups[0]['lr']:.2e}  "
                     f"[{seconds:.0f} s]")


def _write_plot(run_dir, records, log):
    """``plots/loss.png``: training and validation loss against the step (None without
    matplotlib)."""
    from .plots import _save, require_matplotlib
    try:
        plt = require_matplotlib()
    except ImportError as e:
        log(f"plots skipped: {e}")
        return None
    train = [(r["step"], r["loss"]) for r in records if r.get("event") == "step"]
    val = [(r["step"], r["val_loss"]) for r in records if r.get("event") == "val"]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for points, style, label in ((train, "-", "training"), (val, "-o", "validation")):
        if points:
            ax.plot(*zip(*points), style, label=label, markersize=3)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per character)")
    ax.set_title("Character-level language model")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    folder = os.path.join(run_dir, "plots")
    os.makedirs(folder, exist_ok=True)
    path = _save(fig, folder, "loss")
    plt.close(fig)
    return path


# ------------------------------------------------------------------------------- saved runs
def load_language_run(run_dir, checkpoint="best"):
    """``(config, vocab, model)`` of a saved language-model run, with the weights of
    ``checkpoint`` (``'best'``, ``'last'`` or a checkpoint file), in eval mode."""
    if not os.path.isdir(run_dir):
        raise FileNotFoundError(f"run directory {run_dir}: no such folder")
    config = _config_from(os.path.join(run_dir, "config.json"), LanguageConfig)
    vocab_path = os.path.join(run_dir, "vocab.json")
    chars = _read_json(vocab_path, "vocabulary").get("chars")
    if not isinstance(chars, str) or not chars:
        raise RunError(f"{vocab_path}: expected {{\"chars\": \"...\"}} with the vocabulary")
    vocab = CharVocab(chars)
    path = checkpoint_path(run_dir, checkpoint)
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(path, f"not a language-model checkpoint (no format "
                                    f"{CHECKPOINT_FORMAT!r})")
    model = build_language_model(config, len(vocab))
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, ValueError) as e:
        raise CheckpointError(path, f"does not match the run's {config.model} model: "
                                    f"{str(e).splitlines()[0]}") from None
    model.eval()
    return config, vocab, model


def generate_from_run(run_dir, prompt="\n", length=500, temperature=0.8, top_k=None, seed=None,
                      checkpoint="best"):
    """Text from a saved run: ``prompt`` followed by ``length`` sampled characters.

    Characters of ``prompt`` outside the run's vocabulary raise ValueError naming them.
    ``seed`` makes the text repeatable (see ``chainrule.models.generate`` for temperature and
    top_k).
    """
    _, vocab, model = load_language_run(run_dir, checkpoint)
    unknown = sorted({c for c in prompt if c not in vocab.stoi})
    if unknown:
        raise ValueError(f"generate: the prompt has characters that the run's vocabulary "
                         f"lacks: {unknown}")
    return generate(model, prompt, length, temperature=temperature, top_k=top_k, seed=seed,
                    vocab=vocab)
