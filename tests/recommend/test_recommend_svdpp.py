"""SVD++: the compiled epoch against a plain loop written here, fold-in, save/load, MovieLens."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError
from matfit.recommend import (
    MatrixFactorization,
    _kernels,
    read_ratings,
    synthetic_ratings,
    train_test_split,
)

pytestmark = pytest.mark.skipif(not _kernels.have_numba(),
                                reason="solver='svdpp' needs numba (optional extra 'fast')")


def _reference_epoch(indptr, items, values, user_order, rating_order, P, Q, Y, bu, bi, mu, lr,
                     reg, reg_b, reg_y, wu, wi):
    """Koren's SVD++ step per rating, the implicit term fixed within a user, y once per user."""
    sq = 0.0
    for u in user_order:
        lo, hi = indptr[u], indptr[u + 1]
        if hi == lo:
            continue
        N = items[lo:hi]
        s = 1 / np.sqrt(hi - lo)
        z = s * Y[N].sum(axis=0)
        acc = np.zeros(P.shape[1])
        for j in rating_order[lo:hi]:
            i = items[j]
            err = values[j] - (mu + bu[u] + bi[i] + Q[i] @ (P[u] + z))
            sq += err * err
            bu[u] += lr * (err - reg_b * wu[u] * bu[u])
            bi[i] += lr * (err - reg_b * wi[i] * bi[i])
            acc += err * Q[i]
            P[u], Q[i] = (P[u] + lr * (err * Q[i] - reg * wu[u] * P[u]),
                          Q[i] + lr * (err * (P[u] + z) - reg * wi[i] * Q[i]))
        Y[N] += lr * (s * acc - reg_y * Y[N])
    return sq


def test_compiled_epoch_matches_the_plain_loop():
    r = synthetic_ratings(50, 40, 700, seed=0)
    order = np.lexsort((r.items, r.users))
    items, values = r.items[order], r.values[order].astype(np.float64)
    counts = r.user_counts()
    indptr = np.r_[0, np.cumsum(counts)]
    rng = np.random.default_rng(0)
    user_order = rng.permutation(50)
    rating_order = np.argsort(np.repeat(np.arange(50), counts) + rng.random(len(values)),
                              kind="stable")
    wu, wi = rng.random(50) + 0.5, rng.random(40) + 0.5
    P, Q, Y = (rng.normal(0, 0.1, (n, 4)) for n in (50, 40, 40))
    ref = [P.copy(), Q.copy(), Y.copy(), np.zeros(50), np.zeros(40)]
    got = [P.copy(), Q.copy(), Y.copy(), np.zeros(50), np.zeros(40)]
    mu = float(values.mean())
    for _ in range(2):
        sq_ref = _reference_epoch(indptr, items, values, user_order, rating_order, *ref, mu,
                                  0.02, 0.05, 0.03, 0.04, wu, wi)
        sq = _kernels.kernel("svdpp_epoch")(indptr, items, values, user_order, rating_order,
                                            *got, mu, 0.02, 0.05, 0.02, 0.03, 0.04, wu, wi)
        assert_allclose(sq, sq_ref, rtol=1e-10)
    for a, b in zip(got, ref, strict=True):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def split():
    r = synthetic_ratings(300, 200, 12000, seed=4, noise=0.3, step=0.5)
    return train_test_split(r, 0.2, seed=0)


def test_user_factors_are_the_effective_ones(split):
    train, _ = split
    m = MatrixFactorization(6, solver="svdpp", epochs=5, seed=0).fit(train)
    Y = m.implicit_factors_
    assert Y.shape == m.item_factors_.shape
    # predict() = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum y_j): the stored user factor
    # minus the implicit term is a p_u the fit produced; check the implicit part is in there
    row = 3
    seen = m.seen_.indices[m.seen_.indptr[row]:m.seen_.indptr[row + 1]]
    z = Y[seen].sum(axis=0) / np.sqrt(len(seen))
    assert np.linalg.norm(z) > 1e-3  # the implicit factors moved away from zero
    fresh = MatrixFactorization(6, solver="svdpp", epochs=5, seed=0).fit(train)
    assert np.array_equal(fresh.user_factors_, m.user_factors_)  # deterministic given the seed


def test_fold_in_solves_around_the_implicit_term(split, tmp_path):
    train, _ = split
    rng = np.random.default_rng(0)
    new_user = rng.random(train.n_users) < 0.1
    held = new_user[train.users]
    m = MatrixFactorization(5, solver="svdpp", epochs=4, seed=0).fit(train.subset(~held))
    m = MatrixFactorization.load(m.save(tmp_path / "pp.npz"))  # Y survives save/load
    new = train.subset(held)
    res = m.fold_in(new, update=False)
    p = m._resolved()
    Q, bi, Y, mu = m.item_factors_, m.item_bias_, m.implicit_factors_, float(m.global_mean_)
    users, items, vals = new.to_arrays()
    for n, user in enumerate(res.ids[:10]):
        mine = users == user
        cols = m.item_map_.lookup(items[mine])
        z = Y[cols].sum(axis=0) / np.sqrt(len(cols))
        t = vals[mine].astype(np.float64) - mu - bi[cols] - Q[cols] @ z
        A = np.c_[Q[cols], np.ones(len(cols))]
        w = np.sqrt(len(cols))  # reg_weighting="sqrt" (the default)
        x = np.linalg.solve(A.T @ A + np.diag([p["reg"] * w] * 5 + [p["reg_bias"] * w]), A.T @ t)
        assert_allclose(res.factors[n], x[:5] + z, rtol=1e-10, atol=1e-10)
        assert_allclose(res.bias[n], x[5], rtol=1e-10, atol=1e-10)
    with pytest.raises(InvalidParameterError, match="SVD\\+\\+"):
        m.partial_fit(new)
    with pytest.raises(InvalidParameterError, match="biases=True"):
        MatrixFactorization(solver="svdpp", biases=False).fit(train)


@pytest.mark.data
def test_svdpp_beats_sgd_on_movielens(shared_data):
    path = shared_data / "movielens-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"MovieLens 100K not found at {path}")
    train, test = train_test_split(read_ratings(path), 0.2, seed=0)
    pp = MatrixFactorization(solver="svdpp", seed=0).fit(train).evaluate(test, k=None)["rmse"]
    sgd = MatrixFactorization(solver="sgd", seed=0).fit(train).evaluate(test, k=None)["rmse"]
    assert pp <= 0.895, pp  # issue 17's target (0.8937 measured)
    assert pp < sgd - 0.001, (pp, sgd)
