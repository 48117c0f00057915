"""LinearRegression against scikit-learn, statsmodels, lstsq, and the cases that break plain GD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from matfit import ConvergenceWarning, DataError, InvalidParameterError, ShapeError
from matfit.linear import (
    DivergenceError,
    LinearRegression,
    PolynomialFeatures,
    linear_regression,
    polynomial_features,
)

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.linear_model import LinearRegression as SkLinearRegression  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures as SkPolynomialFeatures  # noqa: E402

SOLVERS = ["lstsq", "cholesky", "gd"]


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def cubic_data():
    """The motivating question: 20 points, X = 2 - 3 N(0, 1), y = X - 2X^2 + 0.5X^3 + noise."""
    rng = np.random.default_rng(0)
    x = 2 - 3 * rng.normal(size=20)
    y = x - 2 * x**2 + 0.5 * x**3 + rng.normal(size=20)
    return x, y


@pytest.mark.parametrize("solver", SOLVERS)
def test_ols_matches_sklearn_on_diabetes(diabetes, solver):
    X, y = diabetes
    ours = LinearRegression(solver).fit(X, y)
    ref = SkLinearRegression().fit(X, y)
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-6)
    assert_allclose(ours.predict(X), ref.predict(X), rtol=0, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("alpha", [0.1, 1.0, 10.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_matches_sklearn_on_diabetes(diabetes, solver, alpha, fit_intercept):
    X, y = diabetes
    X = X * np.arange(1, 11)  # columns on different scales: the penalty must stay on raw w
    ours = LinearRegression(solver, alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="cholesky").fit(X, y)
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_multi_target_matches_sklearn(diabetes, solver):
    X, y = diabetes
    Y = np.column_stack([y, np.log(y), -2 * y])
    ours = LinearRegression(solver, alpha=0.5).fit(X, Y)
    ref = Ridge(alpha=0.5, solver="cholesky").fit(X, Y)
    assert ours.coef_.shape == (3, 10) and ours.intercept_.shape == (3,)
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-6)


def test_polynomial_gd_converges_where_plain_gd_with_step_001_diverges():
    x, y = cubic_data()
    P = PolynomialFeatures(2, include_bias=False).fit_transform(x[:, None])
    exact = LinearRegression("lstsq").fit(P, y)
    ours = LinearRegression("gd").fit(P, y)
    assert_allclose(ours.coef_, exact.coef_, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, exact.intercept_, rtol=0, atol=1e-6)
    # the question's plain GD: theta -= 0.01 * X'(X theta - y) / m on [1, x, x^2]
    Xb = np.column_stack([np.ones_like(x), P])
    theta = np.zeros(3)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(300):
            theta = theta - 0.01 * Xb.T @ (Xb @ theta - y) / len(y)
    assert not np.all(np.isfinite(theta)) or np.max(np.abs(theta)) > 1e30
    # matfit with the same fixed step on the raw features says why instead of returning NaN
    with pytest.raises(DivergenceError, match=r"step too large \(lr=0\.01\)"):
        LinearRegression("gd", optimizer="sgd", lr=0.01, standardize=False).fit(P, y)


def test_ols_by_barzilai_borwein_reaches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    X = np.array([[1.0, 23], [5, 29], [7, 60], [9, 85], [11, 99]])
    y = np.array([20.0, 40, 60, 80, 100])
    ref = sm.OLS(y, sm.add_constant(X)).fit().params
    assert_allclose(ref, [4.344, 4.388, 0.451], atol=5e-4)
    for standardize in ("auto", False):  # BB needs no step size, even on the raw columns
        model = LinearRegression("gd", standardize=standardize).fit(X, y)
        assert_allclose(np.r_[model.intercept_, model.coef_], ref, rtol=0, atol=1e-6)
        assert model.n_iter_ < 50


def test_cholesky_on_collinear_features_names_the_fix():
    X = np.column_stack([np.arange(6.0), 2 * np.arange(6.0)])
    y = np.arange(6.0) ** 2
    with pytest.raises(DataError, match=r"collinear.*solver='lstsq'.*alpha > 0"):
        LinearRegression("cholesky").fit(X, y)
    # lstsq gives the minimum-norm solution, as the pseudo-inverse
    ours = LinearRegression("lstsq").fit(X, y)
    Xc = X - X.mean(axis=0)
    assert_allclose(ours.coef_, np.linalg.pinv(Xc) @ (y - y.mean()), atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 40), st.integers(1, 5), st.sampled_from([0.0, 1e-3, 0.1, 1.0, 10.0]),
       st.booleans(), st.integers(0, 2**31 - 1))
def test_every_solver_agrees_with_the_normal_equations(n, p, alpha, fit_intercept, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 10, size=p)
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    if n < p + 3:
        alpha = max(alpha, 1.0)  # keep the problem well posed, so the answer is unique
    Xa = np.column_stack([np.ones(n), X]) if fit_intercept else X
    D = np.eye(Xa.shape[1]) * alpha
    if fit_intercept:
        D[0, 0] = 0.0
    ref = np.linalg.solve(Xa.T @ Xa + D, Xa.T @ y)
    for solver in SOLVERS:
        res = linear_regression(X, y, solver=solver, alpha=alpha, fit_intercept=fit_intercept)
        got = np.r_[res.intercept, res.coef] if fit_intercept else res.coef
        scale = max(1.0, float(np.max(np.abs(ref))))
        assert_allclose(got, ref, rtol=0, atol=1e-6 * scale)


def test_each_parameter_changes_the_fit(diabetes):
    X, y = diabetes
    base = LinearRegression().fit(X, y).coef_
    assert np.max(np.abs(LinearRegression(alpha=1.0).fit(X, y).coef_ - base)) > 1
    shifted = X + 1.0  # diabetes' columns are centred: shift them so the intercept matters
    with_b = LinearRegression().fit(shifted, y).coef_
    assert np.max(np.abs(LinearRegression(fit_intercept=False).fit(shifted, y).coef_ - with_b)) > 1
    loose = LinearRegression("gd", tol=1e-2).fit(X, y)
    assert loose.n_iter_ < LinearRegression("gd").fit(X, y).n_iter_
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        short = LinearRegression("gd", max_iter=3).fit(X, y)
    assert short.n_iter_ == 3


def test_polynomial_features_match_sklearn():
    X = np.random.default_rng(1).normal(size=(7, 3))
    for degree in (0, 1, 2, 3):
        for bias in (True, False):
            for inter in (True, False):
                if degree == 0 and not bias:
                    continue
                ours = PolynomialFeatures(degree, include_bias=bias, interaction_only=inter)
                ref = SkPolynomialFeatures(degree, include_bias=bias, interaction_only=inter)
                assert_allclose(ours.fit_transform(X), ref.fit_transform(X), rtol=1e-14)
                assert_allclose(ours.powers_, ref.powers_)
    names = PolynomialFeatures(2).fit(X).get_feature_names_out()
    assert list(names[:5]) == list(SkPolynomialFeatures(2).fit(X).get_feature_names_out()[:5])
    assert_allclose(polynomial_features(X, 2), SkPolynomialFeatures(2).fit_transform(X))


def test_errors_name_the_argument_and_the_fix():
    X, y = np.ones((5, 2)), np.ones(5)
    with pytest.raises(InvalidParameterError, match=r"solver='sgd'.*'lstsq', 'cholesky', 'gd'"):
        LinearRegression("sgd").fit(X, y)
    with pytest.raises(InvalidParameterError, match=r"alpha=-1"):
        LinearRegression(alpha=-1).fit(X, y)
    with pytest.raises(ShapeError, match="samples"):
        LinearRegression().fit(X, np.ones(4))
    with pytest.raises(DataError, match="NaN"):
        LinearRegression().fit(np.array([[1.0, np.nan]] * 3), np.ones(3))
    with pytest.raises(ValueError, match="Reshape your data"):
        LinearRegression().fit(np.ones(5), y)
    model = LinearRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LinearRegression is expecting 2"):
        model.predict(np.ones((2, 3)))
