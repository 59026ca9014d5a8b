"""CUDA status, as torch.cuda: chainrule runs on NVIDIA GPUs through CuPy when installed."""
from .._backend import cuda_available


def is_available():
    """True when CuPy is installed and sees a CUDA device."""
    return cuda_available()


def device_count():
    if not cuda_available():
        return 0
    import cupy
    return cupy.cuda.runtime.getDeviceCount()


def manual_seed(seed):
    pass


def manual_seed_all(seed):
    pass


def synchronize():
    if cuda_available():
        import cupy
        cupy.cuda.Device().synchronize()
