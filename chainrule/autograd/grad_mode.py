"""Thread-local switches: is the graph being recorded, and is anomaly detection on."""
import functools
import inspect
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.anomaly = False


_state = _State()


def is_grad_enabled():
    return _state.enabled


class _GradModeContext:
    """Base for context managers that are also decorators (as in torch).

    A decorated generator function runs each of its steps under the mode, as in torch.
    """
    _mode = True

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: can only decorate a callable, "
                            f"got {type(fn).__name__}")
        if inspect.isgeneratorfunction(fn):
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__._clone(self):
                return fn(*args, **kwargs)
        return wrapper

    def _wrap_generator(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            gen = fn(*args, **kwargs)
            mode = self.__class__._clone
            try:
                with mode(self):
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with mode(self):
                            gen.close()
                        raise
                    except BaseException as exc:
                        with mode(self):
                            response = gen.throw(exc)
                    else:
                        with mode(self):
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value
        return wrapper

    def _clone(self):
        return self.__class__()

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False


class _NoParamContext(_GradModeContext):
    """A mode that takes no argument: usable as ``@mode()`` and as a bare ``@mode``."""

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)


class no_grad(_NoParamContext):
    """Disable graph recording inside the block (or the decorated function)."""
    _mode = False


class enable_grad(_NoParamContext):
    """Re-enable graph recording inside a ``no_grad`` block."""
    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set graph recording on or off; works as a function call, context manager or decorator."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self._mode      # torch applies the mode at construction time

    def __call__(self, fn):
        _state.enabled = self._prev      # as torch: used as a decorator, it changes nothing now
        return super().__call__(fn)

    def _clone(self):
        return set_grad_enabled(self._mode)     # sets the mode now, restored by __exit__

    def __enter__(self):
        return self


class inference_mode(_GradModeContext):
    """Like ``no_grad``: no graph is recorded inside; ``inference_mode(False)`` is a no-op.

    Usable as ``with inference_mode():``, ``@inference_mode()`` and a bare ``@inference_mode``.
    """

    def __new__(cls, mode=True):
        if isinstance(mode, bool) or mode is None:
            return super().__new__(cls)
        return cls()(mode)

    def __init__(self, mode=True):
        self.mode_on = True if mode is None else bool(mode)

    def _clone(self):
        return inference_mode(self.mode_on)

    def __enter__(self):
        self._prev = _state.enabled
        if self.mode_on:
            _state.enabled = False
        return self


class detect_anomaly:
    """Raise at the first NaN/inf produced in forward or backward, naming the op and the
    file:line of the user code that ran it in forward."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = _state.anomaly
        _state.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        _state.anomaly = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode):
        super().__init__(mode)
        self._prev = _state.anomaly
        _state.anomaly = bool(mode)

    def __enter__(self):
        return self


def is_anomaly_enabled():
    return _state.anomaly
