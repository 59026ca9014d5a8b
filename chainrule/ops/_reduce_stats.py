"""Statistical reductions, all composites: var, std, var_mean, std_mean, logsumexp, norm and
linalg_vector_norm. Re-exported by ``chainrule.ops.reduce``."""
import math
import warnings

from .._backend import xp_of

__all__ = ["var", "std", "var_mean", "std_mean", "logsumexp", "norm", "linalg_vector_norm"]


def _float_only(input, op):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): only supports floating point dtypes, got {input.dtype}")


def _correction(op, unbiased, correction):
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{op}(): cannot specify both unbiased and correction")
    if correction is None:
        return 1 if unbiased is None or unbiased else 0
    return correction


def _moments(input, dim, unbiased, keepdim, correction, op):
    """(variance, mean with keepdim) over ``dim``."""
    from .reduce import _axes, sum as _sum, mean as _mean
    if isinstance(dim, bool):         # var(x, False): the positional ``unbiased`` overload
        dim, unbiased = None, dim
    _float_only(input, op)
    c = _correction(op, unbiased, correction)
    axes = _axes(input, dim, op)
    n = 1
    for a in axes:
        n *= input.shape[a]
    if n - c <= 0:
        warnings.warn(f"{op}(): degrees of freedom is <= 0. Correction should be strictly less "
                      f"than the reduction factor (input numel divided by output numel).",
                      stacklevel=3)
    mu = _mean(input, axes, keepdim=True)
    centred = input - mu
    return _sum(centred * centred, axes, keepdim) / max(n - c, 0), mu


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance ``sum((x - mean)^2) / (N - correction)`` over ``dim`` (every dim when None).

    Args:
        input: a floating-point Tensor.
        dim: int, tuple of ints or None.
        unbiased: legacy flag; True means ``correction=1``, False ``correction=0``.
        keepdim: keep the reduced dims with size 1.
        correction: the difference between the sample size and the degrees of freedom
            (default 1, Bessel's correction).

    Example:
        >>> chainrule.tensor([1., 2., 3., 4.]).var()
        tensor(1.6667)
    """
    return _moments(input, dim, unbiased, keepdim, correction, "var")[0]


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: ``sqrt(var(...))`` with the same arguments as :func:`var`; the
    gradient where it is 0 is 0 (as torch)."""
    from .unary import sqrt
    return _safe_root(_moments(input, dim, unbiased, keepdim, correction, "std")[0], sqrt)


def _squeeze_mean(mu, var):
    from .shape import reshape
    return reshape(mu, tuple(var.shape)) if mu.shape != var.shape else mu


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``, sharing the mean computation."""
    v, mu = _moments(input, dim, unbiased, keepdim, correction, "var_mean")
    return v, _squeeze_mean(mu, v)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``, sharing the mean computation."""
    from .unary import sqrt
    v, mu = _moments(input, dim, unbiased, keepdim, correction, "std_mean")
    return _safe_root(v, sqrt), _squeeze_mean(mu, v)


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(x)))`` over ``dim``, computed as ``m + log(sum(exp(x - m)))`` with ``m`` the
    (constant) maximum, so it is exact for large logits; rows of -inf give -inf.

    Example:
        >>> chainrule.logsumexp(chainrule.tensor([1e4, 0., -1e4]), 0)
        tensor(10000.)
    """
    from .reduce import _axes, _keep_shape, sum as _sum
    from .unary import exp, log, cast
    from .shape import reshape
    from ..tensor import Tensor
    from .. import dtypes as _dt
    if not input.dtype.is_floating_point:
        input = cast(input, _dt.get_default_dtype())
    axes = _axes(input, dim, "logsumexp")
    data = input.data
    xp = xp_of(data)
    kshape = _keep_shape(input.shape, axes)
    if data.size:
        m = xp.amax(data, axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0).astype(data.dtype)   # why: inf - inf would be nan
    else:
        m = xp.zeros(kshape, dtype=data.dtype)
    m = Tensor._make(m)
    out = log(_sum(exp(input - m), axes, keepdim=True)) + m
    return out if keepdim else reshape(out, tuple(s for i, s in enumerate(kshape)
                                                  if i not in axes))


def _safe_root(s, root):
    """``root(s)`` with a zero gradient where ``s == 0`` (torch's subgradient of norms and std at
    0); the inner where keeps root's infinite derivative at 0 out of the graph."""
    from .unary import where
    zero = s == 0
    return where(zero, 0.0, root(where(zero, 1.0, s)))


def linalg_vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The vector ``ord``-norm of ``x`` over ``dim`` (the flattened input when None).

    ``ord``: inf (max |x|), -inf (min |x|), 0 (count of non-zeros), or any other number p for
    ``sum(|x|^p)^(1/p)``. The gradient at 0 is 0 (torch's subgradient)."""
    from .reduce import _axes, sum as _sum, amax, amin
    from .unary import abs as _abs, sqrt, cast, where
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point tensor as input. "
                           f"Got {x.dtype}")
    if isinstance(ord, str) or isinstance(ord, bool):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    axes = _axes(x, dim, "linalg.vector_norm")
    if ord == math.inf:
        return amax(_abs(x), axes, keepdim)
    if ord == -math.inf:
        return amin(_abs(x), axes, keepdim)
    if ord == 0:
        return _sum(cast(x != 0, x.dtype), axes, keepdim)
    if ord == 1:
        return _sum(_abs(x), axes, keepdim)
    if ord == 2:
        return _safe_root(_sum(x * x, axes, keepdim), sqrt)
    return _safe_root(_sum(_abs(x) ** ord, axes, keepdim), lambda s: s ** (1.0 / ord))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The ``p``-norm of ``input`` over ``dim`` (every dim when None), as ``torch.norm``.

    Args:
        input: a floating-point Tensor.
        p: 'fro' (= 2 over the given dims), inf, -inf, 0, 1, 2 or any other number.
        dim: int, tuple of ints or None.
        keepdim: keep the reduced dims with size 1.
        dtype: cast the input to this dtype first.

    Example:
        >>> chainrule.tensor([3., 4.]).norm()
        tensor(5.)
    """
    if p is None or p == "fro":
        p = 2
    elif isinstance(p, str):
        raise RuntimeError(f"norm(): p={p!r} is not supported; use 'fro' or a number")
    return linalg_vector_norm(input, p, dim, keepdim, dtype=dtype)


TENSOR_METHODS = {"var": var, "std": std, "logsumexp": logsumexp, "norm": norm}
