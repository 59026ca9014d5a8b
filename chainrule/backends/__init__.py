"""Backend switches, as torch.backends (only what scripts commonly probe)."""
from . import mps, cudnn  # noqa: F401
