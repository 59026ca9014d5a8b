"""Adam and AdamW, which share one update function (they differ only in how weight decay acts)."""
from .._backend import xp_of
from .optimizer import (Optimizer, _addcdiv_, _addcmul_, _bump, _check, _check_betas, _check_lr,
                        _grads, _incr_array, _lerp_, _new_step, _no_differentiable, _value,
                        _zeros_like)

__all__ = ["Adam", "AdamW"]


def _adam_update(p, g, state, group):
    """One Adam/AdamW step for parameter ``p`` with gradient array ``g`` (already sign-flipped
    for maximize)."""
    lr, wd, eps = _value(group["lr"]), group["weight_decay"], group["eps"]
    beta1, beta2 = (_value(b) for b in group["betas"])
    if len(state) == 0:
        state["step"] = _new_step()
        state["exp_avg"] = _zeros_like(p)
        state["exp_avg_sq"] = _zeros_like(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = _zeros_like(p)
    step = _incr_array(state["step"])
    theta, m, v = p.data, state["exp_avg"].data, state["exp_avg_sq"].data
    if wd != 0:
        if group["decoupled_weight_decay"]:
            theta *= 1 - lr * wd
        else:
            g = g + theta * wd
    # in float64, then in the parameters' dtype, as a Python float would be (NEP 50)
    step_size = (lr / (1 - beta1 ** step)).astype(theta.dtype)
    bias_correction2_sqrt = ((1 - beta2 ** step) ** 0.5).astype(theta.dtype)
    v_max = state["max_exp_avg_sq"].data if group["amsgrad"] else None
    for parts in _chunks(theta, g, m, v, v_max):
        _adam_math(*parts, beta1, beta2, eps, step_size, bias_correction2_sqrt)
    _bump(p)


# Elements per chunk of the update: the five arrays of a chunk (about 0.6 MiB of float32) stay in
# a core's L2 cache through the dozen elementwise passes, instead of streaming from memory each
# pass; the arithmetic per element is unchanged, so results are identical.
_CHUNK = 1 << 15


def _chunks(*arrays):
    """Yield tuples of matching flat slices of ``arrays`` (None entries stay None), or the
    arrays themselves once when they are not all C-contiguous of one shape."""
    present = [a for a in arrays if a is not None]
    size = present[0].size
    if size <= _CHUNK or not all(a.flags.c_contiguous and a.shape == present[0].shape
                                 for a in present):
        yield arrays
        return
    flat = [None if a is None else a.reshape(-1) for a in arrays]
    for start in range(0, size, _CHUNK):
        yield tuple(None if a is None else a[start:start + _CHUNK] for a in flat)


def _adam_math(theta, g, m, v, v_max, beta1, beta2, eps, step_size, bias_correction2_sqrt):
    """The moment updates and the parameter step, in place, on (slices of) the arrays."""
    _lerp_(m, g, 1 - beta1)
    v *= beta2
    _addcmul_(v, g, g, 1 - beta2)
    if v_max is not None:
        xp = xp_of(v)
        xp.maximum(v_max, v, out=v_max)
        v = v_max
    denom = xp_of(v).sqrt(v)
    denom /= bias_correction2_sqrt
    denom += eps
    _addcdiv_(theta, m, denom, -step_size)


class Adam(Optimizer):
    """Adam: adaptive moment estimation (Kingma & Ba, 2014), optionally with AMSGrad.

    Algorithm, for each parameter ``theta`` with gradient ``g`` at step ``t`` (``m``, ``v``
    and ``v_max`` start at zero)::

        if maximize:          g = -g
        if weight_decay != 0:
            theta = theta * (1 - lr * weight_decay)      if decoupled_weight_decay (AdamW)
            g = g + weight_decay * theta                 otherwise
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        if amsgrad: v_max = max(v_max, v); v_hat = v_max
        else:       v_hat = v
        theta = theta - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 1e-3).
        betas (tuple[float, float]): decay rates of the first and second moment estimates
            (default (0.9, 0.999)).
        eps (float): added to the denominator for numerical stability (default 1e-8).
        weight_decay (float): weight decay (default 0), an L2 penalty unless
            ``decoupled_weight_decay``.
        amsgrad (bool): use the AMSGrad variant (default False).
        maximize (bool): maximize the objective (default False).
        decoupled_weight_decay (bool): decay the weights directly, as AdamW (default False).
        foreach, capturable, fused: accepted for compatibility; ignored.

    State (per parameter): ``step``, ``exp_avg``, ``exp_avg_sq`` and, with amsgrad,
    ``max_exp_avg_sq``.

    Example::

        >>> opt = chainrule.optim.Adam(model.parameters(), lr=1e-3)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_lr(lr)
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check_betas(betas)
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Perform one optimization step.

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss.
        """
        loss = self._closure_loss(closure)
        name = type(self).__name__
        for group in self.param_groups:
            for p, g in _grads(group, name):
                _adam_update(p, g, self.state[p], group)
        return loss


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2017).

    The same algorithm as :class:`Adam` with ``decoupled_weight_decay=True``: the weights are
    shrunk by ``(1 - lr * weight_decay)`` before the update, instead of adding
    ``weight_decay * theta`` to the gradient::

        theta = theta * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g          (v_hat = max over time if amsgrad)
        theta = theta - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)

    Args:
        params: the tensors to optimize, or parameter-group dicts.
        lr (float): learning rate (default 1e-3).
        betas (tuple[float, float]): moment decay rates (default (0.9, 0.999)).
        eps (float): denominator term for numerical stability (default 1e-8).
        weight_decay (float): decoupled weight decay coefficient (default 1e-2).
        amsgrad (bool): use the AMSGrad variant (default False).
        maximize (bool): maximize the objective (default False).

    Example::

        >>> opt = chainrule.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         differentiable=differentiable, decoupled_weight_decay=True)
