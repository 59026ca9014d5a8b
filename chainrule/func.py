"""Function transforms in the style of JAX and torch.func: ``grad``, ``value_and_grad``,
``vjp`` and ``jvp``.

``grad(f)`` is a new function that returns the gradient of ``f`` (which must return a scalar
Tensor) with respect to some of its arguments. Transforms nest: ``grad(grad(f))`` is the second
derivative, because an inner transform builds a graph whenever its inputs are themselves being
differentiated.

    >>> import chainrule
    >>> from chainrule.func import grad
    >>> f = lambda x: (x ** 3).sum()
    >>> grad(f)(chainrule.tensor([1., 2.]))          # 3 x^2
    tensor([ 3., 12.])
    >>> grad(lambda x: grad(f)(x).sum())(chainrule.tensor([1., 2.]))    # 6 x
    tensor([ 6., 12.])
"""
import threading

from .autograd import grad as _autograd_grad
from .autograd.grad_mode import enable_grad
from .tensor import Tensor

__all__ = ["grad", "value_and_grad", "grad_and_value", "vjp", "jvp"]


class _Active(threading.local):
    depth = 0      # how many transforms are running func on this thread


_active = _Active()


def _flatten(tree):
    """The Tensors of a (nested) tuple/list/dict, and a function that rebuilds it from them."""
    if isinstance(tree, Tensor):
        return [tree], lambda leaves: leaves[0]
    if isinstance(tree, (tuple, list)):
        parts = [_flatten(t) for t in tree]
        sizes = [len(p[0]) for p in parts]

        def rebuild(leaves):
            out, i = [], 0
            for (_, build), n in zip(parts, sizes):
                out.append(build(leaves[i:i + n]))
                i += n
            return type(tree)(out)
        return [x for p in parts for x in p[0]], rebuild
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, rebuild = _flatten([tree[k] for k in keys])
        return leaves, lambda values: dict(zip(keys, rebuild(values)))
    raise TypeError(f"grad: differentiated arguments must be Tensors or tuples/lists/dicts of "
                    f"Tensors, got {type(tree).__name__}")


def _check_argnums(argnums, nargs):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(n, int) for n in nums):
        raise TypeError(f"grad: argnums must be an int or a non-empty tuple of ints, got "
                        f"{argnums!r}")
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(f"grad: argnums {n} is out of range for a function called with "
                             f"{nargs} positional arguments")
    return tuple(n % nargs for n in nums)


def value_and_grad(func, argnums=0, has_aux=False):
    """A function returning both ``func(*args)`` and its gradient with respect to ``args[argnums]``.

    Args:
        func: returns a single-element floating-point Tensor, or ``(that Tensor, aux)`` when
            ``has_aux``.
        argnums: which positional argument(s) to differentiate: an int, or a tuple of ints (then
            the gradient is a tuple). An argument may be a Tensor or a tuple/list/dict of Tensors;
            its gradient has the same structure.
        has_aux: ``func`` returns ``(output, aux)``; ``aux`` is passed through, detached.

    Returns:
        A function returning ``(value, gradient)``, or ``((value, aux), gradient)`` with aux.

    Example:
        >>> value, g = value_and_grad(lambda w, x: (w * x).sum())(w, x)    # g = x
    """
    def wrapper(*args, **kwargs):
        nums = _check_argnums(argnums, len(args))
        args = list(args)
        flat, rebuilders = [], []
        for n in nums:
            leaves, rebuild = _flatten(args[n])
            # An argument that is already being differentiated (an outer transform) stays in the
            # graph, so that transforms nest; anything else becomes a fresh leaf.
            fresh = [x.clone() if x.requires_grad else x.detach().requires_grad_(True)
                     for x in leaves]
            args[n] = rebuild(fresh)
            flat.append(fresh)
            rebuilders.append(rebuild)
        # Inside another transform, or with inputs an outer graph tracks, the gradient must be
        # differentiable itself.
        nested = _active.depth > 0 or any(x.grad_fn is not None for f in flat for x in f)
        _active.depth += 1
        try:
            with enable_grad():
                output, aux, grads = _run(func, args, kwargs, has_aux, flat, nested)
        finally:
            _active.depth -= 1
        grads, i = list(grads), 0
        per_arg = []
        for f, rebuild in zip(flat, rebuilders):
            per_arg.append(rebuild(grads[i:i + len(f)]))
            i += len(f)
        g = per_arg[0] if isinstance(argnums, int) else tuple(per_arg)
        value = output if nested else output.detach()
        if has_aux:
            return (value, _detach_tree(aux)), g
        return value, g
    wrapper.__name__ = f"value_and_grad({getattr(func, '__name__', 'func')})"
    wrapper.__doc__ = func.__doc__
    return wrapper


def _run(func, args, kwargs, has_aux, flat, nested):
    output, aux = _split_aux(func(*args, **kwargs), has_aux, "grad")
    if not isinstance(output, Tensor) or output.numel() != 1:
        raise RuntimeError(
            "grad: the function must return a single-element Tensor, got "
            + (f"a Tensor of shape {tuple(output.shape)}" if isinstance(output, Tensor)
               else type(output).__name__))
    if not output.dtype.is_floating_point:
        raise RuntimeError(f"grad: the output must be floating point, got {output.dtype}")
    inputs = [x for f in flat for x in f]
    if not output.requires_grad:
        from .ops import zeros_like
        return output, aux, [zeros_like(x) for x in inputs]
    grads = _autograd_grad(output, inputs, create_graph=nested, allow_unused=True,
                           materialize_grads=True)
    return output, aux, grads


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of ``func`` with respect to ``args[argnums]``.

    Args:
        func: returns a single-element floating-point Tensor (or ``(Tensor, aux)`` with
            ``has_aux``).
        argnums: an int or a tuple of ints; with a tuple, the gradient is a tuple.
        has_aux: also return ``func``'s auxiliary output: ``(gradient, aux)``.

    Example:
        >>> grad(lambda x: (x ** 2).sum())(chainrule.tensor([1., 3.]))
        tensor([2., 6.])
    """
    vg = value_and_grad(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    wrapper.__name__ = f"grad({getattr(func, '__name__', 'func')})"
    wrapper.__doc__ = func.__doc__
    return wrapper


def grad_and_value(func, argnums=0, has_aux=False):
    """torch.func's spelling: returns ``(gradient, value)`` (``(gradient, (value, aux))``)."""
    vg = value_and_grad(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        value, g = vg(*args, **kwargs)
        return g, value
    return wrapper


def _detach_tree(tree):
    if isinstance(tree, Tensor):
        return tree.detach()
    if isinstance(tree, (tuple, list)):
        return type(tree)(_detach_tree(t) for t in tree)
    if isinstance(tree, dict):
        return {k: _detach_tree(v) for k, v in tree.items()}
    return tree


def _split_aux(result, has_aux, fn_name):
    """``(output, aux)`` from what the transformed function returned (``aux`` is None unless
    ``has_aux``)."""
    if not has_aux:
        return result, None
    if not (isinstance(result, tuple) and len(result) == 2):
        raise RuntimeError(f"{fn_name}: with has_aux=True the function must return a tuple "
                           "(output, aux)")
    return result


def _check_shapes(fn_name, given, given_name, reference, reference_name):
    for i, (g, r) in enumerate(zip(given, reference)):
        if tuple(g.shape) != tuple(r.shape):
            raise RuntimeError(f"{fn_name}: {given_name} {i} has shape {tuple(g.shape)} but "
                               f"{reference_name} {i} has shape {tuple(r.shape)}")


def _primal_leaves(primals, fn_name):
    for i, p in enumerate(primals):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn_name}: expected every primal to be a Tensor, got "
                            f"{type(p).__name__} at position {i}")
    return [p.clone() if p.requires_grad else p.detach().requires_grad_(True) for p in primals]


def vjp(func, *primals, has_aux=False):
    """Run ``func(*primals)`` and return ``(output, vjp_fn)`` as ``torch.func.vjp``.

    ``vjp_fn(cotangents)`` (one cotangent per output, each of its output's shape) returns a
    tuple with one gradient per primal: the vector-Jacobian product. It can be called more than
    once. With ``has_aux``, ``func`` returns ``(output, aux)`` and the result is
    ``(output, vjp_fn, aux)``.

    Example:
        >>> out, vjp_fn = vjp(chainrule.sin, x)
        >>> vjp_fn(chainrule.ones_like(out))      # (cos(x),)
    """
    leaves = _primal_leaves(primals, "vjp")
    nested = _active.depth > 0 or any(p.requires_grad for p in primals)
    with enable_grad():
        result = func(*leaves)
    result, aux = _split_aux(result, has_aux, "vjp")
    outputs, rebuild = _flatten(result)

    def vjp_fn(cotangents):
        cots, _ = _flatten(cotangents)
        if len(cots) != len(outputs):
            raise RuntimeError(f"vjp: expected {len(outputs)} cotangent(s), one per output, got "
                               f"{len(cots)}")
        _check_shapes("vjp", cots, "cotangent", outputs, "output")
        pairs = [(o, c) for o, c in zip(outputs, cots) if o.requires_grad]
        if not pairs:
            from .ops import zeros_like
            return tuple(zeros_like(p) for p in leaves)
        with enable_grad():
            return tuple(_autograd_grad([o for o, _ in pairs], leaves, [c for _, c in pairs],
                                        retain_graph=True, create_graph=nested,
                                        allow_unused=True, materialize_grads=True))

    value = rebuild(outputs if nested else [o.detach() for o in outputs])
    if has_aux:
        return value, vjp_fn, _detach_tree(aux)
    return value, vjp_fn


def jvp(func, primals, tangents, *, has_aux=False):
    """Return ``(func(*primals), J @ tangents)`` as ``torch.func.jvp`` (a forward-mode product,
    computed here by the double-vjp trick).

    Args:
        primals: a tuple of Tensors, the point at which to linearise ``func``.
        tangents: a tuple of Tensors of the primals' shapes.
        has_aux: ``func`` returns ``(output, aux)``; the result is ``(output, jvp_out, aux)``.
    """
    from .autograd import functional as _functional
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp: expected primals and tangents to be tuples of Tensors, got "
                           f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise RuntimeError(f"jvp: expected one tangent per primal, got {len(primals)} primals "
                           f"and {len(tangents)} tangents")
    _check_shapes("jvp", tangents, "tangent", primals, "primal")
    box = {}

    def core(*xs):
        result, box["aux"] = _split_aux(func(*xs), has_aux, "jvp")
        return result

    nested = _active.depth > 0 or any(p.requires_grad for p in primals)
    out, jvp_out = _functional.jvp(core, primals, tangents, create_graph=nested)
    if has_aux:
        return out, jvp_out, _detach_tree(box["aux"])
    return out, jvp_out
