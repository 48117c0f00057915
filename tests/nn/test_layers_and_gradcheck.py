"""Every layer and loss against finite differences, plus the numerics and shape contracts."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError, ShapeError
from matfit.nn import (
    BatchNorm,
    BinaryCrossEntropy,
    CrossEntropy,
    Dense,
    Dropout,
    LeakyReLU,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    gradcheck,
)

LAYERS = {
    "dense_he": lambda: Dense(4, init="he"),
    "dense_xavier_nobias": lambda: Dense(4, init="xavier", bias=False),
    "dense_lecun": lambda: Dense(4, init="lecun"),
    "relu": ReLU,
    "leaky_relu": lambda: LeakyReLU(0.1),
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "softmax": Softmax,
    "batchnorm": BatchNorm,
    "dropout": lambda: Dropout(0.4),
}


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_passes_gradcheck(name, training):
    X = np.random.default_rng(1).standard_normal((7, 5)) * 2
    report = gradcheck(LAYERS[name](), X, training=training, max_entries=None)
    assert report.passed(1e-6), report
    assert "X" in report


def test_a_gradcheck_catches_a_wrong_backward_pass():
    class BadTanh(Tanh):
        def _backward(self, dY, need_dx):
            return dY * (1 - self._Y)               # should be 1 - Y**2

    X = np.random.default_rng(2).standard_normal((6, 3))
    # the wrong derivative 1 - y differs from 1 - y^2 by y(1 - y): ~100% error somewhere
    report = gradcheck(BadTanh(), X)
    assert report["X"] > 0.5 and not report.passed(1e-3)
    assert gradcheck(Tanh(), X).passed(1e-6)


@pytest.mark.parametrize(("loss", "target"), [
    ("cross_entropy", np.array([0, 2, 1, 2, 0, 1])),
    ("cross_entropy", np.eye(3)[[0, 2, 1, 2, 0, 1]]),
    ("binary_cross_entropy", np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0],
                                       [1, 0, 0], [0, 1, 1]], float)),
    ("mean_squared_error", np.random.default_rng(3).standard_normal((6, 3))),
])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_every_loss_passes_gradcheck(loss, target, scale):
    Z = np.random.default_rng(4).standard_normal((6, 3)) * scale
    # finite-difference noise grows with the loss value (~eps * |L| / h)
    assert gradcheck(loss, Z, target, max_entries=None).passed(1e-6 * scale)


def test_a_full_model_with_every_layer_passes_gradcheck_with_its_loss():
    model = Sequential([Dense(8), BatchNorm(), LeakyReLU(), Dropout(0.2), Dense(6, init="xavier"),
                        Tanh(), Dense(3), Softmax()], n_features=5, dtype=np.float64, seed=0)
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((10, 5)), rng.integers(0, 3, 10)
    report = gradcheck(model, X, y, loss=None)
    assert report.passed(1e-6), report
    assert set(report) == {"X", *model.params}


@pytest.mark.parametrize("loss", [CrossEntropy(), BinaryCrossEntropy(), MeanSquaredError()])
def test_losses_are_finite_with_exact_gradients_at_logits_of_1e4(loss):
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    targets = {"cross_entropy": np.array([1, 2]),
               "binary_cross_entropy": np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]),
               "mean_squared_error": np.zeros((2, 3))}[loss.name]
    value, grad = loss.value_and_grad(Z.copy(), loss.check_targets(Z.shape, targets))
    if loss.name == "mean_squared_error":
        assert value == pytest.approx(5 * 1e8 / 6, rel=1e-15, abs=0)  # five entries of 1e4^2
        assert_allclose(grad, 2 * Z / 6, rtol=1e-15, atol=0)
    if loss.name == "cross_entropy":
        assert value == pytest.approx((2e4 + 0.0) / 2)        # -log softmax = 2e4, then 0
        assert_allclose(grad, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-300)
    if loss.name == "binary_cross_entropy":
        assert value == pytest.approx((3e4 + np.log(2)) / 6)   # three wrong by 1e4, one at 0
        assert_allclose(grad * 6, [[1, -1, -0.5], [-1, 0, 0]], atol=1e-300)
    for dtype in (np.float32, np.float64):
        v32, g32 = loss.value_and_grad(Z.astype(dtype), loss.check_targets(Z.shape, targets))
        assert g32.dtype == dtype
        # +-1e4 and 0 are exact in float32: the same value and gradient as in float64
        assert v32 == pytest.approx(value, rel=1e-6, abs=0)
        assert_allclose(g32, grad, rtol=1e-6, atol=1e-30)


def test_sigmoid_and_softmax_layers_do_not_overflow():
    X = np.array([[-1e4, 1e4, 0.0]], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        s = Sigmoid()
        s.build(3, rng=np.random.default_rng(0), dtype=np.float32)
        assert_allclose(s.forward(X), [[0.0, 1.0, 0.5]])
        sm = Softmax()
        sm.build(3, rng=np.random.default_rng(0), dtype=np.float32)
        assert_allclose(sm.forward(X), [[0.0, 1.0, 0.0]])


def test_dense_initialisations_have_their_documented_scales():
    rng = np.random.default_rng(0)
    for init, expected_std in [("he", np.sqrt(2 / 400)), ("lecun", np.sqrt(1 / 400)),
                               ("xavier", np.sqrt(2 / (400 + 300))),
                               ("torch", 1 / np.sqrt(3 * 400))]:
        layer = Dense(300, init=init)
        layer.build(400, rng=rng, dtype=np.float64)
        assert layer.params["W"].std() == pytest.approx(expected_std, rel=0.02), init
        assert layer.params["W"].dtype == np.float64


def test_dropout_keeps_the_expectation_and_is_identity_in_eval():
    layer = Dropout(0.3)
    layer.build(1000, rng=np.random.default_rng(0), dtype=np.float64)
    X = np.ones((200, 1000))
    Y = layer.forward(X, training=True)
    assert Y.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean(Y == 0) == pytest.approx(0.3, abs=0.01)
    assert_allclose(layer.forward(X, training=False), X)


def test_batchnorm_needs_two_samples_in_training():
    bn = BatchNorm()
    bn.build(3, rng=np.random.default_rng(0), dtype=np.float64)
    with pytest.raises(ShapeError, match="at least 2 samples"):
        bn.forward(np.ones((1, 3)), training=True)
    assert bn.forward(np.ones((1, 3)), training=False).shape == (1, 3)


def test_forward_names_a_transposed_input():
    model = Sequential([Dense(3), ReLU(), Dense(10)], n_features=64, seed=0)
    with pytest.raises(ShapeError, match=r"X looks transposed: X.T has shape \(5, 64\)"):
        model.forward(np.ones((64, 5)))


def test_layers_and_models_reject_bad_arguments():
    with pytest.raises(InvalidParameterError, match="units must be"):
        Dense(0)
    with pytest.raises(InvalidParameterError, match="init must be one of"):
        Dense(3, init="glorot")
    with pytest.raises(InvalidParameterError, match=r"did you pass the class"):
        Sequential([Dense(3), ReLU])
    with pytest.raises(InvalidParameterError, match=r"Dropout\(p=1.0\)"):
        Dropout(1.0)
    with pytest.raises(InvalidParameterError, match="momentum"):
        BatchNorm(momentum=2.0)
