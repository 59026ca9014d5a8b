"""Classification metrics on NumPy arrays or Tensors: accuracy, top-k, confusion matrix, and
running means that accumulate them over batches."""
import numpy as np

__all__ = ["accuracy", "topk_accuracy", "confusion_matrix", "RunningMean", "ClassificationMeter"]


def _np(x):
    return np.asarray(x.data if hasattr(x, "data") and not isinstance(x, np.ndarray) else x)


def accuracy(logits, targets):
    """Share of rows whose largest logit is at the target class.

    Shape: logits ``(N, C)``, targets ``(N,)`` int. Returns a float in [0, 1] (nan when N = 0).

    Example:
        >>> accuracy([[0.1, 2.0], [3.0, 0.0]], [1, 1])
        0.5
    """
    logits, targets = _np(logits), _np(targets)
    if len(targets) == 0:
        return float("nan")
    return float(np.mean(logits.argmax(-1) == targets))


def topk_correct(logits, targets, k):
    """Per row: True when the target is among the ``k`` largest logits. Shape ``(N,)`` bool.

    Ties are broken by class index (the lower index ranks first), as ``np.argsort`` does.
    """
    logits, targets = _np(logits), _np(targets)
    k = min(int(k), logits.shape[-1])
    # the target is in the top k iff fewer than k classes rank above it
    target_logit = np.take_along_axis(logits, targets[:, None], -1)
    cls = np.arange(logits.shape[-1])
    above = (logits > target_logit) | ((logits == target_logit) & (cls < targets[:, None]))
    return above.sum(-1) < k


def topk_accuracy(logits, targets, k=5):
    """Share of rows whose target is among the ``k`` largest logits (``k`` ≥ number of classes
    gives 1.0). Shape: logits ``(N, C)``, targets ``(N,)``.

    Example:
        >>> topk_accuracy([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]], [2, 1], k=2)
        0.5
    """
    if k < 1:
        raise ValueError(f"topk_accuracy: k must be at least 1, got {k}")
    correct = topk_correct(logits, targets, k)
    return float(correct.mean()) if correct.size else float("nan")


def confusion_matrix(predictions, targets, num_classes):
    """Counts ``M[true, predicted]``: row = true class, column = predicted class.

    Shape: predictions and targets ``(N,)`` ints in ``[0, num_classes)``; returns int64
    ``(num_classes, num_classes)``.

    Example:
        >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2)
        array([[1, 1],
               [0, 1]])
    """
    predictions, targets = _np(predictions).astype(np.int64), _np(targets).astype(np.int64)
    for name, values in (("predictions", predictions), ("targets", targets)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"confusion_matrix: {name} must lie in [0, {num_classes}), got "
                             f"values from {values.min()} to {values.max()}")
    flat = np.bincount(targets * num_classes + predictions, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


class RunningMean:
    """A weighted running mean: ``update(value, n)`` adds ``n`` samples of mean ``value``.

    The sum is accumulated in a Python float in call order, so the same sequence of updates
    gives the same mean to the last bit (which checkpoint resume relies on).
    """

    def __init__(self):
        self.total, self.count = 0.0, 0

    def update(self, value, n=1):
        self.total += float(value) * n
        self.count += int(n)

    @property
    def mean(self):
        return self.total / self.count if self.count else float("nan")

    def state_dict(self):
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state):
        self.total, self.count = float(state["total"]), int(state["count"])


class ClassificationMeter:
    """Accumulates loss, accuracy, top-k accuracy and the confusion matrix over batches.

    ``num_classes=None`` accumulates only the loss (e.g. for an autoencoder).
    """

    def __init__(self, num_classes=None, topk=3):
        self.num_classes, self.topk = num_classes, topk
        self.loss = RunningMean()
        self.correct = self.topk_hits = self.count = 0
        self.confusion = None if num_classes is None else \
            np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, loss, logits=None, targets=None, n=None):
        """Add one batch: its mean ``loss``, and its ``logits (N, C)`` / ``targets (N,)``."""
        if logits is None or self.num_classes is None:
            self.loss.update(loss, n or 1)
            return
        logits, targets = _np(logits), _np(targets)
        n = len(targets)
        self.loss.update(loss, n)
        pred = logits.argmax(-1)
        self.correct += int((pred == targets).sum())
        self.topk_hits += int(topk_correct(logits, targets, self.topk).sum())
        self.count += n
        self.confusion += confusion_matrix(pred, targets, self.num_classes)

    def summary(self):
        """``{'loss', 'acc', 'top<k>'}`` (just ``loss`` without classes)."""
        out = {"loss": self.loss.mean}
        if self.num_classes is not None:
            out["acc"] = self.correct / self.count if self.count else float("nan")
            out[f"top{self.topk}"] = self.topk_hits / self.count if self.count else float("nan")
        return out

    def state_dict(self):
        return {"loss": self.loss.state_dict(), "correct": self.correct,
                "topk_hits": self.topk_hits, "count": self.count,
                "confusion": None if self.confusion is None else self.confusion.copy()}

    def load_state_dict(self, state):
        self.loss.load_state_dict(state["loss"])
        self.correct, self.topk_hits = int(state["correct"]), int(state["topk_hits"])
        self.count = int(state["count"])
        if state.get("confusion") is not None:
            self.confusion = np.array(_np(state["confusion"]), dtype=np.int64)
