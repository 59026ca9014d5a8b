"""SGD: stochastic gradient descent with optional momentum and Nesterov momentum."""
from ..tensor import Tensor
from .optimizer import (Optimizer, _add_, _bump, _check, _check_lr, _grads, _no_differentiable,
                        _value)

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Algorithm, for each parameter ``theta`` with gradient ``g`` at step ``t``::

        if maximize:          g = -g
        if weight_decay != 0: g = g + weight_decay * theta
        if momentum != 0:
            b = g                                       if t == 1
            b = momentum * b + (1 - dampening) * g      otherwise
            g = g + momentum * b                        if nesterov
            g = b                                       otherwise
        theta = theta - lr * g

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 1e-3).
        momentum (float): momentum factor (default 0).
        dampening (float): dampening of the momentum (default 0).
        weight_decay (float): L2 penalty (default 0).
        nesterov (bool): use Nesterov momentum (default False); needs momentum > 0 and
            dampening == 0.
        maximize (bool): maximize the objective instead of minimizing it (default False).
        foreach, fused: accepted for compatibility; chainrule always runs one plain loop.

    State (per parameter): ``momentum_buffer`` (when momentum != 0).

    Example::

        >>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad()
        >>> loss_fn(model(x), y).backward()
        >>> opt.step()
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        _check_lr(lr)
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _no_differentiable(differentiable)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd = _value(group["lr"]), group["weight_decay"]
            momentum, dampening = group["momentum"], group["dampening"]
            for p, g in _grads(group, "SGD"):
                if wd != 0:
                    g = g + p.data * wd
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._make(g.copy())
                    else:
                        buf.data *= momentum
                        _add_(buf.data, g, 1 - dampening)
                    g = g + buf.data * momentum if group["nesterov"] else buf.data
                _add_(p.data, g, -lr)
                _bump(p)
        return loss
