"""Synthetic explicit ratings with power-law (or uniform) activity, for tests, demos and scale runs.

Implementation notes
--------------------
Real rating logs are heavy-tailed: a few users rate thousands of items and a few items collect a
large share of all ratings (MovieLens 20M: 138k users, 27k items, the busiest user ~9k ratings,
the most-rated movie ~67k). Here user u is drawn with probability proportional to
``(rank_u + 1) ** -user_exponent`` and item i to ``(rank_i + 1) ** -item_exponent``, each
expectation capped at ``max_fraction`` of the other side (a user cannot rate more items than
exist) by water-filling; pairs are drawn in batches and repeated pairs dropped until exactly
``n_ratings`` distinct pairs remain. Ranks are shuffled so that index order says nothing about
activity.

Values follow the biased model ``mu + b_u + b_i + p_u . q_i + noise`` with a known ground truth
(``return_truth=True``), optionally clipped to ``rating_scale`` and rounded to ``step``.
Memory is O(n_ratings + (users + items) x factors); values are computed in chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from ._data import Ratings

__all__ = ["synthetic_ratings"]


def _capped_probabilities(n: int, exponent: float, total: int, cap: float) -> np.ndarray:
    """Zipf-like probabilities whose expected counts ``total * p`` stay below ``cap``."""
    w = (np.arange(1, n + 1, dtype=np.float64)) ** -exponent
    p = w / w.sum()
    for _ in range(50):  # water-filling: clip the heads, give their excess to the rest
        over = p * total > cap
        if not over.any():
            break
        excess = float(np.sum(p[over] - cap / total))
        p[over] = cap / total
        free = ~over & (p * total < cap)
        if not free.any():
            break
        p[free] += excess * p[free] / p[free].sum()
    return p / p.sum()


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    """np.unique by sorting (NumPy 2's hash-based unique is far slower on 10^7 int64 keys)."""
    a.sort()
    keep = np.empty(len(a), dtype=bool)
    keep[:1] = True
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def synthetic_ratings(
    n_users: int,
    n_items: int,
    n_ratings: int,
    *,
    factors: int = 8,
    activity: str = "power-law",
    user_exponent: float = 0.6,
    item_exponent: float = 0.9,
    max_fraction: float = 0.3,
    noise: float = 0.5,
    mean: float = 3.5,
    bias_scale: float = 0.4,
    factor_scale: float = 1.0,
    rating_scale: tuple[float, float] | None = (1.0, 5.0),
    step: float | None = None,
    dtype: Any = np.float32,
    seed: int | None = None,
    return_truth: bool = False,
) -> Ratings | tuple[Ratings, dict[str, Any]]:
    """Draw ``n_ratings`` distinct (user, item) pairs and their ratings from a biased MF model.

    Parameters
    ----------
    n_users, n_items, n_ratings : int
        ``n_ratings`` must not exceed ``max_fraction * n_users * n_items`` by much (pairs are
        distinct).
    factors : int
        Rank of the true interaction part.
    activity : {"power-law", "uniform"}
        How users and items are drawn (see the module notes).
    user_exponent, item_exponent : float
        Power-law exponents of user activity and item popularity.
    max_fraction : float
        Cap on a user's (item's) expected share of the items (users).
    noise : float
        Standard deviation of the Gaussian noise added to every rating.
    mean, bias_scale, factor_scale : float
        μ; standard deviation of the true biases; overall scale of p_u . q_i (its standard
        deviation is about ``factor_scale``).
    rating_scale : (float, float) or None
        Clip the ratings to this range (None: no clipping).
    step : float, optional
        Round the ratings to multiples of ``step`` (e.g. 0.5 or 1).
    dtype : {np.float32, np.float64}
    seed : int, optional
    return_truth : bool
        Also return ``{"mean", "user_bias", "item_bias", "user_factors", "item_factors"}``.

    Returns
    -------
    Ratings, or (Ratings, dict) with ``return_truth``
        Users and items keep the indices 0..n-1 as IDs; a user or item may have no rating.
    """
    for name, v in (("n_users", n_users), ("n_items", n_items), ("n_ratings", n_ratings),
                    ("factors", factors)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise InvalidParameterError(f"synthetic_ratings({name}={v!r}): must be an int >= 1")
    if activity not in ("power-law", "uniform"):
        raise InvalidParameterError(
            f"synthetic_ratings(activity={activity!r}): must be 'power-law' or 'uniform'")
    if n_ratings > 0.9 * n_users * n_items:
        raise InvalidParameterError(
            f"synthetic_ratings(n_ratings={n_ratings}): at most 90% of the {n_users * n_items} "
            f"(user, item) cells can be drawn as distinct pairs")
    rng = np.random.default_rng(seed)
    if activity == "uniform":
        pu = np.full(n_users, 1.0 / n_users)
        pi = np.full(n_items, 1.0 / n_items)
    else:
        pu = _capped_probabilities(n_users, user_exponent, n_ratings, max_fraction * n_items)
        pi = _capped_probabilities(n_items, item_exponent, n_ratings, max_fraction * n_users)
        pu = pu[rng.permutation(n_users)]
        pi = pi[rng.permutation(n_items)]
    keys = np.zeros(0, dtype=np.int64)
    for _ in range(100):
        missing = n_ratings - len(keys)
        if missing <= 0:
            break
        draw = int(missing * 1.1) + 16
        u = rng.choice(n_users, size=draw, p=pu)
        i = rng.choice(n_items, size=draw, p=pi)
        keys = _sorted_unique(np.concatenate([keys, u.astype(np.int64) * n_items + i]))
    if len(keys) < n_ratings:  # pragma: no cover - only for near-saturated settings
        raise InvalidParameterError(
            f"synthetic_ratings: could not draw {n_ratings} distinct pairs; lower n_ratings or "
            f"raise max_fraction")
    keys = rng.choice(keys, size=n_ratings, replace=False)
    keys.sort()
    users, items = keys // n_items, keys % n_items
    del keys
    truth = {
        "mean": float(mean),
        "user_bias": rng.normal(0, bias_scale, n_users),
        "item_bias": rng.normal(0, bias_scale, n_items),
        "user_factors": rng.normal(0, np.sqrt(factor_scale / np.sqrt(factors)),
                                   (n_users, factors)),
        "item_factors": rng.normal(0, np.sqrt(factor_scale / np.sqrt(factors)),
                                   (n_items, factors)),
    }
    values = np.empty(n_ratings, dtype=dtype)
    chunk = 1 << 18
    for lo in range(0, n_ratings, chunk):
        u, i = users[lo:lo + chunk], items[lo:lo + chunk]
        v = (mean + truth["user_bias"][u] + truth["item_bias"][i]
             + np.einsum("nk,nk->n", truth["user_factors"][u], truth["item_factors"][i]))
        if noise:
            v += rng.normal(0, noise, len(u))
        values[lo:lo + chunk] = v
    if step:
        np.round(values / step, out=values)
        values *= step
    if rating_scale is not None:
        np.clip(values, rating_scale[0], rating_scale[1], out=values)
    ratings = Ratings.from_indices(users, items, values, n_users=n_users, n_items=n_items)
    return (ratings, truth) if return_truth else ratings
