"""The fit loop (_loop): its objective against a plain divergence, its records and its stops."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit.factorize import nmf


def _plain_divergence(X, Y, beta):
    """sum d_beta(X | Y), Févotte & Idier (2011) eq. 2, in float64 (or long double), 0 log 0 = 0."""
    dtype = np.longdouble if np.asarray(X).dtype == np.longdouble else np.float64
    X, Y = np.asarray(X, dtype=dtype), np.asarray(Y, dtype=dtype)
    if beta == 2:
        return 0.5 * np.sum((X - Y) ** 2)
    if beta == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.where(X > 0, X * np.log(X / Y), 0.0) - X + Y)
    if beta == 0:
        return np.sum(X / Y - np.log(X / Y) - 1)
    return np.sum((X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1))
                  / (beta * (beta - 1)))


def _plain_penalty(W, H, alpha_W, alpha_H, l1_ratio):
    m, n = W.shape[0], H.shape[1]
    pw = alpha_W * n * (l1_ratio * W.sum() + 0.5 * (1 - l1_ratio) * np.sum(W**2))
    ph = alpha_H * m * (l1_ratio * H.sum() + 0.5 * (1 - l1_ratio) * np.sum(H**2))
    return pw + ph


def _data(seed, m=40, n=30, scale=1.0, zeros=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, 3)) @ rng.random((3, n)) + 0.05 * rng.random((m, n))
    if zeros:
        X[rng.random(X.shape) < 0.3] = 0.0
    return scale * X


CASES = [(b, "mu") for b in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)] + [(2.0, "hals")]


@pytest.mark.parametrize("beta,solver", CASES)
@pytest.mark.parametrize("scale", [1.0, 1e-12, 1e12])
def test_reported_objective_is_the_plain_divergence_plus_penalties(beta, solver, scale):
    X = _data(0, scale=scale, zeros=beta > 0)
    kw = dict(alpha_W=0.01, alpha_H=0.02, l1_ratio=0.3) if scale == 1.0 else {}
    res = nmf(X, 3, beta=beta, solver=solver, max_iter=25, tol=0, check_every=10, seed=0, **kw)
    div = _plain_divergence(X, res.W @ res.H, beta)
    pen = _plain_penalty(res.W, res.H, kw.get("alpha_W", 0), kw.get("alpha_H", 0),
                         kw.get("l1_ratio", 0))
    assert_allclose(res.divergence, div, rtol=1e-9)
    assert_allclose(res.penalty, pen, rtol=1e-12, atol=0)
    assert_allclose(res.fun, div + pen, rtol=1e-9)
    assert res.history_nit.tolist() == [0, 10, 20, 25]
    assert res.history[-1] == res.fun
    assert np.all(np.diff(res.history) < 0)


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "mu"), (2.0, "hals")])
def test_sparse_objective_is_the_plain_divergence(beta, solver):
    X = _data(1, zeros=True)
    Xs = sp.csr_matrix(X)
    res = nmf(Xs, 3, beta=beta, solver=solver, max_iter=15, tol=0, seed=0)
    assert_allclose(res.fun, _plain_divergence(X, res.W @ res.H, beta), rtol=1e-9)
    start = nmf(Xs, 3, beta=beta, solver=solver, max_iter=0, seed=0)   # the initial factors
    assert_allclose(res.history[0], _plain_divergence(X, start.W @ start.H, beta), rtol=1e-9)
    dense = nmf(X, 3, beta=beta, solver=solver, max_iter=15, tol=0, seed=0)
    assert_allclose(res.history, dense.history, rtol=1e-9)


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5])
def test_float32_objective_is_close_to_the_float64_divergence_of_its_factors(beta):
    X = _data(2).astype(np.float32)
    res = nmf(X, 3, beta=beta, max_iter=20, tol=0, seed=0)
    ref = _plain_divergence(X, res.W.astype(np.float64) @ res.H, beta)
    assert isinstance(res.fun, float)
    assert_allclose(res.fun, ref, rtol=1e-4)


@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "mu"), (2.0, "hals"), (1.5, "mu")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_near_exact_fit_objective_has_no_cancellation(beta, solver, dtype):
    # X = W0 H0 and a start 1e-5 away: the objective is ~1e-10 of ||X||^2, and must still be
    # the divergence of the factors (not the rounding of a difference of big terms)
    rng = np.random.default_rng(3)
    W0, H0 = rng.random((30, 3)) + 0.1, rng.random((3, 25)) + 0.1
    X = (W0 @ H0).astype(dtype)
    W, H = W0 * (1 + 1e-5 * rng.random(W0.shape)), H0 * (1 + 1e-5 * rng.random(H0.shape))
    res = nmf(X, W=W, H=H, beta=beta, solver=solver, max_iter=5, tol=0, check_every=1)
    Y = res.W.astype(np.float64) @ res.H
    ref = float(_plain_divergence(X.astype(np.longdouble), Y.astype(np.longdouble), beta))
    assert ref < 1e-8 * np.sum(X.astype(np.float64) ** 2)
    if dtype == np.float64 and beta == 2:   # the exact route from W @ H: no cancellation at all
        assert_allclose(res.fun, ref, rtol=1e-6)
    elif dtype == np.float64:  # sums of terms of size X: a few eps times their mass
        assert abs(res.fun - ref) < 100 * np.finfo(float).eps * X.sum()
    else:  # float32 rounding of W @ H alone is ~1e-7 relative: the objective is its size
        assert res.fun < 1e-5 * np.sum(X.astype(np.float64) ** 2)
