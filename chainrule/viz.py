"""Draw the computation graph behind a tensor.

``draw_graph(loss)`` walks ``loss.grad_fn`` and its ``next_edges`` (the same graph the engine runs
backward over) and draws one box per operation and one ellipse per leaf tensor. Arrows point the way
the forward pass went (inputs to outputs); backpropagation walks them in reverse.

The ``dot`` program of Graphviz is used when it is installed; otherwise chainrule lays the graph out
itself (a simple layered layout) and writes the SVG directly, or draws it with matplotlib for PNG.
"""
import html
import os
import shutil
import subprocess
from dataclasses import dataclass, field

import numpy as np

__all__ = ["draw_graph", "GraphDrawing", "GraphNode"]

_COLORS = {"op": "#f4f4f4", "root": "#ffd9a8", "param": "#cfe5ff", "leaf": "#e6e6e6"}


@dataclass
class GraphNode:
    """One drawn node: ``kind`` is 'root', 'op' (a grad_fn), 'param' or 'leaf' (other tensors)."""
    id: str
    label: str
    kind: str
    rank: int = 0          # distance from the output, in edges (longest path)
    ref: object = field(default=None, repr=False)   # the Node or leaf Tensor drawn


@dataclass
class GraphDrawing:
    """What ``draw_graph`` returns: the DOT source, the nodes and edges, and where it was written.

    ``edges`` are ``(source_id, target_id)`` pairs in the forward direction.
    """
    dot: str
    nodes: list
    edges: list
    path: str = None
    renderer: str = None

    def __str__(self):
        return self.dot

    def to_svg(self):
        """An SVG drawing of the graph made by chainrule's own layout (no Graphviz needed)."""
        return _render_svg(self)

    def _repr_svg_(self):
        return self.to_svg()


def _fmt(v):
    return f"{v:.3g}"


def _summary(array):
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return "empty"
    return f"|grad| {_fmt(np.sqrt((a * a).sum()))}, max {_fmt(np.abs(a).max())}"


def _grad_text(grads, node):
    if not grads or node not in grads:
        return None
    g = grads[node]
    if isinstance(g, (int, float, np.floating)):
        return f"|grad| {_fmt(float(g))}"
    if isinstance(g, str):
        return g
    return _summary(getattr(g, "data", g))


def _shape(shape):
    return str(tuple(int(s) for s in shape))


def build_graph(tensor, params=None, grads=None):
    """The nodes and edges reachable from ``tensor`` (see ``draw_graph`` for the arguments)."""
    param_names = {id(p): n for n, p in (params or {}).items()}
    nodes, edges, ids = [], [], {}

    def add(obj, kind, label):
        ids[id(obj)] = f"n{len(nodes)}"
        nodes.append(GraphNode(ids[id(obj)], label, kind, ref=obj))
        return ids[id(obj)]

    def leaf_label(t):
        name = param_names.get(id(t))
        lines = [name if name is not None else "tensor", _shape(t.shape)]
        if t.grad is not None:
            lines.append(_summary(t.grad.data))
        from .nn.parameter import Parameter
        return "\n".join(lines), ("param" if isinstance(t, Parameter) else "leaf")

    root = tensor.grad_fn
    if root is None:
        label, kind = leaf_label(tensor)
        add(tensor, kind, label)
        return nodes, edges
    stack = [root]
    order = []
    while stack:
        node = stack.pop()
        if id(node) in ids:
            continue
        shapes = ", ".join(_shape(m[0]) for m in node.out_meta if m is not None)
        lines = [node.name(), shapes]
        extra = _grad_text(grads, node)
        if extra:
            lines.append(extra)
        add(node, "root" if node is root else "op", "\n".join(lines))
        order.append(node)
        for edge in node.next_edges:
            if edge is None:
                continue
            target, nr = edge
            if nr is None:
                if id(target) not in ids:
                    label, kind = leaf_label(target)
                    add(target, kind, label)
            elif id(target) not in ids:
                stack.append(target)
    seen = set()
    for node in order:
        for edge in node.next_edges:
            if edge is not None and (id(edge[0]), id(node)) not in seen:
                seen.add((id(edge[0]), id(node)))
                edges.append((ids[id(edge[0])], ids[id(node)]))
    _assign_ranks(nodes, edges)
    return nodes, edges


def _assign_ranks(nodes, edges):
    """rank = longest path (in edges) from the output: inputs sit above the ops that use them."""
    consumers = {}
    for src, dst in edges:
        consumers.setdefault(src, []).append(dst)
    users_left = {n.id: len(consumers.get(n.id, ())) for n in nodes}
    producers = {}
    for src, dst in edges:
        producers.setdefault(dst, []).append(src)
    rank = {n.id: 0 for n in nodes}
    ready = [n.id for n in nodes if users_left[n.id] == 0]
    while ready:                      # Kahn's algorithm from the output towards the inputs
        nid = ready.pop()
        for src in producers.get(nid, ()):
            rank[src] = max(rank[src], rank[nid] + 1)
            users_left[src] -= 1
            if users_left[src] == 0:
                ready.append(src)
    for n in nodes:
        n.rank = rank[n.id]


def to_dot(nodes, edges, title=None):
    """DOT source for Graphviz."""
    lines = ["digraph chainrule {", '  graph [rankdir=TB, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=10, style=filled];']
    if title:
        lines.append(f'  labelloc="t"; label="{_dot_escape(title)}";')
    for n in nodes:
        shape = "ellipse" if n.kind in ("param", "leaf") else "box"
        lines.append(f'  {n.id} [label="{_dot_escape(n.label)}", shape={shape}, '
                     f'fillcolor="{_COLORS[n.kind]}"];')
    for src, dst in edges:
        lines.append(f"  {src} -> {dst};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def draw_graph(tensor, path=None, format="svg", params=None, grads=None, renderer="auto",
               title=None):
    """Draw the graph of operations that produced ``tensor``.

    Each operation is labelled with its backward node's name (``MulBackward0``...), the shape of
    its output and, when ``grads`` gives it, the gradient that arrived there in backward. Each leaf
    shows its parameter name (from ``params``), its shape and, after backward, a summary of its
    ``.grad``.

    Args:
        tensor: the output (usually a loss) whose ``grad_fn`` graph is drawn.
        path: file to write, or None to write nothing.
        format: 'svg', 'png' or 'dot' (the DOT source itself).
        params: ``dict(model.named_parameters())``, to name the leaves.
        grads: optional ``{node: gradient or norm}`` for the op nodes (e.g. collected with
            ``node.register_prehook``; ``chainrule.explain.step`` does this).
        renderer: 'auto' (Graphviz ``dot`` when on PATH, else built in), 'graphviz' or 'builtin'.
        title: a caption.

    Returns:
        GraphDrawing: ``.dot`` (the DOT source), ``.nodes``, ``.edges``, ``.path``, ``.renderer``.

    Example:
        >>> a = chainrule.tensor([1.0, 2.0], requires_grad=True)
        >>> g = draw_graph((a * a).sum(), format="dot")
        >>> [n.label.split()[0] for n in g.nodes]
        ['SumBackward0', 'MulBackward0', 'tensor']
    """
    if format not in ("svg", "png", "dot"):
        raise ValueError(f"draw_graph: format must be 'svg', 'png' or 'dot', got {format!r}")
    if renderer not in ("auto", "graphviz", "builtin"):
        raise ValueError(f"draw_graph: renderer must be 'auto', 'graphviz' or 'builtin', "
                         f"got {renderer!r}")
    nodes, edges = build_graph(tensor, params, grads)
    drawing = GraphDrawing(to_dot(nodes, edges, title), nodes, edges)
    if path is None:
        return drawing
    path = os.fspath(path)
    drawing.path = path
    if format == "dot":
        with open(path, "w", encoding="utf-8") as f:
            f.write(drawing.dot)
        return drawing
    dot_exe = shutil.which("dot") if renderer != "builtin" else None
    if renderer == "graphviz" and dot_exe is None:
        raise RuntimeError("draw_graph: renderer='graphviz' but the Graphviz 'dot' program is "
                           "not on PATH (install graphviz, or use renderer='builtin')")
    if dot_exe is not None:
        subprocess.run([dot_exe, f"-T{format}", "-o", path], input=drawing.dot.encode(),
                       check=True, capture_output=True)
        drawing.renderer = "graphviz"
    elif format == "svg":
        with open(path, "w", encoding="utf-8") as f:
            f.write(_render_svg(drawing, title))
        drawing.renderer = "builtin"
    else:
        from .explain.plots import graph_figure, _save
        _save(graph_figure(drawing, title), path)
        drawing.renderer = "builtin"
    return drawing


# ---- the built-in layered layout ----
_ROW_H, _COL_GAP, _CHAR_W, _LINE_H, _PAD = 78, 18, 6.6, 13, 8


def layout(drawing):
    """Positions for the built-in renderer: ``{id: (x_center, y_center, width, height)}``.

    Rows are ranks (inputs at the top, the output at the bottom); inside a row, nodes are ordered
    by the mean position of the nodes they feed, which keeps most edges from crossing.
    """
    rows = {}
    for n in drawing.nodes:
        rows.setdefault(n.rank, []).append(n)
    consumers = {}
    for src, dst in drawing.edges:
        consumers.setdefault(src, []).append(dst)
    sizes = {}
    for n in drawing.nodes:
        lines = n.label.split("\n")
        sizes[n.id] = (max(len(s) for s in lines) * _CHAR_W + 2 * _PAD,
                       len(lines) * _LINE_H + 2 * _PAD)
    xs, pos = {}, {}
    for rank in sorted(rows):                 # the output row first, then upwards
        row = rows[rank]
        if rank > 0:
            row.sort(key=lambda n: np.mean([xs[c] for c in consumers.get(n.id, ()) if c in xs]
                                           or [0.0]))
        widths = [sizes[n.id][0] for n in row]
        total = sum(widths) + _COL_GAP * (len(row) - 1)
        x = -total / 2
        for n, w in zip(row, widths):
            xs[n.id] = x + w / 2
            x += w + _COL_GAP
    top = max(rows)
    min_x = min(xs[n.id] - sizes[n.id][0] / 2 for n in drawing.nodes)
    for n in drawing.nodes:
        w, h = sizes[n.id]
        pos[n.id] = (xs[n.id] - min_x + 20, (top - n.rank) * _ROW_H + 20 + h / 2, w, h)
    return pos


def _render_svg(drawing, title=None):
    pos = layout(drawing)
    width = max(x + w / 2 for x, _, w, _ in pos.values()) + 20
    height = max(y + h / 2 for _, y, _, h in pos.values()) + 20
    head = 24 if title else 0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height + head:.0f}" viewBox="0 {-head} {width:.0f} {height + head:.0f}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
           '</defs>']
    if title:
        out.append(f'<text x="10" y="-8" font-size="13">{html.escape(title)}</text>')
    for src, dst in drawing.edges:
        x1, y1, _, h1 = pos[src]
        x2, y2, _, h2 = pos[dst]
        out.append(f'<line x1="{x1:.1f}" y1="{y1 + h1 / 2:.1f}" x2="{x2:.1f}" '
                   f'y2="{y2 - h2 / 2:.1f}" stroke="#555" marker-end="url(#arrow)"/>')
    for n in drawing.nodes:
        x, y, w, h = pos[n.id]
        fill = _COLORS[n.kind]
        if n.kind in ("param", "leaf"):
            out.append(f'<ellipse cx="{x:.1f}" cy="{y:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                       f'fill="{fill}" stroke="#333"/>')
        else:
            out.append(f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" '
                       f'height="{h:.1f}" rx="4" fill="{fill}" stroke="#333"/>')
        lines = n.label.split("\n")
        y0 = y - (len(lines) - 1) * _LINE_H / 2 + 4
        for k, line in enumerate(lines):
            weight = ' font-weight="bold"' if k == 0 else ""
            out.append(f'<text x="{x:.1f}" y="{y0 + k * _LINE_H:.1f}" text-anchor="middle"'
                       f'{weight}>{html.escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
