"""Finite-difference checks of gradients, in float64.

``gradcheck`` compares the Jacobian the engine computes with central differences: the full Jacobian
for small inputs, a random projection u^T J v (HIPS autograd's trick) for large ones or when
``fast_mode=True``. ``gradgradcheck`` applies the same check to the backward pass itself.
"""
import numpy as np

from . import grad_mode


class GradcheckError(RuntimeError):
    pass


def _tensors(x):
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return (x,)
    return tuple(x)


def _float_outputs(fn, inputs):
    from ..tensor import Tensor
    out = fn(*inputs)
    outs = (out,) if isinstance(out, Tensor) else tuple(o for o in out if isinstance(o, Tensor))
    return tuple(o for o in outs if o.dtype.is_floating_point)


def _label(fn):
    """``Square.apply`` reads as ``Square``; a plain function by its name."""
    owner = getattr(fn, "__self__", None)
    if getattr(fn, "__name__", None) == "apply" and isinstance(owner, type):
        return owner.__name__
    return getattr(fn, "__name__", "function")


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              fast_mode=None, name=None, max_full_size=256, nondet_tol=0.0,
              check_undefined_grad=True, check_batched_grad=False, **unused):
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    Args:
        fn: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple; those with ``requires_grad=True`` (float64) are checked.
        eps, atol, rtol: step and tolerances
            (``|analytical - numerical| <= atol + rtol * |numerical|``).
        fast_mode: True: random projection; None: projection only when inputs exceed max_full_size.
    Returns:
        True, or raises ``GradcheckError`` naming the input, output and element that disagree.
    """
    from ..tensor import Tensor
    from . import grad as autograd_grad
    inputs = _tensors(inputs)
    label = name or _label(fn)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for i in diff:
        if inputs[i].dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck({label}): input {i} is {inputs[i].dtype}, not float64; "
                          "finite differences will be inaccurate")
    outputs = _float_outputs(fn, inputs)
    total_in = sum(inputs[i].numel() for i in diff)
    total_out = sum(o.numel() for o in outputs)
    if fast_mode is None:
        fast_mode = total_in * total_out > max_full_size * max_full_size
    rng = np.random.default_rng(0)

    def evaluate():
        with grad_mode.enable_grad():   # fn may itself differentiate (gradgradcheck)
            return [o.data.astype(np.float64).copy() for o in _float_outputs(fn, inputs)]

    def analytic_vjp(us):
        outs = [o for o in outputs if o.requires_grad]
        idx = [k for k, o in enumerate(outputs) if o.requires_grad]
        if not outs:
            return [np.zeros(inputs[i].shape) for i in diff]
        grads = autograd_grad(outs, [inputs[i] for i in diff],
                              grad_outputs=[Tensor._make(us[k].astype(outputs[k].data.dtype))
                                            for k in idx],
                              retain_graph=True, allow_unused=True)
        return [np.zeros(inputs[i].shape) if g is None else g.data.astype(np.float64)
                for g, i in zip(grads, diff)]

    def perturb(i, direction, scale):
        inputs[i].data += scale * direction.astype(inputs[i].data.dtype)

    if fast_mode:
        us = [rng.standard_normal(o.shape) for o in outputs]
        vs = [rng.standard_normal(inputs[i].shape) for i in diff]
        ana_grads = analytic_vjp(us)
        analytical = sum(float((g * v).sum()) for g, v in zip(ana_grads, vs))
        for i, v in zip(diff, vs):
            perturb(i, v, eps)
        plus = evaluate()
        for i, v in zip(diff, vs):
            perturb(i, v, -2 * eps)
        minus = evaluate()
        for i, v in zip(diff, vs):
            perturb(i, v, eps)
        numerical = sum(float(((p - m) / (2 * eps) * u).sum()) for p, m, u in zip(plus, minus, us))
        if not abs(analytical - numerical) <= atol + rtol * abs(numerical):
            return _fail(f"gradcheck({label}): random projection u^T J v: analytical "
                         f"{analytical:.10g} vs numerical {numerical:.10g}", raise_exception)
        return True

    # Full Jacobians: numerical column by column, analytical row by row.
    for k, out in enumerate(outputs):
        n_out = out.numel()
        for pos, i in enumerate(diff):
            x = inputs[i]
            n_in = x.numel()
            numerical = np.zeros((n_out, n_in))
            for j in range(n_in):
                e = np.zeros(n_in)
                e[j] = 1.0
                e = e.reshape(x.shape)
                perturb(i, e, eps)
                plus = evaluate()[k]
                perturb(i, e, -2 * eps)
                minus = evaluate()[k]
                perturb(i, e, eps)
                numerical[:, j] = ((plus - minus) / (2 * eps)).reshape(-1)
            analytical = np.zeros((n_out, n_in))
            if out.requires_grad:
                for r in range(n_out):
                    us = [np.zeros(o.shape) for o in outputs]
                    us[k].reshape(-1)[r] = 1.0
                    analytical[r] = analytic_vjp(us)[pos].reshape(-1)
            bad = ~(np.abs(analytical - numerical) <= atol + rtol * np.abs(numerical))
            if bad.any():
                r, j = np.argwhere(bad)[0]
                return _fail(
                    f"gradcheck({label}): Jacobian mismatch for output {k} with respect to input "
                    f"{i} (shape {tuple(x.shape)}), at output element {r}, input element {j}: "
                    f"analytical {float(analytical[r, j]):.10g} vs numerical "
                    f"{float(numerical[r, j]):.10g}\n"
                    f"numerical:\n{numerical}\nanalytical:\n{analytical}", raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, fast_mode=None, name=None,
                  gen_non_contig_grad_outputs=False, **unused):
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> d(fn)/d(inputs)."""
    from ..tensor import Tensor
    from . import grad as autograd_grad
    inputs = _tensors(inputs)
    label = name or _label(fn)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outputs = _float_outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(1)
        grad_outputs = tuple(Tensor._make(rng.standard_normal(o.shape).astype(o.data.dtype),
                                          requires_grad=True) for o in outputs)
    grad_outputs = _tensors(grad_outputs)
    n = len(inputs)

    def first_derivative(*args):
        xs, gos = args[:n], args[n:]
        outs = [o for o in _float_outputs(fn, xs)]
        pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
        if not pairs:
            return ()
        grads = autograd_grad([p[0] for p in pairs], [xs[i] for i in diff],
                              grad_outputs=[p[1] for p in pairs], create_graph=True,
                              allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception, fast_mode=fast_mode,
                     name=f"{label} (double backward)")


class ParamCheck:
    """The finite-difference check of one parameter tensor."""

    def __init__(self, name, layer, shape, checked, max_abs_err, max_rel_err, passed, worst):
        self.name, self.layer, self.shape, self.checked = name, layer, shape, checked
        self.max_abs_err, self.max_rel_err, self.passed = max_abs_err, max_rel_err, passed
        self.worst = worst     # (index, analytical, numerical) of the largest error

    def __repr__(self):
        return (f"ParamCheck({self.name!r}, checked={self.checked}, max_abs_err="
                f"{self.max_abs_err:.3g}, max_rel_err={self.max_rel_err:.3g}, "
                f"passed={self.passed})")


class ModelGradcheckReport:
    """What ``gradcheck_model`` returns: one ``ParamCheck`` per parameter, grouped by layer."""

    def __init__(self, params, loss):
        self.params, self.loss = params, loss

    @property
    def passed(self):
        return all(p.passed for p in self.params)

    def __bool__(self):
        return self.passed

    @property
    def failed(self):
        return [p for p in self.params if not p.passed]

    @property
    def layers(self):
        """``{layer: (max_abs_err, max_rel_err, passed)}`` over the layer's parameters."""
        out = {}
        for p in self.params:
            a, r, ok = out.get(p.layer, (0.0, 0.0, True))
            out[p.layer] = (max(a, p.max_abs_err), max(r, p.max_rel_err), ok and p.passed)
        return out

    def __str__(self):
        lines = [f"gradcheck_model: {'PASSED' if self.passed else 'FAILED'} "
                 f"(loss {self.loss:.6g}, float64 central differences)",
                 f"{'parameter':<28}{'shape':<16}{'checked':>8}{'max abs err':>13}"
                 f"{'max rel err':>13}  result"]
        for p in self.params:
            lines.append(f"{p.name:<28.28}{str(p.shape):<16}{p.checked:>8}"
                         f"{p.max_abs_err:>13.3g}{p.max_rel_err:>13.3g}  "
                         f"{'ok' if p.passed else 'WRONG'}")
            if not p.passed:
                idx, ana, num = p.worst
                lines.append(f"    at index {idx}: backprop gives {ana:.6g}, finite "
                             f"differences give {num:.6g}")
        return "\n".join(lines)

    __repr__ = __str__

    def raise_if_failed(self):
        if not self.passed:
            raise GradcheckError(str(self))
        return self


def gradcheck_model(model, inputs, loss_fn, targets=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                    max_per_param=None, seed=0):
    """Check every parameter gradient of ``model`` against finite differences.

    A float64 copy of the model is made (the model itself is untouched); the loss
    ``loss_fn(model(*inputs), targets)`` (or ``loss_fn(output)`` without targets; summed when not
    a scalar) is differentiated by backprop and by central differences
    ``(L(w + eps) - L(w - eps)) / (2 eps)``, one weight at a time. Keep inputs small: each
    checked weight costs two forward passes. Dropout is made repeatable by reseeding chainrule's
    random generator before every forward (its state is restored afterwards).

    Args:
        model: an ``nn.Module``.
        inputs: a Tensor or a tuple of Tensors for ``model``.
        loss_fn: ``loss_fn(output, targets)``, or ``loss_fn(output)`` when ``targets`` is None.
        eps, atol, rtol: step and tolerances: a weight passes when
            ``|analytical - numerical| <= atol + rtol * |numerical|``.
        max_per_param: check at most this many (randomly chosen) elements per parameter.
        seed: for the choice of elements and the random generator during forwards.

    Returns:
        ModelGradcheckReport: ``.passed``, ``.params`` (``ParamCheck``: max abs/rel error),
        ``.layers`` and a readable ``str``; ``.raise_if_failed()`` raises ``GradcheckError``.

    Example:
        >>> report = gradcheck_model(model, cr.randn(2, 4), nn.CrossEntropyLoss(),
        ...                          cr.tensor([0, 2]))
        >>> print(report)
    """
    import copy
    from ..tensor import Tensor
    from .. import random as cr_random
    model64 = copy.deepcopy(model).double()
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    inputs = tuple(x.detach().double() if isinstance(x, Tensor) and x.dtype.is_floating_point
                   else x for x in inputs)
    if isinstance(targets, Tensor) and targets.dtype.is_floating_point:
        targets = targets.detach().double()
    rng_state = cr_random.get_rng_state() if hasattr(cr_random, "get_rng_state") else None

    def loss_of():
        cr_random.manual_seed(seed)
        out = model64(*inputs)
        loss = loss_fn(out) if targets is None else loss_fn(out, targets)
        return loss.sum() if loss.ndim > 0 else loss

    try:
        named = [(n, p) for n, p in model64.named_parameters() if p.requires_grad]
        for _, p in named:
            p.grad = None
        with grad_mode.enable_grad():
            loss = loss_of()
            loss.backward()
        base = float(loss.item())
        layer_of = {}
        for mname, mod in model64.named_modules():
            for pname, _ in mod.named_parameters(recurse=False):
                layer_of[f"{mname}.{pname}" if mname else pname] = mname or type(mod).__name__
        pick = np.random.default_rng(seed)
        checks = []
        with grad_mode.no_grad():
            for name, p in named:
                ana = (np.zeros(p.data.shape) if p.grad is None
                       else np.asarray(p.grad.data, dtype=np.float64))
                flat = np.arange(p.data.size)
                if max_per_param is not None and flat.size > max_per_param:
                    flat = np.sort(pick.choice(flat, max_per_param, replace=False))
                worst, worst_key, max_abs, max_rel = None, (False, -1.0), 0.0, 0.0
                for j in flat:
                    idx = tuple(int(i) for i in np.unravel_index(j, p.data.shape))
                    orig = p.data[idx]
                    p.data[idx] = orig + eps
                    plus = float(loss_of().item())
                    p.data[idx] = orig - eps
                    minus = float(loss_of().item())
                    p.data[idx] = orig
                    num = (plus - minus) / (2 * eps)
                    a = float(ana[idx])
                    err = abs(a - num)
                    key = (not err <= atol + rtol * abs(num), err)   # failures first, then size
                    if key >= worst_key:
                        worst, worst_key = (idx, a, num), key
                    max_abs = max(max_abs, err)
                    max_rel = max(max_rel, err / max(abs(a), abs(num), 1e-12))
                ok = not worst_key[0]
                checks.append(ParamCheck(name, layer_of.get(name, name), tuple(p.data.shape),
                                         int(flat.size), max_abs, max_rel, ok, worst))
    finally:
        if rng_state is not None:
            cr_random.set_rng_state(rng_state)
    return ModelGradcheckReport(checks, base)
