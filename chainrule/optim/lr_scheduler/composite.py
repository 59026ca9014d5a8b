"""Schedulers made of schedulers: one after another (SequentialLR) or all at once (Chained)."""
from bisect import bisect_right

from .base import LRScheduler, _group_values, _set_group_value

__all__ = ["SequentialLR", "ChainedScheduler"]


def _check_members(owner, optimizer, schedulers, what):
    from .plateau import ReduceLROnPlateau
    if len(schedulers) < 1:
        raise ValueError(f"{owner} expects at least one scheduler{what}, but got no scheduler.")
    for i, sched in enumerate(schedulers):
        if not hasattr(sched, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute.")
        if isinstance(sched, ReduceLROnPlateau):
            raise ValueError(f"{owner} does not support `ReduceLROnPlateau` scheduler as it "
                             "requires additional kwargs to be specified when calling `step`, "
                             f"but got one at index {i} in the given schedulers sequence.")
        if optimizer is not sched.optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, "
                             f"but got scheduler {type(sched).__name__} at index {i} with a "
                             f"different optimizer than {type(optimizer).__name__}.")


class _Composite(LRScheduler):
    def state_dict(self):
        """The state, with each member scheduler's own state dict under ``_schedulers``."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        members = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for sched, saved in zip(self._schedulers, members):
            sched.load_state_dict(saved)


class SequentialLR(_Composite):
    """Run schedulers one after another, switching at the given milestone epochs.

    Scheduler ``i`` drives the lr from ``milestones[i-1]`` until ``milestones[i]``; on switching
    it restarts from its epoch 0 (with the closed form), so a warm-up followed by a decay reads::

        warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
        decay = CosineAnnealingLR(opt, T_max=95)
        sched = SequentialLR(opt, schedulers=[warmup, decay], milestones=[5])

    Args:
        optimizer (Optimizer): the wrapped optimizer (shared by every scheduler).
        schedulers (list[LRScheduler]): the schedulers in order.
        milestones (list[int]): the switching epochs, one fewer than the schedulers.
        last_epoch (int): the index of the last epoch (default -1).
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        _check_members(type(self).__name__, optimizer, schedulers, "")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("Sequential Schedulers expects number of schedulers provided to be "
                             "one more than the number of milestone points, but got number of "
                             f"schedulers {len(schedulers)} and the number of milestones to be "
                             f"equal to {len(milestones)}")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Undo the members' construction steps, then start the first one afresh.
        for group in optimizer.param_groups:
            _set_group_value(group, "lr", group["initial_lr"])
        self._undo_steps(self)
        idx = bisect_right(milestones, 0)
        schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def _undo_steps(self, sched):
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo_steps(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def recursive_undo(self, sched=None):
        """Decrement ``last_epoch`` of every (nested) member scheduler."""
        self._undo_steps(self if sched is None else sched)

    def step(self):
        """Advance one epoch, switching scheduler at a milestone."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()


class ChainedScheduler(_Composite):
    """Step several schedulers together at every ``step()``; their (chainable) effects compose.

    Args:
        schedulers (list[LRScheduler]): the schedulers, stepped in order.
        optimizer (Optimizer): the shared optimizer (default: the first scheduler's).

    Example::

        >>> sched = ChainedScheduler([ConstantLR(opt, factor=0.1, total_iters=2),
        ...                           ExponentialLR(opt, gamma=0.9)])
    """

    def __init__(self, schedulers, optimizer=None):
        optimizer = optimizer or (schedulers[0].optimizer if len(schedulers) else None)
        _check_members(type(self).__name__, optimizer, schedulers, " to be chained")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _group_values(schedulers[-1].optimizer, "lr")

    def step(self):
        """Step every member scheduler."""
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _group_values(self._schedulers[-1].optimizer, "lr")
