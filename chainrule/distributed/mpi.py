"""The MPI backend: process rank and count, and collectives on tensors (through mpi4py).

Every collective works on the tensor's own buffer (in place where MPI allows, with no pickling).
When mpi4py is missing, or the script was not started by an MPI launcher, the functions behave as
a job of one process: rank 0, world size 1, collectives leave the data as they are. mpi4py is
imported on the first call that needs it, never when chainrule is imported.
"""
import os
import sys
import warnings

import numpy as np

from ..tensor import Tensor

__all__ = ["ReduceOp", "Work", "init", "init_process_group", "is_available", "is_initialized",
           "get_rank", "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather",
           "all_gather_into_tensor", "is_main_process", "print0", "check_finite",
           "scaled_batch_settings", "abort"]

# Environment variables set by the common launchers (MPICH/Hydra and Slurm's PMI, Open MPI, PMIx,
# MVAPICH): their presence means "started by mpiexec", so importing mpi4py is worth it.
_LAUNCHER_VARS = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                  "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


class ReduceOp:
    """Reduction operations for :func:`all_reduce` (the strings ``"sum"`` … work too)."""
    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"


class _State:
    initialized = False
    comm = None          # mpi4py's COMM_WORLD when running under MPI with more than one process
    MPI = None
    rank = 0
    size = 1


_state = _State()


def is_available():
    """True when mpi4py can be imported (it is the optional extra ``chainrule[mpi]``)."""
    if "mpi4py" in sys.modules:
        return True
    import importlib.util
    return importlib.util.find_spec("mpi4py") is not None


def _launched_by_mpi():
    return "mpi4py.MPI" in sys.modules or any(v in os.environ for v in _LAUNCHER_VARS)


def init(backend="mpi"):
    """Join the MPI job (idempotent); a single process of world size 1 outside ``mpiexec``.

    Under MPI with more than one process this also installs an ``excepthook`` that prints which
    rank failed and aborts every rank (``MPI_Abort``), so a crash on one rank never leaves the
    others waiting in a collective.

    Args:
        backend: only ``"mpi"`` is supported.
    """
    if backend not in ("mpi", None):
        raise ValueError(f"init: unsupported backend {backend!r} (only 'mpi' is available)")
    if _state.initialized:
        return
    _state.initialized = True
    if not _launched_by_mpi():
        return
    try:
        from mpi4py import MPI
    except ImportError:
        warnings.warn("chainrule.distributed: the script seems to run under an MPI launcher but "
                      "mpi4py is not installed (pip install mpi4py mpich); running as a single "
                      "process of world size 1", RuntimeWarning, stacklevel=2)
        return
    comm = MPI.COMM_WORLD
    _state.MPI, _state.rank, _state.size = MPI, comm.Get_rank(), comm.Get_size()
    if _state.size > 1:
        _state.comm = comm
        _install_excepthook()


init_process_group = init


def is_initialized():
    """Whether :func:`init` has run (the other functions call it on first use)."""
    return _state.initialized


def get_rank():
    """This process's rank, 0 ≤ rank < world size (0 outside MPI)."""
    init()
    return _state.rank


def get_world_size():
    """The number of processes in the job (1 outside MPI)."""
    init()
    return _state.size


def is_main_process():
    """True on rank 0: the rank that logs, prints and writes checkpoints."""
    return get_rank() == 0


def print0(*args, **kwargs):
    """``print`` on rank 0 only (flushed, so that output is not held back by the launcher)."""
    if is_main_process():
        kwargs.setdefault("flush", True)
        print(*args, **kwargs)


def barrier():
    """Wait until every rank has reached this call."""
    init()
    if _state.comm is not None:
        _state.comm.Barrier()


def _comm():
    init()
    return _state.comm


def _array_of(tensor, fname):
    if isinstance(tensor, Tensor):
        return tensor.data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"{fname}: expected a chainrule.Tensor (or a NumPy array), got "
                    f"{type(tensor).__name__}")


def _bump(tensor):
    if isinstance(tensor, Tensor):
        tensor._version[0] += 1


class Work:
    """The handle of an asynchronous collective (``async_op=True``): call ``wait()`` before
    reading the result. ``is_completed()`` polls, which also lets MPI make progress."""

    def __init__(self, request=None, finish=None):
        self._request, self._finish, self._done = request, finish, request is None
        if self._done and finish is not None:
            finish()

    def is_completed(self):
        if not self._done and self._request.Test():
            self._complete()
        return self._done

    def wait(self):
        if not self._done:
            self._request.Wait()
            self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            self._finish()


def _mpi_op(op, kind):
    MPI = _state.MPI
    if kind == "b":     # bool: sum is logical or, as for torch
        return {"sum": MPI.LOR, "avg": None, "max": MPI.LOR, "min": MPI.LAND}[op]
    return {"sum": MPI.SUM, "avg": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def _check_op(op):
    name = getattr(op, "value", op)
    name = name.lower() if isinstance(name, str) else name
    if name not in ("sum", "avg", "max", "min"):
        raise ValueError(f"all_reduce: op must be one of 'sum', 'avg', 'max', 'min' "
                         f"(or a ReduceOp), got {op!r}")
    return name


def all_reduce(tensor, op=ReduceOp.SUM, async_op=False):
    """Reduce ``tensor`` over all ranks, in place, so that every rank holds the result.

    Args:
        tensor: any dtype (float16/32/64, integers, bool); overwritten with the result.
        op: ``"sum"``, ``"avg"`` (floating dtypes), ``"max"`` or ``"min"`` (or ``ReduceOp.*``).
        async_op: return a :class:`Work` at once instead of waiting.

    Returns:
        None, or a :class:`Work` when ``async_op``.

    Example:
        >>> t = chainrule.ones(3) * (get_rank() + 1)
        >>> all_reduce(t)                   # on 2 ranks every rank now holds [3., 3., 3.]
    """
    arr = _array_of(tensor, "all_reduce")
    op = _check_op(op)
    if op == "avg" and arr.dtype.kind != "f":
        raise RuntimeError(f"all_reduce: op 'avg' needs a floating-point tensor, got {arr.dtype}")
    comm = _comm()
    if comm is None or arr.size == 0:
        return Work() if async_op else None
    work_arr = arr
    if arr.dtype.kind == "b":
        work_arr = arr.view(np.uint8) if arr.flags.c_contiguous else arr.astype(np.uint8)
    elif not arr.flags.c_contiguous:
        work_arr = np.ascontiguousarray(arr)
    size = _state.size

    def finish():
        if op == "avg":
            work_arr[...] /= size
        if work_arr is not arr and not np.shares_memory(work_arr, arr):
            arr[...] = work_arr
        _bump(tensor)

    mpi_op = _mpi_op(op, arr.dtype.kind)
    if async_op:
        return Work(comm.Iallreduce(_state.MPI.IN_PLACE, work_arr, op=mpi_op), finish)
    comm.Allreduce(_state.MPI.IN_PLACE, work_arr, op=mpi_op)
    finish()
    return None


def broadcast(tensor, src=0, async_op=False):
    """Copy ``tensor`` from rank ``src`` to every rank, in place.

    Args:
        tensor: same shape and dtype on every rank; overwritten on every rank but ``src``.
        src: the sending rank.
        async_op: return a :class:`Work` at once instead of waiting.
    """
    arr = _array_of(tensor, "broadcast")
    comm = _comm()
    if not 0 <= src < get_world_size():
        raise ValueError(f"broadcast: src must be a rank in [0, {get_world_size()}), got {src}")
    if comm is None or arr.size == 0:
        return Work() if async_op else None
    buf = arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)
    if buf.dtype.kind == "b":
        buf = buf.view(np.uint8)

    def finish():
        if not np.shares_memory(buf, arr):
            arr[...] = buf
        _bump(tensor)

    if async_op:
        return Work(comm.Ibcast(buf, root=src), finish)
    comm.Bcast(buf, root=src)
    finish()
    return None


def all_gather_into_tensor(output_tensor, input_tensor):
    """Gather ``input_tensor`` from every rank into ``output_tensor``, concatenated along dim 0.

    Shape: input (n, *) on every rank; output (world_size * n, *), or (world_size,) for a 0-d
    input.
    """
    src = _array_of(input_tensor, "all_gather_into_tensor")
    out = _array_of(output_tensor, "all_gather_into_tensor")
    size = get_world_size()
    expected = (size * src.shape[0],) + src.shape[1:] if src.ndim else (size,)
    if out.shape != expected or out.dtype != src.dtype:
        raise RuntimeError(f"all_gather_into_tensor: expected an output of shape {expected} and "
                           f"dtype {src.dtype}, got {out.shape} and {out.dtype}")
    comm = _comm()
    if comm is None or src.size == 0:
        out[...] = src.reshape(out.shape)
    else:
        send = np.ascontiguousarray(src)
        recv = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
        if send.dtype.kind == "b":
            send, recv_buf = send.view(np.uint8), recv.view(np.uint8)
        else:
            recv_buf = recv
        comm.Allgather(send, recv_buf)
        if recv is not out:
            out[...] = recv
    _bump(output_tensor)


def all_gather(tensor_list, tensor):
    """Gather ``tensor`` from every rank into ``tensor_list`` (torch's signature).

    Args:
        tensor_list: ``world_size`` tensors shaped like ``tensor``; entry r receives rank r's
            tensor. Pass an empty list to have the tensors created (and appended).
        tensor: this rank's contribution (the same shape and dtype on every rank).

    Returns:
        ``tensor_list``.
    """
    arr = _array_of(tensor, "all_gather")
    size = get_world_size()
    gathered = np.empty((size,) + arr.shape, dtype=arr.dtype)
    all_gather_into_tensor(gathered, arr[None] if arr.ndim else arr.reshape(1))
    if len(tensor_list) == 0:
        tensor_list.extend(Tensor._make(gathered[r].copy()) for r in range(size))
        return tensor_list
    if len(tensor_list) != size:
        raise RuntimeError(f"all_gather: tensor_list must have world_size={size} entries, got "
                           f"{len(tensor_list)}")
    for r, t in enumerate(tensor_list):
        dst = _array_of(t, "all_gather")
        if dst.shape != arr.shape:
            raise RuntimeError(f"all_gather: tensor_list[{r}] has shape {dst.shape}, expected "
                               f"{arr.shape}")
        dst[...] = gathered[r]
        _bump(t)
    return tensor_list


def check_finite(*tensors, name="loss"):
    """Stop every rank together when any rank's tensors hold a NaN or an infinity.

    Call it on the loss each step (it costs one small collective): every rank gets the same
    ``FloatingPointError``, naming the ranks that went bad, instead of some ranks hanging in the
    next collective.

    Raises:
        FloatingPointError: on every rank, if any rank has a non-finite value.
    """
    ok = all(bool(np.isfinite(_array_of(t, "check_finite")).all()) for t in tensors)
    flags = np.array([0 if ok else 1], dtype=np.int32)
    gathered = np.empty(get_world_size(), dtype=np.int32)
    all_gather_into_tensor(gathered, flags)
    bad = np.flatnonzero(gathered).tolist()
    if bad:
        raise FloatingPointError(f"check_finite: {name} is not finite (NaN or inf) on rank(s) "
                                 f"{bad} of {get_world_size()}; stopping all ranks")


def scaled_batch_settings(per_rank_batch_size, base_lr=None, base_batch_size=None,
                          rule="linear"):
    """The effective (global) batch size of a data-parallel job, and a learning rate for it.

    Args:
        per_rank_batch_size: the DataLoader's ``batch_size`` on each rank.
        base_lr: a learning rate tuned for ``base_batch_size`` (default: the per-rank batch).
        base_batch_size: the batch size ``base_lr`` was tuned for.
        rule: ``"linear"`` (lr ∝ batch, Goyal et al.), ``"sqrt"`` or ``"none"``.

    Returns:
        ``{"world_size", "per_rank_batch_size", "global_batch_size", "lr"}`` (``lr`` is None when
        ``base_lr`` is).
    """
    size = get_world_size()
    global_batch = per_rank_batch_size * size
    base = base_batch_size or per_rank_batch_size
    factors = {"linear": global_batch / base, "sqrt": (global_batch / base) ** 0.5, "none": 1.0}
    if rule not in factors:
        raise ValueError(f"scaled_batch_settings: rule must be 'linear', 'sqrt' or 'none', "
                         f"got {rule!r}")
    return {"world_size": size, "per_rank_batch_size": per_rank_batch_size,
            "global_batch_size": global_batch,
            "lr": None if base_lr is None else base_lr * factors[rule]}


def abort(message=None, code=1):
    """Stop every rank of the job now (``MPI_Abort``), after printing ``message`` on stderr.

    Under MPI it does not return. Outside a multi-process job it only prints ``message``; the
    caller then exits as usual.
    Use it when an error was caught on one rank (the others would wait in their next
    collective forever).
    """
    if message:
        sys.stderr.write(message.rstrip("\n") + "\n")
        sys.stderr.flush()
    if _state.comm is not None:
        sys.stdout.flush()
        _let_launcher_forward_output()
        _state.comm.Abort(code)
        os._exit(code)          # MPI_Abort may return before the launcher kills this process


def _let_launcher_forward_output(seconds=0.25):
    """MPI_Abort makes the launcher kill every process at once, and output still in its pipes
    can be lost: wait a moment so that the message naming the failed rank gets through."""
    import time
    time.sleep(seconds)


def _install_excepthook():
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        try:
            previous(exc_type, exc, tb)
            sys.stderr.write(f"chainrule.distributed: rank {_state.rank} of {_state.size} failed "
                             f"with {exc_type.__name__}: {exc}; aborting all ranks\n")
            sys.stderr.flush()
            _let_launcher_forward_output()
        finally:
            _state.comm.Abort(1)

    sys.excepthook = hook
