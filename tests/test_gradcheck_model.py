"""gradcheck_model: finite-difference check of every parameter gradient of a model."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import Function, gradcheck_model
from chainrule.autograd.gradcheck import GradcheckError


class _WrongScale(Function):
    """y = x * w, with a backward that gets dy/dw wrong by a factor of 2."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        return grad_out * w, (grad_out * x * 2).sum(0)     # deliberately wrong: should be * 1


class WrongLayer(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.scale = nn.Parameter(cr.ones(n) * 0.5)

    def forward(self, x):
        return _WrongScale.apply(x, self.scale)


def test_mlp_passes():
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    report = gradcheck_model(model, cr.randn(2, 4), nn.CrossEntropyLoss(), cr.tensor([0, 2]))
    assert report.passed, str(report)
    assert [p.name for p in report.params] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(p.checked == int(np.prod(p.shape)) for p in report.params)
    assert set(report.layers) == {"0", "2"}
    assert all(p.max_rel_err < 1e-5 for p in report.params)
    assert next(model.parameters()).dtype == cr.float32      # the model itself is untouched


def test_conv_batchnorm_passes():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    x = cr.randn(2, 1, 4, 4)
    report = gradcheck_model(model, x, nn.CrossEntropyLoss(), cr.tensor([1, 2]),
                             max_per_param=12)
    assert report.passed, str(report)
    assert {"0.weight", "1.weight", "1.bias", "4.weight"} <= {p.name for p in report.params}
    assert "PASSED" in str(report)


def test_dropout_is_repeatable():
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.ReLU(), nn.Linear(6, 2))
    x = cr.randn(3, 4)
    state = cr.random.get_rng_state()
    report = gradcheck_model(model, x, nn.CrossEntropyLoss(), cr.tensor([0, 1, 1]))
    assert report.passed, str(report)
    np.testing.assert_array_equal(np.asarray(cr.random.get_rng_state()), np.asarray(state))


def test_regression_loss_without_targets():
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    report = gradcheck_model(model, cr.randn(4, 3), lambda out: (out ** 2).mean())
    assert report.passed


def test_catches_wrong_custom_layer():
    model = nn.Sequential(nn.Linear(3, 4), WrongLayer(4), nn.Linear(4, 2))
    report = gradcheck_model(model, cr.randn(3, 3), nn.CrossEntropyLoss(), cr.tensor([0, 1, 1]))
    assert not report.passed
    assert [p.name for p in report.failed] == ["1.scale"]
    bad = report.failed[0]
    idx, analytical, numerical = bad.worst
    assert analytical == pytest.approx(2 * numerical, rel=1e-4)
    assert report.layers["1"][2] is False and report.layers["2"][2] is True
    assert "WRONG" in str(report) and "1.scale" in str(report)
    with pytest.raises(GradcheckError, match="1.scale"):
        report.raise_if_failed()
