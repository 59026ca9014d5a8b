"""The array tape: the NumPy calls one run of a function makes, written down to be run again.

While a ``Tape`` records, the arrays of the run are ``Traced`` arrays, an ndarray subclass whose
NumPy calls (ufuncs, NumPy functions, and the ndarray methods and properties that make or change
arrays) go through the tape. Each call runs for real, on plain views of its arrays, and the tape
writes down the function and its arguments with every array replaced by a numbered *slot*:

    s7 = np.matmul(s3, s5)          # an op: function, argument pattern, output slots

A slot is filled by an op, by an input (a path such as "argument 0's data" or "this parameter's
grad's data", read anew on each replay), or by a constant the run made outside the tape
(``np.zeros(shape)`` inside a backward rule), kept with the value it had when the tape first saw
it. Python reads of a traced value (``bool(a)``, ``a.item()``, ``float(a)``) are *guards*: the
value is recorded, and a replay that computes a different one stops (see ``compiled.py``).

What the tape cannot see: arithmetic on values it never handed out (an array copied out through
the buffer protocol, NumPy's global random generator). The compiled function records its
function twice and refuses to replay when the two records differ (``compiled.py``), which is
how such a leak shows up instead of giving wrong numbers.
"""
import operator
import threading

import numpy as np

from . import active


class CaptureError(RuntimeError):
    """The function did something a tape cannot record (named in the message)."""


# ---- argument patterns: an op's arguments with arrays replaced by references ----

class Slot:
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return type(other) is Slot and other.k == self.k

    def code(self, names):
        return f"s{self.k}"


class Lit:
    """A value written into the op as it was (a number, a dtype, an axis tuple, a slice)."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return type(other) is Lit and _same_value(self.value, other.value)

    def code(self, names):
        return names.literal(self.value)


class Seq:
    __slots__ = ("kind", "items")

    def __init__(self, kind, items):
        self.kind, self.items = kind, items

    def __eq__(self, other):
        return type(other) is Seq and other.kind is self.kind and other.items == self.items

    def code(self, names):
        inner = ", ".join(item.code(names) for item in self.items)
        if self.kind is tuple:
            return f"({inner},)" if len(self.items) == 1 else f"({inner})"
        return f"[{inner}]"


def _same_value(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, np.floating)) and a != a:
        return b != b                      # NaN literals are the same literal
    try:
        return bool(a == b)
    except Exception:
        return a is b


def _slots_in(pattern, found):
    if type(pattern) is Slot:
        found.append(pattern.k)
    elif type(pattern) is Seq:
        for item in pattern.items:
            _slots_in(item, found)
    elif type(pattern) is dict:
        for item in pattern.values():
            _slots_in(item, found)
    return found


# ---- what an op is ----

class Op:
    """One recorded call. ``kind``: "call" (``outs`` are the slots it fills, None where the
    result is not kept), "guard" (``value`` is what the call returned at capture)."""
    __slots__ = ("fn", "key", "args", "kwargs", "outs", "kind", "value", "pure", "scalar_out",
                 "multi")

    def __init__(self, fn, key, args, kwargs, pure):
        self.fn, self.key, self.args, self.kwargs, self.pure = fn, key, args, kwargs, pure
        self.outs, self.kind, self.value = None, "call", None
        self.scalar_out = self.multi = False

    def reads(self):
        return _slots_in(self.args, _slots_in(self.kwargs, []))

    def same(self, other):
        return (self.key == other.key and self.kind == other.kind and self.outs == other.outs
                and self.args == other.args and self.kwargs == other.kwargs
                and self.scalar_out == other.scalar_out and self.multi == other.multi
                and (self.kind != "guard" or _same_value(self.value, other.value)))

    def describe(self):
        name = getattr(self.key, "__qualname__", None) or getattr(self.key, "__name__", None)
        if isinstance(self.key, tuple):
            name = f"{self.key[0].__name__}.{self.key[1]}"
        return name or repr(self.key)


# NumPy functions and ndarray methods that write into none of their arguments (unless given
# ``out=``); every other call is taken to possibly write into every array it is handed.
_PURE_METHODS = {"reshape", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "view",
                 "astype", "copy", "diagonal", "repeat", "take", "compress", "clip", "conj",
                 "conjugate", "round", "cumsum", "cumprod", "sum", "mean", "prod", "max", "min",
                 "argmax", "argmin", "any", "all", "std", "var", "argsort", "argpartition",
                 "nonzero", "searchsorted", "trace", "dot", "__getitem__", "__copy__",
                 "__deepcopy__", "T", "mT", "real", "imag"}
_WRITING_METHODS = {"__setitem__", "fill", "sort", "put", "partition", "resize", "byteswap",
                    "setfield", "itemset"}
_VALUE_METHODS = {"item", "tolist", "tobytes", "__bool__", "__float__", "__int__", "__index__",
                  "__complex__", "__contains__", "__repr__", "__str__", "__format__"}
_PURE_FUNCTIONS = {np.sum, np.mean, np.max, np.min, np.amax, np.amin, np.prod, np.any, np.all,
                   np.where, np.concatenate, np.stack, np.broadcast_to, np.expand_dims,
                   np.squeeze, np.reshape, np.transpose, np.swapaxes, np.moveaxis, np.ravel,
                   np.zeros_like, np.ones_like, np.empty_like, np.full_like, np.dot, np.tensordot,
                   np.einsum, np.outer, np.copy, np.clip, np.argmax, np.argmin, np.take,
                   np.take_along_axis, np.cumsum, np.diff, np.pad, np.tile, np.repeat,
                   np.flip, np.sort, np.argsort, np.tril, np.triu, np.diagonal, np.trace,
                   np.linalg.norm, np.isclose, np.atleast_1d, np.atleast_2d, np.atleast_3d,
                   np.broadcast_arrays, np.split, np.array_split, np.count_nonzero,
                   np.nan_to_num, np.round, np.var, np.std}
# Answers that depend only on shapes and dtypes: not recorded at all.
_META_FUNCTIONS = {np.shape, np.ndim, np.size, np.result_type, np.may_share_memory,
                   np.shares_memory, np.iscomplexobj, np.isrealobj, np.min_scalar_type,
                   np.can_cast, np.broadcast_shapes}


def _strided_view(base, offset, shape, strides, dtype):
    """The view of ``base``'s memory that a plain array made outside the tape turned out to be."""
    return np.ndarray(shape, dtype, buffer=base, offset=offset, strides=strides)


# the ndarray properties that make arrays, each recorded as one stable function of the array
_PROPERTY_FUNCTIONS = {name: operator.attrgetter(name) for name in ("T", "mT", "real", "imag")}


def _plain(a):
    """The ndarray view of a Traced array (no tape involved)."""
    return np.ndarray.view(a, np.ndarray)


class Tape:
    """The ops of one recorded run, and where each slot's array comes from."""

    def __init__(self):
        self.ops = []
        self.arrays = []          # slot -> its Traced array (kept alive while recording)
        self.slot_of = {}         # id(Traced array or adopted plain array) -> slot
        # slot -> ("op", i) | ("input", key, shape, dtype) | ("const", value when first seen)
        self.origin = []
        self.root = []            # slot -> the slot whose memory it lies in
        self.written = set()      # root slots some op may write into
        self.thread = threading.get_ident()
        self.error = None         # the first CaptureError: why recording stopped
        self.watched = []         # (object, snapshot function, snapshot), see watch
        self._watched_ids = set()
        self._keep = []           # plain arrays adopted as constants, kept alive

    # ---- slots ----
    def _new_slot(self, plain, origin, root=None):
        k = len(self.arrays)
        traced = np.ndarray.view(plain, Traced)
        self.arrays.append(traced)
        self.slot_of[id(traced)] = k
        self.origin.append(origin)
        self.root.append(k if root is None else root)
        return traced, k

    def input(self, array, key):
        """A Traced view of ``array``, read from ``key`` (see compiled.py) at replay, where its
        shape and dtype are checked."""
        return self._new_slot(_plain(array) if isinstance(array, Traced) else array,
                              ("input", key, array.shape, array.dtype))[0]

    def release(self):
        """Drop the run's arrays once it is over (what is kept: ops, origins, constants)."""
        self.arrays = self.slot_of = self._keep = None

    def adopt(self, array):
        """The Traced array standing for ``array``, a plain array made outside the tape."""
        return self.arrays[self._slot_of_plain(array)]

    def _slot_of_plain(self, array):
        k = self.slot_of.get(id(array))
        if k is not None:
            return k
        view = self._as_view(array)
        if view is not None:
            return view
        snapshot = array.copy()
        self._keep.append(array)
        _, k = self._new_slot(array, ("const", snapshot))
        self.slot_of[id(array)] = k
        return k

    def _as_view(self, array):
        """A plain array lying in a slot's memory (a view taken outside the tape): a slot made
        from that slot by ``_strided_view``, or None if it lies in no slot's memory."""
        base = array.base
        while base is not None:
            k = self.slot_of.get(id(base))
            if k is not None:
                source = self.arrays[k]
                start = array.__array_interface__["data"][0] - \
                    _plain(source).__array_interface__["data"][0]
                if not source.flags.c_contiguous:
                    self.fail("a view taken outside the tape of a non-contiguous array can't "
                              "be captured")
                op = Op(_strided_view, _strided_view,
                        Seq(tuple, [Slot(k), Lit(start), Lit(array.shape), Lit(array.strides),
                                    Lit(array.dtype)]), {}, pure=True)
                _, out = self._new_slot(array, ("op", len(self.ops)), self.root[k])
                op.outs = (out,)
                self.ops.append(op)
                self.slot_of[id(array)] = out
                return out
            base = getattr(base, "base", None)
        return None

    # ---- patterns ----
    def _pattern(self, obj, plains):
        """(plain object, pattern): ``obj`` with Traced arrays as plain views (collected in
        ``plains``, id -> Traced) and as Slot references in the pattern."""
        if isinstance(obj, np.ndarray):
            if isinstance(obj, Traced):
                k = self.slot_of.get(id(obj))
                if k is None:
                    self.fail("an array made by an operation the tape doesn't see was used (an "
                              "ndarray method without a tape entry)")
                plain = _plain(obj)
            else:
                k, plain = self._slot_of_plain(obj), obj
            plains[id(plain)] = self.arrays[k]
            return plain, Slot(k)
        kind = type(obj)
        if kind is tuple or kind is list:
            if not obj:
                return obj, Lit(obj)
            pairs = [self._pattern(item, plains) for item in obj]
            if all(type(p) is Lit for _, p in pairs):
                return obj, Lit(obj)
            return kind(p for p, _ in pairs), Seq(kind, [p for _, p in pairs])
        if kind is slice and any(isinstance(v, np.ndarray) for v in (obj.start, obj.stop,
                                                                       obj.step)):
            self.fail("slicing with array bounds can't be captured")
        return obj, Lit(obj)

    # ---- recording ----
    def call(self, fn, key, args, kwargs, pure=False):
        """Run ``fn(*args, **kwargs)`` on plain arrays and record it; the result's arrays come
        back as Traced arrays."""
        if fn in _META_FUNCTIONS:
            return _untraced(fn, args, kwargs)
        plains = {}
        try:
            if threading.get_ident() != self.thread:
                self.fail("an array of the captured run was used from another thread")
            plain_args, arg_pattern = self._pattern(tuple(args), plains)
            if type(arg_pattern) is Lit:
                arg_pattern = Seq(tuple, [Lit(a) for a in args])
            plain_kwargs, kw_pattern = {}, {}
            for name, value in kwargs.items():
                plain_kwargs[name], kw_pattern[name] = self._pattern(value, plains)
        except _Stop:
            return _untraced(fn, args, kwargs)
        result = fn(*plain_args, **plain_kwargs)
        if "out" in kwargs:
            pure = False
        if not pure:
            for traced in plains.values():
                self.written.add(self.root[self.slot_of[id(traced)]])
        op = Op(fn, key, arg_pattern, kw_pattern, pure)
        index = len(self.ops)
        self.ops.append(op)
        if result is None:
            return None
        if isinstance(result, (np.ndarray, np.generic)):
            op.scalar_out = isinstance(result, np.generic)
            out, k = self._result(result, plains, index)
            op.outs = (k,)
            return out
        if type(result) is tuple and result and all(isinstance(r, np.ndarray) for r in result):
            outs = [self._result(r, plains, index) for r in result]
            op.multi = True
            op.outs = tuple(k for _, k in outs)
            return tuple(o for o, _ in outs)
        op.kind, op.value = "guard", result
        return result

    def _result(self, result, plains, index):
        if isinstance(result, np.generic):
            result = np.asarray(result)
        same = plains.get(id(result))
        if same is not None:                      # out=: the array written into
            return same, self.slot_of[id(same)]
        root = None
        for traced in plains.values():
            if np.may_share_memory(result, _plain(traced)):
                root = self.root[self.slot_of[id(traced)]]
                break
        out, k = self._new_slot(result, ("op", index), root)
        return out, k

    def watch(self, obj, snapshot):
        """Python state the ops depend on (a module's flags, an optimizer's learning rate):
        ``snapshot(obj)`` is taken now and compared before each replay."""
        if id(obj) not in self._watched_ids:
            self._watched_ids.add(id(obj))
            self.watched.append((obj, snapshot, snapshot(obj)))

    def fail(self, message):
        """Stop recording: the run goes on as plain NumPy, and the compiled function runs
        eagerly from then on (it reports ``message``)."""
        if self.error is None:
            self.error = CaptureError(message)
        active.tape = None
        raise _Stop()


class _Stop(Exception):
    """Raised inside the tape when recording stops; the call in progress runs untraced."""


def _plain_tree(obj):
    if isinstance(obj, Traced):
        return _plain(obj)
    if type(obj) in (tuple, list):
        return type(obj)(_plain_tree(o) for o in obj)
    return obj


def _untraced(fn, args, kwargs):
    """A call on Traced arrays while no tape records (they outlived their run): plain NumPy."""
    return fn(*_plain_tree(args), **{k: _plain_tree(v) for k, v in kwargs.items()})


class Traced(np.ndarray):
    """An array of a run being recorded: its NumPy calls go through the active tape."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tape = active.tape
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        if tape is None:
            return _untraced(fn, inputs, kwargs)
        return tape.call(fn, (ufunc, method), inputs, kwargs, pure=method != "at")

    def __array_function__(self, func, types, args, kwargs):
        tape = active.tape
        if tape is None:
            return _untraced(func, args, kwargs)
        return tape.call(func, func, args, kwargs, pure=func in _PURE_FUNCTIONS)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def __array_interface__(self):
        if active.tape is not None:
            try:
                active.tape.fail("an op read an array's memory address (__array_interface__, "
                                 "as np.lib.stride_tricks.as_strided does); it can't be "
                                 "captured")
            except _Stop:
                pass
        return _plain(self).__array_interface__


def _method(name):
    real = getattr(np.ndarray, name)
    pure = name in _PURE_METHODS

    def method(self, *args, **kwargs):
        tape = active.tape
        if tape is None:
            return _untraced(real, (self,) + args, kwargs)
        return tape.call(real, real, (self,) + args, kwargs, pure=pure)
    method.__name__ = name
    return method


def _property(name):
    fn = _PROPERTY_FUNCTIONS[name]

    def get(self):
        tape = active.tape
        if tape is None:
            return fn(_plain(self))
        return tape.call(fn, fn, (self,), {}, pure=True)
    return property(get)


for _name in sorted((_PURE_METHODS | _WRITING_METHODS | _VALUE_METHODS) - set(_PROPERTY_FUNCTIONS)):
    if hasattr(np.ndarray, _name):
        setattr(Traced, _name, _method(_name))
for _name in _PROPERTY_FUNCTIONS:
    setattr(Traced, _name, _property(_name))
Traced.__round__ = Traced.round
del _name


# ---- NumPy functions that would hand out a plain array without asking the tape ----

def _holds_traced(obj):
    if isinstance(obj, Traced):
        return True
    return type(obj) in (tuple, list) and any(isinstance(o, Traced) for o in obj)


def _routed(real, records):
    """``real`` (a NumPy function) recorded on the tape while one records and
    ``records(tape, args)`` says so; plain ``real`` otherwise."""
    def routed(*args, **kwargs):
        tape = active.tape
        if tape is not None and records(tape, args):
            return tape.call(real, real, args, kwargs, pure=True)
        return real(*args, **kwargs)
    routed.__name__ = real.__name__
    routed._real = real
    return routed


def _converts_traced(tape, args):
    """np.asarray(traced) and the like: they would hand out a plain view of a Traced array."""
    return bool(args) and _holds_traced(args[0])


def _on_tape_thread(tape, args):
    """np.empty(shape) and the like, on the recording thread: so that a buffer an op makes and
    then fills (``out = np.empty(shape); out[...] = x``) is a Traced array, made anew on
    replay. (Other threads, a DataLoader's, make their arrays as usual.)"""
    return threading.get_ident() == tape.thread


_CONVERTERS = ("asarray", "ascontiguousarray", "asfortranarray", "array", "asanyarray")
_CREATORS = ("empty", "zeros", "ones", "full", "eye", "identity", "arange", "linspace",
             "empty_like", "zeros_like", "ones_like", "full_like")


def patch_numpy():
    """Route NumPy's array constructors through the tape while it records (undo_patch undoes)."""
    for name in _CONVERTERS:
        setattr(np, name, _routed(getattr(np, name), _converts_traced))
    for name in _CREATORS:
        setattr(np, name, _routed(getattr(np, name), _on_tape_thread))
    tricks = np.lib.stride_tricks
    tricks.as_strided = _routed(tricks.as_strided, _converts_traced)


def undo_patch():
    for name in _CONVERTERS + _CREATORS:
        fn = getattr(np, name)
        setattr(np, name, getattr(fn, "_real", fn))
    tricks = np.lib.stride_tricks
    tricks.as_strided = getattr(tricks.as_strided, "_real", tricks.as_strided)
