"""A convolutional autoencoder: conv encoder, ConvTranspose2d decoder."""
from .. import nn

__all__ = ["ConvAutoencoder"]


class ConvAutoencoder(nn.Module):
    """Compress an image to ``code_size`` numbers and reconstruct it.

    ``encoder``: ``conv 3x3 stride 2 (16) -> ReLU -> conv 3x3 stride 2 (32) -> ReLU -> Linear``
    to the code; ``decoder``: ``Linear -> ReLU -> ConvTranspose2d 3x3 stride 2 (16) -> ReLU ->
    ConvTranspose2d 3x3 stride 2 -> Sigmoid``, so outputs lie in [0, 1] like the pixels. Each half
    is usable alone: ``model.encoder(images)`` gives codes, ``model.decoder(codes)`` images.

    With the defaults (1x28x28 input, code size 32) it has **111,521** parameters
    (encoder 55,008, decoder 56,513).

    Args:
        in_channels: image channels.
        image_size: input height = width; must be divisible by 4 (28 and 32 are).
        code_size: length of the code.

    Shape:
        - Input: ``(N, in_channels, image_size, image_size)``, pixels in [0, 1].
        - Code: ``(N, code_size)``.
        - Output: like the input.

    Example:
        >>> model = ConvAutoencoder()
        >>> codes = model.encoder(chainrule.rand(4, 1, 28, 28))        # (4, 32)
        >>> model.decoder(codes).shape
        chainrule.Size([4, 1, 28, 28])
    """

    def __init__(self, in_channels=1, image_size=28, code_size=32):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"ConvAutoencoder: image_size must be divisible by 4, got "
                             f"{image_size}")
        side = image_size // 4
        self.code_size = code_size
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * side * side, code_size))
        self.decoder = nn.Sequential(
            nn.Linear(code_size, 32 * side * side), nn.ReLU(), nn.Unflatten(1, (32, side, side)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, in_channels, 3, stride=2, padding=1, output_padding=1),
            nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))
