"""The LSTM recurrence in fused nodes: ``LSTMGates`` (the gate math of one time step) and
``LSTMSequence`` (a whole layer's loop over time, one node for the sequence).

Composite references (the tests check each against its reference, values and gradients):
    one step (``chainrule.nn.functional.rnn._lstm_gates_reference``):
        i, f, g, o = split(gates, H, -1)
        c' = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c')
    the sequence (``lstm_sequence_reference`` below): for each step t (in order, or reversed),
        h, c = lstm_gates(xg[t] + h @ w_hh^T, c), the outputs stacked along the time dim.

The step composite records 12 nodes per step and the sequence loop four more; ``LSTMSequence``
records one node for all of it. Its first-order backward runs the recurrence backward on arrays
(five elementwise ops and one small GEMM a step, with the constants the forward kept) and then
forms the recurrent weight's gradient as ONE GEMM over all steps, where a per-step graph would
do a small GEMM and a full-size accumulation per step. A backward that builds a graph
(double backward) replays the reference and differentiates it.
"""
from .. import primitive, Primitive
from ...autograd import grad_mode
from ..._backend import xp_of

__all__ = []


def _sig(x, xp):
    # why: 0.5 (1 + tanh(x / 2)) is sigmoid without exp overflow on either tail
    return 0.5 * (1.0 + xp.tanh(0.5 * x))


def _gate_step(gates, c, xp):
    """One step on arrays: ``(h, c', coef, dh_dc, f)``, where ``coef`` (N, 4H) holds d gate /
    d pre-activation times what each gate multiplies, and ``dh_dc = o (1 - tanh^2 c')``: the
    constants of the first-order backward."""
    hid = gates.shape[-1] // 4
    dt = gates.dtype.type
    act = _sig(gates, xp).astype(gates.dtype, copy=False)
    g = xp.tanh(gates[..., 2 * hid:3 * hid])
    i, f, o = act[..., :hid], act[..., hid:2 * hid], act[..., 3 * hid:]
    c_new = f * c + i * g
    tc = xp.tanh(c_new)
    h = o * tc
    coef = xp.concatenate([g * i * (dt(1) - i), c * f * (dt(1) - f), i * (dt(1) - g * g),
                           tc * o * (dt(1) - o)], axis=-1)
    return h, c_new, coef, o * (dt(1) - tc * tc), f


@primitive
class LSTMGates(Primitive):
    @staticmethod
    def forward(ctx, gates, c):
        h, c_new, coef, dh_dc, f = _gate_step(gates, c, xp_of(gates))
        # A graph-building backward recomputes the constants from gates and c.
        ctx.save_for_backward(gates, c, coef, dh_dc, f)
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


def _steps(n, reverse):
    return range(n - 1, -1, -1) if reverse else range(n)


@primitive
class LSTMSequence(Primitive):
    """Inputs: xg, the input projections of every step with the biases folded in ((T, N, 4H), or
    (N, T, 4H) with ``time_dim=1``); h0, c0 (N, H); w_hh (4H, H). Outputs: the hidden states of
    every step (xg's layout, H wide), h_n and c_n (N, H)."""

    @staticmethod
    def forward(ctx, xg, h0, c0, w_hh, time_dim, reverse):
        xp = xp_of(xg)
        steps = xg.shape[time_dim]
        out = xp.empty(xg.shape[:-1] + (w_hh.shape[1],), dtype=xg.dtype)
        xs, outs = xp.moveaxis(xg, time_dim, 0), xp.moveaxis(out, time_dim, 0)
        h, c = h0, c0
        saved = [None] * steps
        for t in _steps(steps, reverse):
            # why: w_hh @ h^T, (4H, N), is the same product as h @ w_hh^T with the long side
            # as BLAS's rows: (1024, 256) x (256, 32) took 182 us against 277 on one thread
            h, c, coef, dh_dc, f = _gate_step(xs[t] + (w_hh @ h.T).T, c, xp)
            outs[t] = h
            saved[t] = (coef, dh_dc, f)
        # saved, not attributes: the engine frees them once backward has run
        ctx.save_for_backward(xg, h0, c0, w_hh, out, saved)
        ctx.time_dim, ctx.reverse = time_dim, reverse
        return out, h, c

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c):
        """per step, backward in time: dh = g_out[t] + dh_next; gc = dc_next + dh o (1 - tanh^2
        c'); d xg[t] = [gc g i', gc c f', gc i g', dh tanh(c') o']; dc_next = gc f; dh_next =
        d xg[t] w_hh.  Then d w_hh = sum_t d xg[t]^T h_{t-1} (one GEMM), d h0 = dh_next,
        d c0 = dc_next."""
        xg, h0, c0, w_hh, out, saved = ctx.saved_tensors
        time_dim, reverse = ctx.time_dim, ctx.reverse
        if grad_mode.is_grad_enabled():
            return _replay_backward(ctx, (xg, h0, c0, w_hh), (grad_out, grad_h, grad_c))
        make, w = grad_out._make, w_hh.data
        xp = xp_of(w)
        hid = w.shape[1]
        go = xp.moveaxis(grad_out.data, time_dim, 0)
        d_xg = xp.empty(xg.shape, dtype=xg.data.dtype)
        d_xs = xp.moveaxis(d_xg, time_dim, 0)
        dh, dc = grad_h.data, grad_c.data
        for t in reversed(_steps(len(go), reverse)):
            coef, dh_dc, f = saved[t]
            dh = go[t] + dh
            gc = dc + dh * dh_dc
            d4 = d_xs[t].reshape(dh.shape[:-1] + (4, hid))
            c4 = coef.reshape(d4.shape)
            xp.multiply(c4[..., :3, :], gc[..., None, :], out=d4[..., :3, :])
            xp.multiply(c4[..., 3, :], dh, out=d4[..., 3, :])
            dc = gc * f
            dh = d_xs[t] @ w
        grad_w = None
        if ctx.needs_input_grad[3]:
            # h_{t-1} of every step, laid out as the outputs: the output one step earlier in the
            # order of the loop (h0 for the first step)
            prev = xp.empty_like(out.data)
            ps, outs = xp.moveaxis(prev, time_dim, 0), xp.moveaxis(out.data, time_dim, 0)
            if reverse:
                ps[-1], ps[:-1] = h0.data, outs[1:]
            else:
                ps[0], ps[1:] = h0.data, outs[:-1]
            grad_w = make(d_xg.reshape(-1, 4 * hid).T @ prev.reshape(-1, hid))
        needs = ctx.needs_input_grad
        return (make(d_xg) if needs[0] else None, make(dh) if needs[1] else None,
                make(dc) if needs[2] else None, grad_w, None, None)


def _replay_backward(ctx, inputs, grads):
    """The gradients as a graph: run the reference on the saved inputs and differentiate it."""
    from ...autograd import grad as _grad
    outs = lstm_sequence_reference(*inputs, ctx.time_dim, ctx.reverse)
    wanted = [i for i, need in enumerate(ctx.needs_input_grad[:4]) if need]
    got = _grad(outs, [inputs[i] for i in wanted], grads, create_graph=True, allow_unused=True)
    result = [None] * 6
    for i, g in zip(wanted, got):
        result[i] = g
    return tuple(result)


def lstm_sequence_reference(xg, h0, c0, w_hh, time_dim=0, reverse=False):
    """Composite reference of ``LSTMSequence``: the step loop in chainrule ops."""
    from .. import matmul, stack, transpose, unbind
    inputs = unbind(xg, time_dim)
    w_t = transpose(w_hh, 0, 1)
    h, c = h0, c0
    outs = [None] * len(inputs)
    for t in _steps(len(inputs), reverse):
        h, c = lstm_gates(inputs[t] + matmul(h, w_t), c)
        outs[t] = h
    return stack(outs, time_dim), h, c


def lstm_sequence(xg, h0, c0, w_hh, time_dim=0, reverse=False):
    """One LSTM layer over a sequence as one node (see ``LSTMSequence``): returns
    ``(outputs, h_n, c_n)``. Shapes: xg (T, N, 4H) (or (N, T, 4H) with ``time_dim=1``), h0 and
    c0 (N, H), w_hh (4H, H)."""
    hid = w_hh.shape[-1]
    n = xg.shape[1 - time_dim] if xg.ndim == 3 else None
    if xg.ndim != 3 or w_hh.ndim != 2 or tuple(w_hh.shape) != (4 * hid, hid) or \
            xg.shape[-1] != 4 * hid or tuple(h0.shape) != (n, hid) or \
            tuple(c0.shape) != (n, hid):
        raise RuntimeError(f"lstm_sequence: expected xg (T, N, 4H) (time along dim "
                           f"{time_dim}), h0 and c0 (N, H) and w_hh (4H, H), got "
                           f"{tuple(xg.shape)}, {tuple(h0.shape)}, {tuple(c0.shape)} and "
                           f"{tuple(w_hh.shape)}")
    if xg.shape[time_dim] == 0:
        raise RuntimeError(f"lstm_sequence: expected at least one time step, got xg of shape "
                           f"{tuple(xg.shape)} (time along dim {time_dim})")
    return LSTMSequence.apply(xg, h0, c0, w_hh, time_dim, reverse)
