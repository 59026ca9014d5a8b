"""Function: one differentiable operation, its forward beside its backward.

``Function.apply`` runs ``forward`` and, when any input requires grad, returns outputs whose
``grad_fn`` is a ``Node``: the context object the backward rule reads (``ctx`` in both methods).

Two kinds of Function share this machinery:

* primitives (``Primitive`` subclasses, in ``chainrule.ops``): ``forward`` gets raw arrays and
  returns raw arrays; ``backward`` gets and returns Tensors, written in chainrule ops, so it is
  itself differentiable (higher-order gradients).
* user Functions (``chainrule.autograd.Function`` subclasses, the torch API): ``forward`` gets
  Tensors (with grad disabled) and returns Tensors.
"""
import itertools
import os
import traceback

from . import grad_mode
from .._backend import is_array

_seq = itertools.count()
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Tags for saved values: each is resolved to a Tensor when backward asks for saved_tensors.
_INPUT, _OUTPUT, _CONST = 0, 1, 2


class Node:
    """A recorded call of a Function: the ``grad_fn`` of its outputs and the ``ctx`` of its rules."""

    def __init__(self, fn_cls):
        self.fn_cls = fn_cls
        self.needs_input_grad = ()
        self.next_edges = ()         # per forward arg: None, (leaf_tensor, None) or (node, output_nr)
        self.out_meta = ()           # per output: (shape, chainrule dtype)
        self._to_save = None
        self._saved = None           # resolved tags, see _resolve_saved
        self._released = False
        self._non_diff = ()
        self.materialize_grads = True
        self.pre_hooks = None        # {output_nr: [hook, ...]}
        self.seq = next(_seq)
        self.forward_site = None

    # ---- the ctx API used inside forward/backward ----
    def save_for_backward(self, *values):
        self._to_save = values

    def mark_non_differentiable(self, *outputs):
        self._non_diff = outputs

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        if self._released:
            raise RuntimeError(
                f"{self.name()}: trying to backward through the graph a second time (or to read "
                "saved tensors after they were freed). Saved tensors are freed after backward; "
                "pass retain_graph=True to the first backward if you need to call it twice.")
        if self._saved is None:
            return ()
        from ..tensor import Tensor
        result = []
        for tag, value, version_box, version in self._saved:
            if version_box is not None and version_box[0] != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: a tensor of shape {tuple(_shape(value))} saved by "
                    f"{self.name()} is at version {version_box[0]}; expected version {version}. "
                    "Use .clone() before modifying it in place.")
            if tag == _INPUT:
                result.append(value)
            elif tag == _OUTPUT:
                array, output_nr = value
                result.append(Tensor._make(array, requires_grad=True, grad_fn=self,
                                           output_nr=output_nr, version=version_box))
            else:
                result.append(Tensor._make(value) if is_array(value) else value)
        return tuple(result)

    @property
    def saved_variables(self):
        return self.saved_tensors

    def name(self):
        return self.fn_cls.__name__ + "Backward0"

    def register_prehook(self, output_nr, hook):
        if self.pre_hooks is None:
            self.pre_hooks = {}
        self.pre_hooks.setdefault(output_nr, []).append(hook)
        return _RemovableHandle(self.pre_hooks[output_nr], hook)

    @property
    def next_functions(self):
        """(node, output_nr) per input as torch shows them; leaves appear as AccumulateGrad."""
        result = []
        for edge in self.next_edges:
            if edge is None:
                result.append((None, 0))
            elif edge[1] is None:
                result.append((AccumulateGrad(edge[0]), 0))
            else:
                result.append(edge)
        return tuple(result)

    def release(self):
        self._saved = None
        self._released = True

    def __repr__(self):
        return f"<{self.name()} object>"


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the place its gradient is accumulated."""

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return "<AccumulateGrad object>"


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _shape(value):
    if isinstance(value, tuple):
        value = value[0]
    return getattr(value, "shape", ())


def _user_site():
    """file:line of the innermost frame outside the chainrule package (the user's call)."""
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}"
    return "<unknown>"


class Function:
    """Base class of a differentiable operation (torch.autograd.Function's API).

    Subclass it with ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` static methods and
    call ``MyFunction.apply(*args)``. ``backward`` returns one gradient per forward argument
    (``None`` for arguments that are not differentiable).
    """
    raw = False       # primitives set True: forward sees arrays, not Tensors
    is_view = False   # output 0 shares memory (and the version counter) with input 0

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "this Function has no backward; define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args):
        from ..tensor import Tensor
        record = grad_mode._state.enabled and any(
            isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = Node(cls)
        if cls.raw:
            raw_args = [a.data if isinstance(a, Tensor) else a for a in args]
            outputs = cls.forward(ctx, *raw_args)
        else:
            raw_args = None
            with grad_mode.no_grad():
                outputs = cls.forward(ctx, *args)
        single = not isinstance(outputs, tuple)
        out_tuple = (outputs,) if single else outputs
        out_arrays = [o.data if isinstance(o, Tensor) else o for o in out_tuple]

        non_diff = {id(o.data if isinstance(o, Tensor) else o) for o in ctx._non_diff}
        results = []
        for i, array in enumerate(out_arrays):
            if record and id(array) not in non_diff:
                results.append(Tensor._make(array, requires_grad=True, grad_fn=ctx, output_nr=i))
            else:
                results.append(Tensor._make(array))
        if cls.is_view and isinstance(args[0], Tensor) and getattr(out_arrays[0], "base", None) \
                is not None:
            src = args[0]
            results[0]._version = src._version
            results[0]._base = src._base if src._base is not None else src
            src._is_viewed = True
        if record:
            ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
            ctx.next_edges = tuple(
                (None if not (isinstance(a, Tensor) and a.requires_grad) else
                 (a, None) if a.grad_fn is None else (a.grad_fn, a._output_nr)) for a in args)
            ctx.out_meta = tuple((r.shape, r.dtype) for r in results)
            if ctx._to_save is not None:
                _resolve_saved(ctx, args, raw_args, out_arrays, results)
            if grad_mode._state.anomaly:
                ctx.forward_site = _user_site()
        else:
            ctx._to_save = None
        if grad_mode._state.anomaly:
            _check_finite(cls.__name__, "forward", results, ctx.forward_site or _user_site())
        return results[0] if single else tuple(results)


def _resolve_saved(ctx, args, raw_args, out_arrays, results):
    from ..tensor import Tensor
    saved = []
    for value in ctx._to_save:
        array = value.data if isinstance(value, Tensor) else value
        tag = None
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and (a is value or a.data is array):
                saved.append((_INPUT, a, a._version, a._version[0]))
                tag = _INPUT
                break
        if tag is None:
            for i, out in enumerate(out_arrays):
                if out is array and array is not None:
                    box = results[i]._version
                    saved.append((_OUTPUT, (array, i), box, box[0]))
                    tag = _OUTPUT
                    break
        if tag is None:
            saved.append((_CONST, array, None, None))
    ctx._saved = saved
    ctx._to_save = None


def _check_finite(op_name, phase, tensors, site):
    for t in tensors:
        if t is None or not t.dtype.is_floating_point:
            continue
        xp = t._xp()
        if not bool(xp.isfinite(t.data).all()):
            bad = "nan" if bool(xp.isnan(t.data).any()) else "inf"
            raise RuntimeError(
                f"detect_anomaly: {op_name} produced {bad} in its {phase} "
                f"(op called at {site})")


class Primitive(Function):
    """A built-in differentiable op: forward on raw arrays, backward in chainrule ops."""
    raw = True


def once_differentiable(backward):
    """Decorator for a backward that is not itself differentiable: it runs under no_grad."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            return backward(ctx, *grads)
    return wrapper
