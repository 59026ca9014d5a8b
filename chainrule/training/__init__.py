"""Training on top of chainrule: the Trainer loop, metrics, callbacks, progress, plots, config.

    from chainrule.training import Trainer, TrainConfig, ModelCheckpoint
"""
from .callbacks import Callback, EarlyStopping, LRLogger, ModelCheckpoint
from .config import TrainConfig
from .metrics import (ClassificationMeter, RunningMean, accuracy, confusion_matrix,
                      topk_accuracy)
from .progress import Progress
from .trainer import MetricsLog, Trainer, TrainingError, evaluate

__all__ = ["Trainer", "TrainingError", "evaluate", "MetricsLog", "TrainConfig", "Callback",
           "EarlyStopping", "ModelCheckpoint", "LRLogger", "Progress", "accuracy",
           "topk_accuracy", "confusion_matrix", "RunningMean", "ClassificationMeter"]
