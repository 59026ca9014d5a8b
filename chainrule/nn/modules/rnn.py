"""Recurrent layers: RNN, LSTM, GRU and their single-step cells RNNCell, LSTMCell, GRUCell.

Parameter names, shapes, order and initialisation follow torch, so state_dicts load either way.
The math lives in chainrule.nn.functional.rnn.
"""
import math
import numbers
import warnings

from .module import Module
from .. import init
from ..functional import rnn as _F
from ..parameter import Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _empty(*shape, device=None, dtype=None):
    from ... import empty
    return empty(*shape, dtype=dtype, device=device)


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: parameters, checks, hidden-state handling.

    Parameters, per layer ``k`` and direction (suffix ``_reverse`` for the backward one):
    ``weight_ih_l{k}`` (G*H, in), ``weight_hh_l{k}`` (G*H, H_out), ``bias_ih_l{k}`` (G*H,),
    ``bias_hh_l{k}`` (G*H,) and, for an LSTM with ``proj_size``, ``weight_hr_l{k}`` (P, H); G is the
    number of gates. All are initialised from U(-k, k), k = 1/sqrt(hidden_size).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or \
                not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        factory = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            for d in range(dirs):
                layer_in = input_size if layer == 0 else real_hidden * dirs
                shapes = [("weight_ih", (gate_size, layer_in)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                suffix = "_reverse" if d == 1 else ""
                names = []
                for base, shape in shapes:
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(_empty(*shape, **factory)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """A no-op kept for torch compatibility (there is no cuDNN weight buffer here)."""

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _layer_weights(self):
        out = []
        for names in self._all_weights:
            p = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append((p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"),
                        p.get("weight_hr")))
        return out

    def _check_input(self, input):
        expected = (2, 3)
        if input.ndim not in expected:
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{self._label()}: input.size(-1) must be equal to input_size. "
                               f"Expected {self.input_size}, got {input.shape[-1]} (input of "
                               f"shape {tuple(input.shape)}; its last dimension holds the "
                               "features)")
        if not input.dtype.is_floating_point:
            raise RuntimeError(f"{type(self).__name__}: expected a floating-point input, got "
                               f"{input.dtype}")

    def _label(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    def _check_hidden(self, hx, expected, what="hidden"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"{self._label()}: Expected {what} size {expected}, got "
                               f"{list(hx.shape)}")

    def _run(self, input, hx):
        """Shared forward: returns (output, h_n) or (output, (h_n, c_n)) as torch."""
        from ... import zeros
        self._check_input(input)
        lstm = self.mode == "LSTM"
        batched = input.ndim == 3
        if hx is not None:
            hs = hx if lstm else (hx,)
            if lstm and not isinstance(hx, (tuple, list)):
                raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
            want = 3 if batched else 2
            for h in hs:
                if h.ndim != want:
                    raise RuntimeError(
                        f"For {'batched 3' if batched else 'unbatched 2'}-D input, hx"
                        f"{' and cx' if lstm else ''} should also be {want}-D but got "
                        f"{h.ndim}-D tensor")
        if not batched:
            input = input.unsqueeze(1)
            if hx is not None:
                hx = _F._unsqueeze_all(hx, 1) if lstm else hx.unsqueeze(1)
        dirs = 2 if self.bidirectional else 1
        batch = input.shape[0 if self.batch_first else 1]
        h_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        h_shape = (self.num_layers * dirs, batch, h_out)
        c_shape = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            h0 = zeros(*h_shape, dtype=input.dtype)
            hx = (h0, zeros(*c_shape, dtype=input.dtype)) if lstm else h0
        elif lstm:
            self._check_hidden(hx[0], h_shape)
            self._check_hidden(hx[1], c_shape, "cell")
        else:
            self._check_hidden(hx, h_shape)
        result = _F.rnn_forward(self.mode, input, hx, self._layer_weights(), self.num_layers,
                                self.dropout, self.training, self.bidirectional,
                                self.batch_first, self.hidden_size, self.proj_size)
        out, states = result[0], result[1:]
        if not batched:
            out = out.squeeze(1)
            states = _F._squeeze_all(states, 1)
        return (out, tuple(states)) if lstm else (out, states[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    r"""Elman RNN: :math:`h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})` (or relu),
    stacked ``num_layers`` deep, optionally bidirectional.

    Args:
        input_size: features of the input x.
        hidden_size: features of the hidden state h.
        num_layers: stacked recurrent layers (default 1).
        nonlinearity: "tanh" (default) or "relu".
        bias: use b_ih and b_hh (default True).
        batch_first: input and output are (N, L, H) instead of (L, N, H); states are unaffected.
        dropout: dropout on every layer's output except the last (training only).
        bidirectional: run a second, time-reversed pass; outputs are concatenated.

    Shape:
        - input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        - h_0: (D * num_layers, N, H), or (D * num_layers, H) unbatched; zeros when omitted.
        - output: (L, N, D * H) (batch first if batch_first); h_n: like h_0. D = 2 if
          bidirectional else 1.

    Attributes:
        weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k} (``_reverse`` for the reverse
        direction), all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    Example::

        >>> rnn = nn.RNN(10, 20, 2)
        >>> output, h_n = rnn(chainrule.randn(5, 3, 10), chainrule.randn(2, 3, 20))
        >>> output.shape, h_n.shape
        (chainrule.Size([5, 3, 20]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)


class LSTM(RNNBase):
    r"""Long short-term memory, stacked ``num_layers`` deep, optionally bidirectional.

    .. math::
        i, f, g, o = \sigma, \sigma, \tanh, \sigma\ (x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T
        + b_{hh}),\quad c_t = f c_{t-1} + i g,\quad h_t = o \tanh(c_t)

    With ``proj_size`` P > 0, :math:`h_t` is further multiplied by ``weight_hr`` (P, H).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as RNN.
        proj_size: size of the projected hidden state (0: no projection).

    Shape:
        - input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        - (h_0, c_0): (D * num_layers, N, H_out) and (D * num_layers, N, H); zeros when omitted.
        - output: (L, N, D * H_out); (h_n, c_n) like (h_0, c_0). H_out = proj_size or hidden_size.

    Attributes:
        weight_ih_l{k} (4H, in), weight_hh_l{k} (4H, H_out), bias_ih_l{k}, bias_hh_l{k} (4H,),
        weight_hr_l{k} (P, H) with proj_size; gates stacked as (i, f, g, o); all from
        U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).

    Example::

        >>> lstm = nn.LSTM(10, 20, 2, batch_first=True)
        >>> output, (h_n, c_n) = lstm(chainrule.randn(3, 5, 10))
        >>> output.shape, c_n.shape
        (chainrule.Size([3, 5, 20]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)


class GRU(RNNBase):
    r"""Gated recurrent unit, stacked ``num_layers`` deep, optionally bidirectional.

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\ z = \sigma(W_{iz} x + b_{iz} + W_{hz} h
        + b_{hz}),\ n = \tanh(W_{in} x + b_{in} + r (W_{hn} h + b_{hn})),\ h' = (1 - z) n + z h

    Args and Shape: as RNN (gates stacked (r, z, n): weights (3H, in) and (3H, H)).

    Example::

        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> output, h_n = gru(chainrule.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        (chainrule.Size([5, 3, 40]), chainrule.Size([2, 3, 20]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._run(input, hx)


class RNNCellBase(Module):
    """Shared parameters of the cells: weight_ih (G*H, in), weight_hh (G*H, H), bias_ih, bias_hh
    (G*H,), all from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(_empty(num_chunks * hidden_size, input_size, **factory))
        self.weight_hh = Parameter(_empty(num_chunks * hidden_size, hidden_size, **factory))
        if bias:
            self.bias_ih = Parameter(_empty(num_chunks * hidden_size, **factory))
            self.bias_hh = Parameter(_empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input, hx, n_states):
        """Check shapes; add a batch dim to unbatched input; zeros for missing states."""
        from ... import zeros
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got "
                               f"{input.shape[-1]} expected {self.input_size}")
        states = None if hx is None else (tuple(hx) if n_states == 2 else (hx,))
        if states is not None:
            for s in states:
                if s.ndim != input.ndim:
                    raise RuntimeError(f"{name}: Expected hidden to be {input.ndim}D for a "
                                       f"{input.ndim}D input, got {s.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
            states = None if states is None else _F._unsqueeze_all(states, 0)
        if states is None:
            z = zeros(input.shape[0], self.hidden_size, dtype=input.dtype)
            states = (z,) * n_states
        for s in states:
            if tuple(s.shape) != (input.shape[0], self.hidden_size):
                raise RuntimeError(f"{name}: Expected hidden size "
                                   f"{(input.shape[0], self.hidden_size)}, got {list(s.shape)}")
        return input, states, batched


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    Args:
        input_size, hidden_size: feature sizes of x and h.
        bias: use b_ih and b_hh (default True).
        nonlinearity: "tanh" (default) or "relu".

    Shape: input (N, in) or (in,); hidden (N, H) or (H,), zeros when omitted; output like hidden.

    Example::

        >>> cell = nn.RNNCell(10, 20)
        >>> cell(chainrule.randn(3, 10)).shape
        chainrule.Size([3, 20])
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, hx, 1)
        fn = _F.rnn_tanh_cell if self.nonlinearity == "tanh" else _F.rnn_relu_cell
        out = fn(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): c' = f c + i g, h' = o tanh(c').

    Args:
        input_size, hidden_size: feature sizes of x and h.
        bias: use b_ih and b_hh (default True).

    Shape: input (N, in) or (in,); hx = (h, c), each (N, H) or (H,), zeros when omitted;
    returns (h', c').

    Example::

        >>> cell = nn.LSTMCell(10, 20)
        >>> h, c = cell(chainrule.randn(3, 10))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        input, states, batched = self._prepare(input, hx, 2)
        h, c = _F.lstm_cell(input, states, self.weight_ih, self.weight_hh, self.bias_ih,
                            self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): h' = (1 - z) n + z h.

    Args:
        input_size, hidden_size: feature sizes of x and h.
        bias: use b_ih and b_hh (default True).

    Shape: input (N, in) or (in,); hidden (N, H) or (H,), zeros when omitted; output like hidden.

    Example::

        >>> cell = nn.GRUCell(10, 20)
        >>> cell(chainrule.randn(10)).shape
        chainrule.Size([20])
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        input, (h,), batched = self._prepare(input, hx, 1)
        out = _F.gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return out if batched else out.squeeze(0)
