"""einsum, composed from sum, getitem (diagonals), permute, expand, reshape and matmul, so its
gradients come from those ops.

Plan: take repeated-label diagonals, sum labels no one else needs, then contract the operands
left to right, each pair as one batched matmul ``(batch, free_a, k) @ (batch, k, free_b)``.
Ellipsis dims get labels ``('...', n)`` counted from the right, so they broadcast like numpy.
"""
import string

import numpy as np

_LETTERS = string.ascii_uppercase + string.ascii_lowercase   # torch's sublist numbering


def _ell(k):
    return ("...", k)


def _parse_term(term, operand, i):
    """The labels of one operand, with its ellipsis expanded to ``_ell`` labels."""
    ndim = operand.ndim
    if term.count("...") > 1 or "." in term.replace("...", ""):
        raise RuntimeError(f"einsum(): found more than one '...' or a stray '.' in subscript "
                           f"'{term}' of operand {i}")
    for ch in term.replace("...", ""):
        if ch not in _LETTERS:
            raise RuntimeError(f"einsum(): invalid subscript given at index {i}: '{ch}'; "
                               f"subscripts must be letters [a-zA-Z]")
    if "..." in term:
        before, after = term.split("...")
        n_ell = ndim - len(before) - len(after)
        if n_ell < 0:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(before) + len(after)}) is more than the number of "
                               f"dimensions ({ndim}) for operand {i}")
        return list(before) + [_ell(n_ell - j) for j in range(n_ell)] + list(after)
    if len(term) != ndim:
        raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) "
                           f"does not match the number of dimensions ({ndim}) for operand {i} "
                           f"and no ellipsis was given")
    return list(term)


def _diagonal(t, labels, label):
    """Take the diagonal over the repeated ``label``; it becomes the last dim."""
    from . import permute, getitem, arange
    pos = [j for j, l in enumerate(labels) if l == label]
    size = t.shape[pos[0]]
    for j in pos[1:]:
        if t.shape[j] != size:
            raise RuntimeError(f"einsum(): subscript {label} is repeated for an operand but the "
                               f"sizes don't match, {t.shape[j]} != {size}")
    rest = [j for j in range(t.ndim) if j not in pos]
    t = permute(t, rest + pos)
    idx = arange(size)
    t = getitem(t, (Ellipsis,) + (idx,) * len(pos))
    return t, [labels[j] for j in rest] + [label]


def _sum_labels(t, labels, drop):
    from . import sum as _sum
    axes = tuple(j for j, l in enumerate(labels) if l in drop)
    if not axes:
        return t, labels
    return _sum(t, axes), [l for l in labels if l not in drop]


def _contract(a, la, b, lb, keep, sizes):
    """Contract two operands over their shared labels that are not in ``keep``."""
    from . import permute, reshape, expand, matmul
    batch = [l for l in la if l in lb and l in keep]
    inner = [l for l in la if l in lb and l not in keep]
    free_a = [l for l in la if l not in lb]
    free_b = [l for l in lb if l not in la]

    def arrange(t, labels, order, groups):
        t = permute(t, [labels.index(l) for l in order]) if order != labels else t
        full = tuple(sizes[l] for l in order)
        if tuple(t.shape) != full:          # size-1 dims broadcast against the other operand
            t = expand(t, full)
        return reshape(t, tuple(int(np.prod([sizes[l] for l in g], dtype=np.int64))
                                for g in groups))

    a2 = arrange(a, la, batch + free_a + inner, (batch, free_a, inner))
    b2 = arrange(b, lb, batch + inner + free_b, (batch, inner, free_b))
    out = matmul(a2, b2)
    labels = batch + free_a + free_b
    return reshape(out, tuple(sizes[l] for l in labels)), labels


def _from_sublists(args):
    """einsum(op0, [0, 1], op1, [1, 2], [0, 2]) -> ('ab,bc->ac', op0, op1)."""
    def term(sub):
        out = ""
        for s in sub:
            if s is Ellipsis:
                out += "..."
            elif isinstance(s, int) and 0 <= s < 52:
                out += _LETTERS[s]
            else:
                raise RuntimeError(f"einsum(): subscript in subscript list is not within the "
                                   f"valid range [0, 52), got {s!r}")
        return out
    pairs = len(args) - len(args) % 2
    operands = list(args[0:pairs:2])
    eq = ",".join(term(sub) for sub in args[1:pairs:2])
    if len(args) % 2:
        eq += "->" + term(args[-1])
    return eq, operands


def einsum(equation, *operands):
    from ..tensor import Tensor
    if isinstance(equation, Tensor):
        equation, operands = _from_sublists((equation,) + operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): equation must be a string, got {type(equation).__name__}")
    for i, op in enumerate(operands):
        if not isinstance(op, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, got {type(op).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(operands):
        raise RuntimeError(f"einsum(): fewer operands were provided ({len(operands)}) than "
                           f"specified in the equation '{equation}' ({len(terms)})")
    if len(terms) < len(operands):
        raise RuntimeError(f"einsum(): more operands were provided ({len(operands)}) than "
                           f"specified in the equation '{equation}' ({len(terms)})")
    labels = [_parse_term(t, op, i) for i, (t, op) in enumerate(zip(terms, operands))]

    sizes = {}
    for i, (ls, op) in enumerate(zip(labels, operands)):
        own = {}
        for l, s in zip(ls, op.shape):
            if own.setdefault(l, s) != s:
                raise RuntimeError(f"einsum(): subscript {l} is repeated for operand {i} but the "
                                   f"sizes don't match, {s} != {own[l]}")
            prev = sizes.get(l, 1)
            if s != 1 and prev != 1 and s != prev:
                name = "..." if isinstance(l, tuple) else l
                raise RuntimeError(f"einsum(): subscript {name} has size {s} for operand {i} "
                                   f"(shape {tuple(op.shape)}) which does not broadcast with "
                                   f"previously seen size {prev}")
            sizes[l] = s if s != 1 else prev
    n_ell = max([l[1] for ls in labels for l in ls if isinstance(l, tuple)], default=0)
    ell = [_ell(k) for k in range(n_ell, 0, -1)]

    if arrow:
        if rhs.count("...") > 1:
            raise RuntimeError(f"einsum(): found more than one '...' in the output '{rhs}'")
        before, _, after = rhs.partition("...")
        out_labels = list(before) + (ell if "..." in rhs else []) + list(after)
        for l in out_labels:
            if isinstance(l, tuple):
                continue
            if l not in _LETTERS:
                raise RuntimeError(f"einsum(): invalid output subscript '{l}'")
            if out_labels.count(l) > 1:
                raise RuntimeError(f"einsum(): output subscript {l} appears more than once in "
                                   f"the output")
            if l not in sizes:
                raise RuntimeError(f"einsum(): output subscript {l} does not appear in the "
                                   f"equation for any input operand")
    else:
        flat = [l for ls in labels for l in ls if not isinstance(l, tuple)]
        out_labels = ell + sorted(l for l in set(flat) if flat.count(l) == 1)

    ops = []
    for t, ls in zip(operands, labels):
        for l in [l for l in dict.fromkeys(ls) if ls.count(l) > 1]:
            t, ls = _diagonal(t, ls, l)
        ops.append((t, ls))
    for i, (t, ls) in enumerate(ops):   # labels only this operand has and the output drops
        others = {l for j, (_, lj) in enumerate(ops) if j != i for l in lj}
        ops[i] = _sum_labels(t, ls, {l for l in ls if l not in others and l not in out_labels})

    t, ls = ops[0]
    for k in range(1, len(ops)):
        b, lb = ops[k]
        keep = set(out_labels) | {l for _, lj in ops[k + 1:] for l in lj}
        t, ls = _sum_labels(t, ls, {l for l in ls if l not in lb and l not in keep})
        b, lb = _sum_labels(b, lb, {l for l in lb if l not in ls and l not in keep})
        t, ls = _contract(t, ls, b, lb, keep, sizes)
    t, ls = _sum_labels(t, ls, {l for l in ls if l not in out_labels})
    from . import permute, expand
    if ls != out_labels:
        t = permute(t, [ls.index(l) for l in out_labels])
    full = tuple(sizes[l] for l in out_labels)
    return t if tuple(t.shape) == full else expand(t, full)
