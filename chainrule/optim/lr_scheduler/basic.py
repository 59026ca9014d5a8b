"""The per-epoch schedules: lambda, step, exponential, linear, polynomial and cosine decay.

Each ``get_lr`` is torch's *recursive* form (the new lr is computed from the group's current lr),
so schedulers chain; ``_get_closed_form_lr`` gives the direct formula used by ``step(epoch)``.
"""
import math
import types
from bisect import bisect_right
from collections import Counter

from .base import LRScheduler, _group_values

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR"]


class _LambdaBase(LRScheduler):
    """Shared by LambdaLR and MultiplicativeLR: one function of the epoch per param group."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.optimizer = optimizer
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        """The state; plain functions are left out, callable objects keep their ``__dict__``."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else fn.__dict__.copy()
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class LambdaLR(_LambdaBase):
    """Set each group's lr to its initial lr times a function of the epoch.

    ``lr_epoch = base_lr * lr_lambda(epoch)``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        lr_lambda (callable or list): ``epoch -> factor``, or one such function per group.
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = LambdaLR(opt, lr_lambda=lambda epoch: 0.95 ** epoch)
    """

    def get_lr(self):
        self._warn_get_lr()
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas,
                                                                     self.base_lrs)]


class MultiplicativeLR(_LambdaBase):
    """Multiply each group's lr by a function of the epoch at every step (not at construction).

    ``lr_epoch = lr_{epoch-1} * lr_lambda(epoch)``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        lr_lambda (callable or list): ``epoch -> factor``, or one such function per group.
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = MultiplicativeLR(opt, lr_lambda=lambda epoch: 0.95)
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        fns = lr_lambda if isinstance(lr_lambda, (list, tuple)) else [lr_lambda]
        for fn in fns:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, lr_lambda, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * fn(self.last_epoch)
                for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    ``lr_epoch = base_lr * gamma ** (epoch // step_size)``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        step_size (int): the period of the decay, in epochs.
        gamma (float): the decay factor (default 0.1).
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = StepLR(opt, step_size=30, gamma=0.1)   # lr 0.05 → 0.005 at epoch 30 ...
    """

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` at each milestone epoch.

    ``lr_epoch = base_lr * gamma ** (number of milestones <= epoch)``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        milestones (iterable of int): the epochs at which to decay (a repeated milestone
            decays several times).
        gamma (float): the decay factor (default 0.1).
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = MultiStepLR(opt, milestones=[30, 80], gamma=0.1)
    """

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch not in self.milestones:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """Scale each group's lr by ``factor`` until epoch ``total_iters``, then restore it.

    ``lr_epoch = base_lr * (factor if epoch < total_iters else 1)``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        factor (float): the scale, in [0, 1] (default 1/3).
        total_iters (int): the number of epochs scaled (default 5).
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = ConstantLR(opt, factor=0.5, total_iters=4)   # warm-up at half the lr
    """

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale each group's lr by a factor moving linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs (a linear warm-up or decay).

    ``lr_epoch = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        start_factor (float): the factor at epoch 0, in (0, 1] (default 1/3).
        end_factor (float): the factor from ``total_iters`` on, in [0, 1] (default 1.0).
        total_iters (int): the length of the ramp in epochs (default 5).
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = LinearLR(opt, start_factor=0.1, total_iters=10)   # warm-up
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor
                               + (self.last_epoch - 1) * delta)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        delta = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor
                           + delta * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    ``lr_epoch = base_lr * gamma ** epoch``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        gamma (float): the decay factor.
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = ExponentialLR(opt, gamma=0.9)
    """

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay each group's lr polynomially to zero over ``total_iters`` epochs.

    ``lr_epoch = base_lr * (1 - min(epoch, total_iters) / total_iters) ** power``

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        total_iters (int): the number of epochs of decay (default 5).
        power (float): the power of the polynomial (default 1.0).
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = PolynomialLR(opt, total_iters=100, power=2.0)
    """

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        if self._is_initial or self.last_epoch > self.total_iters:
            return _group_values(self.optimizer, "lr")
        factor = ((1.0 - self.last_epoch / self.total_iters)
                  / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal each group's lr along a cosine from its initial value to ``eta_min`` over
    ``T_max`` epochs (SGDR without restarts; past ``T_max`` the cosine continues upward).

    ``lr_epoch = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``

    computed recursively from the current lr, as torch does, so that it chains with other
    schedulers::

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))

    Args:
        optimizer (Optimizer): the wrapped optimizer.
        T_max (int): the half period, in epochs.
        eta_min (float): the minimum lr (default 0).
        last_epoch (int): the index of the last epoch (default -1).

    Example::

        >>> sched = CosineAnnealingLR(opt, T_max=100, eta_min=1e-5)
    """

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        self._warn_get_lr()
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _group_values(self.optimizer, "lr")
        if self._step_count == 1 and t > 0:      # resuming: closed form once
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:           # the trough, where the ratio below is 0/0
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]
