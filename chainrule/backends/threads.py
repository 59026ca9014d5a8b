"""How many threads chainrule's matrix products use (torch's ``set_num_threads`` /
``get_num_threads``).

Every product in chainrule is NumPy's ``matmul``, run on OpenBLAS's thread pool; the other array
work (ufuncs, copies, reductions) runs on the calling thread. So the count here is OpenBLAS's,
read and set through its C API (``OPENBLAS_NUM_THREADS`` sets it at start-up, as
``OMP_NUM_THREADS`` does for torch).
"""
import os

__all__ = ["get_num_threads", "set_num_threads"]


def get_num_threads():
    """The threads a matrix product may use (torch.get_num_threads)."""
    from .blas import openblas_function
    fn = openblas_function("get_num_threads")
    if fn is not None:
        return int(fn())
    return os.cpu_count() or 1                  # another BLAS: its own default


def set_num_threads(n):
    """Let matrix products use ``n`` threads (torch.set_num_threads)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    from .blas import openblas_function
    fn = openblas_function("set_num_threads")
    if fn is None:
        raise RuntimeError("set_num_threads: NumPy's BLAS is not OpenBLAS, whose thread count "
                           "chainrule can set; use that library's own setting (e.g. "
                           "MKL_NUM_THREADS) before starting Python")
    fn(int(n))
