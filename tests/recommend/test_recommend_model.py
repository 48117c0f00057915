"""MatrixFactorization: predictions, fallbacks, ranking, metrics, early stopping, save/load."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError, NotFittedError, ShapeError
from matfit._io import save_model
from matfit.recommend import (
    MatrixFactorization,
    Ratings,
    UnknownIdWarning,
    synthetic_ratings,
    train_test_split,
)


@pytest.fixture(scope="module")
def data():
    r = synthetic_ratings(300, 200, 9000, seed=0, noise=0.3, step=0.5)
    return train_test_split(r, 0.2, seed=0)


@pytest.fixture(scope="module", params=["als", "sgd"])
def fitted(request, data):
    train, _ = data
    # more epochs than the MovieLens-tuned defaults: this set is 10x smaller
    model = MatrixFactorization(8, solver=request.param, epochs=30, init_scale=0.1, seed=0)
    return model.fit(train)


def _formula(m, u, i):
    return (m.global_mean_ + m.user_bias_[u] + m.item_bias_[i]
            + np.einsum("nk,nk->n", m.user_factors_[u], m.item_factors_[i]))


def test_predict_is_the_biased_mf_formula(fitted, data):
    _, test = data
    m = fitted
    users, items, _ = test.to_arrays()
    known = (m.user_map_.lookup(users) >= 0) & (m.item_map_.lookup(items) >= 0)
    u, i = m.user_map_.lookup(users[known]), m.item_map_.lookup(items[known])
    assert_allclose(m.predict(users[known], items[known], clip=False), _formula(m, u, i),
                    rtol=1e-12)
    clipped = m.predict(users[known], items[known])
    lo, hi = m.rating_range_
    assert clipped.min() >= lo and clipped.max() <= hi
    assert_allclose(clipped, np.clip(_formula(m, u, i), lo, hi), rtol=1e-12)


def test_fit_beats_the_biases_only_baseline(fitted, data):
    train, test = data
    baseline = MatrixFactorization(1, solver="als", reg=1e6, seed=0).fit(train)  # factors ~ 0
    assert fitted.evaluate(test, k=None)["rmse"] < 0.9 * baseline.evaluate(test, k=None)["rmse"]


def test_unknown_ids_fall_back_and_are_counted_in_one_warning(fitted):
    m = fitted
    u0, i0 = m.user_ids_[0], m.item_ids_[0]
    with pytest.warns(UnknownIdWarning, match=r"3 of 4 pairs.*user \(2\).*item \(2\)"):
        pred = m.predict([u0, -1, u0, -7], [i0, i0, -5, -6], clip=False)
    mu = m.global_mean_
    assert_allclose(pred[1], mu + m.item_bias_[0])
    assert_allclose(pred[2], mu + m.user_bias_[0])
    assert_allclose(pred[3], mu)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.predict([u0], [i0])  # no warning when everything is known


def test_recommend_excludes_seen_and_matches_brute_force(fitted, data):
    train, _ = data
    m = fitted
    user = m.user_ids_[5]
    scores = _formula(m, np.full(len(m.item_ids_), 5), np.arange(len(m.item_ids_)))
    seen = set(train.item_ids[train.items[train.user_ids[train.users] == user]].tolist())
    expect = [m.item_ids_[j] for j in np.argsort(-scores, kind="stable")
              if m.item_ids_[j] not in seen][:7]
    items, got = m.recommend(user, 7)
    assert items.tolist() == expect
    assert np.all(np.diff(got) <= 0)
    items_all, _ = m.recommend(user, 7, exclude_seen=False)
    assert items_all.tolist() == [m.item_ids_[j] for j in np.argsort(-scores, kind="stable")[:7]]
    with pytest.warns(UnknownIdWarning, match="unknown"):
        items_new, _ = m.recommend("nobody", 3)
    assert items_new.tolist() == m.item_ids_[np.argsort(-m.item_bias_, kind="stable")[:3]].tolist()


def test_unknown_id_warnings_point_at_the_callers_line(fitted):
    # the work is done a level below the methods (_predict): the warning must still name the
    # user's call, not a line inside matfit
    m = fitted
    with pytest.warns(UnknownIdWarning) as record:
        m.predict([m.user_ids_[0], -1], [m.item_ids_[0], m.item_ids_[0]])
        m.recommend("nobody", 3)
    assert [w.filename for w in record] == [__file__, __file__]


def test_similar_items_is_cosine_over_item_factors(fitted):
    m = fitted
    Q = m.item_factors_
    cos = Q @ Q[3] / (np.linalg.norm(Q, axis=1) * np.linalg.norm(Q[3]))
    cos[3] = -np.inf
    items, sims = m.similar_items(m.item_ids_[3], 5)
    assert items.tolist() == m.item_ids_[np.argsort(-cos, kind="stable")[:5]].tolist()
    assert_allclose(sims, np.sort(cos)[::-1][:5])
    with pytest.raises(DataError, match="unknown"):
        m.similar_items("no such item")


def _naive_ranking(m, test, k, threshold):
    """Per-user loop: rank every item not seen in training, compare with relevant test items."""
    seen = m.seen_.toarray()
    P, Q = [], []
    ndcg = []
    users, items, vals = test.to_arrays()
    for user in np.unique(users):
        row = m.user_map_.lookup([user])[0]
        mask = (users == user) & ((vals >= threshold) if threshold is not None else True)
        rel = set(items[mask].tolist())
        if row < 0 or not rel:
            continue
        s = _formula(m, np.full(len(m.item_ids_), row), np.arange(len(m.item_ids_)))
        s[seen[row]] = -np.inf
        top = [m.item_ids_[j] for j in np.argsort(-s, kind="stable")[:k]]
        hits = [t in rel for t in top]
        P.append(sum(hits) / k)
        Q.append(sum(hits) / len(rel))
        dcg = sum(h / np.log2(j + 2) for j, h in enumerate(hits))
        ndcg.append(dcg / sum(1 / np.log2(j + 2) for j in range(min(k, len(rel)))))
    return np.mean(P), np.mean(Q), np.mean(ndcg), len(P)


@pytest.mark.parametrize("threshold", [None, 4.0])
def test_ranking_metrics_match_a_per_user_loop(fitted, data, threshold):
    _, test = data
    res = fitted.evaluate(test, k=5, threshold=threshold)
    p, r, n, users = _naive_ranking(fitted, test, 5, threshold)
    assert res["ranked_users"] == users
    assert_allclose([res["precision@5"], res["recall@5"], res["ndcg@5"]], [p, r, n], rtol=1e-12)


def test_ndcg_agrees_with_scikit_learn(fitted, data):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    _, test = data
    m = fitted
    user = test.to_arrays()[0][0]
    one = test.subset(test.user_ids[test.users] == user)
    res = m.evaluate(one, k=10)
    row = m.user_map_.lookup([user])[0]
    s = _formula(m, np.full(len(m.item_ids_), row), np.arange(len(m.item_ids_)))
    keep = ~m.seen_.toarray()[row]
    rel = np.isin(m.item_ids_, one.to_arrays()[1]).astype(float)
    expect = sklearn_metrics.ndcg_score(rel[keep][None], s[keep][None], k=10)
    assert_allclose(res["ndcg@10"], expect, rtol=1e-10)


def test_rmse_and_mae_match_numpy(fitted, data):
    _, test = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIdWarning)
        pred = fitted.predict(*test.to_arrays()[:2])
    res = fitted.evaluate(test, k=None)
    assert_allclose(res["rmse"], np.sqrt(np.mean((pred - test.values) ** 2)), rtol=1e-12)
    assert_allclose(res["mae"], np.mean(np.abs(pred - test.values)), rtol=1e-12)
    assert res["count"] == len(test)


def test_evaluate_counts_unknowns():
    train = Ratings.from_arrays(["a", "a", "b"], [1, 2, 1], [4.0, 2.0, 5.0])
    test = Ratings.from_arrays(["a", "c", "c", "d"], [3, 1, 4, 1], [3.0, 3.0, 3.0, 3.0])
    m = MatrixFactorization(2, solver="als", seed=0).fit(train)
    res = m.evaluate(test, k=1)
    assert (res["unknown_users"], res["unknown_items"], res["unknown_pairs"]) == (2, 2, 4)
    assert res["ranked_users"] == 1  # only "a" is known; its relevant item 3 is unknown: a miss
    assert res["precision@1"] == 0.0


def test_early_stopping_keeps_the_best_epoch(data):
    train, _ = data
    tr, val = train_test_split(train, 0.2, seed=1)
    m = MatrixFactorization(16, solver="sgd", lr=0.05, lr_decay=1.0, reg=0.0, epochs=60,
                            patience=2, seed=0).fit(tr, validation=val)
    vals = [h["val_rmse"] for h in m.history_]
    assert m.n_epochs_ < 60  # it overfits without regularisation, so it stops
    assert m.best_epoch_ == int(np.argmin(vals)) + 1
    assert m.n_epochs_ - m.best_epoch_ == 2
    assert_allclose(m.evaluate(val, k=None)["rmse"], min(vals), rtol=1e-12)


@pytest.mark.parametrize("solver", ["als", "sgd"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_load_predicts_bit_identically(tmp_path, data, solver, dtype):
    train, test = data
    m = MatrixFactorization(6, solver=solver, epochs=3, seed=0, dtype=dtype).fit(train)
    path = m.save(tmp_path / "model")
    assert path.suffix == ".npz"
    back = MatrixFactorization.load(path)
    users, items, _ = test.to_arrays()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownIdWarning)
        a, b = m.predict(users, items), back.predict(users, items)
    assert a.dtype == b.dtype == np.dtype(dtype)
    assert np.array_equal(a, b)
    assert back.get_params() == m.get_params()
    assert back.recommend(users[0], 5)[0].tolist() == m.recommend(users[0], 5)[0].tolist()
    assert back.history_ == m.history_
    with np.load(path, allow_pickle=False) as npz:  # plain NumPy can read it, no pickle
        assert json.loads(str(npz["__matfit__"][()]))["kind"] == "ratings-mf"


def test_string_ids_survive_save_and_load(tmp_path):
    r = Ratings.from_arrays(["ann", "bob", "ann", "cy"], ["x", "x", "y", "y"], [5, 3, 4, 1.0])
    m = MatrixFactorization(2, solver="als", seed=0).fit(r)
    back = MatrixFactorization.load(m.save(tmp_path / "m.npz"))
    assert back.user_ids_.tolist() == ["ann", "bob", "cy"]
    assert np.array_equal(back.predict(["bob", "cy"], ["y", "x"]), m.predict(["bob", "cy"],
                                                                             ["y", "x"]))


def test_object_ids_cannot_be_saved(tmp_path):
    r = Ratings.from_arrays([(1, 2), (3, 4)], ["x", "y"], [5.0, 3.0])
    m = MatrixFactorization(2, solver="als", seed=0).fit(r)
    assert m.predict([(1, 2)], ["y"]).shape == (1,)
    with pytest.raises(DataError, match="cannot be saved without pickle"):
        m.save(tmp_path / "m.npz")


def test_other_format_version_and_kind_are_refused(tmp_path):
    p = save_model(tmp_path / "v9.npz", {"user_factors": np.zeros((1, 1))}, {},
                   kind="ratings-mf", version=9)
    with pytest.raises(DataError, match="format version 9"):
        MatrixFactorization.load(p)
    q = save_model(tmp_path / "nmf.npz", {"W": np.zeros((1, 1))}, {}, kind="nmf", version=1)
    with pytest.raises(DataError, match="not a 'ratings-mf' model"):
        MatrixFactorization.load(q)


def test_from_factors_builds_a_working_model(tmp_path):
    rng = np.random.default_rng(0)
    P, Q = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    bu, bi = rng.standard_normal(4), rng.standard_normal(5)
    m = MatrixFactorization.from_factors(3.5, bu, bi, P, Q, ["a", "b", "c", "d"],
                                         [10, 11, 12, 13, 14], rating_range=(1, 5))
    assert m.factors == 3
    want = np.clip(3.5 + bu[1] + bi[2] + P[1] @ Q[2], 1, 5)
    assert_allclose(m.predict(["b"], [12]), [want])
    back = MatrixFactorization.load(m.save(tmp_path / "f.npz"))
    assert np.array_equal(back.predict(["b"], [12]), m.predict(["b"], [12]))
    with pytest.raises(ShapeError, match=r"dimension .factors. disagrees"):
        MatrixFactorization.from_factors(0.0, None, None, P, rng.standard_normal((5, 2)))


def test_not_fitted_and_bad_inputs():
    m = MatrixFactorization()
    with pytest.raises(NotFittedError, match="not fitted"):
        m.predict([1], [1])
    with pytest.raises(DataError, match="dense array"):
        m.fit(np.ones((3, 3)))
    with pytest.raises(DataError, match="at least one rating"):
        m.fit(Ratings.from_arrays([], [], []))


@pytest.mark.parametrize("param, value, match", [
    ("solver", "adam", "solver='adam'"),
    ("factors", 0, "factors=0"),
    ("epochs", 2.5, "epochs=2.5"),
    ("reg", -1.0, "reg=-1.0"),
    ("reg_weighting", "log", "reg_weighting='log'"),
    ("dtype", "int8", "dtype"),
    ("lr_decay", 1.5, "lr_decay=1.5"),
    ("patience", 0, "patience=0"),
])
def test_invalid_parameters_are_named(data, param, value, match):
    train, _ = data
    with pytest.raises(InvalidParameterError, match=match):
        MatrixFactorization(**{param: value}).fit(train)


def _dense_als_fit(train, n_users, n_items, users, items, *, factors, reg, reg_bias,
                   reg_weighting, epochs, init_scale, biases, seed):
    """Reference ALS: dense masked normal equations, one row at a time (the _als docstring)."""
    R = np.zeros((n_users, n_items))
    M = np.zeros((n_users, n_items), dtype=bool)
    R[users, items], M[users, items] = train.values, True
    rng = np.random.default_rng(seed)  # the model draws P, then Q
    P = rng.standard_normal((n_users, factors)) * init_scale
    Q = rng.standard_normal((n_items, factors)) * init_scale
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    mu = float(np.mean(train.values, dtype=np.float64)) if biases else 0.0
    w = {"sqrt": np.sqrt, "count": lambda n: n, "none": lambda n: 1.0}[reg_weighting]

    def half(R, M, F, fb, out, ob):
        for r in range(R.shape[0]):
            m = M[r]
            Y = np.c_[F, np.ones(len(F))] if biases else F
            Y = Y * m[:, None]
            t = (R[r] - mu - (fb if biases else 0)) * m
            diag = [reg * w(m.sum())] * factors + ([reg_bias * w(m.sum())] if biases else [])
            x = np.linalg.solve(Y.T @ Y + np.diag(diag), Y.T @ t)
            out[r] = x[:factors]
            if biases:
                ob[r] = x[factors]

    for _ in range(epochs):
        half(R, M, Q, bi, P, bu)
        half(R.T, M.T, P, bu, Q, bi)
    return mu, P, Q, bu, bi


def _rmse_of(mu, P, Q, bu, bi, u, i, values):
    return np.sqrt(np.mean((mu + bu[u] + bi[i] + np.einsum("nk,nk->n", P[u], Q[i]) - values)
                           ** 2))


@pytest.mark.parametrize("param, value", [
    ("factors", 4), ("reg", 3.0), ("reg_bias", 5.0), ("reg_weighting", "count"),
    ("reg_weighting", "none"), ("epochs", 2), ("init_scale", 1.0), ("biases", False),
    ("seed", 1),
])
def test_every_als_parameter_gives_its_reference_fit(data, param, value):
    # each parameter's value must reach the solver: the fit equals a plain dense ALS with it,
    # and that reference moves when the parameter does (else the case would prove nothing)
    train, test = data
    base = dict(factors=8, reg=1.3, reg_bias=0.6, reg_weighting="sqrt", epochs=6,
                init_scale=0.1, biases=True, seed=0)
    kw = {**base, param: value}
    m = MatrixFactorization(solver="als", **kw).fit(train)
    u = m.user_map_.lookup(train.to_arrays()[0])
    i = m.item_map_.lookup(train.to_arrays()[1])
    args = (train, len(m.user_ids_), len(m.item_ids_), u, i)
    mu, P, Q, bu, bi = _dense_als_fit(*args, **kw)
    assert m.user_factors_.shape == (len(m.user_ids_), kw["factors"])
    assert_allclose(m.user_factors_, P, rtol=1e-7, atol=1e-9)
    assert_allclose(m.item_factors_, Q, rtol=1e-7, atol=1e-9)
    assert_allclose(m.user_bias_, bu, rtol=1e-7, atol=1e-9)
    assert_allclose(m.item_bias_, bi, rtol=1e-7, atol=1e-9)
    assert m.global_mean_ == pytest.approx(mu, rel=1e-12, abs=0)
    tu, ti, tv = test.to_arrays()
    tu, ti = m.user_map_.lookup(tu), m.item_map_.lookup(ti)
    ok = (tu >= 0) & (ti >= 0)
    ref_rmse = _rmse_of(mu, P, Q, bu, bi, tu[ok], ti[ok], tv[ok])
    assert_allclose(_rmse_of(m.global_mean_, m.user_factors_, m.item_factors_, m.user_bias_,
                             m.item_bias_, tu[ok], ti[ok], tv[ok]), ref_rmse, rtol=1e-9)
    base_rmse = _rmse_of(*_dense_als_fit(*args, **base), tu[ok], ti[ok], tv[ok])
    assert abs(ref_rmse - base_rmse) > 1e-4 * base_rmse


def _sgd_fit(train, **kw):
    return MatrixFactorization(solver="sgd", **{"factors": 8, "seed": 0, **kw}).fit(train)


@pytest.fixture(scope="module")
def sgd_base(data):
    return _sgd_fit(data[0])


def _norm_p(m):
    return np.linalg.norm(m.user_factors_)


def _norm_b(m):
    return np.linalg.norm(m.user_bias_) + np.linalg.norm(m.item_bias_)


def _train_rmse(m):
    return m.history_[-1]["train_rmse"]


@pytest.mark.parametrize("param, value, check", [
    # more shrinkage: smaller factors or biases, a looser fit of the training ratings
    ("reg", 0.5, lambda m, b: _norm_p(m) < 0.1 * _norm_p(b) and _train_rmse(m) > _train_rmse(b)),
    ("reg_bias", 1.0, lambda m, b: _norm_b(m) < 0.7 * _norm_b(b)
     and _train_rmse(m) > _train_rmse(b)),
    # smaller or faster-decaying steps: less progress in the same epochs
    ("lr", 0.01, lambda m, b: _train_rmse(m) > _train_rmse(b) + 0.01),
    ("lr_decay", 0.5, lambda m, b: _train_rmse(m) > _train_rmse(b) + 0.01),
    # fewer epochs: the same first epochs (same draws), stopped earlier
    ("epochs", 3, lambda m, b: [h["train_rmse"] for h in m.history_]
     == [h["train_rmse"] for h in b.history_[:3]] and _train_rmse(m) > _train_rmse(b)),
    # a larger start escapes the saddle at zero sooner: larger factors, a closer fit
    ("init_scale", 0.1, lambda m, b: _norm_p(m) > 2 * _norm_p(b)
     and _train_rmse(m) < _train_rmse(b)),
    ("biases", False, lambda m, b: m.global_mean_ == 0 and not m.user_bias_.any()
     and not m.item_bias_.any() and b.user_bias_.any()),
    ("factors", 4, lambda m, b: m.user_factors_.shape[1] == 4
     and _train_rmse(m) > _train_rmse(b)),
])
def test_every_sgd_parameter_moves_the_fit_its_way(data, sgd_base, param, value, check):
    assert check(_sgd_fit(data[0], **{param: value}), sgd_base)


@pytest.mark.parametrize("seed, init_scale", [(0, 0.01), (1, 0.01), (0, 0.3)])
def test_sgd_starts_from_the_seeded_draw(data, seed, init_scale):
    # with a vanishing lr the fit stays at its start: P, then Q, drawn from the seed
    train, _ = data
    m = _sgd_fit(train, seed=seed, init_scale=init_scale, lr=1e-12, epochs=1)
    rng = np.random.default_rng(seed)
    P0 = rng.standard_normal((len(m.user_ids_), 8)) * init_scale
    Q0 = rng.standard_normal((len(m.item_ids_), 8)) * init_scale
    assert_allclose(m.user_factors_, P0, rtol=0, atol=1e-9)
    assert_allclose(m.item_factors_, Q0, rtol=0, atol=1e-9)


def test_dataframe_and_tuple_inputs_give_the_same_model(data):
    pd = pytest.importorskip("pandas")
    train, _ = data
    u, i, v = train.to_arrays()
    df = pd.DataFrame({"user": u, "item": i, "rating": v})
    a = MatrixFactorization(4, solver="als", seed=0, epochs=2).fit(df)
    b = MatrixFactorization(4, solver="als", seed=0, epochs=2).fit((u, i, v))
    assert np.array_equal(a.user_factors_, b.user_factors_)


def test_fitted_arrays_are_read_only(fitted):
    with pytest.raises(ValueError, match="read-only"):
        fitted.user_factors_[0, 0] = 1.0
