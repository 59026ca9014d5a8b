"""Optimizers and learning-rate schedulers (torch.optim).

Every optimizer follows torch's update rule and operation order, so a chainrule model trained
with the same gradients follows the same trajectory as its torch twin (to rounding).
"""
from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .radam import RAdam
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .rprop import Rprop
from .lbfgs import LBFGS
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad",
           "Adadelta", "Rprop", "LBFGS", "lr_scheduler"]
