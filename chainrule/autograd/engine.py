"""The reverse pass.

1. Walk the graph from the roots (iteratively) and count, for every node, how many edges lead to it.
2. Run nodes in dependency order (Kahn's algorithm): a node runs once every gradient it will receive
   has arrived. Gradients wait in a dict and are popped when their node runs, so memory is freed as
   the pass moves on; saved tensors are released after each node unless ``retain_graph``.
3. Leaves accumulate into ``.grad`` (or, for ``autograd.grad``, into the returned tuple).
"""
from . import grad_mode
from .function import _check_finite


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True, allow_unused=False):
    """Backpropagate ``root_grads`` from ``roots``.

    With ``inputs`` given, only gradients for those tensors are computed; with ``accumulate`` they
    go to ``.grad``, otherwise they are returned as a list (``autograd.grad``).
    """
    from ..tensor import Tensor

    captured = None
    capture_leaf = capture_node = None
    if inputs is not None:
        captured = [None] * len(inputs)
        capture_leaf = {}
        capture_node = {}
        for i, t in enumerate(inputs):
            if t.grad_fn is None:
                capture_leaf.setdefault(id(t), []).append(i)
            else:
                capture_node.setdefault((t.grad_fn, t._output_nr), []).append(i)

    # ---- phase 1: find the nodes and count dependencies ----
    root_nodes = []
    for t in roots:
        if t.grad_fn is not None and t.grad_fn not in root_nodes:
            root_nodes.append(t.grad_fn)
    order = []
    seen = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None and edge[0] not in seen:
                seen.add(edge[0])
                stack.append(edge[0])

    needed = runnable = None
    if inputs is not None:
        needed = _needed_nodes(order, capture_leaf, capture_node)
        runnable = needed | _nodes_of(capture_node)
    deps = {}
    for node in order:
        if needed is not None and node not in needed:
            continue
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None:
                deps[edge[0]] = deps.get(edge[0], 0) + 1

    # ---- phase 2: run the nodes ----
    pending = {}          # node -> list of gradient per output
    handed = set()        # ids of gradient arrays already given to someone (to avoid aliasing)

    def deliver_leaf(leaf, grad):
        for hook in leaf._hooks or ():
            new = hook(grad)
            if new is not None:
                grad = new
        if capture_leaf is not None:
            slots = capture_leaf.get(id(leaf))
            if slots is None:
                return
            if not accumulate:
                for i in slots:
                    captured[i] = grad if captured[i] is None else captured[i] + grad
                return
        _accumulate_into_leaf(leaf, grad, create_graph, handed)

    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            deliver_leaf(t, g)
        else:
            slots = pending.setdefault(t.grad_fn, [None] * len(t.grad_fn.out_meta))
            nr = t._output_nr
            slots[nr] = g if slots[nr] is None else slots[nr] + g

    ready = [n for n in root_nodes if deps.get(n, 0) == 0]
    with grad_mode.set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            grads = pending.pop(node, None) or [None] * len(node.out_meta)
            if node.pre_hooks:
                for nr, hooks in node.pre_hooks.items():
                    if grads[nr] is not None:
                        for hook in list(hooks):
                            new = hook(grads[nr])
                            if new is not None:
                                grads[nr] = new
            if capture_node is not None:
                for nr, g in enumerate(grads):
                    for i in capture_node.get((node, nr), ()):
                        if accumulate:
                            _accumulate_into_leaf(inputs[i], g, create_graph, handed)
                        else:
                            captured[i] = g
                if node not in needed:
                    continue
            if node.materialize_grads:
                grads = [g if g is not None else _zeros(shape, dtype)
                         for g, (shape, dtype) in zip(grads, node.out_meta)]
            grads_in = node.fn_cls.backward(node, *grads)
            if not isinstance(grads_in, tuple):
                grads_in = (grads_in,)
            edges = node.next_edges
            if len(grads_in) < len(edges):
                raise RuntimeError(
                    f"{node.name()}: backward returned {len(grads_in)} gradients, expected "
                    f"{len(edges)} (one per forward argument)")
            if grad_mode._state.anomaly:
                _check_finite(node.name(), "backward", [g for g in grads_in if isinstance(g, Tensor)],
                              node.forward_site or "<unknown>")
            if not retain_graph:
                node.release()
            for edge, g in zip(edges, grads_in):
                if edge is None or g is None:
                    continue
                target, nr = edge
                if not isinstance(g, Tensor):
                    g = Tensor._make(g)
                g = _check_grad(node, target, nr, g)
                if nr is None:
                    deliver_leaf(target, g)
                    continue
                if runnable is not None and target not in runnable:
                    continue
                slots = pending.get(target)
                if slots is None:
                    slots = pending[target] = [None] * len(target.out_meta)
                slots[nr] = g if slots[nr] is None else slots[nr] + g
                deps[target] -= 1
                if deps[target] == 0:
                    ready.append(target)
    if inputs is not None and not accumulate:
        return captured
    return None


def _nodes_of(capture_node):
    return {node for node, _ in capture_node}


def _needed_nodes(order, capture_leaf, capture_node):
    """Nodes from which some requested input can be reached (others need not run)."""
    capture_nodes = _nodes_of(capture_node)
    needed = set()
    # order is a DFS pre-order from the roots; iterate to a fixed point in reverse (children first).
    changed = True
    while changed:
        changed = False
        for node in reversed(order):
            if node in needed:
                continue
            for edge in node.next_edges:
                if edge is None:
                    continue
                target, nr = edge
                if (nr is None and id(target) in capture_leaf) or \
                        (nr is not None and (target in needed or target in capture_nodes)):
                    needed.add(node)
                    changed = True
                    break
    return needed


def _check_grad(node, target, nr, g):
    """Cast a gradient to its input's dtype and check its shape (catches broken backward rules)."""
    if nr is None:
        shape, dtype = target.shape, target.dtype
    else:
        shape, dtype = target.out_meta[nr]
    if g.shape != shape:
        raise RuntimeError(
            f"{node.name()}: backward returned a gradient of shape {tuple(g.shape)} for an input "
            f"of shape {tuple(shape)}")
    if g.dtype is not dtype and dtype.is_floating_point:
        g = g.to(dtype)
    return g


def _accumulate_into_leaf(leaf, grad, create_graph, handed):
    from ..tensor import Tensor
    if grad is None:
        return
    if create_graph:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        return
    data = grad.data
    if leaf.grad is None:
        if id(data) in handed or not data.flags.writeable or not data.flags.owndata:
            data = data.copy()
        handed.add(id(data))
        leaf.grad = Tensor._make(data)
    else:
        if leaf.grad.requires_grad:
            leaf.grad = (leaf.grad + grad).detach()
        else:
            leaf.grad.data += data


def _zeros(shape, dtype):
    from ..tensor import Tensor
    from .._backend import np
    return Tensor._make(np.zeros(shape, dtype=dtype.np))
