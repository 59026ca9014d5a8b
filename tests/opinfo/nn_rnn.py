"""The fused LSTM gate primitive (chainrule.ops.fused.rnn.LSTMGates) against torch's composite
(the layers themselves are tested in tests/test_nn_rnn.py)."""
import numpy as np
import torch

from chainrule.ops.fused.rnn import lstm_gates
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


OPS = [OpInfo("lstm_gates", lstm_gates, _torch_gates, _samples, primitives=("LSTMGates",),
              no_scalar_reason="the gates are (*, 4H): a 0-d tensor has no gate dim (see the "
                               "error inputs)", errors=_errors)]
