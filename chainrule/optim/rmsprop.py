"""RMSprop: divide the gradient by a running root-mean-square of its recent values."""
from .._backend import xp_of
from .optimizer import (Optimizer, _add_, _addcdiv_, _addcmul_, _bump, _check, _check_lr,
                        _grads, _incr, _lerp_, _new_step, _no_differentiable, _value, _zeros_like)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, Coursera lecture 6e), optionally centered and with momentum.

    Algorithm, for each parameter ``theta`` with gradient ``g`` (``v``, ``g_avg`` and ``b``
    start at zero)::

        if maximize:          g = -g
        if weight_decay != 0: g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            avg = sqrt(v - g_avg * g_avg) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / avg
            theta = theta - lr * b
        else:
            theta = theta - lr * g / avg

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 1e-2).
        alpha (float): smoothing constant of the squared-gradient average (default 0.99).
        eps (float): denominator term for numerical stability (default 1e-8).
        weight_decay (float): L2 penalty (default 0).
        momentum (float): momentum factor (default 0).
        centered (bool): normalize by an estimate of the gradient's variance (default False).
        capturable, foreach: accepted for compatibility; ignored.
        maximize (bool): maximize the objective (default False).

    State (per parameter): ``step``, ``square_avg`` and, when used, ``momentum_buffer``,
    ``grad_avg``.

    Example::

        >>> opt = chainrule.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
            alpha, momentum = group["alpha"], group["momentum"]
            for p, g in _grads(group, "RMSprop"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["square_avg"] = _zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = _zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = _zeros_like(p)
                _incr(state["step"])
                xp = xp_of(p.data)
                if wd != 0:
                    g = g + p.data * wd
                v = state["square_avg"].data
                v *= alpha
                _addcmul_(v, g, g, 1 - alpha)
                if group["centered"]:
                    g_avg = state["grad_avg"].data
                    _lerp_(g_avg, g, 1 - alpha)
                    avg = v.copy()
                    _addcmul_(avg, g_avg, g_avg, -1)
                    xp.sqrt(avg, out=avg)
                else:
                    avg = xp.sqrt(v)
                avg += eps
                if momentum > 0:
                    buf = state["momentum_buffer"].data
                    buf *= momentum
                    _addcdiv_(buf, g, avg)
                    _add_(p.data, buf, -lr)
                else:
                    _addcdiv_(p.data, g, avg, -lr)
                _bump(p)
        return loss
