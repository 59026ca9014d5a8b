"""``TrainConfig``: every training setting and its default, in one place.

The command line (``chainrule train``) fills a ``TrainConfig`` from its options; anything not given
keeps the default written here. A run directory stores the config as ``config.json``, which is how
``--resume``, ``evaluate`` and ``predict`` rebuild the same model and data.
"""
import dataclasses
from dataclasses import dataclass, field

__all__ = ["TrainConfig", "MODELS", "DATASETS", "OPTIMIZERS", "SCHEDULERS", "LR_SCALINGS"]

MODELS = ("lenet", "mlp", "resnet", "autoencoder")
DATASETS = ("fashion-mnist", "digits", "mnist-idx", "cifar10", "imagefolder")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("onecycle", "cosine", "step", "none")
LR_SCALINGS = ("none", "linear", "sqrt")


class ConfigMethods:
    """What every run config (a dataclass) shares: dict round trip and copies with changes."""

    kind = "training"            # names the settings in error messages

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Build a config from a dict (e.g. ``config.json``); unknown keys raise ValueError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {cls.kind} setting(s): {', '.join(unknown)}")
        return cls(**values)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass
class TrainConfig(ConfigMethods):
    """The settings of one training run (defaults: the ``make run`` job).

    The defaults train the LeNet-style CNN on the bundled Fashion-MNIST subset (9,000 images for
    training, 1,000 held out for validation, 2,000 test images) with Adam and a one-cycle
    learning-rate schedule for 5 epochs; this reaches about 87.4 % test accuracy with about two
    minutes of CPU time (6 epochs: 88.0 %).

    Attributes:
        model: one of ``MODELS``. data: one of ``DATASETS``; data_dir: its folder (needed by
            mnist-idx, cifar10 and imagefolder). classes: keep only these classes (names or
            indices), e.g. ``["cat", "dog"]``.
        epochs, batch_size, lr: the usual; lr is the peak rate of the one-cycle schedule.
            Under ``mpiexec -n N`` batch_size is the batch of each rank (the global batch is N
            times larger).
        lr_scaling: under MPI, scale lr with the global batch: ``'none'`` (default: the lr is
            used as given), ``'linear'`` (x N) or ``'sqrt'`` (x sqrt N).
        optimizer: one of ``OPTIMIZERS``; momentum (sgd, rmsprop; sgd uses Nesterov momentum
            unless ``nesterov`` is False); weight_decay applies to all.
        scheduler: one of ``SCHEDULERS``, stepped after every batch.
        grad_clip: clip the global gradient norm to this value (0: off).
        label_smoothing: for the cross-entropy loss.
        val_fraction: share of the training set held out for validation each epoch.
        patience: early stopping after this many epochs without a lower validation loss (0: off).
        seed: seeds model initialisation, dropout, the validation split and the data order.
        image_size: side of the (square) images given to the model; 0 picks the data set's own.
        workers: background threads loading batches (0: load in the main thread).
        limit_train, limit_test: use only the first N training / test samples (0: all).
        topk: k of the top-k accuracy reported next to the accuracy.
        plots: write PNG figures at the end (needs matplotlib).
        name, out: the run directory is ``out`` if given, else ``runs/<name or timestamp>``.
    """

    model: str = "lenet"
    data: str = "fashion-mnist"
    data_dir: str = ""
    classes: list = field(default_factory=list)
    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-3
    lr_scaling: str = "none"
    optimizer: str = "adam"
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 0.0
    scheduler: str = "onecycle"
    grad_clip: float = 5.0
    label_smoothing: float = 0.0
    val_fraction: float = 0.1
    patience: int = 0
    seed: int = 0
    image_size: int = 0
    workers: int = 0
    limit_train: int = 0
    limit_test: int = 0
    topk: int = 3
    plots: bool = True
    name: str = ""
    out: str = ""

    def validate(self):
        """Raise ValueError naming the first setting that is out of range."""
        for name, allowed in (("model", MODELS), ("data", DATASETS),
                              ("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS),
                              ("lr_scaling", LR_SCALINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"--{name.replace('_', '-')} must be one of "
                                 f"{', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("epochs", "batch_size", "topk"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1; got "
                                 f"{getattr(self, name)}")
        for name in ("workers", "limit_train", "limit_test", "patience", "image_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must not be negative; got "
                                 f"{getattr(self, name)}")
        if not self.lr > 0 or self.lr == float("inf"):
            raise ValueError(f"--lr must be a positive number; got {self.lr}")
        if self.weight_decay < 0 or self.grad_clip < 0 or not 0 <= self.momentum < 1:
            raise ValueError("--weight-decay and --grad-clip must not be negative and "
                             "--momentum must be in [0, 1)")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"--val-fraction must be in [0, 1); got {self.val_fraction}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"--label-smoothing must be in [0, 1); got {self.label_smoothing}")
        if self.data in ("mnist-idx", "cifar10", "imagefolder") and not self.data_dir:
            raise ValueError(f"--data {self.data} needs --data-dir (the folder holding the "
                             f"files)")
        return self
