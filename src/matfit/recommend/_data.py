"""Explicit ratings: the :class:`Ratings` container, its readers and its train/test splits.

The parsing of delimited files (separator, header, columns, the fast and the line-numbered
parser) is in ``_delimited``; :func:`read_ratings` hands it the :class:`Ratings` constructor.

Implementation notes
--------------------
A :class:`Ratings` is three parallel arrays -- ``users`` and ``items`` (int64 indices) and
``values`` (float32/float64) -- plus one :class:`~matfit.recommend._ids.IdMap` per side that
turns an index back into the caller's ID. Memory is O(ratings + users + items): nothing here ever
forms a users x items array. Every constructor funnels into :meth:`Ratings.from_indices`, which
checks the values (finite numbers) and resolves repeated (user, item) pairs once.

Duplicates are found by sorting the int64 key ``user * n_items + item``; ``"mean"`` averages a
pair's ratings, ``"last"`` keeps the one that came last in the input (the usual meaning when a
log is replayed in time order), ``"error"`` (the default) names the first repeated pair.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._errors import DataError, InvalidParameterError
from ..shapes import as_float_array
from ._delimited import _pick_columns, read_delimited
from ._ids import IdMap, factorize_ids, show_id

__all__ = ["Ratings", "leave_k_out", "read_ratings", "train_test_split"]

Duplicates = Literal["error", "mean", "last"]
_DUPLICATES = ("error", "mean", "last")


def _check_duplicates_option(duplicates: str) -> None:
    if duplicates not in _DUPLICATES:
        raise InvalidParameterError(
            f"duplicates={duplicates!r}: must be one of {list(_DUPLICATES)}"
        )


class Ratings:
    """Observed (user, item, rating) triples with their user/item ID maps.

    Build one with :meth:`from_arrays` (IDs of any hashable type), :meth:`from_dataframe`,
    :meth:`from_sparse`, :meth:`read` (a delimited file) or :meth:`from_indices` (indices that are
    already 0..n-1). Memory is O(ratings + users + items).

    Attributes
    ----------
    users, items : ndarray of int64, shape (ratings,)
        Index of each rating's user in ``0..n_users-1`` and item in ``0..n_items-1``.
    values : ndarray of float32 or float64, shape (ratings,)
        The ratings, all finite.
    user_ids, item_ids : ndarray, shape (users,) and (items,)
        The ID behind each index: ``user_ids[users[n]]`` is the user of rating ``n``. int64 or
        unicode arrays (sorted) for integer or string IDs; object arrays for other hashables.
    user_map, item_map : IdMap
        The same IDs with vectorised look-up: ``user_map.lookup(["alice"])`` -> ``[index]`` (or
        ``-1`` when unknown).
    n_users, n_items : int
        Number of distinct users and items (some may have no rating after a split).

    Examples
    --------
    >>> r = Ratings.from_arrays(["ann", "bob", "ann"], [10, 10, 20], [4.0, 3.0, 5.0])
    >>> r.n_users, r.n_items, len(r)
    (2, 2, 3)
    >>> r.user_ids[r.users].tolist(), r.item_ids[r.items].tolist()
    (['ann', 'bob', 'ann'], [10, 10, 20])
    """

    __slots__ = ("item_map", "items", "user_map", "users", "values")

    def __init__(self, users: np.ndarray, items: np.ndarray, values: np.ndarray,
                 user_map: IdMap, item_map: IdMap) -> None:
        # private: callers go through the from_* constructors, which validate
        self.users, self.items, self.values = users, items, values
        self.user_map, self.item_map = user_map, item_map

    # ----------------------------------------------------------------------------- constructors
    @classmethod
    def from_indices(
        cls,
        users: Any,
        items: Any,
        values: Any,
        *,
        user_ids: Any = None,
        item_ids: Any = None,
        n_users: int | None = None,
        n_items: int | None = None,
        duplicates: Duplicates = "error",
        dtype: Any = None,
    ) -> Ratings:
        """Ratings whose users and items are already indices ``0..n-1``.

        Parameters
        ----------
        users, items : array_like of int, shape (ratings,)
        values : array_like of float, shape (ratings,)
        user_ids, item_ids : array_like, shape (users,) and (items,), optional
            The ID of each index (default: the index itself).
        n_users, n_items : int, optional
            Number of users/items (default: ``len(user_ids)``, else ``max(index) + 1``).
        duplicates : {"error", "mean", "last"}
            What to do with a (user, item) pair rated more than once.
        dtype : {None, np.float32, np.float64}
            dtype of ``values`` (None keeps float32/float64, else float64).

        Raises
        ------
        DataError
            If a value is NaN/inf, an index is negative or too large, or a pair repeats with
            ``duplicates="error"``.
        """
        _check_duplicates_option(duplicates)
        vals = as_float_array(values, "ratings", dims="ratings", dtype=dtype,
                              purpose="every rating must be a finite number")
        u = _as_index(users, "users", len(vals))
        i = _as_index(items, "items", len(vals))
        user_map = _index_map(user_ids, n_users, u, "users", "user_ids", "n_users")
        item_map = _index_map(item_ids, n_items, i, "items", "item_ids", "n_items")
        u, i, vals = _resolve_duplicates(u, i, vals, user_map, item_map, duplicates)
        return cls(u, i, vals, user_map, item_map)

    @classmethod
    def from_arrays(
        cls,
        users: Any,
        items: Any,
        values: Any,
        *,
        duplicates: Duplicates = "error",
        dtype: Any = None,
    ) -> Ratings:
        """Ratings from parallel sequences of user IDs, item IDs and ratings.

        Parameters
        ----------
        users, items : sequence, shape (ratings,)
            IDs of any hashable type (ints and strings can be saved with a model).
        values : array_like of float, shape (ratings,)
        duplicates : {"error", "mean", "last"}
            What to do with a (user, item) pair rated more than once.
        dtype : {None, np.float32, np.float64}
        """
        _check_duplicates_option(duplicates)
        n = len(values)
        for name, seq in (("users", users), ("items", items)):
            if len(seq) != n:
                raise DataError(
                    f"users, items and values must have one entry per rating, but {name} has "
                    f"{len(seq)} and values has {n}"
                )
        u, user_map = factorize_ids(users, "users")
        i, item_map = factorize_ids(items, "items")
        return cls.from_indices(u, i, values, user_ids=user_map, item_ids=item_map,
                                duplicates=duplicates, dtype=dtype)

    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        *,
        columns: Sequence[str] | str | None = None,
        duplicates: Duplicates = "error",
        dtype: Any = None,
    ) -> Ratings:
        """Ratings from a pandas DataFrame (pandas is imported by the caller, never by matfit).

        Parameters
        ----------
        df : pandas.DataFrame
        columns : three column names (user, item, rating), or ``"user,item,rating"``
            Default: the first columns whose names look like a user, an item and a rating
            (``user``/``userId``/``user_id``, ``item``/``movieId``/..., ``rating``/``score``),
            else the first three columns.
        duplicates : {"error", "mean", "last"}
        dtype : {None, np.float32, np.float64}
        """
        names = [str(c) for c in df.columns]
        picked = _pick_columns(names, columns, source="the DataFrame")
        cols = [df.columns[j] for j in picked]
        values = df[cols[2]].to_numpy()
        if values.dtype.kind not in "biuf":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError(
                    f"column {cols[2]!r} holds non-numeric ratings (dtype {values.dtype}): "
                    f"convert it with pd.to_numeric(df[{cols[2]!r}]) first"
                ) from None
        return cls.from_arrays(df[cols[0]], df[cols[1]], values, duplicates=duplicates,
                               dtype=dtype)

    @classmethod
    def from_sparse(
        cls,
        matrix: Any,
        *,
        user_ids: Any = None,
        item_ids: Any = None,
        duplicates: Duplicates = "error",
        dtype: Any = None,
    ) -> Ratings:
        """Ratings from a scipy.sparse matrix, shape (users, items): its stored entries.

        Every *stored* entry is an observed rating, explicit zeros included; entries that are not
        stored are unobserved (not zero). Repeated coordinates in a COO matrix are duplicates
        (scipy would sum them: pass ``duplicates="mean"`` or ``"last"`` to choose).

        Parameters
        ----------
        matrix : scipy.sparse matrix or array, shape (users, items)
        user_ids, item_ids : array_like, shape (users,) and (items,), optional
            The ID of each row and column (default: the row and column numbers).
        duplicates : {"error", "mean", "last"}
        dtype : {None, np.float32, np.float64}
        """
        if not sp.issparse(matrix):
            raise DataError(
                f"matrix must be a scipy.sparse matrix, got {type(matrix).__name__}: use "
                f"Ratings.from_arrays(users, items, values) for arrays"
            )
        coo = matrix.tocoo()
        n_users, n_items = coo.shape
        return cls.from_indices(coo.row, coo.col, coo.data, user_ids=user_ids, item_ids=item_ids,
                                n_users=n_users, n_items=n_items, duplicates=duplicates,
                                dtype=dtype)

    @classmethod
    def read(cls, path: str | os.PathLike, **options: Any) -> Ratings:
        """Read a delimited ratings file: see :func:`read_ratings` for the options."""
        return read_ratings(path, **options)

    # ---------------------------------------------------------------------------------- views
    @property
    def n_users(self) -> int:
        """Number of distinct users."""
        return len(self.user_map)

    @property
    def n_items(self) -> int:
        """Number of distinct items."""
        return len(self.item_map)

    @property
    def user_ids(self) -> np.ndarray:
        """The ID of each user index, shape (users,)."""
        return self.user_map.ids

    @property
    def item_ids(self) -> np.ndarray:
        """The ID of each item index, shape (items,)."""
        return self.item_map.ids

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return (f"Ratings({len(self):,} ratings, {self.n_users:,} users, {self.n_items:,} items, "
                f"{self.values.dtype})")

    def user_counts(self) -> np.ndarray:
        """Number of ratings of each user, shape (users,)."""
        return np.bincount(self.users, minlength=self.n_users)

    def item_counts(self) -> np.ndarray:
        """Number of ratings of each item, shape (items,)."""
        return np.bincount(self.items, minlength=self.n_items)

    def to_csr(self) -> sp.csr_matrix:
        """The ratings as a sparse matrix, shape (users, items) (unobserved = not stored)."""
        return sp.csr_matrix((self.values, (self.users, self.items)),
                             shape=(self.n_users, self.n_items))

    def to_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(user IDs, item IDs, values), each shape (ratings,): the inverse of from_arrays."""
        return self.user_ids[self.users], self.item_ids[self.items], self.values

    def subset(self, index: Any) -> Ratings:
        """The ratings selected by a boolean mask or an index array; the ID maps are shared."""
        index = np.asarray(index)
        return Ratings(self.users[index], self.items[index], self.values[index], self.user_map,
                       self.item_map)

    def astype(self, dtype: Any) -> Ratings:
        """The same ratings with values of another float dtype."""
        if self.values.dtype == np.dtype(dtype):
            return self
        return Ratings(self.users, self.items, self.values.astype(dtype), self.user_map,
                       self.item_map)

    def compact(self) -> Ratings:
        """The same ratings with the users and items that have no rating dropped from the maps."""
        used_u = np.zeros(self.n_users, dtype=bool)
        used_i = np.zeros(self.n_items, dtype=bool)
        used_u[self.users] = True
        used_i[self.items] = True
        if used_u.all() and used_i.all():
            return self
        new_u = np.cumsum(used_u) - 1
        new_i = np.cumsum(used_i) - 1
        return Ratings(new_u[self.users], new_i[self.items], self.values,
                       IdMap(self.user_ids[used_u]), IdMap(self.item_ids[used_i]))

    def reindex(self, user_map: IdMap, item_map: IdMap) -> tuple[np.ndarray, np.ndarray]:
        """Indices of these ratings' users and items in other maps (-1 where unknown there)."""
        if user_map is self.user_map:
            u = self.users
        else:
            u = user_map.lookup(self.user_ids)[self.users]
        if item_map is self.item_map:
            i = self.items
        else:
            i = item_map.lookup(self.item_ids)[self.items]
        return u, i


# --------------------------------------------------------------------------------- internals
def _as_index(x: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(
            f"{name} must have one entry per rating ({n}), got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iub":
        if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise DataError(
                f"{name} must be integer indices 0..n-1, got dtype {arr.dtype}: use "
                f"Ratings.from_arrays for IDs of other types"
            )
    arr = arr.astype(np.int64, copy=False)
    if n and arr.min() < 0:
        k = int(np.argmin(arr))
        raise DataError(f"{name}[{k}] = {arr[k]} is negative: indices run from 0 to n-1")
    return arr


def _index_map(ids: Any, n: int | None, idx: np.ndarray, side: str, ids_name: str,
               n_name: str) -> IdMap:
    top = int(idx.max()) + 1 if len(idx) else 0
    if ids is not None:
        ids_map = ids if isinstance(ids, IdMap) else IdMap(ids)
        if n is not None and n != len(ids_map):
            raise DataError(f"{n_name}={n} but {ids_name} has {len(ids_map)} entries")
        n = len(ids_map)
    if n is None:
        n = top
    if top > n:
        k = int(np.argmax(idx))
        raise DataError(
            f"{side}[{k}] = {idx[k]} but there are only {n} {side} ({n_name}): indices must be "
            f"below {n}"
        )
    if ids is None:
        return IdMap(np.arange(n, dtype=np.int64))
    return ids_map


def _resolve_duplicates(u: np.ndarray, i: np.ndarray, vals: np.ndarray, user_map: IdMap,
                        item_map: IdMap, duplicates: str) -> tuple[np.ndarray, ...]:
    if len(vals) < 2:
        return u, i, vals
    key = u * np.int64(max(len(item_map), 1)) + i
    if np.all(key[1:] > key[:-1]):  # already sorted and distinct (CSR order): nothing to do
        return u, i, vals
    order = np.argsort(key, kind="stable")
    skey = key[order]
    repeat = skey[1:] == skey[:-1]
    if not repeat.any():
        return u, i, vals
    if duplicates == "error":
        j = int(np.flatnonzero(repeat)[0])
        first, second = sorted((int(order[j]), int(order[j + 1])))
        n_dup = int(repeat.sum())
        raise DataError(
            f"user {show_id(user_map.ids[u[first]])} rated item {show_id(item_map.ids[i[first]])} "
            f"more than "
            f"once (ratings {first} and {second}; {n_dup} repeated pair(s) in all): pass "
            f"duplicates='mean' or 'last' (command line: --duplicates mean|last), or remove "
            f"the repeats"
        )
    starts = np.flatnonzero(np.concatenate(([True], ~repeat)))
    keep = order[starts]
    if duplicates == "mean":
        sums = np.add.reduceat(vals[order].astype(np.float64), starts)
        counts = np.diff(np.append(starts, len(order)))
        new_vals = (sums / counts).astype(vals.dtype)
    else:  # "last": stable sort keeps input order within a group, so take each group's end
        ends = np.append(starts[1:], len(order)) - 1
        new_vals = vals[order[ends]]
    return u[keep], i[keep], new_vals


# ------------------------------------------------------------------------------------- files
def read_ratings(
    path: str | os.PathLike,
    *,
    sep: str | None = None,
    columns: Sequence[str | int] | str | None = None,
    header: bool | None = None,
    duplicates: Duplicates = "error",
    dtype: Any = None,
) -> Ratings:
    """Read (user, item, rating) triples from a delimited text file.

    Parameters
    ----------
    path : str or path
        ``.csv``, ``.tsv``, MovieLens ``.dat`` (``::``-separated) or any delimited text such as
        MovieLens 100K's ``u.data`` (tab-separated, no header). Extra columns (timestamps) are
        ignored.
    sep : str, optional
        Field separator; default: sniffed from the first line (``::``, tab, ``,``, ``;``, ``|``,
        else whitespace). ``"\\t"`` may be written as the two characters backslash-t.
    columns : three names or 0-based positions, or ``"user,item,rating"``, optional
        Which columns hold the user, item and rating. Names need a header line. Default: the
        header's user/item/rating-like names, else the first three columns.
    header : bool, optional
        Whether the first line names the columns; default: detected (a first line with no
        number in it, or whose rating field given by position is not a number, is a header).
    duplicates : {"error", "mean", "last"}
    dtype : {None, np.float32, np.float64}

    Returns
    -------
    Ratings
        User and item IDs are int64 when every ID in the file is a plain integer, else strings.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    DataError
        If the file holds no ratings, a line has too few fields or a rating that is not a finite
        number (the message gives the line number), or a pair repeats (``duplicates="error"``).
    """
    _check_duplicates_option(duplicates)

    def build(users: np.ndarray, items: np.ndarray, values: np.ndarray) -> Ratings:
        return Ratings.from_arrays(users, items, values, duplicates=duplicates, dtype=dtype)

    return read_delimited(path, build, sep=sep, columns=columns, header=header)


# ------------------------------------------------------------------------------------ splits
def train_test_split(
    ratings: Ratings, test_size: float = 0.2, *, seed: int | None = None
) -> tuple[Ratings, Ratings]:
    """Random split of the ratings into a training and a test part.

    Parameters
    ----------
    ratings : Ratings
    test_size : float in (0, 1), or int
        Fraction of the ratings (or, as an int >= 1, their number) that go to the test part.
    seed : int, optional

    Returns
    -------
    train, test : Ratings
        Both keep the full ID maps, so indices agree; each keeps the input's order.
    """
    n = len(ratings)
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool) \
            and test_size >= 1:
        n_test = int(test_size)
    elif 0 < float(test_size) < 1:
        n_test = round(float(test_size) * n)
    else:
        raise InvalidParameterError(
            f"train_test_split(test_size={test_size!r}): must be a fraction in (0, 1) or a "
            f"count >= 1"
        )
    if n_test >= n:
        raise InvalidParameterError(
            f"train_test_split(test_size={test_size!r}) leaves no training ratings out of {n}"
        )
    perm = np.random.default_rng(seed).permutation(n)
    test = np.zeros(n, dtype=bool)
    test[perm[:n_test]] = True
    return ratings.subset(~test), ratings.subset(test)


def leave_k_out(
    ratings: Ratings, k: int = 1, *, seed: int | None = None
) -> tuple[Ratings, Ratings]:
    """Hold out ``k`` random ratings of every user who has more than ``k``.

    Users with ``k`` or fewer ratings stay whole in the training part, so every test user is
    known to a model fitted on the training part.

    Returns
    -------
    train, test : Ratings
        Both keep the full ID maps.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InvalidParameterError(f"leave_k_out(k={k!r}): must be an int >= 1")
    rng = np.random.default_rng(seed)
    n = len(ratings)
    order = np.lexsort((rng.random(n), ratings.users))  # by user, random within a user
    counts = ratings.user_counts()
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(n) - np.repeat(starts, counts)
    test = np.zeros(n, dtype=bool)
    sel = (rank < k) & (counts[ratings.users[order]] > k)
    test[order[sel]] = True
    return ratings.subset(~test), ratings.subset(test)
