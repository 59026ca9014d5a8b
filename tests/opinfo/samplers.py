"""Sample generators shared by many OpInfo entries."""
import numpy as np

from .core import Sample

UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4), (0,), (2, 0, 3)]
BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
                   ((), (3,)), ((5,), ()), ((0, 3), (3,))]


def uniform(rng, shape, dtype, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(dtype)


def noncontig(a):
    """A non-contiguous view with the same values as ``a`` (2-D or more)."""
    return np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2)


def unary_samples(low=-2.0, high=2.0, shapes=UNARY_SHAPES, kwargs_list=({},), extra=()):
    """Random inputs over several shapes, incl. 0-d, size-0 and a non-contiguous view."""
    def gen(dtype, rng):
        out = []
        for kw in kwargs_list:
            for shape in shapes:
                out.append(Sample((uniform(rng, shape, dtype, low, high),), dict(kw), f"{shape}"))
            multi = [s for s in shapes if len(s) >= 2 and 0 not in s]
            if multi:   # a non-contiguous view with the same shape as the largest sample
                out.append(Sample((noncontig(uniform(rng, multi[-1], dtype, low, high)),),
                                  dict(kw), "noncontig"))
        for values in extra:
            out.append(Sample((np.array(values, dtype=dtype),), {}, f"values {values}"))
        return out
    return gen


def binary_samples(low=-2.0, high=2.0, low2=None, high2=None, pairs=BROADCAST_PAIRS,
                   scalars=(2.5,)):
    """Pairs of inputs with broadcasting, 0-d, size-0, non-contiguous and a Python scalar."""
    low2 = low if low2 is None else low2
    high2 = high if high2 is None else high2

    def gen(dtype, rng):
        out = []
        for sa, sb in pairs:
            out.append(Sample((uniform(rng, sa, dtype, low, high),
                               uniform(rng, sb, dtype, low2, high2)), {}, f"{sa} {sb}"))
        out.append(Sample((noncontig(uniform(rng, (3, 4), dtype, low, high)),
                           uniform(rng, (3, 4), dtype, low2, high2)), {}, "noncontig"))
        for s in scalars:
            out.append(Sample((uniform(rng, (3,), dtype, low, high), s), {}, f"scalar {s}"))
        return out
    return gen
