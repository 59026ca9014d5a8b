"""Full backward hooks for Modules: an identity Function on the way in and on the way out of
``forward`` captures the gradients with respect to the module's inputs and outputs."""
from ...autograd.function import Function
from ...tensor import Tensor


class _Identity(Function):
    @staticmethod
    def forward(ctx, *tensors):
        return tuple(t.detach() for t in tensors) if len(tensors) > 1 else tensors[0].detach()

    @staticmethod
    def backward(ctx, *grads):
        hook = ctx.on_backward
        new = hook(grads)
        return tuple(new) if new is not None else grads


def call_with_backward_hooks(module, args, kwargs):
    state = {}
    tensor_args = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    tensor_pos = [i for i in tensor_args if args[i].requires_grad]

    def on_input_grads(grads):
        # as torch: one entry per Tensor argument, zeros for those that do not require grad
        by_pos = dict(zip(tensor_pos, grads))
        grad_input = tuple(by_pos[i] if i in by_pos else args[i].detach().new_zeros(
            tuple(args[i].shape)) for i in tensor_args)
        for hook in list(module._backward_hooks.values()):
            res = hook(module, grad_input, state.get("grad_output", ()))
            if res is not None:
                grad_input = tuple(res)
        return tuple(g for i, g in zip(tensor_args, grad_input) if i in by_pos)

    if tensor_pos:
        ctx_fn = type("BackwardHookFunction", (_Identity,), {})
        wrapped = _apply(ctx_fn, [args[i] for i in tensor_pos], on_input_grads)
        args = list(args)
        for i, w in zip(tensor_pos, wrapped):
            args[i] = w
        args = tuple(args)
    result = module.forward(*args, **kwargs)
    outs = result if isinstance(result, tuple) else (result,)
    out_pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
    if not out_pos:
        return result

    def on_output_grads(grads):
        grad_output = grads
        for hook in list(module._backward_pre_hooks.values()):
            res = hook(module, grad_output)
            if res is not None:
                grad_output = tuple(res)
        state["grad_output"] = grad_output
        if not tensor_pos:
            for hook in list(module._backward_hooks.values()):
                hook(module, (None,) * len(tensor_args), grad_output)
        return grad_output

    ctx_fn = type("BackwardHookFunction", (_Identity,), {})
    wrapped = _apply(ctx_fn, [outs[i] for i in out_pos], on_output_grads)
    outs = list(outs)
    for i, w in zip(out_pos, wrapped):
        outs[i] = w
    return tuple(outs) if isinstance(result, tuple) else outs[0]


def _apply(fn_cls, tensors, on_backward):
    """Run the identity Function and attach ``on_backward`` to its node."""
    out = fn_cls.apply(*tensors)
    out = out if isinstance(out, tuple) else (out,)
    if out[0].grad_fn is not None:
        out[0].grad_fn.on_backward = on_backward
    return out
