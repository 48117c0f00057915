"""Batched ALS against per-user normal equations, a dense masked reference, and its invariants."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit.recommend import MatrixFactorization, Ratings, _als, _kernels, synthetic_ratings


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
@pytest.mark.parametrize("backend, n_threads", [("auto", 1), ("numpy", 1), ("numpy", 2)])
def test_user_update_equals_solve_of_its_normal_equations(weighting, biases, backend,
                                                          n_threads):
    u, i, vals, n_users, n_items = _small()
    n_users += 2  # two users without ratings, at the end: zero factors and bias
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
    _als.als_half_step(side, Q, bi, mu, lam, P, bu, backend=backend, n_threads=n_threads)
    counts = np.bincount(u, minlength=n_users)
    for user in range(n_users):
        rows = i[u == user]
        Y = np.c_[Q[rows], np.ones(len(rows))] if biases else Q[rows]
        t = vals[u == user] - mu - (bi[rows] if biases else 0)
        w = {"sqrt": np.sqrt(counts[user]), "count": counts[user], "none": 1.0}[weighting]
        if counts[user] == 0:
            w = 1.0
        diag = [0.3 * w] * k + ([0.7 * w] if biases else [])
        x = np.linalg.solve(Y.T @ Y + np.diag(diag), Y.T @ t)  # zeros for an empty row
        assert_allclose(P[user], x[:k], rtol=1e-10, atol=1e-10)
        if biases:
            assert_allclose(bu[user], x[k], rtol=1e-10, atol=1e-10)
    assert not P[-2:].any() and (not biases or not bu[-2:].any())


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
    assert peak < 500e6, f"peak traced memory {peak / 1e6:.0f} MB"
    # and it is a fit: the training ratings' RMSE from its own factors, written out here,
    # is the one it reports, and it beats predicting the mean
    m = model
    u = m.user_map_.lookup(r.user_ids)[r.users]  # the fit dropped IDs without ratings
    i = m.item_map_.lookup(r.item_ids)[r.items]
    pred = (m.global_mean_ + m.user_bias_[u] + m.item_bias_[i]
            + np.einsum("nk,nk->n", m.user_factors_[u], m.item_factors_[i]))
    train_rmse = np.sqrt(np.mean((pred - r.values) ** 2, dtype=np.float64))
    baseline = np.std(r.values.astype(np.float64))
    if solver == "als":  # after the epoch; SGD's is accumulated during its pass
        assert_allclose(m.history_[-1]["train_rmse"], train_rmse, rtol=1e-4)
    assert train_rmse < 0.97 * baseline
    assert res["ranked_users"] == len(set(test.users.tolist()))
    assert 0 < res["rmse"] < baseline


# ------------------------------------------------------------------ the pieces, one by one
def test_reg_weights_and_penalties_by_hand():
    counts = np.array([0, 1, 4, 9])
    assert_allclose(_als.reg_weights(counts, "count"), [1, 1, 4, 9], rtol=0)
    assert_allclose(_als.reg_weights(counts, "sqrt"), [1, 1, 2, 3], rtol=0)
    assert_allclose(_als.reg_weights(counts, "none"), [1, 1, 1, 1], rtol=0)
    assert _als.reg_weights(counts, "sqrt").dtype == np.float64
    lam = _als.penalties(counts, "sqrt", 0.5, 2.0, 3)
    assert lam.shape == (4, 4)
    assert_allclose(lam, [[0.5] * 3 + [2.0], [0.5] * 3 + [2.0], [1.0] * 3 + [4.0],
                          [1.5] * 3 + [6.0]], rtol=0)
    assert_allclose(_als.penalties(counts, "count", 0.5, None, 3), [0.5, 0.5, 2.0, 4.5], rtol=0)


def _reference_plan(counts, chunk_size, max_batch):
    """The chunk plan written as a greedy loop over rows sorted by count (module notes)."""
    rows = [r for r in np.argsort(counts, kind="stable") if counts[r] > 0]
    chunks, s = [], 0
    while s < len(rows):
        c0 = counts[rows[s]]
        j = 1
        while (s + j < len(rows) and j < max_batch
               and counts[rows[s + j]] <= c0 + max(4, c0 // 4)
               and (j + 1) * counts[rows[s + j]] <= chunk_size):
            j += 1
        chunks.append((rows[s:s + j], int(counts[rows[s + j - 1]])))
        s += j
    return chunks


def test_rows_more_than_four_ratings_longer_start_a_new_chunk():
    # counts 1 and 5 share a chunk (5 <= 1 + 4), 1 and 6 do not; 40 and 50 do (50 <= 40 + 10)
    for counts, want in (([1, 5], [[0, 1]]), ([1, 6], [[0], [1]]), ([40, 50], [[0, 1]]),
                         ([40, 51], [[0], [1]])):
        rows = np.repeat(np.arange(2), counts)
        cols = np.concatenate([np.arange(c) for c in counts])
        side = _als.build_side(rows, cols, np.ones(len(rows)), 2, 60, factors=2)
        assert [r.tolist() for r, _ in side.chunks] == want


@pytest.mark.parametrize("chunk_size, max_gram, factors", [(64, 1 << 22, 5), (4096, 81 * 7, 9),
                                                          (10, 1 << 22, 3), (1 << 17, 16, 4)])
def test_chunk_plan_is_the_greedy_plan(chunk_size, max_gram, factors):
    rng = np.random.default_rng(0)
    n_rows, n_cols = 300, 400
    counts = np.minimum(rng.zipf(1.6, n_rows), 200)
    counts[::17] = 0  # rows without ratings are in no chunk
    rows = np.repeat(np.arange(n_rows), counts)
    cols = np.concatenate([rng.choice(n_cols, c, replace=False) for c in counts])
    side = _als.build_side(rows, cols, rng.random(len(rows)), n_rows, n_cols, factors=factors,
                           chunk_size=chunk_size, max_gram=max_gram)
    want = _reference_plan(counts, chunk_size, max(1, max_gram // (factors * factors)))
    assert [(r.tolist(), n) for r, n in side.chunks] == [(list(r), n) for r, n in want]


def test_build_side_is_a_csr_with_sentinels():
    rows = np.array([2, 0, 2, 1, 0, 2])
    cols = np.array([1, 3, 0, 2, 0, 3])
    vals = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.5], dtype=np.float32)
    side = _als.build_side(rows, cols, vals, 4, 5, factors=2)
    assert side.indptr.tolist() == [0, 2, 3, 6, 6] and side.indptr.dtype == np.int64
    assert side.counts.tolist() == [2, 1, 3, 0]
    # each row's ratings in input order, then the sentinel (other = n_cols, value 0)
    assert side.other.tolist() == [3, 0, 2, 1, 0, 3, 5] and side.other.dtype == np.int32
    assert side.values.tolist() == [4.0, 1.0, 2.0, 5.0, 3.0, 0.5, 0.0]
    assert side.values.dtype == np.float32 and side.n_other == 5
    assert sorted(side.visit.tolist()) == [0, 1, 2] and side.visit.dtype == np.int64
    for n_cols in (2**31, 2**31 + 5):  # the sentinel n_cols no longer fits int32
        wide = _als.build_side(rows, cols, vals, 4, n_cols, factors=2)
        assert wide.other.dtype == np.int64 and wide.other[-1] == n_cols
    narrow = _als.build_side(rows, cols, vals, 4, 2**31 - 2, factors=2)
    assert narrow.other.dtype == np.int32 and narrow.other[-1] == 2**31 - 2


@pytest.mark.parametrize("backend", ["auto", "numpy"])
@pytest.mark.parametrize("biases", [True, False])
def test_float32_half_step_tracks_the_float64_solve(backend, biases):
    u, i, vals, n_users, n_items = _small(seed=6)
    k = 4
    rng = np.random.default_rng(2)
    Q = rng.standard_normal((n_items, k))
    bi = rng.standard_normal(n_items) if biases else None
    lam = _als.penalties(np.bincount(u, minlength=n_users), "sqrt", 0.5, 0.8 if biases else None,
                         k)
    out = {}
    for dt in (np.float64, np.float32):
        side = _als.build_side(u, i, vals.astype(dt), n_users, n_items, factors=k + biases)
        P = np.full((n_users, k), np.nan, dt)
        bu = np.full(n_users, np.nan, dt) if biases else None
        _als.als_half_step(side, Q.astype(dt), None if bi is None else bi.astype(dt),
                           3.0 if biases else 0.0, lam, P, bu, backend=backend)
        out[dt] = (P, bu)
    assert out[np.float32][0].dtype == np.float32
    assert_allclose(out[np.float32][0], out[np.float64][0], rtol=2e-4, atol=2e-5)
    if biases:
        assert out[np.float32][1].dtype == np.float32
        assert_allclose(out[np.float32][1], out[np.float64][1], rtol=2e-4, atol=2e-5)


def test_without_numba_the_numpy_form_runs_and_numba_only_options_are_refused(monkeypatch):
    u, i, vals, n_users, n_items = _small(seed=7)
    side = _als.build_side(u, i, vals, n_users, n_items, factors=3)
    Q = np.random.default_rng(0).standard_normal((n_items, 3))
    lam = _als.penalties(side.counts, "sqrt", 0.4, None, 3)
    want = np.empty((n_users, 3))
    _als.als_half_step(side, Q, None, 0.0, lam, want, None, backend="numpy")
    monkeypatch.setattr(_kernels, "kernel", lambda name: None)  # as without Numba
    got = np.full((n_users, 3), np.nan)
    _als.als_half_step(side, Q, None, 0.0, lam, got, None)
    assert np.array_equal(got, want)
    with pytest.raises(ImportError, match=r"^backend=numba needs Numba: pip install "
                                          r"'matfit\[fast\]'$"):
        _als.als_half_step(side, Q, None, 0.0, lam, got, None, backend="numba")
    with pytest.raises(ImportError, match=r"^cg_steps needs Numba: pip install 'matfit\[fast\]'$"):
        _als.als_half_step(side, Q, None, 0.0, lam, got, None, cg_steps=2)


def test_numpy_backend_never_calls_the_compiled_kernel(monkeypatch):
    u, i, vals, n_users, n_items = _small(seed=8)
    side = _als.build_side(u, i, vals, n_users, n_items, factors=3)
    Q = np.random.default_rng(0).standard_normal((n_items, 3))
    lam = _als.penalties(side.counts, "none", 0.4, None, 3)
    monkeypatch.setattr(_kernels, "kernel", lambda name: pytest.fail("compiled kernel used"))
    P = np.empty((n_users, 3))
    _als.als_half_step(side, Q, None, 0.0, lam, P, None, backend="numpy")
    for user in range(n_users):
        rows = i[u == user]
        x = np.linalg.solve(Q[rows].T @ Q[rows] + 0.4 * np.eye(3), Q[rows].T @ vals[u == user])
        assert_allclose(P[user], x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("biases", [True, False])
def test_predict_indices_in_chunks_is_the_formula(biases):
    rng = np.random.default_rng(4)
    P, Q = rng.standard_normal((9, 3)), rng.standard_normal((7, 3))
    bu, bi = (rng.standard_normal(9), rng.standard_normal(7)) if biases else (None, None)
    users, items = rng.integers(0, 9, 50), rng.integers(0, 7, 50)
    want = np.array([2.5 * biases + (bu[a] + bi[b] if biases else 0.0) + P[a] @ Q[b]
                     for a, b in zip(users, items, strict=True)])
    for chunk in (1, 7, 50, 1 << 16):
        got = _als.predict_indices(2.5 * biases, bu, bi, P, Q, users, items, chunk=chunk)
        assert_allclose(got, want, rtol=1e-13, atol=1e-14)
    f32 = _als.predict_indices(2.5, bu, bi, P.astype(np.float32), Q.astype(np.float32), users,
                               items)
    assert f32.dtype == np.float32


def test_predict_indices_holds_one_chunk_at_a_time():
    rng = np.random.default_rng(6)
    n, k, chunk = 200_000, 8, 2_000
    P, Q = rng.standard_normal((300, k)), rng.standard_normal((200, k))
    users, items = rng.integers(0, 300, n), rng.integers(0, 200, n)
    tracemalloc.start()
    try:
        got = _als.predict_indices(0.5, None, None, P, Q, users, items, chunk=chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_allclose(got, 0.5 + np.sum(P[users] * Q[items], axis=1), rtol=1e-12, atol=1e-12)
    # the output (1.6 MB) and a few chunk-sized temporaries (128 kB each), never n x k (12.8 MB)
    assert peak < 1.6e6 + 20 * chunk * k * 8, f"peak {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("biases", [True, False])
def test_objective_is_the_docstring_sum(biases):
    u, i, vals, n_users, n_items = _small(seed=9)
    rng = np.random.default_rng(5)
    k = 3
    P, Q = rng.standard_normal((n_users, k)), rng.standard_normal((n_items, k))
    bu, bi = (rng.standard_normal(n_users), rng.standard_normal(n_items)) if biases else (None,
                                                                                          None)
    mu = 3.0 if biases else 0.0
    nu, ni = np.bincount(u, minlength=n_users), np.bincount(i, minlength=n_items)
    lam_u = _als.penalties(nu, "count", 0.2, 0.7 if biases else None, k)
    lam_i = _als.penalties(ni, "count", 0.2, 0.7 if biases else None, k)
    J = _als.objective(vals, u, i, mu, bu, bi, P, Q, lam_u, lam_i)
    want = 0.0
    for a, b, r in zip(u, i, vals, strict=True):
        want += (r - (mu + (bu[a] + bi[b] if biases else 0) + P[a] @ Q[b])) ** 2
    want += 0.2 * (nu @ (P**2).sum(axis=1) + ni @ (Q**2).sum(axis=1))
    if biases:
        want += 0.7 * (nu @ bu**2 + ni @ bi**2)
    assert_allclose(J, want, rtol=1e-12)
    assert type(J) is float


def test_blas_is_single_threaded_inside_the_block():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with _als.blas_single_thread():
        inside = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                  if p["user_api"] == "blas"]
    assert inside and all(n == 1 for n in inside)
