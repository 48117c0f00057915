"""scikit-learn's estimator contract (check_estimator) for matfit's linear models."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks

from matfit.linear import LinearRegression, LogisticRegression, PolynomialFeatures


@parametrize_with_checks([
    LinearRegression(),
    LinearRegression("gd", alpha=0.5),
    LinearRegression("cholesky", alpha=1.0),
    LogisticRegression(),
    LogisticRegression("ovr", solver="gd"),
    LogisticRegression(class_weight="balanced", warm_start=True, C=10.0),
    PolynomialFeatures(3),
])
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
