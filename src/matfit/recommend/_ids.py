"""User/item IDs of any hashable type <-> dense indices 0..n-1.

Implementation notes
--------------------
IDs are normalised once, at the boundary, into one of three kinds:

* ``int``: every ID is an integer (NumPy integer arrays, Python ints, integral floats from a
  pandas column with missing-value upcasting); stored as int64, sorted.
* ``str``: every ID is a string; stored as a NumPy unicode array, sorted.
* ``object``: anything else hashable (tuples, mixes of ints and strings, ...); kept in order of
  first appearance in an object array, looked up through a dict. These work in memory but
  cannot be saved (no pickle): :func:`matfit.recommend.MatrixFactorization.save` says so.

Sorted ``int``/``str`` maps are looked up with :func:`numpy.searchsorted`, so mapping millions of
IDs costs one vectorised pass, never a Python loop. Floats that are not integral are IDs of kind
``object`` (a rating matrix keyed by 0.5 is almost certainly a mistake, but it is hashable).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DataError

__all__ = ["IdMap", "factorize_ids", "show_id"]


def show_id(value: Any) -> str:
    """An ID as a person would write it: ``1``, ``'alice'`` (not ``np.int64(1)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _as_id_array(ids: Any, name: str) -> np.ndarray:
    """One 1-D array of IDs, converted to int64 / unicode / object (see the module notes)."""
    if isinstance(ids, np.ndarray):
        arr = ids
    elif hasattr(ids, "to_numpy"):  # pandas Series / Index, without importing pandas
        arr = ids.to_numpy()
    else:
        arr = np.empty(len(ids), dtype=object)
        arr[:] = list(ids)
    if arr.ndim != 1:
        raise DataError(f"{name} must be a 1-D sequence of IDs, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iub":
        return arr.astype(np.int64, copy=False)
    if kind == "U":
        return arr
    if kind == "S":
        return arr.astype(str)
    if kind == "f":
        if not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise DataError(
                f"{name}[{bad}] is {show_id(arr[bad])}: an ID must not be missing (NaN) or "
                f"infinite. Drop the rows without an ID first, e.g. df.dropna(subset=[...])."
            )
        if np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
            return arr.astype(np.int64)
        return arr.astype(object)
    if kind != "O":
        raise DataError(f"{name} has dtype {arr.dtype}, which cannot hold IDs: use ints or strings")
    if len(arr) == 0:
        return np.zeros(0, dtype=np.int64)
    types = set(map(type, arr))
    if all(issubclass(t, (int, np.integer)) and not issubclass(t, bool) for t in types):
        return arr.astype(np.int64)
    if all(issubclass(t, str) for t in types):
        return arr.astype(str)
    for i, v in enumerate(arr):
        if v is None or (isinstance(v, float) and v != v):
            raise DataError(
                f"{name}[{i}] is {v!r}: an ID must not be missing. Drop the rows without an ID."
            )
        try:
            hash(v)
        except TypeError:
            raise DataError(
                f"{name}[{i}] is {v!r} of type {type(v).__name__}, which is not hashable and "
                f"cannot be an ID: use ints or strings."
            ) from None
    return arr


def factorize_ids(ids: Any, name: str) -> tuple[np.ndarray, IdMap]:
    """Codes (int64, one per entry) and the :class:`IdMap` of the distinct IDs."""
    arr = _as_id_array(ids, name)
    if arr.dtype.kind != "O":
        uniq, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64, copy=False).reshape(-1), IdMap(uniq)
    table: dict[Any, int] = {}
    codes = np.fromiter((table.setdefault(v, len(table)) for v in arr), dtype=np.int64,
                        count=len(arr))
    uniq = np.empty(len(table), dtype=object)
    uniq[:] = list(table)
    return codes, IdMap(uniq)


class IdMap:
    """The distinct IDs of one side (users or items), in index order.

    Parameters
    ----------
    ids : ndarray, shape (n,)
        Distinct IDs; index ``j`` stands for ``ids[j]``. int64 or unicode arrays are kept sorted
        for vectorised look-ups; an object array may be in any order.
    """

    __slots__ = ("_order", "_sorted", "_table", "ids")

    def __init__(self, ids: np.ndarray) -> None:
        ids = _as_id_array(ids, "ids")
        self.ids = ids
        self._table: dict[Any, int] | None = None
        self._order: np.ndarray | None = None  # sorting permutation when ids are not sorted
        self._sorted = ids
        if ids.dtype.kind == "O":
            self._table = {v: j for j, v in enumerate(ids)}
            if len(self._table) != len(ids):
                raise DataError(f"IDs must be distinct, but {len(ids) - len(self._table)} repeat")
        elif len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            self._order = np.argsort(ids, kind="stable")
            self._sorted = ids[self._order]
            repeats = int(np.count_nonzero(self._sorted[1:] == self._sorted[:-1]))
            if repeats:
                raise DataError(f"IDs must be distinct, but {repeats} repeat")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def kind(self) -> str:
        """``"int"``, ``"str"`` or ``"object"``."""
        return {"i": "int", "U": "str"}.get(self.ids.dtype.kind, "object")

    def lookup(self, query: Any) -> np.ndarray:
        """Index of each queried ID, -1 where the ID is unknown.

        Parameters
        ----------
        query : list, tuple, ndarray or pandas Series of IDs, shape (n,), or one ID
            A tuple is read as a sequence of IDs: look up one tuple ID as ``[(2, 3)]``.

        Returns
        -------
        ndarray of int64, shape (n,)
        """
        if isinstance(query, np.ndarray):
            query = np.atleast_1d(query)
        elif not isinstance(query, (list, tuple, range)) and not hasattr(query, "to_numpy"):
            query = [query]  # one ID (a tuple is a sequence of IDs: pass [(2, 3)] for one)
        q = _as_id_array(query, "query")
        out = np.full(len(q), -1, dtype=np.int64)
        if len(self.ids) == 0 or len(q) == 0:
            return out
        if self._table is not None:
            for n, v in enumerate(q):
                out[n] = self._table.get(v.item() if isinstance(v, np.generic) else v, -1)
            return out
        q, valid = _coerce_query(q, self.ids.dtype)
        ref = self._sorted
        pos = np.minimum(np.searchsorted(ref, q), len(ref) - 1)
        hit = (ref[pos] == q) & valid
        out[hit] = pos[hit] if self._order is None else self._order[pos[hit]]
        return out

    def __getitem__(self, index: Any) -> Any:
        return self.ids[index]

    def __repr__(self) -> str:
        return f"IdMap({len(self)} {self.kind} ids)"


def _coerce_query(q: np.ndarray, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The queried IDs in the map's dtype, and which of them could be converted at all."""
    valid = np.ones(len(q), dtype=bool)
    if q.dtype.kind == dtype.kind:
        return q, valid
    if dtype.kind == "U" and q.dtype.kind == "i":
        return q.astype(str), valid
    # a str or object query against an int map (IDs typed on a command line are strings: "196"
    # finds the integer user 196), or an object query against a str map: convert what can be
    # converted, element-wise
    out = np.zeros(len(q), dtype=dtype)
    for n, v in enumerate(q):
        if dtype.kind == "i":
            value = None
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                value = int(v) if _INT64_MIN <= v <= _INT64_MAX else None
            elif isinstance(v, str):
                value = _canonical_int(v)
            if value is None:
                valid[n] = False
            else:
                out[n] = value
        elif isinstance(v, (str, int, np.integer)) and not isinstance(v, bool):
            text = str(v)
            if len(text) > dtype.itemsize // 4:  # longer than every known ID: storing it in
                valid[n] = False                 # the map's fixed-width dtype would truncate it
            else:
                out[n] = text
        else:
            valid[n] = False
    return out, valid


_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


def _canonical_int(text: str) -> int | None:
    """The int64 that ``text`` spells in canonical decimal ("196", "-5"), else None.

    "07", "+7", " 7", "--5", "\u00b2" (a superscript two) and numbers beyond int64 spell no
    ID: they would otherwise find a different ID or fail to convert.
    """
    try:
        value = int(text)
    except ValueError:
        return None
    if str(value) != text or not _INT64_MIN <= value <= _INT64_MAX:
        return None
    return value
