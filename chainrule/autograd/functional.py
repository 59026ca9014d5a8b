"""Higher-level differentiation: vector-Jacobian and Jacobian-vector products, full Jacobians and
Hessians of a function (torch.autograd.functional's API).

Every function takes ``func`` (Tensors in, a Tensor or tuple of Tensors out) and ``inputs`` (a
Tensor or a tuple of Tensors); results mirror that structure. With ``create_graph=False`` the
results are detached; with ``True`` they can be differentiated again. ``strict=True`` raises when
an output does not depend on an input instead of returning zeros. Everything is built from
reverse mode: ``jvp`` uses the double-vjp trick (the vjp ``u -> J^T u`` is linear in ``u``, so its
own vjp against ``v`` is ``J v``).
"""
from . import grad as _grad
from .grad_mode import enable_grad

__all__ = ["vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"]


def _tensor_cls():
    from ..tensor import Tensor
    return Tensor


def _as_tuple(x, what, fn_name):
    Tensor = _tensor_cls()
    is_tuple = isinstance(x, tuple)
    items = x if is_tuple else (x,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"The {what} given to {fn_name} must be either a Tensor or a tuple of "
                            f"Tensors but the value at index {i} has type {type(item)}.")
    return is_tuple, tuple(items)


def _prepare(inputs, create_graph):
    """Fresh leaves that require grad; graph-connected aliases when building a graph."""
    return tuple(x.clone() if create_graph and x.requires_grad
                 else x.detach().requires_grad_(True) for x in inputs)


def _finish(values, create_graph, is_tuple):
    values = tuple(v if v is None or create_graph else v.detach() for v in values)
    return values if is_tuple else values[0]


def _check_v(v, outputs, fn_name, what):
    if len(v) != len(outputs):
        raise RuntimeError(f"{fn_name}: v has {len(v)} tensors but the {what} has "
                           f"{len(outputs)}")
    for i, (a, b) in enumerate(zip(v, outputs)):
        if a.shape != b.shape:
            raise RuntimeError(f"{fn_name}: mismatch in shape: v[{i}] has shape "
                               f"{tuple(a.shape)} but the {what}[{i}] has shape {tuple(b.shape)}")


def _default_v(tensors, fn_name, what):
    from ..ops import ones_like
    if len(tensors) != 1 or tensors[0].numel() != 1:
        raise RuntimeError(f"{fn_name}: the vector v can only be None if the {what} is a single "
                           "Tensor with a single element.")
    return (ones_like(tensors[0]),)


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fn_name):
    """d(outputs . grad_outputs)/d(inputs), zeros (or an error, if strict) for unused inputs."""
    from ..ops import zeros_like
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    found = _grad([p[0] for p in pairs], inputs, [p[1] for p in pairs], retain_graph=True,
                  create_graph=create_graph, allow_unused=True) if pairs else (None,) * len(inputs)
    result = []
    for i, (g, x) in enumerate(zip(found, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn_name}: the output of the user-provided function is "
                                   f"independent of input {i}. This is not allowed in strict "
                                   "mode.")
            g = zeros_like(x)
        result.append(g)
    return tuple(result)


def _call(func, inputs, fn_name):
    with enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "outputs of the user-provided function", fn_name)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple of Tensors.
        v: one Tensor per output, each of its output's shape; may be omitted for a single-element
            output.
        create_graph: make the result differentiable.
        strict: raise if an output is independent of an input (instead of returning zeros).

    Returns:
        ``(func_output, vjp)``; ``vjp`` has the structure and shapes of ``inputs``.

    Example:
        >>> out, g = vjp(lambda x: (x ** 2).sum(), chainrule.tensor([1., 2.]))   # g = [2., 4.]
    """
    with enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _call(func, xs, "vjp")
        vs = _default_v(outs, "vjp", "output") if v is None else _as_tuple(v, "v", "vjp")[1]
        _check_v(vs, outs, "vjp", "output")
        result = _grads(outs, xs, vs, create_graph, strict, "vjp")
    return _finish(outs, create_graph, out_tuple), _finish(result, create_graph, in_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (by the double-vjp trick).

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple of Tensors.
        v: one Tensor per input, each of its input's shape; may be omitted for a single-element
            input.

    Returns:
        ``(func_output, jvp)``; ``jvp`` has the structure and shapes of the outputs.

    Example:
        >>> out, t = jvp(lambda x: x ** 2, chainrule.tensor([1., 2.]), chainrule.ones(2))
        >>> t    # [2., 4.]
    """
    from ..ops import zeros_like
    with enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
        xs = _prepare(xs, create_graph)
        vs = _default_v(xs, "jvp", "input") if v is None else _as_tuple(v, "v", "jvp")[1]
        _check_v(vs, xs, "jvp", "input")
        out_tuple, outs = _call(func, xs, "jvp")
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
        vjps = _grads(outs, xs, us, True, strict, "jvp")
        pairs = [(g, v) for g, v in zip(vjps, vs) if g.requires_grad]
        found = _grad([p[0] for p in pairs], us, [p[1] for p in pairs], create_graph=create_graph,
                      allow_unused=True) if pairs else (None,) * len(us)
        if strict and any(g is None for g in found):
            raise RuntimeError("jvp: the output of the user-provided function is independent of "
                               "its inputs. This is not allowed in strict mode.")
        result = tuple(zeros_like(o) if g is None else g for g, o in zip(found, outs))
    return _finish(outs, create_graph, out_tuple), _finish(result, create_graph, out_tuple)


def _jacobian_rows(outs, xs, create_graph, strict, fn_name):
    """J[i][j] (shape outs[i].shape + xs[j].shape), one backward pass per output element."""
    from ..ops import zeros_like, stack, zeros
    table = []
    for out in outs:
        rows = [[] for _ in xs]
        n = out.numel()
        for k in range(n):
            onehot = zeros(n, dtype=out.dtype)
            onehot.data[k] = 1
            grads = _grads((out,), xs, (onehot.reshape(out.shape),), create_graph, strict,
                           fn_name)
            for j, g in enumerate(grads):
                rows[j].append(g)
        table.append(tuple(
            stack(r).reshape(tuple(out.shape) + tuple(x.shape)) if r else
            zeros_like(x).reshape(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, xs)))
    return table


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``, by reverse mode (one pass per output element).

    Args:
        func: a function of Tensors returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or tuple of Tensors.
        vectorize: accepted for torch compatibility; the computation is the same.
        strategy: only ``"reverse-mode"`` is supported.

    Returns:
        For one input and one output, a Tensor of shape ``output.shape + input.shape``; with
        tuples, ``J[i][j]`` for output ``i`` and input ``j`` (a tuple over whichever is a tuple).

    Example:
        >>> jacobian(lambda x: x ** 2, chainrule.tensor([1., 2.]))   # [[2., 0.], [0., 4.]]
    """
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is supported, got {strategy!r}")
    with enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _call(func, xs, "jacobian")
        table = _jacobian_rows(outs, xs, create_graph, strict, "jacobian")
    table = [_finish(row, create_graph, in_tuple) for row in table]
    return tuple(table) if out_tuple else table[0]


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: the Jacobian of its gradient.

    Returns:
        For one input, a Tensor of shape ``input.shape + input.shape``; for a tuple of inputs,
        ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``.

    Example:
        >>> hessian(lambda x: (x ** 3).sum(), chainrule.tensor([1., 2.]))   # [[6., 0.], [0., 12.]]
    """
    in_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args):
        out_tuple, outs = _call(func, args, "hessian")
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError("hessian: the function given to hessian should return a single "
                               "Tensor with a single element")
        return _grads(outs, args, (_default_v(outs, "hessian", "output")[0],), True, strict,
                      "hessian")

    result = jacobian(gradient, xs, create_graph=create_graph, strict=strict,
                      strategy=outer_jacobian_strategy)
    if not in_tuple:
        return result[0][0]
    return result


def _scalar_output(func, xs, fn_name):
    out_tuple, outs = _call(func, xs, fn_name)
    if out_tuple or outs[0].numel() != 1:
        raise RuntimeError(f"{fn_name}: the function given to {fn_name} should return a single "
                           "Tensor with a single element")
    return outs[0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Hessian product ``v^T H`` of a scalar ``func`` at ``inputs``.

    Returns:
        ``(func_output, vhp)``; ``vhp`` has the structure and shapes of ``inputs``.
    """
    with enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "vhp")
        xs = _prepare(xs, create_graph)
        vs = _default_v(xs, "vhp", "input") if v is None else _as_tuple(v, "v", "vhp")[1]
        _check_v(vs, xs, "vhp", "input")
        out = _scalar_output(func, xs, "vhp")
        grads = _grads((out,), xs, _default_v((out,), "vhp", "output"), True, strict, "vhp")
        result = _grads(grads, xs, vs, create_graph, strict, "vhp")
    return _finish((out,), create_graph, False), _finish(result, create_graph, in_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Hessian-vector product ``H v`` of a scalar ``func`` at ``inputs`` (the jvp of the
    gradient, by the double-vjp trick).

    Returns:
        ``(func_output, hvp)``; ``hvp`` has the structure and shapes of ``inputs``.
    """
    from ..ops import zeros_like
    with enable_grad():
        in_tuple, xs = _as_tuple(inputs, "inputs", "hvp")
        xs = _prepare(xs, create_graph)
        vs = _default_v(xs, "hvp", "input") if v is None else _as_tuple(v, "v", "hvp")[1]
        _check_v(vs, xs, "hvp", "input")
        out = _scalar_output(func, xs, "hvp")
        grads = _grads((out,), xs, _default_v((out,), "hvp", "output"), True, strict, "hvp")
        us = tuple(zeros_like(g).requires_grad_(True) for g in grads)
        transposed = _grads(grads, xs, us, True, strict, "hvp")
        result = _grads(transposed, us, vs, create_graph, strict, "hvp")
    return _finish((out,), create_graph, False), _finish(result, create_graph, in_tuple)
