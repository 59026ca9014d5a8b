"""Adamax: Adam with the infinity norm in place of the second moment."""
from .._backend import xp_of
from .optimizer import (Optimizer, _addcdiv_, _bump, _check, _check_betas, _check_lr, _grads,
                        _incr, _lerp_, _new_step, _no_differentiable, _value, _zeros_like)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax, the infinity-norm variant of Adam (Kingma & Ba, 2014, section 7).

    Algorithm, for each parameter ``theta`` with gradient ``g`` at step ``t`` (``m`` and
    ``u`` start at zero)::

        if maximize:          g = -g
        if weight_decay != 0: g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, |g| + eps)
        theta = theta - lr / (1 - beta1**t) * m / u

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 2e-3).
        betas (tuple[float, float]): decay rates of the moment and of the norm
            (default (0.9, 0.999)).
        eps (float): added to ``|g|`` for numerical stability (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        maximize (bool): maximize the objective (default False).
        foreach, capturable: accepted for compatibility; ignored.

    State (per parameter): ``step``, ``exp_avg``, ``exp_inf``.

    Example::

        >>> opt = chainrule.optim.Adamax(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
            beta1, beta2 = group["betas"]
            for p, g in _grads(group, "Adamax"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_inf"] = _zeros_like(p)
                step = _incr(state["step"])
                xp = xp_of(p.data)
                if wd != 0:
                    g = g + p.data * wd
                m, u = state["exp_avg"].data, state["exp_inf"].data
                _lerp_(m, g, 1 - beta1)
                u *= beta2
                abs_g = xp.abs(g)
                abs_g += eps
                xp.maximum(u, abs_g, out=u)
                clr = lr / (1 - beta1 ** step)
                _addcdiv_(p.data, m, u, -clr)
                _bump(p)
        return loss
