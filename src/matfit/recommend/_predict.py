"""What a fitted ratings model answers: predicted ratings, top-k items, similar items, scores.

Each function takes a fitted :class:`~matfit.recommend.MatrixFactorization` (the estimator checks
that it is fitted first) and works at model indices: IDs are looked up once through the model's
:class:`~matfit.recommend._ids.IdMap`, and -1 marks an ID the model does not know. A pair with an
unknown user or item is predicted with μ plus the known bias; an unknown user is ranked by μ + b_i
alone. Scores of every item are formed for one user (or, in :func:`evaluate`, a chunk of users)
at a time, never for users x items at once.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._errors import DataError, InvalidParameterError
from ..shapes import check
from . import _als, _config, _train
from ._ids import show_id
from ._inputs import UnknownIdWarning, as_ratings, pairs_from_X
from ._metrics import mae, ranking_metrics, rmse

__all__ = ["evaluate", "objective", "predict", "predict_indices", "predict_ratings", "recommend",
           "score", "scores", "similar_items"]


# ------------------------------------------------------------------------------- predict
def predict_indices(model: Any, u: np.ndarray, i: np.ndarray, *, clip: bool = True) -> np.ndarray:
    """r̂ at model indices; -1 (unknown) falls back to μ + the known biases."""
    out = _train.predict_known(model.global_mean_, model.user_bias_, model.item_bias_,
                               model.user_factors_, model.item_factors_, u, i)
    if clip:
        lo, hi = model.rating_range_
        np.clip(out, lo, hi, out=out)
    return out


def predict(model: Any, X: Any, items: Any = None, *, clip: bool = True) -> np.ndarray:
    """:meth:`MatrixFactorization.predict`: r̂ of (user, item) pairs given by ID."""
    users, items = pairs_from_X(X) if items is None else (X, items)
    u = model.user_map_.lookup(users)
    i = model.item_map_.lookup(items)
    check(users=(u, "pairs"), items=(i, "pairs"))
    unknown = (u < 0) | (i < 0)
    if unknown.any():
        # stacklevel 3: the caller of MatrixFactorization.predict, not the method
        warnings.warn(
            f"{int(unknown.sum())} of {len(u)} pairs have a user ({int((u < 0).sum())}) or an "
            f"item ({int((i < 0).sum())}) unknown to the model; predicted with the global "
            f"mean plus the known bias",
            UnknownIdWarning, stacklevel=3)
    return predict_indices(model, u, i, clip=clip)


def score(model: Any, X: Any, y: Any) -> float:
    """:meth:`MatrixFactorization.score`: negative RMSE of the clipped predictions of X."""
    users, items = pairs_from_X(X)
    values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y, dtype=np.float64)
    u, i = model.user_map_.lookup(users), model.item_map_.lookup(items)
    check(X=(u, "pairs"), y=(values.reshape(-1), "pairs"))
    return -rmse(values.reshape(-1), predict_indices(model, u, i))


def predict_ratings(model: Any, ratings: Any, *, clip: bool = True) -> tuple[np.ndarray, dict]:
    """:meth:`MatrixFactorization.predict_ratings`: r̂ of every rating, and the unknown counts."""
    r = as_ratings(ratings)
    umap = model.user_map_.lookup(r.user_ids)
    imap = model.item_map_.lookup(r.item_ids)
    u, i = umap[r.users], imap[r.items]
    used_u = np.zeros(r.n_users, dtype=bool)
    used_u[r.users] = True
    used_i = np.zeros(r.n_items, dtype=bool)
    used_i[r.items] = True
    info = {"unknown_users": int(np.count_nonzero(used_u & (umap < 0))),
            "unknown_items": int(np.count_nonzero(used_i & (imap < 0))),
            "unknown_pairs": int(np.count_nonzero((u < 0) | (i < 0)))}
    return predict_indices(model, u, i, clip=clip), info


# ---------------------------------------------------------------------------- ranking
def scores(model: Any, rows: np.ndarray) -> np.ndarray:
    """Scores of every item for users at model indices ``rows``: shape (rows, items)."""
    s = model.user_factors_[rows] @ model.item_factors_.T
    s += model.item_bias_
    s += (model.user_bias_[rows] + model.global_mean_)[:, None]
    return s


def recommend(model: Any, user: Any, k: int = 10, *, exclude_seen: bool = True
              ) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`MatrixFactorization.recommend`: the ``k`` best items for one user, and their r̂."""
    _check_k(k)
    row = int(model.user_map_.lookup([user])[0])
    if row < 0:
        # stacklevel 3: the caller of MatrixFactorization.recommend, not the method
        warnings.warn(f"user {show_id(user)} is unknown to the model: ranked by item bias only",
                      UnknownIdWarning, stacklevel=3)
        s = (model.item_bias_ + model.global_mean_).astype(np.float64)
    else:
        s = scores(model, np.array([row]))[0].astype(np.float64)
        if exclude_seen and model.seen_ is not None:
            seen = model.seen_.indices[model.seen_.indptr[row]:model.seen_.indptr[row + 1]]
            s[seen] = -np.inf
    return _top(s, k, model.item_ids_)


def similar_items(model: Any, item: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`MatrixFactorization.similar_items`: the ``k`` most cosine-similar items."""
    _check_k(k)
    row = int(model.item_map_.lookup([item])[0])
    if row < 0:
        raise DataError(f"item {show_id(item)} is unknown to the model (no rating in training)")
    Q = model.item_factors_.astype(np.float64)
    norms = np.linalg.norm(Q, axis=1)
    norms[norms == 0] = 1.0
    sims = (Q @ Q[row]) / (norms * norms[row])
    sims[row] = -np.inf
    return _top(sims, k, model.item_ids_)


# ------------------------------------------------------------------------- evaluation
def evaluate(model: Any, ratings: Any, *, k: int | None = 10, threshold: float | None = None,
             clip: bool = True) -> dict[str, Any]:
    """:meth:`MatrixFactorization.evaluate`: RMSE, MAE and top-k metrics on held-out ratings."""
    r = as_ratings(ratings)
    pred, info = model.predict_ratings(r, clip=clip)
    out: dict[str, Any] = {"rmse": rmse(r.values, pred), "mae": mae(r.values, pred),
                           "count": len(r), **info}
    if k is not None:
        _check_k(k)
        u = model.user_map_.lookup(r.user_ids)[r.users]
        i = model.item_map_.lookup(r.item_ids)[r.items]
        rel = u >= 0
        if threshold is not None:
            rel &= r.values >= threshold
        m = ranking_metrics(lambda rows: scores(model, rows), u[rel], i[rel],
                            len(model.item_ids_), k, seen=model.seen_)
        out.update({f"precision@{k}": m["precision"], f"recall@{k}": m["recall"],
                    f"ndcg@{k}": m["ndcg"], "ranked_users": m["users"]})
    return out


def objective(model: Any, ratings: Any) -> float:
    """:meth:`MatrixFactorization.objective`: the ALS objective J of the fitted parameters."""
    p = model._resolved()
    weighting, reg, reg_bias = _config.objective_terms(model, p)
    r = as_ratings(ratings)
    u = model.user_map_.lookup(r.user_ids)[r.users]
    i = model.item_map_.lookup(r.item_ids)[r.items]
    if (u < 0).any() or (i < 0).any():
        raise DataError("objective() needs ratings of known users and items only")
    k = model.user_factors_.shape[1]
    lam_u = _als.penalties(np.bincount(u, minlength=len(model.user_ids_)), weighting, reg,
                           reg_bias, k)
    lam_i = _als.penalties(np.bincount(i, minlength=len(model.item_ids_)), weighting, reg,
                           reg_bias, k)
    biases = (model.user_bias_, model.item_bias_) if model.biases else (None, None)
    return _als.objective(r.values, u, i, model.global_mean_, *biases, model.user_factors_,
                          model.item_factors_, lam_u, lam_i)


def _check_k(k: Any) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(f"k={k!r}: must be an int >= 1")


def _top(scores: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    valid = np.flatnonzero(np.isfinite(scores))
    k = min(k, len(valid))
    if k == 0:
        return ids[:0], scores[:0]
    part = valid[np.argpartition(-scores[valid], k - 1)[:k]]
    best = part[np.argsort(-scores[part], kind="stable")]
    return ids[best], scores[best]
