"""Matrix products. MatMul is the primitive (1-D, 2-D, batched, broadcasting); mm, bmm, mv, dot,
outer, addmm, baddbmm, tensordot and einsum compose it."""
import numpy as np

from . import primitive, Primitive, _parallel
from ._broadcast import broadcasts_to, sum_to_shape
from ._util import promote
from .._backend import xp_of
from ..autograd.grad_mode import is_grad_enabled

_Tensor = None     # chainrule.tensor.Tensor, looked up on first use (import cycle)


def _tensor_cls():
    global _Tensor
    if _Tensor is None:
        from ..tensor import Tensor
        _Tensor = Tensor
    return _Tensor

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm",
           "baddbmm", "addmv", "addbmm", "tensordot", "einsum", "linalg_vecdot"]


@primitive
class MatMul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _parallel.matmul(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        """d(a@b)/da = g @ b^T, d(a@b)/db = a^T @ g (1-D operands as row/column vectors)"""
        if not is_grad_enabled():
            a, b = ctx.saved_arrays
            if a.ndim == 2 and b.ndim == 2:
                # why: a first-order pass records nothing, so two plain GEMMs on the arrays do
                make, g = grad_out._make, grad_out.data
                return (make(_parallel.matmul(g, b.T)) if ctx.needs_input_grad[0] else None,
                        make(_parallel.matmul(a.T, g)) if ctx.needs_input_grad[1] else None)
        from . import reshape, unsqueeze, transpose     # (after the fast path: imports cost)
        a, b = ctx.saved_tensors
        if a.ndim == 1 and b.ndim == 1:
            return (grad_out * b if ctx.needs_input_grad[0] else None,
                    grad_out * a if ctx.needs_input_grad[1] else None)
        a2 = unsqueeze(a, 0) if a.ndim == 1 else a
        b2 = unsqueeze(b, -1) if b.ndim == 1 else b
        g = grad_out
        if a.ndim == 1:
            g = unsqueeze(g, -2)
        if b.ndim == 1:
            g = unsqueeze(g, -1)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = sum_to_shape(matmul(g, transpose(b2, -1, -2)), a2.shape)
            grad_a = reshape(grad_a, a.shape) if a.ndim == 1 else grad_a
        if ctx.needs_input_grad[1]:
            grad_b = sum_to_shape(matmul(transpose(a2, -1, -2), g), b2.shape)
            grad_b = reshape(grad_b, b.shape) if b.ndim == 1 else grad_b
        return grad_a, grad_b


def _check(op, a, b):
    sa, sb = a.data.shape, b.data.shape
    if not sa or not sb:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(sa)} and {tuple(sb)}")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise RuntimeError(f"{op}: {tuple(a.shape)} @ {tuple(b.shape)}: inner dimensions {ka} and "
                           f"{kb} differ")


def matmul(input, other):
    """Matrix product with numpy/torch semantics: 1-D operands are vectors, leading dims broadcast.

    Shape: (..., n, k) @ (..., k, m) -> (..., n, m)."""
    tensor = _Tensor or _tensor_cls()
    if not isinstance(input, tensor) or not isinstance(other, tensor):
        raise TypeError("matmul: both arguments must be Tensors")
    a, b = input.data, other.data
    if not (a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0]):   # (the common case)
        _check("matmul", input, other)
    if a.dtype != b.dtype:
        raise RuntimeError(f"matmul: expected both arguments to have the same dtype, but got "
                           f"{input.dtype} and {other.dtype}")
    try:
        return MatMul.apply(input, other)
    except ValueError:
        raise RuntimeError(f"matmul: batch dimensions of {tuple(input.shape)} and "
                           f"{tuple(other.shape)} cannot be broadcast together") from None


def _ndim_check(op, t, n, name="input"):
    if t.ndim != n:
        raise RuntimeError(f"{op}: expected {name} to be a {n}-D tensor, got shape "
                           f"{tuple(t.shape)} ({t.ndim}-D)")


def mm(input, mat2):
    """(n, k) @ (k, m) -> (n, m)."""
    _ndim_check("mm", input, 2, "self")
    _ndim_check("mm", mat2, 2, "mat2")
    _check("mm", input, mat2)
    return matmul(input, mat2)


def bmm(input, mat2):
    """(b, n, k) @ (b, k, m) -> (b, n, m), no broadcasting."""
    _ndim_check("bmm", input, 3, "batch1")
    _ndim_check("bmm", mat2, 3, "batch2")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}")
    _check("bmm", input, mat2)
    return matmul(input, mat2)


def mv(input, vec):
    """(n, k) @ (k,) -> (n,)."""
    _ndim_check("mv", input, 2)
    _ndim_check("mv", vec, 1, "vec")
    _check("mv", input, vec)
    return matmul(input, vec)


def _dot(op, input, other):
    _ndim_check(op, input, 1)
    _ndim_check(op, other, 1, "tensor")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"{op}: inconsistent tensor size, expected tensor [{input.shape[0]}] "
                           f"and src [{other.shape[0]}] to have the same number of elements")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{op}: expected both vectors to have same dtype, but found "
                           f"{input.dtype} and {other.dtype}")
    return matmul(input, other)


def dot(input, other):
    """Inner product of two 1-D tensors: (n,) . (n,) -> ()."""
    return _dot("dot", input, other)


def vdot(input, other):
    """Inner product of two 1-D tensors (real dtypes: the same as :func:`dot`)."""
    return _dot("vdot", input, other)


def inner(input, other):
    """Sum over the last dims: (..., n) and (..., n) -> a.shape[:-1] + b.shape[:-1]."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner: the last dimension must match on both input tensors but got "
                           f"shapes {tuple(input.shape)} and {tuple(other.shape)}")
    from . import unsqueeze
    return matmul(unsqueeze(input, -2), unsqueeze(other, -1)).squeeze(-1).squeeze(-1) \
        if input.ndim == 1 and other.ndim == 1 else tensordot(input, other, ([-1], [-1]))


def outer(input, vec2):
    """(n,) x (m,) -> (n, m)."""
    from . import unsqueeze
    _ndim_check("outer", input, 1)
    _ndim_check("outer", vec2, 1, "vec2")
    return unsqueeze(input, 1) * unsqueeze(vec2, 0)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2)."""
    return _add_scaled("addmm", input, beta, mm(mat1, mat2), alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec)."""
    return _add_scaled("addmv", input, beta, mv(mat, vec), alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), batched."""
    return _add_scaled("baddbmm", input, beta, bmm(batch1, batch2), alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * sum_b(batch1[b] @ batch2[b])."""
    from . import sum as _sum
    return _add_scaled("addbmm", input, beta, _sum(bmm(batch1, batch2), 0), alpha)


def _add_scaled(op, input, beta, prod, alpha):
    """beta * input + alpha * prod, where input must broadcast to prod's shape (torch)."""
    shape, target = tuple(input.shape), tuple(prod.shape)
    if not broadcasts_to(shape, target):
        raise RuntimeError(f"{op}: input of shape {shape} cannot be broadcast to the shape "
                           f"{target} of the product")
    return _scale(input, beta) + _scale(prod, alpha)


def _scale(x, s):
    """s * x; for s == 0 the result is 0 even where x is nan or inf (torch ignores ``input``)."""
    if s == 1:
        return x
    if s == 0:
        from . import where, ones_like
        from .. import dtypes
        return where(ones_like(x, dtype=dtypes.bool), 0, x)
    return x * s


def tensordot(a, b, dims=2):
    """Contract ``dims`` (an int, or two lists of dims) of a and b."""
    from . import permute, reshape
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot: expected a non-negative dims, got {dims}")
        dims_a = list(range(a.ndim - dims, a.ndim))
        dims_b = list(range(dims))
    else:
        dims_a, dims_b = dims
        if isinstance(dims_a, int):
            dims_a, dims_b = [dims_a], [dims_b]
        dims_a = [d % a.ndim for d in dims_a]
        dims_b = [d % b.ndim for d in dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError("tensordot: both dimension lists should have the same length")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has "
                               f"size {a.shape[da]} in dim {da} and second has size "
                               f"{b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = int(np.prod([a.shape[d] for d in dims_a])) if dims_a else 1
    a2 = reshape(permute(a, free_a + dims_a), (-1, k) if a.numel() else
                 (int(np.prod([a.shape[d] for d in free_a])), k))
    b2 = reshape(permute(b, dims_b + free_b), (k, -1) if b.numel() else
                 (k, int(np.prod([b.shape[d] for d in free_b]))))
    out = matmul(a2, b2)
    return reshape(out, tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b))


def linalg_vecdot(x, y, *, dim=-1):
    from . import sum as _sum
    return _sum(x * y, dim)


def einsum(equation, *operands):
    """Einstein summation, composed from permute, multiply-broadcast, sum and matmul."""
    from ._einsum import einsum as _einsum
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _einsum(equation, *operands)


TENSOR_METHODS = {"matmul": matmul, "mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "inner": inner,
                  "outer": outer, "ger": outer, "addmm": addmm, "baddbmm": baddbmm,
                  "addmv": addmv, "vdot": dot}
