"""The linear models' shared validation and scaling (linear/_common) against references (issue 19).

References: NumPy's weighted moments written out in the test, the explicitly formed
standardised matrix ``(X - mean) / scale``, scikit-learn's ``compute_class_weight`` and
``LinearRegression``, and the exact messages the helpers promise.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from matfit import DataError, DTypeError, InvalidParameterError, NotFittedError, ShapeError
from matfit.linear import LinearRegression, LogisticRegression, PolynomialFeatures
from matfit.linear._common import (
    Scaling,
    check_fitted,
    check_labels,
    check_sample_weight,
    check_X,
    check_Xy,
    class_weight_per_sample,
    column_scaling,
    implicit_design,
)


class _Est:
    """A bare object that check_X / validate_features can record features on."""


def _X(n=30, p=4, seed=0, zeros=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * np.array([1.0, 10.0, 0.1, 3.0])[:p] \
        + np.array([5.0, -20.0, 1e3, 0.0])[:p]
    if zeros:
        X[rng.random((n, p)) < zeros] = 0.0
    return X


# -- check_X ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["coo", "lil", "dok", "bsr", "csr", "csc"])
def test_sparse_X_comes_back_as_csr_or_csc_with_the_same_values(fmt):
    X = _X(zeros=0.5)
    S = sp.coo_matrix(X).asformat(fmt)
    est = _Est()
    out = check_X(est, S, reset=True, accept_sparse=True)
    assert out.format == (fmt if fmt in ("csr", "csc") else "csr")
    if fmt in ("csr", "csc"):
        assert out is S  # kept, not copied
    assert out.dtype == np.float64
    assert_array_equal(out.toarray(), X)
    assert est.n_features_in_ == 4


@pytest.mark.parametrize(("dtype", "want"), [(np.int64, np.float64), (np.int32, np.float64),
                                             (np.float32, np.float32), (np.float64, np.float64),
                                             (np.bool_, np.float64)])
def test_sparse_X_dtype_float32_stays_others_become_float64(dtype, want):
    X = (np.abs(_X(zeros=0.5)) > 3).astype(dtype) * 3
    out = check_X(_Est(), sp.csr_matrix(X), reset=True, accept_sparse=True)
    assert out.dtype == want
    assert_array_equal(out.toarray(), X.astype(want))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_sparse_X_with_nan_or_inf_is_refused(bad):
    X = _X(zeros=0.5)
    X[3, 2] = bad
    with pytest.raises(DataError, match=r"^Input X contains NaN or infinity: remove or impute "
                                        r"those entries \(e\.g\. sklearn\.impute\.SimpleImputer"
                                        r"\) before fitting\.$"):
        check_X(_Est(), sp.csr_matrix(X), reset=True, accept_sparse=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_X_with_nan_names_the_count_and_the_first_entry(dtype):
    X = _X().astype(dtype)
    X[2, 1] = np.inf
    X[5, 0] = np.nan
    X[5, 3] = np.nan
    first = repr(dtype(np.inf))
    with pytest.raises(DataError, match=(
            r"^Input X contains NaN or infinity \(3 entries, the first at X\[2, 1\] = "
            + re.escape(first) + r"\): remove or impute them \(e\.g\. "
            r"sklearn\.impute\.SimpleImputer\) before fitting\.$")):
        check_X(_Est(), X, reset=True)
    with pytest.raises(DataError, match=r"^Input X contains NaN or infinity \(1 entries, the "
                                        r"first at X\[0, 0\] = np\.float64\(nan\)\)"):
        LinearRegression().fit([[np.nan, 1.0], [2.0, 3.0]], [1.0, 2.0])


def test_dense_X_keeps_float32_and_converts_integers_and_lists():
    X = _X()
    assert check_X(_Est(), X.astype(np.float32), reset=True).dtype == np.float32
    out = check_X(_Est(), np.arange(6).reshape(3, 2), reset=True)
    assert out.dtype == np.float64
    assert_array_equal(out, [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    assert_array_equal(check_X(_Est(), [[1, 2]], reset=True), [[1.0, 2.0]])


def test_check_X_records_then_enforces_the_number_of_features():
    est = _Est()
    check_X(est, _X(p=3), reset=True)
    assert est.n_features_in_ == 3
    check_X(est, _X(p=3, seed=1), reset=False)
    with pytest.raises(ShapeError, match="X has 2 features, but _Est is expecting 3 features"):
        check_X(est, _X(p=2), reset=False)
    with pytest.raises(ShapeError, match="X has 4 features, but _Est is expecting 3 features"):
        check_X(est, sp.csr_matrix(_X(p=4)), reset=False, accept_sparse=True)
    assert est.n_features_in_ == 3


def test_check_X_records_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(_X(p=2), columns=["a", "b"])
    est = LinearRegression().fit(df, np.arange(30.0))
    assert list(est.feature_names_in_) == ["a", "b"]
    with pytest.raises(ShapeError, match="feature names should match"):
        est.predict(df.rename(columns={"b": "c"}))


def test_sparse_X_where_dense_is_required_is_refused_by_name():
    with pytest.raises(DTypeError, match=r"X is a scipy\.sparse matrix, which matfit's linear "
                                         r"models does not take: pass X\.toarray\(\)\."):
        PolynomialFeatures(2).fit(sp.csr_matrix(_X()))
    with pytest.raises(DTypeError, match=r"X is a scipy\.sparse matrix"):
        check_X(_Est(), sp.csr_matrix(_X()), reset=True)


def test_check_fitted_raises_before_fit():
    with pytest.raises(NotFittedError, match=r"^This LinearRegression instance is not fitted "
                                             r"yet: call fit\(\) first\.$"):
        LinearRegression().predict(_X())
    est = _Est()
    with pytest.raises(NotFittedError, match="This _Est instance is not fitted yet"):
        check_fitted(est, "coef_")
    est.coef_ = np.zeros(2)
    check_fitted(est, "coef_")


# -- check_sample_weight ---------------------------------------------------------------------

def test_sample_weight_none_scalar_and_vector():
    assert_array_equal(check_sample_weight(None, 4, "f"), np.ones(4))
    assert check_sample_weight(None, 4, "f").dtype == np.float64
    assert_array_equal(check_sample_weight(2.5, 3, "f"), [2.5, 2.5, 2.5])
    assert_array_equal(check_sample_weight(np.int64(3), 2, "f"), [3.0, 3.0])
    out = check_sample_weight(np.array([1, 0, 2], dtype=np.int32), 3, "f")
    assert out.dtype == np.float64
    assert_array_equal(out, [1.0, 0.0, 2.0])
    out = check_sample_weight([True, False], 2, "f")
    assert out.dtype == np.float64
    assert_array_equal(out, [1.0, 0.0])
    out = check_sample_weight(np.array([0.5, 1.5], dtype=np.float32), 2, "f")
    assert out.dtype == np.float64
    assert_array_equal(out, [0.5, 1.5])


@pytest.mark.parametrize(("sw", "message"), [
    (np.array(["a", "b", "c"]), r"^who: sample_weight must hold numbers, got dtype <U1\.$"),
    (np.array([1 + 1j, 1, 1]), r"^who: sample_weight must hold numbers, got dtype complex128"),
    (np.ones((3, 1)), r"^Sample weights must be 1D array or scalar; who got sample_weight of "
                      r"shape \(3, 1\): pass one weight per sample, shape \(3,\)\.$"),
    (np.ones(4), r"^sample_weight\.shape == \(4,\), expected \(3,\)! who needs one weight per "
                 r"sample of X\.$"),
    (np.array([1.0, -0.5, 1.0]), r"^who: sample_weight must be finite and >= 0 \(a weight "
                                 r"scales a sample's loss\)\.$"),
    (np.array([1.0, np.nan, 1.0]), r"^who: sample_weight must be finite and >= 0"),
    (np.array([1.0, np.inf, 1.0]), r"^who: sample_weight must be finite and >= 0"),
    # a scalar is checked as the vector it broadcasts to
    (-1.0, r"^who: sample_weight must be finite and >= 0"),
    (np.float64(np.nan), r"^who: sample_weight must be finite and >= 0"),
])
def test_bad_sample_weights_are_named(sw, message):
    with pytest.raises(DataError, match=message):
        check_sample_weight(sw, 3, "who")


def test_zero_weights_are_allowed():
    assert_array_equal(check_sample_weight(np.array([0.0, 1.0, 0.0]), 3, "f"), [0, 1, 0])
    assert_array_equal(check_sample_weight(0, 2, "f"), [0.0, 0.0])


# -- class_weight_per_sample -----------------------------------------------------------------

@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_balanced_class_weights_match_sklearn(with_sample_weight):
    from sklearn.utils.class_weight import compute_class_weight

    rng = np.random.default_rng(1)
    y = rng.choice(np.array(["a", "b", "c"]), size=40, p=[0.6, 0.3, 0.1])
    sw = rng.uniform(0.1, 2.0, 40) if with_sample_weight else None
    classes, index = np.unique(y, return_inverse=True)
    ref = compute_class_weight("balanced", classes=classes, y=y, sample_weight=sw)
    got = class_weight_per_sample("balanced", classes, index, "who", sw)
    assert_allclose(got, ref[index], rtol=1e-13)


def test_balanced_weights_stay_finite_for_a_class_with_zero_or_tiny_weight():
    classes = np.array([0, 1, 2])
    index = np.array([0, 0, 1, 1, 2])
    sw = np.array([1.0, 1.0, 0.25, 0.25, 0.0])
    got = class_weight_per_sample("balanced", classes, index, "who", sw)
    # counts (2, 0.5, 0): sum 2.5 / (3 * count); the empty class gets 2.5 / 3
    assert_allclose(got, [2.5 / 6, 2.5 / 6, 2.5 / 1.5, 2.5 / 1.5, 2.5 / 3], rtol=1e-14)


def test_dict_class_weights_default_to_one_and_accept_numpy_labels():
    classes = np.array([3, 7, 9])
    index = np.array([0, 1, 2, 2, 1])
    got = class_weight_per_sample({np.int64(7): 2.5, 3: 0.5}, classes, index, "who")
    assert_array_equal(got, [0.5, 2.5, 1.0, 1.0, 2.5])
    assert got.dtype == np.float64
    names = np.array(["x", "y"])
    got = class_weight_per_sample({np.str_("y"): 4}, names, np.array([1, 0, 1]), "who")
    assert_array_equal(got, [4.0, 1.0, 4.0])
    assert class_weight_per_sample(None, classes, index, "who") is None
    assert class_weight_per_sample({}, classes, index, "who").tolist() == [1.0] * 5


def test_class_weight_errors_name_the_caller_and_the_choices():
    classes, index = np.array([0, 1]), np.array([0, 1, 1])
    for bad in ("auto", ["balanced"], 2.0):
        with pytest.raises(InvalidParameterError, match=(
                r"^who\(class_weight=" + re.escape(repr(bad)) + r"\): class_weight must be "
                r"'balanced', a dict \{label: weight\} or None\.$")):
            class_weight_per_sample(bad, classes, index, "who")
    with pytest.raises(DataError, match=r"^who: class_weight names the label 5, which is not in "
                                        r"y's classes \[0, 1\]\.$"):
        class_weight_per_sample({0: 1.0, 5: 2.0}, classes, index, "who")


# -- the standardised design -----------------------------------------------------------------

def _moments(X, w, center, scale):
    """Plain weighted mean and standard deviation per column (w sums to 1)."""
    mean = (w @ X) if center else np.zeros(X.shape[1])
    if not scale:
        return mean, np.ones(X.shape[1])
    std = np.sqrt(w @ (X - mean) ** 2)
    return mean, std


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_column_scaling_is_the_weighted_mean_and_std(sparse, center, scale, weighted):
    X = _X(zeros=0.3)
    X[:, 3] *= 1e-3  # spreads 1 .. 1e-3 around means 0 .. 1e3
    rng = np.random.default_rng(2)
    w = rng.uniform(0.1, 1.0, 30)
    w /= w.sum()
    s = column_scaling(sp.csr_matrix(X) if sparse else X, center=center, scale=scale,
                       weights=w if weighted else None)
    mean, std = _moments(X, w if weighted else np.full(30, 1 / 30), center, scale)
    if scale and not center:
        std = np.sqrt((w if weighted else np.full(30, 1 / 30)) @ (X * X))
    assert isinstance(s, Scaling)
    assert_allclose(s.mean, mean, rtol=1e-12, atol=0)
    # the sparse spread is E[x^2] - mean^2: it cancels where the mean dwarfs the spread
    assert_allclose(s.scale, std, rtol=1e-7 if sparse and center else 1e-12)


def test_column_scaling_of_one_sample_without_weights():
    X = np.array([[2.0, -3.0]])
    s = column_scaling(X, center=True, scale=True)
    assert_array_equal(s.mean, [2.0, -3.0])
    assert_array_equal(s.scale, [1.0, 1.0])  # no spread: scale 1
    s = column_scaling(X, center=False, scale=True)
    assert_array_equal(s.scale, [2.0, 3.0])


@pytest.mark.parametrize("sparse", [False, True])
def test_constant_columns_get_scale_one_or_the_penalty_curvature(sparse):
    n = 20
    rng = np.random.default_rng(3)
    X = np.column_stack([np.full(n, 0.1), np.full(n, 1e3 + 0.1), np.zeros(n),
                         rng.standard_normal(n), 1e3 + 1e-6 * rng.standard_normal(n)])
    w = np.full(n, 1 / n)
    s = column_scaling(sp.csc_matrix(X) if sparse else X, center=True, scale=True, weights=w)
    std4 = np.sqrt(w @ (X[:, 3] - w @ X[:, 3]) ** 2)
    assert_allclose(s.scale[:3], 1.0, rtol=0)
    assert_allclose(s.scale[3], std4, rtol=1e-10)
    if not sparse:  # spread 1e-6 around 1e3 is 1e-9 relative: kept (threshold 1e-12)
        std5 = np.sqrt(w @ (X[:, 4] - w @ X[:, 4]) ** 2)
        assert_allclose(s.scale[4], std5, rtol=1e-8)
    # with curvature c: sqrt(std^2 + c); the constant columns get sqrt(c) exactly
    c = 0.04
    s = column_scaling(sp.csc_matrix(X) if sparse else X, center=True, scale=True,
                       curvature=c, weights=w)
    assert_allclose(s.scale[:3], 0.2, rtol=1e-15)
    assert_allclose(s.scale[3], np.sqrt(std4**2 + c), rtol=1e-10)


def test_a_spread_just_above_the_threshold_is_kept():
    # threshold: spread <= 1e-12 * max(|mean|, 1); a spread of 1e-10 on mean 0 is real
    X = np.array([[1e-10], [-1e-10]])
    s = column_scaling(X, center=True, scale=True, weights=np.array([0.5, 0.5]))
    assert_allclose(s.scale, [1e-10], rtol=1e-12)
    # 2e-12 around mean 1 is kept, 5e-13 around mean 1 is rounding
    s = column_scaling(np.array([[1.0 + 2e-12], [1.0 - 2e-12]]), center=True, scale=True)
    assert 1e-12 < s.scale[0] < 3e-12
    s = column_scaling(np.array([[1.0 + 5e-13], [1.0 - 5e-13]]), center=True, scale=True)
    assert s.scale[0] == 1.0
    # a spread of exactly the threshold (1e-12 around mean 0) counts as none
    X = np.array([[1e-12], [-1e-12]])
    assert np.sqrt(0.5 * (X[0, 0] ** 2 + X[1, 0] ** 2)) == 1e-12
    assert column_scaling(X, center=True, scale=True).scale[0] == 1.0
    # a constant 1000.1 whose weighted mean is off by an ulp has a spread of ~1e-13: below
    # 1e-12 * 1000.1, so rounding, not a feature to divide by
    w = np.random.default_rng(0).uniform(0.1, 1.0, 7)
    w /= w.sum()
    X = np.full((7, 1), 1e3 + 0.1)
    assert 0 < np.sqrt(w @ (X[:, 0] - w @ X[:, 0]) ** 2) < 1e-12
    assert column_scaling(X, center=True, scale=True, weights=w).scale[0] == 1.0


def test_scaling_maps_coefficients_and_intercepts_back_to_the_raw_columns():
    X = _X()
    s = column_scaling(X, center=True, scale=True)
    Xs = s.transform(X)
    assert_allclose(Xs, (X - X.mean(axis=0)) / X.std(axis=0), rtol=1e-10, atol=1e-12)
    u = np.array([1.0, -2.0, 0.5, 3.0])
    b_s = 4.0
    w = s.coef_back(u)
    b = s.intercept_back(b_s, w)
    # the same predictions on raw X: Xs u + b_s == X w + b
    assert_allclose(X @ w + b, Xs @ u + b_s, rtol=1e-10)
    assert_allclose(w, u / X.std(axis=0), rtol=1e-12)
    assert_allclose(b, b_s - X.mean(axis=0) @ w, rtol=1e-12)
    U = np.vstack([u, -u])  # (targets, features)
    assert_allclose(s.coef_back(U), U / X.std(axis=0), rtol=1e-12)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("k", [None, 3])
def test_implicit_design_products_match_the_formed_matrix(center, k):
    X = _X(zeros=0.5)
    s = column_scaling(X, center=center, scale=True)
    Xs = (X - s.mean) / s.scale  # formed here by hand
    rng = np.random.default_rng(4)
    U = rng.standard_normal(4 if k is None else (4, k))
    R = rng.standard_normal(30 if k is None else (30, k))
    dense, implicit = implicit_design(X, s), implicit_design(sp.csr_matrix(X), s)
    assert type(dense).__name__ == "_DenseDesign" and type(implicit).__name__ == "_ImplicitDesign"
    for D in (dense, implicit):
        assert D.shape == (30, 4)
        assert_allclose(D.matvec(U), Xs @ U, rtol=1e-10, atol=1e-10)
        assert_allclose(D.rmatvec(R), Xs.T @ R, rtol=1e-10, atol=1e-9)
    assert implicit.centred is center


def test_implicit_design_centres_columns_whose_mean_is_one():
    X = np.array([[0.0, 2.0], [2.0, 0.0], [1.0, 1.0]])  # both column means exactly 1
    s = column_scaling(X, center=True, scale=False)
    assert_array_equal(s.mean, [1.0, 1.0])
    D = implicit_design(sp.csr_matrix(X), s)
    assert D.centred
    assert_allclose(D.matvec(np.array([1.0, -1.0])), (X - 1.0) @ [1.0, -1.0], atol=1e-15)


# -- check_Xy / check_labels -----------------------------------------------------------------

def test_check_Xy_shapes_targets_like_sklearn():
    X = _X()
    y = np.arange(30)
    Xo, yo = check_Xy(_Est(), X, y, multi_output=True)
    assert Xo is X
    assert yo.dtype == np.float64 and yo.shape == (30,)
    _, yo = check_Xy(_Est(), X.astype(np.float32), y[:, None], multi_output=True)
    assert yo.shape == (30, 1) and yo.dtype == np.float64
    _, yo = check_Xy(_Est(), X, y[:, None], multi_output=False)
    assert yo.shape == (30,)
    assert_array_equal(yo, y)
    with pytest.raises(ShapeError, match="samples"):
        check_Xy(_Est(), X, np.ones((30, 2)), multi_output=False)
    # a column target keeps its column, as in scikit-learn
    from sklearn.linear_model import LinearRegression as SkLinearRegression

    Y = (X @ np.arange(4.0))[:, None]
    ours, ref = LinearRegression().fit(X, Y), SkLinearRegression().fit(X, Y)
    assert ours.coef_.shape == ref.coef_.shape == (1, 4)
    assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-12)


def test_missing_or_mismatched_y_is_named():
    with pytest.raises(ValueError, match=r"^_Est requires y to be passed, but the target y is "
                                         r"None\.$"):
        check_Xy(_Est(), _X(), None, multi_output=True)
    with pytest.raises(ValueError, match=r"^_Est requires y to be passed"):
        check_labels(_Est(), _X(), None)
    with pytest.raises(ShapeError, match=(
            r"^Found input variables with inconsistent numbers of samples: \[30, 29\]: X has 30 "
            r"rows \(samples\) but y has 29 entries; pass one target per row of X\.$")):
        check_Xy(_Est(), _X(), np.ones(29), multi_output=True)
    with pytest.raises(ShapeError, match=r"inconsistent numbers of samples: \[30, 31\]"):
        check_labels(_Est(), sp.csr_matrix(_X()), [0, 1] * 15 + [0])
    with pytest.raises(ShapeError, match=r"inconsistent numbers of samples: \[30, 2\]"):
        LogisticRegression().fit(_X(), [0, 1])


def test_check_labels_returns_sorted_classes_and_indices():
    X = _X()
    y = np.array(["b", "a", "c"] * 10)
    Xo, classes, index = check_labels(_Est(), sp.csc_matrix(X), y)
    assert Xo.format == "csc"
    assert_array_equal(classes, ["a", "b", "c"])
    assert_array_equal(classes[index], y)
    with pytest.raises(ValueError, match=r"^Unknown label type: continuous\. _Est needs class "
                                         r"labels; for a numeric target use LinearRegression, "
                                         r"or bin y first\.$"):
        check_labels(_Est(), X, np.linspace(0, 1, 30))


@pytest.mark.parametrize(("y", "error", "message"), [
    (np.ones((30, 2, 1)), ShapeError, r"^y must be 1-D \('samples'\) but has shape \(30, 2, 1\)"),
    (5.0, ShapeError, r"^y must be 1-D \('samples'\) but has shape \(\), which is 0-D"),
    (np.array([np.nan] + [1.0] * 29), DataError,
     r"^y has 1 non-finite entry \(NaN or inf\), the first at y\[0\] = nan\."),
    (np.ones(30) + 0j, DataError, r"^Complex data not supported: y has dtype complex128\."),
    (sp.csr_matrix(np.ones((30, 1))), DTypeError,
     r"^y is a scipy\.sparse matrix, which matfit's linear models does not take: pass "
     r"y\.toarray\(\)\.$"),
])
def test_bad_targets_are_named(y, error, message):
    with pytest.raises(error, match=message):
        LinearRegression().fit(_X(), y)


def test_targets_become_float64_whatever_their_dtype():
    for dtype in (np.float32, np.int32, np.bool_):
        _, yo = check_Xy(_Est(), _X(), (np.arange(30) % 3).astype(dtype), multi_output=True)
        assert yo.dtype == np.float64
        assert_array_equal(yo, (np.arange(30) % 3).astype(dtype).astype(np.float64))


def test_a_one_dimensional_sparse_array_is_refused():
    X = sp.coo_array(np.array([1.0, 0.0, 2.0]))
    assert X.ndim == 1
    with pytest.raises(DataError, match=r"^X must be 2-D \(samples, features\), got shape "
                                        r"\(3,\)\.$"):
        check_X(_Est(), X, reset=True, accept_sparse=True)


def test_a_negative_scalar_sample_weight_is_refused_by_the_estimators():
    # it used to be broadcast unchecked: "sums to zero" from LinearRegression, a fit that
    # maximises the log-loss from LogisticRegression
    X = _X()
    with pytest.raises(DataError, match=r"^linear_regression: sample_weight must be finite"):
        LinearRegression().fit(X, np.arange(30.0), sample_weight=-1.0)
    with pytest.raises(DataError, match=r"^LogisticRegression\.fit: sample_weight must be "
                                        r"finite and >= 0"):
        LogisticRegression().fit(X, np.arange(30) % 2, sample_weight=-2.0)
