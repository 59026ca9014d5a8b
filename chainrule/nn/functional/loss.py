"""Loss functions (torch.nn.functional names, signatures and reductions), as composites.

Every loss takes ``reduction='none' | 'mean' | 'sum'`` (plus torch's deprecated ``size_average`` /
``reduce``). A mean over an empty batch is nan, as in torch. Where torch silently broadcasts a
target of another shape (mse_loss, l1_loss, ...) chainrule raises: that broadcast is almost always
a bug. Margin and embedding losses live in ``loss_margin.py`` and are re-exported here.
"""
import math
import warnings

import numpy as np

from ...ops import (log_softmax, logsigmoid, exp, log, abs as _abs, where, clamp_min, xlogy,
                    sum as _sum, mean as _mean, reshape)
from ...tensor import Tensor
from ...ops.fused.cross_entropy import CrossEntropy, class_weights
from ...ops._broadcast import broadcasts_to

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "poisson_nll_loss", "gaussian_nll_loss"]

_REDUCTIONS = ("none", "mean", "sum")


# ---- shared helpers (also used by loss_margin.py) ----
def _reduction(op, size_average, reduce, reduction, extra=()):
    """The reduction string, from the legacy flags when given; ValueError if unknown."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction='none'|'mean'|'sum' instead.", stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in _REDUCTIONS + tuple(extra):
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (expected one of "
                         f"{', '.join(_REDUCTIONS + tuple(extra))})")
    return reduction


def _reduce(loss, reduction):
    if reduction == "mean":
        return _mean(loss)
    if reduction == "sum":
        return _sum(loss)
    return loss


def _check_tensor(op, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected {name} to be a Tensor, got {type(t).__name__}")


def _same_shape(op, input, target, name="target"):
    _check_tensor(op, "input", input)
    _check_tensor(op, name, target)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: {name} shape {tuple(target.shape)} differs from input shape "
                         f"{tuple(input.shape)} (chainrule does not broadcast a loss's {name}; "
                         f"reshape it to the input's shape)")


def _broadcast_weight(op, weight, input, name="weight"):
    """``weight`` must broadcast to the input's shape (torch), else a RuntimeError naming both."""
    if weight is None:
        return None
    _check_tensor(op, name, weight)
    shape, target = tuple(weight.shape), tuple(input.shape)
    if not broadcasts_to(shape, target):
        raise RuntimeError(f"{op}: {name} of shape {shape} cannot be broadcast to the input's "
                           f"shape {target}")
    return weight


def _weighted(op, loss, weight, input, reduction, mean_by_weight=True):
    """torch 2.x elementwise ``weight``: same shape as input; 'mean' divides by sum(weight)."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} differs from input shape "
                         f"{tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return _sum(loss) / _sum(weight)
    return _reduce(loss, reduction)


def _const(array, like):
    return Tensor._make(array.astype(like.dtype.np, copy=False))


# ---- regression ----
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    r"""Mean squared error :math:`\ell = (x - y)^2`, optionally weighted per element.

    Args:
        input, target: tensors of the same shape.
        reduction: 'none' | 'mean' | 'sum'; with ``weight``, 'mean' is sum(w l) / sum(w).
        weight: per-element weights of the input's shape, or None.

    Shape: input (*), target (*) the same; output scalar, or (*) for 'none'.

    Example:
        >>> mse_loss(chainrule.tensor([1., 2.]), chainrule.tensor([1., 4.]))     # tensor(2.)
    """
    reduction = _reduction("mse_loss", size_average, reduce, reduction)
    _same_shape("mse_loss", input, target)
    diff = input - target
    return _weighted("mse_loss", diff * diff, weight, input, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    r"""Mean absolute error :math:`\ell = |x - y|` (gradient 0 where x == y, as torch).

    Args and Shape: as :func:`mse_loss`.

    Example:
        >>> l1_loss(chainrule.tensor([1., 2.]), chainrule.tensor([1., 4.]))      # tensor(1.)
    """
    reduction = _reduction("l1_loss", size_average, reduce, reduction)
    _same_shape("l1_loss", input, target)
    return _weighted("l1_loss", _abs(input - target), weight, input, reduction)


def _huber(d, delta):
    a = _abs(d)
    return where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    r"""Smooth L1: :math:`0.5 d^2 / \beta` where :math:`|d| < \beta`, else :math:`|d| - 0.5\beta`.

    Args:
        input, target: tensors of the same shape.
        beta: the threshold (>= 0); 0 gives l1_loss.

    Shape: as :func:`mse_loss`.

    Example:
        >>> smooth_l1_loss(chainrule.tensor([0.5, 3.]), chainrule.zeros(2), reduction='none')
        tensor([0.1250, 2.5000])
    """
    reduction = _reduction("smooth_l1_loss", size_average, reduce, reduction)
    _same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return _reduce(_abs(input - target), reduction)
    return _reduce(_huber(input - target, beta) / beta, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    r"""Huber loss: :math:`0.5 d^2` where :math:`|d| < \delta`, else
    :math:`\delta (|d| - 0.5 \delta)`.

    Args:
        input, target: tensors of the same shape.
        delta: the threshold (> 0).
        weight: per-element weights of the input's shape; 'mean' is then mean(w l) (torch).

    Shape: as :func:`mse_loss`.

    Example:
        >>> huber_loss(chainrule.tensor([0.5, 3.]), chainrule.zeros(2), delta=2.0)  # tensor(2.0625)
    """
    reduction = _reduction("huber_loss", None, None, reduction)
    _same_shape("huber_loss", input, target)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: delta must be positive, got {delta}")
    return _weighted("huber_loss", _huber(input - target, delta), weight, input, reduction,
                     mean_by_weight=False)


# ---- classification ----
def _class_targets(op, input, target, weight, ignore_index):
    """Validate class-index targets. Returns (a one-hot mask of the input's shape selecting
    input[n, t_n, d...], the constant per-element weight w[t_n], 0 where ignored)."""
    t, valid, c = _check_class_targets(op, input, target, weight, ignore_index)
    safe, w = class_weights(t, valid, None if weight is None else weight.data, input.dtype.np)
    cdim = 1 if input.ndim >= 2 else 0
    classes = np.arange(c).reshape((c,) + (1,) * (input.ndim - cdim - 1))
    onehot = np.expand_dims(safe, cdim) == classes
    return onehot, Tensor._make(np.asarray(w))


def _check_class_targets(op, input, target, weight, ignore_index):
    """Errors for class-index targets of the wrong kind, shape or range; returns (the target
    array, where it is not ignore_index, the number of classes)."""
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    if target.dtype.is_floating_point:
        raise RuntimeError(
            f"{op}: expected class indices (an integer tensor of shape "
            f"{(input.shape[0],) + tuple(input.shape[2:]) if input.ndim >= 2 else ()}) as target, "
            f"got a {target.dtype} tensor of shape {tuple(target.shape)}; class probabilities need "
            f"a float target of the input's shape {tuple(input.shape)}")
    if input.ndim >= 2 and target.ndim >= 1 and target.shape[0] != input.shape[0]:
        raise ValueError(f"{op}: expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]})")
    expected = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if tuple(target.shape) != expected:
        raise RuntimeError(f"{op}: expected target of shape {expected} for input of shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    if weight is not None and tuple(weight.shape) != (c,):
        raise RuntimeError(f"{op}: expected weight of shape ({c},) (one per class), got "
                           f"{tuple(weight.shape)}")
    t = target.data
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        value = int(t[bad].reshape(-1)[0])
        also = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise IndexError(f"{op}: target {value} is out of bounds: class indices must be in "
                         f"[0, {c - 1}] (C={c}){also}")
    return t, valid, c


def _pick(input, onehot, dim, keepdim=False):
    """input[..., t, ...] along ``dim`` via a one-hot mask (where, not a product: a -inf
    elsewhere in the row must not turn into nan)."""
    return _sum(where(Tensor._make(onehot), input, 0.0), dim, keepdim)


def _nll(op, logp, target, weight, ignore_index, reduction):
    onehot, w = _class_targets(op, logp, target, weight, ignore_index)
    loss = -_pick(logp, onehot, 1 if logp.ndim >= 2 else 0) * w
    if reduction == "mean":
        return _weighted_mean(loss, w)
    return _reduce(loss, reduction)


def _weighted_mean(loss, w):
    """sum(loss) / sum(w) for constant weights w; with no weight at all (every target ignored,
    or an empty batch) the value is nan and the gradient 0, as torch."""
    total = w.data.sum()
    if total == 0:
        return _sum(loss) * 0.0 + float("nan")
    return _sum(loss) / float(total)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    r"""Negative log likelihood :math:`\ell_n = -w_{y_n} x_{n, y_n}` for log-probabilities x.

    Args:
        input: log-probabilities, (N, C), (C,) or (N, C, d1, ..., dK).
        target: class indices (integer), (N,), () or (N, d1, ..., dK), in [0, C) or
            ``ignore_index``.
        weight: (C,) class weights (constants), or None.
        ignore_index: a target value that contributes nothing (nor to the 'mean' denominator).
        reduction: 'mean' is the weighted mean :math:`\sum \ell_n / \sum w_{y_n}` (nan when every
            target is ignored), 'sum' or 'none'.

    Shape: output scalar, or the target's shape for 'none'.

    Example:
        >>> logp = chainrule.log_softmax(chainrule.randn(4, 3), 1)
        >>> nll_loss(logp, chainrule.tensor([0, 2, 1, 1]))
    """
    reduction = _reduction("nll_loss", size_average, reduce, reduction)
    _check_tensor("nll_loss", "input", input)
    _check_tensor("nll_loss", "target", target)
    if input.ndim == 0:
        raise ValueError("nll_loss: expected input of at least 1 dim (C,) or (N, C, *), got a "
                         "0-d tensor")
    return _nll("nll_loss", input, target, weight, ignore_index, reduction)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    r"""Cross entropy between logits and class indices or class probabilities.

    Computed as nll_loss(log_softmax(input, class_dim)), exact for logits of any magnitude
    (e.g. ±1e4 in float32). With indices and ``label_smoothing`` ε the loss is
    :math:`(1 - ε)\,\mathrm{nll} + \frac{ε}{C} \sum_c -w_c \log p_c`; with probabilities the
    target becomes :math:`(1 - ε) y + ε / C`.

    Args:
        input: logits, (N, C), (C,) or (N, C, d1, ..., dK); the class dim is 1 (0 for 1-D input).
        target: class indices (integer tensor, shape (N,), () or (N, d1, ..., dK)), or class
            probabilities (float tensor of the input's shape).
        weight: (C,) class weights (constants), or None.
        ignore_index: with indices, a target value that contributes nothing.
        reduction: with indices 'mean' divides by the summed weights of non-ignored targets; with
            probabilities it divides by the number of positions N * d1 * ... * dK.
        label_smoothing: ε in [0, 1].

    Shape: output scalar, or (N, d1, ..., dK) for 'none'.

    Example:
        >>> logits = chainrule.randn(4, 3, requires_grad=True)
        >>> cross_entropy(logits, chainrule.tensor([0, 2, 1, 1])).backward()
    """
    reduction = _reduction("cross_entropy", size_average, reduce, reduction)
    _check_tensor("cross_entropy", "input", input)
    _check_tensor("cross_entropy", "target", target)
    if input.ndim == 0:
        raise ValueError("cross_entropy: expected input of at least 1 dim (C,) or (N, C, *), got "
                         "a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    if input.ndim == 2 and label_smoothing == 0 and input.dtype.is_floating_point and \
            not target.dtype.is_floating_point:
        # the common case as one primitive (chainrule/ops/fused/cross_entropy.py)
        t, valid, _ = _check_class_targets("cross_entropy", input, target, weight, ignore_index)
        return CrossEntropy.apply(input, t, valid, None if weight is None else weight.data,
                                  reduction)
    return cross_entropy_reference(input, target, weight, ignore_index, reduction,
                                   label_smoothing)


def cross_entropy_reference(input, target, weight=None, ignore_index=-100, reduction="mean",
                            label_smoothing=0.0):
    """cross_entropy as the composite nll_loss(log_softmax(input)) (with smoothing, or
    probabilities): the reference of the fused CrossEntropy primitive, and the path for the cases
    it does not take (N-d inputs, class probabilities, label smoothing)."""
    cdim = 1 if input.ndim >= 2 else 0
    c = input.shape[cdim]
    logp = log_softmax(input, cdim)
    wview = None
    if weight is not None:
        if tuple(weight.shape) != (c,):
            raise RuntimeError(f"cross_entropy: expected weight of shape ({c},) (one per class), "
                               f"got {tuple(weight.shape)}")
        wview = _const(weight.data.reshape((c,) + (1,) * (input.ndim - cdim - 1)), input)
    if tuple(target.shape) == tuple(input.shape) and target.dtype.is_floating_point:
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported for class "
                             "probabilities (a float target)")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        elem = logp * target if wview is None else logp * target * wview
        if reduction == "none":
            return -_sum(elem, cdim)
        if reduction == "sum":
            return -_sum(elem)
        positions = input.numel() // c if c else 0
        return -_sum(elem) / positions if positions else _sum(elem) * float("nan")
    nll = _nll("cross_entropy", logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0:
        return nll
    _, w = _class_targets("cross_entropy", logp, target, weight, ignore_index)
    valid = _const(target.data != ignore_index, input)
    smooth = -_sum(logp if wview is None else logp * wview, cdim) * valid
    if reduction == "mean":
        smooth = _weighted_mean(smooth, w)
    else:
        smooth = _reduce(smooth, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _clamped_log(x):
    # why: log(0) = -inf would make 0 * inf = nan; torch clamps every log at -100
    pos = x > 0
    return clamp_min(where(pos, log(where(pos, x, 1.0)), -100.0), -100.0)


def _unit_interval(t, what, hint):
    """Raise naming the first element of ``t`` outside [0, 1] (NaN included), as torch does."""
    data = t.data
    bad = ~((data >= 0) & (data <= 1))
    if data.size and bool(bad.any()):
        value = float(data[bad].ravel()[0])
        raise RuntimeError(f"binary_cross_entropy: all elements of {what} should be between 0 and "
                           f"1, got {value}{hint}")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    r"""Binary cross entropy of probabilities:
    :math:`\ell = -w\,[y \log x + (1 - y) \log(1 - x)]`, each log clamped at -100 (as torch).

    Args:
        input: probabilities in [0, 1].
        target: tensor of the input's shape (values in [0, 1]).
        weight: rescaling weight broadcastable to the input, or None.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> binary_cross_entropy(chainrule.tensor([0.9, 0.2]), chainrule.tensor([1., 0.]))
    """
    reduction = _reduction("binary_cross_entropy", size_average, reduce, reduction)
    _same_shape("binary_cross_entropy", input, target)
    _unit_interval(input, "input", " (use binary_cross_entropy_with_logits for logits)")
    if not target.requires_grad:     # a learned soft target may step just outside [0, 1]
        _unit_interval(target, "target", "")
    _broadcast_weight("binary_cross_entropy", weight, input)
    loss = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    r"""Binary cross entropy of logits, stable for any magnitude:
    :math:`\ell = w\,[(1 - y) x - (1 + (p - 1) y) \log\sigma(x)]` with ``pos_weight`` p.

    Args:
        input: logits.
        target: tensor of the input's shape (values in [0, 1]).
        weight: rescaling weight broadcastable to the input, or None.
        pos_weight: weight of positive examples, broadcast along the last (class) dim, or None.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> x, y = chainrule.tensor([1e4, -1e4]), chainrule.tensor([0., 1.])
        >>> binary_cross_entropy_with_logits(x, y)
        tensor(10000.)
    """
    reduction = _reduction("binary_cross_entropy_with_logits", size_average, reduce, reduction)
    _same_shape("binary_cross_entropy_with_logits", input, target)
    _broadcast_weight("binary_cross_entropy_with_logits", weight, input)
    _broadcast_weight("binary_cross_entropy_with_logits", pos_weight, input, "pos_weight")
    neg_log_sig = -logsigmoid(input)
    if pos_weight is not None:
        neg_log_sig = (1 + (pos_weight - 1) * target) * neg_log_sig
    loss = (1 - target) * input + neg_log_sig
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    r"""Kullback-Leibler divergence with ``input`` given as log-probabilities:
    :math:`\ell = y (\log y - x)` (0 where y = 0), or :math:`e^{y} (y - x)` with ``log_target``.

    Args:
        input: log-probabilities.
        target: probabilities (or log-probabilities with ``log_target``), the input's shape.
        reduction: 'batchmean' (sum / batch size: the true KL divergence), 'mean' (over all
            elements), 'sum' or 'none'.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> p = chainrule.softmax(chainrule.randn(4, 3), 1)
        >>> kl_div(chainrule.log_softmax(chainrule.randn(4, 3), 1), p, reduction='batchmean')
    """
    reduction = _reduction("kl_div", size_average, reduce, reduction, extra=("batchmean",))
    _same_shape("kl_div", input, target)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        total = _sum(loss)
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    r"""Poisson negative log likelihood: :math:`e^x - y x` (``log_input``) or
    :math:`x - y \log(x + \epsilon)`; ``full`` adds Stirling's term
    :math:`y \log y - y + \frac12 \log(2\pi y)` where y > 1.

    Args:
        input: the log-rate (``log_input``) or the rate.
        target: counts, the input's shape.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> poisson_nll_loss(chainrule.randn(5), chainrule.tensor([0., 1., 2., 3., 4.]))
    """
    reduction = _reduction("poisson_nll_loss", size_average, reduce, reduction)
    _same_shape("poisson_nll_loss", input, target)
    if log_input:
        loss = exp(input) - target * input
    else:
        loss = input - target * log(input + eps)
    if full:
        big = target > 1
        t = where(big, target, 1.0)   # why: keeps log finite (and its gradient) where masked
        stirling = t * log(t) - t + 0.5 * log(2 * math.pi * t)
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    r"""Gaussian negative log likelihood:
    :math:`\frac12 (\log \max(v, \epsilon) + (x - y)^2 / \max(v, \epsilon))` (+ ½ log 2π when
    ``full``). The clamp at eps is outside the graph: the gradient flows as if unclamped (torch).

    Args:
        input: the predicted means.
        target: the input's shape.
        var: variances: a float, the input's shape, the input's shape without its last dim, or
            with one dim of size 1 (homoscedastic); no negative entries.

    Shape: output scalar, or the input's shape for 'none'.

    Example:
        >>> gaussian_nll_loss(chainrule.randn(4, 2), chainrule.randn(4, 2), chainrule.ones(4, 1))
    """
    reduction = _reduction("gaussian_nll_loss", None, None, reduction)
    _same_shape("gaussian_nll_loss", input, target)
    if not isinstance(var, Tensor):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        var = _const(np.full(tuple(input.shape), float(var)), input)
    elif bool((var.data < 0).any()):
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    ishape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape != ishape:
        if ishape[:-1] == vshape:
            var = reshape(var, vshape + (1,))
        elif not (len(ishape) == len(vshape) and
                  sum(v for i, v in zip(ishape, vshape) if i != v) == 1):
            raise ValueError(f"gaussian_nll_loss: var is of incorrect size {vshape} for input "
                             f"of shape {ishape}")
    clamped = np.maximum(var.data, eps).astype(var.data.dtype)
    var = var + Tensor._make(clamped - var.data)     # value clamped, gradient unclamped
    loss = 0.5 * (log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


from .loss_margin import *  # noqa: E402,F401,F403
from .loss_margin import __all__ as _margin_all  # noqa: E402

__all__ += _margin_all
