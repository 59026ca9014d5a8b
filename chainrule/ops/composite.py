"""Composite ops: built from primitives, with no backward of their own."""
__all__ = []
TENSOR_METHODS = {}
