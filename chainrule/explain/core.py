"""One training step taken apart: forward, loss, backward and update, with the numbers of each."""
import copy
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..autograd import grad_mode
from ..tensor import Tensor

ORDER_EXPLANATION = (
    "The engine starts at the loss and works back towards the inputs. Before it runs, it counts "
    "for every operation how many later operations used its output. An operation is visited only "
    "when all of them have sent their gradient back (its count has dropped to zero): by the chain "
    "rule its gradient is the sum of those contributions, so it must have received every one "
    "before it can pass a complete gradient on to its own inputs. Weights are leaves: their "
    "gradient lands in .grad as soon as the operation that used them is visited.")


@dataclass
class LayerRecord:
    """Forward and backward numbers for one leaf module (a layer with no sub-layers)."""
    name: str                  # path in the model, e.g. "features.0"
    kind: str                  # class name, e.g. "Conv2d"
    output_shape: tuple
    mean: float
    std: float
    min: float
    max: float
    frac_zero: float           # fraction of exactly-zero outputs (e.g. inactive ReLU units)
    grad_output_norm: float = None   # ||d loss / d output||: the gradient arriving at the layer
    param_grad_norms: dict = field(default_factory=dict)   # {"weight": ..., "bias": ...}
    param_norms: dict = field(default_factory=dict)


@dataclass
class WeightGradient:
    """One weight with a large gradient, and what the optimizer step did to it."""
    param: str                 # e.g. "classifier.weight"
    index: tuple
    value: float               # before the step
    grad: float                # d loss / d weight
    new_value: float           # after the step


@dataclass
class BackwardVisit:
    """One node of the graph in the order the engine ran it during backward."""
    position: int
    name: str                  # e.g. "Conv2dBackward0"
    output_shapes: tuple
    grad_norm: float           # norm of the gradient that arrived at its output(s)
    layer: str = None          # the layer whose output this node produced, if any
    params: tuple = ()         # parameters whose .grad this node fills


@dataclass
class StepExplanation:
    """Everything ``chainrule.explain.step`` measured; ``report.format_report`` renders it."""
    class_names: list
    true_class: int
    predicted_class: int
    probs_before: np.ndarray
    probs_after: np.ndarray
    loss_before: float
    loss_after: float
    loss_name: str
    loss_sentence: str
    layers: list
    backward_order: list
    order_explanation: str
    param_grad_norms: dict
    top_weights: list
    saliency: np.ndarray
    input: np.ndarray
    optimizer: str
    graph: object = field(default=None, repr=False)     # viz.GraphDrawing of the loss
    predicted_after: int = None
    order_verified: bool = None    # the engine really ran the nodes in ``backward_order``

    def class_name(self, k):
        return self.class_names[k] if self.class_names else str(k)

    @property
    def true_prob_before(self):
        return float(self.probs_before[self.true_class])

    @property
    def true_prob_after(self):
        return float(self.probs_after[self.true_class])


def _stats(a):
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    return (float(a.mean()), float(a.std()), float(a.min()), float(a.max()),
            float((a == 0).mean()))


def _norm(a):
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt((a * a).sum()))


def _loss_sentence(name, loss, p_true, true_name):
    low = name.lower().replace("_", "")
    if ("crossentropy" in low or "nllloss" in low) and p_true is not None:
        return (f"Cross-entropy is -log(probability given to the true class) = "
                f"-log({p_true:.3g}) = {loss:.4g}. It is 0 when the network is certain of the "
                f"right answer ({true_name}) and grows without bound as that probability falls "
                f"towards 0, so it punishes confident mistakes most.")
    if "mse" in low:
        return (f"Mean squared error = {loss:.4g}: the average squared distance between the "
                f"output and the target; 0 means a perfect match.")
    return (f"The loss ({name}) = {loss:.4g} is one number that says how wrong the output is; "
            f"training changes the weights to make it smaller.")


def _as_target(y, batched):
    if isinstance(y, Tensor):
        t = y.detach()
        return t if (batched or t.ndim > 0) else t.reshape(1)
    return Tensor(np.array([int(y)], dtype=np.int64))


def _probabilities(logits):
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    if z.size == 1:                           # one logit: a binary classifier, p(class 1)
        p1 = 1 / (1 + np.exp(-z[0]))
        return np.array([1 - p1, p1])
    e = np.exp(z - z.max())
    return e / e.sum()


def leaf_modules(model):
    """(name, module) for every module without children, in registration order."""
    return [(n or type(m).__name__, m) for n, m in model.named_modules()
            if not any(True for _ in m.children())]


def backward_order(loss):
    """The nodes of ``loss``'s graph in the order ``loss.backward()`` will run them.

    The same traversal as the engine (``chainrule/autograd/engine.py``): count the edges into
    every node, then pop ready nodes from a stack (last in, first out), a node becoming ready when
    its count drops to zero. ``step`` checks the result against the engine's actual run.
    """
    if loss.grad_fn is None:
        return []
    root = loss.grad_fn
    deps, seen, stack = {}, {root}, [root]
    while stack:
        for edge in stack.pop().next_edges:
            if edge is not None and edge[1] is not None:
                deps[edge[0]] = deps.get(edge[0], 0) + 1
                if edge[0] not in seen:
                    seen.add(edge[0])
                    stack.append(edge[0])
    order, ready = [], [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is not None and edge[1] is not None:
                deps[edge[0]] -= 1
                if deps[edge[0]] == 0:
                    ready.append(edge[0])
    return order


def step(model, x, y, loss_fn, optimizer, class_names=None, *, batched=False, top_k=8,
         train_mode=False, keep_update=True, draw=True):
    """Take one training step on one example and record what happens at every stage.

    1. forward: each layer's output shape and statistics, and the predicted probabilities;
    2. loss: its value and what it measures;
    3. backward: the order the engine visits the graph, the gradient arriving at each layer,
       per-parameter gradient norms, the weights with the largest gradients, and the saliency
       ``|d loss / d input|``;
    4. update: one ``optimizer.step()``, then the same example again (loss and probabilities).

    Args:
        model: a ``chainrule.nn.Module`` classifier (outputs logits).
        x: one example without the batch dimension (a batch of one if ``batched=True``).
        y: its true class (int or integer Tensor).
        loss_fn: e.g. ``nn.CrossEntropyLoss()`` or ``nn.functional.cross_entropy``.
        optimizer: an optimizer over ``model``'s parameters; its ``step`` is the update.
        class_names: names of the classes, for the report.
        top_k: how many of the largest weight gradients to keep.
        train_mode: run the model in training mode (default: eval mode, so dropout does not make
            the before/after comparison noisy; the mode is restored afterwards).
        keep_update: False restores the weights and optimizer state after measuring.
        draw: also build the computation graph (``result.graph``, a ``viz.GraphDrawing``).

    Returns:
        StepExplanation: the data behind the report (see ``report.format_report``).

    Example:
        >>> opt = optim.SGD(model.parameters(), lr=0.1)
        >>> result = step(model, image, 9, nn.CrossEntropyLoss(), opt,
        ...               class_names=FashionMNIST.classes)
        >>> print(format_report(result))
    """
    x = x.detach() if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
    xb = (x if batched else x.reshape((1,) + tuple(x.shape))).clone().requires_grad_(True)
    target = _as_target(y, batched)
    true_class = int(target.data.reshape(-1)[0])
    params = dict(model.named_parameters())
    param_layer = {}
    for lname, mod in leaf_modules(model):
        for pname, p in mod.named_parameters(recurse=False):
            param_layer[id(p)] = (lname, pname)
    was_training = model.training
    model.train(train_mode)
    saved_params = {n: p.data.copy() for n, p in params.items()} if not keep_update else None
    saved_optim = copy.deepcopy(optimizer.state_dict()) if not keep_update else None

    # ---- 1. forward, with a hook on every leaf module ----
    records, node_layer, handles = [], {}, []

    def forward_hook(name):
        def hook(module, args, output):
            if not isinstance(output, Tensor):
                return
            rec = LayerRecord(name, type(module).__name__, tuple(output.shape),
                              *_stats(output.data))
            for pname, p in module.named_parameters(recurse=False):
                rec.param_norms[pname] = _norm(p.data)
            records.append((rec, module))
            if output.requires_grad and grad_mode.is_grad_enabled():
                if output.grad_fn is not None:
                    node_layer[output.grad_fn] = f"{name} ({type(module).__name__})"

                def on_grad(g, rec=rec):
                    rec.grad_output_norm = _norm(g.data)
                output.register_hook(on_grad)
        return hook

    for name, mod in leaf_modules(model):
        handles.append(mod.register_forward_hook(forward_hook(name)))
    try:
        optimizer.zero_grad()
        logits = model(xb)
    finally:
        for h in handles:
            h.remove()
    loss = loss_fn(logits, target)
    if loss.ndim > 0:
        loss = loss.sum()
    probs_before = _probabilities(logits.data[0] if logits.ndim > 1 else logits.data)
    loss_before = float(loss.item())
    loss_name = getattr(loss_fn, "__name__", type(loss_fn).__name__)

    # ---- 3. backward: predicted order, and the gradient arriving at every node ----
    order = backward_order(loss)
    node_grads, ran = {}, []
    for node in order:
        for nr, meta in enumerate(node.out_meta):
            if meta is not None:
                def pre(g, node=node):
                    if node not in node_grads:
                        ran.append(node)
                        node_grads[node] = 0.0
                    node_grads[node] = float(np.sqrt(node_grads[node] ** 2 + _norm(g.data) ** 2))
                node.register_prehook(nr, pre)
    loss.backward()
    visits = []
    for k, node in enumerate(order):
        leaf_params = tuple(params_name for params_name in
                            (_param_name(params, e[0]) for e in node.next_edges
                             if e is not None and e[1] is None) if params_name)
        visits.append(BackwardVisit(k, node.name(),
                                    tuple(tuple(m[0]) for m in node.out_meta if m is not None),
                                    node_grads.get(node, 0.0), node_layer.get(node), leaf_params))
    param_grad_norms = {n: (_norm(p.grad.data) if p.grad is not None else None)
                        for n, p in params.items()}
    layers = []
    for rec, module in records:
        for pname, p in module.named_parameters(recurse=False):
            rec.param_grad_norms[pname] = _norm(p.grad.data) if p.grad is not None else None
        layers.append(rec)
    saliency = np.abs(np.asarray(xb.grad.data, dtype=np.float64)[0]) \
        if xb.grad is not None else np.zeros(tuple(xb.shape[1:]))
    if saliency.ndim >= 3:                     # (C, H, W): the strongest channel per pixel
        saliency = saliency.max(axis=0)
    top = _top_gradients(params, top_k)
    graph = None
    if draw:
        from ..viz import draw_graph
        graph = draw_graph(loss, params={**params, "input": xb}, grads=node_grads,
                           title=f"loss = {loss_before:.4g}")

    # ---- 4. update, then the same example again ----
    optimizer.step()
    with grad_mode.no_grad():
        logits_after = model(xb.detach())
        loss_after = loss_fn(logits_after, target)
    probs_after = _probabilities(logits_after.data[0] if logits_after.ndim > 1
                                 else logits_after.data)
    for w in top:
        w.new_value = float(params[w.param].data[w.index])
    if not keep_update:
        for n, p in params.items():
            p.data[...] = saved_params[n]
        optimizer.load_state_dict(saved_optim)
    model.train(was_training)
    return StepExplanation(
        class_names=list(class_names) if class_names is not None else None,
        true_class=true_class, predicted_class=int(np.argmax(probs_before)),
        probs_before=probs_before, probs_after=probs_after, loss_before=loss_before,
        loss_after=float(loss_after.data.sum()), loss_name=loss_name,
        loss_sentence=_loss_sentence(loss_name, loss_before, float(probs_before[true_class])
                                     if true_class < len(probs_before) else None,
                                     class_names[true_class] if class_names else str(true_class)),
        layers=layers, backward_order=visits, order_explanation=ORDER_EXPLANATION,
        param_grad_norms=param_grad_norms, top_weights=top, saliency=saliency,
        input=np.asarray(x.data if batched is False else x.data[0], dtype=np.float64),
        optimizer=_describe_optimizer(optimizer), graph=graph,
        predicted_after=int(np.argmax(probs_after)),
        order_verified=[n for n in order if n in node_grads] == ran)


def _param_name(params, tensor):
    for n, p in params.items():
        if p is tensor:
            return n
    return None


def _top_gradients(params, k):
    entries = []
    for n, p in params.items():
        if p.grad is None:
            continue
        g = np.abs(np.asarray(p.grad.data, dtype=np.float64)).reshape(-1)
        take = min(k, g.size)
        for flat in np.argpartition(-g, take - 1)[:take]:
            entries.append((g[flat], n, flat))
    entries.sort(key=lambda e: -e[0])
    out = []
    for _, n, flat in entries[:k]:
        p = params[n]
        index = tuple(int(i) for i in np.unravel_index(flat, p.data.shape))
        out.append(WeightGradient(n, index, float(p.data[index]), float(p.grad.data[index]),
                                  float(p.data[index])))
    return out


def _describe_optimizer(optimizer):
    group = optimizer.param_groups[0]
    keys = [k for k in ("lr", "momentum", "betas", "weight_decay") if k in group]
    return f"{type(optimizer).__name__}(" + ", ".join(f"{k}={group[k]}" for k in keys) + ")"


def default_model(num_classes=10, in_channels=1):
    """The tiny CNN ``chainrule explain`` uses when no model is given (28x28 inputs)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, num_classes))
