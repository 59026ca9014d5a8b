"""The terminal report of one explained training step."""
import numpy as np

__all__ = ["format_report"]


def _g(v, digits=3):
    return "-" if v is None else f"{v:.{digits}g}"


def _rule(title):
    return f"\n== {title} " + "=" * max(0, 76 - len(title))


def _shape(shape):
    return str(tuple(int(s) for s in shape))


def _prob_line(result, probs, top=3):
    order = np.argsort(-probs)[:top]
    return ", ".join(f"{result.class_name(k)} {probs[k]:.2f}" for k in order)


def format_report(result, max_nodes=40):
    """Render a ``StepExplanation`` as plain text for a terminal (about 80 columns).

    Args:
        result: what ``chainrule.explain.step`` returned.
        max_nodes: how many backward visits to list before eliding the middle.
    """
    r = result
    true_name, pred_name = r.class_name(r.true_class), r.class_name(r.predicted_class)
    out = []
    verdict = "right" if r.predicted_class == r.true_class else "wrong"
    out.append(f"One training step on one example (true class: {true_name}).")
    out.append(f"The network says {pred_name} ({r.probs_before[r.predicted_class]:.2f}); the "
               f"true class {true_name} gets {r.true_prob_before:.2f}. The guess is {verdict}.")

    out.append(_rule("1. Forward: the example flows through the layers"))
    out.append(f"input {_shape(r.input.shape)}: mean {r.input.mean():.3g}, "
               f"range [{r.input.min():.3g}, {r.input.max():.3g}]")
    out.append(f"{'layer':<16}{'type':<14}{'output shape':<18}{'mean':>9}{'std':>9}"
               f"{'max':>9}{'zeros':>8}")
    for layer in r.layers:
        out.append(f"{layer.name:<16.16}{layer.kind:<14.14}{_shape(layer.output_shape):<18}"
                   f"{layer.mean:>9.3g}{layer.std:>9.3g}{layer.max:>9.3g}"
                   f"{layer.frac_zero:>8.0%}")
    out.append(f"predicted {pred_name} {r.probs_before[r.predicted_class]:.2f}, "
               f"true {true_name} {r.true_prob_before:.2f}")
    out.append(f"top classes: {_prob_line(r, r.probs_before)}")

    out.append(_rule("2. Loss: one number for how wrong the guess is"))
    out.append(f"{r.loss_name} = {r.loss_before:.4g}")
    out.append(_wrap(r.loss_sentence))

    out.append(_rule("3. Backward: how much each weight contributed to the mistake"))
    out.append(_wrap(r.order_explanation))
    out.append(f"The engine visited {len(r.backward_order)} operations, in this order:")
    visits = r.backward_order
    shown = visits if len(visits) <= max_nodes else \
        visits[:max_nodes // 2] + [None] + visits[-max_nodes // 2:]
    for v in shown:
        if v is None:
            out.append(f"  ... {len(visits) - max_nodes} more ...")
            continue
        notes = ([f"output of layer {v.layer}"] if v.layer else []) + \
            [f"-> {p}.grad" for p in v.params]
        shapes = ", ".join(_shape(s) for s in v.output_shapes[:1])
        line = f"  {v.position + 1:>3}. {v.name:<22}{shapes:<16}|grad| {v.grad_norm:<9.3g}"
        note = "; ".join(notes)
        if len(line) + len(note) > 96:
            out.append(line.rstrip())
            line = " " * 8
        out.append((line + note).rstrip())
    if r.order_verified is not None:
        out.append("  (checked: the engine ran the nodes in exactly this order)"
                   if r.order_verified else "  (warning: the recorded run differed)")
    out.append("")
    out.append("Gradient arriving at each layer's output, and the gradients of its parameters:")
    out.append(f"{'layer':<16}{'type':<14}{'|dL/d out|':>12}{'|dL/d weight|':>15}"
               f"{'|dL/d bias|':>13}")
    for layer in r.layers:
        w = layer.param_grad_norms.get("weight")
        b = layer.param_grad_norms.get("bias")
        out.append(f"{layer.name:<16.16}{layer.kind:<14.14}{_g(layer.grad_output_norm):>12}"
                   f"{_g(w):>15}{_g(b):>13}")
    out.append("")
    out.append("Weights with the largest |gradient| (the connections most to blame):")
    out.append(f"  {'parameter':<22}{'index':<16}{'value':>10}{'gradient':>11}{'after':>10}")
    for w in r.top_weights:
        out.append(f"  {w.param:<22.22}{str(w.index):<16}{w.value:>10.4g}{w.grad:>11.3g}"
                   f"{w.new_value:>10.4g}")
    s = r.saliency
    peak = np.unravel_index(int(np.argmax(s)), s.shape) if s.size else ()
    out.append(_wrap(f"Saliency |dL/d input|: max {s.max() if s.size else 0:.3g} at "
                     f"{tuple(map(int, peak))}, mean {s.mean() if s.size else 0:.3g}: the input "
                     "values whose change would move the loss most."))

    out.append(_rule("4. Update: gradient descent nudges every weight"))
    out.append(_wrap(f"{r.optimizer}.step(): each weight moves against its gradient, so the "
                     f"loss on this example should drop."))
    out.append(f"loss                      {r.loss_before:.4g} -> {r.loss_after:.4g}")
    out.append(f"p(true class {true_name:<12.12}) {r.true_prob_before:.3f} -> "
               f"{r.true_prob_after:.3f}")
    after = r.predicted_after if r.predicted_after is not None else r.predicted_class
    out.append(f"prediction                {pred_name} -> {r.class_name(after)}")
    if r.true_prob_after > r.true_prob_before:
        out.append("The mistake became less likely: that is one step of learning.")
    else:
        out.append("The true class did not gain probability: the step was too large or the "
                   "example is already fitted; try a smaller learning rate.")
    return "\n".join(out) + "\n"


def _wrap(text, width=80):
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    if line:
        lines.append(line)
    return "\n".join(lines)
