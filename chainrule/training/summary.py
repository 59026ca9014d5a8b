"""``model_summary``: a layer table with output shapes, parameter counts and the memory that each
layer's forward pass keeps for the backward pass.

"Kept for backward" counts the arrays the recorded graph holds on to after one forward pass
(``ctx.save_for_backward`` values: inputs, outputs, masks), each buffer once, and not the
parameters themselves, which exist anyway. It is what a training step needs on top of the
model's weights and grows linearly with the batch size.
"""
from dataclasses import dataclass

import numpy as np

__all__ = ["LayerRow", "model_summary", "format_summary"]


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    saved_bytes: int


def _root(array):
    while isinstance(getattr(array, "base", None), np.ndarray):
        array = array.base
    return array


def _node_arrays(node, param_ids):
    """The arrays ``node`` keeps for backward (not counting parameters)."""
    from ..autograd.function import _CONST, _GRAPH, _LEAF
    for tag, value, _, _ in node._saved or ():
        if tag == _LEAF:
            if id(value) not in param_ids:
                yield value.data
        elif tag == _GRAPH:
            yield value[0]
        elif tag == _CONST and isinstance(value, np.ndarray):
            yield value


def _new_nodes(output, assigned):
    """Graph nodes reachable from ``output`` that no earlier layer claimed."""
    fn = getattr(output, "grad_fn", None)
    stack, found = ([fn] if fn is not None and fn not in assigned else []), []
    while stack:
        node = stack.pop()
        if node in assigned:
            continue
        assigned.add(node)
        found.append(node)
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None and edge[0] not in assigned:
                stack.append(edge[0])
    return found


def model_summary(model, input_shape, dtype=None):
    """Run one forward pass of a ``(N, ...)`` random input through ``model`` (in training mode,
    with gradients) and describe each leaf layer.

    Args:
        model: an ``nn.Module``.
        input_shape: the input's shape including the batch dimension, e.g. ``(1, 1, 28, 28)``.

    Returns:
        tuple: ``(rows, totals)``: a ``LayerRow`` per leaf module in call order, and a dict with
        ``params``, ``trainable``, ``param_bytes``, ``saved_bytes`` and ``output_shape``.
    """
    from .. import rand
    from ..explain.core import leaf_modules
    params = list(model.parameters())
    param_ids = {id(p) for p in params}
    # a view of a weight (Linear keeps W transposed) is not extra memory either
    assigned, rows, handles = set(), [], []
    seen_buffers = {id(_root(p.data)) for p in params}

    def new_saved_bytes(output):
        """Bytes of the buffers kept by graph nodes first reachable from ``output``."""
        nbytes = 0
        for node in _new_nodes(output, assigned):
            for array in _node_arrays(node, param_ids):
                root = _root(array)
                if id(root) not in seen_buffers:
                    seen_buffers.add(id(root))
                    nbytes += root.nbytes
        return nbytes

    def hook_for(name):
        def hook(module, args, output):
            nbytes = new_saved_bytes(output)
            count = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append(LayerRow(name, type(module).__name__,
                                 tuple(getattr(output, "shape", ())), int(count), nbytes))
        return hook

    for name, module in leaf_modules(model):
        handles.append(module.register_forward_hook(hook_for(name)))
    was_training = model.training
    model.train()
    try:
        x = rand(*input_shape)
        out = model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    # anything the model's own forward did between layers (e.g. a reshape) and kept
    leftover = new_saved_bytes(out)
    totals = {"params": sum(p.numel() for p in params),
              "trainable": sum(p.numel() for p in params if p.requires_grad),
              "param_bytes": sum(p.data.nbytes for p in params),
              "saved_bytes": sum(r.saved_bytes for r in rows) + leftover,
              "other_saved_bytes": leftover, "output_shape": tuple(out.shape)}
    return rows, totals


def _size(nbytes):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024


def format_summary(rows, totals, title=None):
    """The table of ``model_summary`` as text."""
    header = ("layer", "type", "output shape", "params", "kept for backward")
    table = [(r.name, r.kind, str(list(r.output_shape)), f"{r.params:,}", _size(r.saved_bytes))
             for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h)
              for i, h in enumerate(header)]
    line = "  ".join

    def fmt(cells):
        return line(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in
                    enumerate(zip(cells, widths)))
    out = [title] if title else []
    out += [fmt(header), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    out += [fmt(row) for row in table]
    out.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
    out.append(f"parameters: {totals['params']:,} ({totals['trainable']:,} trainable, "
               f"{_size(totals['param_bytes'])})")
    out.append(f"kept for backward per forward pass: {_size(totals['saved_bytes'])}")
    return "\n".join(out)
