"""Backend switches, as torch.backends (only what scripts commonly probe); ``blas``: which BLAS
NumPy runs the matrix products on; ``malloc``: keep freed activation memory for reuse; ``threads``:
how many threads the matrix products use."""
from . import mps, cudnn, blas, malloc, threads  # noqa: F401
