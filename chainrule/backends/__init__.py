"""Backend switches, as torch.backends (only what scripts commonly probe); ``blas``: which BLAS
NumPy runs the matrix products on; ``malloc``: keep freed activation memory for reuse."""
from . import mps, cudnn, blas, malloc  # noqa: F401
