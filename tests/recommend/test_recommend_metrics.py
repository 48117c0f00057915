"""RMSE, MAE and the top-k ranking metrics against scikit-learn and a per-user loop."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit.recommend._metrics import mae, ranking_metrics, rmse

sk = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_rmse_and_mae_match_scikit_learn(dtype, scale):
    rng = np.random.default_rng(0)
    y = (rng.uniform(1, 5, 1001) * scale).astype(dtype)
    p = (y + rng.standard_normal(1001) * scale).astype(dtype)
    y64, p64 = y.astype(np.float64), p.astype(np.float64)  # the same numbers, exactly
    # float64 accumulation whatever the input dtype
    assert_allclose(rmse(y, p), np.sqrt(sk.mean_squared_error(y64, p64)), rtol=1e-13)
    assert_allclose(mae(y, p), sk.mean_absolute_error(y64, p64), rtol=1e-13)
    assert type(rmse(y, p)) is float and type(mae(y, p)) is float


def test_rmse_and_mae_by_hand():
    assert rmse([1.0, 2.0, 3.0], [2.0, 2.0, 5.0]) == pytest.approx(np.sqrt(5 / 3), rel=1e-15,
                                                                   abs=0)
    assert mae([1.0, 2.0, 3.0], [2.0, 2.0, 5.0]) == pytest.approx(1.0, rel=1e-15, abs=0)
    assert rmse([4], [4]) == 0.0 and mae([4], [1]) == 3.0
    # ratings straight from a database's NUMERIC column
    assert rmse([Decimal("4.5"), Decimal("3")], [4.0, 4.0]) == pytest.approx(
        np.sqrt((0.25 + 1) / 2), rel=1e-15, abs=0)
    assert mae([4.0, 4.0], [Decimal("4.5"), Decimal("3")]) == pytest.approx(0.75, rel=1e-15,
                                                                            abs=0)
    assert rmse([4.0, 4.0], [Decimal("4.5"), Decimal("3")]) == pytest.approx(
        np.sqrt((0.25 + 1) / 2), rel=1e-15, abs=0)
    assert mae([Decimal("4.5"), Decimal("3")], [4.0, 4.0]) == pytest.approx(0.75, rel=1e-15,
                                                                            abs=0)


def test_no_ratings_give_nan():
    assert np.isnan(rmse(np.array([]), np.array([])))
    assert np.isnan(mae(np.array([]), np.array([])))
    assert not np.isnan(rmse(np.array([1.0]), np.array([1.5])))


# ---------------------------------------------------------------------------- ranking
def _reference(scores, users, items, k, seen):
    """Per-user loop: rank every unseen item (ties: lower index first), binary gains."""
    n_items = scores.shape[1]
    k = min(k, n_items)
    P, R, N = [], [], []
    for user in sorted(set(users.tolist())):
        rel = {int(i) for u, i in zip(users, items, strict=True) if u == user and i >= 0}
        n_rel = int(np.sum(users == user))  # unknown items (-1) are relevant misses
        s = scores[user].astype(np.float64).copy()
        if seen is not None:
            s[seen[user].toarray().ravel() != 0] = -np.inf
        top = np.argsort(-s, kind="stable")[:k]
        hits = [int(t) in rel for t in top]
        P.append(sum(hits) / k)
        R.append(sum(hits) / n_rel)
        dcg = sum(h / np.log2(j + 2) for j, h in enumerate(hits))
        N.append(dcg / sum(1 / np.log2(j + 2) for j in range(min(k, n_rel))))
    return {"precision": np.mean(P), "recall": np.mean(R), "ndcg": np.mean(N), "users": len(P)}


def _case(seed, n_users=30, n_items=25, pairs=120, unknown=10):
    rng = np.random.default_rng(seed)
    # distinct scores: no ties, so the top k is one well-defined list
    scores = rng.permutation(n_users * n_items).reshape(n_users, n_items) / 7.0 - 40.0
    users = rng.integers(0, n_users, pairs)
    items = rng.integers(0, n_items, pairs)
    items[:unknown] = -1  # items the model does not know
    items[unknown] = 0    # item 0 is relevant somewhere
    keep = np.unique(np.c_[users, items], axis=0, return_index=True)[1]
    users, items = users[np.sort(keep)], items[np.sort(keep)]
    # training interactions, disjoint from the held-out relevant pairs (as in a split)
    dense = rng.random((n_users, n_items)) < 0.2
    known = items >= 0
    dense[users[known], items[known]] = False
    return scores, users, items, sp.csr_matrix(dense.astype(np.float64))


def _score_rows(scores, calls=None):
    def score_rows(rows):
        if calls is not None:
            calls.append(np.asarray(rows).copy())
        return scores[rows]
    return score_rows


@pytest.mark.parametrize("k", [1, 3, 10, 25, 40])
@pytest.mark.parametrize("with_seen", [False, True])
@pytest.mark.parametrize("chunk_cells", [1 << 22, 100, 1])
def test_ranking_metrics_match_a_per_user_loop(k, with_seen, chunk_cells):
    scores, users, items, seen = _case(k + 7 * with_seen)
    seen = seen if with_seen else None
    calls = []
    got = ranking_metrics(_score_rows(scores, calls), users, items, scores.shape[1], k,
                          seen=seen, chunk_cells=chunk_cells)
    want = _reference(scores, users, items, k, seen)
    assert got["users"] == want["users"] == len(set(users.tolist()))
    assert_allclose([got["precision"], got["recall"], got["ndcg"]],
                    [want["precision"], want["recall"], want["ndcg"]], rtol=1e-12)
    # each user is scored once, in chunks of at most chunk_cells scores (one row at least)
    rows = np.concatenate(calls)
    assert sorted(rows.tolist()) == sorted(set(users.tolist()))
    per_call = max(1, chunk_cells // scores.shape[1])
    assert [len(c) for c in calls[:-1]] == [per_call] * (len(calls) - 1)
    assert 1 <= len(calls[-1]) <= per_call


def test_ranking_metrics_by_hand():
    # 2 users x 4 items; user 0 relevant {1, 3}, user 1 relevant {0} and an unknown item
    scores = np.array([[0.9, 0.8, 0.1, 0.7],
                       [0.2, 0.3, 0.4, 0.1]])
    users = np.array([1, 0, 0, 1])
    items = np.array([0, 3, 1, -1])
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0]]))
    res = ranking_metrics(_score_rows(scores), users, items, 4, 2, seen=seen)
    # user 0: item 0 seen; top 2 = [1, 3]: 2 hits; user 1: top 2 = [2, 1]: no hit
    d = 1 / np.log2(3)
    assert res["users"] == 2
    assert res["precision"] == pytest.approx((2 / 2 + 0) / 2, rel=1e-15, abs=0)
    assert res["recall"] == pytest.approx((2 / 2 + 0 / 2) / 2, rel=1e-15, abs=0)
    assert res["ndcg"] == pytest.approx(((1 + d) / (1 + d) + 0) / 2, rel=1e-15, abs=0)
    # k = 3: user 1's ranks [2, 1, 0]: item 0 at rank 3; ideal for 2 relevant: 1 + 1/log2(3)
    res3 = ranking_metrics(_score_rows(scores), users, items, 4, 3, seen=seen)
    assert res3["precision"] == pytest.approx((2 / 3 + 1 / 3) / 2, rel=1e-15, abs=0)
    assert res3["recall"] == pytest.approx((1 + 1 / 2) / 2, rel=1e-15, abs=0)
    user0 = (1 + d) / (1 + d)
    user1 = (1 / np.log2(4)) / (1 + d)
    assert res3["ndcg"] == pytest.approx((user0 + user1) / 2, rel=1e-15, abs=0)


def test_ndcg_matches_scikit_learn_for_one_user():
    rng = np.random.default_rng(3)
    scores = rng.standard_normal((1, 50))
    items = rng.choice(50, 7, replace=False)
    for k in (1, 5, 10, 50):
        res = ranking_metrics(_score_rows(scores), np.zeros(7, dtype=int), items, 50, k)
        rel = np.isin(np.arange(50), items).astype(float)
        assert_allclose(res["ndcg"], sk.ndcg_score(rel[None], scores, k=k), rtol=1e-12)


def test_k_larger_than_the_catalogue_ranks_every_item():
    scores = np.array([[0.1, 0.5, 0.3]])
    res = ranking_metrics(_score_rows(scores), np.array([0, 0]), np.array([0, 2]), 3, 10)
    assert res["precision"] == pytest.approx(2 / 3, rel=1e-15, abs=0)  # k is cut to 3 items
    assert res["recall"] == 1.0 and res["ndcg"] == pytest.approx(
        (1 / np.log2(3) + 1 / np.log2(4)) / (1 + 1 / np.log2(3)), rel=1e-15, abs=0)


@pytest.mark.parametrize("users, items, n_items, k", [
    (np.array([], dtype=int), np.array([], dtype=int), 5, 3),
    (np.array([0]), np.array([1]), 5, 0),
    (np.array([0]), np.array([1]), 0, 3),
])
def test_nothing_to_rank_gives_nan_and_zero_users(users, items, n_items, k):
    res = ranking_metrics(_score_rows(np.zeros((1, max(n_items, 1)))), users, items, n_items, k)
    assert res["users"] == 0
    assert np.isnan(res["precision"]) and np.isnan(res["recall"]) and np.isnan(res["ndcg"])


def test_k_of_one_is_ranked():
    scores = np.array([[0.1, 0.5, 0.3]])
    res = ranking_metrics(_score_rows(scores), np.array([0]), np.array([1]), 3, 1)
    assert (res["precision"], res["recall"], res["ndcg"], res["users"]) == (1.0, 1.0, 1.0, 1)


def test_many_items_and_small_k_find_the_true_top():
    # 2000 items: selecting the top k must be exact, not merely close
    rng = np.random.default_rng(11)
    scores = rng.standard_normal((6, 2000))
    users = np.repeat(np.arange(6), 40)
    items = rng.integers(0, 2000, len(users))
    keep = np.unique(np.c_[users, items], axis=0, return_index=True)[1]
    users, items = users[np.sort(keep)], items[np.sort(keep)]
    for k in (1, 2, 60):
        for u in range(6):  # each user's best item relevant: a miss of the top shows at once
            items[np.flatnonzero(users == u)[0]] = int(np.argmax(scores[u]))
        got = ranking_metrics(_score_rows(scores), users, items, 2000, k)
        want = _reference(scores, users, items, k, None)
        assert_allclose([got["precision"], got["recall"], got["ndcg"]],
                        [want["precision"], want["recall"], want["ndcg"]], rtol=1e-12)


def test_one_item_catalogue_is_scored_in_chunks_of_chunk_cells_users():
    scores = np.arange(10.0)[:, None]
    calls = []
    res = ranking_metrics(_score_rows(scores, calls), np.arange(10), np.zeros(10, dtype=int), 1,
                          5, chunk_cells=4)
    assert [len(c) for c in calls] == [4, 4, 2]
    assert (res["precision"], res["recall"], res["ndcg"], res["users"]) == (1.0, 1.0, 1.0, 10)


def test_integer_scores_are_ranked_with_seen_items_removed():
    # a popularity baseline's counts: ints, not floats
    counts = np.array([[5, 9, 1, 7]])
    seen = sp.csr_matrix(np.array([[0.0, 1.0, 0.0, 0.0]]))
    res = ranking_metrics(lambda rows: counts[rows], np.array([0]), np.array([3]), 4, 1,
                          seen=seen)
    assert (res["precision"], res["recall"], res["ndcg"]) == (1.0, 1.0, 1.0)  # item 3 is first
