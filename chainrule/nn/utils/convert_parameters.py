"""Flatten parameters into one vector and back."""
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """All ``parameters`` flattened and concatenated into one 1-D tensor (differentiable)."""
    from ... import ops
    flat = [p.reshape(-1) for p in parameters]
    cat = getattr(ops, "cat", None)
    if cat is not None:
        return cat(flat)
    total = sum(f.shape[0] for f in flat)
    out = ops.zeros(total, dtype=flat[0].dtype if flat else None)
    offset = 0
    for f in flat:
        out = ops.index_put(out, slice(offset, offset + f.shape[0]), f)
        offset += f.shape[0]
    return out


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D tensor ``vec`` into ``parameters`` (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected chainrule.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    need = sum(p.numel() for p in params)
    if vec.numel() != need:
        raise RuntimeError(f"vector_to_parameters: vec has {vec.numel()} elements, the "
                           f"parameters need {need}")
    pointer = 0
    for p in params:
        n = p.numel()
        p.data = vec.data[pointer:pointer + n].reshape(tuple(p.shape)).astype(p.data.dtype)
        p._version[0] += 1
        pointer += n
