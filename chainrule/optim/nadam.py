"""NAdam: Adam with Nesterov momentum."""
import numpy as np

from .._backend import xp_of
from ..tensor import Tensor
from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump, _check, _check_betas, _check_lr,
                        _grads, _incr, _lerp_, _new_step, _no_differentiable, _scalar_dtype,
                        _value, _zeros_like)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam: Adam with Nesterov momentum (Dozat, 2016), with a momentum warm-up schedule.

    Algorithm, for each parameter ``theta`` with gradient ``g`` at step ``t`` (``m``, ``v``
    start at zero, ``prod`` at one)::

        if maximize:          g = -g
        if weight_decay != 0:
            theta = theta * (1 - lr * weight_decay)      if decoupled_weight_decay
            g = g + weight_decay * theta                 otherwise
        mu_t      = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay))
        mu_next   = beta1 * (1 - 0.5 * 0.96**((t + 1) * momentum_decay))
        prod      = prod * mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        theta = theta - lr * (1 - mu_t) / (1 - prod) * g / denom
                      - lr * mu_next / (1 - prod * mu_next) * m / denom

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 2e-3).
        betas (tuple[float, float]): moment decay rates (default (0.9, 0.999)).
        eps (float): denominator term for numerical stability (default 1e-8).
        weight_decay (float): weight decay (default 0).
        momentum_decay (float): the momentum warm-up rate ``psi`` (default 4e-3).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default False).
        maximize (bool): maximize the objective (default False).
        foreach, capturable: accepted for compatibility; ignored.

    State (per parameter): ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``.

    Example::

        >>> opt = chainrule.optim.NAdam(model.parameters(), lr=2e-3)
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
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
            psi = group["momentum_decay"]
            for p, g in _grads(group, "NAdam"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["mu_product"] = Tensor._make(np.array(1.0, dtype=_scalar_dtype()))
                    state["exp_avg"] = _zeros_like(p)
                    state["exp_avg_sq"] = _zeros_like(p)
                step = _incr(state["step"])
                theta, m, v = p.data, state["exp_avg"].data, state["exp_avg_sq"].data
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        theta *= 1 - lr * wd
                    else:
                        g = g + theta * wd
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
                # the running product lives in a 0-d tensor of the scalar dtype, as in torch
                state["mu_product"].data *= mu
                mu_product = float(state["mu_product"].data)
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                _addcmul_(v, g, g, 1 - beta2)
                denom = xp_of(v).sqrt(v / (1 - beta2 ** step))
                denom += eps
                _addcdiv_(theta, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
                _addcdiv_(theta, m, denom, (-lr * mu_next) / (1.0 - mu_product * mu_next))
                _bump(p)
        return loss
