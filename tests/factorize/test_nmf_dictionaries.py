"""Fixed and partly fixed dictionaries (supervised / semi-supervised NMF), and fixed H."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit.factorize import nmf


def _data(seed=0, m=30, n=50, k=6):
    rng = np.random.default_rng(seed)
    W = rng.random((m, k))
    H = rng.random((k, n))
    return W @ H + 0.01 * rng.random((m, n)), W, H


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("mu", 0.5), ("hals", 2.0)])
@pytest.mark.parametrize("fixed", [np.array([0, 3]), np.array([True, False, False, True, False,
                                                                False]), np.array([-1])])
def test_fixed_columns_are_bitwise_unchanged_and_the_others_learn(solver, beta, fixed):
    X, W0, _ = _data()
    rng = np.random.default_rng(1)
    W = rng.random(W0.shape)
    W_before = W.copy()
    res = nmf(X, W=W, fixed_W_columns=fixed, beta=beta, solver=solver, max_iter=30, tol=0,
              seed=0)
    mask = np.zeros(6, bool)
    mask[fixed] = True
    assert np.array_equal(res.W[:, mask], W_before[:, mask])          # bitwise
    assert np.array_equal(W, W_before)                                 # input not modified
    moved = np.abs(res.W[:, ~mask] - W_before[:, ~mask]).max(axis=0)
    assert np.all(moved > 1e-3)                                        # every learned column
    assert res.fun < res.history[0]


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("hals", 2.0)])
def test_supervised_w_fixed_equals_sklearn_update_h_false(solver, beta):
    # scikit-learn's non_negative_factorization(update_H=False) fixes its H = our W
    sk = pytest.importorskip("sklearn.decomposition")
    X, W, _ = _data(2)
    # scikit-learn starts its W (our H) at sqrt(mean(X) / k) for "mu" and at 0 for "cd"
    H0 = np.full((6, X.shape[1]), 0.0 if solver == "hals" else np.sqrt(X.mean() / 6))
    res = nmf(X, W=W, H=H0, update_W=False, beta=beta, solver=solver, max_iter=20, tol=0)
    W_sk, _, _ = sk.non_negative_factorization(
        X.T, H=W.T.copy(), n_components=6, update_H=False,
        solver="cd" if solver == "hals" else "mu", beta_loss=beta, max_iter=20, tol=0)
    assert np.array_equal(res.W, W)
    assert_allclose(res.H, W_sk.T, rtol=1e-9, atol=1e-12)


def test_update_w_false_with_h_missing_initialises_h_to_the_scale_of_x():
    X, W, _ = _data(3)
    W = W / W.sum(axis=0)                 # a dictionary of unit-sum atoms: any scale must work
    res = nmf(X, W=W, update_W=False, beta="kl", max_iter=0, tol=0, seed=0)
    assert res.init == "random" and res.H.shape == (6, 50)
    assert_allclose((res.W @ res.H).mean(), X.mean(), rtol=1e-10)
    res = nmf(X, None, W=W, update_W=False, beta="kl", max_iter=1000, tol=1e-3, seed=0)
    assert np.array_equal(res.W, W) and res.success
    assert np.linalg.norm(X - res.W @ res.H) < 0.1 * np.linalg.norm(X)


def test_fixed_h_learns_w_only():
    X, _, H = _data(4)
    res = nmf(X, H=H, update_H=False, beta="kl", max_iter=50, tol=0, seed=0)
    assert np.array_equal(res.H, H)
    assert res.fun < res.history[0]


def test_nothing_to_fit_returns_the_objective():
    X, W, H = _data(5)
    res = nmf(X, W=W, H=H, update_W=False, update_H=False, beta="kl")
    assert res.status == 2 and res.success and res.nit == 0
    assert np.array_equal(res.W, W) and np.array_equal(res.H, H)
    from matfit.numerics import beta_divergence
    assert_allclose(res.fun, beta_divergence(X, W @ H, 1.0), rtol=1e-9)


def test_fixed_dictionary_with_zero_rows_stays_finite():
    # an exemplar dictionary can have all-zero rows: W @ H is zero there, and X must be too
    X, W, _ = _data(6)
    W[:3] = 0.0
    X[:3] = 0.0
    res = nmf(X, W=W, update_W=False, beta="kl", max_iter=40, tol=0, seed=0)
    assert np.all(np.isfinite(res.H)) and np.isfinite(res.fun)
    assert res.fun < res.history[0]


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5, 3.0])
def test_zero_rows_of_fixed_w_and_x_are_the_fit_without_those_rows(beta):
    # d(0 | 0) = 0 and those rows add nothing to H's gradient, so the fit is the one of the
    # other rows (for beta < 1 the guarded W @ H = tiny once made (W @ H)**(beta-2) = inf, and
    # 0 * inf a NaN H)
    X, W, _ = _data(6)
    W[:3] = 0.0
    X[:3] = 0.0
    H0 = np.random.default_rng(3).random((W.shape[1], X.shape[1])) + 0.1
    res = nmf(X, W=W, H=H0, update_W=False, beta=beta, max_iter=30, tol=0)
    ref = nmf(X[3:], W=W[3:], H=H0, update_W=False, beta=beta, max_iter=30, tol=0)
    assert_allclose(res.H, ref.H, rtol=1e-10)
    assert_allclose(res.fun, ref.fun, rtol=1e-10)


def test_zero_row_of_fixed_w_where_x_is_positive_is_a_clear_error():
    from matfit import DataError

    X, W, _ = _data(7)
    W[4] = 0.0
    with pytest.raises(DataError, match=r"fixed W has 1 all-zero row\(s\) \(the first: W row 4\)"):
        nmf(X, W=W, update_W=False, beta="kl", max_iter=20, tol=0, seed=0)
    # beta > 1 keeps the divergence finite there: no error, and a finite fit
    res = nmf(X, W=W, update_W=False, beta=1.5, max_iter=20, tol=0, seed=0)
    from matfit.numerics import beta_divergence
    assert_allclose(res.fun, beta_divergence(X, res.W @ res.H, 1.5), rtol=1e-10)
    assert res.fun < res.history[0]


def test_normalize_w_rescales_only_learned_columns_and_keeps_wh():
    X, _, _ = _data(8)
    W = np.random.default_rng(2).random((30, 6)) * 3
    res = nmf(X, W=W, fixed_W_columns=[0, 1], normalize_W="l1", beta="kl", max_iter=10, tol=0,
              seed=0)
    assert np.array_equal(res.W[:, :2], W[:, :2])
    assert_allclose(res.W[:, 2:].sum(axis=0), 1.0, rtol=1e-12)
    plain = nmf(X, W=W, fixed_W_columns=[0, 1], beta="kl", max_iter=10, tol=0, seed=0)
    # rescaling W's columns into H changes nothing in W @ H, so the MU path is the same
    assert_allclose(res.W @ res.H, plain.W @ plain.H, rtol=1e-8)
