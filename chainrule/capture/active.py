"""The tape recording now, or None: what the rest of chainrule checks to tell the tape about
Python state the arrays can't show (a module's settings, an optimizer's hyperparameters)."""
tape = None

_SIMPLE = (bool, int, float, str, type(None))


def _simple(value):
    return type(value) in _SIMPLE or (type(value) is tuple and all(_simple(v) for v in value))


def module_state(module):
    """A module's plain Python settings (training, p, eps, ...) and which tensors it holds."""
    return (tuple((k, v) for k, v in vars(module).items() if _simple(v)),
            tuple((k, id(v)) for k, v in module._parameters.items()),
            tuple((k, id(v)) for k, v in module._buffers.items()))


def optimizer_state(optimizer):
    """An optimizer's hyperparameters per group, which tensors each group holds, and the plain
    Python values of its per-parameter state."""
    groups = tuple((tuple((k, v) for k, v in g.items() if k != "params" and _simple(v)),
                    tuple(map(id, g["params"]))) for g in optimizer.param_groups)
    state = tuple((id(p), tuple((k, v) for k, v in s.items() if _simple(v)))
                  for p, s in optimizer.state.items())
    return groups, state
