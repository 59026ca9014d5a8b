"""Affine layers: Identity, Linear, Bilinear, LazyLinear."""
import math

from .module import Module
from .. import functional as F
from .. import init
from ..parameter import Parameter, UninitializedParameter

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _empty(*shape, device=None, dtype=None):
    from ... import empty
    return empty(*shape, dtype=dtype, device=device)


class Identity(Module):
    """Returns its input unchanged; accepts (and ignores) any constructor arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b.

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: learn an additive bias (default True).

    Shape:
        - Input: (*, in_features).
        - Output: (*, out_features).

    Attributes:
        weight: (out_features, in_features), initialised from U(-k, k), k = 1/sqrt(in_features).
        bias: (out_features,), initialised from U(-k, k).

    Example::

        >>> m = nn.Linear(20, 30)
        >>> m(chainrule.randn(128, 20)).shape
        chainrule.Size([128, 30])
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(_empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_ with a = sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as torch
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(f"{self!r}: expected input with last dimension "
                               f"{self.in_features}, got {tuple(input.shape)}")
        if input.dtype is not self.weight.dtype:
            fix = f"convert the input with .to({self.weight.dtype})"
            if input.dtype.is_floating_point:
                fix += f" or the layer with .to({input.dtype})"
            raise RuntimeError(f"{self!r}: expected input of dtype {self.weight.dtype} (the "
                               f"weight's), got {input.dtype}; {fix}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y = x1^T A x2 + b.

    Args:
        in1_features: size of input1's last dimension.
        in2_features: size of input2's last dimension.
        out_features: size of the output's last dimension.
        bias: learn an additive bias (default True).

    Shape:
        - Input1: (*, in1_features); Input2: (*, in2_features), same leading dims.
        - Output: (*, out_features).

    Attributes:
        weight: (out_features, in1_features, in2_features), from U(-k, k), k = 1/sqrt(in1).
        bias: (out_features,), from U(-k, k).
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        self.weight = Parameter(_empty(out_features, in1_features, in2_features, device=device,
                                       dtype=dtype))
        if bias:
            self.bias = Parameter(_empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        if input1.ndim == 0 or input1.shape[-1] != self.in1_features or \
                input2.ndim == 0 or input2.shape[-1] != self.in2_features:
            raise RuntimeError(f"{self!r}: expected inputs with last dimensions "
                               f"{self.in1_features} and {self.in2_features}, got "
                               f"{tuple(input1.shape)} and {tuple(input2.shape)}")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(Linear):
    """A Linear whose ``in_features`` is inferred from the first input; it then becomes a
    ``Linear``.

    Args:
        out_features: size of each output's last dimension.
        bias: learn an additive bias (default True).
    """

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        Module.__init__(self)
        self.in_features, self.out_features = 0, out_features
        self._factory = {"device": device, "dtype": dtype}
        self.weight = UninitializedParameter()
        if bias:
            self.bias = UninitializedParameter()
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.in_features:
            super().reset_parameters()

    def forward(self, input):
        if isinstance(self.weight, UninitializedParameter):
            if input.ndim == 0:
                raise RuntimeError(f"{self!r}: expected an input with at least 1 dimension")
            self.in_features = input.shape[-1]
            self.weight = Parameter(_empty(self.out_features, self.in_features, **self._factory))
            if self.bias is not None:
                self.bias = Parameter(_empty(self.out_features, **self._factory))
            self.reset_parameters()
            self.__class__ = Linear
        return Linear.forward(self, input)
