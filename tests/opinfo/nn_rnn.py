"""The fused LSTM primitives (chainrule.ops.fused.rnn: LSTMGates, one step; LSTMSequence, a
layer's whole loop) against torch's composites (the layers themselves are tested in
tests/test_nn_rnn.py)."""
import numpy as np
import torch

from chainrule.ops.fused.rnn import lstm_gates, lstm_sequence
from .core import OpInfo, Sample, ErrorInput
from .samplers import uniform, noncontig


def _torch_gates(gates, c):
    i, f, g, o = gates.chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _samples(dt, rng):
    r = lambda *s: uniform(rng, s, dt, -3.0, 3.0)    # noqa: E731
    return [Sample((r(2, 8), r(2, 2)), desc="(N, 4H)"),
            Sample((r(1, 4), r(1, 1)), desc="H = 1"),
            Sample((r(4), r(1)), desc="unbatched"),
            Sample((r(0, 8), r(0, 2)), desc="empty batch"),
            Sample((noncontig(r(3, 4)), r(3, 1)), desc="noncontig gates"),
            Sample((np.array([[0.0, 20.0, -20.0, 0.0]], dtype=dt), r(1, 1)),
                   desc="saturated gates"),
            Sample((r(2, 2, 4), r(2, 2, 1)), desc="3-d")]


def _errors():
    return [ErrorInput((np.ones((2, 8)), np.ones((2, 3))), {}, RuntimeError,
                       r"lstm_gates: expected gates \(\*, 4H\) and c \(\*, H\).*\(2, 8\) and "
                       r"\(2, 3\)"),
            ErrorInput((np.ones((2, 8)), np.ones((3, 2))), {}, RuntimeError,
                       "same leading dims"),
            ErrorInput((np.ones(()), np.ones(())), {}, RuntimeError,
                       r"lstm_gates: expected gates \(\*, 4H\) and c \(\*, H\) with the same "
                       r"leading dims, got \(\) and \(\)")]


def _torch_sequence(xg, h0, c0, w_hh, time_dim=0, reverse=False):
    h, c = h0, c0
    steps = range(xg.shape[time_dim])
    outs = [None] * len(steps)
    for t in (reversed(steps) if reverse else steps):
        h, c = _torch_gates(xg.select(time_dim, t) + h @ w_hh.T, c)
        outs[t] = h
    return torch.stack(outs, time_dim), h, c


def _sequence_samples(dt, rng):
    r = lambda *s: uniform(rng, s, dt, -2.0, 2.0)    # noqa: E731
    return [Sample((r(3, 2, 8), r(2, 2), r(2, 2), r(8, 2)), desc="(T, N, 4H)"),
            Sample((r(2, 3, 8), r(2, 2), r(2, 2), r(8, 2)), {"time_dim": 1},
                   desc="batch first"),
            Sample((r(4, 2, 8), r(2, 2), r(2, 2), r(8, 2)), {"reverse": True}, desc="reverse"),
            Sample((r(2, 4, 8), r(2, 2), r(2, 2), r(8, 2)), {"time_dim": 1, "reverse": True},
                   desc="batch first, reverse"),
            Sample((r(1, 1, 4), r(1, 1), r(1, 1), r(4, 1)), desc="one step, H = 1"),
            Sample((r(3, 0, 8), r(0, 2), r(0, 2), r(8, 2)), desc="empty batch"),
            Sample((noncontig(r(3, 2, 8)), r(2, 2), r(2, 2), noncontig(r(8, 2))),
                   desc="noncontig")]


def _sequence_errors():
    return [ErrorInput((np.ones((3, 2, 8)), np.ones((2, 3)), np.ones((2, 2)), np.ones((8, 2))),
                       {}, RuntimeError,
                       r"lstm_sequence: expected xg \(T, N, 4H\).*\(3, 2, 8\), \(2, 3\), "
                       r"\(2, 2\) and \(8, 2\)"),
            ErrorInput((np.ones((3, 8)), np.ones((2, 2)), np.ones((2, 2)), np.ones((8, 2))),
                       {}, RuntimeError, r"lstm_sequence: expected xg \(T, N, 4H\)"),
            ErrorInput((np.ones((0, 2, 8)), np.ones((2, 2)), np.ones((2, 2)), np.ones((8, 2))),
                       {}, RuntimeError, r"lstm_sequence: expected at least one time step, "
                                         r"got xg of shape \(0, 2, 8\)")]


OPS = [OpInfo("lstm_sequence", lstm_sequence, _torch_sequence, _sequence_samples,
              primitives=("LSTMSequence",),
              no_scalar_reason="xg is (T, N, 4H) (see the error inputs)",
              errors=_sequence_errors),
       OpInfo("lstm_gates", lstm_gates, _torch_gates, _samples, primitives=("LSTMGates",),
              no_scalar_reason="the gates are (*, 4H): a 0-d tensor has no gate dim (see the "
                               "error inputs)", errors=_errors)]
