"""LogisticRegression against scikit-learn (binary, multinomial, one-vs-rest) and its edge cases.

scikit-learn's ``lbfgs`` stops on a relative objective change of 64 machine epsilons, which it
does not let the caller tighten; on breast_cancer that leaves its coefficients about 1e-6 from
the optimum. The 1e-6 comparisons are therefore made with scikit-learn's ``newton-cholesky``
solver at ``tol=1e-12`` (the same objective, solved to ~1e-11), and against its ``lbfgs`` the
test asserts 1e-5 agreement and that matfit's solution has the smaller gradient.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special
from numpy.testing import assert_allclose, assert_array_equal

from matfit import InvalidParameterError
from matfit.linear import LogisticRegression, logistic_regression

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # small dense problems: two BLAS threads on a busy 2-core machine are ~10x slower
    with threadpool_limits(1, "blas"):
        yield


def _data(name: str):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _sklearn(solver: str, **kwargs):
    model = SkLogisticRegression(C=1.0, tol=1e-12, max_iter=100_000, solver=solver, **kwargs)
    return model


def _fit_quietly(model, X, y):
    with warnings.catch_warnings():  # scikit-learn's lbfgs warns when ftol stops it early
        warnings.simplefilter("ignore")
        return model.fit(X, y)


@pytest.mark.parametrize("name", ["breast_cancer", "iris", "digits"])
def test_matches_sklearn_to_1e6(name):
    X, y = _data(name)
    ours = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    ref = _fit_quietly(_sklearn("newton-cholesky"), X, y)
    assert ours.coef_.shape == ref.coef_.shape
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-6)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-7)
    assert np.array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_matches_sklearn_lbfgs_and_is_closer_to_the_optimum(name):
    X, y = _data(name)
    ours = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    lbfgs = _fit_quietly(_sklearn("lbfgs"), X, y)
    assert_allclose(ours.coef_, lbfgs.coef_, rtol=0, atol=1e-5)
    exact = _fit_quietly(_sklearn("newton-cholesky"), X, y)
    ours_err = np.max(np.abs(ours.coef_ - exact.coef_))
    lbfgs_err = np.max(np.abs(lbfgs.coef_ - exact.coef_))
    assert ours_err < lbfgs_err


def test_one_vs_rest_matches_sklearn_one_vs_rest_classifier():
    X, y = _data("iris")
    ours = LogisticRegression("ovr", tol=1e-10).fit(X, y)
    ref = OneVsRestClassifier(_sklearn("newton-cholesky")).fit(X, y)
    coef = np.vstack([e.coef_ for e in ref.estimators_])
    intercept = np.concatenate([e.intercept_ for e in ref.estimators_])
    assert_allclose(ours.coef_, coef, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, intercept, rtol=0, atol=1e-6)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-7)
    # the two multiclass models are different models, not two solvers of one
    softmax = LogisticRegression("multinomial").fit(X, y)
    assert np.max(np.abs(softmax.predict_proba(X) - ours.predict_proba(X))) > 0.05


@pytest.mark.parametrize("solver,kwargs", [("gd", {}), ("adam", {"lr": 0.05, "max_iter": 5000})])
def test_gradient_solvers_reach_the_lbfgs_solution(solver, kwargs):
    X, y = _data("iris")
    ref = LogisticRegression(tol=1e-12).fit(X, y)
    ours = LogisticRegression(solver=solver, **kwargs).fit(X, y)
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_raw_breast_cancer_features(solver):
    # raw columns span 1e-3 .. 1e3; matfit preconditions internally (scikit-learn's lbfgs needs
    # thousands of iterations here), and the answer is the same penalised optimum
    X, y = datasets.load_breast_cancer(return_X_y=True)
    ours = LogisticRegression(C=1.0, solver=solver, max_iter=10_000).fit(X, y)
    ref = _fit_quietly(_sklearn("newton-cholesky"), X, y)
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-5)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-5)


def test_any_hashable_labels():
    X, y = _data("iris")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    ours = LogisticRegression().fit(X, names)
    assert list(ours.classes_) == ["setosa", "versicolor", "virginica"]
    by_index = LogisticRegression().fit(X, y)
    assert_array_equal(ours.predict(X), ours.classes_[by_index.predict(X)])
    assert_allclose(ours.coef_, by_index.coef_)
    labels = np.array([(1, "a"), (2, "b")], dtype=object)[(y > 0).astype(int)]
    labels = np.array([str(v) for v in labels], dtype=object)
    binary = LogisticRegression().fit(X, labels)
    assert binary.coef_.shape == (1, 4) and len(binary.classes_) == 2


def test_probabilities_sum_to_one_and_log_proba_is_stable():
    X, y = _data("breast_cancer")
    model = LogisticRegression(C=10.0).fit(X, y)
    P = model.predict_proba(X)
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    far = X * 1e3  # logits in the thousands: exp overflows, log(sigmoid) underflows naively
    logp = model.predict_log_proba(far)
    z = model.decision_function(far)
    assert np.max(np.abs(z)) > 800          # sigmoid(z) rounds to exactly 0 or 1 somewhere
    assert_allclose(logp, np.column_stack([scipy.special.log_expit(-z),
                                           scipy.special.log_expit(z)]), rtol=1e-12, atol=0)
    with np.errstate(divide="ignore"):
        assert np.isneginf(np.log(model.predict_proba(far))).any()   # what the naive log gives
    assert_allclose(np.exp(model.predict_log_proba(X)), P, rtol=1e-10)


def test_objective_is_sklearn_scaling():
    X, y = _data("iris")
    res = logistic_regression(X, y, 3, C=0.5, tol=1e-12)
    Z = X @ res.coef.T + res.intercept
    Z -= Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    expected = 0.5 * -np.sum(logp[np.arange(len(y)), y]) + 0.5 * np.sum(res.coef**2)
    assert_allclose(res.fun, expected, rtol=1e-12)
    assert abs(res.intercept.sum()) < 1e-12  # softmax intercepts reported with zero sum


def test_penalty_none_matches_sklearn_without_penalty():
    X, y = _data("iris")
    ours = LogisticRegression(penalty=None, tol=1e-9, max_iter=5000).fit(X, y)
    ref = _fit_quietly(SkLogisticRegression(C=np.inf, tol=1e-12, max_iter=100_000,
                                            solver="newton-cholesky"), X, y)
    assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-5)
    penalised = LogisticRegression().fit(X, y)
    assert np.max(np.abs(ours.coef_)) > 2 * np.max(np.abs(penalised.coef_))


def test_errors():
    X, y = _data("iris")
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LogisticRegression().fit(X, y + 0.5)
    with pytest.raises(InvalidParameterError, match=r"C=0.*C must be a number > 0"):
        LogisticRegression(C=0).fit(X, y)
    with pytest.raises(InvalidParameterError, match="multi_class='softmax'"):
        LogisticRegression("softmax").fit(X, y)
    with pytest.raises(InvalidParameterError, match="solver='newton'"):
        LogisticRegression(solver="newton").fit(X, y)
