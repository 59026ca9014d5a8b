"""Loss modules against torch.nn: outputs, input gradients, weight buffers in state_dict, reprs;
plus the documented edge behaviour (empty batch, clamped logs, strict shapes)."""
import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn as nn
import chainrule.nn.functional as F


def _f(rng, *shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, shape).astype(np.float32)


def _cases():
    rng = np.random.default_rng(0)
    x, y = _f(rng, 4, 3), _f(rng, 4, 3)
    p, t01 = _f(rng, 4, 3, low=0.05, high=0.95), _f(rng, 4, 3, low=0.0, high=1.0)
    idx = np.array([0, 2, 1, -100])
    w3 = _f(rng, 3, low=0.2, high=2.0)
    sign = np.sign(_f(rng, 4, 3)).astype(np.float32)
    return [
        ("L1Loss", {}, (x, y)),
        ("MSELoss", {"reduction": "sum"}, (x, y)),
        ("SmoothL1Loss", {"beta": 0.5}, (x, y)),
        ("HuberLoss", {"delta": 0.7, "reduction": "none"}, (x, y)),
        ("CrossEntropyLoss", {}, (x, idx)),
        ("CrossEntropyLoss", {"weight": w3, "label_smoothing": 0.1, "ignore_index": 1},
         (x, np.array([0, 1, 2, 2]))),
        ("CrossEntropyLoss", {"weight": w3}, (_f(rng, 2, 3, 2), np.array([[0, 2], [1, 1]]))),
        ("NLLLoss", {"weight": w3, "reduction": "sum"}, (-np.abs(x), idx)),
        ("BCELoss", {"weight": w3}, (p, t01)),
        ("BCEWithLogitsLoss", {"weight": w3, "pos_weight": w3 + 1}, (x, t01)),
        ("KLDivLoss", {"reduction": "batchmean"}, (-np.abs(x), p)),
        ("KLDivLoss", {"log_target": True}, (-np.abs(x), -np.abs(y))),
        ("PoissonNLLLoss", {"full": True}, (x, np.abs(y) * 2)),
        ("PoissonNLLLoss", {"log_input": False, "eps": 1e-4}, (p, np.abs(y))),
        ("GaussianNLLLoss", {"full": True}, (x, y, p)),
        ("CosineEmbeddingLoss", {"margin": 0.1}, (x, y, np.array([1, -1, 1, -1]))),
        ("MarginRankingLoss", {"margin": 0.2}, (x, y, sign)),
        ("TripletMarginLoss", {"swap": True}, (x, y, p)),
        ("HingeEmbeddingLoss", {"margin": 0.5}, (x, sign)),
        ("MultiMarginLoss", {"p": 2, "weight": w3}, (x, np.array([0, 2, 1, 1]))),
        ("SoftMarginLoss", {}, (x, sign)),
        ("MultiLabelSoftMarginLoss", {"weight": w3}, (x, (t01 > 0.5).astype(np.float32))),
        ("MultiLabelMarginLoss", {}, (x, np.array([[0, -1, 1], [2, 1, -1], [1, 1, 0],
                                                   [-1, 0, 0]]))),
    ]


CASES = _cases()
IDS = [f"{c[0]}{sorted(k for k in c[1])}" for c in CASES]


def _build(name, kwargs):
    ck = {k: cr.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return getattr(nn, name)(**ck), getattr(torch.nn, name)(**tk)


@pytest.mark.parametrize("name,kwargs,inputs", CASES, ids=IDS)
def test_loss_module_matches_torch(name, kwargs, inputs):
    ours, theirs = _build(name, kwargs)
    # torch has no target gradient for soft_margin_loss
    grad = [a.dtype.kind == "f" and not (name == "SoftMarginLoss" and i == 1)
            for i, a in enumerate(inputs)]
    c_in = [cr.tensor(a, requires_grad=g) for a, g in zip(inputs, grad)]
    t_in = [torch.tensor(a, requires_grad=g) for a, g in zip(inputs, grad)]
    out_c, out_t = ours(*c_in), theirs(*t_in)
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    up = np.random.default_rng(1).standard_normal(tuple(out_t.shape)).astype(np.float32)
    out_c.backward(cr.tensor(up))
    out_t.backward(torch.tensor(up))
    for i, (a, b) in enumerate(zip(c_in, t_in)):
        if b.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}: grad of input {i}")
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[k].numpy(), v.numpy())
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction


def test_legacy_size_average_and_reduce_flags():
    x, y = cr.randn(3, 2), cr.randn(3, 2)
    with pytest.warns(UserWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.MSELoss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning):
        out = F.l1_loss(x, y, size_average=False)
    np.testing.assert_allclose(out.item(), F.l1_loss(x, y, reduction="sum").item(), rtol=1e-6)


def test_empty_batch_mean_is_nan_with_zero_gradient():
    # chainrule's documented choice, as torch: a mean over no elements is nan, never an error
    x = cr.zeros(0, 3, requires_grad=True)
    for loss in (F.cross_entropy(x, cr.zeros(0, dtype=cr.int64)), F.mse_loss(x, cr.zeros(0, 3)),
                 F.multi_margin_loss(x, cr.zeros(0, dtype=cr.int64))):
        assert np.isnan(loss.item())
        (g,) = cr.autograd.grad([loss], [x])
        assert tuple(g.shape) == (0, 3)
    assert F.cross_entropy(x, cr.zeros(0, dtype=cr.int64), reduction="sum").item() == 0


def test_all_targets_ignored_gives_nan_and_zero_gradient_as_torch():
    x = cr.randn(2, 3, requires_grad=True)
    loss = F.cross_entropy(x, cr.tensor([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    assert not x.grad.numpy().any()


def test_binary_cross_entropy_clamps_logs_at_minus_100():
    x = cr.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = cr.tensor([0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy(x, y, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [0, 0, 100, 100])
    loss.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_elementwise_losses_refuse_to_broadcast():
    for fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy,
               F.binary_cross_entropy_with_logits, F.kl_div, F.soft_margin_loss):
        with pytest.raises(ValueError, match=r"target shape \(4, 1\) differs from input shape "
                                             r"\(4, 3\)"):
            fn(cr.rand(4, 3), cr.rand(4, 1))
    with pytest.raises(ValueError, match=r"weight shape \(3,\) differs from input shape"):
        F.mse_loss(cr.rand(4, 3), cr.rand(4, 3), weight=cr.rand(3))


def test_cross_entropy_target_errors():
    x = cr.randn(4, 3)
    with pytest.raises(IndexError, match=r"cross_entropy: target 3 is out of bounds: class "
                                         r"indices must be in \[0, 2\] \(C=3\)"):
        F.cross_entropy(x, cr.tensor([0, 1, 3, 0]))
    with pytest.raises(IndexError, match=r"target -2 is out of bounds.*ignore_index=-1"):
        F.cross_entropy(x, cr.tensor([0, 1, -2, -1]), ignore_index=-1)
    with pytest.raises(RuntimeError, match=r"expected class indices"):
        F.cross_entropy(x, cr.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"batch_size \(4\) to match target batch_size \(5\)"):
        F.cross_entropy(x, cr.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(RuntimeError, match=r"expected target of shape \(2, 4\)"):
        F.cross_entropy(cr.randn(2, 3, 4), cr.tensor([[0, 1, 2], [0, 1, 2]]))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, cr.tensor([0, 1, 2, 0]), label_smoothing=1.5)
    F.cross_entropy(x, cr.tensor([0, 1, -100, 2]))   # ignore_index itself is fine


def test_float32_losses_stay_float32():
    x, y = cr.randn(4, 3), cr.rand(4, 3)
    for out in (F.mse_loss(x, y), F.cross_entropy(x, cr.tensor([0, 1, 2, 0])),
                F.binary_cross_entropy_with_logits(x, y), F.gaussian_nll_loss(x, y, 0.5),
                F.kl_div(x, y, reduction="batchmean"), F.poisson_nll_loss(x, y, full=True),
                F.triplet_margin_loss(x, y, y)):
        assert out.dtype is cr.float32
