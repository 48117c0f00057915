"""Accuracy (RMSE, MAE) and top-k ranking metrics (precision, recall, NDCG) for ratings models.

Ranking protocol
----------------
For each user with at least one *relevant* held-out rating (every held-out rating, or those
``>= threshold``), every item the model knows is scored, the items the user rated in training
are removed (``seen``), and the ``k`` best are compared with the relevant items:

* precision@k = hits / k;
* recall@k = hits / (number of relevant items);
* NDCG@k = DCG / ideal DCG with binary gains, DCG = sum over ranks j = 1..k of
  hit_j / log2(j + 1), the ideal placing min(k, relevant) hits first.

Relevant items the model never saw in training count as misses (they cannot be ranked). Scores
are computed for a chunk of users at a time: memory O(chunk x items), never users x items.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["mae", "ranking_metrics", "rmse"]


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error (float64 accumulation); NaN for no ratings."""
    if len(y_true) == 0:
        return float("nan")
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(d @ d / len(d)))


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error; NaN for no ratings."""
    if len(y_true) == 0:
        return float("nan")
    d = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.mean(np.abs(d)))


def ranking_metrics(
    score_rows: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    items: np.ndarray,
    n_items: int,
    k: int,
    *,
    seen: sp.csr_matrix | None = None,
    chunk_cells: int = 1 << 22,
) -> dict[str, float | int]:
    """Mean precision@k, recall@k and NDCG@k over the users of the relevant pairs.

    Parameters
    ----------
    score_rows : callable
        ``score_rows(user_indices)`` -> scores, shape (len(user_indices), items).
    users : ndarray of int, shape (pairs,)
        Model index of each relevant pair's user (all known to the model).
    items : ndarray of int, shape (pairs,)
        Model index of each relevant pair's item, -1 for an item the model does not know.
    n_items : int
    k : int
    seen : csr_matrix, shape (users, items), optional
        Training interactions, excluded from each user's list.
    chunk_cells : int
        Most scores held at once.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``ndcg`` (means over users) and ``users`` (how many).
    """
    k = int(min(k, n_items))
    if len(users) == 0 or k < 1:
        return {"precision": float("nan"), "recall": float("nan"), "ndcg": float("nan"),
                "users": 0}
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    uniq, starts, n_rel = np.unique(users, return_index=True, return_counts=True)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)
    sum_p = sum_r = sum_n = 0.0
    step = max(1, chunk_cells // max(n_items, 1))
    for lo in range(0, len(uniq), step):
        rows = uniq[lo:lo + step]
        scores = np.asarray(score_rows(rows), dtype=np.float64)
        if seen is not None:
            sub = seen[rows]
            scores[np.repeat(np.arange(len(rows)), np.diff(sub.indptr)), sub.indices] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-top_scores, axis=1, kind="stable"), axis=1)
        # relevant (row, item) pairs of this chunk, as a boolean table over the chunk's rows
        a, b = starts[lo], starts[lo + len(rows) - 1] + n_rel[lo + len(rows) - 1]
        rel_rows = np.repeat(np.arange(len(rows)), n_rel[lo:lo + len(rows)])
        rel_items = items[a:b]
        known = rel_items >= 0
        relevant = np.zeros((len(rows), n_items), dtype=bool)
        relevant[rel_rows[known], rel_items[known]] = True
        hits = np.take_along_axis(relevant, top, axis=1)
        n_hit = hits.sum(axis=1)
        nr = n_rel[lo:lo + len(rows)]
        sum_p += float(np.sum(n_hit / k))
        sum_r += float(np.sum(n_hit / nr))
        dcg = hits @ discount
        sum_n += float(np.sum(dcg / ideal[np.minimum(nr, k) - 1]))
    n = len(uniq)
    return {"precision": sum_p / n, "recall": sum_r / n, "ndcg": sum_n / n, "users": int(n)}
