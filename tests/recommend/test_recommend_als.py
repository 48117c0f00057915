"""Batched ALS against per-user normal equations, a dense masked reference, and its invariants."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit.recommend import MatrixFactorization, Ratings, _als, synthetic_ratings


def _small(seed=0, n_users=40, n_items=30, density=0.3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # every user rates
    mask[rng.integers(0, n_users, n_items), np.arange(n_items)] = True  # every item is rated
    u, i = np.nonzero(mask)
    vals = rng.integers(1, 6, len(u)).astype(dtype)
    return u, i, vals, n_users, n_items


@pytest.mark.parametrize("weighting", ["sqrt", "count", "none"])
@pytest.mark.parametrize("biases", [True, False])
def test_user_update_equals_solve_of_its_normal_equations(weighting, biases):
    u, i, vals, n_users, n_items = _small()
    k = 5
    rng = np.random.default_rng(1)
    Q = rng.standard_normal((n_items, k))
    bi = rng.standard_normal(n_items) if biases else None
    mu = float(vals.mean()) if biases else 0.0
    side = _als.build_side(u, i, vals, n_users, n_items, factors=k + biases, chunk_size=64)
    assert len(side.chunks) > 3  # several chunks and paddings are exercised
    reg_bias = 0.7 if biases else None
    lam = _als.penalties(side.counts, weighting, 0.3, reg_bias, k)
    P = np.full((n_users, k), np.nan)
    bu = np.full(n_users, np.nan) if biases else None
    _als.als_half_step(side, Q, bi, mu, lam, P, bu)
    counts = np.bincount(u, minlength=n_users)
    for user in range(n_users):
        rows = i[u == user]
        Y = np.c_[Q[rows], np.ones(len(rows))] if biases else Q[rows]
        t = vals[u == user] - mu - (bi[rows] if biases else 0)
        w = {"sqrt": np.sqrt(counts[user]), "count": counts[user], "none": 1.0}[weighting]
        diag = [0.3 * w] * k + ([0.7 * w] if biases else [])
        x = np.linalg.solve(Y.T @ Y + np.diag(diag), Y.T @ t)
        assert_allclose(P[user], x[:k], rtol=1e-10, atol=1e-10)
        if biases:
            assert_allclose(bu[user], x[k], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("weighting", ["sqrt", "count", "none"])
@pytest.mark.parametrize("biases", [True, False])
def test_objective_never_increases_across_half_steps(weighting, biases):
    u, i, vals, n_users, n_items = _small(seed=2)
    k = 4
    rng = np.random.default_rng(0)
    P = rng.standard_normal((n_users, k))
    Q = rng.standard_normal((n_items, k))
    bu = rng.standard_normal(n_users) if biases else None
    bi = rng.standard_normal(n_items) if biases else None
    mu = float(vals.mean()) if biases else 0.0
    users = _als.build_side(u, i, vals, n_users, n_items, factors=k + biases, chunk_size=50)
    items = _als.build_side(i, u, vals, n_items, n_users, factors=k + biases, chunk_size=50)
    rb = 0.2 if biases else None
    lam_u = _als.penalties(users.counts, weighting, 0.1, rb, k)
    lam_i = _als.penalties(items.counts, weighting, 0.1, rb, k)

    def J():
        return _als.objective(vals, u, i, mu, bu, bi, P, Q, lam_u, lam_i)

    history = [J()]
    for _ in range(8):
        _als.als_half_step(users, Q, bi, mu, lam_u, P, bu)
        history.append(J())
        _als.als_half_step(items, P, bu, mu, lam_i, Q, bi)
        history.append(J())
    h = np.array(history)
    assert np.all(np.diff(h) <= 1e-10 * np.abs(h[:-1])), h
    assert h[-1] < 0.5 * h[0]  # and it does go down


def _dense_masked_als_epoch(R, M, P, Q, bu, bi, mu, reg, reg_bias, weighting):
    """Reference: one ALS epoch on the dense matrix R with 0/1 mask M, one row at a time."""
    k = P.shape[1]
    P, Q, bu, bi = P.copy(), Q.copy(), bu.copy(), bi.copy()

    def w(n):
        return {"sqrt": np.sqrt(n), "count": n, "none": 1.0}[weighting]

    for u in range(R.shape[0]):
        m = M[u] > 0
        Y = np.c_[Q, np.ones(len(Q))] * m[:, None]  # masked rows contribute nothing
        t = (R[u] - mu - bi) * m
        A = Y.T @ Y + np.diag([reg * w(m.sum())] * k + [reg_bias * w(m.sum())])
        x = np.linalg.solve(A, Y.T @ t)
        P[u], bu[u] = x[:k], x[k]
    for i in range(R.shape[1]):
        m = M[:, i] > 0
        X = np.c_[P, np.ones(len(P))] * m[:, None]
        t = (R[:, i] - mu - bu) * m
        A = X.T @ X + np.diag([reg * w(m.sum())] * k + [reg_bias * w(m.sum())])
        x = np.linalg.solve(A, X.T @ t)
        Q[i], bi[i] = x[:k], x[k]
    return P, Q, bu, bi


@pytest.mark.parametrize("weighting", ["sqrt", "count"])
def test_sparse_fit_equals_dense_masked_reference(weighting):
    u, i, vals, n_users, n_items = _small(seed=3)
    R = np.zeros((n_users, n_items))
    M = np.zeros((n_users, n_items))
    R[u, i], M[u, i] = vals, 1
    kw = dict(solver="als", reg=0.4, reg_bias=0.9, reg_weighting=weighting, seed=5, epochs=1)
    model = MatrixFactorization(6, **kw).fit(sp.csr_matrix(R))  # zeros are not ratings here
    # the same start: fit() draws P then Q from the seed with init_scale 0.1
    rng = np.random.default_rng(5)
    P0 = rng.standard_normal((n_users, 6)) * 0.1
    Q0 = rng.standard_normal((n_items, 6)) * 0.1
    mu = vals.mean()
    P, Q, bu, bi = _dense_masked_als_epoch(R, M, P0, Q0, np.zeros(n_users), np.zeros(n_items),
                                           mu, 0.4, 0.9, weighting)
    assert_allclose(model.user_factors_, P, rtol=1e-9, atol=1e-11)
    assert_allclose(model.item_factors_, Q, rtol=1e-9, atol=1e-11)
    assert_allclose(model.user_bias_, bu, rtol=1e-9, atol=1e-11)
    assert_allclose(model.item_bias_, bi, rtol=1e-9, atol=1e-11)


def test_sparse_matrix_and_arrays_give_identical_fits():
    u, i, vals, n_users, n_items = _small(seed=4)
    A = sp.coo_matrix((vals, (u, i)), shape=(n_users, n_items))
    kw = dict(solver="als", seed=0, epochs=3)
    a = MatrixFactorization(5, **kw).fit(A.tocsc())
    b = MatrixFactorization(5, **kw).fit((u, i, vals))
    assert np.array_equal(a.user_factors_, b.user_factors_)
    assert np.array_equal(a.item_bias_, b.item_bias_)


@pytest.mark.parametrize("biases", [False, True])
def test_exact_low_rank_ratings_are_recovered(biases):
    rng = np.random.default_rng(0)
    n_users, n_items, rank = 200, 150, 4
    truth = rng.standard_normal((n_users, rank)) @ rng.standard_normal((rank, n_items))
    mask = rng.random((n_users, n_items)) < 0.3
    u, i = np.nonzero(mask)
    model = MatrixFactorization(rank, solver="als", reg=1e-8, reg_bias=1e-8, biases=biases,
                                epochs=100, seed=0).fit(Ratings.from_indices(u, i, truth[u, i]))
    full = (model.user_factors_ @ model.item_factors_.T + model.global_mean_
            + model.user_bias_[:, None] + model.item_bias_[None, :])
    unseen = ~mask
    assert np.sqrt(np.mean((full - truth)[unseen] ** 2)) < 1e-3
    assert np.sqrt(np.mean((full - truth) ** 2)) < 1e-3


def test_float32_fit_tracks_float64():
    r = synthetic_ratings(300, 200, 6000, seed=1, noise=0.3)
    kw = dict(solver="als", seed=0, epochs=4, factors=8)
    m64 = MatrixFactorization(dtype="float64", **kw).fit(r)
    m32 = MatrixFactorization(dtype="float32", **kw).fit(r)
    assert m32.user_factors_.dtype == np.float32 and m32.user_bias_.dtype == np.float32
    pairs = (r.user_ids[r.users[:500]], r.item_ids[r.items[:500]])
    assert_allclose(m32.predict(*pairs), m64.predict(*pairs), atol=2e-3)


def test_threads_change_nothing():
    r = synthetic_ratings(500, 300, 20000, seed=2)
    kw = dict(solver="als", seed=0, epochs=2, factors=6)
    one = MatrixFactorization(n_threads=1, **kw).fit(r)
    two = MatrixFactorization(n_threads=2, **kw).fit(r)
    assert np.array_equal(one.user_factors_, two.user_factors_)
    assert np.array_equal(one.item_factors_, two.item_factors_)


def test_chunks_bound_the_padded_block():
    r = synthetic_ratings(2000, 800, 60000, seed=3)
    side = _als.build_side(r.users, r.items, r.values, r.n_users, r.n_items, factors=9,
                           chunk_size=4096, max_gram=9 * 9 * 100)
    covered = np.concatenate([rows for rows, _ in side.chunks])
    assert np.array_equal(np.sort(covered), np.flatnonzero(side.counts))
    for rows, longest in side.chunks:
        assert longest == side.counts[rows].max()
        assert len(rows) <= 100
        assert len(rows) == 1 or len(rows) * longest <= 4096
        # padding wastes at most about a quarter of the block
        assert side.counts[rows].sum() >= 0.75 * len(rows) * longest - 4 * len(rows)


@pytest.fixture(scope="module")
def huge_ratings():
    # 100,000 x 100,000 with 1M ratings: dense float64 would be 80 GB
    return synthetic_ratings(100_000, 100_000, 1_000_000, activity="uniform", factors=4, seed=0,
                             dtype=np.float32)


@pytest.mark.parametrize("solver", ["als", "sgd"])
def test_huge_sparse_problem_never_forms_users_by_items(solver, huge_ratings):
    r = huge_ratings
    test = r.subset(np.arange(2000))
    tracemalloc.start()
    try:
        model = MatrixFactorization(8, solver=solver, epochs=1, seed=0, dtype="float32").fit(r)
        res = model.evaluate(test, k=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.isfinite(res["rmse"]) and res["ranked_users"] > 0
    assert peak < 500e6, f"peak traced memory {peak / 1e6:.0f} MB"
