"""chainrule.viz.draw_graph on small known expressions."""
import shutil
import xml.etree.ElementTree as ET

import pytest

import chainrule as cr
from chainrule import nn
from chainrule.viz import draw_graph


def _expr():
    a = nn.Parameter(cr.tensor([1.0, 2.0, 3.0]))
    b = cr.tensor([4.0, 5.0, 6.0], requires_grad=True)
    return a, b, (a * b + a).sum()


def test_nodes_edges_and_labels():
    a, b, y = _expr()
    g = draw_graph(y, params={"a": a, "b": b})
    heads = [n.label.split("\n")[0] for n in g.nodes]
    assert sorted(heads) == sorted(["SumBackward0", "AddBackward0", "MulBackward0", "a", "b"])
    kinds = {n.label.split("\n")[0]: n.kind for n in g.nodes}
    assert kinds == {"SumBackward0": "root", "AddBackward0": "op", "MulBackward0": "op",
                     "a": "param", "b": "leaf"}
    by_head = {n.label.split("\n")[0]: n for n in g.nodes}
    assert by_head["MulBackward0"].label.split("\n")[1] == "(3,)"
    assert by_head["SumBackward0"].label.split("\n")[1] == "()"
    named = {(by_head_id, to) for by_head_id, to in g.edges}
    ids = {h: n.id for h, n in by_head.items()}
    assert named == {(ids["a"], ids["MulBackward0"]), (ids["b"], ids["MulBackward0"]),
                     (ids["MulBackward0"], ids["AddBackward0"]), (ids["a"], ids["AddBackward0"]),
                     (ids["AddBackward0"], ids["SumBackward0"])}
    # ranks: longest path from the output; a feeds Mul (rank 2) so it sits at rank 3
    assert by_head["SumBackward0"].rank == 0 and by_head["a"].rank == 3
    assert g.dot.startswith("digraph") and g.dot.count("->") == 5
    assert str(g) == g.dot and g.path is None


def test_gradient_summaries_after_backward():
    a, b, y = _expr()
    y.backward()
    g = draw_graph(y, params={"a": a}, grads={y.grad_fn: 1.0})
    by_head = {n.label.split("\n")[0]: n for n in g.nodes}
    assert "|grad| " in by_head["a"].label          # a.grad = b + 1 = [5, 6, 7]
    assert "max 7" in by_head["a"].label
    assert by_head["SumBackward0"].label.endswith("|grad| 1")
    assert "|grad|" not in by_head["MulBackward0"].label


def test_leaf_only():
    t = cr.ones(2, 2, requires_grad=True)
    g = draw_graph(t)
    assert len(g.nodes) == 1 and g.edges == [] and g.nodes[0].kind == "leaf"


@pytest.mark.parametrize("fmt", ["svg", "png", "dot"])
def test_builtin_files(tmp_path, fmt):
    _, _, y = _expr()
    path = tmp_path / f"graph.{fmt}"
    g = draw_graph(y, path, format=fmt, renderer="builtin", title="y = sum(a b + a)")
    data = path.read_bytes()
    assert len(data) > 100 and g.path == str(path)
    if fmt == "svg":
        root = ET.fromstring(data)
        assert root.tag.endswith("svg")
        assert b"MulBackward0" in data and g.renderer == "builtin"
    elif fmt == "png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert data.decode() == g.dot


def test_graphviz_renderer(tmp_path):
    _, _, y = _expr()
    if shutil.which("dot") is None:
        with pytest.raises(RuntimeError, match="Graphviz"):
            draw_graph(y, tmp_path / "g.svg", renderer="graphviz")
    else:
        g = draw_graph(y, tmp_path / "g.svg", renderer="graphviz")
        assert g.renderer == "graphviz" and (tmp_path / "g.svg").stat().st_size > 0


def test_bad_arguments():
    _, _, y = _expr()
    with pytest.raises(ValueError, match="format"):
        draw_graph(y, format="jpg")
    with pytest.raises(ValueError, match="renderer"):
        draw_graph(y, renderer="tikz")


def test_model_graph_names_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss = model(cr.randn(2, 3)).sum()
    g = draw_graph(loss, params=dict(model.named_parameters()))
    names = {n.label.split("\n")[0] for n in g.nodes if n.kind == "param"}
    assert names == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert "<svg" in g.to_svg()
