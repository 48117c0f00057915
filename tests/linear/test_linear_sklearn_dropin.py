"""Linear models as scikit-learn drop-ins: sample_weight, sparse X, float32, class_weight,
warm_start, max_iter=0 and label checks, each against a reference that could disagree
(statsmodels WLS, scikit-learn's Newton solver, repeated rows, the dense fit, analytic values)."""

from __future__ import annotations

import re
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from matfit import ConvergenceWarning, DataError
from matfit.linear import LinearRegression, LogisticRegression

sklearn = pytest.importorskip("sklearn")
from sklearn.linear_model import LogisticRegression as SkLogisticRegression  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1, "blas"):
        yield


def _regression(n=60, p=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * np.array([1.0, 10.0, 0.1, 3.0])[:p] + 5.0
    y = X @ rng.standard_normal(p) + 2.0 + 0.3 * rng.standard_normal(n)
    return X, y


def _classification(n=150, p=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.standard_normal((n, p)) + 1.5 * np.eye(n_classes, p)[y]
    return X, y


def _newton(**kw):
    return SkLogisticRegression(solver="newton-cholesky", tol=1e-12, max_iter=1000, **kw)


# -- LinearRegression -----------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["lstsq", "cholesky", "gd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_weighted_least_squares_matches_statsmodels_wls(solver, fit_intercept):
    sm = pytest.importorskip("statsmodels.api")
    X, y = _regression()
    sw = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    ours = LinearRegression(solver, fit_intercept=fit_intercept).fit(X, y, sample_weight=sw)
    design = sm.add_constant(X) if fit_intercept else X
    ref = sm.WLS(y, design, weights=sw).fit().params
    want_coef = ref[1:] if fit_intercept else ref
    assert_allclose(ours.coef_, want_coef, rtol=1e-7, atol=1e-9)
    assert_allclose(ours.intercept_, ref[0] if fit_intercept else 0.0, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("solver", ["lstsq", "cholesky", "gd"])
@pytest.mark.parametrize("container", [None, sp.csr_matrix, sp.csc_array])
def test_integer_weights_equal_repeated_rows(solver, container):
    X, y = _regression()
    counts = np.random.default_rng(2).integers(0, 4, len(y))
    wrap = (lambda a: a) if container is None else container
    weighted = LinearRegression(solver, alpha=0.5).fit(wrap(X), y, sample_weight=counts)
    repeated = LinearRegression(solver, alpha=0.5).fit(wrap(np.repeat(X, counts, axis=0)),
                                                       np.repeat(y, counts))
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7)
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-7)


@pytest.mark.parametrize("solver", ["lstsq", "cholesky", "gd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_equals_dense_regression(solver, fit_intercept, fmt):
    X, y = _regression()
    X[np.abs(X - 5) < 1.0] = 0.0                      # a real sparsity pattern
    Y = np.c_[y, -2 * y + 1]
    sw = np.random.default_rng(3).uniform(0.5, 2, len(y))
    kw = dict(alpha=0.1, fit_intercept=fit_intercept)
    dense = LinearRegression(solver, **kw).fit(X, Y, sample_weight=sw)
    sparse = LinearRegression(solver, **kw).fit(sp.coo_matrix(X).asformat(fmt), Y,
                                                sample_weight=sw)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-7, atol=1e-9)
    assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-7, atol=1e-9)
    assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), rtol=1e-9)


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("model", [LinearRegression(), LinearRegression("cholesky", alpha=1.0),
                                   LogisticRegression(max_iter=50)])
def test_sparse_X_is_never_densified(model):
    # 20000 x 500 with 20000 entries: dense it would take 76 MiB, sparse 0.3 MiB
    rng = np.random.default_rng(0)
    n, p, nnz = 20_000, 500, 20_000
    X = sp.coo_matrix((rng.standard_normal(nnz), (rng.integers(0, n, nnz),
                                                  rng.integers(0, p, nnz))), shape=(n, p)).tocsr()
    y = rng.integers(0, 2, n) if isinstance(model, LogisticRegression) else \
        np.asarray(X @ rng.standard_normal(p)).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        peak = _peak_mib(lambda: model.fit(X, y))
    assert peak < 20, f"fit on sparse X peaked at {peak:.0f} MiB"


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_regression_stays_float32(sparse):
    X, y = _regression()
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    ref = LinearRegression().fit(X32.astype(np.float64), y32.astype(np.float64))
    model = LinearRegression().fit(sp.csr_matrix(X32) if sparse else X32, y32)
    assert model.coef_.dtype == np.float32
    assert np.asarray(model.intercept_).dtype == np.float32
    assert model.predict(X32).dtype == np.float32
    assert_allclose(model.coef_, ref.coef_, rtol=1e-6)
    assert_allclose(model.intercept_, ref.intercept_, rtol=1e-6)


def test_sample_weight_errors_name_the_fix():
    X, y = _regression(n=5)
    with pytest.raises(DataError, match=r"sample_weight.shape == \(4,\), expected \(5,\)"):
        LinearRegression().fit(X, y, sample_weight=np.ones(4))
    with pytest.raises(DataError, match="Sample weights must be 1D array or scalar"):
        LinearRegression().fit(X, y, sample_weight=np.ones((5, 1)))
    with pytest.raises(DataError, match="finite and >= 0"):
        LinearRegression().fit(X, y, sample_weight=-np.ones(5))


# -- LogisticRegression ---------------------------------------------------------------------

@pytest.mark.parametrize("n_classes", [2, 3])
def test_weighted_logistic_matches_sklearn_newton(n_classes):
    X, y = _classification(n_classes=n_classes)
    sw = np.random.default_rng(4).uniform(0.2, 3, len(y))
    ours = LogisticRegression(C=0.7).fit(X, y, sample_weight=sw)
    ref = _newton(C=0.7).fit(X, y, sample_weight=sw)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)


@pytest.mark.parametrize("container", [None, sp.csr_matrix, sp.csc_matrix])
@pytest.mark.parametrize("multi_class", ["multinomial", "ovr"])
def test_logistic_integer_weights_equal_repeated_rows(container, multi_class):
    X, y = _classification()
    counts = np.random.default_rng(5).integers(0, 4, len(y))
    wrap = (lambda a: a) if container is None else container
    weighted = LogisticRegression(multi_class).fit(wrap(X), y, sample_weight=counts)
    repeated = LogisticRegression(multi_class).fit(wrap(np.repeat(X, counts, axis=0)),
                                                   np.repeat(y, counts))
    assert_allclose(weighted.coef_, repeated.coef_, atol=1e-7)
    assert_allclose(weighted.intercept_, repeated.intercept_, atol=1e-7)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 3.0, 2: 0.5}])
@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_class_weight_matches_sklearn(class_weight, with_sample_weight):
    X, y = _classification()
    keep = (y != 0) | (np.arange(len(y)) % 4 == 0)   # class 0 rare, so balancing matters
    X, y = X[keep], y[keep]
    # "balanced" counts the classes with the sample weights (scikit-learn >= 1.6)
    sw = np.random.default_rng(6).uniform(0.2, 3, len(y)) if with_sample_weight else None
    ours = LogisticRegression(class_weight=class_weight).fit(X, y, sample_weight=sw)
    ref = _newton(class_weight=class_weight).fit(X, y, sample_weight=sw)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    plain = LogisticRegression().fit(X, y)
    assert np.max(np.abs(plain.coef_ - ours.coef_)) > 1e-2   # the weights did something


def test_class_weight_names_an_unknown_label():
    X, y = _classification()
    with pytest.raises(DataError, match="class_weight names the label 7"):
        LogisticRegression(class_weight={7: 2.0}).fit(X, y)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_equals_dense_logistic(fmt, fit_intercept):
    X, y = _classification()
    X[np.abs(X) < 0.5] = 0.0
    dense = LogisticRegression(fit_intercept=fit_intercept).fit(X, y)
    sparse = LogisticRegression(fit_intercept=fit_intercept).fit(sp.csr_matrix(X).asformat(fmt),
                                                                 y)
    assert_allclose(sparse.coef_, dense.coef_, atol=1e-7)
    assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-8)


@pytest.mark.parametrize("sparse", [False, True])
def test_float32_logistic_stays_float32(sparse):
    X, y = _classification()
    X32 = X.astype(np.float32)
    model = LogisticRegression().fit(sp.csr_matrix(X32) if sparse else X32, y)
    for out in (model.coef_, model.intercept_, model.decision_function(X32),
                model.predict_proba(X32), model.predict_log_proba(X32)):
        assert out.dtype == np.float32
    ref = LogisticRegression().fit(X32.astype(np.float64), y)
    assert_allclose(model.coef_, ref.coef_, rtol=1e-6, atol=1e-6)
    assert model.predict_proba(X).dtype == np.float64   # float64 X, float64 answer


def test_max_iter_zero_is_the_starting_point():
    X, y = _classification(n_classes=2)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 0"):
        model = LogisticRegression(max_iter=0).fit(X, y)
    assert_array_equal(model.n_iter_, [0])
    assert_array_equal(model.coef_, np.zeros((1, X.shape[1])))
    assert_allclose(model.predict_proba(X), 0.5)


def test_warm_start_continues_from_the_previous_fit():
    X, y = _classification()
    cold = LogisticRegression(tol=1e-8).fit(X, y)
    warm = LogisticRegression(tol=1e-8, warm_start=True).fit(X, y)
    n_first = warm.n_iter_[0]
    warm.fit(X, y)               # starts at the optimum: nothing (or almost nothing) to do
    assert warm.n_iter_[0] <= 2 < n_first
    assert_allclose(warm.coef_, cold.coef_, atol=1e-6)
    with pytest.warns(ConvergenceWarning):
        fresh = LogisticRegression(max_iter=1).fit(X, y)
    warm.set_params(max_iter=1)
    warm.fit(X, y)               # one step from the optimum stays there; from zero it does not
    assert np.abs(warm.coef_ - cold.coef_).max() < 1e-5 < np.abs(fresh.coef_ - cold.coef_).max()


def test_random_state_is_accepted_and_the_fit_is_deterministic():
    X, y = _classification()
    a = LogisticRegression(random_state=0).fit(X, y)
    b = LogisticRegression(random_state=np.random.RandomState(7)).fit(X, y)
    assert_array_equal(a.coef_, b.coef_)


def test_continuous_target_is_refused_with_sklearns_words():
    X, _ = _classification()
    y = np.random.default_rng(0).standard_normal(len(X))
    with pytest.raises(ValueError, match="Unknown label type") as ref:
        SkLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type: continuous") as ours:
        LogisticRegression().fit(X, y)
    assert str(ours.value).split(".")[0] == str(ref.value).split(".")[0]
    # integral floats are class labels, as in scikit-learn
    y_int = np.random.default_rng(0).integers(0, 3, len(X)).astype(float)
    assert_array_equal(LogisticRegression().fit(X, y_int).classes_, [0.0, 1.0, 2.0])


def test_one_class_left_after_weighting_is_named():
    X, y = _classification(n_classes=2)
    with pytest.raises(ValueError, match="at least 2 classes with a positive weight"):
        LogisticRegression().fit(X, y, sample_weight=(y == 1).astype(float))


_RNG = np.random.default_rng(0)


@pytest.mark.parametrize(("y", "phrase"), [
    (_RNG.standard_normal(20), "Unknown label type: continuous"),
    (_RNG.standard_normal((20, 2)), "y should be a 1d array, got an array of shape (20, 2)"),
    (_RNG.integers(0, 2, (20, 3)), "y should be a 1d array, got an array of shape (20, 3)"),
    (np.array([1, "a"] * 10, dtype=object), "Unknown label type: unknown"),
    (np.r_[np.nan, np.zeros(19)], "Input y contains NaN"),
    (np.r_[np.inf, np.ones(19)], "Input y contains infinity"),
    (np.zeros(20), "needs samples of at least 2 classes in the data, but the data contains "
                   "only one class"),
], ids=["continuous", "continuous-multioutput", "multilabel", "mixed", "nan", "inf",
        "one-class"])
def test_target_type_errors_use_sklearns_words(y, phrase):
    X = _RNG.standard_normal((20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(ValueError, match=re.escape(phrase)):
            SkLogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=re.escape(phrase)):
        LogisticRegression().fit(X, y)
