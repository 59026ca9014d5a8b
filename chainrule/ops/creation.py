"""Tensor creation: from data, filled, ranges, identity and random."""
import math

import numpy as np

from .. import dtypes as _dt
from ..random import _rng

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "range_", "linspace",
           "logspace", "eye", "rand", "randn", "randint", "randperm", "rand_like", "randn_like",
           "randint_like", "normal", "bernoulli", "multinomial", "scalar_tensor"]


def _finish(array, requires_grad=False, device=None):
    from ..tensor import Tensor, device as _device
    t = Tensor._make(array)
    if device is not None and _device(device).type != "cpu":
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _sizes(size):
    from ..tensor import _sizes as s
    return s(size)


def _dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else _dt.get_default_dtype()
    return _dt.to_dtype(dtype)


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or tensors).

    Floats become the default dtype (float32), ints int64, bools bool; NumPy arrays keep their
    dtype. Example: ``chainrule.tensor([[1., 2.], [3., 4.]], requires_grad=True)``."""
    from ..tensor import Tensor, _as_array
    if isinstance(data, Tensor):
        arr = data.data.copy()
        if dtype is not None:
            arr = arr.astype(_dt.to_dtype(dtype).np)
    else:
        arr = np.array(_as_array(data, dtype), copy=True)
    return _finish(arr, requires_grad, device)


def as_tensor(data, dtype=None, device=None):
    """Like ``tensor`` but shares memory with a NumPy array or Tensor when it can."""
    from ..tensor import Tensor, _as_array
    if isinstance(data, Tensor):
        return data.to(dtype) if dtype is not None else data
    return _finish(_as_array(data, dtype), False, device)


asarray = as_tensor


def from_numpy(ndarray):
    """A tensor sharing memory with ``ndarray``."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__})")
    _dt.from_numpy_dtype(ndarray.dtype)
    return _finish(ndarray)


def scalar_tensor(s, dtype=None):
    return _finish(np.array(s, dtype=_dtype(dtype).np))


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(np.zeros(_sizes(size), _dtype(dtype).np), requires_grad, device)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None):
    return _finish(np.ones(_sizes(size), _dtype(dtype).np), requires_grad, device)


def empty(*size, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(np.empty(_sizes(size), _dtype(dtype).np), requires_grad, device)


def _fill_dtype(fill_value):
    if isinstance(fill_value, (bool, np.bool_)):
        return _dt.bool
    if isinstance(fill_value, (int, np.integer)):
        return _dt.int64
    return _dt.get_default_dtype()


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    from ..tensor import Tensor
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    d = _dtype(dtype, _fill_dtype(fill_value))
    return _finish(np.full(_sizes((size,)), fill_value, d.np), requires_grad, device)


def _like(input, dtype):
    return _dtype(dtype, input.dtype)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(input._xp().zeros(input.shape, _like(input, dtype).np), requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(input._xp().ones(input.shape, _like(input, dtype).np), requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _finish(input._xp().empty(input.shape, _like(input, dtype).np), requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None):
    return _finish(input._xp().full(input.shape, fill_value, _like(input, dtype).np), requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (inclusive) to end (exclusive) by step. Integer args give int64."""
    from ..tensor import Tensor
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    all_int = all(isinstance(x, (int, np.integer)) for x in (start, end, step))
    d = _dtype(dtype, _dt.int64 if all_int else None)
    n = max(0, math.ceil((end - start) / step))
    arr = (start + np.arange(n, dtype=np.float64 if not all_int else np.int64) * step)
    return _finish(arr.astype(d.np), requires_grad, device)


range_ = arange


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    if steps < 0:
        raise RuntimeError("linspace: number of steps must be non-negative")
    return _finish(np.linspace(start, end, steps).astype(_dtype(dtype).np), requires_grad, device)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    return _finish(np.logspace(start, end, steps, base=base).astype(_dtype(dtype).np),
                   requires_grad, device)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m if m is not None else n, dtype=_dtype(dtype).np), requires_grad,
                   device)


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples on [0, 1)."""
    d = _dtype(dtype)
    return _finish(_rng(generator).random(_sizes(size)).astype(d.np), requires_grad, device)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    d = _dtype(dtype)
    return _finish(_rng(generator).standard_normal(_sizes(size)).astype(d.np), requires_grad,
                   device)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers uniform on [low, high). Call as randint(high, size) or randint(low, high, size)."""
    if size is None:
        if isinstance(high, (tuple, list)):
            low, high, size = 0, low, high
        else:
            raise TypeError("randint: missing required argument 'size'")
    if high <= low:
        raise RuntimeError(f"randint: expected low < high, got low={low}, high={high}")
    d = _dtype(dtype, _dt.int64)
    return _finish(_rng(generator).integers(low, high, _sizes((size,))).astype(d.np),
                   requires_grad, device)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1."""
    d = _dtype(dtype, _dt.int64)
    return _finish(_rng(generator).permutation(n).astype(d.np), requires_grad, device)


def rand_like(input, *, dtype=None, generator=None):
    return rand(tuple(input.shape), dtype=_like(input, dtype), generator=generator)


def randn_like(input, *, dtype=None, generator=None):
    return randn(tuple(input.shape), dtype=_like(input, dtype), generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=_like(input, dtype), generator=generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None):
    """Normal samples; mean/std may be tensors (broadcast) or numbers (then ``size`` is needed)."""
    from ..tensor import Tensor
    m = mean.data if isinstance(mean, Tensor) else mean
    s = std.data if isinstance(std, Tensor) else std
    shape = np.broadcast_shapes(np.shape(m), np.shape(s)) if size is None else _sizes((size,))
    d = mean.dtype if isinstance(mean, Tensor) else std.dtype if isinstance(std, Tensor) \
        else _dtype(dtype)
    out = m + s * _rng(generator).standard_normal(shape)
    return _finish(np.asarray(out).astype(d.np))


def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``), else 0."""
    prob = input.data if p is None else p
    draw = _rng(generator).random(input.shape) < prob
    return _finish(draw.astype(input.dtype.np))


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Sample category indices from rows of (unnormalised) probabilities."""
    probs = np.asarray(input.data, dtype=np.float64)
    if (probs < 0).any() or not np.isfinite(probs).all():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    rng = _rng(generator)
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, row in enumerate(rows):
        total = row.sum()
        if total <= 0:
            raise RuntimeError("multinomial: invalid multinomial distribution (sum of "
                               "probabilities <= 0)")
        if not replacement and num_samples > (row > 0).sum():
            raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                               "without replacement")
        out[i] = rng.choice(len(row), size=num_samples, replace=replacement, p=row / total)
    return _finish(out.reshape(probs.shape[:-1] + (num_samples,)))


def _fill_random_(tensor, values, op):
    """Write random ``values`` into ``tensor`` in place, outside the graph (as torch's fills)."""
    from ..autograd import grad_mode
    tensor._check_inplace(op)
    if grad_mode.is_grad_enabled() and tensor.requires_grad:
        raise RuntimeError(f"{op}: an in-place random fill of a tensor recorded in the autograd "
                           f"graph is not supported; use an out-of-place draw such as "
                           f"chainrule.rand_like, or run it under chainrule.no_grad()")
    xp = tensor._xp()
    tensor.data[...] = xp.asarray(values).astype(tensor.data.dtype, copy=False)
    tensor._version[0] += 1
    return tensor


def _require_float(tensor, op):
    if not tensor.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected a floating-point tensor, got {tensor.dtype}")


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs):
    """Fill ``self`` in place with draws from U(from, to); returns ``self``.

    ``from`` is a Python keyword, so pass it positionally or as ``from_`` (``**{"from": a}``
    also works, as in torch).
    """
    from_ = kwargs.pop("from", from_)
    if kwargs:
        raise TypeError(f"uniform_: unexpected keyword argument(s) {sorted(kwargs)}")
    _require_float(self, "uniform_")
    if from_ > to:
        raise RuntimeError(f"uniform_: expects to return a [from, to) range, but found "
                           f"from={from_} > to={to}")
    draw = _rng(generator).uniform(from_, to, tuple(self.shape))
    return _fill_random_(self, draw, "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill ``self`` in place with draws from N(mean, std^2); returns ``self``."""
    _require_float(self, "normal_")
    if std < 0:
        raise RuntimeError(f"normal_: expects std >= 0.0, but found std {std}")
    draw = mean + std * _rng(generator).standard_normal(tuple(self.shape))
    return _fill_random_(self, draw, "normal_")


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill ``self`` in place with 1 (probability ``p``, a number or a tensor) or 0."""
    from ..tensor import Tensor
    prob = p.data if isinstance(p, Tensor) else p
    if np.any(np.asarray(prob) < 0) or np.any(np.asarray(prob) > 1):
        raise RuntimeError(f"bernoulli_: expects 0 <= p <= 1, got {p}")
    draw = _rng(generator).random(tuple(self.shape)) < prob
    return _fill_random_(self, draw, "bernoulli_")


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


def _multinomial_method(self, num_samples, replacement=False, *, generator=None):
    return multinomial(self, num_samples, replacement, generator=generator)


TENSOR_METHODS = {"zero_like": zeros_like, "uniform_": uniform_, "normal_": normal_,
                  "bernoulli_": bernoulli_, "bernoulli": _bernoulli_method,
                  "multinomial": _multinomial_method}
