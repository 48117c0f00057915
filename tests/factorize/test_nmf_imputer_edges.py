"""NMF, NMFImputer and choose_rank on inputs at the edges: empty samples and features, pandas
nullable columns, folds that would leave a row or column unobserved (issue 16, review)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from matfit._errors import DataError, DTypeError, InvalidParameterError
from matfit.factorize import NMF, NMFImputer, choose_rank, nmf

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


# ---- choose_rank: folds that would leave a row or column with nothing to learn from -------
def _sparsely_observed_rank_one(seed=0):
    """Rank-1 X (20, 30), fully observed except 5 rows and 5 columns with one entry each."""
    rng = np.random.default_rng(seed)
    X = np.outer(rng.random(20) + 0.5, rng.random(30) + 0.5)
    for i in range(5):                      # rows 0-4: only column 10 + i observed
        X[i, np.arange(30) != 10 + i] = np.nan
    for j in range(5):                      # columns 0-4: only row 10 + j observed
        X[np.arange(20) != 10 + j, j] = np.nan
    return X


def _hidden_sets(X, holdout, n_folds, seed):
    """The folds choose_rank scores, replayed: which entries end up hidden (a plain loop)."""
    obs = np.flatnonzero(~np.isnan(X).ravel())
    rng = np.random.default_rng(seed)
    perm = rng.permutation(obs)
    n_hidden = max(1, round(holdout * obs.size))
    assert n_folds * n_hidden <= obs.size   # disjoint folds
    return [perm[f * n_hidden:(f + 1) * n_hidden] for f in range(n_folds)]


def test_choose_rank_never_hides_the_last_observed_entry_of_a_row_or_column():
    X = _sparsely_observed_rank_one()
    # the draw does hide some row's or column's only entry (else this test shows nothing)
    drawn = _hidden_sets(X, 0.3, 3, seed=0)
    single = {np.ravel_multi_index((i, 10 + i), X.shape) for i in range(5)} | {
        np.ravel_multi_index((10 + j, j), X.shape) for j in range(5)}
    assert any(single & set(h.tolist()) for h in drawn)
    res = choose_rank(X, [1, 2], holdout=0.3, n_folds=3, seed=0, solver="hals")
    # every fold can be predicted: an exact rank-1 X is recovered at its hidden entries (a
    # row whose only entry was hidden would be predicted from its initial factors instead)
    scale = np.nanmean(X ** 2)
    assert res.heldout[:, 0].max() < 1e-8 * scale, res.heldout[:, 0]
    assert res.n_components == 1
    # what was given back: exactly the single entries of the drawn sets, one per empty line
    for f, h in enumerate(drawn):
        assert res.n_scored[f] == h.size - len(single & set(h.tolist()))
    assert res.n_hidden == drawn[0].size


def test_choose_rank_refuses_data_it_cannot_hold_out_from():
    with pytest.raises(InvalidParameterError, match="at least 2 observed entries"):
        choose_rank(np.array([[1.0]]), [1])
    X = np.full((3, 3), np.nan)
    X[0, 0], X[1, 1] = 1.0, 2.0   # each entry is its row's and column's only one
    with pytest.raises(InvalidParameterError, match="last observed one of its row or column"):
        choose_rank(X, [1], holdout=0.4, seed=0)
    with pytest.raises(InvalidParameterError, match=r"candidates is the ranks to try.*\[3\]"):
        choose_rank(np.ones((4, 4)), 3)


def test_sparse_x_with_nan_says_how_to_fit_them_as_missing():
    import scipy.sparse as sparse

    X, _ = _low_rank(4, n=20, p=8)
    S = sparse.csr_matrix(X)
    S.data[3] = np.nan
    with pytest.raises(DataError, match=r"1 NaN among its stored entries.*X\.toarray\(\)"):
        NMF(2).fit(S)
    # the advice works: densified, the NaN is missing (weight 0 in nmf's weighted fit)
    dense = NMF(2, solver="mu", beta_loss="kl", random_state=0, max_iter=30, tol=0)
    dense.fit(S.toarray())
    V = (~np.isnan(S.toarray())).astype(float)
    ref = nmf(S.toarray().T, 2, beta="kl", solver="mu", weights=V.T, seed=0, max_iter=30,
              tol=0)
    assert_allclose(dense.components_, ref.W.T, rtol=1e-12)


@pytest.mark.parametrize("solver", ["hals", "mu"])
def test_a_feature_never_observed_in_fit_does_not_steer_the_fills(solver):
    # its components are whatever the fit left there (HALS: the start); a value observed in
    # that feature at transform must not change the other features' fills
    X, rng = _low_rank(5, n=40, p=8)
    Xm = X.copy()
    Xm[rng.random(X.shape) < 0.1] = np.nan
    Xm[:, 4] = np.nan
    imp = NMFImputer(3, solver=solver, random_state=0, max_iter=300).fit(Xm)
    new = X[:3].copy()
    new[:, :3] = np.nan
    without = new.copy()
    without[:, 4] = np.nan
    new[:, 4] = 100.0   # far from anything the model could predict there
    assert_array_equal(imp.transform(new), imp.transform(without))


def test_choose_rank_refuses_too_large_a_candidate_before_fitting_the_others(monkeypatch):
    import matfit.factorize._rank as rank_module

    def no_fit(*args, **kwargs):
        raise AssertionError("a fit ran before the candidates were checked")

    monkeypatch.setattr(rank_module, "nmf", no_fit)
    X, _ = _low_rank(6, n=10, p=8)
    with pytest.raises(InvalidParameterError, match=r"candidate rank 9 exceeds .* = 8"):
        choose_rank(X, [1, 2, 9], seed=0)


# ---- every entry missing -------------------------------------------------------------------
def test_every_entry_missing_is_named_as_such_not_as_weights():
    X, _ = _low_rank(7, n=12, p=8)
    empty = np.full_like(X, np.nan)
    # (the user passed no weights: 'weights are all zero' named an argument they never gave)
    for fit in (lambda: NMF(2).fit(empty), lambda: choose_rank(empty, [1])):
        with pytest.raises(DataError, match=r"Every entry of X \(shape \(12, 8\)\) is NaN"):
            fit()
    # transform: a batch of samples with no observed entry gets zero activations, as one such
    # sample among observed ones does
    model = NMF(2, random_state=0).fit(X)
    mixed = model.transform(np.vstack([X[:1], empty[:1]]))
    assert_array_equal(mixed[1], 0.0)
    out = model.transform(empty[:3].astype(np.float32))
    assert_array_equal(out, np.zeros((3, 2)))
    assert out.dtype == np.float32


def test_imputer_copy_false_fills_and_returns_the_callers_array():
    # scikit-learn's SimpleImputer(copy=False) returns X itself, filled
    X, _ = _low_rank(8, n=20, p=6)
    Xm = X.copy()
    Xm[0, 0] = np.nan
    ref = SimpleImputer(copy=False)
    Xs = Xm.copy()
    assert ref.fit(Xs).transform(Xs) is Xs
    imp = NMFImputer(2, copy=False, random_state=0).fit(Xm)
    out = imp.transform(Xm)
    assert out is Xm and np.isfinite(Xm).all()


def test_imputer_hals_with_another_divergence_names_the_imputer():
    with pytest.raises(InvalidParameterError, match=r"NMFImputer\(solver='hals', beta_loss='kl'"):
        NMFImputer(2, solver="hals", beta_loss="kl").fit(np.ones((4, 4)))
