"""Embedding lookup with a fast scatter-add backward.

Composite reference: ``one_hot(indices, num_embeddings) @ weight`` (forward and gradient; the rows
at ``padding_idx`` get no gradient, and ``scale_grad_by_freq`` divides each row's gradient by how
often its index occurs, as torch)."""
import numpy as np

from .. import primitive, Primitive
from ..._backend import xp_of

__all__ = ["embedding"]


def _scatter_rows(rows, idx, num, xp):
    """out[i] = sum of rows[k] over k with idx[k] == i, for i < num (rows: (N, D))."""
    out = xp.zeros((num, rows.shape[1]), dtype=rows.dtype)
    if idx.size == 0:
        return out
    if xp is np:
        # why: sorting the indices and summing runs with reduceat is exact and several times
        # faster than np.add.at, the LM's hot path
        order = np.argsort(idx, kind="stable")
        s = idx[order]
        starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
        out[s[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    else:
        xp.add.at(out, idx, rows)
    return out


def _row_scale(idx, num, padding_idx, scale_grad_by_freq, dtype):
    """Per-position factor of the gradient: 0 at padding_idx, 1/count with scale_grad_by_freq."""
    xp = xp_of(idx)
    scale = xp.ones(idx.shape, dtype=dtype)
    if scale_grad_by_freq:
        counts = xp.bincount(idx.reshape(-1), minlength=num)
        scale = scale / counts[idx]
    if padding_idx is not None:
        scale = scale * (idx != padding_idx)
    return scale.astype(dtype, copy=False)[..., None]


@primitive
class Embedding(Primitive):
    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        ctx.num, ctx.padding_idx, ctx.by_freq = weight.shape[0], padding_idx, scale_grad_by_freq
        ctx.save_for_backward(indices)
        return xp_of(weight).take(weight, indices, axis=0)

    @staticmethod
    def backward(ctx, grad_out):
        """dW = scatter-add of grad rows to their indices (0 at padding_idx; / count by freq)"""
        (indices,) = ctx.saved_tensors
        return (EmbeddingBackward.apply(grad_out, indices, ctx.num, ctx.padding_idx, ctx.by_freq),
                None, None, None)


@primitive
class EmbeddingBackward(Primitive):
    @staticmethod
    def forward(ctx, grad, indices, num, padding_idx, scale_grad_by_freq):
        ctx.padding_idx, ctx.by_freq = padding_idx, scale_grad_by_freq
        ctx.save_for_backward(indices)
        xp = xp_of(grad)
        flat = indices.reshape(-1)
        out = _scatter_rows(grad.reshape(flat.size, grad.shape[-1]), flat, num, xp)
        if scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=num)
            out /= xp.maximum(counts, 1)[:, None].astype(out.dtype)
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    @staticmethod
    def backward(ctx, grad_out):
        """adjoint of the scatter-add: gather grad_out[indices] times the per-position scale"""
        from ...tensor import Tensor
        (indices,) = ctx.saved_tensors
        gathered = Embedding.apply(grad_out, indices, None, False)
        if ctx.padding_idx is not None or ctx.by_freq:
            gathered = gathered * Tensor._make(_row_scale(
                indices.data, grad_out.shape[0], ctx.padding_idx, ctx.by_freq,
                grad_out.data.dtype))
        return gathered, None, None, None, None


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, D) picked by integer ``indices`` (*) -> (*, D).

    torch.embedding's signature: ``padding_idx`` -1 means none; prefer
    ``chainrule.nn.functional.embedding``."""
    from ...tensor import Tensor
    if not isinstance(indices, Tensor) or indices.dtype.name not in ("int64", "int32"):
        got = indices.dtype if isinstance(indices, Tensor) else type(indices).__name__
        raise RuntimeError(f"embedding: expected indices of dtype int64 or int32, but got {got}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {tuple(weight.shape)}")
    num = weight.shape[0]
    if indices.numel():
        xp = xp_of(indices.data)
        # why: compared as arrays, read as two booleans (the same each step, unlike the values:
        # what chainrule.compile's guards can replay)
        lo, hi = xp.min(indices.data), xp.max(indices.data)
        if lo < 0 or hi >= num:
            bad = int(lo) if lo < 0 else int(hi)
            raise IndexError(f"embedding: index out of range in self (index {bad} for "
                             f"{num} embeddings)")
    pad = None if padding_idx is None or padding_idx < 0 else int(padding_idx)
    return Embedding.apply(weight, indices, pad, bool(scale_grad_by_freq))
