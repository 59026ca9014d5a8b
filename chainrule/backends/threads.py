"""chainrule's worker threads (torch's ``set_num_threads`` / ``get_num_threads``).

Convolutions split their im2col blocks over a small pool of Python threads, and while they do
(a convolution ran in the last ``HOLD_S`` seconds), so does the rest of the large array work
of the step: ReLU, pooling, padding copies, matrix products. NumPy releases the GIL inside its
loops and BLAS calls, so the ranges run in parallel. Meanwhile OpenBLAS is held at one thread;
otherwise matrix products run on OpenBLAS's own threads and the other work on the caller's.
The two pools cannot run side by side: OpenBLAS's idle workers keep spinning for a while after
every product and took a two-way split convolution from 47 to 84 ms (benchmarks/README.md),
while a hand-off to a Python thread costs 45-80 us, which OpenBLAS's spinning workers do not pay
on a product of half a millisecond. So a network of linear layers (an MLP, a transformer) keeps
OpenBLAS's threading, and a convolutional one runs everything on chainrule's pool. Where NumPy's
BLAS is not OpenBLAS (its thread count cannot be held at one), the pool stays unused and
products run on that BLAS's own threads.

The splits are fixed by the thread count and the sizes, so a step's results are the same from
run to run at one thread count (they may differ in the last bits between counts: the weight
gradient of a convolution adds one partial sum per thread).

The count starts as ``OMP_NUM_THREADS``, else ``OPENBLAS_NUM_THREADS``, else the CPUs this
process may run on, as torch's does; ``set_num_threads(n)`` changes it (both pools' sizes).
"""
import contextvars
import os
import threading
import time

__all__ = ["get_num_threads", "set_num_threads"]

_state = {"threads": None, "pool": None, "blas_settable": False, "blas_pinned": False,
          "pool_used_at": -1e9}
HOLD_S = 1.0        # how long the pool stays in use after a convolution claimed it
_local = threading.local()      # .worker is True on the pool's threads
# True while chainrule.compile records a run: its tape is written by one thread, so work stays
# on the calling thread
serial = False


def _env_threads():
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        try:
            value = int(os.environ.get(var, ""))
        except ValueError:
            continue
        if value >= 1:
            return value
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):            # not Linux
        return os.cpu_count() or 1


def get_num_threads():
    """The threads chainrule's array work may use (torch.get_num_threads)."""
    if _state["threads"] is None:
        _configure(_env_threads())
    return _state["threads"]


def set_num_threads(n):
    """Let chainrule's array work use ``n`` threads (torch.set_num_threads)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    _configure(n)


def _configure(n):
    from .blas import openblas_function
    if _state["pool"] is not None:
        _state["pool"].shutdown(wait=True)
        _state["pool"] = None
    _state["threads"] = n
    _state["blas_settable"] = openblas_function("set_num_threads") is not None
    _pin_blas(False)


def _pin_blas(pinned):
    """OpenBLAS at one thread (``pinned``) or at chainrule's count."""
    if _state["blas_settable"]:
        from .blas import openblas_function
        want = 1 if pinned else _state["threads"]
        # why: only when it changes; setting OpenBLAS's count again after it has run slowed the
        # LSTM step by a quarter (measured)
        if openblas_function("get_num_threads")() != want:
            openblas_function("set_num_threads")(want)
    _state["blas_pinned"] = pinned


def in_use():
    """True while chainrule's pool runs a step's work: it has several threads, OpenBLAS can be
    held at one, and a convolution claimed the pool in the last ``HOLD_S`` seconds. Keeps
    OpenBLAS held at one thread while so, and gives it its threads back when not."""
    if get_num_threads() == 1 or not _state["blas_settable"]:
        return False
    recent = time.monotonic() - _state["pool_used_at"] < HOLD_S
    if recent != _state["blas_pinned"]:
        _pin_blas(recent)
    return recent


def release():
    """Count the pool as not in use now: OpenBLAS gets its threads back at once (for NumPy
    products that the caller runs itself right after chainrule's convolutions)."""
    _state["pool_used_at"] = -1e9
    in_use()


def ranges(total, min_size, claim=False):
    """``total`` rows as contiguous (start, stop) ranges of at least ``min_size`` rows each, one
    per thread at most. ``claim``: the work puts the pool in use (convolutions do); other work
    is split only while it is in use. A single range when the work is too small to split, the
    pool is not in use, or the caller is itself one of the pool's threads."""
    parts = min(get_num_threads(), total // max(1, min_size))
    if parts <= 1 or serial or getattr(_local, "worker", False) or not _state["blas_settable"]:
        return [(0, total)]
    if claim:
        _state["pool_used_at"] = time.monotonic()
        if not _state["blas_pinned"]:
            _pin_blas(True)          # products inside the parts run one per thread
    elif not in_use():
        return [(0, total)]
    bounds = [total * i // parts for i in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _mark_worker():
    _local.worker = True


def _pool():
    if _state["pool"] is None:
        from concurrent.futures import ThreadPoolExecutor
        _state["pool"] = ThreadPoolExecutor(get_num_threads() - 1, "chainrule",
                                            initializer=_mark_worker)
    return _state["pool"]


def run(fn, parts):
    """``[fn(start, stop) for (start, stop) in parts]``, the parts at once: the first on the
    calling thread, the others on the pool. Every part finishes before the first error is
    raised."""
    if len(parts) == 1:
        return [fn(*parts[0])]
    pool = _pool()
    # why: each part runs in a copy of the caller's context, so NumPy's error state (quiet_fp)
    # holds on the pool's threads as on the caller's; parts do array work only, no recording
    futures = [pool.submit(contextvars.copy_context().run, fn, *part) for part in parts[1:]]
    results, error = [None] * len(parts), None
    try:
        results[0] = fn(*parts[0])
    except BaseException as exc:            # the others still write into shared outputs
        error = exc
    for i, future in enumerate(futures, 1):
        try:
            results[i] = future.result()
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error
    return results


def _after_fork():
    # a forked child (DataLoader workers) has none of the parent's threads: start afresh
    _state["pool"] = None
    _local.__dict__.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
