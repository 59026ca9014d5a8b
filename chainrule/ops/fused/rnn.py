"""The LSTM gate math of one time step in one node (the recurrent hot loop of nn.LSTM).

Composite reference (``chainrule.nn.functional.rnn._lstm_gates_reference``; the tests check both,
values and gradients):
    i, f, g, o = split(gates, H, -1)
    c' = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c')
The composite records 12 nodes per step; this records one, and its first-order backward is five
ops on arrays the forward already had.
"""
from .. import primitive, Primitive
from ...autograd import grad_mode
from ..._backend import xp_of

__all__ = []


def _sig(x, xp):
    # why: 0.5 (1 + tanh(x / 2)) is sigmoid without exp overflow on either tail
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


@primitive
class LSTMGates(Primitive):
    @staticmethod
    def forward(ctx, gates, c):
        xp = xp_of(gates)
        hid = gates.shape[-1] // 4
        dt = gates.dtype.type
        act = _sig(gates, xp).astype(gates.dtype, copy=False)
        g = xp.tanh(gates[..., 2 * hid:3 * hid])
        i, f, o = act[..., :hid], act[..., hid:2 * hid], act[..., 3 * hid:]
        c_new = f * c + i * g
        tc = xp.tanh(c_new)
        h = o * tc
        # Constants for the first-order backward: d gate / d pre-activation, times what each gate
        # multiplies; and dh/dc' = o (1 - tanh^2 c'). A graph-building backward recomputes them.
        coef = xp.concatenate([g * i * (dt(1) - i), c * f * (dt(1) - f), i * (dt(1) - g * g),
                               tc * o * (dt(1) - o)], axis=-1)
        ctx.save_for_backward(gates, c, coef, o * (dt(1) - tc * tc), f)
        return h, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        """gc = grad_c + grad_h o (1 - tanh^2 c'); d gates = [gc g i', gc c f', gc i g', grad_h
        tanh(c') o']; d c = gc f"""
        from .. import cat, split, sigmoid, tanh
        gates, c, coef, dh_dc, f = ctx.saved_tensors
        if grad_mode.is_grad_enabled():     # double backward: everything must depend on gates, c
            i, f, g, o = split(gates, gates.shape[-1] // 4, -1)
            i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
            tc = tanh(f * c + i * g)
            gc = grad_c + grad_h * o * (1 - tc * tc)
            grad_gates = cat([gc * g * i * (1 - i), gc * c * f * (1 - f), gc * i * (1 - g * g),
                              grad_h * tc * o * (1 - o)], -1)
            return grad_gates, gc * f
        # first order: nothing is recorded, so plain array math (five ops, no graph bookkeeping)
        make = type(grad_h)._make
        gh = grad_h.data
        gc = grad_c.data + gh * dh_dc.data
        grad_gates = None
        if ctx.needs_input_grad[0]:
            xp = xp_of(gh)
            grad_gates = make(xp.concatenate([gc, gc, gc, gh], axis=-1) * coef.data)
        return grad_gates, make(gc * f.data) if ctx.needs_input_grad[1] else None


def lstm_gates(gates, c):
    """(h, c') of an LSTM step from the pre-activation gates (N, 4H) in torch's (i, f, g, o) order
    and the previous cell state c (N, H)."""
    if gates.ndim == 0 or tuple(gates.shape[:-1]) + (4 * c.shape[-1],) != tuple(gates.shape) or \
            c.ndim != gates.ndim or tuple(c.shape[:-1]) != tuple(gates.shape[:-1]):
        raise RuntimeError(f"lstm_gates: expected gates (*, 4H) and c (*, H) with the same leading "
                           f"dims, got {tuple(gates.shape)} and {tuple(c.shape)}")
    return LSTMGates.apply(gates, c)
