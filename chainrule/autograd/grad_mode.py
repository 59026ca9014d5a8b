"""Thread-local switches: is the graph being recorded, and is anomaly detection on."""
import functools
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.anomaly = False


_state = _State()


def is_grad_enabled():
    return _state.enabled


class _GradModeContext:
    """Base for context managers that are also decorators (as in torch)."""
    _mode = True

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__._clone(self):
                return fn(*args, **kwargs)
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


class no_grad(_GradModeContext):
    """Disable graph recording inside the block (or the decorated function)."""
    _mode = False


class enable_grad(_GradModeContext):
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
    """Like ``no_grad``: no graph is recorded inside; ``inference_mode(False)`` is a no-op."""

    def __init__(self, mode=True):
        self.mode_on = bool(mode)

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
