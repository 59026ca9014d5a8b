"""Vectorised error functions on float64 arrays (NumPy has none): erf, erfc and erfinv.

Derivation (no tables of fitted coefficients are needed):

* |x| < 0.5: the Maclaurin series erf(x) = 2/sqrt(pi) sum (-1)^k x^(2k+1) / (k! (2k+1)); the terms
  fall by >= 4x per step, so 24 terms reach double precision with no cancellation to speak of.
* 0.5 <= |x| < 2: the all-positive series erf(x) = 2/sqrt(pi) e^(-x^2) sum 2^k x^(2k+1) / (2k+1)!!
  (obtained by multiplying the Maclaurin series of erf by that of e^(x^2)); 80 terms suffice.
* x >= 1 for erfc (and x >= 2 for erf = 1 - erfc): the even contraction of Laplace's continued
  fraction erfc(x) = 2x e^(-x^2)/sqrt(pi) / (2x^2+1 - 1*2/(2x^2+5 - 3*4/(2x^2+9 - ...))),
  evaluated bottom-up; it converges faster the larger x is, so the band 1 <= x < 2.5 gets more
  terms.

e^(-x^2) is computed as e^(-h^2) e^(-(x-h)(x+h)) with h = x rounded to 24 bits, so that h^2 is exact
and the large exponent carries no rounding error (relative accuracy stays ~1e-16 up to x = 26).
Measured against 40-digit references: relative error <= 1e-15 for erf, <= 2e-15 for erfc.
"""
import math

import numpy as np

from .._backend import xp_of

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _exp_minus_square(x):
    xp = xp_of(x)
    h = x.astype(np.float32).astype(np.float64)
    return xp.exp(-h * h) * xp.exp(-(x - h) * (x + h))


def _erf_small(x):
    x2 = x * x
    term = x.copy()
    total = x.copy()
    for k in range(1, 24):
        term = term * (-x2 / k)
        total += term / (2 * k + 1)
    return _TWO_OVER_SQRT_PI * total


def _erf_mid(x):
    x2 = x * x
    term = x.copy()
    total = x.copy()
    for k in range(1, 80):
        term = term * (2.0 * x2 / (2 * k + 1))
        total += term
    return _TWO_OVER_SQRT_PI * _exp_minus_square(x) * total


def _erfc_cf(x, depth):
    z = 2.0 * x * x
    t = z + (4 * depth + 1)
    for k in range(depth, 0, -1):
        t = z + (4 * k - 3) - (2 * k - 1) * (2 * k) / t
    return _TWO_OVER_SQRT_PI * x * _exp_minus_square(x) / t


def _erfc_pos(x):
    """erfc on x >= 1 (finite)."""
    xp = xp_of(x)
    out = xp.empty_like(x)
    near = x < 2.5
    out[near] = _erfc_cf(x[near], 160)
    far = ~near
    big = x[far]
    # erfc underflows to 0 past 27.3; clipping keeps the continued fraction free of overflow
    out[far] = xp.where(big < 28.0, _erfc_cf(xp.minimum(big, 28.0), 40), 0.0)
    return out


def erf(x):
    """erf of a float64 array."""
    xp = xp_of(x)
    x = x.astype(np.float64, copy=False)
    a = xp.abs(x)
    out = xp.empty_like(x)
    small = a < 0.5
    mid = (a >= 0.5) & (a < 2.0)
    large = a >= 2.0          # includes inf; NaN falls in none of the bands
    out[small] = _erf_small(x[small])
    out[mid] = _erf_mid(a[mid])
    out[large] = 1.0 - _erfc_pos(xp.where(xp.isinf(a[large]), 30.0, a[large]))
    out[xp.isnan(x)] = xp.nan
    return xp.copysign(out, x)


def erfc(x):
    """erfc of a float64 array."""
    xp = xp_of(x)
    x = x.astype(np.float64, copy=False)
    a = xp.abs(x)
    out = xp.empty_like(x)
    low = a < 1.0
    out[low] = 1.0 - erf(x[low])
    high = (a >= 1.0)         # includes inf; NaN falls in neither band
    tail = _erfc_pos(xp.where(xp.isinf(a[high]), 30.0, a[high]))
    out[high] = xp.where(x[high] > 0, tail, 2.0 - tail)
    out[xp.isnan(x)] = xp.nan
    return out


def erfinv(y):
    """Inverse of erf on a float64 array: an approximate start, then three Halley steps."""
    xp = xp_of(y)
    y = y.astype(np.float64, copy=False)
    a = xp.abs(y)
    inside = a < 1.0
    ya = xp.where(inside, a, 0.5)
    # start: Winitzki's closed form, within ~2e-3 relative of the root
    w = xp.log1p(-ya * ya)
    c = 2.0 / (math.pi * 0.147) + w / 2.0
    x = xp.sqrt(xp.sqrt(c * c - w / 0.147) - c)
    upper = ya > 0.5
    one_minus = 1.0 - ya      # exact for ya > 0.5 (Sterbenz)
    for _ in range(3):
        # residual f = erf(x) - ya, taken as (1 - ya) - erfc(x) near 1 to keep its precision
        f = xp.where(upper, one_minus - erfc(x), erf(x) - ya)
        ratio = f / (_TWO_OVER_SQRT_PI * _exp_minus_square(x))
        x = x - ratio / (1.0 + x * ratio)
    out = xp.where(inside, x, xp.where(a == 1.0, xp.inf, xp.nan))
    return xp.copysign(out, y) * xp.where(xp.isnan(y), xp.nan, 1.0)
