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
import functools
import os
import traceback
import weakref

import numpy as np

from . import grad_mode
from .._backend import is_array

Tensor = None    # chainrule.tensor sets this once the class exists (avoids an import cycle)
_state = grad_mode._state
_ndarray = np.ndarray
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Tags for saved values, resolved to Tensors when backward asks for saved_tensors: a leaf input
# (kept as the Tensor itself), a graph value (array, grad_fn, output_nr; grad_fn None means this
# node's own output), or a constant.
_LEAF, _GRAPH, _CONST = 0, 1, 2


class Node:
    """A recorded call of a Function: the ``grad_fn`` of its outputs, the ``ctx`` of its rules."""
    # Defaults live on the class: a Node is built for every op call, so __init__ stays minimal.
    needs_input_grad = ()
    next_edges = ()          # per forward arg: None, (leaf_tensor, None) or (node, output_nr)
    out_meta = ()            # per output: (shape, NumPy dtype), or None for a non-tensor output
    materialize_grads = True
    pre_hooks = None         # {output_nr: [hook, ...]}
    forward_site = None      # file:line of the forward call, recorded under detect_anomaly
    _to_save = None
    _saved = None            # resolved tags, see _resolve_saved
    _released = False
    _non_diff = ()

    def __init__(self, fn_cls):
        self.fn_cls = fn_cls

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
        result = []
        for tag, value, version_box, version in self._saved:
            if version_box is not None and version_box[0] != version:
                self._raise_modified(tag, value, version_box[0], version)
            if tag == _LEAF:
                result.append(value)
            elif tag == _GRAPH:
                array, fn, output_nr = value
                result.append(Tensor._make(array, True, fn or self, output_nr, version_box))
            else:
                # why: NumPy returns scalars, not 0-d arrays, for ops on 0-d arrays (a > b)
                result.append(Tensor._make(value) if is_array(value) or
                              isinstance(value, np.generic) else value)
        return tuple(result)

    saved_variables = saved_tensors

    @property
    def saved_arrays(self):
        """The saved values as their raw arrays (checked as ``saved_tensors`` checks them), for
        first-order backward rules that compute on arrays and need no Tensor wrappers."""
        if self._released or self._saved is None:
            return self.saved_tensors       # its error, or ()
        result = []
        for tag, value, version_box, version in self._saved:
            if version_box is not None and version_box[0] != version:
                self._raise_modified(tag, value, version_box[0], version)
            result.append(value.data if tag == _LEAF else value[0] if tag == _GRAPH else value)
        return result

    def _raise_modified(self, tag, value, now, expected):
        if tag == _LEAF:
            array, what = value.data, "a leaf tensor"
        else:
            array, what = value[0], f"output {value[2]} of {(value[1] or self).name()}"
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: a tensor of shape {tuple(array.shape)} ({what}), saved by "
            f"{self.name()}, is at version {now}; expected version {expected} instead. "
            "Use .clone() before modifying it in place, or modify a copy.")

    def name(self):
        # torch: built-in ops are "MulBackward0", custom Functions "MyFnBackward"
        return type(self).__name__

    def register_prehook(self, output_nr, hook):
        if self.pre_hooks is None:
            self.pre_hooks = {}
        hooks = self.pre_hooks.setdefault(output_nr, [])
        if hooks and getattr(hooks[-1], "_retains_grad", False):
            hooks.insert(len(hooks) - 1, hook)     # retain_grad sees the grad after all hooks
        else:
            hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    @property
    def next_functions(self):
        """(node, output_nr) per input as torch shows them; leaves appear as AccumulateGrad."""
        return tuple((None, 0) if edge is None else
                     (AccumulateGrad(edge[0]), 0) if edge[1] is None else edge
                     for edge in self.next_edges)

    def release(self):
        self._saved = None
        self._released = True

    def __repr__(self):
        return f"<{self.name()} object>"


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the place its gradient is accumulated."""
    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad object>"


class _RemovableHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


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
    node_name = None  # the grad_fn's name when not "<Name>Backward0" / "<Name>Backward"
    _node_cls = Node

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # One Node subclass per Function, made once: type(y.grad_fn).__name__ is torch's name.
        name = cls.node_name or cls.__name__ + ("Backward0" if cls.raw else "Backward")
        cls._node_cls = type(name, (Node,), {"__module__": cls.__module__,
                                             "__qualname__": name})

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "this Function has no backward; define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args):
        ctx = cls._node_cls(cls)
        if _state.enabled:
            edges = _edges(args)
            needs = tuple([e is not None for e in edges])
            if True not in needs:
                edges = None                       # nothing to record
        else:
            edges, needs = None, (False,) * len(args)
        ctx.needs_input_grad = needs
        if cls.raw:
            arrays = [a.data if isinstance(a, Tensor) else a for a in args]
            out = cls.forward(ctx, *arrays)
            if out.__class__ is not tuple and not (cls.is_view or ctx._non_diff or _state.anomaly):
                # The common case, kept short: a primitive with one array out.
                array = out if out.__class__ is _ndarray or is_array(out) else np.asarray(out)
                if edges is None:
                    return Tensor._make(array)
                result = Tensor._make(array, True, ctx, 0)
                ctx.next_edges = edges
                ctx.out_meta = ((array.shape, array.dtype),)
                if ctx._to_save is not None:
                    _resolve_saved(ctx, args, (out,), (array,), (result,), arrays)
                return result
        else:
            with grad_mode.no_grad():
                out = cls.forward(ctx, *args)
        return _finish_apply(cls, ctx, args, out, edges)


def _edges(args):
    return tuple([((a, None) if a.grad_fn is None else (a.grad_fn, a._output_nr))
                  if isinstance(a, Tensor) and a._requires_grad else None for a in args])


def _finish_apply(cls, ctx, args, outputs, edges):
    """Wrap what forward returned: several outputs, user Functions, views, anomaly checks.
    ``edges``: the inputs' edges (see ``_edges``) when the call is recorded, else None."""
    record = edges is not None
    single = outputs.__class__ is not tuple
    outs = (outputs,) if single else outputs
    if cls.raw:
        arrays = [o if is_array(o) else np.asarray(o) for o in outs]
    else:
        arrays = [o.data if isinstance(o, Tensor) else o for o in outs]
    if not record:
        ctx._to_save = None
        results = [Tensor._make(a) if is_array(a) else a for a in arrays]
    else:
        ctx.next_edges = edges
        non_diff = {id(o.data if isinstance(o, Tensor) else o) for o in ctx._non_diff}
        results, meta = [], []
        for i, a in enumerate(arrays):
            if not is_array(a):
                results.append(a)              # a non-tensor output passes through
                meta.append(None)
                continue
            diff = id(a) not in non_diff
            results.append(Tensor._make(a, diff, ctx if diff else None, i))
            meta.append((a.shape, a.dtype))
        ctx.out_meta = tuple(meta)
        if ctx._to_save is not None:
            _resolve_saved(ctx, args, outs, arrays, results)
    if cls.is_view and isinstance(args[0], Tensor) and getattr(arrays[0], "base", None) is not None:
        _mark_view(results[0], args[0], cls, args[1:])
    elif not single and cls.raw and args and isinstance(args[0], Tensor):
        _mark_multi_views(ctx, args[0], arrays, results)
    if _state.anomaly:
        site = _user_site()
        if record:
            ctx.forward_site = site
        _check_finite(cls.__name__, "forward", results, site)
    return results[0] if single else tuple(results)


def _mark_view(view, src, cls, op_args):
    """``view`` (made by ``cls.apply(src, *op_args)``) shares memory with ``src``: it shares the
    version counter, points at the root base, and remembers how to remake itself from that base
    (``_view_chain``), so that a recorded in-place op on either side can refresh it."""
    view._version = src._version
    root = src._base
    if root is None:
        root, chain = src, ()
    else:
        chain = src._view_chain
    view._base = root
    view._view_chain = chain + ((cls, op_args),)
    if not _state.enabled and src._requires_grad or src._made_in_no_grad:
        view._made_in_no_grad = True      # torch refuses a recorded in-place op on it
    if src._multi_view is not None:
        view._multi_view = src._multi_view
    views = root._views
    if views is None:
        root._views = views = []
    elif len(views) >= 16 and len(views) >= 2 * root._views_alive:
        views[:] = [r for r in views if r() is not None]    # amortized pruning of dead views
        root._views_alive = len(views)
    views.append(weakref.ref(view))


def _mark_multi_views(ctx, src, arrays, results):
    """Outputs of a multi-output op (split, unbind, chunk) that share ``src``'s memory: views
    as torch has them, which may not be changed in place while recording (torch's rule)."""
    src_array = src.data
    for i, (array, result) in enumerate(zip(arrays, results)):
        if not isinstance(result, Tensor):
            continue
        owner = getattr(array, "base", None)    # NumPy: the array that owns the memory
        if owner is None or array.__class__ is not _ndarray or \
                (owner is not src_array and owner is not src_array.base):
            continue
        # where it lies in src is worked out only if it must be remade (see MultiView)
        _mark_view(result, src, MultiView, ((i, type(ctx).__name__, array, src_array),))
        result._multi_view = (i, type(ctx).__name__)


def _address(array):
    return array.__array_interface__["data"][0]


def _strided(array, offset, shape, strides):
    """A view of ``array``'s memory at byte ``offset`` with ``shape`` and ``strides``."""
    window = _Window()
    window.__array_interface__ = dict(array.__array_interface__, shape=shape, strides=strides,
                                      data=(_address(array) + offset,
                                            not array.flags.writeable))
    window.base = array
    return np.asarray(window)


class _Window:
    """An array interface holder (keeps the viewed array alive through ``base``)."""


def replay_view(base, chain):
    """Apply the view ops of ``chain`` (see ``_mark_view``) to ``base``, recording as usual."""
    for cls, op_args in chain:
        base = cls.apply(base, *op_args)
    return base


def _resolve_saved(ctx, args, outs, out_arrays, results, in_arrays=None):
    """Tag what forward saved (``ctx._to_save``) as inputs, outputs or constants (see _LEAF).
    ``in_arrays``: the inputs' arrays (or the args themselves), when the caller has them."""
    if in_arrays is None:
        in_arrays = [a.data if isinstance(a, Tensor) else a for a in args]
    if _resolve_positional(ctx, args, in_arrays):
        return
    saved, used = [], 0          # bit i of used: args[i] matched an earlier saved value
    for value in ctx._to_save:
        array = value.data if isinstance(value, Tensor) else value
        # Inputs may share one array (x and x.detach()): the first match not yet taken, else the
        # first match. (Plain loops: this runs for every recorded op.)
        pick = -1
        for i, a in enumerate(in_arrays):
            if (a is array or args[i] is value) and isinstance(args[i], Tensor):
                if not used >> i & 1:
                    pick = i
                    break
                if pick < 0:
                    pick = i
        if pick >= 0:
            used |= 1 << pick
            saved.append(_saved_input(args[pick]))
            continue
        for i, out in enumerate(out_arrays):
            # outs[i]: what forward returned (a NumPy scalar, for 0-d results of ufuncs)
            if (out is array or outs[i] is array) and array is not None:
                box = results[i]._version
                saved.append((_GRAPH, (out, None, i), box, box[0]))
                break
        else:
            saved.append((_CONST, array, None, None))
    ctx._saved = saved
    ctx._to_save = None


def _resolve_positional(ctx, args, in_arrays):
    """The common case of ``_resolve_saved``, without its search: forward saved exactly its
    inputs' arrays, in order (matmul, mul). Returns False when it did anything else."""
    to_save = ctx._to_save
    if len(to_save) != len(args):
        return False
    saved = []
    for value, a, array in zip(to_save, args, in_arrays):
        if value is not array:
            return False
        saved.append(_saved_input(a) if isinstance(a, Tensor) else (_CONST, value, None, None))
    ctx._saved = saved
    ctx._to_save = None
    return True


def _saved_input(a):
    """The saved-value entry of input Tensor ``a``: the leaf itself, or a non-leaf as a snapshot
    (array, grad_fn, output_nr), since an in-place op may later rebind the Tensor."""
    box, fn = a._version, a.grad_fn
    if fn is None:
        return (_LEAF, a, box, box[0])
    return (_GRAPH, (a.data, fn, a._output_nr), box, box[0])


def _adopt_saved(node, box):
    """An in-place op rebound a Tensor to ``node``'s output and moved ``box`` on: what ``node``
    saved under ``box`` (its output, e.g. for ``exp_``) is current at the new version."""
    if node is not None and node._saved:
        node._saved = [(tag, value, b, b[0] if b is box else v)
                       for tag, value, b, v in node._saved]


def _check_finite(op_name, phase, tensors, site):
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or not t.dtype.is_floating_point:
            continue
        xp = t._xp()
        if not bool(xp.isfinite(t.data).all()):
            bad = "nan" if bool(xp.isnan(t.data).any()) else "inf"
            what = f"its output {i}" if phase == "forward" else f"the gradient for its input {i}"
            raise RuntimeError(f"detect_anomaly: {op_name} produced {bad} in {what} during "
                               f"{phase} (the op was called in forward at {site})")


class Primitive(Function):
    """A built-in differentiable op: forward on raw arrays, backward in chainrule ops."""
    raw = True


class MultiView(Primitive):
    """Remakes one output of a multi-output view op (split, unbind, chunk) from its base after the
    base changed in place. As in torch, gradient may not flow through it afterwards."""
    is_view = True
    node_name = "Invalid"

    @staticmethod
    def forward(ctx, x, spec):
        i, node_name, array, src_array = spec    # the output as made, and what it was made of
        ctx.name_ = f"output {i} of {node_name}"
        if x.__class__ is not _ndarray or x.shape != src_array.shape or \
                x.strides != src_array.strides:
            raise RuntimeError(f"{ctx.name_}: can't remake this view of a tensor changed in "
                               "place (its memory layout changed); use .clone() on the outputs")
        offset = _address(array) - _address(src_array)
        return _strided(x, offset, array.shape, array.strides)

    @staticmethod
    def backward(ctx, grad_out):
        raise RuntimeError(
            f"{ctx.name_} is a view and its base or another view of its base has been modified "
            "inplace. This view is the output of a function that returns multiple views. Such "
            "functions do not allow the output views to be modified inplace. You should replace "
            "the inplace operation by an out-of-place one.")


def once_differentiable(backward):
    """Decorator for a backward that is not itself differentiable: it runs under no_grad."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with grad_mode.no_grad():
            return backward(ctx, *grads)
    return wrapper
