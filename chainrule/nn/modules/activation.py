"""Activation layers: thin Modules around ``chainrule.nn.functional``'s activations.

Every layer works on any shape (``(*)`` in, same shape out) unless its docstring says otherwise.
"""
from .module import Module
from .. import functional as F
from .. import init
from ..parameter import Parameter

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Softplus",
           "Softsign", "Hardtanh", "Hardsigmoid", "Hardswish", "Sigmoid", "Tanh", "LogSigmoid",
           "Softmax", "LogSoftmax", "Softmin", "Softmax2d", "GLU", "PReLU", "Threshold", "RReLU",
           "Hardshrink", "Softshrink", "Tanhshrink"]


class _Inplace(Module):
    """An activation with only an ``inplace`` flag."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(x, 0), elementwise.

    Args:
        inplace: overwrite the input instead of allocating the output.

    Example::

        >>> nn.ReLU()(chainrule.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)


class SELU(_Inplace):
    """scale * (max(0, x) + min(0, alpha * (exp(x) - 1))), alpha ~ 1.6733, scale ~ 1.0507."""

    def forward(self, input):
        return F.selu(input, self.inplace)


class SiLU(_Inplace):
    """x * sigmoid(x)."""

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)


class Mish(_Inplace):
    """x * tanh(softplus(x))."""

    def forward(self, input):
        return F.mish(input, inplace=self.inplace)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.hardsigmoid(input, self.inplace)


class Hardswish(Hardsigmoid):
    """x * relu6(x + 3) / 6."""

    def forward(self, input):
        return F.hardswish(input, self.inplace)


class Hardtanh(Module):
    """clamp(x, min_val, max_val).

    Args:
        min_val: lower end of the linear region (default -1).
        max_val: upper end (default 1).
        inplace: overwrite the input.
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self):
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6)."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x.

    Args:
        negative_slope: slope for negative inputs (default 0.01).
        inplace: overwrite the input.
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """x if x > 0 else alpha * (exp(x) - 1).

    Args:
        alpha: the saturation value for negative inputs (default 1).
        inplace: overwrite the input.
    """

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    def forward(self, input):
        return F.celu(input, self.alpha, self.inplace)


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF.

    Args:
        approximate: ``'none'`` (exact, via erf) or ``'tanh'`` (the tanh approximation).
    """

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta; linear (x) where beta x > threshold.

    Args:
        beta: sharpness (default 1).
        threshold: above this value of beta x the layer is the identity (default 20).
    """

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class _Stateless(Module):
    fn = None

    def forward(self, input):
        return type(self).fn(input)


class Softsign(_Stateless):
    """x / (1 + |x|)."""
    fn = staticmethod(F.softsign)


class Sigmoid(_Stateless):
    """1 / (1 + exp(-x))."""
    fn = staticmethod(F.sigmoid)


class Tanh(_Stateless):
    """tanh(x)."""
    fn = staticmethod(F.tanh)


class LogSigmoid(_Stateless):
    """log(sigmoid(x))."""
    fn = staticmethod(F.logsigmoid)


class Tanhshrink(_Stateless):
    """x - tanh(x)."""
    fn = staticmethod(F.tanhshrink)


class _DimModule(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):
        super().__setstate__(state)
        self.__dict__.setdefault("dim", None)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_DimModule):
    """exp(x_i) / sum_j exp(x_j) along ``dim``.

    Args:
        dim: the dimension that sums to 1.

    Example::

        >>> nn.Softmax(dim=-1)(chainrule.zeros(2, 4))   # every entry 0.25
    """

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)


class LogSoftmax(_DimModule):
    """log(softmax(x)) along ``dim``, computed stably."""

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)


class Softmin(_DimModule):
    """softmax(-x) along ``dim``."""

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)


class Softmax2d(Module):
    """Softmax over the channels at every spatial location.

    Shape: (N, C, H, W) or (C, H, W) -> same shape.
    """

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             f"instead")
        return F.softmax(input, -3, _stacklevel=5)


class GLU(Module):
    """a * sigmoid(b), a and b the halves of the input along ``dim``.

    Shape: (*, 2N, *) -> (*, N, *).
    """

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """x if x > 0 else a * x, with a learned slope ``a`` shared or per channel (dim 1).

    Args:
        num_parameters: 1 (one shared slope) or the number of input channels.
        init: the initial slope (default 0.25).

    Attributes:
        weight: the slopes, shape (num_parameters,), initialised to ``init``.
    """

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        from ... import empty
        self.weight = Parameter(empty(num_parameters, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Threshold(Module):
    """x if x > threshold else value.

    Args:
        threshold: the cut-off.
        value: what replaces inputs at or below it.
        inplace: overwrite the input.
    """

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self):
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class RReLU(Module):
    """Randomised leaky ReLU: a random slope in [lower, upper] for negative inputs while
    training, the mean slope in evaluation."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self):
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"


class Hardshrink(Module):
    """x if |x| > lambd else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.hardshrink(input, self.lambd)

    def extra_repr(self):
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""

    def forward(self, input):
        return F.softshrink(input, self.lambd)
