"""Margin, ranking and embedding losses (torch.nn.functional names and signatures).

Re-exported by ``loss.py``. Kinks follow torch: ``clamp_min(z, 0)`` passes the gradient at z == 0
(cosine_embedding, margin_ranking, hinge_embedding, triplet_margin), while the multi-class margin
losses count a term only where z > 0 (multi_margin, multilabel_margin).
"""
import numpy as np

from ...ops import (logsigmoid, sqrt, where, clamp_min, relu, minimum, linalg_vector_norm, reshape,
                    sum as _sum)
from .loss import _reduction, _reduce, _same_shape, _check_tensor, _class_targets, _const, _pick
from .loss import _broadcast_weight

__all__ = ["cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "triplet_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multi_margin_loss", "multilabel_margin_loss"]

_EPSILON = 1e-12


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    r"""Cosine embedding loss: :math:`1 - \cos(x_1, x_2)` where y = 1,
    :math:`\max(0, \cos(x_1, x_2) - \text{margin})` where y = -1.

    Args:
        input1, input2: (N, D) or (D,).
        target: (N,) or () of 1 / -1.
        margin: in [-1, 1].

    Shape: output scalar, or (N,) for 'none'.

    Example:
        >>> cosine_embedding_loss(chainrule.randn(3, 4), chainrule.randn(3, 4),
        ...                       chainrule.tensor([1, -1, 1]))
    """
    op = "cosine_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _same_shape(op, input1, input2, "input2")
    _check_tensor(op, "target", target)
    if input1.ndim not in (1, 2) or target.ndim != input1.ndim - 1 or \
            (target.ndim and target.shape[0] != input1.shape[0]):
        raise RuntimeError(f"{op}: expected inputs (N, D) with target (N,), or (D,) with a 0-d "
                           f"target; got inputs {tuple(input1.shape)} and target "
                           f"{tuple(target.shape)}")
    dim = input1.ndim - 1
    prod = _sum(input1 * input2, dim)
    mag1 = _sum(input1 * input1, dim) + _EPSILON
    mag2 = _sum(input2 * input2, dim) + _EPSILON
    cos = prod / sqrt(mag1 * mag2)
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, clamp_min(cos - margin, 0), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    r"""Margin ranking loss :math:`\max(0, -y (x_1 - x_2) + \text{margin})`.

    Args:
        input1, input2, target: tensors of one shape; target holds 1 or -1.

    Shape: output scalar, or the inputs' shape for 'none'.

    Example:
        >>> y = chainrule.tensor([1., -1., 1.])
        >>> margin_ranking_loss(chainrule.randn(3), chainrule.randn(3), y)
    """
    op = "margin_ranking_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _same_shape(op, input1, input2, "input2")
    _same_shape(op, input1, target)
    return _reduce(clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    r"""Hinge embedding loss: :math:`x` where y = 1, :math:`\max(0, \text{margin} - x)` where
    y = -1.

    Args:
        input: distances, any shape.
        target: the input's shape, 1 or -1.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> hinge_embedding_loss(chainrule.rand(4), chainrule.tensor([1., -1., -1., 1.]))
    """
    op = "hinge_embedding_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _same_shape(op, input, target)
    loss = where(target != 1, clamp_min(margin - input, 0), 0.0) + \
        where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def _distance(x1, x2, p, eps):
    return linalg_vector_norm(x1 - x2 + eps, p, -1)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    r"""Triplet margin loss :math:`\max(0, d(a, p) - d(a, n) + \text{margin})`, with
    :math:`d(x, y) = \lVert x - y + \epsilon \rVert_p` along the last dim. With ``swap``,
    :math:`d(a, n)` becomes :math:`\min(d(a, n), d(p, n))`.

    Args:
        anchor, positive, negative: (N, D) or (D,), of one shape.
        margin, p, eps, swap: as above.

    Shape: output scalar, or (N,) for 'none'.

    Example:
        >>> a, p, n = chainrule.randn(3, 4), chainrule.randn(3, 4), chainrule.randn(3, 4)
        >>> triplet_margin_loss(a, p, n)
    """
    op = "triplet_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _same_shape(op, anchor, positive, "positive")
    _same_shape(op, anchor, negative, "negative")
    if anchor.ndim == 0:         # torch: a 0-d triplet is one sample with D = 1
        anchor, positive, negative = (reshape(t, (1,)) for t in (anchor, positive, negative))
    if anchor.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected 1D (D) or 2D (N, D) inputs, got {tuple(anchor.shape)}")
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    d_pos = _distance(anchor, positive, p, eps)
    d_neg = _distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, _distance(positive, negative, p, eps))
    return _reduce(clamp_min(margin + d_pos - d_neg, 0), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""Two-class logistic loss :math:`\log(1 + e^{-y x})`, computed as
    :math:`-\log\sigma(y x)` so it never overflows.

    Args:
        input: any shape; target: the input's shape, 1 or -1.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> soft_margin_loss(chainrule.randn(4), chainrule.tensor([1., -1., -1., 1.]))
    """
    op = "soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _same_shape(op, input, target)
    return _reduce(-logsigmoid(target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    r"""Multi-label one-versus-all logistic loss, averaged over the C classes:
    :math:`\ell_n = -\frac1C \sum_c w_c [y_c \log\sigma(x_c) + (1 - y_c) \log\sigma(-x_c)]`.

    Args:
        input: (N, C) or (C,); target: the input's shape, 0 or 1.
        weight: (C,) class weights or None.

    Shape: output scalar, or (N,) for 'none'.

    Example:
        >>> y = chainrule.tensor([[1., 0., 1.], [0., 0., 1.]])
        >>> multilabel_soft_margin_loss(chainrule.randn(2, 3), y)
    """
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _same_shape(op, input, target)
    if input.ndim == 0:
        raise IndexError(f"{op}: expected input (N, C) or (C,), got a 0-d tensor (no class "
                         "dim)")     # torch: IndexError
    _broadcast_weight(op, weight, input)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    c = input.shape[-1]
    return _reduce(_sum(loss, -1) / c, reduction)


def _margin_input(op, input):
    _check_tensor(op, "input", input)
    if input.ndim not in (1, 2) or input.shape[-1] == 0:
        raise RuntimeError(f"{op}: expected non-empty input of shape (N, C) or (C,), got "
                           f"{tuple(input.shape)}")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    r"""Multi-class hinge loss:
    :math:`\ell_n = \frac1C \sum_{i \ne y_n} w_{y_n} \max(0, \text{margin} - x_{y_n} + x_i)^p`.

    Args:
        input: (N, C) or (C,).
        target: class indices, (N,) or ().
        p: 1 or 2.
        weight: (C,) class weights (constants) or None.

    Shape: output scalar, or (N,) for 'none'.

    Example:
        >>> multi_margin_loss(chainrule.randn(3, 4), chainrule.tensor([0, 3, 1]))
    """
    op = "multi_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _margin_input(op, input)
    _check_tensor(op, "target", target)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got p={p}")
    onehot, w = _class_targets(op, input, target, weight, ignore_index=None)
    c = input.shape[-1]
    picked = _pick(input, onehot, -1, keepdim=True)
    if input.ndim == 2:
        w = w.unsqueeze(1)
    z = relu(margin - picked + input)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * w
    loss = _sum(z * _const(~onehot, input), -1) / c      # the target class itself does not count
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    r"""Multi-label hinge loss: with :math:`T_n` the target classes (``target[n]`` up to the first
    -1), :math:`\ell_n = \frac1C \sum_{j \in T_n} \sum_{i \notin T_n} \max(0, 1 - (x_j - x_i))`.

    Args:
        input: (N, C) or (C,).
        target: integer tensor of the input's shape: class indices, padded with -1.

    Shape: output scalar, or (N,) for 'none'.

    Example:
        >>> multilabel_margin_loss(chainrule.tensor([[0.1, 0.2, 0.4, 0.8]]),
        ...                        chainrule.tensor([[3, 0, -1, 1]]))     # tensor(0.8500)
    """
    op = "multilabel_margin_loss"
    reduction = _reduction(op, size_average, reduce, reduction)
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    if input.ndim == 0 and target.ndim == 0:     # torch: one sample of C = 1
        input, target = reshape(input, (1,)), reshape(target, (1,))
    _margin_input(op, input)
    _check_tensor(op, "target", target)
    if tuple(target.shape) != tuple(input.shape) or target.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected an integer target of the input's shape "
                           f"{tuple(input.shape)}, got {target.dtype} {tuple(target.shape)}")
    c = input.shape[-1]
    t = target.data.reshape(-1, c)
    bad = (t < -1) | (t >= c)
    if bad.any():
        raise IndexError(f"{op}: target {int(t[bad][0])} is out of bounds: class indices must be "
                         f"in [0, {c - 1}] (or -1 to end the list)")
    counts = np.zeros(t.shape)                    # how often each class is listed, per sample
    for n, row in enumerate(t):
        stop = np.flatnonzero(row < 0)
        for j in row[:stop[0] if stop.size else c]:
            counts[n, j] += 1
    pairs = counts[:, :, None] * (counts[:, None, :] == 0)    # (target class j, other class i)
    x = reshape(input, (-1, c))
    z = relu(1 - x.unsqueeze(2) + x.unsqueeze(1))
    loss = _sum(z * _const(pairs, input), (1, 2)) / c
    if input.ndim == 1:
        loss = reshape(loss, ())
    return _reduce(loss, reduction)
