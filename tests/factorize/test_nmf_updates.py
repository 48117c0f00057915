"""MU and HALS steps: against scikit-learn's steps, and the objective never rises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from matfit.factorize import apply_update, h_terms, mm_exponent, nmf, w_terms
from matfit.numerics import beta_divergence

sk_nmf = pytest.importorskip("sklearn.decomposition")


def _problem(seed: int, m: int = 12, n: int = 17, k: int = 4):
    rng = np.random.default_rng(seed)
    X = rng.random((m, n)) + 0.1
    W = rng.random((m, k)) + 0.2
    H = rng.random((k, n)) + 0.2
    return X, W, H


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("alphas", [(0.0, 0.0, 0.0), (0.1, 0.05, 0.3), (0.02, 0.2, 1.0)])
def test_one_mu_iteration_equals_sklearn(beta, alphas):
    # scikit-learn factorises X.T (samples, features) = W_sk @ H_sk with W_sk = our H.T and
    # H_sk = our W.T; its alpha_W penalises W_sk (our H), so it is our alpha_H. One iteration
    # of both updates the activations first, then the dictionary.
    alpha_W, alpha_H, l1_ratio = alphas
    X, W, H = _problem(1)
    res = nmf(X, beta=beta, W=W, H=H, max_iter=1, tol=0, alpha_W=alpha_W, alpha_H=alpha_H,
              l1_ratio=l1_ratio)
    W_sk, H_sk, n_iter = sk_nmf.non_negative_factorization(
        X.T, W=H.T.copy(), H=W.T.copy(), n_components=W.shape[1], init="custom", solver="mu",
        beta_loss=beta, max_iter=1, tol=0, alpha_W=alpha_H, alpha_H=alpha_W, l1_ratio=l1_ratio)
    assert n_iter == 1
    assert_allclose(res.H, W_sk.T, rtol=1e-10, atol=1e-12)
    assert_allclose(res.W, H_sk.T, rtol=1e-10, atol=1e-12)
    assert res.history[-1] < res.history[0]  # the step moved, downhill


@pytest.mark.parametrize("alphas", [(0.0, 0.0, 0.0), (0.1, 0.05, 0.3)])
def test_one_hals_iteration_equals_sklearn_cd(alphas):
    # scikit-learn's "cd" solver is HALS: the same Gauss-Seidel sweep over components
    alpha_W, alpha_H, l1_ratio = alphas
    X, W, H = _problem(2, m=15, n=11, k=5)
    res = nmf(X, W=W, H=H, solver="hals", max_iter=3, tol=0, alpha_W=alpha_W, alpha_H=alpha_H,
              l1_ratio=l1_ratio)
    W_sk, H_sk, _ = sk_nmf.non_negative_factorization(
        X.T, W=H.T.copy(), H=W.T.copy(), n_components=5, init="custom", solver="cd",
        max_iter=3, tol=0, alpha_W=alpha_H, alpha_H=alpha_W, l1_ratio=l1_ratio)
    assert_allclose(res.H, W_sk.T, rtol=1e-10, atol=1e-12)
    assert_allclose(res.W, H_sk.T, rtol=1e-10, atol=1e-12)


def test_mm_exponents_are_fevotte_idier_table():
    assert [mm_exponent(b) for b in (-1.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)] == [
        1 / 3, 1 / 2, 1 / 1.5, 1.0, 1.0, 1.0, 1 / 2, 1 / 4]


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 3.0])
def test_kernel_pieces_add_over_sample_chunks(beta):
    # the contract a chunked (Dask) driver relies on: H's pieces are per column, W's are sums
    X, W, H = _problem(3, m=9, n=20, k=3)
    num_h, den_h = h_terms(X, W, H, beta)
    num_w, den_w = w_terms(X, W, H, beta)
    chunks = [slice(0, 7), slice(7, 13), slice(13, 20)]
    num_w_sum = sum(w_terms(X[:, c], W, H[:, c], beta)[0] for c in chunks)
    den_w_sum = sum(w_terms(X[:, c], W, H[:, c], beta)[1] for c in chunks)
    assert_allclose(num_w_sum, num_w, rtol=1e-12)
    assert_allclose(np.broadcast_to(den_w_sum, num_w.shape), np.broadcast_to(den_w, num_w.shape),
                    rtol=1e-12)
    for c in chunks:
        n_c, d_c = h_terms(X[:, c], W, H[:, c], beta)
        assert_allclose(n_c, num_h[:, c], rtol=1e-12)
        assert_allclose(np.broadcast_to(d_c, n_c.shape),
                        np.broadcast_to(den_h, num_h.shape)[:, c], rtol=1e-12)


def test_kernel_pieces_match_the_gradient():
    # for beta in [1, 2] numer - denom is minus the gradient of D(X|WH) (Févotte & Idier eq. 3)
    X, W, H = _problem(4, m=6, n=5, k=2)
    beta = 1.5
    num, den = h_terms(X, W, H, beta)
    grad = np.empty_like(H)
    step = 1e-6
    for idx in np.ndindex(H.shape):
        Hp, Hm = H.copy(), H.copy()
        Hp[idx] += step
        Hm[idx] -= step
        grad[idx] = (beta_divergence(X, W @ Hp, beta) - beta_divergence(X, W @ Hm, beta)) / (
            2 * step)
    assert_allclose(den - num, grad, rtol=1e-6, atol=1e-8)


def test_apply_update_with_columns_subset_keeps_others():
    X, W, H = _problem(5)
    num, den = w_terms(X, W, H, 1.0, columns=slice(0, 2))
    Wl = W.copy()
    apply_update(Wl[:, :2], num, den)
    full_num, full_den = w_terms(X, W, H, 1.0)
    ref = W * full_num / full_den
    assert_allclose(Wl[:, :2], ref[:, :2], rtol=1e-13)
    assert np.array_equal(Wl[:, 2:], W[:, 2:])


def _rises(history: np.ndarray) -> float:
    """Largest increase between consecutive recorded objectives, relative to the first."""
    return float(np.max(np.diff(history), initial=-np.inf) / history[0])


problems = st.tuples(
    st.integers(2, 9), st.integers(2, 9), st.integers(1, 4), st.integers(0, 2**31 - 1),
    st.booleans())


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
@settings(max_examples=25)
@given(problem=problems)
def test_mu_objective_never_rises(beta, problem):
    m, n, k, seed, sparse_x = problem
    rng = np.random.default_rng(seed)
    X = rng.gamma(0.5, 2.0, size=(m, n))
    if sparse_x and beta > 0:
        X[rng.random((m, n)) < 0.4] = 0.0   # zeros in X are fine for beta > 0
    X += 1e-3 if beta <= 0 else 0.0
    if not X.any():
        X[0, 0] = 1.0
    res = nmf(X, min(k, m, n), beta=beta, init="random", max_iter=60, tol=0, seed=seed,
              check_every=1)
    assert len(res.history) == 61 and np.all(np.isfinite(res.history))
    assert _rises(res.history) <= 1e-12
    assert res.fun <= res.history[0]


@pytest.mark.filterwarnings("ignore:.*every component collapsed to zero:UserWarning")
@settings(max_examples=25)
@given(problem=problems, reg=st.sampled_from([(0.0, 0.0, 0.0), (0.05, 0.1, 0.5),
                                              (0.1, 0.0, 1.0)]))
def test_hals_and_regularised_mu_objective_never_rises(problem, reg):
    m, n, k, seed, _ = problem
    alpha_W, alpha_H, l1_ratio = reg
    X = np.random.default_rng(seed).gamma(0.5, 2.0, size=(m, n)) + 1e-3
    for solver, beta in (("hals", 2.0), ("mu", 2.0), ("mu", 1.0)):
        res = nmf(X, min(k, m, n), beta=beta, solver=solver, init="random", max_iter=40,
                  tol=0, seed=seed, check_every=1, alpha_W=alpha_W, alpha_H=alpha_H,
                  l1_ratio=l1_ratio)
        assert _rises(res.history) <= 1e-12, (solver, beta)


@pytest.mark.parametrize("solver,beta,iters", [("hals", 2.0, 300), ("mu", 1.0, 3000),
                                                ("mu", 2.0, 20000)])
def test_exact_low_rank_x_is_recovered(solver, beta, iters):
    rng = np.random.default_rng(0)
    W0 = rng.random((40, 5)) * (rng.random((40, 5)) < 0.5)
    H0 = rng.random((5, 60)) * (rng.random((5, 60)) < 0.5)
    X = W0 @ H0
    res = nmf(X, 5, beta=beta, solver=solver, max_iter=iters, tol=0, seed=0)
    assert np.linalg.norm(X - res.W @ res.H) / np.linalg.norm(X) < 1e-4


def test_tol_stops_early_and_says_why():
    X, _, _ = _problem(6, m=20, n=30)
    res = nmf(X, 3, beta="kl", tol=1e-3, max_iter=1000, seed=0)
    assert res.success and res.status == 0 and 0 < res.nit < 1000
    assert "tol=0.001" in res.message
    # the last check is the state returned, and its decrease was below tol * initial objective
    assert res.history_nit[-1] == res.nit
    assert (res.history[-2] - res.history[-1]) < 1e-3 * res.history[0]
    assert (res.history[-3] - res.history[-2]) >= 1e-3 * res.history[0]
    assert_allclose(res.fun, beta_divergence(X, res.W @ res.H, 1.0), rtol=1e-10)


def test_history_is_recorded_every_check_and_at_the_end():
    X, _, _ = _problem(7)
    res = nmf(X, 3, beta=1.5, max_iter=25, tol=0, check_every=10, seed=0)
    assert res.history_nit.tolist() == [0, 10, 20, 25]
    assert res.status == 4 and res.success
    assert_allclose(res.history[-1], beta_divergence(X, res.W @ res.H, 1.5), rtol=1e-10)


def test_max_iter_without_convergence_warns():
    from matfit import ConvergenceWarning

    X, _, _ = _problem(8, m=30, n=40)
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        res = nmf(X, 4, beta="kl", max_iter=5, tol=1e-12, seed=0)
    assert res.status == 1 and not res.success


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "mu"), (2.0, "hals"), (0.5, "mu")])
def test_float32_stays_float32_and_agrees_with_float64(beta, solver):
    X, W, H = _problem(9, m=30, n=40, k=4)
    r64 = nmf(X, W=W, H=H, beta=beta, solver=solver, max_iter=30, tol=0)
    r32 = nmf(X.astype(np.float32), W=W, H=H, beta=beta, solver=solver, max_iter=30, tol=0)
    assert r32.W.dtype == r32.H.dtype == np.float32
    assert r64.W.dtype == np.float64
    assert_allclose(r32.W @ r32.H, r64.W @ r64.H, rtol=1e-3)
    assert_allclose(r32.fun, r64.fun, rtol=1e-4)


def test_penalties_change_the_solution_as_documented():
    X, W, H = _problem(10, m=20, n=30, k=4)
    plain = nmf(X, W=W, H=H, beta="kl", max_iter=200, tol=0)
    sparse_h = nmf(X, W=W, H=H, beta="kl", max_iter=200, tol=0, alpha_H=0.05, l1_ratio=1.0,
                   normalize_W=True)
    assert np.mean(sparse_h.H < 1e-3 * sparse_h.H.max()) > np.mean(plain.H < 1e-3 * plain.H.max())
    # the reported penalty is alpha_H * n_features * |H|_1
    assert_allclose(sparse_h.penalty, 0.05 * 20 * sparse_h.H.sum(), rtol=1e-10)
    assert_allclose(np.linalg.norm(sparse_h.W, axis=0), 1.0, rtol=1e-12)


def test_verbose_shows_a_progress_bar(capsys):
    X, _, _ = _problem(11)
    nmf(X, 2, max_iter=20, tol=0, verbose=1, seed=0)
    assert "nmf mu" in capsys.readouterr().err
    nmf(X, 2, max_iter=20, tol=0, verbose=0, seed=0)
    assert capsys.readouterr().err == ""

