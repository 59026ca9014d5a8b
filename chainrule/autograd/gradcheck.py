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
        eps, atol, rtol: step and tolerances (|analytical - numerical| <= atol + rtol * |numerical|).
        fast_mode: True: random projection; None: projection only when inputs exceed max_full_size.
    Returns:
        True, or raises ``GradcheckError`` naming the input, output and element that disagree.
    """
    from ..tensor import Tensor
    from . import grad as autograd_grad
    inputs = _tensors(inputs)
    label = name or getattr(fn, "__name__", "function")
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
                         f"{analytical!r} vs numerical {numerical!r}", raise_exception)
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
                    f"analytical {analytical[r, j]!r} vs numerical {numerical[r, j]!r}\n"
                    f"numerical:\n{numerical}\nanalytical:\n{analytical}", raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, fast_mode=None, name=None, gen_non_contig_grad_outputs=False,
                  **unused):
    """Check second derivatives: gradcheck of (inputs, grad_outputs) -> d(fn)/d(inputs)."""
    from ..tensor import Tensor
    from . import grad as autograd_grad
    inputs = _tensors(inputs)
    label = name or getattr(fn, "__name__", "function")
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
