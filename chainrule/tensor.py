"""Tensor: an n-dimensional array with a place in the autograd graph.

This file holds the data model only: construction, properties, conversion, devices, in-place
mechanics and the Python operators. Every bit of math is delegated to ``chainrule.ops``; the op
families install their methods (``x.sum()``, ``x.reshape(...)``, ...) on this class at import.
"""
import numpy as np

from . import dtypes as _dt
from ._backend import xp_of, is_array, device_of, to_device
from . import autograd as _autograd
from .autograd import grad_mode, function as _function, engine as _engine

_ops = None   # set by chainrule.ops once it is imported (avoids an import cycle)


class device:
    """A device name as torch has it: ``device('cpu')``, ``device('cuda', 0)``."""
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        if ":" in type:
            type, idx = type.split(":", 1)
            index = int(idx)
        if type not in ("cpu", "cuda", "mps"):
            raise RuntimeError(f"device: expected one of cpu, cuda, mps device type at start of "
                               f"device string: {type}")
        self.type, self.index = type, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and \
            (self.index == other.index or self.index is None or other.index is None)

    def __hash__(self):
        return hash(self.type)

    def __repr__(self):
        index = f", index={self.index}" if self.index is not None else ""
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


def _as_array(data, dtype=None):
    """Turn nested lists, scalars, arrays or Tensors into an array with torch's default dtypes."""
    if isinstance(data, Tensor):
        arr = data.data
    elif is_array(data):
        arr = data
    else:
        arr = np.asarray(data)
        if arr.dtype == object:
            try:   # a list of Tensors / 0-d tensors
                arr = np.asarray([_as_array(x) for x in data])
            except Exception:
                raise TypeError(f"tensor: can't build a tensor from {type(data).__name__} "
                                f"holding {type(data[0]).__name__ if len(data) else 'nothing'}")
        if dtype is None:
            if arr.dtype.kind == "f":
                arr = arr.astype(_dt.get_default_dtype().np)
            elif arr.dtype.kind in "iu" and arr.dtype != np.uint8:
                arr = arr.astype(np.int64)
            elif arr.dtype.kind == "c":
                raise TypeError("tensor: complex numbers are not supported")
            elif arr.dtype.kind not in "biuf":
                raise TypeError(f"tensor: can't build a tensor from data of dtype {arr.dtype}")
    if dtype is not None:
        d = _dt.to_dtype(dtype)
        if arr.dtype != d.np:
            arr = arr.astype(d.np)
    else:
        _dt.from_numpy_dtype(arr.dtype)   # raises for unsupported dtypes
    return arr


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    Attributes:
        data: the underlying NumPy (or CuPy) array.
        requires_grad: whether gradients flow to this tensor.
        grad: the accumulated gradient (a Tensor) after ``backward``; ``None`` before.
        grad_fn: the ``Node`` that produced this tensor, or ``None`` for a leaf.
    """
    __slots__ = ("data", "_requires_grad", "grad", "grad_fn", "_output_nr", "_version",
                 "__weakref__", "__dict__")
    __array_priority__ = 1000    # so ndarray + Tensor defers to Tensor.__radd__
    # Rarely set attributes: class-level defaults, overridden per instance in __dict__ when used,
    # so that making a Tensor (once per op) stays cheap.
    _hooks = None
    _retains_grad = False
    _base = None             # a view: the tensor whose memory it shares (never itself a view)
    _view_chain = ()         # a view: the view ops that remake it from _base
    _views = None            # a base: weak references to its views
    _views_alive = 0
    _made_in_no_grad = False  # a view taken under no_grad of a tensor that requires grad
    _multi_view = None        # (i, "SplitBackward0"): output i of an op that made several views
    name = None

    def __init__(self, data=(), dtype=None, requires_grad=False):
        if dtype is None and not isinstance(data, (Tensor, np.ndarray)):
            dtype = _dt.get_default_dtype()
        arr = _as_array(data, dtype)
        self._init(arr, False, None, 0, None)
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, array, requires_grad, grad_fn, output_nr, version):
        self.data = array
        self._requires_grad = requires_grad
        self.grad = None
        self.grad_fn = grad_fn
        self._output_nr = output_nr
        self._version = version if version is not None else [0]

    @classmethod
    def _make(cls, array, requires_grad=False, grad_fn=None, output_nr=0, version=None):
        """Fast internal constructor around an existing array (no copy, no dtype inference)."""
        if array.__class__ is not np.ndarray and not is_array(array):
            array = np.asarray(array)
        t = _new(cls)
        t.data = array
        t._requires_grad = requires_grad
        t.grad = None
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version = version if version is not None else [0]
        return t

    def _xp(self):
        return xp_of(self.data)

    # ---- properties ----
    @property
    def shape(self):
        return Size(self.data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self.data.shape)
        return self.data.shape[_wrap_dim(dim, self.data.ndim, "size")]

    @property
    def ndim(self):
        return self.data.ndim

    def dim(self):
        return self.data.ndim

    ndimension = dim

    def numel(self):
        return int(self.data.size)

    nelement = numel

    @property
    def dtype(self):
        return _dt._BY_NP[self.data.dtype]

    @property
    def device(self):
        return device(device_of(self.data))

    @property
    def is_cuda(self):
        return device_of(self.data) == "cuda"

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad=True):
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf variables; "
                "use .detach() to get a tensor that does not require grad")
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(
                f"requires_grad_: only Tensors of floating point dtype can require gradients, "
                f"got {self.dtype}")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def itemsize(self):
        return self.data.itemsize

    def element_size(self):
        return self.data.itemsize

    @property
    def nbytes(self):
        return int(self.data.nbytes)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    def is_contiguous(self, memory_format=None):
        return bool(self.data.flags.c_contiguous)

    def stride(self, dim=None):
        s = tuple(st // self.data.itemsize for st in self.data.strides)
        return s if dim is None else s[_wrap_dim(dim, self.ndim, "stride")]

    def data_ptr(self):
        return self.data.__array_interface__["data"][0] if isinstance(self.data, np.ndarray) \
            else int(self.data.data.ptr)

    @property
    def T(self):
        if self.ndim > 2:
            raise RuntimeError(f"T: expected a tensor of at most 2 dimensions, got {self.ndim}; "
                               "use .mT or .permute")
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self):
        if self.ndim < 2:
            raise RuntimeError(f"mT: expected a tensor of at least 2 dimensions, got {self.ndim}")
        return _ops.transpose(self, -2, -1)

    @property
    def H(self):
        return self.T

    @property
    def mH(self):
        return self.mT

    # ---- conversion ----
    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"item: a Tensor with {self.data.size} elements cannot be converted "
                               "to Scalar")
        return self.data.reshape(()).item() if isinstance(self.data, np.ndarray) \
            else self.data.item()

    def tolist(self):
        return to_device(self.data, "cpu").tolist()

    def numpy(self, force=False):
        if self.requires_grad and not force:
            raise RuntimeError("numpy: can't call numpy() on a Tensor that requires grad; "
                               "use tensor.detach().numpy() instead")
        if self.is_cuda and not force:
            raise TypeError("numpy: can't convert a cuda tensor to numpy; use .cpu() first")
        return to_device(self.data, "cpu")

    def __array__(self, dtype=None, copy=None):
        arr = to_device(self.data, "cpu")
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.is_floating_point or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.data.size} elements is "
                               "ambiguous")
        return bool(self.item())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(_ops.unbind(self, 0))

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        raise TypeError("chainrule tensors are not picklable on purpose: save them with "
                        "chainrule.save (a safe tensor format)")

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("deepcopy: only leaf tensors (created by the user) support the "
                               "deepcopy protocol")
        t = type(self)._make(self.data.copy(), self.requires_grad)
        if type(self) is not Tensor:
            t.__dict__.update(self.__dict__)
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = t
        return t

    # ---- graph ----
    def detach(self):
        t = Tensor._make(self.data, version=self._version)
        return t

    def detach_(self):
        if self._base is not None:
            raise RuntimeError("detach_: can't detach a view in place; use detach()")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self, memory_format=None):
        return _ops.clone(self)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate from this tensor: accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Args:
            gradient: upstream gradient, same shape as self; may be omitted for a scalar.
            retain_graph: keep saved tensors for another backward (default: ``create_graph``).
            create_graph: record the backward pass, for higher-order gradients.
            inputs: accumulate only into these tensors.
        """
        _autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                               "require gradient")
        if self.grad_fn is not None:
            return self.grad_fn.register_prehook(self._output_nr, hook)
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        from .autograd.function import _RemovableHandle
        return _RemovableHandle(self._hooks, hook)

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has "
                               "requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref
        ref = weakref.ref(self)

        def store(grad):
            t = ref()
            if t is not None:
                g = grad if grad_mode.is_grad_enabled() else grad.detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
        store._retains_grad = True
        self._retains_grad = True
        self.grad_fn.register_prehook(self._output_nr, store)

    @property
    def retains_grad(self):
        return self._retains_grad

    @property
    def _version_counter(self):
        return self._version[0]

    # ---- dtype / device conversion ----
    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        dtype = kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        for a in args:
            if isinstance(a, Tensor):
                dtype, dev = a.dtype, a.device
            elif isinstance(a, _dt.dtype):
                dtype = a
            elif isinstance(a, (str, device)):
                dev = a
            elif a is not None:
                raise TypeError(f"to: unexpected argument {a!r}")
        out = self
        if dev is not None:
            target = device(dev).type
            if target == "mps":
                raise RuntimeError("to: the MPS backend is not available in chainrule")
            if target != device_of(self.data):
                out = _ops.to_device(out, target)
        if dtype is not None and _dt.to_dtype(dtype) is not out.dtype:
            out = _ops.cast(out, _dt.to_dtype(dtype))
        if copy and out is self:
            out = self.clone()
        return out

    def type(self, dtype=None):
        if dtype is None:
            return {"float32": "chainrule.FloatTensor", "float64": "chainrule.DoubleTensor",
                    "float16": "chainrule.HalfTensor", "int64": "chainrule.LongTensor",
                    "int32": "chainrule.IntTensor", "bool": "chainrule.BoolTensor",
                    "uint8": "chainrule.ByteTensor"}.get(self.dtype.name, self.dtype.name)
        return self.to(dtype)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda")

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def short(self):
        return self.to(_dt.int16)

    def byte(self):
        return self.to(_dt.uint8)

    def bool(self):
        return self.to(_dt.bool)

    def type_as(self, other):
        return self.to(other.dtype)

    def contiguous(self, memory_format=None):
        return self if self.data.flags.c_contiguous else _ops.clone(self)

    def view_as(self, other):
        return _ops.view(self, tuple(other.shape))

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return Tensor(_as_array(data, dtype or self.dtype), requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None):
        return Tensor._make(self._xp().zeros(_sizes(size), (dtype or self.dtype).np))

    def new_ones(self, *size, dtype=None):
        return Tensor._make(self._xp().ones(_sizes(size), (dtype or self.dtype).np))

    def new_full(self, size, fill_value, dtype=None):
        return Tensor._make(self._xp().full(_sizes((size,)), fill_value, (dtype or self.dtype).np))

    def new_empty(self, *size, dtype=None):
        return Tensor._make(self._xp().empty(_sizes(size), (dtype or self.dtype).np))

    # ---- in-place mechanics ----
    def _check_inplace(self, op):
        if not grad_mode._state.enabled:
            return
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place "
                "operation; wrap it in `with chainrule.no_grad():` or use an out-of-place op")
        if self._multi_view is not None and (self._requires_grad or self._base._requires_grad):
            raise RuntimeError(
                f"{op}: output {self._multi_view[0]} of {self._multi_view[1]} is a view and is "
                "being modified inplace. This view is "
                "the output of a function that returns multiple views. Such functions do not "
                "allow the output views to be modified inplace. You should replace the inplace "
                "operation by an out-of-place one (or .clone() the output).")
        if self._made_in_no_grad:
            raise RuntimeError(
                f"{op}: a view was created in no_grad mode and is being modified inplace with "
                "grad mode enabled; this is ambiguous and forbidden (as in torch): take the view "
                "and make the change both inside the no_grad block (not tracked) or both "
                "outside it (tracked), or change a .clone()")

    def _inplace_from(self, result, op):
        """Make ``self`` hold ``result`` (computed out of place), as an in-place op would."""
        self._check_inplace(op)
        if result.dtype is not self.dtype:
            if not _dt.can_cast(result.dtype, self.dtype):
                raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the desired "
                                   f"output type {self.dtype}")
        if result.shape != self.shape:
            raise RuntimeError(f"{op}: output with shape {tuple(self.shape)} doesn't match the "
                               f"broadcast shape {tuple(result.shape)}")
        if grad_mode._state.enabled and (result._requires_grad or self._requires_grad or (
                self._base is not None and self._base._requires_grad)):
            if result.dtype is not self.dtype:
                result = _ops.cast(result, self.dtype)
            if self._base is not None:
                return self._inplace_on_view(result, op)
            if not result._requires_grad:
                # a constant written over a recorded tensor (fill_, copy_): the old graph gets a
                # zero gradient through a recorded overwrite, not a silent write-through
                from .ops.index import copy_slices
                result = copy_slices(self, result, (), op)
            self._rebind(result)
            if self._views:
                self._refresh_views()
            return self
        self._write(op, lambda: self._xp().copyto(self.data, result.data, casting="unsafe"))
        return self

    def _rebind(self, result):
        """Make self the recorded ``result`` (same shape and dtype) of an in-place op on it."""
        data = result.data
        if self._views and data.strides != self.data.strides:
            # keep the memory layout, so that every view of self stays a view when remade
            fresh = self._xp().empty_like(self.data)
            fresh[...] = data
            data = fresh
        # Rebind rather than overwrite: the old array may be saved for backward by earlier ops.
        version = self._bump_if_leaf()
        self.data = data
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
        # The old array is untouched, so what saved it as a graph value stays valid: self moves
        # on to the result's (fresh) version counter instead of bumping the shared one.
        box = result._version
        box[0] = version + 1
        self._version = box
        _function._adopt_saved(result.grad_fn, box)

    def _bump_if_leaf(self):
        """Before rebinding: a tensor without grad_fn is saved as the Tensor itself (not as a
        snapshot of its array), so what saved it must see the change (and raise at backward).
        Returns the version before the change."""
        version = self._version[0]
        if self.grad_fn is None:
            self._version[0] = version + 1
        return version

    def _inplace_on_view(self, result, op):
        """A recorded in-place op on a view: the base becomes a copy with the view's part
        replaced by ``result`` (recorded, differentiable), and the base's views are remade."""
        from .ops.index import copy_slices
        base = self._base
        if base.grad_fn is None and base._requires_grad:
            raise RuntimeError(
                f"{op}: a view of a leaf Variable that requires grad is being used in an "
                "in-place operation; use .clone() on the leaf first, or wrap the change in "
                "`with chainrule.no_grad():`")
        base._rebind(copy_slices(base, result, self._view_chain, op))
        base._refresh_views(also=self)
        return self

    def _refresh_views(self, also=None):
        """Remake every live view of self (a base just rebound by a recorded in-place op) from
        its new array and graph position, as if the views shared self's storage."""
        refs, self._views = self._views or [], None
        alive = []
        for ref in refs:
            view = ref()
            if view is not None:
                alive.append(ref)
                if view is not also:
                    view._remake_from(self)
        if also is not None:
            also._remake_from(self)
        self._views, self._views_alive = alive, len(alive)   # drops the remakes' own entries

    def _remake_from(self, base):
        fresh = _function.replay_view(base, self._view_chain)
        if fresh.data.shape != self.data.shape:
            raise RuntimeError(f"in-place on a view: remaking a view of shape "
                               f"{tuple(self.data.shape)} gave {tuple(fresh.data.shape)}")
        self._bump_if_leaf()
        self.data = fresh.data
        self.grad_fn = fresh.grad_fn
        self._output_nr = fresh._output_nr
        self._requires_grad = fresh._requires_grad
        self._version = fresh._version

    def _inplace_ufunc(self, ufunc, other, op):
        """Fast path for ``add_``-style ops when no graph is recorded: write into self.data."""
        self._check_inplace(op)
        data = self.data
        other_data = other.data if isinstance(other, Tensor) else other
        if getattr(other_data, "dtype", None) == data.dtype:   # an optimizer's update: no cast
            self._write(op, ufunc, data, other_data, data)
            return self
        res_dtype = _dt.result_type(self, other)
        if not _dt.can_cast(res_dtype, self.dtype):
            raise RuntimeError(f"{op}: result type {res_dtype} can't be cast to the desired "
                               f"output type {self.dtype}")
        self._write(op, lambda: ufunc(data, other_data, out=data, casting="unsafe"))
        return self

    def _write(self, op, write, *args):
        """Run ``write(*args)`` (an unrecorded write into self.data), then bump the version
        counter; a read-only array (an expanded or overlapping view) gets torch's error, naming
        ``op``."""
        try:
            write(*args)
        except ValueError:
            self._raise_read_only(op)
            raise
        self._version[0] += 1

    def _raise_read_only(self, op):
        if not self.data.flags.writeable:
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor "
                "refers to a single memory location (an expanded or overlapping view); use "
                ".clone() before changing it in place") from None

    def _recording(self, other=None):
        return grad_mode._state.enabled and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))

    def add_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        if self._recording(other):
            return self._inplace_from(_ops.add(self, other), "add_")
        return self._inplace_ufunc(self._xp().add, other, "add_")

    def sub_(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        if self._recording(other):
            return self._inplace_from(_ops.sub(self, other), "sub_")
        return self._inplace_ufunc(self._xp().subtract, other, "sub_")

    def mul_(self, other):
        if self._recording(other):
            return self._inplace_from(_ops.mul(self, other), "mul_")
        return self._inplace_ufunc(self._xp().multiply, other, "mul_")

    def div_(self, other, rounding_mode=None):
        if rounding_mode is None and not self._recording(other):
            return self._inplace_ufunc(self._xp().true_divide, other, "div_")
        return self._inplace_from(_ops.div(self, other, rounding_mode=rounding_mode), "div_")

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace("fill_")
        if isinstance(value, Tensor):
            value = value.item()
        if self.requires_grad and grad_mode._state.enabled:
            return self._inplace_from(_ops.full_like(self, value), "fill_")
        self._write("fill_", lambda: self.data.__setitem__(Ellipsis, value))
        return self

    def copy_(self, src, non_blocking=False):
        src_t = src if isinstance(src, Tensor) else Tensor(src)
        if self._recording(src_t):
            result = _ops.expand(_ops.cast(src_t, self.dtype), tuple(self.shape)) + 0
            return self._inplace_from(result, "copy_")
        self._check_inplace("copy_")
        self._write("copy_", lambda: self._xp().copyto(
            self.data, to_device(src_t.data, device_of(self.data)), casting="unsafe"))
        return self

    def set_(self, source):
        self.data = source.data
        self._version[0] += 1
        return self

    def __setitem__(self, index, value):
        if self._recording(value):
            if value.__class__ is Tensor and value._base is not None and \
                    self._is_own_view(index, value):
                return       # `y[i] += v`: the in-place op on the view y[i] already changed y
            return self._inplace_from(_ops.index_put(self, index, value), "__setitem__")
        self._check_inplace("__setitem__")
        v = value.data if isinstance(value, Tensor) else value
        self._write("__setitem__", lambda: _ops.setitem_data(self.data, index, v))

    def _is_own_view(self, index, value):
        """Whether ``value`` is the live view ``self[index]`` (same base, same view ops)."""
        root = self._base if self._base is not None else self
        chain = value._view_chain
        if value._base is not root or len(chain) != len(self._view_chain) + 1:
            return False
        cls, args = chain[-1]
        if cls.__name__ != "GetItem":
            return False
        try:
            return bool(chain[:-1] == self._view_chain and args == (_ops.raw_index(index),))
        except (ValueError, TypeError):     # indices holding arrays: not a plain view anyway
            return False

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # ---- operators ----
    def __add__(self, other): return _ops.add(self, other)
    def __radd__(self, other): return _ops.add(other, self)
    def __sub__(self, other): return _ops.sub(self, other)
    def __rsub__(self, other): return _ops.sub(other, self)
    def __mul__(self, other): return _ops.mul(self, other)
    def __rmul__(self, other): return _ops.mul(other, self)
    def __truediv__(self, other): return _ops.div(self, other)
    def __rtruediv__(self, other): return _ops.div(other, self)
    def __floordiv__(self, other): return _ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return _ops.floor_divide(other, self)
    def __mod__(self, other): return _ops.remainder(self, other)
    def __rmod__(self, other): return _ops.remainder(other, self)
    def __pow__(self, other): return _ops.pow(self, other)
    def __rpow__(self, other): return _ops.pow(other, self)
    def __matmul__(self, other): return _ops.matmul(self, other)
    def __rmatmul__(self, other): return _ops.matmul(other, self)
    def __neg__(self): return _ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ops.abs(self)
    def __invert__(self): return _ops.bitwise_not(self)
    def __and__(self, other): return _ops.bitwise_and(self, other)
    def __rand__(self, other): return _ops.bitwise_and(other, self)
    def __or__(self, other): return _ops.bitwise_or(self, other)
    def __ror__(self, other): return _ops.bitwise_or(other, self)
    def __xor__(self, other): return _ops.bitwise_xor(self, other)
    def __rxor__(self, other): return _ops.bitwise_xor(other, self)
    def __eq__(self, other): return _ops.eq(self, other)
    def __ne__(self, other): return _ops.ne(self, other)
    def __lt__(self, other): return _ops.lt(self, other)
    def __le__(self, other): return _ops.le(self, other)
    def __gt__(self, other): return _ops.gt(self, other)
    def __ge__(self, other): return _ops.ge(self, other)

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    def __repr__(self):
        from ._format import format_tensor
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)


_new = object.__new__
_function.Tensor = _engine.Tensor = Tensor


class Size(tuple):
    """A shape: a tuple of ints (torch.Size)."""

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"chainrule.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r


def _wrap_dim(dim, ndim, op):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def _sizes(size):
    """Accept ``f(2, 3)``, ``f((2, 3))`` or ``f([2, 3])``; return a tuple of ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"size must be a sequence of ints, got {s!r}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{tuple(size)}")
        out.append(int(s))
    return tuple(out)
