"""Inputs of the ratings models: any supported ratings input -> :class:`Ratings`, and X / y pairs.

Two conventions meet here:

* the ratings path: a :class:`Ratings`, a DataFrame of (user, item, rating), a scipy.sparse
  (users, items) matrix, a ``(users, items, values)`` tuple or a file path (:func:`as_ratings`);
* scikit-learn's path: ``X`` of shape (pairs, 2) -- an array or a two-column DataFrame of
  (user ID, item ID) -- and ``y`` of shape (pairs,), the ratings (:func:`pairs_from_X`,
  :func:`ratings_from_xy`), so that ``cross_validate``, ``GridSearchCV`` and ``KFold`` can
  slice the data row by row as they do for any regressor.

This module sits under ``model.py`` and ``_spark.py`` alike (it imports neither).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError, ShapeError
from ._data import Ratings, read_ratings

__all__ = ["UnknownIdWarning", "as_ratings", "pairs_from_X", "ratings_from_xy"]


class UnknownIdWarning(UserWarning):
    """Some users or items were not in the training ratings; their predictions fell back."""


def as_ratings(data: Any, name: str = "ratings", *, dtype: Any = None) -> Ratings:
    """Turn any supported ratings input into a :class:`Ratings`.

    Accepts a :class:`Ratings`; a pandas DataFrame (columns user, item, rating, see
    :meth:`Ratings.from_dataframe`); a scipy.sparse matrix, shape (users, items), whose stored
    entries are the ratings; a ``(users, items, values)`` tuple of ID arrays; or a path to a
    delimited file (see :func:`read_ratings`).
    """
    if isinstance(data, Ratings):
        return data if dtype is None else data.astype(dtype)
    if sp.issparse(data):
        return Ratings.from_sparse(data, dtype=dtype)
    if hasattr(data, "columns") and hasattr(data, "iloc"):
        return Ratings.from_dataframe(data, dtype=dtype)
    if isinstance(data, (str, os.PathLike)):
        return read_ratings(data, dtype=dtype)
    if isinstance(data, tuple) and len(data) == 3:
        return Ratings.from_arrays(*data, dtype=dtype)
    if isinstance(data, np.ndarray) and data.ndim == 2:
        hint = (" If its two columns are (user, item) pairs, pass the ratings as y: "
                f"fit({name}, y)." if data.shape[1] == 2 else "")
        raise DataError(
            f"{name} is a dense array of shape {data.shape}; matfit fits observed ratings only. "
            f"Pass scipy.sparse.csr_matrix({name}) if its non-zeros are the ratings, or a "
            f"(users, items, values) tuple.{hint}"
        )
    raise DataError(
        f"{name} has type {type(data).__name__}; pass a Ratings, a pandas DataFrame, a "
        f"scipy.sparse matrix (users x items), a (users, items, values) tuple or a file path"
    )


def pairs_from_X(X: Any, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """(user IDs, item IDs), each shape (pairs,), from an (pairs, 2) array or DataFrame.

    Column 0 is the user and column 1 the item (a DataFrame's columns by position, whatever
    their names). Object arrays keep their IDs as they are (ints and strings may mix only
    inside one column's object array).
    """
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        if X.shape[1] != 2:
            raise ShapeError(
                f"{name} is a DataFrame with {X.shape[1]} columns {list(X.columns)}; "
                f"predict/fit(X, y) want two columns, (user, item). For a ratings table "
                f"with a rating column pass it alone: fit(df)")
        return X.iloc[:, 0].to_numpy(), X.iloc[:, 1].to_numpy()
    if sp.issparse(X):
        raise DataError(
            f"{name} is a scipy.sparse matrix: as X it must be an (pairs, 2) array of (user, "
            f"item); a (users, items) matrix of ratings goes alone: fit({name})")
    arr = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ShapeError(
            f"{name} has shape {arr.shape}; it must be (pairs, 2): column 0 the user ID, "
            f"column 1 the item ID (np.column_stack([users, items]))")
    return arr[:, 0], arr[:, 1]


def ratings_from_xy(X: Any, y: Any, *, dtype: Any = None) -> Ratings:
    """The :class:`Ratings` of scikit-learn style inputs: X (pairs, 2) of IDs, y (pairs,)."""
    if isinstance(y, (Ratings, str, os.PathLike)) or sp.issparse(y) or (
            hasattr(y, "columns") and getattr(y, "ndim", 1) == 2):
        raise DataError(
            f"fit(ratings, {type(y).__name__}): the second argument is y, the ratings of the "
            f"(user, item) pairs in X; pass held-out ratings as fit(ratings, validation=...)")
    users, items = pairs_from_X(X)
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != len(users):
        raise ShapeError(
            f"y has shape {values.shape} but X has {len(users)} rows: y must hold one rating "
            f"per (user, item) row of X, shape ({len(users)},)")
    return Ratings.from_arrays(users, items, values, dtype=dtype)
