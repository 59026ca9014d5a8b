"""Optimizer: the base class every chainrule optimizer derives from (torch.optim.Optimizer).

An optimizer owns a list of *parameter groups* (dicts holding ``params`` plus that group's
hyperparameters) and a per-parameter ``state`` dict. Subclasses implement ``step`` as one plain
loop over the parameters that have a gradient, updating ``p.data`` (the raw array) in place with
the small helpers at the bottom of this file, which repeat torch's order of floating-point
operations so that results agree with torch to rounding.
"""
import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from .. import dtypes as _dt
from .._backend import xp_of
from ..autograd import grad_mode
from ..tensor import Tensor
from ..capture import active as _capture

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that every parameter group must give (no usable default)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class _Handle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""
    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = _Handle._next_id
        _Handle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)


def _wrap_step(step):
    """Run the step hooks around ``step``, with graph recording off."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in list(self._step_pre_hooks.values()):
            result = hook(self, args, kwargs)
            if result is not None:
                args, kwargs = result
        self._opt_called = True
        if _capture.tape is not None:       # a compiled step depends on our hyperparameters
            _capture.tape.watch(self, _capture.optimizer_state)
        with grad_mode.no_grad():
            out = step(self, *args, **kwargs)
        for hook in list(self._step_post_hooks.values()):
            hook(self, args, kwargs)
        return out
    wrapper._wrapped_step = True
    return wrapper


class Optimizer:
    """Base class for all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs (e.g.
            ``model.named_parameters()``), or of dicts, each a parameter group with its
            own ``"params"`` and optional per-group hyperparameters.
        defaults: the default hyperparameters, used for any a group does not set.

    Attributes:
        defaults (dict): the default hyperparameters.
        param_groups (list[dict]): the parameter groups; change ``group["lr"]`` to change the
            learning rate (this is what the schedulers in ``chainrule.optim.lr_scheduler`` do).
        state (defaultdict): per-parameter state (momentum buffers, moment estimates, step
            counts), keyed by the parameter tensor.

    Example::

        >>> opt = chainrule.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad()
        >>> loss_fn(model(x), y).backward()
        >>> opt.step()
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_wrapped_step", False):
            cls.step = _wrap_step(step)

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._step_pre_hooks = OrderedDict()
        self._step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k != "params")
        return "\n".join(lines) + "\n)"

    # ---- parameter groups ----
    def add_param_group(self, param_group):
        """Add a parameter group (a dict with ``"params"`` and optional hyperparameters).

        Useful to start training layers that were frozen. Hyperparameters the group leaves out
        take the optimizer's defaults.

        Raises:
            ValueError: a parameter is already in another group, a required hyperparameter is
                missing, or a parameter is not a leaf tensor.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ---- gradients and stepping ----
    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all optimized tensors.

        Args:
            set_to_none: set ``.grad`` to None (the default) rather than filling it with
                zeros. A parameter whose grad is None is skipped by ``step``; one with a zero
                grad is still updated (weight decay, momentum).
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.data[...] = 0

    def step(self, closure=None):
        """Perform one optimization step; return the closure's loss (None without a closure)."""
        raise NotImplementedError

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    def register_step_pre_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` before each step; it may return (args, kwargs)."""
        handle = _Handle(self._step_pre_hooks)
        self._step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook):
        """Call ``hook(optimizer, args, kwargs)`` after each step."""
        handle = _Handle(self._step_post_hooks)
        self._step_post_hooks[handle.id] = hook
        return handle

    # ---- checkpointing ----
    def state_dict(self):
        """The optimizer's state as a dict of plain values and (copied) tensors.

        Returns:
            ``{"state": {index: {name: value}}, "param_groups": [group, ...]}``: parameters are
            replaced by their position across all groups (0, 1, ...), as in torch, and each
            group's ``"params"`` lists those indices.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {(index[id(k)] if isinstance(k, Tensor) else k): _copy_value(v)
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load a state from :meth:`state_dict`; tensors are copied, cast to the parameter dtype.

        Raises:
            ValueError: the number of groups, or of parameters in a group, differs.
        """
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in self.param_groups)))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {k: _copy_value(v, None if k in _SCALAR_STATE else param)
                                for k, v in value.items()}
            else:
                state[key] = _copy_value(value)
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups


# 0-d counters kept in the scalar dtype: casting them to the parameter's dtype on load (as
# torch does for mu_product) would change the continued trajectory.
_SCALAR_STATE = ("step", "mu_product")


def _copy_value(value, like=None):
    """Deep-copy a state value; tensors and NumPy arrays become Tensor copies (cast to ``like``'s
    float dtype if given)."""
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value.data if isinstance(value, Tensor) else np.asarray(value)
        if like is not None and like.dtype.is_floating_point and arr.dtype != like.data.dtype:
            arr = arr.astype(like.data.dtype)
        else:
            arr = arr.copy()
        return Tensor._make(arr)
    if isinstance(value, dict):
        return {k: _copy_value(v, like) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_value(v, like) for v in value)
    return copy.deepcopy(value)


# ---- helpers shared by the optimizers ----

def _scalar_dtype():
    """dtype of the ``step`` counters: float64 when that is the default dtype, else float32."""
    return np.float64 if _dt.get_default_dtype() is _dt.float64 else np.float32


def _new_step():
    return Tensor._make(np.array(0.0, dtype=_scalar_dtype()))


def _incr(t):
    """``t += 1`` on a 0-d state tensor; returns the new value as a Python float."""
    t.data += 1
    return float(t.data)


def _incr_array(t):
    """``t += 1`` on a 0-d state tensor; returns the new value as a float64 NumPy value, never
    read into Python (so that a compiled step replays it: see chainrule.compile)."""
    t.data += 1
    return t.data.astype(np.float64)


def _zeros_like(p):
    return Tensor._make(p._xp().zeros_like(p.data))


def _value(x):
    """A hyperparameter as a Python float (a 1-element Tensor lr included)."""
    return float(x.item()) if isinstance(x, Tensor) else x


def _check_lr(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _check(ok, message):
    if not ok:
        raise ValueError(message)


def _check_betas(betas):
    _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")


def _no_differentiable(differentiable):
    if differentiable:
        raise NotImplementedError("differentiable=True is not supported: chainrule optimizers "
                                  "update parameters outside the autograd graph")


def _grads(group, name):
    """(param, grad array) for each parameter of ``group`` that has a gradient; grad is negated
    when the group maximizes."""
    out = []
    for p in group["params"]:
        if p.grad is None:
            continue
        g = p.grad
        if getattr(g, "is_sparse", False):
            raise RuntimeError(f"{name} does not support sparse gradients")
        g = g.data
        if group.get("maximize", False):
            g = -g
        out.append((p, g))
    return out


def _bump(p):
    """Record an in-place change of ``p`` (its version counter), as torch's in-place ops do."""
    p._version[0] += 1


# The in-place kernels below repeat the operation order of torch's CPU kernels; the scalar is
# a Python float, which NumPy casts to the array's dtype, as torch does (float32 stays float32).

def _add_(buf, other, alpha):
    """buf += alpha * other"""
    buf += other * alpha


def _lerp_(buf, end, weight):
    """buf = buf + weight * (end - buf) (torch's two-sided form for weight >= 0.5)."""
    diff = end - buf
    if abs(weight) < 0.5:
        diff *= weight
        buf += diff
    else:
        one_minus = buf.dtype.type(1) - buf.dtype.type(weight)   # in the array's precision
        diff *= one_minus
        xp_of(buf).subtract(end, diff, out=buf)


def _addcmul_(buf, t1, t2, value=1.0):
    """buf += value * t1 * t2"""
    tmp = t1 * value
    tmp *= t2
    buf += tmp


def _addcdiv_(buf, t1, t2, value=1.0):
    """buf += value * (t1 / t2)"""
    tmp = t1 / t2
    tmp *= value
    buf += tmp
