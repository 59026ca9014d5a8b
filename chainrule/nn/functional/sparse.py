"""Lookup tables: ``embedding`` and ``one_hot``."""
from ... import dtypes as _dt
from ...autograd import grad_mode
from ...ops.fused.embedding import embedding as _embedding
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def _renorm_rows(weight, indices, max_norm, norm_type):
    """Rescale (in place, outside the graph) the rows of ``weight`` named by ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` to norm ``max_norm``."""
    xp = weight._xp()
    rows = xp.unique(indices.data.reshape(-1))
    if rows.size == 0:
        return
    w = weight.data[rows]
    if norm_type == float("inf"):
        norms = xp.abs(w).max(axis=1)
    else:
        norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms > max_norm
    if big.any():
        factor = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
        weight.data[rows[big]] = w[big] * factor[:, None]
        weight._version[0] += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Look up rows of ``weight`` by integer indices.

    Args:
        input: integer tensor (*) of indices in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: the row at this index receives no gradient.
        max_norm: rows looked up with a larger ``norm_type``-norm are rescaled in place to it.
        norm_type: the p of the norm for ``max_norm`` (default 2).
        scale_grad_by_freq: divide each row's gradient by its index's count in the batch.
        sparse: accepted for torch compatibility; gradients are always dense.

    Shape: (*) -> (*, embedding_dim).

    Example::

        >>> w = chainrule.randn(10, 3)
        >>> F.embedding(chainrule.tensor([[1, 2], [4, 5]]), w).shape
        chainrule.Size([2, 2, 3])
    """
    num = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0 and padding_idx >= num:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            if padding_idx < -num:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = num + padding_idx
    else:
        padding_idx = -1
    if max_norm is not None and isinstance(input, Tensor) and \
            input.dtype in (_dt.int64, _dt.int32):
        with grad_mode.no_grad():
            _renorm_rows(weight, input, max_norm, norm_type)
    return _embedding(weight, input, padding_idx, scale_grad_by_freq, sparse)


def one_hot(tensor, num_classes=-1):
    """int64 tensor (*, num_classes) with a 1 at each index of ``tensor`` (*).

    Args:
        tensor: int64 class indices.
        num_classes: number of classes; -1 infers max(tensor) + 1.
    """
    if not isinstance(tensor, Tensor) or tensor.dtype is not _dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = tensor._xp()
    data = tensor.data
    if num_classes == -1:
        if data.size == 0:
            raise RuntimeError(f"one_hot: Can not infer total number of classes from empty "
                               f"tensor (shape {tuple(tensor.shape)}).")
        num_classes = int(data.max()) + 1
    if data.size:
        if int(data.min()) < 0:
            raise RuntimeError(f"one_hot: Class values must be non-negative, got "
                               f"{int(data.min())}.")
        if int(data.max()) >= num_classes:
            raise RuntimeError(f"one_hot: Class values must be smaller than num_classes, got "
                               f"{int(data.max())} with num_classes={num_classes}.")
    out = (data[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._make(out)
