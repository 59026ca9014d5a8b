"""Adadelta: an adaptive learning rate from running averages of squared gradients and updates."""
from .._backend import xp_of
from .optimizer import (Optimizer, _add_, _addcmul_, _bump, _check, _check_lr, _grads, _incr,
                        _new_step, _no_differentiable, _value, _zeros_like)

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012).

    Algorithm, for each parameter ``theta`` with gradient ``g`` (``v`` and ``u`` start at
    zero)::

        if maximize:          g = -g
        if weight_decay != 0: g = g + weight_decay * theta
        v = rho * v + (1 - rho) * g * g
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        theta = theta - lr * delta

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): scale applied to the update (default 1.0).
        rho (float): decay rate of the running averages (default 0.9).
        eps (float): term inside the square roots for numerical stability (default 1e-6).
        weight_decay (float): L2 penalty (default 0).
        foreach, capturable: accepted for compatibility; ignored.
        maximize (bool): maximize the objective (default False).

    State (per parameter): ``step``, ``square_avg``, ``acc_delta``.

    Example::

        >>> opt = chainrule.optim.Adadelta(model.parameters())
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        _check(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps, rho = _value(group["lr"]), group["weight_decay"], group["eps"], \
                group["rho"]
            for p, g in _grads(group, "Adadelta"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_like(p)
                    state["acc_delta"] = _zeros_like(p)
                _incr(state["step"])
                xp = xp_of(p.data)
                if wd != 0:
                    g = g + p.data * wd
                v, u = state["square_avg"].data, state["acc_delta"].data
                v *= rho
                _addcmul_(v, g, g, 1 - rho)
                std = xp.sqrt(xp.add(v, eps, out=xp.empty_like(v)))
                delta = xp.sqrt(xp.add(u, eps, out=xp.empty_like(u)))
                delta /= std
                delta *= g
                u *= rho
                _addcmul_(u, delta, delta, 1 - rho)
                _add_(p.data, delta, -lr)
                _bump(p)
        return loss
