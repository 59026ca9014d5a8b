"""Module: the base class of every layer and model."""
from collections import OrderedDict
import itertools

import numpy as np

from ...tensor import Tensor
from ...capture import active as _capture
from ..parameter import Parameter, Buffer


class _RemovableHandle:
    _ids = itertools.count()

    def __init__(self, store):
        self.store, self.id = store, next(self._ids)

    def remove(self):
        self.store.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _IncompatibleKeys:
    """What ``load_state_dict`` returns: missing and unexpected keys."""

    def __init__(self, missing_keys, unexpected_keys):
        self.missing_keys, self.unexpected_keys = missing_keys, unexpected_keys

    def __iter__(self):
        return iter((self.missing_keys, self.unexpected_keys))

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


class Module:
    """Base class for all neural network modules.

    Subclasses assign Parameters, buffers and sub-Modules as attributes in ``__init__`` (they are
    registered automatically) and define ``forward``. Calling the module runs the forward hooks
    around ``forward``.

    Example::

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, x):
                return self.fc(x).relu()
    """
    training: bool
    _version = 1

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    # ---- registration ----
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError("cannot assign parameters or modules before "
                                     "Module.__init__() call")
            object.__setattr__(self, name, value)
            return
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._discard(name, keep=params)
            self.register_parameter(name, value)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(chainrule.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._discard(name, keep=modules)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(chainrule.nn.Module or None expected)")
            modules[name] = None
        elif isinstance(value, Buffer):
            self._discard(name, keep=buffers)
            self.register_buffer(name, Tensor._make(value.data), value.persistent)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(chainrule.Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _discard(self, name, keep=None):
        """Forget ``name`` in every store but ``keep`` (where a reassignment keeps its place)."""
        for store in (self.__dict__, self._parameters, self._buffers, self._modules):
            if store is not keep:
                store.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def register_parameter(self, name, param):
        """Add a Parameter (or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(chainrule.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer (state that is not a parameter, e.g. running means) under ``name``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(chainrule.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if item not in mod._modules:
                raise AttributeError(f"{type(mod).__name__} has no submodule `{item}`")
            mod = mod._modules[item]
        return mod

    def get_buffer(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeError(f"{type(mod).__name__} has no buffer `{name}`")
        return mod._buffers[name]

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter `{name}`")
        return mod._parameters[name]

    # ---- iteration ----
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k, v)

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, depth first (iterative)."""
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield name, module
            children = [(name + ("." if name else "") + k, m) for k, m in module._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    # ---- modes and conversions ----
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = p.grad.detach()
                    p.grad.data[...] = 0

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule (children first) and on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def _apply_to_tensors(self, convert):
        for m in self.modules():
            for name, p in m._parameters.items():
                if p is not None:
                    new = convert(p)
                    if new is not p:
                        p.data = new.data
                        if p.grad is not None:
                            p.grad = convert(p.grad)
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = convert(b)
        return self

    def to(self, *args, **kwargs):
        """Convert parameters and buffers (dtype: floating tensors only; or device)."""
        from ... import dtypes

        def convert(t):
            out = t
            for a in list(args) + list(kwargs.values()):
                if isinstance(a, dtypes.dtype):
                    if t.dtype.is_floating_point:
                        out = out.detach().to(a)
                elif a is not None and not isinstance(a, bool):
                    out = out.detach().to(a)
            return out
        return self._apply_to_tensors(convert)

    def float(self):
        from ... import float32
        return self.to(float32)

    def double(self):
        from ... import float64
        return self.to(float64)

    def half(self):
        from ... import float16
        return self.to(float16)

    def cpu(self):
        return self

    def cuda(self, device=None):
        return self.to("cuda")

    def type(self, dst_type):
        return self.to(dst_type)

    def share_memory(self):
        return self

    # ---- state dict ----
    def state_dict(self, *, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer, keyed as torch keys them."""
        if destination is None:
            destination = OrderedDict()
        for mod_prefix, module in self.named_modules(prefix=prefix.rstrip("."),
                                                     remove_duplicate=False):
            p = mod_prefix + "." if mod_prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    destination[p + name] = param if keep_vars else param.detach()
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers_set:
                    destination[p + name] = buf if keep_vars else buf.detach()
            extra = getattr(type(module), "get_extra_state", None)
            if extra is not None:
                destination[p + "_extra_state"] = module.get_extra_state()
        return destination

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` into parameters and buffers.

        Raises a RuntimeError listing every missing key, unexpected key and shape mismatch when
        ``strict``; otherwise returns the missing and unexpected keys.
        """
        own = self.state_dict(keep_vars=True)
        optional = {(prefix + "." if prefix else "") + name
                    for prefix, module in self.named_modules()
                    for name in getattr(module, "_optional_state_keys", ())}
        missing = [k for k in own if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if tuple(array.shape) != tuple(target.shape):
                mismatched.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{tuple(array.shape)} from checkpoint, the shape in current "
                                  f"model is {tuple(target.shape)}.")
        if mismatched or (strict and (missing or unexpected)):
            lines = []
            if strict and missing:       # as torch: non-strict loading reports only mismatches
                lines.append("Missing key(s) in state_dict: " +
                             ", ".join(f'"{k}"' for k in missing) + ".")
            if strict and unexpected:
                lines.append("Unexpected key(s) in state_dict: " +
                             ", ".join(f'"{k}"' for k in unexpected) + ".")
            lines.extend(mismatched)
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" +
                               "\n\t".join(lines))
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.data if isinstance(value, Tensor) else np.asarray(value)
            if key.endswith("_extra_state"):
                continue
            if array.dtype != target.data.dtype:
                array = array.astype(target.data.dtype)
            if assign:
                target.data = array.copy()
            else:
                target.data[...] = array
            target._version[0] += 1
        for m_prefix, module in self.named_modules():
            if hasattr(type(module), "set_extra_state"):
                key = (m_prefix + "." if m_prefix else "") + "_extra_state"
                if key in state_dict:
                    module.set_extra_state(state_dict[key])
        return _IncompatibleKeys(missing, unexpected)

    # ---- hooks ----
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before forward; it may return replacement args."""
        handle = _RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = (hook, with_kwargs)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` runs after forward; it may return a new output."""
        handle = _RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = (hook, with_kwargs)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to the
        module's inputs are computed; it may return replacement grad_input."""
        handle = _RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    register_backward_hook = register_full_backward_hook

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs before the module's input gradients are computed."""
        handle = _RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def __call__(self, *args, **kwargs):
        if _capture.tape is not None:       # a compiled function depends on our settings
            _capture.tape.watch(self, _capture.module_state)
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        if self._backward_hooks or self._backward_pre_hooks:
            from ._backward_hooks import call_with_backward_hooks
            result = call_with_backward_hooks(self, args, kwargs)
        else:
            result = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            res = hook(self, args, kwargs, result) if with_kwargs else hook(self, args, result)
            if res is not None:
                result = res
        return result

    # ---- repr ----
    def extra_repr(self):
        """Extra information shown in the module's repr; override in layers."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = repr(module).replace("\n", "\n  ")
            child_lines.append(f"({key}): {mod_str}")
        lines = lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra.split("\n")) == 1 and not child_lines:
                main += extra
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)


def _check_name(name, kind):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
