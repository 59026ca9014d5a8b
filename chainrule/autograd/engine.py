"""The reverse pass.

1. Walk the graph from the roots (iteratively) and count, for every node, how many edges lead to it.
2. Run nodes in dependency order (Kahn's algorithm): a node runs once every gradient it will receive
   has arrived. Gradients wait in a dict and are popped when their node runs, so memory is freed as
   the pass moves on; saved tensors are released after each node unless ``retain_graph``.
3. Leaves accumulate into ``.grad`` (or, for ``autograd.grad``, into the returned tuple).
"""
import numpy as np

from . import grad_mode
from .function import _check_finite
from .graph import count_deps, topological_order
from .. import dtypes as _dt

Tensor = None    # chainrule.tensor sets this once the class exists (avoids an import cycle)
_state = grad_mode._state


_final_callbacks = []    # see queue_callback
_depth = [0]             # nesting of backward passes (a hook may run a backward of its own)


def queue_callback(fn):
    """Run ``fn()`` once, when the outermost backward pass now running ends.

    Used by DistributedDataParallel to wait for its gradient reductions before ``backward``
    returns; callbacks queued by a pass that raises are dropped.
    """
    _final_callbacks.append(fn)


def run_backward(*args, **kwargs):
    """``_run_backward``, then the queued callbacks (when this is the outermost pass)."""
    _depth[0] += 1
    ok = False
    try:
        result = _run_backward(*args, **kwargs)
        ok = True
    finally:
        _depth[0] -= 1
        if _depth[0] == 0 and not ok:
            _final_callbacks.clear()
    if _depth[0] == 0:
        while _final_callbacks:
            _final_callbacks.pop(0)()
    return result


def _run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                  accumulate=True):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` given, only gradients for those tensors are computed; with ``accumulate`` they
    go to ``.grad``, otherwise they are returned as a list (``autograd.grad``).
    """
    capture = _Capture(inputs, accumulate) if inputs is not None else None

    # ---- phase 1: find the nodes and count the edges into each ----
    root_nodes = []
    for t in roots:
        if t.grad_fn is not None and t.grad_fn not in root_nodes:
            root_nodes.append(t.grad_fn)
    deps = count_deps(root_nodes, None)
    runnable = None
    if capture is not None:     # run only the nodes from which a requested input is reachable
        needed = capture.needed_nodes(topological_order(root_nodes, deps))
        runnable = needed | {node for node, _ in capture.nodes}
        deps = count_deps(root_nodes, needed)

    # ---- phase 2: run the nodes ----
    pending = {}                                 # node -> [gradient per output]
    handed = {id(g.data) for g in root_grads}    # arrays .grad must not alias (see _accumulate)
    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            _deliver_leaf(t, g, capture, create_graph, handed)
        else:
            slots = pending.setdefault(t.grad_fn, [None] * len(t.grad_fn.out_meta))
            nr = t._output_nr
            slots[nr] = g if slots[nr] is None else slots[nr] + g
    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    owned = {}        # id -> gradient sums this pass made: safe to add into in place
    prev_enabled = _state.enabled
    _state.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            grads = pending.pop(node, None)
            if grads is None:
                grads = [None] * len(node.out_meta)
            elif owned:
                for g in grads:
                    owned.pop(id(g), None)
            if node.pre_hooks:
                _run_pre_hooks(node, grads)
            if capture is not None:
                capture.node_grads(node, grads, create_graph, handed)
                if node not in needed:
                    continue
            grads_in = _call_backward(node, grads)
            if not retain_graph:
                node.release()
            if len(grads_in) > 1:
                _mark_shared(grads_in, handed)
            for i, edge in enumerate(node.next_edges):
                if edge is None:
                    continue
                target, nr = edge
                g = grads_in[i]
                if g is not None:
                    if not isinstance(g, Tensor):
                        g = Tensor._make(g)
                    gd = g.data
                    if nr is None:      # a leaf: check against its array, then accumulate
                        td = target.data
                        if gd.shape != td.shape or gd.dtype != td.dtype:
                            g = _fix_grad(node, i, (td.shape, td.dtype), g)
                        _deliver_leaf(target, g, capture, create_graph, handed)
                        continue
                    meta = target.out_meta[nr]
                    if gd.shape != meta[0] or gd.dtype != meta[1]:
                        g = _fix_grad(node, i, meta, g)
                elif nr is None:
                    continue
                if runnable is not None and target not in runnable:
                    continue
                if g is not None:
                    slots = pending.get(target)
                    if slots is None:
                        slots = pending[target] = [None] * len(target.out_meta)
                    prev = slots[nr]
                    if prev is None:
                        slots[nr] = g
                    elif id(prev) in owned:
                        prev.data += g.data       # a sum made below: no one else holds it
                    else:
                        slots[nr] = prev + g
                        if not create_graph:
                            owned[id(slots[nr])] = slots[nr]
                left = deps[target] - 1
                deps[target] = left
                if left == 0:
                    ready.append(target)
    finally:
        _state.enabled = prev_enabled
    return capture.result if capture is not None and not accumulate else None


class _Capture:
    """Where the gradients of ``inputs`` go: their ``.grad`` (backward) or a list (grad)."""

    def __init__(self, inputs, accumulate):
        self.inputs, self.accumulate = inputs, accumulate
        self.result = [None] * len(inputs)
        self.leaves, self.nodes = {}, {}
        for i, t in enumerate(inputs):
            if t.grad_fn is None:
                self.leaves.setdefault(id(t), []).append(i)
            else:
                self.nodes.setdefault((t.grad_fn, t._output_nr), []).append(i)

    def needed_nodes(self, topo_order):
        needed = set()
        for node in reversed(topo_order):          # children before parents
            for edge in node.next_edges:
                if edge is not None and (edge[0] in needed or (
                        id(edge[0]) in self.leaves if edge[1] is None else edge in self.nodes)):
                    needed.add(node)
                    break
        return needed

    def put(self, slots, grad, create_graph, handed):
        for i in slots:
            if self.accumulate:
                _accumulate(self.inputs[i], grad, create_graph, handed)
            else:
                self.result[i] = grad if self.result[i] is None else self.result[i] + grad

    def node_grads(self, node, grads, create_graph, handed):
        for nr, g in enumerate(grads):
            slots = self.nodes.get((node, nr))
            if slots and g is not None:
                self.put(slots, g, create_graph, handed)


def _mark_shared(grads_in, handed):
    """A backward rule may return one array for several inputs (add: the incoming gradient, to
    both sides): such an array must not become a leaf's .grad, which later accumulates into it in
    place, while another edge still carries it."""
    first = set()
    for g in grads_in:
        if g is not None:
            key = id(getattr(g, "data", g))
            if key in first:
                handed.add(key)
            first.add(key)


def _run_pre_hooks(node, grads):
    for nr, hooks in node.pre_hooks.items():
        if grads[nr] is not None:
            for hook in list(hooks):
                new = hook(grads[nr])
                if new is not None:
                    grads[nr] = new


def _call_backward(node, grads):
    if node.materialize_grads:
        for k, g in enumerate(grads):
            if g is None and node.out_meta[k] is not None:
                grads[k] = _zeros(node.out_meta[k])
    if _state.anomaly:      # the ops inside a backward rule are checked as one unit, below
        _state.anomaly = False
        try:
            grads_in = node.fn_cls.backward(node, *grads)
        finally:
            _state.anomaly = True
        _check_finite(node.name(), "backward", _as_tuple(grads_in), node.forward_site or "?")
    else:
        grads_in = node.fn_cls.backward(node, *grads)
    if grads_in.__class__ is not tuple:
        grads_in = _as_tuple(grads_in)
    n = len(node.next_edges)
    if len(grads_in) != n and (len(grads_in) < n or any(g is not None for g in grads_in[n:])):
        raise RuntimeError(f"{node.name()}: backward returned an incorrect number of gradients "
                           f"(expected {n}, one per forward argument; got {len(grads_in)})")
    return grads_in


def _as_tuple(grads):
    if grads.__class__ is tuple:
        return grads
    return tuple(grads) if isinstance(grads, list) else (grads,)


def _fix_grad(node, i, meta, g):
    """Cast a gradient to its input's dtype and check its shape (catches broken backward rules)."""
    shape, dtype = meta
    if g.data.shape != shape:
        raise RuntimeError(
            f"{node.name()} returned an invalid gradient at index {i}: got shape "
            f"{tuple(g.data.shape)} but expected shape {tuple(shape)} (the input's shape)")
    if dtype.kind == "f":
        g = g.to(_dt.from_numpy_dtype(dtype))
    return g


def _deliver_leaf(leaf, grad, capture, create_graph, handed):
    for hook in leaf._hooks or ():
        new = hook(grad)
        if new is not None:
            grad = new
    if capture is None:
        _accumulate(leaf, grad, create_graph, handed)
    elif id(leaf) in capture.leaves:
        capture.put(capture.leaves[id(leaf)], grad, create_graph, handed)


def _accumulate(leaf, grad, create_graph, handed):
    if create_graph:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        return
    data = grad.data
    if leaf.grad is None:
        # Steal the array unless someone else may hold it (another .grad, the caller, a view).
        if id(data) in handed or not data.flags.writeable or not data.flags.owndata:
            data = data.copy()
        handed.add(id(data))
        leaf.grad = Tensor._make(data)
    elif leaf.grad.requires_grad:
        leaf.grad = (leaf.grad + grad).detach()
    else:
        leaf.grad.data += data


def _zeros(meta):
    shape, np_dtype = meta
    return Tensor._make(np.zeros(shape, dtype=np_dtype))
