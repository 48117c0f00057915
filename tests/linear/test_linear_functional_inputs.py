"""The functional entry points validate their inputs like the estimators do."""

import numpy as np
import pytest
import scipy.special as sc
from sklearn.datasets import load_iris

from matfit import DataError, ShapeError
from matfit.linear import LogisticRegression, linear_regression, logistic_regression


def test_linear_regression_names_bad_inputs():
    with pytest.raises(ShapeError, match=r"reshape\(-1, 1\)"):
        linear_regression(np.ones(5), np.ones(5))
    with pytest.raises(ShapeError, match="'samples' disagrees: X has 5 rows but y has 4"):
        linear_regression(np.ones((5, 2)), np.ones(4))
    with pytest.raises(DataError, match=r"X\[0, 0\] = nan"):
        linear_regression(np.array([[np.nan, 1.0], [1.0, 2.0]]), np.ones(2))


def test_logistic_regression_checks_class_indices():
    with pytest.raises(DataError, match=r"\[0, 1\] for n_classes=2"):
        logistic_regression(np.ones((3, 2)), np.array([0, 1, 5]), 2)
    with pytest.raises(ShapeError, match="samples"):
        logistic_regression(np.ones((3, 2)), np.array([0, 1]), 2)


def test_ovr_probabilities_stay_finite_when_every_sigmoid_underflows():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(multi_class="ovr").fit(X, y)
    Z = model.decision_function(X[:5]) - 1000.0  # every logit < -745: sigmoid(Z) == 0
    model.intercept_ = model.intercept_ - 1000.0
    P = model.predict_proba(X[:5])
    # reference: normalised sigmoids computed in log space by scipy
    L = sc.log_expit(Z)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P, sc.softmax(L, axis=1), rtol=1e-12)
    np.testing.assert_allclose(model.predict_log_proba(X[:5]), sc.log_softmax(L, axis=1),
                               rtol=1e-12)
