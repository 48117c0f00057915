"""The fitted state of a ratings model: its arrays checked against each other, frozen and set.

Every way to a fitted :class:`~matfit.recommend.MatrixFactorization` -- a local fit, the Spark
engine, fold-in and partial fits, :meth:`~matfit.recommend.MatrixFactorization.load` and
:meth:`~matfit.recommend.MatrixFactorization.from_factors` -- ends in :func:`set_fitted`, so the
trailing-underscore attributes are set in one place: shapes checked with named dimensions (users,
items, factors), the arrays made read-only (STYLE rule 9), the ID maps and the ID arrays kept
together.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError
from ..shapes import check
from ._ids import IdMap

__all__ = ["from_factors", "set_fitted"]


def from_factors(cls: type, global_mean: float, user_bias: Any, item_bias: Any,
                 user_factors: Any, item_factors: Any, user_ids: Any = None,
                 item_ids: Any = None, *, seen: Any = None,
                 rating_range: tuple[float, float] | None = None, **params: Any) -> Any:
    """:meth:`MatrixFactorization.from_factors`: a fitted ``cls`` from parameters made elsewhere."""
    P = np.asarray(user_factors)
    dtype = P.dtype if P.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    # copies: the fitted arrays are made read-only, which must not freeze the caller's arrays
    P = np.array(P, dtype=dtype, order="C", copy=True)
    Q = np.array(item_factors, dtype=dtype, order="C", copy=True)
    dims = check(user_factors=(P, "users factors"), item_factors=(Q, "items factors"))
    bu = np.zeros(dims["users"], dtype) if user_bias is None else \
        np.array(user_bias, dtype=dtype, order="C", copy=True)
    bi = np.zeros(dims["items"], dtype) if item_bias is None else \
        np.array(item_bias, dtype=dtype, order="C", copy=True)
    check(user_factors=(P, "users factors"), item_factors=(Q, "items factors"),
          user_bias=(bu, "users"), item_bias=(bi, "items"))
    user_ids = np.arange(dims["users"]) if user_ids is None else user_ids
    item_ids = np.arange(dims["items"]) if item_ids is None else item_ids
    params.setdefault("factors", dims["factors"])
    params.setdefault("dtype", str(dtype))
    model = cls(**params)
    if seen is not None:
        seen = sp.csr_matrix(seen, dtype=bool)
        check(seen=(seen, "users items"), user_factors=(P, "users factors"),
              item_factors=(Q, "items factors"))
    model._set_fitted(dtype.type(global_mean), bu, bi, P, Q, user_ids, item_ids, seen=seen,
                      rating_range=rating_range or (-np.inf, np.inf))
    model.history_, model.n_epochs_, model.best_epoch_ = [], 0, 0
    return model


def set_fitted(model: Any, mu, bu, bi, P, Q, user_ids, item_ids, *, seen, rating_range,
               seen_ratings=None, implicit=None) -> None:
    """Check the fitted arrays against each other, make them read-only and set them on ``model``.

    ``user_ids``/``item_ids`` are ID arrays or :class:`IdMap` s; ``seen`` (users, items) the
    training pairs or None, ``seen_ratings`` their ratings in the order of ``seen.indices``,
    ``implicit`` SVD++'s (items, factors) y_j.
    """
    user_map = user_ids if isinstance(user_ids, IdMap) else IdMap(user_ids)
    item_map = item_ids if isinstance(item_ids, IdMap) else IdMap(item_ids)
    check(user_factors=(P, "users factors"), item_factors=(Q, "items factors"),
          user_ids=(user_map.ids, "users"), item_ids=(item_map.ids, "items"))
    if seen_ratings is not None and (seen is None or len(seen_ratings) != seen.nnz):
        raise DataError("seen_ratings must hold one rating per stored pair of seen")
    if implicit is not None:
        check(implicit_factors=(implicit, "items factors"),
              item_factors=(Q, "items factors"))
    _set_ids(model, user_map, item_map)
    for arr in (P, Q, bu, bi, seen_ratings, implicit):
        if arr is not None:
            arr.flags.writeable = False
    model.global_mean_ = mu
    model.user_bias_, model.item_bias_ = bu, bi
    model.user_factors_, model.item_factors_ = P, Q
    model.seen_ = seen
    model.seen_ratings_ = seen_ratings
    model.implicit_factors_ = implicit
    model.rating_range_ = (float(rating_range[0]), float(rating_range[1]))


def _set_ids(model: Any, user_map: IdMap, item_map: IdMap) -> None:
    model.user_map_, model.item_map_ = user_map, item_map
    model.user_ids_, model.item_ids_ = user_map.ids, item_map.ids
