"""Distance layers: CosineSimilarity and PairwiseDistance."""
from .module import Module
from .. import functional as F

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along ``dim``.

    Args:
        dim: the dimension of the vectors (default 1).
        eps: lower bound of each norm (default 1e-8).

    Shape: (*1, D, *2) twice (broadcastable) -> (*1, *2).
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dimension.

    Args:
        p: the norm's exponent (default 2).
        eps: added to the difference to avoid a zero vector (default 1e-6).
        keepdim: keep the reduced dimension.

    Shape: (N, D) or (D,) twice -> (N,) or ().
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
