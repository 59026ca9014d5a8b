"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""
from .._backend import xp_of
from .optimizer import (Optimizer, _addcmul_, _bump, _check, _check_betas, _check_lr, _grads,
                        _incr, _lerp_, _new_step, _no_differentiable, _value, _zeros_like)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam: rectified Adam (Liu et al., 2019).

    While the variance of the adaptive term is intractable (``rho_t <= 5``, the first few
    steps), RAdam takes a plain momentum step; afterwards an Adam step scaled by a rectification
    factor ``r_t``. For each parameter ``theta`` with gradient ``g`` at step ``t``::

        if maximize:          g = -g
        if weight_decay != 0:
            theta = theta * (1 - lr * weight_decay)      if decoupled_weight_decay
            g = g + weight_decay * theta                 otherwise
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat   = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t   = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4) (rho_t - 2) rho_inf / ((rho_inf - 4) (rho_inf - 2) rho_t))
            theta = theta - lr * m_hat * sqrt(1 - beta2**t) / (sqrt(v) + eps) * r_t
        else:
            theta = theta - lr * m_hat

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 1e-3).
        betas (tuple[float, float]): moment decay rates (default (0.9, 0.999)).
        eps (float): denominator term for numerical stability (default 1e-8).
        weight_decay (float): weight decay (default 0).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default False).
        maximize (bool): maximize the objective (default False).
        foreach, capturable: accepted for compatibility; ignored.

    State (per parameter): ``step``, ``exp_avg``, ``exp_avg_sq``.

    Example::

        >>> opt = chainrule.optim.RAdam(model.parameters(), lr=1e-3)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
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
            for p, g in _grads(group, "RAdam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                step = _incr(state["step"])
                theta, m, v = p.data, state["exp_avg"].data, state["exp_avg_sq"].data
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        theta *= 1 - lr * wd
                    else:
                        g = g + theta * wd
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                _addcmul_(v, g, g, 1 - beta2)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                update = m / bias_correction1
                update *= lr
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    denom = xp_of(v).sqrt(v)
                    denom += eps
                    update *= bias_correction2 ** 0.5 / denom     # scalar / tensor, as torch
                    update *= rect
                theta -= update
                _bump(p)
        return loss
