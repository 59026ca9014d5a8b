"""PNG figures of a training run, drawn with matplotlib (an optional extra:
``pip install 'chainrule[plots]'``).

Each ``*_figure`` function returns a matplotlib Figure; ``write_run_plots`` writes the set that
``chainrule train`` puts in ``<run>/plots``.
"""
import os

import numpy as np

from ..explain.plots import _pyplot, figure_png_bytes

__all__ = ["curves_figure", "confusion_figure", "samples_figure", "reconstructions_figure",
           "filters_figure", "write_run_plots", "require_matplotlib"]


def require_matplotlib():
    """Import matplotlib's pyplot (Agg backend) or raise ImportError naming the extra."""
    try:
        return _pyplot()
    except ImportError:
        raise ImportError("drawing plots needs matplotlib: pip install 'chainrule[plots]'") \
            from None


def curves_figure(history):
    """Loss (and accuracy, for a classifier) per epoch, train and validation.

    Args:
        history: epoch records as ``Trainer.history`` (keys ``train_loss``, ``val_loss``,
            ``train_acc``, ``val_acc``).
    """
    plt = require_matplotlib()
    epochs = [r["epoch"] for r in history]
    panels = [("loss", "loss")] + ([("acc", "accuracy")] if "train_acc" in history[0] else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = [r.get(f"{split}_{key}") for r in history]
            if all(v is not None for v in values):
                ax.plot(epochs, values, style, label="validation" if split == "val" else split)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel(label)
        ax.set_title(label.capitalize())
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_figure(confusion, classes):
    """The confusion matrix ``(C, C)`` (rows: true class, columns: predicted) with counts."""
    plt = require_matplotlib()
    confusion = np.asarray(confusion)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n + 2, 0.55 * n + 2))
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = confusion.max() if confusion.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if confusion[i, j] > top / 2 else "black")
    accuracy = np.trace(confusion) / max(1, confusion.sum())
    ax.set_title(f"Confusion matrix (test accuracy {100 * accuracy:.1f} %)")
    fig.tight_layout()
    return fig


def _show(ax, image):
    """Draw a ``(C, H, W)`` image in [0, 1]."""
    image = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.moveaxis(image, 0, -1))
    ax.set_xticks([])
    ax.set_yticks([])


def samples_figure(images, predicted, targets, classes, columns=8):
    """A grid of test images titled ``predicted / true`` (red where wrong).

    Shape: images ``(N, C, H, W)`` in [0, 1]; predicted, targets ``(N,)``.
    """
    plt = require_matplotlib()
    n = len(images)
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.45 * columns, 1.65 * rows),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        _show(ax, images[k])
        ok = predicted[k] == targets[k]
        ax.set_title(f"{classes[predicted[k]]}\n({classes[targets[k]]})", fontsize=6.5,
                     color="black" if ok else "red")
    fig.suptitle("Test images: predicted (true)", fontsize=9)
    fig.tight_layout()
    return fig


def reconstructions_figure(originals, reconstructions):
    """Autoencoder originals (top row) and their reconstructions (bottom row).

    Shape: both ``(N, C, H, W)`` in [0, 1].
    """
    plt = require_matplotlib()
    n = len(originals)
    fig, axes = plt.subplots(2, n, figsize=(1.2 * n, 2.7), squeeze=False)
    for k in range(n):
        _show(axes[0, k], originals[k])
        _show(axes[1, k], reconstructions[k])
    axes[0, 0].set_ylabel("original", fontsize=8)
    axes[1, 0].set_ylabel("reconstructed", fontsize=8)
    fig.suptitle("Autoencoder: test images and reconstructions", fontsize=9)
    fig.tight_layout()
    return fig


def filters_figure(weight, columns=8):
    """The first convolution's filters, each scaled to its own range.

    Shape: weight ``(out_channels, in_channels, kH, kW)``; colour filters (3 input channels)
    are drawn in colour, others as the mean over input channels.
    """
    plt = require_matplotlib()
    weight = np.asarray(weight, dtype=np.float32)
    n = weight.shape[0]
    rows = max(1, -(-n // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.0 * columns, 1.0 * rows + 0.5),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k >= n:
            continue
        w = weight[k] if weight.shape[1] == 3 else weight[k].mean(axis=0, keepdims=True)
        lo, hi = w.min(), w.max()
        _show(ax, (w - lo) / (hi - lo + 1e-12))
    fig.suptitle(f"First-layer convolution filters ({n} x {weight.shape[1]} x "
                 f"{weight.shape[2]} x {weight.shape[3]})", fontsize=9)
    fig.tight_layout()
    return fig


def _first_conv(model):
    from ..nn import Conv2d
    return next((m for m in model.modules() if isinstance(m, Conv2d)), None)


def _save(fig, folder, name):
    path = os.path.join(folder, f"{name}.png")
    with open(path, "wb") as f:
        f.write(figure_png_bytes(fig))
    return path


def write_run_plots(folder, model, history, splits, test, model_name, samples=24):
    """Write the run's figures into ``folder``: ``curves.png``, ``filters.png`` (a model with a
    convolution), and ``confusion.png`` + ``samples.png`` (classifier) or
    ``reconstructions.png`` (autoencoder).

    Args:
        model: the trained model; history: ``Trainer.history``; splits: the run's ``Splits``;
        test: the test-set result of ``Trainer.evaluate``; model_name: ``config.model``.

    Returns:
        dict: figure name -> path.

    Raises:
        ImportError: matplotlib is not installed (the message names the pip command).
    """
    require_matplotlib()
    from .. import no_grad
    os.makedirs(folder, exist_ok=True)
    written = {}
    if history:
        written["curves"] = _save(curves_figure(history), folder, "curves")
    conv = _first_conv(model)
    if conv is not None:
        written["filters"] = _save(filters_figure(conv.weight.data), folder, "filters")
    from ..tensor import Tensor
    x, y = splits.test.tensors
    if model_name == "autoencoder":
        samples = min(samples, 10)
    # spread over the test set, which may be stored sorted by class
    idx = np.unique(np.linspace(0, len(y) - 1, min(samples, len(y))).astype(np.int64))
    model.eval()
    with no_grad():
        out = model(Tensor._make(x.data[idx])).data
    if model_name == "autoencoder":
        written["reconstructions"] = _save(
            reconstructions_figure(splits.test_raw[idx], out), folder, "reconstructions")
    else:
        classes = splits.info.classes
        written["confusion"] = _save(confusion_figure(test["confusion"], classes), folder,
                                     "confusion")
        written["samples"] = _save(samples_figure(splits.test_raw[idx], out.argmax(-1),
                                                  y.data[idx], classes), folder, "samples")
    return written
