"""NMFImputer (scikit-learn's imputer API) and NaN as missing in the NMF estimator."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from matfit._errors import DataError
from matfit.factorize import NMF, NMFImputer, nmf

sklearn = pytest.importorskip("sklearn")
from sklearn.impute import MissingIndicator, SimpleImputer  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


@parametrize_with_checks([NMFImputer(), NMFImputer(beta_loss="kl", max_iter=50),
                          NMFImputer(2, add_indicator=True, keep_empty_features=True)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _low_rank(seed=0, n=60, p=20, k=3, hide=0.25):
    rng = np.random.default_rng(seed)
    X = rng.random((n, k)) @ rng.random((k, p))
    hidden = rng.random(X.shape) < hide
    return X, hidden, np.where(hidden, np.nan, X), rng


def test_fills_hidden_entries_of_a_low_rank_matrix_and_keeps_observed_ones():
    X, hidden, Xm, _ = _low_rank()
    out = NMFImputer(3, max_iter=3000, tol=0, random_state=0).fit_transform(Xm)
    err = np.linalg.norm((out - X)[hidden]) / np.linalg.norm(X[hidden])
    assert err < 1e-3, err
    assert_array_equal(out[~hidden], X[~hidden])
    # the column-mean imputer, for scale: the low-rank model is far better
    mean = SimpleImputer().fit_transform(Xm)
    assert err < 0.05 * np.linalg.norm((mean - X)[hidden]) / np.linalg.norm(X[hidden])


def test_transform_of_new_samples_solves_their_activations_from_observed_features():
    _X, _hidden, Xm, _rng = _low_rank(1)
    imp = NMFImputer(3, beta_loss="kl", max_iter=300, random_state=0).fit(Xm[:40])
    new = Xm[40:]
    out = imp.transform(new)
    # reference: nmf with the components fixed and weight 0 at the missing entries
    V = (~np.isnan(new)).astype(float)
    Xk = np.nan_to_num(new)
    H0 = np.broadcast_to((Xk * V).sum(axis=1) / (V @ imp.components_.sum(axis=0)),
                         (3, new.shape[0]))
    ref = nmf(Xk.T, None, beta="kl", W=imp.components_.T, H=H0, update_W=False,
              weights=V.T, max_iter=300, tol=imp.tol)
    expect = np.where(np.isnan(new), (ref.W @ ref.H).T, new)
    assert_allclose(out, expect, rtol=1e-12)
    assert np.isfinite(out).all()


def test_numeric_missing_values_and_copy():
    X, hidden, _, _ = _low_rank(2)
    Xz = np.where(hidden, -1.0, X)
    out = NMFImputer(3, missing_values=-1.0, max_iter=500, random_state=0).fit_transform(Xz)
    assert (out >= 0).all()
    assert_array_equal(out[~hidden], X[~hidden])
    Xc = Xz.copy()
    NMFImputer(3, missing_values=-1.0, copy=True, random_state=0).fit(Xc).transform(Xc)
    assert_array_equal(Xc, Xz)


def test_indicator_and_empty_features_follow_sklearn():
    _X, _hidden, Xm, _ = _low_rank(3)
    Xm[:, 4] = np.nan  # a feature never observed
    imp = NMFImputer(3, add_indicator=True, random_state=0, max_iter=50).fit(Xm)
    out = imp.transform(Xm)
    ref = MissingIndicator().fit(Xm).transform(Xm)
    assert out.shape == (Xm.shape[0], Xm.shape[1] - 1 + ref.shape[1])
    assert_array_equal(out[:, Xm.shape[1] - 1:], ref)
    assert_array_equal(imp.get_feature_names_out()[:3], ["x0", "x1", "x2"])
    kept = NMFImputer(3, keep_empty_features=True, random_state=0, max_iter=50).fit(Xm)
    assert_array_equal(kept.transform(Xm)[:, 4], 0.0)


def test_errors_name_the_entry():
    _X, _hidden, Xm, _ = _low_rank(4)
    Xm[0, 0], Xm[1, 1] = np.inf, -3.0
    with pytest.raises(DataError, match=r"infinite .* X\[0, 0\] = inf"):
        NMFImputer().fit(Xm)
    Xm[0, 0] = 1.0
    with pytest.raises(DataError, match=r"Negative values in data .* X\[1, 1\] = -3.0"):
        NMFImputer().fit(Xm)


# ---- the NMF estimator with NaN ---------------------------------------------------------------
@pytest.mark.parametrize("solver,beta", [("mu", "kl"), ("hals", "frobenius")])
def test_nmf_estimator_reads_nan_as_missing(solver, beta):
    X, hidden, Xm, _ = _low_rank(5)
    model = NMF(3, beta_loss=beta, solver=solver, random_state=0, max_iter=100, tol=0)
    Wsk = model.fit_transform(Xm)
    ref = nmf(Xm.T, 3, beta=beta, solver=solver, weights=(~hidden).T.astype(float), seed=0,
              max_iter=100, tol=0)
    assert_allclose(model.components_, ref.W.T, rtol=1e-12)
    assert np.isfinite(Wsk).all() and Wsk.shape == (60, 3)
    # transform of new samples with missing entries: close to the fitted activations
    assert_allclose(model.transform(Xm[:5]), Wsk[:5], rtol=1e-12)
    # without NaN the fit is the unweighted one, unchanged
    plain = NMF(3, beta_loss=beta, solver=solver, random_state=0, max_iter=20, tol=0).fit(X)
    assert_array_equal(plain.components_, nmf(X.T, 3, beta=beta, solver=solver, seed=0,
                                              max_iter=20, tol=0).W.T)


def test_nmf_estimator_still_rejects_inf():
    X, _, _, _ = _low_rank(6)
    X[2, 3] = np.inf
    with pytest.raises(DataError, match=r"non-finite"):
        NMF(3).fit(X)
