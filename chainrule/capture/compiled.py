"""``chainrule.compile``: run a function's array work again without its Python.

An eager training step spends most of a small model's time in Python: building graph nodes,
checking arguments, promoting dtypes, looking up backward rules. ``compile(step)`` records the
NumPy calls one run of ``step`` makes (``tape.py``) and turns them into one generated Python
function of straight-line NumPy calls, which later calls run instead of ``step``:

1. the first call runs ``step`` eagerly (optimizers make their state, gradients appear);
2. the next calls run it while a tape records, until two records in a row agree: the same ops,
   constants, guards and effects. Records that differ mean the run depends on something the tape
   can't see, and after four that disagree the function stays eager, with a warning saying why;
3. from then on each call checks its guards (argument shapes and dtypes, the grad mode, the
   Python state of the modules and optimizers used, the tensors read still there) and replays
   the record. A guard that fails before the replay changed anything sends the call back to
   step 2; a value read during the replay that differs from the record's (``if loss > 0``)
   after it changed state raises.

What a replay does to the tensors the function touched is what the recorded run did: new
``.data`` and ``.grad`` arrays are bound, in-place changes happen in place, version counters
move on. Tensors it returns are new tensors without a graph (call ``backward`` inside the
function). Python side effects of the function (printing, appending to a list) happen only in
the runs that record.
"""
import builtins
import functools
import threading
import warnings

import numpy as np

from . import active
from .tape import Tape, Traced, _Stop, _plain, patch_numpy, undo_patch, _same_value
from ..autograd import grad_mode
from .. import random as _random
from ..tensor import Tensor

_RECORDS_BEFORE_GIVING_UP = 4
_MISSES_BEFORE_GIVING_UP = 8


def compile(fn=None, **options):
    """Compile ``fn`` (a function of Tensors: a training step, a forward pass) into a replay of
    its NumPy calls. Usable as ``compile(fn)`` or as the decorator ``@compile``; PyTorch's
    options (``mode``, ``fullgraph``, ``dynamic``, ``backend``) are accepted and ignored."""
    if fn is None:
        return lambda f: compile(f, **options)
    unknown = set(options) - {"mode", "fullgraph", "dynamic", "backend", "options", "disable"}
    if unknown:
        raise TypeError(f"compile: unexpected keyword argument {sorted(unknown)[0]!r}")
    if options.get("disable"):
        return fn
    return CompiledFunction(fn)


class CompiledFunction:
    """The callable ``compile`` returns. ``replays``: how many calls ran as a replay;
    ``eager_reason``: why it runs eagerly, if it does."""

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)
        self.eager_reason = None
        self.replay = None
        self.records = 0          # records made since the last replay ran
        self.misses = 0
        self.replays = 0
        self._calls = 0
        self._last = None         # the latest record, to compare with the next

    def __call__(self, *args, **kwargs):
        if self.eager_reason is not None or active.tape is not None:
            return self.fn(*args, **kwargs)      # (inside a recording: part of that one)
        self._calls += 1
        leaves, tree = _flatten((args, kwargs))
        if self.replay is not None:
            result = self.replay.run(leaves, tree)
            if result is not _MISS:
                self.replays += 1
                return result
            self.replay, self._last = None, None
            self.misses += 1
            if self.misses > _MISSES_BEFORE_GIVING_UP:
                self._give_up(f"its guards failed {self.misses} times (the shapes, dtypes or "
                              "Python state it depends on keep changing)")
                return self.fn(*args, **kwargs)
        if self._calls == 1:
            return self.fn(*args, **kwargs)
        record = _Recording(leaves, tree)
        result = record.run(self.fn, args, kwargs)
        if record.error is not None:
            self._give_up(str(record.error))
            return result
        self.records += 1
        difference = None if self._last is None else self._last.difference(record)
        if self._last is not None and difference is None:
            self.replay, self.records, self._last = Replay(record), 0, None
        elif self.records >= _RECORDS_BEFORE_GIVING_UP:
            self._give_up(f"its recorded runs differ ({difference})")
        else:
            self._last = record
        return result

    def __getattr__(self, name):
        # compile(model): the compiled module still answers model.parameters() and the like
        if name == "fn":
            raise AttributeError(name)
        return getattr(self.fn, name)

    def _give_up(self, reason):
        self.eager_reason = reason
        self.replay = self._last = None
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        warnings.warn(f"chainrule.compile: {name} runs eagerly: {reason}", RuntimeWarning,
                      stacklevel=3)


# ---- arguments: nested tuples, lists and dicts of Tensors and plain values ----

def _flatten(obj):
    """(leaves, tree): the Tensors and other leaves of ``obj``, and its structure with the
    Tensors' shapes, dtypes and requires_grad flags (the guard on the arguments)."""
    leaves = []

    def walk(o):
        if isinstance(o, Tensor):
            leaves.append(o)
            data = o.data
            return ("T", type(data), data.shape, data.dtype, o._requires_grad)
        if type(o) in (tuple, list):
            return (type(o), tuple(walk(x) for x in o))
        if type(o) is dict:
            return (dict, tuple((k, walk(v)) for k, v in o.items()))
        leaves.append(o)
        try:
            hash(o)
        except TypeError:
            return ("id", id(o))
        return ("V", type(o), o)
    return leaves, walk(obj)


# ---- recording: the tape plus what Tensors the run read and changed ----

class _TensorHooks:
    """While a run records, ``Tensor.data`` and ``Tensor.grad`` go through the recording: reads
    of tensors the run didn't make become tape inputs, writes become Traced arrays."""

    def __init__(self, recording):
        self.data_slot = Tensor.__dict__["data"]
        self.grad_slot = Tensor.__dict__["grad"]
        rec = recording
        data_slot, grad_slot = self.data_slot, self.grad_slot
        thread = recording.tape.thread

        def recording_here():        # other threads' tensors are left alone
            return active.tape is not None and threading.get_ident() == thread

        class Data:
            def __get__(self, t, owner=None):
                if t is None:
                    return data_slot
                value = data_slot.__get__(t, owner)
                if value.__class__ is Traced or not recording_here():
                    return value
                return rec.read_data(t, value)

            def __set__(self, t, value):
                if recording_here():
                    value = rec.write_data(t, value)
                data_slot.__set__(t, value)

        class Grad:
            def __get__(self, t, owner=None):
                if t is None:
                    return grad_slot
                value = grad_slot.__get__(t, owner)
                if value is not None and recording_here():
                    rec.read_grad(t, value)
                return value

            def __set__(self, t, value):
                if recording_here():
                    rec.touch(t)
                grad_slot.__set__(t, value)

        self.hooks = Data(), Grad()

    def install(self):
        Tensor.data, Tensor.grad = self.hooks

    def remove(self):
        Tensor.data, Tensor.grad = self.data_slot, self.grad_slot


class _RngHook:
    """While a run records, chainrule Generators hand out a recording stand-in for their NumPy
    generator: each draw is an op that draws again on replay."""

    def install(self):
        def get(gen):
            return _RecordingRng(gen)

        def set_(gen, value):
            gen.__dict__["rng"] = value
        _random.Generator.rng = property(get, set_)

    def remove(self):
        if isinstance(_random.Generator.__dict__.get("rng"), property):
            del _random.Generator.rng


class _Draw:
    """A recorded draw: ``generator.rng.<name>(...)`` on the generator's current NumPy rng."""

    def __init__(self, gen, name):
        self.gen, self.name = gen, name

    def __eq__(self, other):
        return type(other) is _Draw and other.gen is self.gen and other.name == self.name

    def __hash__(self):
        return hash((id(self.gen), self.name))

    def __call__(self, *args, **kwargs):
        return getattr(self.gen.__dict__["rng"], self.name)(*args, **kwargs)

    __qualname__ = "Generator draw"


class _RecordingRng:
    """What ``generator.rng`` is while a run records: its draws are tape ops."""

    def __init__(self, gen):
        self._gen = gen

    def __getattr__(self, name):
        attr = getattr(self._gen.__dict__["rng"], name)
        if not callable(attr) or name.startswith("_"):
            return attr
        draw = _Draw(self._gen, name)

        def call(*args, **kwargs):
            tape = active.tape
            if tape is None:
                return attr(*args, **kwargs)
            return tape.call(draw, draw, args, kwargs, pure=False)
        return call


class _Recording:
    """One recorded run of the function: its tape, the tensors it read and changed, its result."""

    def __init__(self, leaves, tree):
        self.tape = Tape()
        self.leaves, self.tree = leaves, tree
        self.arg_of = {id(t): i for i, t in enumerate(leaves) if isinstance(t, Tensor)}
        self.roots = []           # tensors the run didn't make and didn't get as arguments
        self.root_of = {}         # id(tensor) -> key: ("arg", i) | ("root", r) | key + ("grad",)
        # id(tensor) -> (tensor, data, grad, version, requires_grad, grad_fn) as first touched
        self.first = {}
        self.inputs = {}          # id(input Traced array) -> the array it stands for
        self.made = set()         # ids of tensors made during the run
        self._made = []           # ... kept alive while recording
        self.error = None

    # ---- the hooks' side ----
    def key(self, t):
        k = self.root_of.get(id(t))
        if k is None:
            i = self.arg_of.get(id(t))
            if i is not None:
                k = ("arg", i)
            else:
                k = ("root", len(self.roots))
                self.roots.append(t)
            self.root_of[id(t)] = k
        return k

    def touch(self, t):
        """Note ``t`` as the run first found it (unless the run made it)."""
        if id(t) in self.made or id(t) in self.first:
            return
        try:
            data = self.hooks.data_slot.__get__(t)
        except AttributeError:             # a tensor being made: its data isn't set yet
            self.made.add(id(t))
            self._made.append(t)
            return
        grad = self.hooks.grad_slot.__get__(t)
        self.key(t)
        self.first[id(t)] = (t, data, grad, t._version[0], t._requires_grad, t.grad_fn)

    def read_data(self, t, value):
        self.touch(t)
        if id(t) in self.made:
            return self.adopt(value)
        if not isinstance(value, np.ndarray):
            return self._stop("only NumPy arrays can be captured, got "
                              f"{type(value).__name__} (CuPy arrays run eagerly)", value)
        traced = self.tape.input(value, self.key(t))
        self.inputs[id(traced)] = value
        self.hooks.data_slot.__set__(t, traced)
        return traced

    def write_data(self, t, value):
        self.touch(t)
        if value.__class__ is Traced:
            return value
        return self.adopt(value)

    def adopt(self, value):
        if not isinstance(value, np.ndarray):
            return self._stop(f"a tensor got a {type(value).__name__} as its data; only NumPy "
                              "arrays can be captured", value)
        try:
            return self.tape.adopt(value)
        except _Stop:
            return value

    def read_grad(self, t, grad):
        self.touch(t)
        if id(t) in self.made or id(grad) in self.made or id(grad) in self.root_of:
            return
        self.root_of[id(grad)] = self.key(t) + ("grad",)
        self.touch(grad)

    def _stop(self, message, value):
        try:
            self.tape.fail(message)
        except _Stop:
            pass
        return value

    # ---- running ----
    def run(self, fn, args, kwargs):
        from ..backends import threads
        tape = self.tape
        self.hooks = _TensorHooks(self)
        rng = _RngHook()
        serial = threads.serial
        self.grad_enabled = grad_mode._state.enabled
        self.anomaly = grad_mode._state.anomaly
        self.hooks.install()
        rng.install()
        patch_numpy()
        threads.serial = True
        active.tape = tape
        try:
            result = fn(*args, **kwargs)
            if active.tape is tape:
                try:
                    self._finish(result)
                except _Stop:
                    pass
        finally:
            active.tape = None
            threads.serial = serial
            undo_patch()
            rng.remove()
            self.hooks.remove()
            self._untrace()
            tape.release()
            self.first = self.inputs = None
        self.error = tape.error
        return result

    def _untrace(self):
        """Give every tensor the run touched a plain array again (the very array it had, where
        the run didn't rebind it)."""
        data_slot = self.hooks.data_slot
        for t in [entry[0] for entry in self.first.values()] + self._made:
            try:
                value = data_slot.__get__(t)
            except AttributeError:
                continue
            if value.__class__ is Traced:
                original = self.inputs.get(id(value))
                data_slot.__set__(t, original if original is not None else _plain(value))
        self._made = []

    def _finish(self, result):
        """What the run left behind: effects on the tensors it touched, and its result."""
        tape, data_slot, grad_slot = self.tape, self.hooks.data_slot, self.hooks.grad_slot
        self.effects = []
        boxes = {}
        for t, data, grad, version, requires_grad, grad_fn in self.first.values():
            key = self.root_of[id(t)]
            now = data_slot.__get__(t)
            if now is not data and self.inputs.get(id(now)) is not data:    # rebound
                self.effects.append(("data", key, self._slot(now)))
            new_grad = grad_slot.__get__(t)
            if new_grad is not grad:
                if new_grad is None:
                    self.effects.append(("grad_none", key))
                elif id(new_grad) in self.made:
                    self.effects.append(("grad", key, self._slot(data_slot.__get__(new_grad))))
                else:
                    tape.fail("a tensor's .grad was set to another tensor the function "
                              "didn't make")
            if t._requires_grad != requires_grad or t.grad_fn is not grad_fn:
                tape.fail("the function changes requires_grad or grad_fn of a tensor it "
                          "didn't make")
            boxes.setdefault(id(t._version), (key, t._version, version))
        for key, box, version in boxes.values():
            if box[0] != version:
                self.effects.append(("version", key, box[0] - version))
        out_leaves, self.out_tree = _flatten(result)
        self.outputs = []
        for leaf in out_leaves:
            if isinstance(leaf, Tensor):
                if id(leaf) in self.made:
                    self.outputs.append(("slot", self._slot(data_slot.__get__(leaf))))
                else:
                    self.outputs.append(("tensor", self.key(leaf)))
            else:
                self.outputs.append(("value", leaf))
        self.watched = [(obj, snap, value) for obj, snap, value in tape.watched]

    def _slot(self, array):
        k = self.tape.slot_of.get(id(array))
        if k is None:
            self.tape.fail("the function left a tensor holding an array the tape didn't see "
                           "made")
        return k

    # ---- comparing two records ----
    def difference(self, other):
        """None when ``other`` recorded the same run, else what differs (for the warning)."""
        a, b = self.tape, other.tape
        if self.tree != other.tree:
            return "the arguments' shapes, dtypes or values"
        if len(a.ops) != len(b.ops):
            return f"{len(a.ops)} NumPy calls, then {len(b.ops)}"
        for i, (x, y) in enumerate(zip(a.ops, b.ops)):
            if not x.same(y):
                what = "the value read" if x.kind == "guard" else "the call"
                return f"NumPy call {i} ({x.describe()}): {what} differs"
        if len(a.origin) != len(b.origin):
            return "the arrays made"
        for x, y in zip(a.origin, b.origin):
            if x[0] != y[0]:
                return "where an array came from"
            if x[0] == "const" and not _same_array(x[1], y[1]):
                return ("an array made outside the tape (from NumPy's own random generator, "
                        "or from a value the tape can't follow) changed between runs")
            if x[0] != "const" and x[1:] != y[1:]:
                return "where an array came from"
        if len(self.roots) != len(other.roots) or \
                any(x is not y for x, y in zip(self.roots, other.roots)):
            return "the tensors it reads (a new tensor object each call, e.g. a new state tensor)"
        if self.effects != other.effects:
            return "what it does to the tensors it touches"
        if len(self.outputs) != len(other.outputs) or self.out_tree != other.out_tree or \
                any(x[0] != y[0] or not _same_value(x[1], y[1])
                    for x, y in zip(self.outputs, other.outputs)):
            return "what it returns (a Python number each call, e.g. loss.item())"
        if [(id(o), v) for o, _, v in self.watched] != [(id(o), v) for o, _, v in other.watched]:
            return "the Python state of a module or optimizer it uses"
        return None


def _same_array(x, y):
    return (x.shape == y.shape and x.dtype == y.dtype and
            np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))


# ---- replaying: the record as one generated function ----

_MISS = object()


class _Names:
    """The generated function's global names: its functions, constants and literals."""

    def __init__(self):
        self.namespace = {}
        self._ids = {}

    def add(self, prefix, value):
        k = self._ids.get((prefix, id(value)))
        if k is None:
            k = self._ids[(prefix, id(value))] = f"{prefix}{len(self._ids)}"
            self.namespace[k] = value
        return k

    def literal(self, value):
        if value is None or type(value) in (bool, int, str) or \
                (type(value) is float and value == value and abs(value) != float("inf")):
            return repr(value)
        return self.add("l", value)


class GuardChanged(RuntimeError):
    """A compiled function read a value during a replay that differs from its record's, after the
    replay had already changed state."""


class Replay:
    """The record of a run as a generated function, with the guards around it."""

    def __init__(self, record):
        self.tree = record.tree
        self.grad_enabled, self.anomaly = record.grad_enabled, record.anomaly
        self.roots = record.roots
        self.watched = record.watched
        self.make = Tensor._make
        self.out_tree = record.out_tree
        self.outputs = record.outputs
        self.code, namespace = _generate(record)
        self.run_ops = _compile_source(self.code, namespace)

    def run(self, leaves, tree):
        if tree != self.tree or grad_mode._state.enabled != self.grad_enabled or \
                grad_mode._state.anomaly != self.anomaly:
            return _MISS
        for obj, snapshot, value in self.watched:
            if snapshot(obj) != value:
                return _MISS
        arrays = self.run_ops(leaves, self.roots)
        if arrays is _MISS:
            return _MISS
        make = self.make
        out = []
        for (kind, value), array in zip(self.outputs, arrays):
            if kind == "slot":
                out.append(make(array))
            elif kind == "tensor":
                out.append(_resolve(value, leaves, self.roots))
            else:
                out.append(value)
        return _unflatten(self.out_tree, iter(out))


def _resolve(key, leaves, roots):
    obj = leaves[key[1]] if key[0] == "arg" else roots[key[1]]
    for _ in key[2:]:
        obj = obj.grad
    return obj


def _unflatten(tree, leaves):
    if tree[0] in ("T", "V", "id"):
        return next(leaves)
    kind, items = tree
    if kind is dict:
        return {k: _unflatten(v, leaves) for k, v in items}
    return kind(_unflatten(v, leaves) for v in items)


def _key_code(key):
    base = f"leaves[{key[1]}]" if key[0] == "arg" else f"roots[{key[1]}]"
    return base + ".grad" * (len(key) - 2)


def _leaving(record):
    """The slots whose arrays leave the replay: bound to a tensor, or returned."""
    return ({e[2] for e in record.effects if e[0] in ("data", "grad")} |
            {value for kind, value in record.outputs if kind == "slot"})


def _live_ops(record):
    """The ops a replay must run: every op that may write, every guard, and the pure ops whose
    results something needs (dead-code elimination, last op first)."""
    tape = record.tape
    live = _leaving(record)
    keep = [False] * len(tape.ops)
    for i in range(len(tape.ops) - 1, -1, -1):
        op = tape.ops[i]
        if not op.pure or op.kind == "guard" or any(k in live for k in op.outs or ()):
            keep[i] = True
            live.update(op.reads())
    return keep, live


def _generate(record):
    tape = record.tape
    names = _Names()
    keep, live = _live_ops(record)
    # constants whose arrays leave the replay are copied, so that one replay's results are not
    # the next one's
    escaping = {tape.root[k] for k in _leaving(record)}
    lines = ["def replay(leaves, roots):"]
    # inputs, with their shapes and dtypes checked (the arguments' own were, in Replay.run)
    for k, origin in enumerate(tape.origin):
        if origin[0] == "input" and k in live:
            key, shape, dtype = origin[1:]
            source = _key_code(key)
            if len(key) > 2:
                lines.append(f"    g = {source}")
                lines.append("    if g is None: return MISS")
                source = "g"
            lines.append(f"    s{k} = {source}.data")
            if key[0] != "arg" or len(key) > 2:
                lines.append(f"    if s{k}.__class__ is not ndarray or s{k}.shape != "
                             f"{tuple(shape)!r} or s{k}.dtype != {names.add('d', dtype)}:"
                             " return MISS")
        elif origin[0] == "const" and k in live:
            copy = tape.root[k] in tape.written or tape.root[k] in escaping
            lines.append(f"    s{k} = {names.add('c', origin[1])}{'.copy()' if copy else ''}")
    changed = False         # whether the replay has changed state yet
    for i, op in enumerate(tape.ops):
        if not keep[i]:
            continue
        call = f"{names.add('f', op.fn)}({_arguments(op, names)})"
        if op.kind == "guard":
            value = names.add("v", op.value)
            fail = f"raise_changed({i})" if changed else "return MISS"
            lines.append(f"    if not same({call}, {value}): {fail}")
            continue
        if op.scalar_out:
            call = f"asarray0({call})"
        if op.outs and all(tape.origin[k] != ("op", i) for k in op.outs):
            lines.append(f"    {call}")         # out=: writes into an existing slot
        elif op.outs:
            targets = ", ".join(f"s{k}" for k in op.outs)
            lines.append(f"    {targets}{',' if op.multi and len(op.outs) == 1 else ''} = {call}")
        else:
            lines.append(f"    {call}")
        if not op.pure and not changed:
            changed = isinstance(op.fn, _Draw) or any(
                tape.origin[tape.root[k]][0] == "input" for k in op.reads())
    for effect in record.effects:
        target = _key_code(effect[1])
        if effect[0] == "data":
            lines.append(f"    {target}.data = s{effect[2]}")
        elif effect[0] == "grad":
            lines.append(f"    {target}.grad = make(s{effect[2]})")
        elif effect[0] == "grad_none":
            lines.append(f"    {target}.grad = None")
        else:
            lines.append(f"    {target}._version[0] += {effect[2]}")
    outs = [f"s{v}" if kind == "slot" else "None" for kind, v in record.outputs]
    lines.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
    names.namespace.update(MISS=_MISS, ndarray=np.ndarray, same=_same_value, make=Tensor._make,
                           asarray0=np.asarray, raise_changed=_raise_changed)
    return "\n".join(lines) + "\n", names.namespace


def _arguments(op, names):
    parts = [item.code(names) for item in op.args.items]
    parts += [f"{name}={pattern.code(names)}" for name, pattern in op.kwargs.items()]
    return ", ".join(parts)


def _raise_changed(i):
    raise GuardChanged(
        f"chainrule.compile: a value the compiled function read (NumPy call {i}) differs from "
        "its recorded run's, and the replay had already changed state (in-place updates); the "
        "function's Python control flow depends on tensor values. Run it uncompiled.")


def _compile_source(source, namespace):
    exec(builtins.compile(source, "<chainrule.compile replay>", "exec"), namespace)
    return namespace["replay"]
