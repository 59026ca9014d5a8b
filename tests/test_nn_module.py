"""nn.Module and the containers: registration, iteration, modes, conversion, state_dict, hooks
and reprs, checked against torch.nn where torch defines the behaviour."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn


def _both(build):
    """The same model in torch and chainrule, chainrule's weights copied from torch's."""
    t, c = build(torch), build(cr)
    c.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, c


def _repr(m):
    return repr(m).replace("torch.", "chainrule.")


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.register_buffer("running", cr.zeros(3))
        self.register_buffer("scratch", cr.ones(2), persistent=False)
        self.scale = nn.Parameter(cr.ones(1))
        self.plain = 5

    def forward(self, x):
        return self.fc(x) * self.scale + self.running


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Block()
        self.b = nn.Sequential(nn.ReLU(), nn.Linear(3, 2, bias=False))
        self.shared = self.a.fc        # registered twice: yielded once by parameters()

    def forward(self, x):
        return self.b(self.a(x))


# ---- registration and iteration ----
def test_setattr_registers_parameters_buffers_and_modules():
    b = Block()
    assert list(b._parameters) == ["scale"]
    assert list(b._buffers) == ["running", "scratch"]
    assert list(b._modules) == ["fc"]
    assert b.plain == 5 and "plain" not in b._parameters
    b.scale = None
    assert b._parameters["scale"] is None
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        b.scale = cr.ones(1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'fc'"):
        b.fc = 3
    b.running = cr.full((3,), 2.0)      # reassigning a buffer keeps it a buffer
    assert "running" in b._buffers
    del b.fc
    assert "fc" not in b._modules


def test_named_members_and_dedup():
    n = Net()
    names = [k for k, _ in n.named_parameters()]
    assert names == ["a.scale", "a.fc.weight", "a.fc.bias", "b.1.weight"]
    assert len(list(n.parameters())) == 4
    assert [k for k, _ in n.named_parameters(remove_duplicate=False)] == \
        ["a.scale", "a.fc.weight", "a.fc.bias", "b.1.weight", "shared.weight", "shared.bias"]
    assert [k for k, _ in n.named_buffers()] == ["a.running", "a.scratch"]
    assert [k for k, _ in n.named_children()] == ["a", "b", "shared"]
    assert [k for k, _ in n.named_modules()] == ["", "a", "a.fc", "b", "b.0", "b.1"]
    assert len(list(n.modules())) == 6 and len(list(n.children())) == 3
    assert [k for k, _ in n.named_parameters(prefix="net", recurse=False)] == []
    assert [k for k, _ in n.a.named_parameters(recurse=False)] == ["scale"]
    assert n.get_submodule("b.1") is n.b[1]
    assert n.get_parameter("a.fc.bias") is n.a.fc.bias


def test_register_errors_and_add_module():
    m = nn.Module()
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", cr.zeros(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", nn.Parameter(cr.zeros(1)))
    with pytest.raises(TypeError, match="chainrule.nn.Parameter or None required"):
        m.register_parameter("w", cr.zeros(1))
    with pytest.raises(TypeError, match="chainrule.Tensor or None required"):
        m.register_buffer("b", [1.0])
    m.x = 1
    with pytest.raises(KeyError, match="attribute 'x' already exists"):
        m.register_buffer("x", cr.zeros(1))
    m.add_module("lin", nn.Linear(2, 2))
    m.register_module("act", nn.ReLU())
    assert list(m._modules) == ["lin", "act"]
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("bad", 3)
    m.register_parameter("none", None)
    assert m.none is None and [k for k, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        m.missing
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        m(cr.zeros(1))


def test_call_runs_forward():
    class Twice(nn.Module):
        def forward(self, x, k=2):
            return x * k
    assert Twice()(cr.tensor([1.0, 2.0]), k=3).tolist() == [3.0, 6.0]


# ---- modes, grads, conversion, apply ----
def test_train_eval_requires_grad_zero_grad():
    n = Net()
    assert n.training and n.b[0].training
    assert n.eval() is n and not n.training and not n.b[1].training
    n.train()
    assert n.a.fc.training
    with pytest.raises(ValueError, match="boolean"):
        n.train("yes")
    n(cr.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in n.parameters())
    n.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in n.parameters())
    n.zero_grad()
    assert all(p.grad is None for p in n.parameters())
    n.requires_grad_(False)
    assert not any(p.requires_grad for p in n.parameters())


def test_to_dtype_float_double_half():
    n = Net()
    n.a.register_buffer("count", cr.tensor(3))
    n.double()
    assert all(p.dtype is cr.float64 for p in n.parameters())
    assert n.a.running.dtype is cr.float64 and n.a.count.dtype is cr.int64
    assert isinstance(n.a.fc.weight, nn.Parameter) and n.a.fc.weight.requires_grad
    assert n(cr.randn(2, 4, dtype=cr.float64)).dtype is cr.float64
    n.float()
    assert all(p.dtype is cr.float32 for p in n.parameters())
    n.half()
    assert n.a.fc.weight.dtype is cr.float16
    n.to(cr.float32)
    assert n.b[1].weight.dtype is cr.float32 and n.to("cpu") is n


def test_apply_order():
    seen = []
    Net().apply(lambda m: seen.append(type(m).__name__))
    # as torch: a module shared under two names is visited under each
    assert seen == ["Linear", "Block", "ReLU", "Linear", "Sequential", "Linear", "Net"]

    def init_fn(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)
    n = Net().apply(init_fn)
    assert not n.b[1].weight.detach().numpy().any()


# ---- state_dict ----
def test_state_dict_keys_match_torch_and_roundtrip():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Sequential(
            lib.nn.Linear(4, 2), lib.nn.PReLU()), lib.nn.Embedding(5, 2, padding_idx=1))
    t, c = _both(build)
    assert list(c.state_dict()) == list(t.state_dict())
    for (k, a), (_, b) in zip(c.state_dict().items(), t.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    sd = Block().state_dict()
    assert list(sd) == ["scale", "running", "fc.weight", "fc.bias"]   # scratch: not persistent
    assert not sd["scale"].requires_grad
    assert Block().state_dict(keep_vars=True)["scale"].requires_grad
    assert list(Block().state_dict(prefix="blk.")) == ["blk.scale", "blk.running",
                                                       "blk.fc.weight", "blk.fc.bias"]


def test_load_state_dict_strict_errors_list_everything():
    b = Block()
    sd = OrderedDict(Block().state_dict())
    del sd["fc.bias"]
    sd["extra"] = cr.zeros(1)
    sd["fc.weight"] = cr.zeros(2, 2)
    with pytest.raises(RuntimeError) as info:
        b.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("Error(s) in loading state_dict for Block:")
    assert 'Missing key(s) in state_dict: "fc.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    assert "size mismatch for fc.weight: copying a param with shape" in msg
    assert "(2, 2)" in msg and "(3, 4)" in msg
    # non-strict: shape mismatches still raise, missing/unexpected are returned
    sd["fc.weight"] = np.full((3, 4), 2.0, dtype=np.float32)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["extra"]
    missing, unexpected = res
    assert missing == ["fc.bias"]
    assert (b.fc.weight.detach().numpy() == 2.0).all()
    assert repr(b.load_state_dict(Block().state_dict())) == "<All keys matched successfully>"


def test_load_state_dict_copies_in_place_and_casts():
    b = Block()
    w = b.fc.weight
    b.load_state_dict({k: v.numpy().astype(np.float64) for k, v in Block().state_dict().items()})
    assert b.fc.weight is w and w.dtype is cr.float32


# ---- hooks ----
def test_forward_pre_and_post_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(cr.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), (lin.bias.detach().numpy() + 1)[None]
                               .repeat(3, 0), rtol=1e-6)
    assert calls == [cr.Size([3, 2])]
    h1.remove()
    h2.remove()
    assert lin(cr.zeros(1, 2)).shape == (1, 2) and len(calls) == 1
    with lin.register_forward_hook(lambda m, a, o: calls.append(1)):
        lin(cr.zeros(1, 2))
    lin(cr.zeros(1, 2))
    assert len(calls) == 2
    lin.register_forward_pre_hook(lambda m, a, kw: ((a[0] + 1,), kw), with_kwargs=True)
    lin.register_forward_hook(lambda m, a, kw, o: o * 0, with_kwargs=True)
    assert not lin(cr.zeros(1, 2)).detach().numpy().any()


def _grads(g):
    return [None if x is None else x.detach().numpy().copy() for x in g]


@pytest.mark.parametrize("input_requires_grad", [True, False])
@pytest.mark.parametrize("kind", ["linear", "sequential"])
def test_full_backward_hooks_match_torch(kind, input_requires_grad):
    def build(lib):
        if kind == "linear":
            return lib.nn.Linear(4, 3)
        return lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Tanh(), lib.nn.Linear(3, 2))
    t, c = _both(build)
    logs = {"t": [], "c": []}
    for model, key in ((t, "t"), (c, "c")):
        mods = [model] + (list(model) if kind == "sequential" else [])
        for m in mods:
            m.register_full_backward_hook(
                lambda mod, gi, go, key=key: logs[key].append(
                    (type(mod).__name__, _grads(gi), _grads(go))))
            m.register_full_backward_pre_hook(
                lambda mod, go, key=key: logs[key].append(("pre " + type(mod).__name__,
                                                           _grads(go), [])))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    tx, cx = torch.tensor(x, requires_grad=input_requires_grad), \
        cr.tensor(x, requires_grad=input_requires_grad)
    with pytest.warns(UserWarning) if not input_requires_grad else _nullcontext():
        (t(tx) ** 2).sum().backward()
    (c(cx) ** 2).sum().backward()
    assert [e[0] for e in logs["c"]] == [e[0] for e in logs["t"]]
    for (name, gi_t, go_t), (_, gi_c, go_c) in zip(logs["t"], logs["c"]):
        for a, b in zip(gi_t + go_t, gi_c + go_c):
            assert (a is None) == (b is None), name
            if a is not None:
                np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=name)
    for (n, p), (_, q) in zip(c.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_backward_hook_can_replace_grad_input():
    lin = nn.Linear(3, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 7,))
    x = cr.randn(4, 3, requires_grad=True)
    lin(x).sum().backward()
    assert (x.grad.numpy() == 7).all()


# ---- repr ----
def test_repr_matches_torch():
    def build(lib):
        n = lib.nn
        return n.Sequential(OrderedDict([
            ("fc", n.Linear(3, 4)), ("act", n.LeakyReLU(0.2, inplace=True)),
            ("blocks", n.ModuleList([n.Linear(4, 4), n.Linear(4, 4), n.Linear(4, 4),
                                     n.Dropout(0.1)])),
            ("heads", n.ModuleDict({"a": n.Bilinear(2, 3, 4), "b": n.Identity()})),
            ("emb", n.Embedding(10, 3, padding_idx=0, max_norm=1.0)),
            ("flat", n.Flatten()), ("unflat", n.Unflatten(1, (2, 2))),
            ("sm", n.Softmax(dim=-1)), ("gelu", n.GELU("tanh")), ("prelu", n.PReLU(3)),
            ("none", None)]))
    t, c = build(torch), build(cr)
    assert repr(c) == _repr(t)
    assert repr(cr.nn.ModuleList()) == "ModuleList()"
    assert repr(nn.Sequential()) == "Sequential()"


def test_parameter_containers_repr_match_torch():
    for lib in (torch, cr):
        lib.pl = lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(2, 3)), lib.zeros(4)])
        lib.pd = lib.nn.ParameterDict({"b": lib.nn.Parameter(lib.zeros(2)), "a": lib.ones(1)})
    assert repr(cr.pl) == _repr(torch.pl)
    assert repr(cr.pd) == _repr(torch.pd)


def test_extra_repr_multiline():
    class M(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"
    assert repr(M()) == "M(\n  a=1\n  b=2\n)"


# ---- containers ----
def test_sequential_indexing_and_mutation():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear) and isinstance(s[1], nn.ReLU)
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        s[3]
    s.append(nn.Sigmoid())
    s.insert(0, nn.Identity())
    assert [type(m).__name__ for m in s] == ["Identity", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert list(s._modules) == ["0", "1", "2", "3", "4"]
    s.extend([nn.Tanh()])
    del s[0]
    assert list(s._modules) == ["0", "1", "2", "3", "4"] and isinstance(s[0], nn.Linear)
    s[4] = nn.ReLU()
    assert isinstance(s[-1], nn.ReLU)
    assert isinstance(s.pop(-1), nn.ReLU) and len(s) == 4
    s2 = s + nn.Sequential(nn.Tanh())
    assert len(s2) == 5 and len(s * 2) == 8
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert list(od._modules) == ["fc", "act"] and od.fc is od[0]
    assert od(cr.randn(3, 2)).shape == (3, 2)
    assert s(cr.randn(5, 2)).shape == (5, 1)


def test_sequential_matches_torch():
    def build(lib):
        return lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.ReLU(), lib.nn.Linear(5, 2))
    t, c = _both(build)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(c(cr.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.insert(1, nn.Tanh())
    ml.extend([nn.Sigmoid()])
    assert [type(m).__name__ for m in ml] == ["Linear", "Tanh", "Linear", "Linear", "ReLU",
                                             "Sigmoid"]
    del ml[1]
    assert list(ml._modules) == [str(i) for i in range(5)]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    ml[0] = nn.Identity()
    assert isinstance(ml[0], nn.Identity)
    ml += [nn.ReLU()]
    assert len(ml) == 6 and isinstance(ml.pop(-1), nn.ReLU)
    with pytest.raises(TypeError, match="iterable"):
        ml.extend(nn.ReLU())
    md = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    assert list(md) == ["b", "a"] and "a" in md and len(md) == 2
    md["c"] = nn.Tanh()
    md.update([("d", nn.Identity())])
    assert list(md.keys()) == ["b", "a", "c", "d"]
    assert isinstance(md.pop("a"), nn.ReLU) and "a" not in md
    assert [k for k, _ in md.items()] == ["b", "c", "d"] and len(list(md.values())) == 3
    assert [k for k, _ in md.named_parameters()] == ["b.weight", "b.bias"]
    md.clear()
    assert len(md) == 0


def test_parameter_list_and_dict():
    pl = nn.ParameterList([nn.Parameter(cr.zeros(2)), cr.ones(3)])
    assert isinstance(pl[1], nn.Parameter) and pl[1].requires_grad
    pl.append(cr.zeros(1))
    pl.extend([nn.Parameter(cr.zeros(4))])
    assert len(pl) == 4 and [k for k, _ in pl.named_parameters()] == ["0", "1", "2", "3"]
    assert len(pl[1:3]) == 2 and [p.shape[0] for p in pl] == [2, 3, 1, 4]
    pl[0] = cr.ones(5)
    assert pl[0].shape == (5,)
    pd = nn.ParameterDict({"w": cr.zeros(2)})
    pd["b"] = nn.Parameter(cr.ones(1))
    pd.update({"z": cr.zeros(1), "c": cr.zeros(1)})     # a plain dict goes in key order
    assert list(pd) == ["w", "b", "c", "z"] and isinstance(pd["w"], nn.Parameter)
    assert "w" in pd and pd.get("nope") is None and len(pd) == 4
    assert pd.pop("w").shape == (2,) and "w" not in pd
    with pytest.raises(KeyError):
        pd["w"]

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.pl, self.pd = pl, pd
    assert [k for k, _ in Holder().named_parameters()][:2] == ["pl.0", "pl.1"]
    assert "pd.b" in Holder().state_dict()


def test_parameter():
    p = nn.Parameter(cr.tensor([1.0, 2.0]))
    assert p.requires_grad and p.is_leaf and isinstance(p, cr.Tensor)
    assert not nn.Parameter(cr.zeros(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.], requires_grad=True)")


def test_backward_hook_grad_input_has_one_entry_per_tensor_argument():
    def build(lib):
        return lib.nn.Bilinear(2, 3, 4)
    t, c = _both(build)
    x1 = np.ones((5, 2), np.float32)
    x2 = np.ones((5, 3), np.float32)
    logs = {}
    for model, lib, key in ((t, torch, "t"), (c, cr, "c")):
        model.register_full_backward_hook(
            lambda m, gi, go, key=key: logs.__setitem__(key, _grads(gi)))
        model(lib.tensor(x1), lib.tensor(x2, requires_grad=True)).sum().backward()
    for a, b in zip(logs["c"], logs["t"]):     # torch gives zeros for x1 (no grad)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert c.get_buffer is not None and Block().get_buffer("running").shape == (3,)
