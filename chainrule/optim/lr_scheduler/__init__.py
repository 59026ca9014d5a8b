"""Learning-rate schedulers (torch.optim.lr_scheduler).

A scheduler rewrites ``group["lr"]`` of its optimizer's param groups at each ``step()``; the
values follow torch's formulas, in torch's (recursive, chainable) form, number for number.
"""
from .base import LRScheduler
from .basic import (LambdaLR, MultiplicativeLR, StepLR, MultiStepLR, ConstantLR, LinearLR,
                    ExponentialLR, PolynomialLR, CosineAnnealingLR)
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR
from .composite import SequentialLR, ChainedScheduler
from .plateau import ReduceLROnPlateau

_LRScheduler = LRScheduler

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "PolynomialLR", "CosineAnnealingLR",
           "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
           "ChainedScheduler", "ReduceLROnPlateau"]
