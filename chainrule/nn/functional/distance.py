"""Vector norms along a dim, distances and similarities: normalize, cosine_similarity,
pairwise_distance."""
from ...ops import where, sqrt, abs as _abs, sum as _sum, expand, amax
from ...ops._broadcast import broadcast_shapes
from ...ops._util import wrap_dim

__all__ = ["normalize", "cosine_similarity", "pairwise_distance"]


def _vector_norm(x, p, dim, keepdim):
    """The p-norm of x along ``dim``; its gradient at a zero vector is 0 (torch's subgradient)."""
    if p == float("inf"):
        return amax(_abs(x), dim, keepdim)
    if p == 1:
        return _sum(_abs(x), dim, keepdim)
    if p == 2:
        s = _sum(x * x, dim, keepdim)
        nonzero = s > 0
        return where(nonzero, sqrt(where(nonzero, s, 1.0)), 0.0)
    if p == 0:
        return _sum((x != 0).to(x.dtype), dim, keepdim)
    s = _sum(_abs(x) ** p, dim, keepdim)
    nonzero = s > 0
    return where(nonzero, where(nonzero, s, 1.0) ** (1.0 / p), 0.0)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p, eps) along ``dim``.

    Args:
        input: tensor of any shape.
        p: the exponent of the norm (default 2).
        dim: the dimension to normalise (default 1).
        eps: lower bound of the denominator.

    Shape: unchanged.
    """
    d = wrap_dim(dim, input.ndim, "normalize")
    if input.ndim == 0:
        return input / where(_abs(input) >= eps, _abs(input), eps)
    n = _vector_norm(input, p, d, True)
    return input / where(n >= eps, n, eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (inputs broadcast).

    Shape: (*, D, *) and a broadcastable shape -> the broadcast shape without ``dim``.
    """
    shape = broadcast_shapes(tuple(x1.shape), tuple(x2.shape), op="cosine_similarity")
    x1, x2 = expand(x1, shape), expand(x2, shape)
    d = wrap_dim(dim, len(shape), "cosine_similarity")

    def clamped_norm(x):
        n = _vector_norm(x, 2, d, True)
        # as torch: the value is clamped to eps, but the gradient is that of the norm itself
        return n + (where(n >= eps, n, eps) - n).detach()
    return _sum((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2)), d)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension (inputs broadcast).

    Shape: (N, D) or (D,) each -> (N,) or () (keepdim keeps a trailing 1).
    """
    ndim = max(x1.ndim, x2.ndim)
    broadcast_shapes(tuple(x1.shape), tuple(x2.shape), op="pairwise_distance")
    diff = x1 - x2 + eps
    if ndim == 0:
        return _abs(diff)
    return _vector_norm(diff, p, ndim - 1, keepdim)
