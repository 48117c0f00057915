"""Fold-in and partial fits against plain per-row ridge solves written here, and a full refit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError
from matfit.recommend import (
    MatrixFactorization,
    Ratings,
    UnknownIdWarning,
    read_ratings,
    synthetic_ratings,
    train_test_split,
)


def _weight(n, weighting):
    return {"sqrt": np.sqrt(n), "count": float(n), "none": 1.0}[weighting]


def _ridge_row(F, fb, mu, cols, vals, reg, reg_bias, weighting):
    """One row's ALS solve with the other side (F, fb) fixed, from the normal equations."""
    k = F.shape[1]
    vals = np.asarray(vals, dtype=np.float64)  # float32 - mu would round to float32 (NEP 50)
    w = _weight(len(cols), weighting)
    if fb is None:
        A = F[cols].T @ F[cols] + reg * w * np.eye(k)
        return np.linalg.solve(A, F[cols].T @ vals), 0.0
    Y = np.c_[F[cols], np.ones(len(cols))]
    t = vals - mu - fb[cols]
    x = np.linalg.solve(Y.T @ Y + np.diag([reg * w] * k + [reg_bias * w]), Y.T @ t)
    return x[:k], x[k]


def _split_users(r, fraction, seed):
    """(ratings of the kept users, ratings of the held-out users) by user, not by rating."""
    rng = np.random.default_rng(seed)
    out = rng.random(r.n_users) < fraction
    held = out[r.users]
    return r.subset(~held), r.subset(held)


@pytest.fixture(scope="module")
def ratings():
    return synthetic_ratings(400, 250, 16000, seed=3, noise=0.3, step=0.5)


@pytest.mark.parametrize("solver, weighting, biases", [
    ("als", "sqrt", True), ("als", "count", True), ("als", "none", False), ("sgd", "sqrt", True),
])
def test_fold_in_equals_the_als_user_update(ratings, solver, weighting, biases):
    base, new = _split_users(ratings, 0.1, seed=0)
    m = MatrixFactorization(6, solver=solver, reg_weighting=weighting, biases=biases,
                            epochs=4, seed=0).fit(base)
    Q = m.item_factors_.copy()
    bi = m.item_bias_.copy() if biases else None
    res = m.fold_in(new, update=False)
    assert res.ignored == 0 and len(res.ids) == len(np.unique(new.users))
    # SGD minimises the per-rating ("count") penalties: fold-in solves that objective
    w = weighting if solver == "als" else "count"
    reg, reg_bias = m._resolved()["reg"], m._resolved()["reg_bias"]
    users, items, vals = new.to_arrays()
    for n, user in enumerate(res.ids):
        mine = users == user
        cols = m.item_map_.lookup(items[mine])
        x, b = _ridge_row(Q, bi, float(m.global_mean_), cols, vals[mine], reg, reg_bias, w)
        assert_allclose(res.factors[n], x, rtol=1e-10, atol=1e-10)
        assert_allclose(res.bias[n], b, rtol=1e-10, atol=1e-10)
    assert len(m.user_ids_) == base.compact().n_users  # update=False left the model alone


def test_fold_in_of_items_equals_the_als_item_update(ratings):
    rng = np.random.default_rng(1)
    new_item = rng.random(ratings.n_items) < 0.1
    held = new_item[ratings.items]
    base, new = ratings.subset(~held), ratings.subset(held)
    m = MatrixFactorization(5, solver="als", epochs=3, seed=0).fit(base)
    P, bu = m.user_factors_.copy(), m.user_bias_.copy()
    res = m.fold_in(new, side="items")
    p = m._resolved()
    users, items, vals = new.to_arrays()
    for n, item in enumerate(res.ids):
        mine = items == item
        rows = m.user_map_.lookup(users[mine])
        x, b = _ridge_row(P, bu, float(m.global_mean_), rows, vals[mine], p["reg"],
                          p["reg_bias"], "sqrt")
        assert_allclose(res.factors[n], x, rtol=1e-10, atol=1e-10)
        assert_allclose(res.bias[n], b, rtol=1e-10, atol=1e-10)
    # the items were added: predictions use them, the seen pairs include their ratings
    assert_allclose(m.predict(users[:20], items[:20], clip=False),
                    [m.global_mean_ + bu[m.user_map_.lookup([a])[0]] + res.bias[list(res.ids)
                     .index(b)] + P[m.user_map_.lookup([a])[0]] @ res.factors[list(res.ids)
                     .index(b)] for a, b in zip(users[:20], items[:20], strict=True)],
                    rtol=1e-12)
    assert m.seen_.nnz == len(base) + len(new)


def test_fold_in_adds_users_that_predict_recommend_and_save(ratings, tmp_path):
    base, new = _split_users(ratings, 0.1, seed=2)
    m = MatrixFactorization(6, solver="als", epochs=4, seed=0).fit(base)
    res = m.fold_in(new)
    users, items, _ = new.to_arrays()
    rows = m.user_map_.lookup(res.ids)
    assert np.all(rows >= 0)
    assert np.array_equal(m.user_factors_[rows], res.factors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.predict(users, items)  # every pair is known now
    # recommend leaves out what the new user rated
    user = res.ids[0]
    rated = set(items[users == user].tolist())
    top, _ = m.recommend(user, 20)
    assert not rated & set(top.tolist())
    back = MatrixFactorization.load(m.save(tmp_path / "m.npz"))
    assert np.array_equal(back.predict(users, items), m.predict(users, items))


def test_fold_in_refuses_known_users_and_skips_unknown_items(ratings):
    base, new = _split_users(ratings, 0.1, seed=4)
    m = MatrixFactorization(4, solver="als", epochs=2, seed=0).fit(base)
    with pytest.raises(DataError, match=r"already in the model.*partial_fit"):
        m.fold_in(base.subset(np.arange(10)))
    u, i, v = new.to_arrays()
    extra = Ratings.from_arrays(np.r_[u, u[0]], np.r_[i, 10_000], np.r_[v, 3.0])
    with pytest.warns(UnknownIdWarning, match="1 of .* ratings"):
        res = m.fold_in(extra, update=False)
    assert res.ignored == 1
    with pytest.raises(InvalidParameterError, match="side='rows'"):
        m.fold_in(new, side="rows")


@pytest.mark.data
def test_fold_in_rmse_is_within_001_of_a_refit_on_movielens(shared_data):
    path = shared_data / "movielens-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"MovieLens 100K not found at {path}")
    r = read_ratings(path)
    base, held = _split_users(r, 0.1, seed=0)
    given, hidden = train_test_split(held, 0.2, seed=0)
    kw = dict(solver="als", seed=0)
    folded = MatrixFactorization(**kw).fit(base)
    with pytest.warns(UnknownIdWarning, match="items unknown to the model"):
        folded.fold_in(given)  # a few items were rated by held-out users only
    u, i, v = base.to_arrays()
    gu, gi, gv = given.to_arrays()
    full = MatrixFactorization(**kw).fit((np.r_[u, gu], np.r_[i, gi], np.r_[v, gv]))
    a = folded.evaluate(hidden, k=None)
    b = full.evaluate(hidden, k=None)
    assert a["unknown_users"] == 0
    assert abs(a["rmse"] - b["rmse"]) <= 0.01, (a["rmse"], b["rmse"])


# --------------------------------------------------------------------------------- partial fit
def _reference_partial_epoch(m, P, Q, bu, bi, old, new):
    """One partial epoch by hand: affected users, then affected items, on old + new ratings."""
    merged = {}
    for part in (old, new):
        for a, b, c in zip(*part.to_arrays(), strict=True):
            merged[(a, b)] = c  # the new rating wins
    uids = list(m.user_ids_)
    iids = list(m.item_ids_)
    pairs = np.array([(uids.index(a), iids.index(b)) for a, b in merged])
    vals = np.array(list(merged.values()))
    p = m._resolved()
    mu = float(m.global_mean_)
    nu, ni = new.to_arrays()[:2]
    for user in sorted({uids.index(a) for a in nu}):
        mine = pairs[:, 0] == user
        P[user], bu[user] = _ridge_row(Q, bi, mu, pairs[mine, 1], vals[mine], p["reg"],
                                       p["reg_bias"], m.reg_weighting)
    for item in sorted({iids.index(b) for b in ni}):
        mine = pairs[:, 1] == item
        Q[item], bi[item] = _ridge_row(P, bu, mu, pairs[mine, 0], vals[mine], p["reg"],
                                       p["reg_bias"], m.reg_weighting)
    return P, Q, bu, bi


def test_partial_fit_is_one_exact_step_on_the_affected_rows(ratings):
    old, new = train_test_split(ratings, 0.05, seed=0)
    u, i, v = new.to_arrays()
    # a repeated pair (new rating wins), a new user and a new item among the new ratings
    ou, oi, _ = old.to_arrays()
    new = Ratings.from_arrays(np.r_[u, ou[0], 9999, ou[1]], np.r_[i, oi[0], i[0], 8888],
                              np.r_[v, 1.0, 4.0, 2.0])
    m = MatrixFactorization(5, solver="als", epochs=3, seed=0).fit(old)
    before = {a: getattr(m, a).copy() for a in ("user_factors_", "item_factors_",
                                                "user_bias_", "item_bias_")}
    m.partial_fit(new, epochs=1)
    n_u, n_i = len(before["user_bias_"]), len(before["item_bias_"])
    P = np.vstack([before["user_factors_"], np.zeros((1, 5))])
    Q = np.vstack([before["item_factors_"], np.zeros((1, 5))])
    bu = np.r_[before["user_bias_"], 0.0]
    bi = np.r_[before["item_bias_"], 0.0]
    P, Q, bu, bi = _reference_partial_epoch(m, P, Q, bu, bi, old, new)
    assert (len(m.user_ids_), len(m.item_ids_)) == (n_u + 1, n_i + 1)
    assert_allclose(m.user_factors_, P, rtol=1e-10, atol=1e-10)
    assert_allclose(m.item_factors_, Q, rtol=1e-10, atol=1e-10)
    assert_allclose(m.user_bias_, bu, rtol=1e-10, atol=1e-10)
    assert_allclose(m.item_bias_, bi, rtol=1e-10, atol=1e-10)
    # rows no new rating touches keep their values bit for bit
    untouched = ~np.isin(m.user_ids_[:n_u], new.user_ids)
    assert untouched.any()
    assert np.array_equal(m.user_factors_[:n_u][untouched], before["user_factors_"][untouched])
    assert m.seen_.nnz == len(old) + len(new) - 1  # one pair was rated again


def test_partial_fit_never_raises_the_objective_and_tracks_a_refit(ratings):
    train, test = train_test_split(ratings, 0.2, seed=1)
    old, new = train_test_split(train, 0.1, seed=2)
    m = MatrixFactorization(6, solver="als", epochs=8, seed=0).fit(old)
    stale = m.evaluate(test, k=None)["rmse"]
    history = []
    for _ in range(3):
        m.partial_fit(new, epochs=1)  # again: the same pairs, the same affected rows
        history.append(m.objective(train))
    assert np.all(np.diff(history) <= 1e-9 * np.abs(history[:-1]))
    full = MatrixFactorization(6, solver="als", epochs=8, seed=0).fit(train)
    got, want = m.evaluate(test, k=None)["rmse"], full.evaluate(test, k=None)["rmse"]
    assert got < stale
    assert abs(got - want) < 0.01, (got, want, stale)


def test_partial_fit_needs_the_training_ratings(tmp_path):
    rng = np.random.default_rng(0)
    m = MatrixFactorization.from_factors(3.0, None, None, rng.random((3, 2)), rng.random((4, 2)))
    with pytest.raises(DataError, match="training ratings"):
        m.partial_fit(Ratings.from_arrays([0], [1], [4.0]))
    with pytest.raises(InvalidParameterError, match="epochs=0"):
        m.partial_fit(Ratings.from_arrays([0], [1], [4.0]), epochs=0)
