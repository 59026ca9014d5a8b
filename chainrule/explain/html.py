"""One self-contained HTML page for an explained training step.

Everything is inline: figures as base64 PNG (when matplotlib is installed), the computation graph
as SVG drawn by chainrule itself. The page loads nothing from the network.
"""
import base64
import html

import numpy as np

__all__ = ["render_html", "write_html"]

_CSS = """
body { font-family: Helvetica, Arial, sans-serif; max-width: 1000px; margin: 2em auto;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td:first-child, th:first-child, td.l { text-align: left; }
th { background: #f3f3f3; } .big { font-size: 1.1em; } .wrong { color: #b3261e; }
.right { color: #1e7b3a; } .graph { overflow: auto; border: 1px solid #ddd; max-height: 900px; }
img { max-width: 100%; } code { background: #f3f3f3; padding: 0 3px; }
"""


def _e(x):
    return html.escape(str(x))


def _g(v, digits=3):
    return "-" if v is None else f"{v:.{digits}g}"


def _table(header, rows):
    out = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _figures(result):
    try:
        from . import plots
        figs = {"probabilities": plots.probabilities_figure(result),
                "grad_norms": plots.grad_norm_figure(result),
                "saliency": plots.saliency_figure(result)}
        return {k: base64.b64encode(plots.figure_png_bytes(f)).decode("ascii")
                for k, f in figs.items()}
    except ImportError:
        return {}


def _img(figs, name, alt):
    if name not in figs:
        return "<p><em>(figure omitted: pip install 'chainrule[plots]' for matplotlib)</em></p>"
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{figs[name]}"></p>'


def render_html(result, title="One step of backpropagation"):
    """The HTML page of a ``StepExplanation``, as a string."""
    r = result
    figs = _figures(r)
    true_name, pred_name = r.class_name(r.true_class), r.class_name(r.predicted_class)
    ok = r.predicted_class == r.true_class
    p = [f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{_e(title)}</title>"
         f"<style>{_CSS}</style></head><body>", f"<h1>{_e(title)}</h1>"]
    p.append(f"<p class='big'>The network guesses <b class='{'right' if ok else 'wrong'}'>"
             f"{_e(pred_name)}</b> ({r.probs_before[r.predicted_class]:.2f}); the true class "
             f"is <b>{_e(true_name)}</b> ({r.true_prob_before:.2f}). Backpropagation works out "
             "how much each weight contributed to this answer; one step of gradient descent "
             "then nudges the weights so that the mistake becomes less likely.</p>")

    p.append("<h2>1. Forward: the example flows through the layers</h2>")
    p.append(_table(["layer", "type", "output shape", "mean", "std", "min", "max", "zeros"],
                    [(la.name, la.kind, tuple(la.output_shape), _g(la.mean), _g(la.std),
                      _g(la.min), _g(la.max), f"{la.frac_zero:.0%}") for la in r.layers]))
    p.append(_img(figs, "probabilities", "class probabilities before and after the step"))

    p.append("<h2>2. Loss: one number for how wrong the guess is</h2>")
    p.append(f"<p><code>{_e(r.loss_name)}</code> = <b>{r.loss_before:.4g}</b>. "
             f"{_e(r.loss_sentence)}</p>")

    p.append("<h2>3. Backward: who is to blame</h2>")
    p.append(f"<p>{_e(r.order_explanation)}</p>")
    checked = " (checked against the engine's actual run)" if r.order_verified else ""
    p.append(f"<p>The engine visited {len(r.backward_order)} operations in this "
             f"order{checked}:</p>")
    p.append(_table(["#", "operation", "output shape", "|gradient arriving|", "output of layer",
                     "fills .grad of"],
                    [(v.position + 1, v.name, v.output_shapes[0] if v.output_shapes else "",
                      _g(v.grad_norm), v.layer or "", ", ".join(v.params))
                     for v in r.backward_order]))
    p.append("<p>Gradients per layer: the gradient arriving at the layer's output, and the norms "
             "of its parameters' gradients.</p>")
    p.append(_table(["layer", "type", "|dL/d output|", "|dL/d weight|", "|dL/d bias|"],
                    [(la.name, la.kind, _g(la.grad_output_norm),
                      _g(la.param_grad_norms.get("weight")), _g(la.param_grad_norms.get("bias")))
                     for la in r.layers]))
    p.append(_img(figs, "grad_norms", "gradient norm per layer"))
    p.append("<p>The weights with the largest |gradient|: the connections that contributed most "
             "to the loss, and their values after the step.</p>")
    p.append(_table(["parameter", "index", "value", "gradient", "after the step"],
                    [(w.param, w.index, f"{w.value:.4g}", f"{w.grad:.3g}", f"{w.new_value:.4g}")
                     for w in r.top_weights]))
    p.append("<p>Saliency: |d loss / d input| for every input value; bright pixels are those "
             "whose change would move the loss most.</p>")
    p.append(_img(figs, "saliency", "input and saliency map"))
    if r.graph is not None:
        p.append("<p>The computation graph (arrows point forward; backpropagation walks them "
                 "in reverse, from the loss at the bottom to the weights at the top):</p>")
        p.append(f"<div class='graph'>{r.graph.to_svg()}</div>")

    p.append("<h2>4. Update: gradient descent nudges every weight</h2>")
    after = r.predicted_after if r.predicted_after is not None else r.predicted_class
    p.append(f"<p><code>{_e(r.optimizer)}.step()</code> moved each weight against its "
             "gradient. The same example again:</p>")
    p.append(_table(["", "before", "after"],
                    [("loss", f"{r.loss_before:.4g}", f"{r.loss_after:.4g}"),
                     (f"p({true_name})", f"{r.true_prob_before:.3f}", f"{r.true_prob_after:.3f}"),
                     ("prediction", pred_name, r.class_name(after))]))
    gained = r.true_prob_after > r.true_prob_before
    p.append("<p>" + ("The true class gained probability: the mistake became less likely."
                      if gained else "The true class did not gain probability; a smaller "
                      "learning rate may help.") + "</p>")
    p.append("<p><small>All numbers come from chainrule's own engine: "
             f"{int(np.prod(r.input.shape))} input values, {len(r.param_grad_norms)} parameter "
             "tensors.</small></p></body></html>")
    return "\n".join(p) + "\n"


def write_html(result, path, title="One step of backpropagation"):
    """Write ``render_html(result)`` to ``path``; returns the path."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_html(result, title))
    return path
