"""Figures of one explained training step (matplotlib, Agg backend; written to PNG files).

Needs matplotlib: ``pip install 'chainrule[plots]'``.
"""
import io
import os

import numpy as np

__all__ = ["grad_norm_figure", "saliency_figure", "probabilities_figure", "graph_figure",
           "save_pngs", "figure_png_bytes"]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("chainrule.explain.plots needs matplotlib: "
                          "pip install 'chainrule[plots]'") from None
    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps", "cairo"):
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def grad_norm_figure(result):
    """Bar chart: the gradient norm of each layer's weights and biases, first layer on the left."""
    plt = _pyplot()
    layers = [layer for layer in result.layers if layer.param_grad_norms]
    names = [f"{layer.name}\n{layer.kind}" for layer in layers]
    w = [layer.param_grad_norms.get("weight") or 0.0 for layer in layers]
    b = [layer.param_grad_norms.get("bias") or 0.0 for layer in layers]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(layers) + 2), 3.4))
    xs = np.arange(len(layers))
    ax.bar(xs - 0.2, w, 0.4, label="weight", color="#3b7dd8")
    ax.bar(xs + 0.2, b, 0.4, label="bias", color="#f0a030")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, fontsize=8)
    ax.set_ylabel("|d loss / d parameter|")
    ax.set_title("Gradient norm per layer")
    if any(v > 0 for v in w + b) and max(w + b) / max(min(v for v in w + b if v > 0), 1e-30) > 1e3:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _as_image(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else np.moveaxis(a, 0, -1)
    elif a.ndim == 1:
        a = a[None, :]
    elif a.ndim > 2:
        a = a.reshape(a.shape[-2], -1) if a.ndim == 3 else a.reshape(-1)[None, :]
    return a


def saliency_figure(result):
    """The input and its saliency map |d loss / d input| side by side."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.2))
    img = _as_image(result.input)
    if img.ndim == 3:
        lo, hi = img.min(), img.max()
        axes[0].imshow((img - lo) / (hi - lo + 1e-12))
    else:
        axes[0].imshow(img, cmap="gray")
    axes[0].set_title(f"input (true: {result.class_name(result.true_class)})", fontsize=9)
    sal = axes[1].imshow(_as_image(result.saliency), cmap="hot")
    axes[1].set_title("saliency |d loss / d input|", fontsize=9)
    fig.colorbar(sal, ax=axes[1], fraction=0.046)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def probabilities_figure(result):
    """Class probabilities before and after the update; the true class is marked."""
    plt = _pyplot()
    n = len(result.probs_before)
    names = [result.class_name(k) for k in range(n)]
    fig, ax = plt.subplots(figsize=(max(4.5, 0.7 * n + 1.5), 3.4))
    xs = np.arange(n)
    ax.bar(xs - 0.2, result.probs_before, 0.4, label="before the step", color="#9aa5b1")
    ax.bar(xs + 0.2, result.probs_after, 0.4, label="after the step", color="#2e9e5b")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.get_xticklabels()[result.true_class].set_fontweight("bold")
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability")
    ax.set_title(f"p(true = {result.class_name(result.true_class)}): "
                 f"{result.true_prob_before:.2f} -> {result.true_prob_after:.2f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def graph_figure(drawing, title=None):
    """Draw a ``viz.GraphDrawing`` with matplotlib, using chainrule's layered layout."""
    plt = _pyplot()
    from ..viz import _COLORS, layout
    pos = layout(drawing)
    width = max(x + w / 2 for x, _, w, _ in pos.values()) + 20
    height = max(y + h / 2 for _, y, _, h in pos.values()) + 20
    scale = 1 / 72
    fig = plt.figure(figsize=(max(3.0, width * scale), max(2.0, height * scale)))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    for src, dst in drawing.edges:
        x1, y1, _, h1 = pos[src]
        x2, y2, _, h2 = pos[dst]
        ax.annotate("", xy=(x2, y2 - h2 / 2), xytext=(x1, y1 + h1 / 2),
                    arrowprops=dict(arrowstyle="->", color="#555", lw=0.8))
    for node in drawing.nodes:
        x, y, _, _ = pos[node.id]
        style = "round,pad=0.3" if node.kind in ("param", "leaf") else "square,pad=0.3"
        ax.text(x, y, node.label, ha="center", va="center", fontsize=7,
                bbox=dict(boxstyle=style, fc=_COLORS[node.kind], ec="#333", lw=0.6))
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def figure_png_bytes(fig, dpi=110):
    """Render a figure to PNG bytes and close it."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _save(fig, path, dpi=110):
    with open(path, "wb") as f:
        f.write(figure_png_bytes(fig, dpi))
    return path


def save_pngs(result, folder):
    """Write grad_norms.png, saliency.png, probabilities.png and graph.png into ``folder``.

    Returns:
        dict: figure name -> path written.
    """
    os.makedirs(folder, exist_ok=True)
    figures = {"grad_norms": grad_norm_figure(result), "saliency": saliency_figure(result),
               "probabilities": probabilities_figure(result)}
    if result.graph is not None:
        figures["graph"] = graph_figure(result.graph)
    # the graph is drawn at 1 px per layout unit: big graphs stay a reasonable file size
    return {name: _save(fig, os.path.join(folder, f"{name}.png"), 72 if name == "graph" else 110)
            for name, fig in figures.items()}
