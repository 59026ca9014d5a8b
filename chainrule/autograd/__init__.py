"""Reverse-mode automatic differentiation: backward, grad, grad modes, custom Functions."""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        detect_anomaly, set_detect_anomaly, is_anomaly_enabled)
from .function import Function, once_differentiable
from . import engine as _engine
from .engine import run_backward

__all__ = ["backward", "grad", "Function", "once_differentiable", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "is_grad_enabled", "detect_anomaly",
           "set_detect_anomaly", "gradcheck", "gradgradcheck", "gradcheck_model", "GradcheckError"]


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if isinstance(x, _engine.Tensor) else tuple(x)


def _make_root_grads(outputs, grad_outputs, op):
    Tensor = _engine.Tensor
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if not out.requires_grad:
            raise RuntimeError(f"{op}: element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(f"{op}: grad can be implicitly created only for scalar outputs "
                                   f"(got an output of shape {tuple(out.shape)}); pass gradient=")
            g = Tensor._make(out._xp().ones(out.data.shape, dtype=out.data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor(g, dtype=out.dtype)
            if g.data.shape != out.data.shape:
                raise RuntimeError(f"{op}: mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{tuple(g.shape)} and output[{i}] has a shape of "
                                   f"{tuple(out.shape)}")
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves (or ``inputs``)."""
    outputs = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _make_root_grads(outputs, grad_tensors, "backward")
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("backward: inputs argument should not be empty")
    run_backward(outputs, roots, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, materialize_grads=False):
    """Return d(outputs)/d(inputs) without touching ``.grad``.

    Args:
        outputs: tensor(s) to differentiate.
        inputs: tensor(s) to differentiate with respect to.
        grad_outputs: upstream gradient per output (needed for non-scalar outputs).
        create_graph: record the backward pass so the result can be differentiated again.
        allow_unused: return None (instead of raising) for inputs the outputs don't depend on.
    """
    outputs = _as_tuple(outputs)
    single = not isinstance(inputs, (tuple, list))
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    roots = _make_root_grads(outputs, grad_outputs, "grad")
    result = run_backward(outputs, roots, retain_graph, create_graph, inputs=inputs,
                          accumulate=False)
    for i, g in enumerate(result):
        if g is None:
            if materialize_grads:
                result[i] = _engine.Tensor._make(inputs[i]._xp().zeros_like(inputs[i].data))
            elif not allow_unused:
                raise RuntimeError(
                    f"grad: one of the differentiated Tensors (input {i}, shape "
                    f"{tuple(inputs[i].shape)}) appears to not have been used in the graph; "
                    "set allow_unused=True if this is the desired behavior")
        elif not create_graph:
            result[i] = g.detach()
    return tuple(result)


from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from .gradcheck import gradcheck_model  # noqa: E402
from . import functional  # noqa: E402,F401
