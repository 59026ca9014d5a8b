"""Activation checkpointing: trade compute for memory by recomputing a function's forward pass
during backward instead of keeping its intermediate tensors."""
import numpy as np

from ..autograd import Function, backward as _backward, grad_mode
from ..random import default_generator
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, run, preserve_rng_state, anchor, *args):
        ctx.run, ctx.preserve = run, preserve_rng_state
        ctx.layout = [isinstance(a, Tensor) for a in args]
        ctx.others = [None if t else a for a, t in zip(args, ctx.layout)]
        if preserve_rng_state:
            ctx.rng_state = default_generator.get_state()
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        outputs = run(*args)
        ctx.single = not isinstance(outputs, tuple)
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        saved = iter(ctx.saved_tensors)
        args, leaves = [], []
        for is_tensor, other in zip(ctx.layout, ctx.others):
            if not is_tensor:
                args.append(other)
                continue
            t = next(saved)
            d = t.detach()
            if t.requires_grad:
                d.requires_grad_(True)
                leaves.append(d)
            args.append(d)
        state = default_generator.get_state() if ctx.preserve else None
        if ctx.preserve:
            default_generator.set_state(ctx.rng_state)
        try:
            with grad_mode.enable_grad():
                outputs = ctx.run(*args)
        finally:
            if ctx.preserve:
                default_generator.set_state(state)
        outputs = (outputs,) if not isinstance(outputs, tuple) else outputs
        pairs = [(o, g) for o, g in zip(outputs, grads)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        input_grads = []
        for a, is_tensor in zip(args, ctx.layout):
            input_grads.append(a.grad if is_tensor and a.requires_grad else None)
        return (None, None, None) + tuple(input_grads)


def checkpoint(function, *args, use_reentrant=None, context_fn=None, determinism_check="default",
               debug=False, preserve_rng_state=True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its intermediate tensors; they are
    recomputed (with the same random state, so dropout draws the same masks) when the gradient
    is needed. The gradients are the same as without checkpointing.

    Args:
        function: the computation to checkpoint (a module or any callable of tensors).
        *args: its arguments (tensors and other values).
        use_reentrant: accepted for torch compatibility; both settings behave the same here,
            and parameters used inside ``function`` get gradients even when no input requires
            grad (torch's ``use_reentrant=False`` behaviour).
        preserve_rng_state: replay the default generator's state in the recomputation.
        **kwargs: keyword arguments for ``function``.

    Returns:
        ``function``'s output (a Tensor or a tuple of Tensors).

    Example::

        h = checkpoint(block, x, use_reentrant=False)   # block's activations are not stored
    """
    if kwargs:
        def run(*a):
            return function(*a, **kwargs)
    else:
        run = function
    if not grad_mode.is_grad_enabled():
        return run(*args)
    # why: a leaf that requires grad makes the node be recorded even when no input does, so the
    # parameters inside ``function`` still receive gradients
    anchor = Tensor._make(np.zeros((), dtype=np.float32), requires_grad=True)
    return _Checkpoint.apply(run, preserve_rng_state, anchor, *args)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Split a sequence of modules (e.g. an ``nn.Sequential``) into ``segments`` chunks and
    checkpoint every chunk but the last.

    Args:
        functions: an ``nn.Sequential`` or a list of modules/callables run in order.
        segments: number of chunks.
        input: the input of the first function.
    """
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError(f"Unexpected keyword arguments: {', '.join(kwargs)}")
    functions = list(functions.children()) if hasattr(functions, "children") and \
        not isinstance(functions, (list, tuple)) else list(functions)

    def run_range(start, end):
        def forward(x):
            for j in range(start, end + 1):
                x = functions[j](x)
            return x
        return forward

    size = len(functions) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run_range(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_range(end + 1, len(functions) - 1)(input)
