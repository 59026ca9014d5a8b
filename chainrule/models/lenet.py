"""A LeNet-5-style convolutional image classifier."""
from .. import nn

__all__ = ["LeNet"]


class LeNet(nn.Module):
    """LeNet-5-style CNN: two ``conv 5x5 -> ReLU -> max-pool 2`` stages, then three linear layers.

    The first convolution pads by 2, so both 28x28 and 32x32 inputs work (the feature map
    entering the classifier is 5x5 for 28x28 and 6x6 for 32x32). Compared with the 1998 network it
    uses ReLU, max pooling, wider convolutions (``channels``) and dropout before the last layer.

    With the defaults (1x28x28 input, channels (16, 32), 10 classes) it has **120,382**
    parameters: conv 416 + 12,832; linear 800·120+120 = 96,120, 120·84+84 = 10,164 and
    84·10+10 = 850. (3x32x32 input: 163,422.)

    Args:
        in_channels: image channels (1 grayscale, 3 colour).
        num_classes: number of output logits.
        image_size: input height = width (28 or 32, or anything ≥ 12).
        channels: output channels of the two convolutions (the original LeNet-5 used (6, 16)).
        dropout: dropout probability before the last linear layer.

    Shape:
        - Input: ``(N, in_channels, image_size, image_size)``.
        - Output: ``(N, num_classes)`` logits.

    Example:
        >>> model = LeNet()
        >>> model(chainrule.randn(4, 1, 28, 28)).shape
        chainrule.Size([4, 10])
    """

    def __init__(self, in_channels=1, num_classes=10, image_size=28, channels=(16, 32),
                 dropout=0.25):
        super().__init__()
        c1, c2 = channels
        side = ((image_size // 2) - 4) // 2
        if side < 1:
            raise ValueError(f"LeNet: image_size must be at least 12, got {image_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * side * side, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Dropout(dropout), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))
