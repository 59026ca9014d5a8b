"""Array work split into row ranges that run at once on chainrule's threads (backends.threads).

Each helper gives the same result as its one-call form; the split is along the first axis (rows
of a matrix, images of a batch), so every range writes its own slice of one output. Work too
small to repay the hand-off to a pool thread (45-80 us measured) runs as one call, and so does
every CuPy array.
"""
import math

import numpy as np

from .._backend import xp_of
from ..backends import threads

# the least work one range gets (about 0.15 ms of one core): below it the hand-off costs more
# than the second core saves
MIN_MACS = 1 << 23          # multiply-adds of a matrix product
MIN_ELEMS = 1 << 17         # elements of an elementwise pass


def row_ranges(rows, work_per_row, min_work=MIN_ELEMS, claim=False):
    """``rows`` split into (start, stop) ranges of at least ``min_work`` work each (one range
    when the machine or the work is too small, or the pool is not in use; ``claim`` as in
    backends.threads.ranges)."""
    return threads.ranges(rows, math.ceil(min_work / max(1, work_per_row)), claim)


def for_rows(fn, rows, work_per_row, min_work=MIN_ELEMS, claim=False):
    """``fn(start, stop)`` over ranges of ``rows``, at once; returns the ranges' results."""
    return threads.run(fn, row_ranges(rows, work_per_row, min_work, claim))


def _whole(out):
    """True when work writing ``out`` is one call: a CuPy or 0-d array, or too few elements to
    make two ranges (checked first, so that small ops on the hot path skip the range logic)."""
    return type(out) is not np.ndarray or out.size < 2 * MIN_ELEMS or out.ndim == 0


def over_rows(fn, out):
    """``fn(start, stop)`` over ranges of the first axis of ``out`` (the array it writes), split
    by its size; one call ``fn(None, None)`` when ``_whole(out)``."""
    if _whole(out):
        fn(None, None)
    else:
        for_rows(fn, out.shape[0], out.size // out.shape[0])


def added(parts):
    """The sum of the ranges' partial results (None ones skipped), accumulated into the first;
    None when every one is None."""
    parts = [p for p in parts if p is not None]
    total = parts[0] if parts else None
    for part in parts[1:]:
        total += part
    return total


def elementwise(ufunc, out, *inputs, **kwargs):
    """``ufunc(*inputs, out=out, **kwargs)``, split over the rows of ``out``; inputs with
    ``out``'s number of rows and dims are split alike, the others (scalars, broadcast operands)
    go whole to every range. Returns ``out``."""
    if _whole(out):
        ufunc(*inputs, out=out, **kwargs)
        return out
    rows = out.shape[0]
    split = [isinstance(a, np.ndarray) and a.ndim == out.ndim and a.shape[0] == rows
             for a in inputs]
    if any(isinstance(a, np.ndarray) and a.ndim == out.ndim and not s and a.shape[0] != 1
           for a, s in zip(inputs, split)):
        ufunc(*inputs, out=out, **kwargs)        # shapes that do not broadcast: NumPy's error
        return out

    def part(start, stop):
        args = [a[start:stop] if s else a for a, s in zip(inputs, split)]
        ufunc(*args, out=out[start:stop], **kwargs)
    for_rows(part, rows, out.size // rows)
    return out


def copyto(dst, src):
    """``numpy.copyto(dst, src)`` split over the rows of ``dst`` (``src`` of the same shape)."""
    if _whole(dst) or tuple(src.shape) != tuple(dst.shape):
        xp_of(dst).copyto(dst, src)
        return dst

    def part(start, stop):
        np.copyto(dst[start:stop], src[start:stop])
    for_rows(part, dst.shape[0], dst.size // dst.shape[0])
    return dst


def matmul(a, b, out=None):
    """``a @ b`` (NumPy's matmul, same shapes and broadcasting), split over the leading batch
    dim (stacks of matrices) or the rows of ``a`` (one matrix) when the product is large and
    chainrule's pool is in use; ``out`` as in numpy.matmul."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim < 2 or b.ndim < 2 or \
            a.size * b.shape[-1] < 2 * MIN_MACS or not threads.in_use():
        # (a.size * b's columns: the multiply-adds of a's stack; checked before the pool)
        return xp_of(a).matmul(a, b, out=out)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    if out is None:
        out = np.empty(batch + (a.shape[-2], b.shape[-1]), dtype=np.result_type(a, b))
    macs = out.size * a.shape[-1]                       # multiply-adds of the whole product
    if a.ndim == out.ndim and a.ndim > 2 and a.shape[0] == out.shape[0] > 1 and \
            (b.ndim < a.ndim or b.shape[0] in (1, a.shape[0])):
        # a stack: whole matrices per range (rows of small matrices would halve each GEMM)
        lead = a.shape[0]
        whole_b = b.ndim < a.ndim or b.shape[0] == 1

        def part(start, stop):
            np.matmul(a[start:stop], b if whole_b else b[start:stop], out=out[start:stop])
    else:
        lead = a.shape[-2]

        def part(start, stop):
            np.matmul(a[..., start:stop, :], b, out=out[..., start:stop, :])
    parts = row_ranges(lead, macs // max(1, lead), MIN_MACS)
    if len(parts) == 1:
        return np.matmul(a, b, out=out)
    threads.run(part, parts)
    return out
