"""See backpropagation work: one training step on one example, explained with real numbers.

``step(model, x, y, loss_fn, optimizer)`` runs forward, loss, backward and one optimizer update on a
single example and returns a ``StepExplanation`` holding the numbers at each stage. Render it with
``report.format_report`` (terminal text), ``html.write_html`` (one self-contained page) or
``plots.save_pngs`` (PNG images; needs matplotlib: ``pip install 'chainrule[plots]'``).

Example:
    >>> import chainrule as cr
    >>> from chainrule import nn, optim, explain
    >>> model = explain.default_model()
    >>> image = cr.rand(1, 28, 28)
    >>> result = explain.step(model, image, 3, nn.CrossEntropyLoss(),
    ...                       optim.SGD(model.parameters(), lr=0.1))
    >>> print(explain.format_report(result))
"""
from .core import (BackwardVisit, LayerRecord, StepExplanation, WeightGradient, backward_order,
                   default_model, leaf_modules, step)
from .report import format_report
from .command import add_arguments, explain_main

__all__ = ["step", "StepExplanation", "LayerRecord", "WeightGradient", "BackwardVisit",
           "backward_order", "leaf_modules", "default_model", "format_report", "write_html",
           "save_pngs", "add_arguments", "explain_main"]


def write_html(result, path):
    """Write the self-contained HTML report of ``result`` to ``path`` (see ``explain.html``)."""
    from .html import write_html as _write
    return _write(result, path)


def save_pngs(result, folder):
    """Write the PNG figures of ``result`` into ``folder`` (see ``explain.plots``)."""
    from .plots import save_pngs as _save
    return _save(result, folder)
