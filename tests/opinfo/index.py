"""OpInfo entries for indexing: __getitem__/__setitem__ on many index forms, index_put, gather,
scatter(_add), index_select/add/copy/fill, masked_*, take(_along_dim), put, nonzero, in-place
variants, and the scatter-add paths behind the backward of integer-array indexing."""
import numpy as np
import torch

import chainrule as cr
from .core import OpInfo, Sample
from .shape import A, NC, _gen, _err

ONES = np.ones((2, 3))
I = lambda *v: np.array(v, dtype=np.int64)           # noqa: E731,E741


def _getitem(x, index):
    return x[index]


def _setitem(x, v, index):
    y = x.clone()
    y[index] = v
    return y


def _setitem_scalar(x, index):
    y = x.clone()
    y[index] = 2.5
    return y


def _inplace(name):
    def fn(x, *args, **kwargs):
        return getattr(x.clone(), name)(*args, **kwargs)
    return fn


_MASK = np.array([[True, False, True], [False, False, True]])

GETITEM_SAMPLES = _gen(
    [(A(4, 3), (slice(1, None), -1)), {}, "slice + neg int"],
    [(A(5, 3), (slice(None, None, 2),)), {}, "step"],
    [(A(2, 3, 2), (Ellipsis, 1)), {}, "ellipsis"],
    [(A(2, 3), (None, 1, None)), {}, "None"],
    [(A(), ()), {}, "0-d empty tuple"], [(A(), (None, Ellipsis)), {}, "0-d None"],
    [(A(4, 3), I(0, 0, 3, -1)), {}, "int array repeats"],
    [(A(4, 3), I([1, 1], [0, 1])), {}, "2-d int array"],
    [(A(3, 4), (slice(None), I(3, 3, 0))), {}, "array on dim 1"],
    [(A(3, 4), (I(0, 0, 2), I(1, 1, -1))), {}, "two arrays"],
    [(A(2, 3, 2), (I(1, 1), slice(None), I(0, 0))), {}, "split arrays"],
    [(A(2, 3, 2), (slice(0, 1), I(2, 2))), {}, "slice + array"],
    [(A(2, 3), _MASK), {}, "bool mask"],
    [(A(2, 3), (np.array([True, False]), I(1, 1))), {}, "mask + array"],
    [(A(0, 3), (slice(None), 1)), {}, "size-0"], [(A(3, 4), I()), {}, "empty index"],
    [(NC(3, 4), (I(2, 2), slice(1, 3))), {}, "noncontig"],
    [(A(3, 4), np.array(1)), {}, "0-d index"], [(A(3, 4), True), {}, "True"],
)

_GETITEM_ERRORS = lambda: [                                     # noqa: E731
    _err((ONES, 2), IndexError, "index 2 is out of bounds for dimension 0 with size 2",
         op=_getitem),
    _err((ONES, (0, -4)), IndexError, "out of bounds.*size 3", op=_getitem),
    _err((ONES, I(0, 5)), IndexError, "index 5 is out of bounds", op=_getitem),
    _err((ONES, np.array([0.0])), IndexError, "long, int, byte or bool", op=_getitem),
    _err((ONES, slice(None, None, -1)), ValueError, "step must be greater than zero",
         op=_getitem),
    _err((ONES, (0, 0, 0)), IndexError, "too many indices", op=_getitem),
    _err((ONES, np.array([True, False, True])), IndexError, "boolean index", op=_getitem),
    _err((np.ones(()), 0), IndexError, "0-dim", op=_getitem),
    _err((ONES, "a"), IndexError, "valid indices", op=_getitem),
]

GETITEM_OPS = [
    OpInfo("getitem", _getitem, _getitem, GETITEM_SAMPLES, primitives=("GetItem", "IndexAdd"),
           errors=_GETITEM_ERRORS),
    OpInfo("setitem", _setitem, _setitem,
           _gen([(A(4, 3), A(3), (slice(1, 3),)), {}, "slice broadcast"],
                [(A(4, 3), A(2, 3), I(2, 0)), {}, "array"],
                [(A(4, 3), A(), I(1, 3)), {}, "0-d value"],
                [(A(2, 3), A(3), _MASK), {}, "mask"],
                [(A(), A(), ()), {}, "0-d"], [(A(0, 3), A(3), slice(None)), {}, "size-0"],
                [(NC(3, 4), A(1, 4), (Ellipsis, slice(0, 1), slice(None))), {}, "nc"],
                [(A(3, 4), A(1, 3), (I(0, 2, 2), I(1, 1, 3))), {}, "two arrays, extra dim"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, np.ones(4), slice(None)), RuntimeError, "broadcast",
                                op=_setitem),
                           _err((ONES, np.ones(3), 5), IndexError, "out of bounds",
                                op=_setitem)]),
    OpInfo("setitem_scalar", _setitem_scalar, _setitem_scalar,
           _gen([(A(4, 3), (I(0, 0), slice(1, None))), {}, "array"],
                [(A(2, 3), _MASK), {}, "mask"], [(A(), ()), {}, "0-d"],
                [(A(0, 3), slice(None)), {}, "size-0"], [(NC(3, 4), (slice(None), 1)), {}, "nc"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, 5), IndexError,
                                r"setitem: index 5 is out of bounds for dimension 0 with size 2",
                                op=_setitem_scalar),
                           _err((ONES, (0, 0, 0)), IndexError,
                                r"setitem: too many indices.*2-dimensional, but 3",
                                op=_setitem_scalar)]),
    OpInfo("index_put_accumulate",
           lambda x, v, i, j: cr.index_put(x, (i, j), v, accumulate=True),
           lambda x, v, i, j: torch.index_put(x, (i, j), v, accumulate=True),
           _gen([(A(3, 4), A(3), I(0, 0, 2), I(1, 1, -1)), {}, "repeats"],
                [(A(3, 4), A(), I(2, 2), I(0, 0)), {}, "0-d value"],
                [(A(3, 4), A(0), I(), I()), {}, "no indices"]),
           primitives=("IndexAdd",),
           errors=lambda: [_err((ONES, np.ones(2), I(0, 9), I(0, 0)), IndexError, "out of bounds",
                                op=lambda x, v, i, j: cr.index_put(x, (i, j), v, True))]),
    # the scatter-add paths behind integer-array backward: one-hot matmul (few, wide rows),
    # compaction to distinct rows (tall output), bincount, rows split by leading dims, and a
    # non-finite gradient (which must not spread through the one-hot product)
    OpInfo("getitem_backward_paths", _getitem, _getitem,
           _gen([(A(3, 16), I(0, 0, 2)), {}, "one-hot"],
                [(A(9, 2), I(7, 1, 7)), {}, "compact"],
                [(A(3, 2), I(0, 0, 2, 1, 0)), {}, "bincount"],
                [(A(2, 3, 2), (slice(None), I(2, 2, 0))), {}, "leading dims"],
                [(A(2, 3), (Ellipsis, I(1, 1), I(2, 0))), {}, "ravel two arrays"],
                [(A(3, 16), np.array(2)), {}, "0-d index"], [(A(), (None,)), {}, "0-d input"],
                [(A(3, 2), I()), {}, "empty index"]),
           primitives=("GetItem", "IndexAdd"), errors=lambda: _GETITEM_ERRORS()[:3]),
]


def _inf_grad(m, up):
    """The gradient of an embedding-like lookup when the upstream gradient holds an inf."""
    w = m.zeros(3, 16, dtype=up.dtype, requires_grad=True)
    (grad,) = m.autograd.grad(w[m.tensor([0, 0, 2])], w, up)
    return grad


def _inf_sample(dtype, rng):
    up = rng.standard_normal((3, 16)).astype(dtype)
    up[0, 0] = np.inf
    return [Sample((up,), {}, "inf upstream")]


GETITEM_OPS.append(OpInfo("getitem_backward_inf", lambda up: _inf_grad(cr, up),
                          lambda up: _inf_grad(torch, up), _inf_sample, grad=False,
                          errors=lambda: [_err((np.ones((3, 16)), I(0, 3)), IndexError,
                                               "getitem: index 3 is out of bounds for dimension "
                                               "0 with size 3", op=_getitem)]))


GATHER_OPS = [
    OpInfo("gather", cr.gather, torch.gather,
           _gen([(A(3, 4), 1, I([0, 0], [3, 1], [2, 2])), {}, "dim 1 repeats"],
                [(A(3, 4), -2, I([2, 0, 1, 0], [2, 2, 0, 1])), {}, "neg dim, smaller"],
                [(A(2, 3, 2), 0, I([[1, 0]], [[0, 0]])), {}, "3d"],
                [(A(), 0, np.array(0)), {}, "0-d"], [(A(3, 2), 1, I([], [], []).reshape(3, 0)),
                                                     {}, "size-0 index"],
                [(NC(3, 4), 0, I([2, 1, 0, 0])), {}, "nc"]),
           primitives=("GetItem", "IndexAdd"),
           errors=lambda: [_err((ONES, 0, I([0, 5])), RuntimeError, "index 5 is out of bounds"),
                           _err((ONES, 0, I(0, 1)), RuntimeError, "same number of dimensions"),
                           _err((ONES, 1, np.zeros((3, 1), np.int64)), RuntimeError,
                                "Size does not match at dimension 0"),
                           _err((ONES, 2, I([0])), IndexError, "out of range"),
                           _err((ONES, 0, np.array([[0.0]])), RuntimeError, "dtype int32 or int64"),
                           _err((ONES, 0, I([-1])), RuntimeError, "index -1 is out of bounds")]),
    OpInfo("scatter", cr.scatter, torch.scatter,
           _gen([(A(3, 4), 0, I([2, 0, 1, 0]), A(1, 4)), {}, "src"],
                [(A(3, 4), -1, I([3, 1], [0, 2]), A(2, 3)), {}, "neg dim, larger src", 3],
                [(A(3, 4), 1, I([1], [0], [3]), 2.5), {}, "value"],
                [(A(3, 4), 0, I([0, 0, 2]), A(1, 3)), {"reduce": "add"}, "reduce add", 0, 3],
                [(A(), 0, np.array(0), A()), {}, "0-d"],
                [(A(3, 4), 0, I().reshape(0, 4), A(0, 4)), {}, "size-0 index"],
                [(NC(3, 4), 0, I([1, 2, 0, 0]), A(1, 4)), {}, "nc"]),
           primitives=("IndexPut", "IndexAdd"),
           errors=lambda: [_err((ONES, 0, I([3]), 1.0), RuntimeError, "index 3 is out of bounds"),
                           _err((ONES, 0, I([0, 1, 0, 0]), np.ones((1, 4))), RuntimeError,
                                "no larger than"),
                           _err((ONES, 0, I([0]), np.ones((1, 1), np.float32)), RuntimeError,
                                "self.dtype to be equal to src.dtype"),
                           _err((ONES, 0, I([0]), 1.0), RuntimeError, "reduce argument",
                                reduce="max")]),
    OpInfo("scatter_multiply", lambda x, i, s: cr.scatter(x, 0, i, s, reduce="multiply"),
           lambda x, i, s: torch.scatter(x, 0, i, s, reduce="multiply"),
           _gen([(A(3, 2), I([0, 2], [0, 1]), A(2, 2)), {}, "repeats"]), grad=False,
           errors=lambda: [_err((ONES, I([3]), np.ones((1, 1))), RuntimeError,
                                r"scatter\(\): index 3 is out of bounds for dimension 0 with "
                                r"size 2",
                                op=lambda x, i, s: cr.scatter(x, 0, i, s, reduce="multiply"))]),
    OpInfo("scatter_add", cr.scatter_add, torch.scatter_add,
           _gen([(A(3, 4), 0, I([0, 0, 2, 0], [0, 1, 2, 2]), A(2, 4)), {}, "repeats"],
                [(A(2, 3), -1, I([2, 2, 2, 0]), A(1, 5)), {}, "neg dim, larger src", 3],
                [(A(), 0, np.array(0), A()), {}, "0-d"],
                [(A(3, 2), 0, I([]).reshape(0, 2), A(0, 2)), {}, "size-0"]),
           primitives=("IndexAdd",),
           errors=lambda: [_err((ONES, 0, I([2]), np.ones((1, 1))), RuntimeError,
                                "out of bounds"),
                           _err((ONES, 2, I([0]), np.ones((1, 1))), IndexError, "out of range"),
                           _err((ONES, 0, I([[0]]), 1.0), TypeError, "src must be a Tensor")]),
    OpInfo("index_select", cr.index_select, torch.index_select,
           _gen([(A(4, 3), 0, I(3, 0, 3)), {}, "rows repeats"],
                [(A(2, 4), -1, I(1)), {}, "neg dim"], [(A(3, 2), 1, np.array(1)), {}, "0-d idx"],
                [(A(), 0, I(0)), {}, "0-d"], [(A(3, 2), 0, I()), {}, "size-0"],
                [(NC(4, 3), 1, I(2, 2)), {}, "nc"]),
           primitives=("GetItem", "IndexAdd"),
           errors=lambda: [_err((ONES, 0, I([0])), IndexError, "supposed to be a vector"),
                           _err((ONES, 0, I(2)), IndexError, "index 2 is out of bounds"),
                           _err((ONES, 0, np.array([0.0])), RuntimeError, "int32 or int64")]),
    OpInfo("index_add", cr.index_add, torch.index_add,
           _gen([(A(4, 3), 0, I(3, 0, 3), A(3, 3)), {}, "repeats"],
                [(A(2, 4), -1, I(1, 1), A(2, 2)), {"alpha": 0.5}, "neg dim alpha"],
                [(A(), 0, I(0), A()), {}, "0-d"], [(A(3, 2), 0, I(), A(0, 2)), {}, "size-0"],
                [(NC(4, 3), 1, I(2, 0), A(4, 2)), {}, "nc"]),
           primitives=("IndexAdd",),
           errors=lambda: [_err((ONES, 0, I(0, 1), np.ones((3, 3))), RuntimeError,
                                r"Number of indices \(2\) should be equal"),
                           _err((ONES, 0, I(0), np.ones((1, 3), np.float32)), RuntimeError,
                                "same scalar type"),
                           _err((ONES, 0, I(0), np.ones((1, 4))), RuntimeError,
                                "same shape except in dimension 0"),
                           _err((ONES, 0, I(7), np.ones((1, 3))), RuntimeError,
                                r"index_add\(\): index 7 is out of bounds for dimension 0")]),
    OpInfo("index_copy", cr.index_copy, torch.index_copy,
           _gen([(A(4, 3), 0, I(3, 0), A(2, 3)), {}, "rows"],
                [(A(2, 4), -1, I(1, 3), A(2, 2)), {}, "neg dim"],
                [(A(3, 2), 0, I(), A(0, 2)), {}, "size-0"], [(A(), 0, I(0), A()), {}, "0-d"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, 0, I(0, 1), np.ones((1, 3))), RuntimeError,
                                "Number of indices"),
                           _err((ONES, 0, I(5), np.ones((1, 3))), IndexError,
                                r"index_copy\(\): index 5 is out of bounds for dimension 0 with "
                                r"size 2")]),
    OpInfo("index_fill", cr.index_fill, torch.index_fill,
           _gen([(A(4, 3), 0, I(3, 0, 3), 2.5), {}, "scalar repeats"],
                [(A(2, 4), -1, I(1, 3), A()), {}, "0-d tensor value"],
                [(A(), 0, I(0), -1.0), {}, "0-d"], [(A(3, 2), 1, I(), 1.0), {}, "size-0"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, 0, I(0), np.ones(2)), RuntimeError,
                                "0-dimensional value tensor"),
                           _err((ONES, 0, I(5), 1.0), IndexError, "out of bounds")]),
    OpInfo("masked_fill", cr.masked_fill, torch.masked_fill,
           _gen([(A(2, 3), _MASK, -1.5), {}, "scalar"], [(A(2, 3), _MASK, A()), {}, "0-d tensor"],
                [(A(2, 3), np.array([True, False, True]), 0.0), {}, "broadcast mask"],
                [(A(3), _MASK, A()), {}, "mask bigger"], [(A(), np.array(True), 1.0), {}, "0-d"],
                [(A(0, 3), np.zeros((0, 3), bool), 1.0), {}, "size-0"],
                [(NC(3, 2), np.eye(3, 2, dtype=bool), 2.0), {}, "nc"],
                [(np.arange(6).reshape(2, 3), _MASK, 2.7), {}, "int input truncates"]),
           primitives=("Where",),
           errors=lambda: [_err((ONES, np.ones((2, 3), np.int64), 1.0), RuntimeError,
                                "only supports boolean masks"),
                           _err((ONES, _MASK, np.ones(2)), RuntimeError, "0-dimensional value"),
                           _err((ONES, np.array([True, False]), 1.0), RuntimeError,
                                "broadcast")]),
    OpInfo("masked_select", cr.masked_select, torch.masked_select,
           _gen([(A(2, 3), _MASK), {}, "mask"], [(A(3), _MASK), {}, "broadcast input"],
                [(A(), np.array(True)), {}, "0-d"], [(A(0, 2), np.ones(2, bool)), {}, "size-0"],
                [(NC(3, 2), np.eye(3, 2, dtype=bool)), {}, "nc"]),
           primitives=("GetItem", "Expand"),
           errors=lambda: [_err((ONES, np.ones(3)), RuntimeError, "boolean masks")]),
    OpInfo("masked_scatter", cr.masked_scatter, torch.masked_scatter,
           _gen([(A(2, 3), _MASK, A(4)), {}, "mask"], [(A(2, 3), np.array([False, True, True]),
                                                      A(2, 2)), {}, "broadcast mask"],
                [(A(0, 3), np.ones(3, bool), A(2)), {}, "size-0"],
                [(A(), np.array(True), A(1)), {}, "0-d"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, _MASK, np.ones(2)), RuntimeError, "at least 3 elements"),
                           _err((ONES, _MASK, np.ones(3, np.float32)), RuntimeError,
                                "masked_scatter: expected self and source to have same dtypes but "
                                "got (chainrule.)?float64 and (chainrule.)?float32"),
                           _err((ONES, np.ones((2, 3)), np.ones(6)), RuntimeError,
                                "masked_scatter only supports boolean masks, but got mask with "
                                "dtype (chainrule.)?float64")]),
    OpInfo("take", cr.take, torch.take,
           _gen([(A(2, 3), I([5, 0], [5, -1])), {}, "repeats neg"], [(A(), np.array(0)), {}, "0-d"],
                [(A(3, 2), I()), {}, "size-0"], [(NC(3, 4), I(1, 4, 4)), {}, "nc"]),
           primitives=("GetItem", "IndexAdd"),
           errors=lambda: [_err((ONES, I(6)), IndexError, "index 6 on a tensor of 6 elements"),
                           _err((ONES, np.array([1.0])), RuntimeError, "int32 or int64")]),
    OpInfo("take_along_dim", cr.take_along_dim, torch.take_along_dim,
           _gen([(A(3, 4), I([0], [3], [3]), 1), {}, "dim"],
                [(A(3, 4), I([0, 0, 1]).T, -2), {}, "neg dim bcast"],
                [(A(2, 3), I(5, 5, 0)), {}, "flat"], [(A(3, 1), I([0, 1, 1]), 0), {}, "bcast in"],
                [(A(), np.array(0)), {}, "0-d flat"], [(A(3, 4), I().reshape(3, 0), 1), {},
                                                       "size-0 index"]),
           primitives=("GetItem", "IndexAdd", "Expand"),
           errors=lambda: [_err((ONES, I(0), 1), RuntimeError, "same number of dimensions"),
                           _err((ONES, np.array([[0.0]]), 1), RuntimeError,
                                r"take_along_dim\(\): Expected dtype int32 or int64 for index, got "
                                r"(chainrule\.)?float64")]),
    OpInfo("put", cr.put, lambda x, i, s, accumulate=False: x.put(i, s, accumulate),
           _gen([(A(2, 3), I(5, 0, -2), A(3)), {}, "write"],
                [(A(2, 3), I([1, 1], [4, 1]), A(2, 2)), {"accumulate": True}, "accumulate"],
                [(A(), I(0), A(1)), {}, "0-d"], [(A(2, 3), I(), A(0)), {}, "size-0"]),
           primitives=("IndexPut", "IndexAdd"),
           errors=lambda: [_err((ONES, I(6), np.ones(1)), IndexError, "index 6 on a tensor of 6"),
                           _err((ONES, I(0, 1), np.ones(1)), RuntimeError,
                                "same number of elements")]),
    OpInfo("nonzero", cr.nonzero, torch.nonzero,
           _gen([(np.array([[0, 1.5], [2, 0]]),), {}, "2d"],
                [(np.array([[0, 1.5], [2, 0]]),), {"as_tuple": True}, "tuple"],
                [(np.array(3.0),), {}, "0-d"], [(np.array(3.0),), {"as_tuple": True}, "0-d tuple"],
                [(np.zeros((0, 2)),), {}, "size-0"]), grad=False,
           errors=lambda: [_err(([1],), TypeError, "must be Tensor", op=cr.nonzero)]),
    OpInfo("argwhere", cr.argwhere, torch.argwhere,
           _gen([(np.array([[0, 1.5], [2, 0]]),), {}, "2d"], [(np.array(0.0),), {}, "0-d"]),
           grad=False, errors=lambda: [_err(([1],), TypeError,
                                            r"argwhere\(\): argument 'input' must be Tensor, "
                                            r"not list",
                                            op=cr.argwhere)]),
]

INPLACE_OPS = [
    OpInfo("scatter_", _inplace("scatter_"), _inplace("scatter_"),
           _gen([(A(3, 4), 0, I([2, 0, 1, 0]), A(1, 4)), {}, "src"],
                [(A(3, 4), 1, I([1], [0], [3]), -0.5), {}, "value"],
                [(A(), 0, np.array(0), A()), {}, "0-d"],
                [(A(3, 4), 0, I().reshape(0, 4), A(0, 4)), {}, "size-0 index"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, 0, I([3]), 1.0), RuntimeError,
                                r"scatter\(\): index 3 is out of bounds for dimension 0 with "
                                r"size 2",
                                op=_inplace("scatter_")),
                           _err((ONES, 0, I([0]), np.ones((1, 1), np.float32)), RuntimeError,
                                "scatter\\(\\): Expected self.dtype to be equal to src.dtype",
                                op=_inplace("scatter_"))]),
    OpInfo("scatter_add_", _inplace("scatter_add_"), _inplace("scatter_add_"),
           _gen([(A(3, 4), 0, I([0, 0, 2, 0], [0, 1, 2, 2]), A(2, 4)), {}, "repeats"],
                [(A(), 0, np.array(0), A()), {}, "0-d"],
                [(A(3, 2), 0, I().reshape(0, 2), A(0, 2)), {}, "size-0 index"]),
           primitives=("IndexAdd",),
           errors=lambda: [_err((ONES, 0, I([3]), np.ones((1, 1))), RuntimeError,
                                "out of bounds", op=_inplace("scatter_add_")),
                           _err((ONES, 2, I([0]), np.ones((1, 1))), IndexError,
                                r"scatter: Dimension out of range.*but got 2",
                                op=_inplace("scatter_add_"))]),
    OpInfo("index_add_", _inplace("index_add_"), _inplace("index_add_"),
           _gen([(A(4, 3), 0, I(3, 0, 3), A(3, 3)), {}, "repeats"],
                [(A(), 0, I(0), A()), {}, "0-d"], [(A(3, 2), 0, I(), A(0, 2)), {}, "size-0"]),
           primitives=("IndexAdd",),
           errors=lambda: [_err((ONES, 0, I(0, 1), np.ones((3, 3))), RuntimeError,
                                "Number of indices", op=_inplace("index_add_")),
                           _err((ONES, 0, I(5), np.ones((1, 3))), RuntimeError,
                                r"index_add\(\): index 5 is out of bounds for dimension 0",
                                op=_inplace("index_add_"))]),
    OpInfo("masked_fill_", _inplace("masked_fill_"), _inplace("masked_fill_"),
           _gen([(A(2, 3), _MASK, A()), {}, "0-d tensor"],
                [(A(2, 3), np.array([True, False, True]), 1.0), {}, "broadcast"],
                [(A(0, 3), np.zeros((0, 3), bool), 1.0), {}, "size-0"]),
           primitives=("Where",),
           errors=lambda: [_err((np.ones(3), _MASK, 1.0), RuntimeError,
                                r"output with shape \(3,\) doesn't match the broadcast shape "
                                r"\(2, 3\)", op=_inplace("masked_fill_")),
                           _err((ONES, np.ones((2, 3)), 1.0), RuntimeError,
                                "masked_fill only supports boolean masks, but got mask with dtype "
                                "(chainrule.)?float64", op=_inplace("masked_fill_"))]),
    OpInfo("index_fill_", _inplace("index_fill_"), _inplace("index_fill_"),
           _gen([(A(4, 3), 1, I(2, 0), A()), {}, "0-d tensor"],
                [(A(3, 2), 1, I(), 1.0), {}, "size-0 index"],
                [(A(0, 2), 1, I(1), 1.0), {}, "size-0"]),
           primitives=("IndexPut",),
           errors=lambda: [_err((ONES, 0, I([0]), 1.0), IndexError, "vector",
                                op=_inplace("index_fill_")),
                           _err((ONES, 0, I(5), 1.0), IndexError,
                                r"index_fill\(\): index 5 is out of bounds for dimension 0 with "
                                r"size 2", op=_inplace("index_fill_"))]),
]

OPS = GETITEM_OPS + GATHER_OPS + INPLACE_OPS
