"""fit/predict: learning checks (XOR, digits), invariants between equivalent set-ups, contracts."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError, NotFittedError, ShapeError
from matfit.nn import (
    BatchNorm,
    Dense,
    Dropout,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    evaluate,
    fit,
    predict,
    predict_proba,
)
from matfit.optim import Adam, sgd

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
XOR_y = np.array([0, 1, 1, 0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_xor_with_a_2_4_1_network_and_momentum(seed):
    model = Sequential([Dense(4, init="xavier"), Tanh(), Dense(1), Sigmoid()], seed=seed)
    history = fit(model, XOR_X, XOR_y, loss="binary_cross_entropy",
                  optimizer=sgd(0.5, momentum=0.9), epochs=400, batch_size=4, seed=seed)
    assert history["loss"][-1] < 0.02
    np.testing.assert_array_equal(predict(model, XOR_X), XOR_y)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < history["loss"][0] / 20


def _digits():
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    return model_selection.train_test_split(X / 16.0, y, test_size=0.25, random_state=0,
                                            stratify=y)


def test_load_digits_reaches_97_percent_test_accuracy():
    Xtr, Xte, ytr, yte = _digits()
    model = Sequential([Dense(128), ReLU(), Dense(10), Softmax()], seed=0)
    history = fit(model, Xtr, ytr, lr=1e-3, epochs=40, batch_size=32, seed=0,
                  validation_data=(Xte, yte))
    accuracy = float(np.mean(predict(model, Xte) == yte))
    assert accuracy >= 0.97
    assert history["val_accuracy"][-1] == pytest.approx(accuracy)
    assert model.params["0.W"].dtype == np.float32             # float32 by default


def test_one_example_or_many_give_the_same_answers():
    Xtr, Xte, ytr, _ = _digits()
    model = Sequential([Dense(32), ReLU(), Dense(10), Softmax()], seed=0)
    fit(model, Xtr[:300], ytr[:300], epochs=5, seed=0)
    many, proba = predict(model, Xte[:5]), predict_proba(model, Xte[:5])
    one = predict(model, Xte[3])
    assert np.ndim(one) == 0 and one == many[3]
    p = predict_proba(model, Xte[3])
    assert p.shape == (10,) and p.sum() == pytest.approx(1.0, abs=1e-6)
    assert_allclose(p, proba[3], rtol=1e-6)
    with pytest.raises(ShapeError, match="single example must have 64 features"):
        predict(model, Xte[3][:10])


def test_softmax_output_layer_trains_exactly_like_bare_logits():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 5)), rng.integers(0, 3, 64)
    a = Sequential([Dense(8), ReLU(), Dense(3), Softmax()], dtype=np.float64, seed=1)
    b = Sequential([Dense(8), ReLU(), Dense(3)], dtype=np.float64, seed=1)
    fit(a, X, y, epochs=3, batch_size=16, seed=2)
    fit(b, X, y, epochs=3, batch_size=16, seed=2)
    for name in b.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert_allclose(predict_proba(a, X), predict_proba(b, X), rtol=1e-12)
    assert_allclose(predict_proba(a, X), a.forward(X), rtol=1e-12)


def test_one_hot_targets_train_like_integer_labels():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    a = Sequential([Dense(6), ReLU(), Dense(3)], dtype=np.float64, seed=0)
    b = Sequential([Dense(6), ReLU(), Dense(3)], dtype=np.float64, seed=0)
    ha = fit(a, X, y, epochs=2, batch_size=10, seed=0)
    hb = fit(b, X, np.eye(3)[y], epochs=2, batch_size=10, seed=0)
    assert_allclose(ha["loss"], hb["loss"], rtol=1e-12)
    for name in a.params:
        assert_allclose(a.params[name], b.params[name], rtol=1e-10, atol=1e-14)


def test_transposed_one_hot_targets_are_named_as_such():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 4))
    Y = np.eye(3)[rng.integers(0, 3, 40)]
    model = Sequential([Dense(6), ReLU(), Dense(3)], seed=0)
    with pytest.raises(ShapeError, match=r"y looks transposed: y.T has shape \(40, 3\)"):
        fit(model, X, Y.T, epochs=1)
    with pytest.raises(ShapeError, match="X looks transposed"):
        fit(model, X.T, Y, epochs=1)


def test_labels_beyond_the_output_units_say_how_to_fix_it():
    X = np.zeros((4, 2))
    model = Sequential([Dense(2)], seed=0)
    with pytest.raises(ValueError, match=r"label 3 is out of range for 2 output units"):
        fit(model, X, np.array([0, 1, 3, 1]))


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 10)), rng.integers(0, 2, 40)   # noise: it can only overfit
    Xv, yv = rng.standard_normal((40, 10)), rng.integers(0, 2, 40)
    model = Sequential([Dense(64), ReLU(), Dense(2)], dtype=np.float64, seed=0)
    history = fit(model, X, y, lr=0.01, epochs=200, batch_size=8, seed=0,
                  validation_data=(Xv, yv), early_stopping=5)
    assert history.stopped_early
    assert len(history["loss"]) == history.best_epoch + 6
    best = min(history["val_loss"])
    assert evaluate(model, Xv, yv)[0] == pytest.approx(best, rel=1e-12)


def test_same_seed_same_model_and_work_buffers_are_reused():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((100, 6)), rng.integers(0, 3, 100)
    seen: list[int] = []

    class Spy(ReLU):
        def _forward(self, X, training):
            seen.append(id(X))
            return super()._forward(X, training)

    models = []
    for _ in range(2):
        model = Sequential([Dense(8), BatchNorm(), Spy(), Dropout(0.2), Dense(3)], seed=5)
        fit(model, X, y, epochs=3, batch_size=16, seed=6)
        models.append(model)
    for name in models[0].params:
        np.testing.assert_array_equal(models[0].params[name], models[1].params[name])
    # 2 models x 3 epochs x 7 batches: the batch-norm output reaching ReLU lives in one array
    # per batch shape (16 and the last batch of 4), not in a fresh array per batch
    assert len(seen) == 42 and len(set(seen[:21])) <= 2


def test_a_diverging_fit_names_the_likely_causes():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((64, 3)) * np.array([1.0, 1e3, 1e6])
    y = X @ np.ones(3)
    model = Sequential([Dense(8), ReLU(), Dense(1)], seed=0)
    with pytest.raises(FloatingPointError, match="standardise X"):
        fit(model, X, y, loss="mean_squared_error", optimizer=sgd(0.1), epochs=50)


def test_regression_with_mse_fits_a_smooth_function():
    rng = np.random.default_rng(6)
    X = rng.uniform(-2, 2, (400, 1))
    y = np.sin(2 * X[:, 0])
    model = Sequential([Dense(32, init="xavier"), Tanh(), Dense(1)], dtype=np.float64, seed=0)
    fit(model, X, y, loss="mse", lr=0.01, epochs=150, batch_size=32, seed=0)
    assert np.mean((predict(model, X)[:, 0] - y) ** 2) < 1e-2
    with pytest.raises(InvalidParameterError, match="predict_proba needs a classifier"):
        predict_proba(model, X)


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    model = Sequential([Dense(8), BatchNorm(), ReLU(), Dropout(0.1), Dense(3), Softmax()],
                       seed=0)
    fit(model, X, y, epochs=3, seed=0)
    path = model.save(tmp_path / "mlp")
    loaded = Sequential.load(path)
    assert_allclose(predict_proba(loaded, X), predict_proba(model, X))
    assert_allclose(loaded.layers[1].running_var, model.layers[1].running_var)


def test_clipping_and_argument_errors():
    rng = np.random.default_rng(8)
    X, y = rng.standard_normal((30, 4)), rng.integers(0, 2, 30)
    model = Sequential([Dense(3), ReLU(), Dense(2)], n_features=4, dtype=np.float64, seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    fit(model, X, y, optimizer=sgd(1.0), clip_grad_norm=1e-3, epochs=1, batch_size=30,
        shuffle=False)
    step = np.sqrt(sum(np.sum((model.params[k] - before[k]) ** 2) for k in before))
    assert step == pytest.approx(1e-3, rel=1e-3)       # one step of lr 1 on a clipped gradient
    with pytest.raises(InvalidParameterError, match="epochs must be"):
        fit(model, X, y, epochs=0)
    with pytest.raises(InvalidParameterError, match="optimizer='lbfgs'"):
        fit(model, X, y, optimizer="lbfgs")
    with pytest.raises(NotFittedError, match=r"not built or fitted yet: call fit\(model"):
        predict(Sequential([Dense(2)]), X)
    with pytest.raises(InvalidParameterError, match="other arrays"):
        fit(model, X, y, optimizer=Adam({"w": np.zeros(3)}))
    opt = Adam(model.params, 1e-3)                    # a stateful optimizer carries over fits
    fit(model, X, y, optimizer=opt, epochs=2, batch_size=10)
    fit(model, X, y, optimizer=opt, epochs=1, batch_size=10)
    assert opt.step_count == 9
