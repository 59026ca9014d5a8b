"""Backend switches, as torch.backends (only what scripts commonly probe), and ``blas``: which BLAS
NumPy runs the matrix products on."""
from . import mps, cudnn, blas  # noqa: F401
