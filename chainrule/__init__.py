"""chainrule: a deep-learning library on its own backpropagation engine, with PyTorch's API.

    import chainrule
    x = chainrule.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad          # tensor([2., 4., 6.])
"""
__version__ = "0.1.0"

from . import dtypes
from .dtypes import (dtype, float16, half, float32, float64, double, int8, int16, int32, int64,
                     long, uint8, bool, get_default_dtype, set_default_dtype, promote_types,
                     result_type as _result_type, can_cast)
from .dtypes import float, int  # noqa: F401  (torch exposes chainrule.float / chainrule.int)
from .tensor import Tensor, Size, device
from .random import Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state, \
    default_generator
from . import autograd
from .autograd import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
from . import ops
from .ops import *  # noqa: F401,F403
from . import nn, optim  # noqa: E402
from . import cuda, backends
from .backends.threads import get_num_threads, set_num_threads
# why: a training step frees and allocates the same large arrays every step; glibc's defaults hand
# them back to the kernel and the next step faults them in again (LeNet at two threads: 30 -> 22
# ms). CHAINRULE_MALLOC=default keeps glibc's defaults (backends/malloc.py)
backends.malloc.tune()
from . import func  # noqa: E402
from .capture import compile  # noqa: E402
from .errors import CheckpointError
from .serialization import save, load

FloatTensor = DoubleTensor = LongTensor = Tensor


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):
    return input.numel()


def result_type(tensor1, tensor2):
    return _result_type(tensor1, tensor2)


def is_floating_point(input):
    return input.dtype.is_floating_point
