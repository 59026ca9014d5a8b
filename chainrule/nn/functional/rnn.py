"""Recurrent math: single cell steps (torch's ``rnn_tanh_cell``, ``rnn_relu_cell``, ``lstm_cell``,
``gru_cell``) and the multi-layer, optionally bidirectional sequence runner behind nn.RNN, nn.LSTM
and nn.GRU.

Speed notes (the Python loop over time steps is the only per-step cost):

* the input projection ``x W_ih^T + b_ih (+ b_hh)`` of every time step is one matmul, done before
  the loop; the loop then adds ``h W_hh^T`` and runs the gate nonlinearities;
* one ``unbind`` hands out the per-step projections and one ``stack`` gathers the outputs, so the
  graph holds a handful of nodes per step;
* an LSTM layer without projections runs its whole loop in the fused ``LSTMSequence`` primitive
  (chainrule.ops.fused.rnn): one node per layer and direction, and one GEMM for the recurrent
  weight's gradient; with ``proj_size`` the loop below runs the fused ``LSTMGates`` per step,
  whose composite reference is ``_lstm_gates_reference`` below.

None of these functions is part of torch.nn.functional, so this module exports nothing; the layers
import them directly.
"""
from ...ops import (matmul, transpose, unbind, stack, cat, split, sigmoid, tanh, relu, zeros,
                    unsqueeze, squeeze)
from ...ops.fused.rnn import lstm_gates, lstm_sequence
from .dropout import dropout as _dropout
from .linear import linear

__all__ = []


# ---- one step (gates already hold the input projection and the biases that fold into it) ----

def _lstm_gates_reference(gates, c):
    """Composite reference of the fused LSTM gate math: gates (N, 4H) in torch's (i, f, g, o)
    order and c (N, H) give (h, c') with c' = f c + i g and h = o tanh(c')."""
    i, f, g, o = split(gates, gates.shape[-1] // 4, -1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c), c


def _gru_step(xrz, xn, h, w_hh_t, b_hn, hidden):
    """xrz: (N, 2H) input part of r, z (with b_ih and b_hh folded in); xn: (N, H) input part of n
    (with b_in); b_hn stays inside r * (W_hn h + b_hn) as in torch."""
    gh = matmul(h, w_hh_t)
    hrz, hn = split(gh, [2 * hidden, hidden], -1)
    r, z = split(sigmoid(xrz + hrz), hidden, -1)
    if b_hn is not None:
        hn = hn + b_hn
    n = tanh(xn + r * hn)
    return n + z * (h - n)


# ---- torch's cell functions ----

def _cell_bias(b_ih, b_hh):
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). Shapes: input (N, in), hx (N, H) -> (N, H)."""
    return tanh(linear(input, w_ih, _cell_bias(b_ih, b_hh)) + matmul(hx, transpose(w_hh, 0, 1)))


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh). Shapes as ``rnn_tanh_cell``."""
    return relu(linear(input, w_ih, _cell_bias(b_ih, b_hh)) + matmul(hx, transpose(w_hh, 0, 1)))


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step; ``hx`` is (h, c). Gates i, f, g, o (torch's order) from
    x W_ih^T + b_ih + h W_hh^T + b_hh; c' = f c + i g; h' = o tanh(c').

    Shapes: input (N, in), h (N, H), c (N, H), w_ih (4H, in), w_hh (4H, H) -> (h', c')."""
    h, c = hx
    gates = linear(input, w_ih, _cell_bias(b_ih, b_hh)) + matmul(h, transpose(w_hh, 0, 1))
    return lstm_gates(gates, c)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h.

    Shapes: input (N, in), hx (N, H), w_ih (3H, in), w_hh (3H, H) -> (N, H)."""
    hidden = w_hh.shape[1]
    xg = linear(input, w_ih, b_ih)
    b_hn = None
    if b_hh is not None:
        b_hrz, b_hn = split(b_hh, [2 * hidden, hidden])
        xg = xg + cat([b_hrz, zeros(hidden, dtype=b_hh.dtype)])
    xrz, xn = split(xg, [2 * hidden, hidden], -1)
    return _gru_step(xrz, xn, hx, transpose(w_hh, 0, 1), b_hn, hidden)


# ---- the sequence runner ----

def _direction(mode, x, h0, c0, weights, reverse, time_dim, hidden):
    """Run one layer in one direction over x (time along ``time_dim``, batch along the other of
    dims 0/1). Returns (output, h_n, c_n) with output stacked along ``time_dim``."""
    w_ih, w_hh, b_ih, b_hh, w_hr = weights
    steps = x.shape[time_dim]
    w_hh_t = transpose(w_hh, 0, 1)
    w_hr_t = transpose(w_hr, 0, 1) if w_hr is not None else None
    b_hn = None
    if mode == "GRU":
        bias = b_ih
        if b_hh is not None:
            b_hrz, b_hn = split(b_hh, [2 * hidden, hidden])
            pad = cat([b_hrz, zeros(hidden, dtype=b_hh.dtype)])
            bias = pad if bias is None else bias + pad
        xrz, xn = split(linear(x, w_ih, bias), [2 * hidden, hidden], -1)
        inputs = list(zip(unbind(xrz, time_dim), unbind(xn, time_dim)))
    elif mode == "LSTM" and w_hr is None and x.shape[time_dim]:
        # the whole loop, forward and backward, in one node (see LSTMSequence)
        return lstm_sequence(linear(x, w_ih, _cell_bias(b_ih, b_hh)), h0, c0, w_hh, time_dim,
                             reverse)
    else:
        inputs = unbind(linear(x, w_ih, _cell_bias(b_ih, b_hh)), time_dim)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    h, c = h0, c0
    outs = [None] * steps
    for t in order:
        xg = inputs[t]
        if mode == "LSTM":
            h, c = lstm_gates(xg + matmul(h, w_hh_t), c)
            if w_hr_t is not None:
                h = matmul(h, w_hr_t)
        elif mode == "GRU":
            h = _gru_step(xg[0], xg[1], h, w_hh_t, b_hn, hidden)
        elif mode == "RNN_TANH":
            h = tanh(xg + matmul(h, w_hh_t))
        else:
            h = relu(xg + matmul(h, w_hh_t))
        outs[t] = h
    return stack(outs, time_dim), h, c


def rnn_forward(mode, input, hx, weights, num_layers, dropout, training, bidirectional,
                batch_first, hidden_size, proj_size=0):
    """Multi-layer RNN/LSTM/GRU over a batched sequence.

    Args:
        mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU".
        input: (L, N, H_in), or (N, L, H_in) when ``batch_first``.
        hx: h0 (num_layers * D, N, H_out), or (h0, c0) for LSTM (c0: (num_layers * D, N, H)).
        weights: per layer and direction, (w_ih, w_hh, b_ih, b_hh, w_hr) (None where absent).
        dropout: applied to each layer's output but the last's, when ``training``.

    Returns:
        (output, h_n) or, for LSTM, (output, h_n, c_n); output is (L, N, D * H_out) (batch first
        when ``batch_first``).
    """
    time_dim = 1 if batch_first else 0
    dirs = 2 if bidirectional else 1
    h0, c0 = hx if mode == "LSTM" else (hx, None)
    h_n, c_n = [], []
    x = input
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            out, h, c = _direction(mode, x, h0[k], c0[k] if c0 is not None else None,
                                   weights[k], d == 1, time_dim, hidden_size)
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if dirs == 1 else cat(outs, -1)
        if dropout and training and layer < num_layers - 1:
            x = _dropout(x, dropout, True)
    if mode == "LSTM":
        return x, stack(h_n, 0), stack(c_n, 0)
    return x, stack(h_n, 0)


def _unsqueeze_all(ts, dim):
    return tuple(unsqueeze(t, dim) for t in ts)


def _squeeze_all(ts, dim):
    return tuple(squeeze(t, dim) for t in ts)
