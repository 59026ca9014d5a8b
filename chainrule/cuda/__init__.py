"""CUDA status, as torch.cuda: chainrule runs on NVIDIA GPUs through CuPy when installed.

Without CuPy (or without a visible GPU) ``is_available()`` is False, the counters read 0, the
no-op calls (``empty_cache``, ``synchronize``, ``manual_seed``) do nothing, and the calls that
need a device raise, as torch's CPU build does.
"""
from .._backend import cuda_available

_NO_DEVICE = ("chainrule.cuda: no CUDA device is available (CuPy is not installed or sees no "
              "GPU); install the GPU extra (pip install 'chainrule[gpu]') on a machine with an "
              "NVIDIA GPU")


def is_available():
    """True when CuPy is installed and sees a CUDA device."""
    return cuda_available()


def is_initialized():
    return cuda_available()


def _cupy():
    if not cuda_available():
        raise AssertionError(_NO_DEVICE)
    import cupy
    return cupy


def device_count():
    if not cuda_available():
        return 0
    import cupy
    return cupy.cuda.runtime.getDeviceCount()


def current_device():
    """Index of the current CUDA device."""
    return _cupy().cuda.runtime.getDevice()


def set_device(device):
    """Make ``device`` (an index, ``"cuda:N"`` or a ``chainrule.device``) the current device."""
    index = getattr(device, "index", device)
    if isinstance(index, str):
        index = int(index.split(":")[1]) if ":" in index else 0
    _cupy().cuda.Device(0 if index is None else index).use()


def _properties(device):
    index = getattr(device, "index", device)
    cupy = _cupy()
    index = cupy.cuda.runtime.getDevice() if index is None else index
    return cupy.cuda.runtime.getDeviceProperties(index)


def get_device_name(device=None):
    """The GPU's name, e.g. ``'NVIDIA H100'``."""
    name = _properties(device)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None):
    """The device's compute capability ``(major, minor)``."""
    props = _properties(device)
    return props["major"], props["minor"]


def is_bf16_supported(including_emulation=True):
    """chainrule has no bfloat16 dtype: always False."""
    return False


def memory_allocated(device=None):
    """Bytes of GPU memory held by live chainrule arrays (CuPy's memory pool in use); 0 without
    a device, as torch."""
    if not cuda_available():
        return 0
    import cupy
    return cupy.get_default_memory_pool().used_bytes()


def memory_reserved(device=None):
    """Bytes of GPU memory the memory pool holds, in use or cached; 0 without a device."""
    if not cuda_available():
        return 0
    import cupy
    return cupy.get_default_memory_pool().total_bytes()


max_memory_allocated = memory_reserved    # the pool's high-water mark bounds the peak


def empty_cache():
    """Return cached, unused GPU memory to the driver (a no-op without a device)."""
    if cuda_available():
        import cupy
        cupy.get_default_memory_pool().free_all_blocks()


def manual_seed(seed):
    """Accepted for compatibility: chainrule draws random numbers on the CPU generator."""


def manual_seed_all(seed):
    """Accepted for compatibility (see ``manual_seed``)."""


def seed():
    """Accepted for compatibility (see ``manual_seed``)."""


def seed_all():
    """Accepted for compatibility (see ``manual_seed``)."""


def synchronize(device=None):
    """Wait for the GPU to finish its queued work (a no-op without a device)."""
    if cuda_available():
        import cupy
        cupy.cuda.Device().synchronize()
