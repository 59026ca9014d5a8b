"""A small residual network for 32x32 (or 28x28) images."""
from .. import nn
from ..nn import functional as F

__all__ = ["BasicBlock", "ResNet"]


class BasicBlock(nn.Module):
    """Two ``3x3 conv -> BatchNorm`` layers with an identity (or 1x1-conv) shortcut, then ReLU.

    Shape:
        - Input: ``(N, in_channels, H, W)``.
        - Output: ``(N, out_channels, ceil(H / stride), ceil(W / stride))``.
    """

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """A small ResNet (He et al., 2016) for 32x32 images: a 3x3 stem, three stages of
    ``BasicBlock``s (``width``, 2·width, 4·width channels; stages 2 and 3 halve the resolution),
    global average pooling and a linear classifier.

    With the defaults (3 input channels, width 16, one block per stage, 10 classes) it has
    **78,042** parameters. Any input size of at least 8x8 works (28x28 included): the global
    pooling makes the classifier independent of it.

    Args:
        in_channels: image channels (3 for CIFAR-10, 1 for grayscale).
        num_classes: number of output logits.
        width: channels of the first stage.
        blocks: residual blocks per stage.

    Shape:
        - Input: ``(N, in_channels, H, W)``, e.g. ``(N, 3, 32, 32)``.
        - Output: ``(N, num_classes)`` logits.

    Example:
        >>> model = ResNet()
        >>> model(chainrule.randn(2, 3, 32, 32)).shape
        chainrule.Size([2, 10])
    """

    def __init__(self, in_channels=3, num_classes=10, width=16, blocks=1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        stages, channels = [], width
        for i, out in enumerate((width, 2 * width, 4 * width)):
            for j in range(blocks):
                stages.append(BasicBlock(channels, out, 2 if (i > 0 and j == 0) else 1))
                channels = out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.stages(self.stem(x))).flatten(1))
