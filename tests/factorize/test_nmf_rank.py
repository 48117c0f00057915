"""choose_rank: the true rank of noisy low-rank data, from held-out entries only."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit._errors import InvalidParameterError
from matfit.factorize import choose_rank, nmf


def _low_rank(seed, k, m=40, n=60):
    rng = np.random.default_rng(seed)
    return rng.random((m, k)) @ rng.random((k, n)), rng


@pytest.mark.parametrize("seed,k", [(0, 4), (1, 2), (2, 5)])
def test_finds_the_true_rank_frobenius_with_gaussian_noise(seed, k):
    X, rng = _low_rank(seed, k)
    X = np.maximum(X + 0.1 * X.std() * rng.standard_normal(X.shape), 0)
    res = choose_rank(X, range(1, 8), seed=seed)
    assert res.n_components == k, res.heldout_mean
    assert res.heldout.shape == (3, 7) and res.heldout_std.shape == (7,)
    # the training divergence keeps falling with k: only the held-out one can choose
    assert res.train[-1] < res.train[k - 1]


@pytest.mark.parametrize("seed", [0, 1])
def test_finds_the_true_rank_kl_with_poisson_noise(seed):
    X, rng = _low_rank(seed, 3)
    X = rng.poisson(100 * X) / 100
    res = choose_rank(X, range(1, 7), beta="kl", seed=seed)
    assert res.n_components == 3, res.heldout_mean


def test_nan_entries_are_missing_and_never_scored():
    X, rng = _low_rank(3, 3)
    X = np.maximum(X + 0.05 * X.std() * rng.standard_normal(X.shape), 0)
    Xn = X.copy()
    Xn[rng.random(X.shape) < 0.2] = np.nan
    res = choose_rank(Xn, [1, 2, 3, 4, 6], seed=0)
    assert res.n_components == 3
    assert np.isfinite(res.heldout).all()


def test_heldout_divergence_is_the_hidden_entries_divergence_written_plainly():
    # one fold, one rank: redo the fit with the hidden entries' weights set to 0 by hand
    X, _ = _low_rank(4, 2, m=12, n=15)
    res = choose_rank(X, [2], n_folds=1, holdout=0.25, seed=7, beta="kl")
    rng = np.random.default_rng(7)
    perm = rng.permutation(X.size)
    fit_seed = int(rng.integers(0, 2**31, size=1)[0])
    hidden = perm[: round(0.25 * X.size)]
    V = np.ones(X.size)
    V[hidden] = 0
    fit = nmf(X, 2, beta="kl", weights=V.reshape(X.shape), solver="mu", max_iter=1000,
              tol=1e-6, seed=fit_seed)
    x, y = X.ravel()[hidden], (fit.W @ fit.H).ravel()[hidden]
    assert_allclose(res.heldout[0, 0], np.mean(x * np.log(x / y) - x + y), rtol=1e-10)


def test_sparse_x_observed_only():
    X, rng = _low_rank(5, 3, m=60, n=80)
    keep = rng.random(X.shape) < 0.5
    Xs = sp.csr_matrix(np.where(keep, X + 0.02 * rng.standard_normal(X.shape), 0).clip(0))
    res = choose_rank(Xs, [2, 3, 5], weights="stored", seed=0, n_folds=2, max_iter=300)
    assert res.n_components == 3
    with pytest.raises(InvalidParameterError, match=r"weights='stored'"):
        choose_rank(Xs, [1, 2])


@pytest.mark.parametrize("kw,match", [
    (dict(candidates=[]), "at least one candidate"),
    (dict(holdout=1.5), r"holdout must lie in \(0, 1\)"),
    (dict(rule="best"), "rule must be 'min' or '1se'"),
    (dict(candidates=[0, 2]), "candidates"),
])
def test_bad_options_are_named(kw, match):
    X, _ = _low_rank(6, 2, m=10, n=12)
    kw = {"candidates": [1, 2], **kw}
    with pytest.raises(InvalidParameterError, match=match):
        choose_rank(X, kw.pop("candidates"), **kw)
