"""Parallel solvers: compiled ALS rows vs NumPy, CG vs Cholesky, blocked SGD vs a plain loop."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError
from matfit.recommend import (
    MatrixFactorization,
    _als,
    _config,
    _kernels,
    _train,
    synthetic_ratings,
    train_test_split,
)

needs_numba = pytest.mark.skipif(not _kernels.have_numba(),
                                 reason="numba is not installed (optional extra 'fast')")


@pytest.fixture(scope="module")
def split():
    r = synthetic_ratings(500, 300, 20000, seed=2, noise=0.3, step=0.5)
    return train_test_split(r, 0.2, seed=0)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("biases", [True, False])
def test_compiled_rows_match_the_numpy_batched_solves(split, dtype, biases):
    train, _ = split
    k = 7
    rng = np.random.default_rng(0)
    vals = train.values.astype(dtype)
    side = _als.build_side(train.users, train.items, vals, train.n_users, train.n_items,
                           factors=k + biases, chunk_size=512)
    Q = rng.standard_normal((train.n_items, k)).astype(dtype) * 0.3
    bi = rng.standard_normal(train.n_items).astype(dtype) if biases else None
    lam = _als.penalties(side.counts, "sqrt", 0.4, 0.7 if biases else None, k)
    out = {}
    for backend in ("numba", "numpy"):
        P = np.full((train.n_users, k), np.nan, dtype)
        bu = np.full(train.n_users, np.nan, dtype) if biases else None
        _als.als_half_step(side, Q, bi, 3.5 if biases else 0.0, lam, P, bu, backend=backend)
        out[backend] = (P, bu)
    tol = 1e-10 if dtype == np.float64 else 2e-4
    assert_allclose(out["numba"][0], out["numpy"][0], rtol=tol, atol=tol)
    if biases:
        assert_allclose(out["numba"][1], out["numpy"][1], rtol=tol, atol=tol)


@needs_numba
def test_cg_matches_cholesky_in_rmse(split):
    train, test = split
    exact = MatrixFactorization(8, solver="als", epochs=20, seed=0).fit(train)
    cg = MatrixFactorization(8, solver="als", epochs=20, seed=0, cg_steps=3).fit(train)
    assert abs(exact.evaluate(test, k=None)["rmse"] - cg.evaluate(test, k=None)["rmse"]) < 1e-6
    assert abs(exact.history_[-1]["train_rmse"] - cg.history_[-1]["train_rmse"]) < 1e-6


@needs_numba
def test_few_cg_steps_are_plain_conjugate_gradients_from_the_warm_start(split):
    # cg_steps matters: two steps are two steps of textbook CG on each row's normal equations
    train, _ = split
    k, steps = 4, 2
    vals = train.values.astype(np.float64)
    side = _als.build_side(train.users, train.items, vals, train.n_users, train.n_items,
                           factors=k + 1)
    rng = np.random.default_rng(3)
    Q, bi = rng.standard_normal((train.n_items, k)), rng.standard_normal(train.n_items)
    lam = _als.penalties(side.counts, "sqrt", 0.3, 0.5, k)
    P, bu = rng.standard_normal((train.n_users, k)), rng.standard_normal(train.n_users)
    P0, bu0 = P.copy(), bu.copy()
    _als.als_half_step(side, Q, bi, 3.0, lam, P, bu, cg_steps=steps)
    exact_gap = []
    for user in range(0, train.n_users, 7):
        rows = train.items[train.users == user]
        Y = np.c_[Q[rows], np.ones(len(rows))]
        A = Y.T @ Y + np.diag(lam[user])
        b = Y.T @ (vals[train.users == user] - 3.0 - bi[rows])
        x = np.r_[P0[user], bu0[user]]
        r = b - A @ x
        p = r.copy()
        for _ in range(steps):
            alpha = (r @ r) / (p @ A @ p)
            x = x + alpha * p
            r_new = r - alpha * (A @ p)
            p = r_new + (r_new @ r_new) / (r @ r) * p
            r = r_new
        assert_allclose(np.r_[P[user], bu[user]], x, rtol=1e-8, atol=1e-10)
        exact_gap.append(np.linalg.norm(x - np.linalg.solve(A, b)))
    assert max(exact_gap) > 1e-3  # two steps are not yet the exact solve here


@needs_numba
def test_cg_with_as_many_steps_as_unknowns_is_the_exact_step(split):
    train, _ = split
    k = 5
    vals = train.values.astype(np.float64)
    side = _als.build_side(train.users, train.items, vals, train.n_users, train.n_items,
                           factors=k + 1)
    rng = np.random.default_rng(1)
    Q, bi = rng.standard_normal((train.n_items, k)), rng.standard_normal(train.n_items)
    lam = _als.penalties(side.counts, "count", 0.2, 0.3, k)
    P0, bu0 = rng.standard_normal((train.n_users, k)), rng.standard_normal(train.n_users)
    P1, bu1 = P0.copy(), bu0.copy()
    _als.als_half_step(side, Q, bi, 3.0, lam, P0, bu0)
    _als.als_half_step(side, Q, bi, 3.0, lam, P1, bu1, cg_steps=3 * (k + 1))
    assert_allclose(P1, P0, rtol=1e-8, atol=1e-9)
    assert_allclose(bu1, bu0, rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("solver", ["als", "sgd"])
def test_thread_count_does_not_change_the_fit(split, solver, monkeypatch):
    train, _ = split
    monkeypatch.setattr(_train, "SGD_PARALLEL_MIN", 0)  # run small SGD data in parallel too
    kw = dict(factors=6, solver=solver, epochs=3, seed=0)
    one = MatrixFactorization(n_threads=1, **kw).fit(train)
    two = MatrixFactorization(n_threads=2, **kw).fit(train)
    assert np.array_equal(one.user_factors_, two.user_factors_)
    assert np.array_equal(one.item_bias_, two.item_bias_)


def _reference_dsgd(users, items, values, order, key, B, P, Q, bu, bi, mu, lr, reg):
    """DSGD written plainly: for each stratum, each block's ratings in ``order``, in turn."""
    sq = 0.0
    for s in range(B):
        for b in range(B):
            want = b * B + (b + s) % B
            for n in order[key[order] == want]:
                u, i = users[n], items[n]
                err = values[n] - (mu + bu[u] + bi[i] + P[u] @ Q[i])
                sq += err * err
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
                P[u], Q[i] = P[u] + lr * (err * Q[i] - reg * P[u]), Q[i] + lr * (err * P[u]
                                                                               - reg * Q[i])
    return sq


@needs_numba
def test_blocked_sgd_epoch_matches_a_plain_dsgd_loop():
    r = synthetic_ratings(80, 60, 1500, seed=1)
    B = 3
    key = (_train.balanced_blocks(r.user_counts(), B)[r.users] * B
           + _train.balanced_blocks(r.item_counts(), B)[r.items])
    rng = np.random.default_rng(0)
    order0 = rng.permutation(len(r))
    order, bounds = _kernels.kernel("group_by_key")(order0, key, B * B)
    assert np.array_equal(order, order0[np.argsort(key[order0], kind="stable")])
    assert np.array_equal(bounds, np.r_[0, np.cumsum(np.bincount(key, minlength=B * B))])
    values = r.values.astype(np.float64)
    P, Q = rng.normal(0, 0.1, (80, 4)), rng.normal(0, 0.1, (60, 4))
    ref = [P.copy(), Q.copy(), np.zeros(80), np.zeros(60)]
    got = [P.copy(), Q.copy(), np.zeros(80), np.zeros(60)]
    mu = float(values.mean())
    for _ in range(2):
        sq_ref = _reference_dsgd(r.users, r.items, values, order0, key, B, *ref, mu, 0.02, 0.05)
        _kernels.set_threads(2)
        sq = _kernels.kernel("sgd_blocked")(r.users, r.items, values, order, bounds, B, *got,
                                            mu, 0.02, 0.05, 0.02, 0.05, True)
        assert_allclose(sq, sq_ref, rtol=1e-10)
    for a, b in zip(got, ref, strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_balanced_blocks_spread_a_power_law():
    counts = np.random.default_rng(0).zipf(1.5, 5000).clip(max=2000)
    blocks = _train.balanced_blocks(counts, 8)
    load = np.bincount(blocks, weights=counts, minlength=8)
    assert load.max() <= 1.1 * load.mean()


def test_default_threads_are_the_available_cores_and_bad_values_are_named():
    p = _config.resolve(MatrixFactorization(solver="als"))
    assert p["n_threads"] == _config.available_cores() >= 1
    with pytest.raises(InvalidParameterError, match="n_threads=0"):
        _config.resolve(MatrixFactorization(n_threads=0))
    with pytest.raises(InvalidParameterError, match="cg_steps=0"):
        _config.resolve(MatrixFactorization(solver="als", cg_steps=0))
    with pytest.raises(InvalidParameterError, match="solver='als' only"):
        _config.resolve(MatrixFactorization(solver="sgd", cg_steps=3))
