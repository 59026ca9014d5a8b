"""Primitives that exist for speed or numerical stability. Each names its composite reference, and
a test checks it against that reference (forward and gradients)."""
__all__ = []
TENSOR_METHODS = {}
