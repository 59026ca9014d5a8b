"""Training on top of chainrule: the Trainer loop, metrics, callbacks, progress, plots, config,
and whole runs on disk (what ``chainrule train`` / ``evaluate`` / ``predict`` do).

    from chainrule.training import Trainer, TrainConfig, ModelCheckpoint, train_run
"""
from .callbacks import Callback, DiagnoseCallback, EarlyStopping, LRLogger, ModelCheckpoint
from .config import TrainConfig
from .metrics import (ClassificationMeter, RunningMean, accuracy, confusion_matrix,
                      topk_accuracy)
from .progress import Progress
from .run import RunError, evaluate_run, load_run, predict_images, train_run
from .summary import format_summary, model_summary
from .trainer import MetricsLog, Trainer, TrainingError, evaluate

__all__ = ["Trainer", "TrainingError", "evaluate", "MetricsLog", "TrainConfig", "Callback",
           "DiagnoseCallback", "EarlyStopping", "ModelCheckpoint", "LRLogger", "Progress",
           "accuracy", "topk_accuracy", "confusion_matrix", "RunningMean", "ClassificationMeter",
           "train_run", "evaluate_run", "load_run", "predict_images", "RunError", "model_summary",
           "format_summary"]
