"""chainrule.explain: one training step on a tiny CNN, explained with the engine's own numbers."""
import argparse
import types

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import explain, nn, optim

CLASSES = ["cat", "dog", "bird"]


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(2 * 4 * 4, 3))


def _torch_cnn(model):
    t = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32, 3))
    with torch.no_grad():
        for (n, p), (tn, tp) in zip(model.named_parameters(), t.named_parameters()):
            assert n == tn
            tp.copy_(torch.from_numpy(p.data.copy()))
    return t


@pytest.fixture(scope="module")
def run():
    cr.manual_seed(0)
    model = _cnn()
    x = cr.rand(1, 8, 8)
    torch_model = _torch_cnn(model)
    # the gradient at the classifier, by hand through hooks, on the weights before the step
    seen = {}

    def hook(module, args, out):
        seen["inp"] = args[0].data.copy()
        out.register_hook(lambda g: seen.update(g=g.data.copy()))

    h1 = model[4].register_forward_hook(hook)
    loss = nn.CrossEntropyLoss()(model(x.reshape(1, 1, 8, 8)), cr.tensor([1]))
    loss.backward()
    h1.remove()
    model.zero_grad()
    result = explain.step(model, x, 1, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), 0.5),
                          class_names=CLASSES)
    return types.SimpleNamespace(model=model, x=x, torch_model=torch_model, seen=seen,
                                 result=result)


def test_forward_records(run):
    r = run.result
    assert [(la.name, la.kind, la.output_shape) for la in r.layers] == [
        ("0", "Conv2d", (1, 2, 8, 8)), ("1", "ReLU", (1, 2, 8, 8)),
        ("2", "MaxPool2d", (1, 2, 4, 4)), ("3", "Flatten", (1, 32)), ("4", "Linear", (1, 3))]
    assert r.probs_before.shape == (3,) and r.probs_before.sum() == pytest.approx(1.0)
    assert r.true_class == 1 and r.class_name(1) == "dog"
    assert r.predicted_class == int(np.argmax(r.probs_before))
    assert r.loss_before == pytest.approx(-np.log(r.true_prob_before), rel=1e-5)
    assert "-log(" in r.loss_sentence
    relu = r.layers[1]
    assert relu.min >= 0 and 0 <= relu.frac_zero <= 1


def test_gradient_norms_match_hooks_and_torch(run):
    r = run.result
    g, inp = run.seen["g"], run.seen["inp"]
    lin = r.layers[4]
    assert lin.grad_output_norm == pytest.approx(np.linalg.norm(g), rel=1e-5)
    assert lin.param_grad_norms["weight"] == pytest.approx(np.linalg.norm(g.T @ inp), rel=1e-5)
    assert lin.param_grad_norms["bias"] == pytest.approx(np.linalg.norm(g.sum(0)), rel=1e-5)
    tx = torch.from_numpy(run.x.data.reshape(1, 1, 8, 8).copy())
    torch.nn.functional.cross_entropy(run.torch_model(tx), torch.tensor([1])).backward()
    for name, p in run.torch_model.named_parameters():
        assert r.param_grad_norms[name] == pytest.approx(p.grad.norm().item(), rel=1e-4), name
    conv = r.layers[0]
    assert conv.param_grad_norms["weight"] == pytest.approx(r.param_grad_norms["0.weight"])
    # the largest |gradient| comes first and the step moved it against its gradient by lr * grad
    top = r.top_weights[0]
    assert abs(top.grad) == max(abs(w.grad) for w in r.top_weights)
    assert top.new_value == pytest.approx(top.value - 0.5 * top.grad, rel=1e-4, abs=1e-6)
    assert r.saliency.shape == (8, 8) and (r.saliency >= 0).all() and r.saliency.max() > 0


def test_backward_order_is_the_engines(run):
    r = run.result
    assert r.order_verified is True
    assert r.backward_order[0].name == r.graph.nodes[0].label.split("\n")[0]
    assert r.backward_order[-1].name == "Conv2dBackward0"
    assert "0.weight" in r.backward_order[-1].params
    assert any(v.layer == "4 (Linear)" for v in r.backward_order)
    assert "every" in r.order_explanation
    # independently: record the engine's run with node pre-hooks on a fresh graph
    model = _cnn()
    loss = nn.CrossEntropyLoss()(model(cr.randn(2, 1, 8, 8)), cr.tensor([0, 2]))
    predicted = explain.backward_order(loss)
    ran = []
    for node in predicted:
        node.register_prehook(0, lambda g, node=node: ran.append(node))
    loss.backward()
    assert ran == predicted
    position = {node: k for k, node in enumerate(predicted)}
    for node in predicted:            # every consumer is visited before what it consumes
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None:
                assert position[edge[0]] > position[node]


def test_update_makes_true_class_more_likely(run):
    r = run.result
    assert r.true_prob_after > r.true_prob_before
    assert r.loss_after < r.loss_before
    assert r.probs_after.sum() == pytest.approx(1.0)


def test_keep_update_false_restores_weights():
    model = _cnn()
    before = {n: p.data.copy() for n, p in model.named_parameters()}
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    r = explain.step(model, cr.rand(1, 8, 8), 2, nn.functional.cross_entropy, opt,
                     keep_update=False, draw=False)
    assert r.true_prob_after != r.true_prob_before and r.graph is None
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, before[n])
    assert model.training and r.loss_name == "cross_entropy"


def test_mlp_and_report_text(run):
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    r = explain.step(model, cr.randn(4), cr.tensor(0), nn.CrossEntropyLoss(),
                     optim.SGD(model.parameters(), lr=0.1))
    assert r.saliency.shape == (4,)
    text = explain.format_report(run.result)
    for phrase in ("1. Forward", "2. Loss", "3. Backward", "4. Update", "predicted",
                   "true dog", "Conv2dBackward0", "0.weight", "checked"):
        assert phrase in text, phrase
    assert max(len(line) for line in text.splitlines()) <= 100


def test_html_and_png_outputs(run, tmp_path):
    page = explain.write_html(run.result, tmp_path / "r.html")
    text = open(page, encoding="utf-8").read()
    assert len(text) > 5000 and text.count("data:image/png;base64,") == 3
    assert "<svg" in text and "Conv2dBackward0" in text
    assert "<script" not in text and 'src="http' not in text and "<link" not in text
    pngs = explain.save_pngs(run.result, tmp_path / "png")
    assert set(pngs) == {"grad_norms", "saliency", "probabilities", "graph"}
    for path in pngs.values():
        data = open(path, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_explain_main(tmp_path):
    rng = np.random.default_rng(0)
    data = types.SimpleNamespace(data=cr.tensor(rng.integers(0, 255, (6, 8, 8)).astype(np.uint8)),
                                 targets=cr.tensor(np.array([0, 1, 2, 0, 1, 2])), classes=CLASSES)
    parser = explain.add_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--out", str(tmp_path), "--lr", "0.1"])
    lines = []
    assert explain.explain_main(args, model=_cnn(), dataset=data, log=lines.append) == 0
    assert any("3. Backward" in line for line in lines)
    for name in ("report.html", "graph.dot", "saliency.png", "grad_norms.png"):
        assert (tmp_path / name).stat().st_size > 0
    with pytest.raises(IndexError, match="out of range"):
        explain.explain_main(parser.parse_args(["--index", "99"]), model=_cnn(), dataset=data,
                             log=lines.append)
