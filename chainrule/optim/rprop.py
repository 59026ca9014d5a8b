"""Rprop: resilient backpropagation, which uses only the sign of the gradient."""
from .._backend import xp_of
from ..tensor import Tensor
from .optimizer import (Optimizer, _bump, _check, _check_lr, _grads, _incr, _new_step,
                        _no_differentiable, _value, _zeros_like)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Rprop, the resilient backpropagation algorithm (Riedmiller & Braun, 1993).

    Each coordinate keeps its own step size, grown by ``eta_plus`` while the gradient keeps its
    sign and shrunk by ``eta_minus`` when it flips (then that coordinate skips one update). For
    each parameter ``theta`` with gradient ``g`` (``g_prev`` starts at zero, ``step`` at lr)::

        if maximize: g = -g
        s = sign(g * g_prev)
        step = clamp(step * (eta_plus if s > 0 else eta_minus if s < 0 else 1),
                     step_size_min, step_size_max)
        g = 0 where s < 0
        theta = theta - sign(g) * step
        g_prev = g

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): initial step size (default 1e-2).
        etas (tuple[float, float]): ``(eta_minus, eta_plus)``, the shrink and growth factors
            (default (0.5, 1.2)).
        step_sizes (tuple[float, float]): the minimum and maximum step size (default (1e-6, 50)).
        capturable, foreach: accepted for compatibility; ignored.
        maximize (bool): maximize the objective (default False).

    State (per parameter): ``step``, ``prev``, ``step_size``.

    Example::

        >>> opt = chainrule.optim.Rprop(model.parameters(), lr=1e-2)
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        _check(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            eta_minus, eta_plus = group["etas"]
            size_min, size_max = group["step_sizes"]
            for p, g in _grads(group, "Rprop"):
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _new_step()
                    state["prev"] = _zeros_like(p)
                    state["step_size"] = Tensor._make(
                        p._xp().full_like(p.data, _value(group["lr"])))
                _incr(state["step"])
                xp = xp_of(p.data)
                prev, step_size = state["prev"].data, state["step_size"].data
                prod = g * prev
                flipped = prod < 0
                factor = xp.where(prod > 0, eta_plus, xp.where(flipped, eta_minus, 1.0))
                step_size *= factor.astype(step_size.dtype, copy=False)
                xp.clip(step_size, size_min, size_max, out=step_size)
                g = xp.where(flipped, 0, g).astype(g.dtype, copy=False)
                upd = xp.sign(g)
                upd *= step_size
                p.data -= upd
                prev[...] = g
                _bump(p)
        return loss
