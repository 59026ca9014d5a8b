"""Training diagnostics: record what the gradients and weights do, then say in words what is wrong.

``Diagnostics(model, optimizer)`` hooks into the model (ReLU activity) and is told about each
backward and each optimizer step. ``report()`` turns the records into verdicts with numbers and a
suggested fix, for: vanishing gradients, exploding gradients, dead ReLUs, layers that do not learn
(tiny update/weight ratios) and a learning rate that is too high (loss diverging or NaN).

Example:
    >>> diag = Diagnostics(model, optimizer)
    >>> for x, y in loader:
    ...     loss = loss_fn(model(x), y)
    ...     optimizer.zero_grad()
    ...     loss.backward()
    ...     diag.on_backward(loss)
    ...     optimizer.step()
    ...     diag.on_step()
    >>> print(diag.report())
"""
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Diagnostics", "DiagnosisReport", "Verdict", "THRESHOLDS"]

# The verdict thresholds (documented in ``Diagnostics``); change them here or per instance.
THRESHOLDS = dict(
    vanishing_ratio=1e-3,      # first-layer / last-layer RMS weight gradient below this
    exploding_norm=1e3,        # total gradient norm above this
    exploding_ratio=1e3,       # first-layer / last-layer RMS weight gradient above this
    dead_fraction=0.4,         # share of ReLU units never active above this
    min_update_ratio=1e-5,     # ||update|| / ||weight|| below this (healthy: about 1e-3)
    diverging_factor=1.5,      # mean loss of the last quarter / first quarter above this
)


@dataclass
class Verdict:
    """One finding: ``kind`` names the pathology, ``message`` says it with numbers."""
    kind: str          # vanishing_gradients, exploding_gradients, dead_relu, not_learning,
    #                    no_gradient, lr_too_high
    message: str
    fix: str
    layer: str = None
    value: float = None

    def __str__(self):
        return f"[{self.kind}] {self.message}\n    fix: {self.fix}"


@dataclass
class DiagnosisReport:
    """What ``Diagnostics.report()`` returns: verdicts plus a per-layer table of medians."""
    verdicts: list
    layers: list = field(default_factory=list)   # dicts: layer, grad_norm, weight_norm, ...
    steps: int = 0

    @property
    def ok(self):
        return not self.verdicts

    @property
    def kinds(self):
        return {v.kind for v in self.verdicts}

    def __str__(self):
        lines = [f"Diagnostics over {self.steps} recorded backward pass(es)."]
        if self.layers:
            lines.append(f"{'layer':<20}{'grad norm':>11}{'weight norm':>13}{'update/weight':>15}"
                         f"{'dead ReLU':>11}")
            for row in self.layers:
                lines.append(f"{row['layer']:<20.20}{_g(row.get('grad_norm')):>11}"
                             f"{_g(row.get('weight_norm')):>13}{_g(row.get('update_ratio')):>15}"
                             f"{_pct(row.get('dead_fraction')):>11}")
        if self.ok:
            lines.append("No problems found: gradients, updates, activations and loss look "
                         "healthy.")
        else:
            lines += [str(v) for v in self.verdicts]
        return "\n".join(lines)


def _g(v):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def _pct(v):
    return "-" if v is None else f"{v:.0%}"


def _norm(a):
    a = np.asarray(a, dtype=np.float64)
    return float(np.sqrt((a * a).sum()))


def _names(diag, rows, limit=6):
    names = [diag._label(r["layer"]) for r in rows]
    shown = ", ".join(names[:limit]) + (f" and {len(names) - limit} more"
                                        if len(names) > limit else "")
    return ("Layer " if len(names) == 1 else "Layers ") + shown


def _median(values):
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(vals)) if vals else None


class Diagnostics:
    """Record per-layer gradient and weight norms, update/weight ratios, ReLU activity and loss.

    Call ``on_backward(loss)`` after each ``loss.backward()`` and ``on_step()`` after each
    ``optimizer.step()`` (the same names work as training-loop callback hooks; extra arguments
    are ignored). ReLU activity is recorded by forward hooks on ``nn.ReLU`` modules (functional
    ``F.relu`` calls are not seen). ``close()`` removes the hooks.

    Args:
        model: the ``nn.Module`` being trained.
        optimizer: its optimizer (optional; only used to describe the learning rate).
        thresholds: overrides for ``THRESHOLDS`` (e.g. ``{"dead_fraction": 0.5}``).

    Attributes:
        losses: loss values recorded by ``on_backward``.
        grad_norms, weight_norms, update_ratios: ``{param_name: [value per step]}``.
    """

    def __init__(self, model, optimizer=None, thresholds=None):
        from .nn import ReLU
        self.model, self.optimizer = model, optimizer
        self.thresholds = {**THRESHOLDS, **(thresholds or {})}
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.layers = []          # (layer name, {param local name: full name}) in module order
        self.kinds = {}           # layer name -> class name, for the messages
        for name, mod in model.named_modules():
            own = {ln: f"{name}.{ln}" if name else ln
                   for ln, p in mod.named_parameters(recurse=False) if p.requires_grad}
            key = name or type(mod).__name__
            self.kinds[key] = type(mod).__name__
            if own or isinstance(mod, ReLU):
                self.layers.append((key, own))
        self.losses, self.grad_norms, self.weight_norms, self.update_ratios = [], {}, {}, {}
        self.nonfinite_grads = 0
        self.steps = 0
        self._ever_active, self._handles = {}, []
        self._last = {n: p.data.copy() for n, p in self.params.items()}
        for name, mod in model.named_modules():
            if isinstance(mod, ReLU):
                self._handles.append(mod.register_forward_hook(self._relu_hook(name)))

    def _relu_hook(self, name):
        def hook(module, args, output):
            a = np.asarray(output.data)
            if a.ndim < 2 or a.shape[0] == 0:
                return
            active = a > 0
            axes = (0,) + tuple(range(2, a.ndim))      # a unit is a feature, or a channel
            active = active.any(axis=axes)
            prev = self._ever_active.get(name)
            self._ever_active[name] = active if prev is None or prev.shape != active.shape \
                else prev | active
        return hook

    # ---- recording ----
    def on_backward(self, loss=None, *args, **kwargs):
        """Record the loss and every parameter's gradient norm (call after ``backward``)."""
        if loss is not None:
            self.losses.append(float(loss.item() if hasattr(loss, "item") else loss))
        for n, p in self.params.items():
            g = None if p.grad is None else _norm(p.grad.data)
            if g is not None and not math.isfinite(g):
                self.nonfinite_grads += 1
            self.grad_norms.setdefault(n, []).append(g)
        self.steps += 1

    def on_step(self, *args, **kwargs):
        """Record weight norms and ||update|| / ||weight|| (call after ``optimizer.step()``)."""
        for n, p in self.params.items():
            old, new = self._last[n], p.data
            w = _norm(old)
            self.weight_norms.setdefault(n, []).append(_norm(new))
            self.update_ratios.setdefault(n, []).append(_norm(new - old) / w if w > 0 else None)
            self._last[n] = new.copy()

    def record_loss(self, loss):
        """Record a loss value without touching the gradients."""
        self.losses.append(float(loss.item() if hasattr(loss, "item") else loss))

    def close(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def dead_fractions(self):
        """``{relu_layer: fraction of its units never active}`` over the recorded forwards."""
        return {n: float(1 - a.mean()) for n, a in self._ever_active.items() if a.size}

    # ---- verdicts ----
    def _layer_rows(self):
        rows = []
        dead = self.dead_fractions()
        for layer, own in self.layers:
            if not own:
                if layer in dead:
                    rows.append(dict(layer=layer, dead_fraction=dead[layer]))
                continue
            main = own.get("weight") or next(iter(own.values()))
            numel = self.params[main].numel()
            grad = _median(self.grad_norms.get(main, []))
            rows.append(dict(layer=layer, param=main, grad_norm=grad,
                             grad_rms=None if grad is None else grad / math.sqrt(max(numel, 1)),
                             weight_norm=_median(self.weight_norms.get(main, [])) or
                             _norm(self.params[main].data),
                             update_ratio=_median(self.update_ratios.get(main, []))))
        return rows

    def _label(self, layer):
        return f"{layer} ({self.kinds[layer]})" if layer in self.kinds else layer

    def report(self):
        """Verdicts in plain words, each with its numbers and a suggested fix."""
        t = self.thresholds
        verdicts = []
        rows = self._layer_rows()
        lr = self.optimizer.param_groups[0].get("lr") if self.optimizer is not None else None
        lr_text = f" (lr={lr:g})" if isinstance(lr, (int, float)) else ""

        finite = [v for v in self.losses if math.isfinite(v)]
        if len(finite) < len(self.losses) or self.nonfinite_grads:
            bad = len(self.losses) - len(finite)
            verdicts.append(Verdict(
                "lr_too_high",
                f"The loss became NaN/inf in {bad} of {len(self.losses)} steps and "
                f"{self.nonfinite_grads} gradient(s) were not finite: training diverged{lr_text}.",
                "lower the learning rate (try 10x smaller), clip gradients with "
                "nn.utils.clip_grad_norm_, and check the inputs for NaN/inf."))
        elif len(finite) >= 8:
            q = max(2, len(finite) // 4)
            first, last = float(np.mean(finite[:q])), float(np.mean(finite[-q:]))
            if last > t["diverging_factor"] * first and last > first + 1e-8:
                verdicts.append(Verdict(
                    "lr_too_high",
                    f"The loss is going up instead of down: mean {first:.4g} over the first "
                    f"{q} steps, {last:.4g} over the last {q}{lr_text}.",
                    "lower the learning rate (try 10x smaller) or add a warm-up; gradient "
                    "clipping also helps.", value=last / first if first > 0 else None))

        weighted = [r for r in rows if r.get("grad_rms") is not None]
        if len(weighted) >= 2:
            first, last = weighted[0], weighted[-1]
            if last["grad_rms"] > 0:
                ratio = first["grad_rms"] / last["grad_rms"]
                if ratio < t["vanishing_ratio"]:
                    verdicts.append(Verdict(
                        "vanishing_gradients",
                        f"Gradients vanish on the way back: the first layer, "
                        f"{self._label(first['layer'])}, gets an RMS weight gradient of "
                        f"{first['grad_rms']:.3g}, the last, {self._label(last['layer'])}, "
                        f"{last['grad_rms']:.3g}: {ratio:.2g}x smaller, so the early layers barely "
                        "learn.",
                        "use ReLU/GELU instead of sigmoid/tanh, Kaiming (He) initialisation, "
                        "normalisation layers (BatchNorm/LayerNorm) or residual connections.",
                        first["layer"], ratio))
                elif ratio > t["exploding_ratio"]:
                    verdicts.append(Verdict(
                        "exploding_gradients",
                        f"Gradients grow on the way back: the first layer, "
                        f"{self._label(first['layer'])}, gets an RMS weight gradient {ratio:.2g}x "
                        f"that of the last, {self._label(last['layer'])}.",
                        "use a smaller initialisation (e.g. Kaiming/Xavier), normalisation "
                        "layers, and clip gradients with nn.utils.clip_grad_norm_.",
                        first["layer"], ratio))
        totals = []
        for k in range(self.steps):
            sq = [self.grad_norms[n][k] ** 2 for n in self.grad_norms
                  if k < len(self.grad_norms[n]) and self.grad_norms[n][k] is not None]
            if sq:
                totals.append(math.sqrt(sum(sq)))
        big = max((v for v in totals if math.isfinite(v)), default=0.0)
        if big > t["exploding_norm"] and "exploding_gradients" not in {v.kind for v in verdicts}:
            verdicts.append(Verdict(
                "exploding_gradients",
                f"The total gradient norm reached {big:.3g} (threshold "
                f"{t['exploding_norm']:g}): updates this large throw the weights around.",
                "clip gradients with nn.utils.clip_grad_norm_(model.parameters(), 1.0), lower "
                "the learning rate, and use a smaller initialisation or normalisation layers.",
                value=big))

        for name, frac in self.dead_fractions().items():
            if frac > t["dead_fraction"]:
                verdicts.append(Verdict(
                    "dead_relu",
                    f"{frac:.0%} of the units of ReLU layer {name} were never active over the "
                    "recorded batches: they output 0 and pass no gradient, so they never learn.",
                    "lower the learning rate, use LeakyReLU/GELU, Kaiming initialisation, and "
                    "check for large negative biases.", name, frac))

        silent = [r for r in rows if "param" in r and self.steps and all(
            g is None or g == 0 for g in self.grad_norms.get(r["param"], []))]
        if silent:
            verdicts.append(Verdict(
                "no_gradient",
                f"{_names(self, silent)} got an all-zero or missing gradient in every one of "
                f"{self.steps} backward passes: cut off from the loss (not used, detached) or "
                "blocked (e.g. by dead ReLUs).",
                "check that these layers' outputs reach the loss without .detach(); see the "
                "dead-ReLU verdict if any.", silent[0]["layer"]))
        slow = [r for r in rows if "param" in r and r not in silent and
                r["update_ratio"] is not None and r["update_ratio"] < t["min_update_ratio"]]
        if slow:
            ratios = [r["update_ratio"] for r in slow]
            span = f"{min(ratios):.2g}" if len(slow) == 1 else \
                f"{min(ratios):.2g} to {max(ratios):.2g}"
            verdicts.append(Verdict(
                "not_learning",
                f"{_names(self, slow)} {'is' if len(slow) == 1 else 'are'} hardly learning: each "
                f"step changes the weights by {span} of their size (healthy is about "
                f"1e-3){lr_text}.",
                "raise the learning rate (or these layers' param-group lr), check that they are "
                "in the optimizer, and look for vanishing gradients.",
                slow[0]["layer"], min(ratios)))
        public = [{k: v for k, v in r.items() if k not in ("param", "grad_rms")} for r in rows]
        return DiagnosisReport(verdicts, public, self.steps)
