"""scikit-learn's model selection drives MatrixFactorization through fit(X, y) / score(X, y)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import DataError, ShapeError
from matfit.recommend import MatrixFactorization, Ratings, synthetic_ratings

model_selection = pytest.importorskip("sklearn.model_selection")
sklearn_base = pytest.importorskip("sklearn.base")


@pytest.fixture(scope="module")
def xy():
    r = synthetic_ratings(150, 100, 6000, seed=0, noise=0.3, step=0.5)
    users, items, values = r.to_arrays()
    return np.column_stack([users, items]), values.astype(np.float64)


def _manual_cv_rmse(params, X, y, cv):
    """The same folds by hand: fit on the Ratings path, RMSE from predict."""
    out = []
    for tr, te in cv.split(X):
        m = MatrixFactorization(**params).fit(Ratings.from_arrays(X[tr, 0], X[tr, 1], y[tr]))
        known = (m.user_map_.lookup(X[te, 0]) >= 0) & (m.item_map_.lookup(X[te, 1]) >= 0)
        pred = m.predict(X[te][known])
        # unknown pairs: mu + the known bias, as score() does
        full = np.empty(len(te))
        full[known] = pred
        u, i = m.user_map_.lookup(X[te, 0]), m.item_map_.lookup(X[te, 1])
        miss = ~known
        fb = np.full(miss.sum(), m.global_mean_)
        fb += np.where(u[miss] >= 0, m.user_bias_[np.maximum(u[miss], 0)], 0)
        fb += np.where(i[miss] >= 0, m.item_bias_[np.maximum(i[miss], 0)], 0)
        full[miss] = np.clip(fb, *m.rating_range_)
        out.append(np.sqrt(np.mean((full - y[te]) ** 2)))
    return np.array(out)


def test_cross_validate_with_kfold_scores_negative_rmse(xy):
    X, y = xy
    params = dict(factors=4, solver="als", epochs=4, seed=0)
    cv = model_selection.KFold(3, shuffle=True, random_state=0)
    res = model_selection.cross_validate(MatrixFactorization(**params), X, y, cv=cv)
    assert_allclose(-res["test_score"], _manual_cv_rmse(params, X, y, cv), rtol=1e-10)
    assert np.all(res["test_score"] < 0)


def test_grid_search_picks_the_lowest_cross_validated_rmse(xy):
    X, y = xy
    cv = model_selection.KFold(3, shuffle=True, random_state=1)
    grid = {"reg": [0.05, 1.0, 30.0]}
    base = dict(factors=4, solver="als", epochs=4, seed=0)
    search = model_selection.GridSearchCV(MatrixFactorization(**base), grid, cv=cv).fit(X, y)
    manual = [_manual_cv_rmse({**base, "reg": reg}, X, y, cv).mean() for reg in grid["reg"]]
    assert search.best_params_["reg"] == grid["reg"][int(np.argmin(manual))]
    assert_allclose(-search.cv_results_["mean_test_score"], manual, rtol=1e-10)
    # the refitted best model predicts like one fitted directly
    direct = MatrixFactorization(**base, reg=search.best_params_["reg"]).fit(X, y)
    assert_allclose(search.predict(X[:50]), direct.predict(X[:50]), rtol=1e-12)


def test_dataframe_x_and_series_y_work_and_match_arrays(xy):
    pd = pytest.importorskip("pandas")
    X, y = xy
    df = pd.DataFrame({"userId": X[:, 0], "movieId": X[:, 1]})
    a = MatrixFactorization(4, solver="als", epochs=3, seed=0).fit(df, pd.Series(y))
    b = MatrixFactorization(4, solver="als", epochs=3, seed=0).fit(X, y)
    assert np.array_equal(a.predict(df), b.predict(X))
    assert a.score(df, y) == b.score(X, y)
    # the Ratings path (a table with a rating column, no y) stays
    c = MatrixFactorization(4, solver="als", epochs=3, seed=0).fit(
        df.assign(rating=y))
    assert np.array_equal(c.predict(X), b.predict(X))


def test_clone_and_bad_xy_inputs(xy):
    X, y = xy
    m = MatrixFactorization(3, solver="als", epochs=2, seed=0)
    assert sklearn_base.clone(m).get_params() == m.get_params()
    with pytest.raises(ShapeError, match=r"X has shape \(6000, 3\).*\(pairs, 2\)"):
        m.fit(np.c_[X, y], y)
    with pytest.raises(ShapeError, match=r"y has shape \(10,\) but X has 6000 rows"):
        m.fit(X, y[:10])
    with pytest.raises(DataError, match="validation="):
        m.fit(Ratings.from_arrays(X[:, 0], X[:, 1], y), Ratings.from_arrays([1], [1], [1.0]))
    with pytest.raises(DataError, match=r"pass the ratings as y"):
        m.fit(X)
