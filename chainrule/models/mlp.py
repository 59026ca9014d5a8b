"""A multi-layer perceptron image classifier."""
import math

from .. import nn

__all__ = ["MLP"]


class MLP(nn.Module):
    """Fully connected classifier: flatten, then ``Linear -> ReLU -> Dropout`` per hidden layer.

    With the defaults (28x28 grayscale input, hidden sizes 256 and 128, 10 classes) it has
    **235,146** parameters: 784·256+256 + 256·128+128 + 128·10+10.

    Args:
        in_shape: shape of one input image ``(C, H, W)`` (or ``(D,)``); default ``(1, 28, 28)``.
        num_classes: number of output logits.
        hidden: sizes of the hidden layers.
        dropout: dropout probability after each hidden activation (0 turns it off).

    Shape:
        - Input: ``(N, *in_shape)``, e.g. ``(N, 1, 28, 28)``.
        - Output: ``(N, num_classes)`` logits.

    Example:
        >>> model = MLP()
        >>> model(chainrule.randn(8, 1, 28, 28)).shape
        chainrule.Size([8, 10])
    """

    def __init__(self, in_shape=(1, 28, 28), num_classes=10, hidden=(256, 128), dropout=0.2):
        super().__init__()
        self.in_shape, self.num_classes = tuple(in_shape), num_classes
        layers, width = [nn.Flatten()], math.prod(self.in_shape)
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)
