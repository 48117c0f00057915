r"""Fold-in and partial fits: exact ALS steps on the rows that new ratings touch, nothing else.

Fold-in (Koren's "folding in", Hu et al.'s user update) of a user absent from the model solves
one ALS user step with every item fixed:

.. math::

    (Y_u^\top Y_u + w_u \operatorname{diag}(\lambda, \dots, \lambda, \lambda_b))\, [p_u, b_u]
        = Y_u^\top (r_u - \mu - b_{I_u}), \qquad Y_u = [Q_{I_u}, 1]

with the weights and penalties of the objective the model was fitted with
(:func:`~matfit.recommend._config.objective_terms`); items fold in the same way with the users
fixed. For an SVD++ model the user's implicit term
:math:`z_u = |N(u)|^{-1/2} \sum_{j \in N(u)} y_j` is fixed with the items, the solve runs on
:math:`r - \mu - b_i - q_i \cdot z_u` and the stored factor is :math:`p_u + z_u`.

A partial fit merges new ratings into the model's training ratings (a repeated pair takes the
new rating), then alternates exact solves of the affected users (those in the new ratings)
with the items fixed and of the affected items with the users fixed; every other row keeps its
values bit for bit, and each solve is the exact minimiser of the objective over its block, so
the objective never rises. The global mean μ stays fixed.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from .._errors import DataError, InvalidParameterError
from .._estimator import check_is_fitted
from . import _als, _config
from ._ids import IdMap, show_id
from ._inputs import UnknownIdWarning, as_ratings

__all__ = ["FoldIn", "fold_in", "merge_ratings", "partial_fit", "solve_rows"]


class FoldIn(NamedTuple):
    """Parameters of rows folded into a model.

    Attributes
    ----------
    ids : ndarray, shape (rows,)
        The new users' (or items') IDs.
    bias : ndarray, shape (rows,)
        b_u (zeros for a model without biases).
    factors : ndarray, shape (rows, factors)
        p_u (for SVD++ the effective p_u + z_u that predictions use).
    ignored : int
        Ratings that could not be used: their item (user) is unknown to the model.
    """

    ids: np.ndarray
    bias: np.ndarray
    factors: np.ndarray
    ignored: int


def solve_rows(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int,
               fixed: np.ndarray, fixed_bias: np.ndarray | None, mu: float, weighting: str,
               reg: float, reg_bias: float | None, *, offset: np.ndarray | None = None,
               n_threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """One exact ALS step for rows ``0..n_rows-1`` with the other side fixed.

    Parameters
    ----------
    rows, cols : ndarray of int, shape (ratings,)
        This side's row (0..n_rows-1) and the fixed side's row of each rating.
    values : ndarray, shape (ratings,)
    n_rows : int
    fixed : ndarray, shape (others, factors)
    fixed_bias : ndarray, shape (others,), or None without biases
    mu : float
    weighting, reg, reg_bias
        The objective's terms (``reg_bias`` None without biases).
    offset : ndarray, shape (n_rows, factors), optional
        A fixed part of each row's factor (SVD++'s implicit term): solved around, added back.

    Returns
    -------
    factors : ndarray, shape (n_rows, factors)
    bias : ndarray, shape (n_rows,)
        Rows without a rating get zeros.
    """
    dtype = fixed.dtype
    k = fixed.shape[1]
    target = values.astype(dtype, copy=True)
    if offset is not None:
        target -= np.einsum("nk,nk->n", offset[rows], fixed[cols])
    plan = _als.build_side(rows, cols, target, n_rows, len(fixed),
                           factors=k + (fixed_bias is not None))
    lam = _als.penalties(plan.counts, weighting, reg, reg_bias, k)
    F = np.zeros((n_rows, k), dtype=dtype)
    b = np.zeros(n_rows, dtype=dtype)
    with _als.blas_single_thread():
        _als.als_half_step(plan, fixed, fixed_bias, mu, lam, F,
                           b if fixed_bias is not None else None, n_threads=n_threads)
    if offset is not None:
        F += offset
    return F, b


def merge_ratings(seen: sp.csr_matrix, values: np.ndarray | None, users: np.ndarray,
                  items: np.ndarray, new_values: np.ndarray, shape: tuple[int, int]
                  ) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """The training structure (and ratings) with new (user, item, value) triples merged in.

    ``seen`` is the boolean CSR of the training pairs and ``values`` its ratings in CSR order
    (None when the model does not keep them: only the structure is merged then). A pair
    present in both takes the new value. Explicit zero ratings stay stored.

    Returns
    -------
    seen : csr_matrix of bool, shape ``shape``
    values : ndarray, shape (pairs,), aligned with ``seen.indices``, or None
    """
    n_users, n_items = shape
    if seen.nnz == 0:
        return csr_of(users, items, new_values, shape, dtype=None if values is None
                      else values.dtype, keep_values=values is not None)
    old_rows = np.repeat(np.arange(seen.shape[0], dtype=np.int64), np.diff(seen.indptr))
    old_cols = seen.indices.astype(np.int64)
    key_old = old_rows * n_items + old_cols
    key_new = users.astype(np.int64) * n_items + items
    keep = ~np.isin(key_old, key_new)
    rows = np.concatenate([old_rows[keep], users])
    cols = np.concatenate([old_cols[keep], items])
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
    merged = sp.csr_matrix((np.ones(len(cols), dtype=bool), cols.astype(np.int32), indptr),
                           shape=shape)
    merged_values = None
    if values is not None:
        merged_values = np.concatenate([values[keep], new_values.astype(values.dtype)])[order]
    return merged, merged_values


def csr_of(users: np.ndarray, items: np.ndarray, values: np.ndarray, shape: tuple[int, int], *,
           dtype: Any = None, keep_values: bool = True
           ) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Boolean CSR of distinct (user, item) pairs, sorted, and the values in its order."""
    n_users, n_items = shape
    order = np.argsort(users.astype(np.int64) * n_items + items, kind="stable")
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    indices = items[order].astype(np.int32)
    seen = sp.csr_matrix((np.ones(len(indices), dtype=bool), indices, indptr), shape=shape)
    if not keep_values:
        return seen, None
    return seen, values[order].astype(dtype or values.dtype, copy=False)


def rows_of(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, wanted: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of CSR rows ``wanted``: (position of the row in wanted, column, value)."""
    counts = np.diff(indptr)[wanted]
    starts = indptr[wanted]
    local = np.repeat(np.arange(len(wanted)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.repeat(starts, counts) + offsets
    return local, indices[pos].astype(np.int64), data[pos]


def fold_in(model: Any, ratings: Any, *, side: str, update: bool) -> FoldIn:
    """:meth:`MatrixFactorization.fold_in` (see there)."""
    check_is_fitted(model, "user_factors_")
    if side not in ("users", "items"):
        raise InvalidParameterError(f"fold_in(side={side!r}): must be 'users' or 'items'")
    p = model._resolved()
    weighting, reg, reg_bias = _config.objective_terms(model, p)
    dtype = model.user_factors_.dtype
    r = as_ratings(ratings, dtype=dtype).compact()
    users_side = side == "users"
    own_map, other_map = ((model.user_map_, model.item_map_) if users_side
                          else (model.item_map_, model.user_map_))
    own_ids = r.user_ids if users_side else r.item_ids
    own_rows = r.users if users_side else r.items
    other = other_map.lookup(r.item_ids if users_side else r.user_ids)[
        r.items if users_side else r.users]
    known = own_map.lookup(own_ids) >= 0
    if known.any():
        first = show_id(own_ids[np.flatnonzero(known)[0]])
        raise DataError(
            f"fold_in(side={side!r}): {int(known.sum())} of the {len(own_ids)} {side} are "
            f"already in the model (e.g. {first}); fold-in adds new {side} only: update "
            f"known ones with partial_fit(ratings)")
    usable = other >= 0
    ignored = int(np.count_nonzero(~usable))
    if ignored:
        warnings.warn(
            f"fold_in: {ignored} of {len(r)} ratings are of "
            f"{'items' if users_side else 'users'} unknown to the model and were skipped",
            UnknownIdWarning, stacklevel=3)  # the caller of MatrixFactorization.fold_in
    rows, cols = own_rows[usable], other[usable]
    vals = r.values[usable]
    fixed = model.item_factors_ if users_side else model.user_factors_
    fixed_bias = (model.item_bias_ if users_side else model.user_bias_) if model.biases \
        else None
    offset = None
    Y = getattr(model, "implicit_factors_", None)
    if Y is not None and users_side:  # SVD++: the implicit term moves with the items
        counts = np.bincount(rows, minlength=len(own_ids))
        offset = np.zeros((len(own_ids), fixed.shape[1]), dtype=dtype)
        np.add.at(offset, rows, Y[cols])
        offset /= np.sqrt(np.maximum(counts, 1))[:, None].astype(dtype)
    F, b = solve_rows(rows, cols, vals, len(own_ids), fixed, fixed_bias,
                      float(model.global_mean_), weighting, reg, reg_bias, offset=offset,
                      n_threads=p["n_threads"])
    out = FoldIn(own_ids, b, F, ignored)
    if update:
        _append(model, out, side, rows, cols, vals)
    return out


def _append(model: Any, new: FoldIn, side: str, rows: np.ndarray, cols: np.ndarray,
            vals: np.ndarray) -> None:
    """Add folded-in rows (and their ratings) to the model's fitted arrays."""
    users_side = side == "users"
    P, Q, bu, bi = model.user_factors_, model.item_factors_, model.user_bias_, model.item_bias_
    Y = getattr(model, "implicit_factors_", None)
    n_users, n_items = len(P), len(Q)
    if users_side:
        P, bu = np.vstack([P, new.factors]), np.concatenate([bu, new.bias])
        umap, imap = IdMap(_join_ids(model.user_ids_, new.ids)), model.item_map_
        u, i = rows + n_users, cols
    else:
        Q, bi = np.vstack([Q, new.factors]), np.concatenate([bi, new.bias])
        if Y is not None:
            Y = np.vstack([Y, np.zeros_like(new.factors)])
        umap, imap = model.user_map_, IdMap(_join_ids(model.item_ids_, new.ids))
        u, i = cols, rows + n_items
    seen, seen_ratings = model.seen_, getattr(model, "seen_ratings_", None)
    if seen is not None:
        seen, seen_ratings = merge_ratings(seen, seen_ratings, u, i, vals, (len(P), len(Q)))
    model._set_fitted(model.global_mean_, bu, bi, P, Q, umap, imap, seen=seen,
                      rating_range=model.rating_range_, seen_ratings=seen_ratings, implicit=Y)


def partial_fit(model: Any, ratings: Any, *, epochs: int) -> Any:
    """:meth:`MatrixFactorization.partial_fit` (see there)."""
    check_is_fitted(model, "user_factors_")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise InvalidParameterError(f"partial_fit(epochs={epochs!r}): must be an int >= 1")
    if getattr(model, "implicit_factors_", None) is not None:
        raise InvalidParameterError(
            "partial_fit: an SVD++ model (solver='svdpp') cannot be updated in part, its "
            "implicit factors move every user; refit it, or fold_in new users")
    if model.seen_ is None or getattr(model, "seen_ratings_", None) is None:
        raise DataError(
            "partial_fit needs the model's training ratings, which this model does not "
            "keep (built by from_factors, by the Spark engine, or saved without them): "
            "refit with fit(), or add new users with fold_in()")
    p = model._resolved()
    weighting, reg, reg_bias = _config.objective_terms(model, p)
    dtype = model.user_factors_.dtype
    r = as_ratings(ratings, dtype=dtype).compact()
    if len(r) == 0:
        return model
    umap, u = _extend(model.user_map_, r.user_ids)
    imap, i = _extend(model.item_map_, r.item_ids)
    u, i = u[r.users], i[r.items]
    n_users, n_items = len(umap), len(imap)
    k = model.user_factors_.shape[1]
    P = _grow(model.user_factors_, n_users, k)
    Q = _grow(model.item_factors_, n_items, k)
    bu = _grow(model.user_bias_, n_users)
    bi = _grow(model.item_bias_, n_items)
    seen, values = merge_ratings(model.seen_, model.seen_ratings_, u, i, r.values,
                                 (n_users, n_items))
    csc = sp.csr_matrix((values, seen.indices, seen.indptr), shape=(n_users, n_items)).tocsc()
    users_hit, items_hit = np.unique(u), np.unique(i)
    ur, uc, uv = rows_of(seen.indptr, seen.indices, values, users_hit)
    ir, ic, iv = rows_of(csc.indptr, csc.indices, csc.data, items_hit)
    mu = float(model.global_mean_)
    biases = bool(model.biases)
    for _ in range(epochs):
        F, b = solve_rows(ur, uc, uv, len(users_hit), Q, bi if biases else None, mu,
                          weighting, reg, reg_bias, n_threads=p["n_threads"])
        P[users_hit], bu[users_hit] = F, b
        F, b = solve_rows(ir, ic, iv, len(items_hit), P, bu if biases else None, mu,
                          weighting, reg, reg_bias, n_threads=p["n_threads"])
        Q[items_hit], bi[items_hit] = F, b
    model._set_fitted(model.global_mean_, bu, bi, P, Q, umap, imap, seen=seen,
                      rating_range=model.rating_range_, seen_ratings=values, implicit=None)
    return model


def _extend(ids: IdMap, new_ids: np.ndarray) -> tuple[IdMap, np.ndarray]:
    """The map with the unknown IDs of ``new_ids`` appended, and each new ID's index in it."""
    idx = ids.lookup(new_ids)
    fresh = idx < 0
    if not fresh.any():
        return ids, idx
    idx[fresh] = len(ids) + np.arange(int(fresh.sum()))
    return IdMap(_join_ids(ids.ids, new_ids[fresh])), idx


def _join_ids(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``old`` then ``new`` IDs in old's kind (int IDs typed as text, e.g. "944", become ints)."""
    if old.dtype.kind == new.dtype.kind or len(new) == 0:
        return np.concatenate([old, new]) if len(new) else old
    if old.dtype.kind == "U" and new.dtype.kind == "i":
        return np.concatenate([old, new.astype(str)])
    if old.dtype.kind == "i" and new.dtype.kind == "U":
        try:
            as_int = new.astype(np.int64)
        except ValueError:
            as_int = None
        if as_int is not None and np.array_equal(as_int.astype(str), new):
            return np.concatenate([old, as_int])
    raise DataError(
        f"the model's IDs are of kind {old.dtype} but the new ones are {new.dtype} (e.g. "
        f"{show_id(new[0])}): give new users and items IDs of the model's kind")


def _grow(arr: np.ndarray, n: int, k: int | None = None) -> np.ndarray:
    """A writable copy of ``arr`` with zero rows appended up to ``n`` rows."""
    out = np.zeros((n,) if k is None else (n, k), dtype=arr.dtype)
    out[:len(arr)] = arr
    return out
