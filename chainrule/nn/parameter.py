"""Parameter: a Tensor that a Module registers as learnable."""
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad and is registered by ``Module.__setattr__``.

    Args:
        data: the initial values (a Tensor or anything ``chainrule.tensor`` accepts).
        requires_grad: default True.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            import numpy as np
            arr = np.empty((0,), dtype=np.float32)
        else:
            arr = data.data if isinstance(data, Tensor) else Tensor(data).data
        self._init(arr, False, None, 0, None)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module attribute (torch.nn.Buffer)."""

    def __init__(self, data, persistent=True):
        arr = data.data if isinstance(data, Tensor) else Tensor(data).data
        self._init(arr, False, None, 0, None)
        self.persistent = persistent


class UninitializedParameter(Parameter):
    pass
