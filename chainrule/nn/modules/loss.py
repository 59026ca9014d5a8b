"""Loss modules: thin wrappers that hold a loss's options and call ``nn.functional``.

Class weights are buffers (in ``state_dict`` when given), as in torch. Every loss takes
``reduction='none' | 'mean' | 'sum'`` (default 'mean'); see the functional for the formula.

Example::

    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    loss = criterion(model(x), y)      # x: (N, ...), y: (N,) class indices
    loss.backward()
"""
from .module import Module
from .. import functional as F

__all__ = ["L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss",
           "CosineEmbeddingLoss", "MarginRankingLoss", "TripletMarginLoss", "HingeEmbeddingLoss",
           "MultiMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "MultiLabelMarginLoss"]


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = F.loss._reduction(type(self).__name__, size_average, reduce, reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|`` (see :func:`~chainrule.nn.functional.l1_loss`).

    Shape: input (*), target (*) of the same shape; output scalar, or (*) for 'none'.
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class MSELoss(_Loss):
    """Mean squared error ``(input - target)^2`` (see :func:`~chainrule.nn.functional.mse_loss`).

    Shape: input (*), target (*) of the same shape; output scalar, or (*) for 'none'.
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (see :func:`~chainrule.nn.functional.smooth_l1_loss`).

    Shape: input (*), target (*) of the same shape; output scalar, or (*) for 'none'.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, delta-scaled linear above (see
    :func:`~chainrule.nn.functional.huber_loss`).

    Shape: input (*), target (*) of the same shape; output scalar, or (*) for 'none'.
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy of logits against class indices or class probabilities (see
    :func:`~chainrule.nn.functional.cross_entropy`).

    Args:
        weight: (C,) class weights or None. ignore_index: a target value to skip.
        reduction: 'none' | 'mean' | 'sum'. label_smoothing: in [0, 1].

    Shape: input (N, C), (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...) of indices, or
    the input's shape of probabilities; output scalar, or the target's batch shape for 'none'.

    Example:
        >>> loss = CrossEntropyLoss()(chainrule.randn(4, 3), chainrule.tensor([0, 2, 1, 1]))
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log likelihood of log-probabilities (see
    :func:`~chainrule.nn.functional.nll_loss`).

    Shape: input (N, C), (C,) or (N, C, d1, ...); target (N,), () or (N, d1, ...).
    """

    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities (see
    :func:`~chainrule.nn.functional.binary_cross_entropy`).

    Shape: input (*) in [0, 1], target (*) of the same shape.
    """

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy of logits, numerically stable (see
    :func:`~chainrule.nn.functional.binary_cross_entropy_with_logits`).

    Args:
        weight: rescaling weight or None. pos_weight: (C,) weight of positives or None.

    Shape: input (*), target (*) of the same shape.
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  pos_weight=self.pos_weight,
                                                  reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence with log-probability input (see :func:`~chainrule.nn.functional.kl_div`);
    ``reduction='batchmean'`` gives the true divergence.

    Shape: input (*), target (*) of the same shape.
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log likelihood (see :func:`~chainrule.nn.functional.poisson_nll_loss`).

    Shape: input (*), target (*) of the same shape.
    """

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log likelihood (see :func:`~chainrule.nn.functional.gaussian_nll_loss`).

    Shape: input (*), target (*) of the same shape, var (*), (*)[:-1] or with a dim of size 1.
    """

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(None, None, reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """Cosine similarity loss for pairs labelled 1 / -1 (see
    :func:`~chainrule.nn.functional.cosine_embedding_loss`).

    Shape: input1, input2 (N, D) or (D,); target (N,) or ().
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                       reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """Ranking hinge ``max(0, -y (x1 - x2) + margin)`` (see
    :func:`~chainrule.nn.functional.margin_ranking_loss`).

    Shape: input1, input2, target of one shape (*).
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """Triplet loss ``max(0, d(a, p) - d(a, n) + margin)`` (see
    :func:`~chainrule.nn.functional.triplet_margin_loss`).

    Shape: anchor, positive, negative (N, D) or (D,).
    """

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``x`` for y = 1, ``max(0, margin - x)`` for y = -1 (see
    :func:`~chainrule.nn.functional.hinge_embedding_loss`).

    Shape: input (*), target (*) of the same shape.
    """

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (see :func:`~chainrule.nn.functional.multi_margin_loss`).

    Shape: input (N, C) or (C,); target (N,) or () of class indices.
    """

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        if weight is not None and weight.ndim != 1:
            raise ValueError(f"MultiMarginLoss: weight must be a 1-D tensor, got shape "
                             f"{tuple(weight.shape)}")
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-y x))`` (see
    :func:`~chainrule.nn.functional.soft_margin_loss`).

    Shape: input (*), target (*) of the same shape.
    """

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Multi-label one-versus-all logistic loss (see
    :func:`~chainrule.nn.functional.multilabel_soft_margin_loss`).

    Shape: input (N, C) or (C,), target of the same shape; output (N,) for 'none'.
    """

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss (see :func:`~chainrule.nn.functional.multilabel_margin_loss`).

    Shape: input (N, C) or (C,); target of the same shape: class indices padded with -1.
    """

    def forward(self, input, target):
        return F.multilabel_margin_loss(input, target, reduction=self.reduction)
