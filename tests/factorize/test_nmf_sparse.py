"""Sparse X: the same factors as dense X, and no dense array of X's size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit.factorize import nmf, sparse_wh


def _sparse_problem(seed=0, m=40, n=60, density=0.3):
    rng = np.random.default_rng(seed)
    X = sp.random(m, n, density=density, random_state=seed, format="csr",
                  data_rvs=lambda size: rng.gamma(1.0, 1.0, size))
    W = rng.random((m, 5)) + 0.1
    H = rng.random((5, n)) + 0.1
    return X, W, H


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("hals", 2.0)])
def test_sparse_and_dense_give_the_same_factors(fmt, solver, beta):
    X, W, H = _sparse_problem()
    X = X.asformat(fmt)
    dense = nmf(X.toarray(), W=W, H=H, beta=beta, solver=solver, max_iter=50, tol=0)
    sparse = nmf(X, W=W, H=H, beta=beta, solver=solver, max_iter=50, tol=0)
    assert_allclose(sparse.W, dense.W, rtol=1e-10, atol=1e-12)
    assert_allclose(sparse.H, dense.H, rtol=1e-10, atol=1e-12)
    assert_allclose(sparse.history, dense.history, rtol=1e-10)


def test_sparse_with_fixed_columns_and_penalties_matches_dense():
    X, W, H = _sparse_problem(1)
    kw = dict(W=W, H=H, beta="kl", fixed_W_columns=[1], alpha_H=0.01, l1_ratio=1.0,
              max_iter=30, tol=0)
    assert_allclose(nmf(X, **kw).H, nmf(X.toarray(), **kw).H, rtol=1e-10, atol=1e-12)


def test_sparse_wh_is_the_product_at_stored_entries():
    X, W, H = _sparse_problem(2)
    coo = X.tocoo()
    assert_allclose(sparse_wh(X, W, H), (W @ H)[coo.row, coo.col], rtol=1e-13)
    Xc = X.tocsc()
    coo = Xc.tocoo()
    assert_allclose(sparse_wh(Xc, W, H), (W @ H)[coo.row, coo.col], rtol=1e-13)


@pytest.mark.parametrize("beta,init,shape", [("kl", "random", (4000, 6000)),
                                             ("frobenius", "random", (4000, 6000)),
                                             ("kl", None, (4000, 6000)),      # NNDSVD too
                                             ("kl", None, (30, 200000))])     # a thin one
def test_sparse_x_never_becomes_dense(beta, init, shape):
    # 4000 x 6000 dense would be 192 MB in float64 (30 x 200000: 48 MB); the peak stays small
    rng = np.random.default_rng(3)
    X = sp.random(*shape, density=2e-4, random_state=3, format="csr",
                  data_rvs=lambda size: rng.random(size) + 0.1)
    tracemalloc.start()
    res = nmf(X, 4, beta=beta, init=init, max_iter=5, tol=0, seed=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.isfinite(res.fun) and res.fun < res.history[0]
    dense_bytes = X.shape[0] * X.shape[1] * 8
    assert peak < 0.6 * dense_bytes, f"peak {peak / 1e6:.1f} MB, dense X {dense_bytes / 1e6} MB"


def test_sparse_nndsvd_init_matches_dense_init():
    X, _, _ = _sparse_problem(4, m=30, n=30, density=0.5)
    a = nmf(X, 4, beta="kl", max_iter=0, seed=0)
    b = nmf(X.toarray(), 4, beta="kl", max_iter=0, seed=0)
    assert a.init == "nndsvda"
    assert_allclose(a.W @ a.H, b.W @ b.H, rtol=1e-8, atol=1e-10)
