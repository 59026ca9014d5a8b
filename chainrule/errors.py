"""Exception types that are chainrule's own (everything else uses torch's built-in types)."""

__all__ = ["CheckpointError"]


class CheckpointError(RuntimeError):
    """A file given to ``chainrule.load`` is not a valid checkpoint.

    Raised for every kind of bad file: truncated or bit-flipped data, a header whose sizes, offsets,
    dtypes or shapes are inconsistent with the file, invalid JSON or UTF-8, a checksum mismatch, a
    structure that references missing tensors, or a file in another format (a pickle, a
    ``torch.save`` zip archive, ``.npy``/``.npz``), which chainrule never unpickles.

    It subclasses ``RuntimeError`` because ``torch.load`` reports unreadable files with
    ``RuntimeError``, so code written against torch that catches ``RuntimeError`` keeps working.
    Missing or unreadable paths still raise the usual ``OSError`` subclasses.

    ``CheckpointError(path, reason)`` is how ``chainrule.load`` raises it; code that checks a
    loaded object (a trainer restoring its state, say) may raise ``CheckpointError(reason)``
    without a path, or with ``path=None``.

    Attributes:
        path: the file (its path, or a description of the file object), or None.
        reason: what is wrong with it.
    """

    def __init__(self, path, reason=None):
        if reason is None:
            path, reason = None, path
        self.path = path
        self.reason = reason
        super().__init__(f"chainrule.load: {path}: {reason}" if path is not None else
                         f"invalid checkpoint: {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))
