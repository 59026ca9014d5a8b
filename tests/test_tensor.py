"""The Tensor data model: creation, dtypes and promotion, properties and conversions, Python
operators, devices, and repr, each compared with torch."""
import itertools
import operator

import numpy as np
import pytest
import torch

import chainrule as cr

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def same(ours, theirs, dtype=True):
    """Values (and dtype names) of a chainrule and a torch tensor agree."""
    if dtype:
        assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy().astype(np.float64),
                               theirs.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- creation
@pytest.mark.parametrize("data", [[1, 2, 3], [1.0, 2.0], 3, 2.5, True, [[True, False]],
                                  [[1, 2], [3, 4]], [], np.arange(3, dtype=np.int32),
                                  np.array([1.5], dtype=np.float64)])
def test_tensor_infers_dtype_like_torch(data):
    same(cr.tensor(data), torch.tensor(data))


def test_tensor_copies_and_as_tensor_from_numpy_share():
    arr = np.array([1.0, 2.0], dtype=np.float32)
    t = cr.tensor(arr)
    a = cr.as_tensor(arr)
    f = cr.from_numpy(arr)
    arr[0] = 9.0
    assert t[0].item() == 1.0
    assert a[0].item() == 9.0 and f[0].item() == 9.0
    f[1] = 7.0                           # writes through to the array
    assert arr[1] == 7.0
    assert cr.as_tensor(t) is t
    with pytest.raises(TypeError, match="expected np.ndarray"):
        cr.from_numpy([1.0])


def test_tensor_with_dtype_and_requires_grad():
    t = cr.tensor([1, 2], dtype=cr.float64, requires_grad=True)
    assert t.dtype == cr.float64 and t.requires_grad and t.is_leaf


@pytest.mark.parametrize("name,args,kwargs", [
    ("zeros", (2, 3), {}), ("zeros", ((2, 3),), {}), ("ones", ([4],), {}),
    ("ones", (2,), {"dtype": "int64"}), ("full", ((2, 2), 7), {}), ("full", ((2,), 1.5), {}),
    ("full", ((2,), True), {}), ("arange", (5,), {}), ("arange", (1, 4, 0.5), {}),
    ("arange", (0.0, 1.0, 0.25), {}), ("arange", (10, 0, -3), {}), ("linspace", (0, 1, 5), {}),
    ("linspace", (-1, 1, 1), {}), ("logspace", (0, 2, 3), {}), ("eye", (3,), {}),
    ("eye", (2, 3), {}), ("zeros", (0,), {}), ("empty", (2, 0), {}),
])
def test_creation_functions_match_torch(name, args, kwargs):
    ck = {k: getattr(cr, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    tk = {k: getattr(torch, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    ours, theirs = getattr(cr, name)(*args, **ck), getattr(torch, name)(*args, **tk)
    if name.startswith("empty"):
        assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype.name == "float32"
    else:
        same(ours, theirs)


def test_like_functions():
    x = cr.tensor([[1, 2]], dtype=cr.int32)
    for fn in (cr.zeros_like, cr.ones_like, cr.empty_like):
        out = fn(x)
        assert out.shape == (1, 2) and out.dtype == cr.int32
    assert cr.full_like(x, 3).tolist() == [[3, 3]]
    assert cr.zeros_like(x, dtype=cr.float64).dtype == cr.float64
    f = cr.ones(2, 3)
    assert cr.rand_like(f).shape == (2, 3) and cr.randn_like(f).dtype == cr.float32
    r = cr.randint_like(f, 5)
    assert r.shape == (2, 3) and (r.numpy() < 5).all()


def test_random_functions_shapes_dtypes_ranges():
    assert cr.rand(3, 4).dtype == cr.float32
    u = cr.rand(1000).numpy()
    assert (u >= 0).all() and (u < 1).all()
    n = cr.randn(5000, dtype=cr.float64).numpy()
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1) < 0.1
    i = cr.randint(3, 7, (100,))
    assert i.dtype == cr.int64 and set(i.tolist()) <= {3, 4, 5, 6}
    assert cr.randint(5, (2, 2)).shape == (2, 2)
    p = cr.randperm(10)
    assert p.dtype == cr.int64 and sorted(p.tolist()) == list(range(10))


def test_manual_seed_reproducible_and_generator_independent():
    cr.manual_seed(123)
    a = cr.randn(5)
    b = cr.rand(3)
    cr.manual_seed(123)
    assert cr.randn(5).tolist() == a.tolist() and cr.rand(3).tolist() == b.tolist()
    g1, g2 = cr.Generator().manual_seed(7), cr.Generator().manual_seed(7)
    x = cr.randn(4, generator=g1)
    cr.randn(10)                                  # the global generator is separate
    assert cr.randn(4, generator=g2).tolist() == x.tolist()
    assert g1.initial_seed() == 7


def test_get_set_rng_state():
    state = cr.get_rng_state()
    assert isinstance(state, cr.Tensor) and state.dtype == cr.uint8
    a = cr.rand(4)
    cr.set_rng_state(state)
    assert cr.rand(4).tolist() == a.tolist()
    g = cr.Generator().manual_seed(1)
    s = g.get_state()
    x = cr.randperm(8, generator=g)
    g.set_state(s)
    assert cr.randperm(8, generator=g).tolist() == x.tolist()


def test_creation_errors():
    with pytest.raises(RuntimeError, match="negative dimension"):
        cr.zeros(-1)
    with pytest.raises(TypeError):
        cr.zeros(2.5)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        cr.arange(0, 5, 0)
    with pytest.raises(RuntimeError):
        torch.arange(0, 5, 0)


# ---------------------------------------------------------------- dtypes and promotion
def _make(lib, name, kind):
    dtype = getattr(lib, name)
    return lib.zeros((2,) if kind == "dim" else (), dtype=dtype)


@pytest.mark.parametrize("a", DTYPES)
def test_result_type_table_matches_torch(a):
    for b in DTYPES:
        for ka, kb in itertools.product(["dim", "zero"], repeat=2):
            ours = cr.result_type(_make(cr, a, ka), _make(cr, b, kb))
            theirs = torch.result_type(_make(torch, a, ka), _make(torch, b, kb))
            assert ours.name == str(theirs).split(".")[1], (a, ka, b, kb)
        assert cr.promote_types(getattr(cr, a), getattr(cr, b)).name == \
            str(torch.promote_types(getattr(torch, a), getattr(torch, b))).split(".")[1]
    for scalar in (True, 3, 2.5):
        for kind in ("dim", "zero"):
            ours = cr.result_type(_make(cr, a, kind), scalar)
            theirs = torch.result_type(_make(torch, a, kind), scalar)
            assert ours.name == str(theirs).split(".")[1], (a, kind, scalar)


@pytest.mark.parametrize("a", ["float32", "int64", "int32", "uint8", "bool", "float64"])
def test_binary_op_result_dtype_matches_torch(a):
    for b in ["float32", "float64", "int64", "int8", "bool"]:
        for kb in ("dim", "zero"):
            ours = _make(cr, a, "dim") * _make(cr, b, kb)
            theirs = _make(torch, a, "dim") * _make(torch, b, kb)
            assert ours.dtype.name == str(theirs.dtype).split(".")[1], (a, b, kb)
    for scalar in (True, 3, 2.5):
        ours = _make(cr, a, "dim") + scalar
        theirs = _make(torch, a, "dim") + scalar
        assert ours.dtype.name == str(theirs.dtype).split(".")[1], (a, scalar)


def test_float32_never_becomes_float64():
    x = cr.ones(3)
    for other in (np.float64(2.0), 2.0, cr.tensor(2.0, dtype=cr.float64)):
        assert (x * other).dtype == cr.float32


def test_dtype_objects():
    assert cr.float32.is_floating_point and not cr.int64.is_floating_point
    assert cr.float == cr.float32 and cr.double == cr.float64 and cr.long == cr.int64
    assert repr(cr.float32) == "chainrule.float32"
    assert cr.get_default_dtype() == cr.float32
    assert cr.tensor([1.0]).dtype.itemsize == 4


def test_set_default_dtype():
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([1.0]).dtype == cr.float64
        assert cr.zeros(2).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    with pytest.raises(TypeError):
        cr.set_default_dtype(cr.int64)


# ---------------------------------------------------------------- properties and methods
def test_shape_size_ndim_numel():
    x = cr.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and isinstance(x.shape, cr.Size)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24
    assert repr(x.shape) == "chainrule.Size([2, 3, 4])"
    assert x.shape.numel() == 24
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)


def test_item_tolist_numpy():
    assert cr.tensor([2.5]).item() == 2.5 and isinstance(cr.tensor(3).item(), int)
    assert cr.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        cr.tensor([1.0, 2.0]).item()
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert isinstance(x.detach().numpy(), np.ndarray)
    t = cr.tensor([1.0, 2.0])
    t.numpy()[0] = 5.0                             # numpy() shares memory, as in torch
    assert t[0].item() == 5.0


def test_transposes():
    x = cr.arange(6.0).reshape(2, 3)
    assert x.T.shape == (3, 2) and x.T.tolist() == torch.arange(6.0).reshape(2, 3).T.tolist()
    b = cr.zeros(4, 2, 3)
    assert b.mT.shape == (4, 3, 2)
    with pytest.raises(RuntimeError):
        b.T
    with pytest.raises(RuntimeError):
        cr.zeros(3).mT


def test_grad_attributes():
    x = cr.tensor([1.0, 2.0])
    assert not x.requires_grad and x.grad is None and x.grad_fn is None and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.grad_fn is not None and not y.is_leaf and y.requires_grad
    x.requires_grad = False
    assert not x.requires_grad


def test_clone_is_differentiable_and_independent():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.data, x.data)
    (c * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("method,dtype", [("float", "float32"), ("double", "float64"),
                                          ("long", "int64"), ("int", "int32"),
                                          ("bool", "bool"), ("half", "float16")])
def test_dtype_conversion_methods(method, dtype):
    ours = getattr(cr.tensor([0.0, 1.5, -2.0]), method)()
    theirs = getattr(torch.tensor([0.0, 1.5, -2.0]), method)()
    same(ours, theirs)
    assert ours.dtype.name == dtype


def test_to_dtype_keeps_gradient_and_type_as():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(cr.float64)
    assert y.dtype == cr.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == cr.float32 and x.grad.tolist() == [2.0, 4.0]
    assert x.to(cr.float32) is x
    assert cr.tensor([1, 2]).type_as(cr.zeros(1, dtype=cr.float64)).dtype == cr.float64
    assert cr.tensor([1, 2]).to(cr.zeros(1)).dtype == cr.float32


def test_contiguous_and_view_as():
    x = cr.arange(6.0).reshape(2, 3)
    t = x.T
    assert not t.is_contiguous() and t.contiguous().is_contiguous()
    assert x.contiguous() is x
    assert x.view_as(cr.zeros(3, 2)).shape == (3, 2)


def test_len_and_iter():
    x = cr.tensor([[1, 2], [3, 4], [5, 6]])
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and rows[1].tolist() == [3, 4]
    with pytest.raises(TypeError):
        len(cr.tensor(1.0))
    with pytest.raises(TypeError):
        iter(cr.tensor(1.0))


def test_iteration_is_differentiable():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    total = sum(v * v for v in x)
    total.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_python_scalar_conversions():
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3.7)) == 3
    assert bool(cr.tensor([1.0])) and not bool(cr.tensor(0))
    assert [10, 20, 30][cr.tensor(1)] == 20
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        [1, 2][cr.tensor(1.0)]


# ---------------------------------------------------------------- operators
BINARY = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
          operator.floordiv, operator.mod, operator.eq, operator.ne, operator.lt, operator.le,
          operator.gt, operator.ge]


@pytest.mark.parametrize("op", BINARY, ids=lambda f: f.__name__)
def test_binary_operators_match_torch(op):
    a_np = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]], dtype=np.float32)
    b_np = np.array([2.0, 3.0, -0.5], dtype=np.float32)
    a, b = cr.tensor(a_np), cr.tensor(b_np)
    ta, tb = torch.tensor(a_np), torch.tensor(b_np)
    if op is operator.pow:
        a, ta = a.abs(), ta.abs()
    same(op(a, b), op(ta, tb))
    same(op(a, 2), op(ta, 2))                    # tensor op scalar
    same(op(2.5, b), op(2.5, tb))                # reflected: scalar op tensor


@pytest.mark.parametrize("op", [operator.and_, operator.or_, operator.xor],
                         ids=lambda f: f.__name__)
def test_bitwise_operators(op):
    a, b = np.array([True, False, True]), np.array([True, True, False])
    same(op(cr.tensor(a), cr.tensor(b)), op(torch.tensor(a), torch.tensor(b)))
    i, j = np.array([6, 3, 12]), np.array([3, 5, 10])
    same(op(cr.tensor(i), cr.tensor(j)), op(torch.tensor(i), torch.tensor(j)))
    same(op(cr.tensor(i), 5), op(torch.tensor(i), 5))
    same(op(5, cr.tensor(i)), op(5, torch.tensor(i)))


def test_unary_operators_and_matmul():
    a = np.array([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32)
    same(-cr.tensor(a), -torch.tensor(a))
    same(+cr.tensor(a), +torch.tensor(a))
    same(abs(cr.tensor(a)), abs(torch.tensor(a)))
    same(~cr.tensor([True, False]), ~torch.tensor([True, False]))
    same(~cr.tensor([5, 0]), ~torch.tensor([5, 0]))
    same(cr.tensor(a) @ cr.tensor(a), torch.tensor(a) @ torch.tensor(a))


def test_inplace_operators():
    x = cr.tensor([1.0, 2.0])
    y = x
    x += 1
    x -= 0.5
    x *= 4
    x /= 2
    assert y is x and x.tolist() == [3.0, 5.0]
    i = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 1.5
    with pytest.raises(RuntimeError):
        ti = torch.tensor([1, 2])
        ti += 1.5


def test_reflected_operators_with_numpy_scalars_keep_float32():
    x = cr.ones(2)
    assert (np.float64(2.0) * x).dtype == cr.float32
    assert (x + np.float32(1.0)).dtype == cr.float32


def test_operators_are_differentiable():
    a_np = np.array([1.5, 2.0, 3.0])
    a, ta = cr.tensor(a_np, requires_grad=True), torch.tensor(a_np, requires_grad=True)
    out = ((a + 1) * (2 - a) / (a ** 2) + 3 / a - (-a) @ a).sum()
    tout = ((ta + 1) * (2 - ta) / (ta ** 2) + 3 / ta - (-ta) @ ta).sum()
    out.backward()
    tout.backward()
    same(a.grad, ta.grad)


def test_hash_and_equality_semantics():
    x = cr.tensor([1.0, 2.0])
    d = {x: 1}
    assert d[x] == 1
    assert (x == cr.tensor([1.0, 3.0])).tolist() == [True, False]


# ---------------------------------------------------------------- devices
def test_devices():
    x = cr.tensor([1.0])
    assert x.device == cr.device("cpu") and x.device.type == "cpu" and str(x.device) == "cpu"
    assert x.device == "cpu"
    assert repr(cr.device("cuda", 0)) == "device(type='cuda', index=0)"
    assert repr(cr.device("cpu")) == "device(type='cpu')"
    assert cr.device("cuda:1").index == 1
    assert x.to("cpu") is x and x.cpu() is x and x.to(cr.device("cpu")) is x
    assert x.to("cpu", cr.float64).dtype == cr.float64
    assert x.to(device="cpu", dtype=cr.float64).dtype == cr.float64
    assert not x.is_cuda
    assert cr.cuda.is_available() is False
    assert cr.backends.mps.is_available() is False
    assert cr.zeros(2, device="cpu").device.type == "cpu"


def test_cuda_and_bad_devices_give_clear_errors():
    x = cr.tensor([1.0])
    if cr.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="CUDA"):
        x.to("cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        x.cuda()
    with pytest.raises(RuntimeError, match="MPS"):
        x.to("mps")
    with pytest.raises(RuntimeError, match="expected one of cpu, cuda, mps"):
        cr.device("tpu")


# ---------------------------------------------------------------- repr
REPR_CASES = [
    lambda L: L.tensor([1, 2, 3]),
    lambda L: L.tensor([-1, 100]),
    lambda L: L.tensor(3),
    lambda L: L.tensor([1.0, 2.5, -3.0]),
    lambda L: L.tensor([1.0, 2.0]),
    lambda L: L.tensor(3.5),
    lambda L: L.tensor(2.0, dtype=L.float64),
    lambda L: L.tensor([1e-5, 1.0]),
    lambda L: L.tensor([1e10, 1.0]),
    lambda L: L.tensor([123456.0, 1.0]),
    lambda L: L.tensor([0.1, 1000.5]),
    lambda L: L.tensor([[1e-3, 12345.678]]),
    lambda L: L.tensor([1e-9, 1e-8]),
    lambda L: L.tensor([float("nan"), float("inf"), 1.0]),
    lambda L: L.tensor([float("nan"), 1.5]),
    lambda L: L.tensor([-0.0, 0.0]),
    lambda L: L.tensor(True),
    lambda L: L.tensor([True, False]),
    lambda L: L.tensor([[True, False], [False, True]]),
    lambda L: L.zeros(0),
    lambda L: L.zeros(2, 0),
    lambda L: L.zeros(0, dtype=L.int64),
    lambda L: L.zeros(3, 0, dtype=L.float64),
    lambda L: L.tensor([1.0, 2.0], requires_grad=True),
    lambda L: L.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda L: L.tensor([1.0, 2.0], requires_grad=True).sum(),
    lambda L: L.tensor([1.0, 2.0], dtype=L.float64, requires_grad=True) * 2,
    lambda L: L.tensor([1.0, 2.0], dtype=L.float64),
    lambda L: L.tensor([1.0, 2.0], dtype=L.float16),
    lambda L: L.tensor([1, 2], dtype=L.int32),
    lambda L: L.tensor([1, 2], dtype=L.uint8),
    lambda L: L.tensor([[1.5, 2.0], [3.0, 4.25]]),
    lambda L: L.arange(30).reshape(3, 10) * 1000,
    lambda L: L.arange(12.0).reshape(2, 2, 3),
    lambda L: L.arange(24.0).reshape(2, 3, 4) / 7,
    lambda L: L.linspace(0, 1, 20),
    lambda L: L.arange(0, 2000).float(),
    lambda L: L.arange(2000.0).reshape(40, 50),
    lambda L: L.arange(1100).reshape(11, 100),
    lambda L: (L.arange(40.0).reshape(4, 10) / 3).requires_grad_(),
    lambda L: (L.arange(40.0).reshape(4, 10) / 3).requires_grad_() * 2,
]


@pytest.mark.parametrize("case", range(len(REPR_CASES)))
def test_repr_matches_torch(case):
    make = REPR_CASES[case]
    assert repr(make(cr)) == repr(make(torch)).replace("torch.", "chainrule.")


def test_repr_custom_function_name_and_str():
    class Twice(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    y = Twice.apply(cr.tensor([1.0], requires_grad=True))
    assert repr(y) == "tensor([2.], grad_fn=<TwiceBackward>)"
    assert str(cr.tensor([1.0])) == repr(cr.tensor([1.0]))
    assert f"{cr.tensor(2.5):.2f}" == "2.50"


@pytest.mark.parametrize("value", [-1, 255, 300, -129, 2 ** 40])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32"])
def test_python_int_outside_integer_range_wraps_like_torch(value, dtype):
    import torch
    base = [1, 2, 100]
    a = cr.tensor(base, dtype=getattr(cr, dtype))
    t = torch.tensor(base, dtype=getattr(torch, dtype))
    for f in (lambda x: x + value, lambda x: x * value, lambda x: value - x):
        assert f(a).tolist() == f(t).tolist()


def test_gradcheck_error_is_exported():
    from chainrule.autograd import GradcheckError
    assert issubclass(GradcheckError, RuntimeError)
