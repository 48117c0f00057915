"""NMF, NMFImputer and choose_rank on inputs at the edges: empty samples and features, pandas
nullable columns, folds that would leave a row or column unobserved (issue 16, review)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from matfit._errors import DTypeError
from matfit.factorize import NMF, NMFImputer

sklearn = pytest.importorskip("sklearn")
from sklearn.impute import KNNImputer, SimpleImputer  # noqa: E402


def _low_rank(seed=0, n=60, p=12, k=3):
    rng = np.random.default_rng(seed)
    return (rng.random((n, k)) + 0.1) @ rng.random((k, p)), rng  # exactly rank k


# ---- NMFImputer: a sample with no observed entry ------------------------------------------
def test_a_sample_with_no_observed_entry_gets_the_training_means():
    # nothing of the sample is seen, so its activations are unknown: scikit-learn's imputers
    # fill it with the training column means, and the NMF model's mean sample is exactly that
    # when the model fits X (a rank-3 X, fitted at rank 3)
    X, _ = _low_rank()
    imp = NMFImputer(3, max_iter=3000, tol=0, random_state=0).fit(X)
    new = np.full((2, X.shape[1]), np.nan)
    new[1, :4] = X[0, :4]  # a partly observed sample beside it
    out = imp.transform(new)
    means = SimpleImputer().fit(X).transform(new[:1])[0]
    assert_allclose(out[0], means, rtol=1e-3)
    assert_allclose(out[0], KNNImputer().fit(X).transform(new[:1])[0], rtol=1e-3)
    assert_allclose(out[1, 4:], X[0, 4:], rtol=1e-3)  # solved from its observed features


def test_a_training_sample_with_no_observed_entry_gets_the_other_samples_means():
    X, _ = _low_rank(1)
    Xm = X.copy()
    Xm[7] = np.nan
    out = NMFImputer(3, max_iter=3000, tol=0, random_state=0).fit_transform(Xm)
    # the mean over the observed samples only: the empty one's own activations do not count
    assert_allclose(out[7], np.delete(X, 7, axis=0).mean(axis=0), rtol=1e-3)
    assert_array_equal(np.delete(out, 7, axis=0), np.delete(X, 7, axis=0))


def test_a_sample_observed_only_at_zeros_is_filled_with_zeros():
    X, _ = _low_rank(2)
    imp = NMFImputer(3, max_iter=500, random_state=0).fit(X)
    new = np.full((1, X.shape[1]), np.nan)
    new[0, :3] = 0.0  # observed, and 0: zero activations fit it exactly
    assert_array_equal(imp.transform(new), np.zeros_like(new))


# ---- pandas nullable columns -------------------------------------------------------------
def test_pandas_nullable_columns_read_pd_na_as_missing():
    pd = pytest.importorskip("pandas")
    X, rng = _low_rank(3, n=30, p=6)
    X = np.round(10 * X)
    X[rng.random(X.shape) < 0.2] = np.nan
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols).astype("Int64")  # NaN -> pd.NA
    assert df.isna().to_numpy().sum() == np.isnan(X).sum() > 0
    ref = NMF(2, solver="mu", beta_loss="kl", random_state=0, max_iter=50, tol=0).fit(X)
    model = NMF(2, solver="mu", beta_loss="kl", random_state=0, max_iter=50, tol=0).fit(df)
    assert_array_equal(model.components_, ref.components_)
    assert_array_equal(model.feature_names_in_, cols)
    imp_ref = NMFImputer(2, random_state=0, max_iter=100).fit_transform(X)
    assert_array_equal(NMFImputer(2, random_state=0, max_iter=100).fit_transform(df), imp_ref)
    # float32 nullable columns stay float32
    df32 = pd.DataFrame(X.astype(np.float32), columns=cols).astype("Float32")
    assert NMFImputer(2, random_state=0, max_iter=20).fit_transform(df32).dtype == np.float32
    # a column that is not numbers still raises the dtype error, not a conversion crash
    with pytest.raises(DTypeError, match="numbers are needed"):
        NMF(2).fit(df.assign(f0=df["f0"].astype("string")))
