"""Adagrad: per-coordinate learning rates from the accumulated squared gradients."""
from .._backend import xp_of
from ..tensor import Tensor
from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump, _check, _check_lr, _grads,
                        _incr, _new_step, _no_differentiable, _value)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011).

    Algorithm, for each parameter ``theta`` with gradient ``g`` at step ``t`` (``s`` starts
    at ``initial_accumulator_value``)::

        if maximize:          g = -g
        if weight_decay != 0: g = g + weight_decay * theta
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        theta = theta - clr * g / (sqrt(s) + eps)

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 1e-2).
        lr_decay (float): learning-rate decay (default 0).
        weight_decay (float): L2 penalty (default 0).
        initial_accumulator_value (float): starting value of the sum of squares (default 0).
        eps (float): denominator term for numerical stability (default 1e-10).
        foreach, fused: accepted for compatibility; ignored.
        maximize (bool): maximize the objective (default False).

    State (per parameter, created at construction as in torch): ``step``, ``sum``.

    Example::

        >>> opt = chainrule.optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= initial_accumulator_value,
               f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value)

    def _init_state(self, p, value):
        state = self.state[p]
        state["step"] = _new_step()
        state["sum"] = Tensor._make(p._xp().full_like(p.data, value))

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
            for p, g in _grads(group, "Adagrad"):
                state = self.state[p]
                if len(state) == 0:   # a group added after construction
                    self._init_state(p, self.defaults["initial_accumulator_value"])
                step = _incr(state["step"])
                if wd != 0:
                    g = g + p.data * wd
                clr = lr / (1 + (step - 1) * group["lr_decay"])
                s = state["sum"].data
                _addcmul_(s, g, g, 1)
                std = xp_of(s).sqrt(s)
                std += eps
                _addcdiv_(p.data, g, std, -clr)
                _bump(p)
        return loss
