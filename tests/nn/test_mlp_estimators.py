"""MLPClassifier / MLPRegressor: scikit-learn's estimator checks and the label conventions."""

from __future__ import annotations

import numpy as np
import pytest

from matfit import InvalidParameterError
from matfit.nn import MLPClassifier, MLPRegressor

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([MLPClassifier((16,), max_iter=200, random_state=0),
                          MLPRegressor((16,), max_iter=200, random_state=0),
                          MLPClassifier((16,), max_iter=200, random_state=0, dtype="float64"),
                          MLPRegressor((16,), max_iter=200, random_state=0, dtype="float64")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_any_hashable_labels_and_probabilities():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.score(X, names) > 0.95
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-5, atol=1e-7)


def test_regressor_multioutput_and_target_scale():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (300, 3))
    Y = np.c_[1e4 * (X[:, 0] - 2 * X[:, 1]), 1e-3 * np.tanh(X[:, 2])]
    reg = MLPRegressor((32,), max_iter=300, random_state=0, learning_rate_init=3e-3).fit(X, Y)
    assert reg.predict(X).shape == (300, 2)
    assert reg.score(X, Y) > 0.95
    one = MLPRegressor((8,), max_iter=5, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (300,)


@pytest.mark.parametrize("kwargs", [{"solver": "sgd"}, {"batch_norm": True, "dropout": 0.1},
                                    {"early_stopping": True}, {"activation": "tanh"},
                                    {"dtype": "float64"}])
def test_options_train_a_working_classifier(kwargs):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((32,), max_iter=200, random_state=0, **kwargs).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_parameters_are_validated_in_fit():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(InvalidParameterError, match="activation must be one of"):
        MLPClassifier(activation="softplus").fit(X, y)
    with pytest.raises(InvalidParameterError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier().fit(X, np.array([0.5, 1.0, 0.0, 1.0]))
