"""Walks over the recorded graph (iterative, so a graph of any depth is fine).

A node's ``next_edges`` hold, per forward argument, ``None`` (no gradient), ``(leaf, None)`` or
``(node, output_nr)``; only node edges matter here.
"""


def count_deps(root_nodes, only):
    """Edges into each node reachable from ``root_nodes`` (counting those from ``only`` nodes, if
    given)."""
    deps = {}
    seen = set(root_nodes)
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        counts = only is None or node in only
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None:
                target = edge[0]
                if counts:
                    deps[target] = deps.get(target, 0) + 1
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
    return deps


def topological_order(root_nodes, deps):
    """The nodes in an order where every node comes before the nodes its edges lead to."""
    remaining = dict(deps)
    ready = [n for n in root_nodes if remaining.get(n, 0) == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None:
                remaining[edge[0]] -= 1
                if remaining[edge[0]] == 0:
                    ready.append(edge[0])
    return order
