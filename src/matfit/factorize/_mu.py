"""Multiplicative updates (MU) for the beta-divergence: the numerator/denominator pieces.

Implementation notes
--------------------
X (features, samples) ~ W (features, components) @ H (components, samples). One MU step for a
factor F in {W, H} is

    F <- F * (numer / (denom + l1 + l2 * F)) ** gamma(beta)

with, for H (Févotte & Idier 2011, eqs. 4-5, in this orientation),

    numer = W.T @ (X * (W H) ** (beta - 2)),     denom = W.T @ (W H) ** (beta - 1)

and the same with the roles swapped for W (``numer = (X * (WH)**(beta-2)) @ H.T``). Special
cases avoid X-sized work: beta = 1 (KL) has ``denom = W.sum(0)`` for H and ``H.sum(1)`` for W;
beta = 2 (Frobenius) has ``numer = W.T @ X`` and ``denom = (W.T @ W) @ H``.
``gamma(beta)`` is the majorisation-minimisation exponent of Févotte & Idier (2011), Table 2:
1 / (2 - beta) for beta < 1, 1 for 1 <= beta <= 2 and 1 / (beta - 1) for beta > 2; with it the
objective never increases.

The pieces are pure functions so that a chunked (Dask) driver can reuse them:

* the H pieces of a block of samples need only that block: ``h_terms(X[:, s], W, H[:, s])``;
* the W pieces are SUMS over samples: ``w_terms(X, W, H)`` equals the sum over blocks ``s`` of
  ``w_terms(X[:, s], W, H[:, s])`` (numerator and denominator alike), so a driver adds the
  blocks' pieces and then calls :func:`apply_update` once, adding the penalties once.

The ``WH`` argument lets a caller that already holds ``W @ H`` (the fit computes it anyway, and
reuses it for the objective) pass it in a buffer that the function may overwrite; ``work`` is a
second X-sized buffer, needed only for beta not in {1, 2}. For a sparse X (beta in {1, 2}) the
product is formed only at X's stored entries (:func:`sparse_wh`) and no dense X-sized array is
ever created.

References
----------
C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with the
beta-divergence", Neural Computation 23(9), 2011.
D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix factorization", NIPS 2001.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["apply_update", "h_terms", "mm_exponent", "sparse_wh", "w_terms"]


def mm_exponent(beta: float) -> float:
    """The exponent gamma(beta) that makes the MU step a majorisation-minimisation step.

    >>> mm_exponent(0.0), mm_exponent(1.0), mm_exponent(3.0)
    (0.5, 1.0, 0.5)
    """
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def _stored_indices(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a CSR/CSC matrix's stored entries, in the order of ``X.data``."""
    major = np.repeat(np.arange(X.shape[0] if X.format == "csr" else X.shape[1],
                                dtype=X.indices.dtype), np.diff(X.indptr))
    return (major, X.indices) if X.format == "csr" else (X.indices, major)


def sparse_wh(
    X: Any,
    W: np.ndarray,
    H: np.ndarray,
    *,
    out: np.ndarray | None = None,
    index: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """``(W @ H)`` at the stored entries of a sparse X, in the order of ``X.data``.

    Parameters
    ----------
    X : scipy.sparse CSR or CSC matrix, shape (features, samples)
    W : ndarray, shape (features, components)
    H : ndarray, shape (components, samples)
    out : ndarray, shape (nnz,), optional
        Where to write the result.
    index : (rows, cols), optional
        The stored entries' coordinates, if the caller keeps them (saves an O(nnz) pass).

    Returns
    -------
    ndarray, shape (nnz,)
        Memory stays O(nnz + chunk * components): rows of W and columns of H are gathered in
        chunks, never a dense (features, samples) array.
    """
    rows, cols = _stored_indices(X) if index is None else index
    nnz = len(rows)
    out = np.empty(nnz, dtype=np.result_type(W, H)) if out is None else out
    Ht = H.T
    chunk = max(1024, (1 << 20) // max(W.shape[1], 1))
    for lo in range(0, nnz, chunk):
        part = slice(lo, lo + chunk)
        np.einsum("ij,ij->i", W[rows[part]], Ht[cols[part]], out=out[part])
    return out


def _with_data(X: Any, data: np.ndarray) -> Any:
    """A sparse matrix with X's pattern and the given data (shares X's index arrays)."""
    cls = sp.csr_matrix if X.format == "csr" else sp.csc_matrix
    return cls((data, X.indices, X.indptr), shape=X.shape, copy=False)


def _check_sparse_beta(beta: float) -> None:
    if beta not in (1.0, 2.0):
        raise ValueError(
            f"sparse X is supported for beta in {{1, 2}} only, got beta={beta:g}; pass "
            f"X.toarray() for other values"
        )


def _ratio_terms(
    X: np.ndarray, Y: np.ndarray, beta: float, work: np.ndarray | None, guard: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Overwrite Y = W @ H with X * Y**(beta-2); return it and Y**(beta-1) (None for beta=1).

    With ``guard`` Y is first clipped below at the smallest normal number, so no division by
    zero happens even when the factors have exact zeros (an X-sized pass the fit avoids by
    keeping its factors positive).
    """
    if guard:
        np.maximum(Y, np.finfo(Y.dtype).tiny, out=Y)
        with np.errstate(over="ignore"):  # capped below (see cap)
            return _ratio_pieces(X, Y, beta, work, True)
    return _ratio_pieces(X, Y, beta, work, False)


def _ratio_pieces(X: np.ndarray, Y: np.ndarray, beta: float, work: np.ndarray | None,
                  guard: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`_ratio_terms` after the guard's clip; ``guard`` caps what may overflow."""
    if beta == 1:
        np.divide(X, Y, out=Y)
        return (cap(Y) if guard else Y), None
    P = np.empty_like(Y) if work is None else work
    # X * Y**(beta-2) as (X / Y) * Y**(beta-1): where a guarded Y is tiny and X is 0, Y**(beta-2)
    # alone overflows for beta < 1 and 0 * inf would be NaN; X / Y is 0 there
    if beta == 0:
        np.reciprocal(Y, out=P)                 # Y**-1
    else:
        np.power(Y, beta - 1.0, out=P)          # Y**(beta-1)
    np.divide(X, Y, out=Y)
    if guard:
        cap(P)
        cap(Y)
    np.multiply(Y, P, out=Y)
    return (cap(Y) if guard else Y), P


def cap(A: np.ndarray) -> np.ndarray:
    """Clip A above at its dtype's largest finite value, in place (NaN stays NaN).

    The guard clips ``W @ H`` at the smallest normal number where the factors' zeros make it
    0; where X is positive there (a bin no atom of a fixed dictionary covers) ``X / (W @ H)``
    then overflows to inf, and every factor entry that is 0 at that entry (all of them, as
    ``W @ H`` is 0) would turn the products ``W.T @ R`` into ``0 * inf = NaN``. Capped, those
    products are ``0 * max = 0``: the entry contributes nothing, its limit as ``W @ H -> 0``
    with the factor entries exactly 0.
    """
    return np.minimum(A, np.finfo(A.dtype).max, out=A)


def h_terms(
    X: Any,
    W: np.ndarray,
    H: np.ndarray,
    beta: float,
    *,
    WH: np.ndarray | None = None,
    work: np.ndarray | None = None,
    out: np.ndarray | None = None,
    guard: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of the MU step for H.

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR/CSC matrix, shape (features, samples)
    W : ndarray, shape (features, components)
    H : ndarray, shape (components, samples)
    beta : float
        The beta of the divergence (sparse X: 1 or 2 only).
    WH : ndarray, optional
        ``W @ H`` already computed: shape (features, samples) for a dense X, (nnz,) in the order
        of ``X.data`` for a sparse X. It is OVERWRITTEN (used as the X-sized work buffer).
    work : ndarray, shape (features, samples), optional
        A second X-sized buffer, used only for beta not in {1, 2}.
    out : ndarray, shape (components, samples), optional
        Where to write the numerator.
    guard : bool
        Clip ``W @ H`` below at the smallest normal number before dividing by it. Pass False
        only when the factors keep ``W @ H`` positive.

    Returns
    -------
    numer : ndarray, shape (components, samples)
    denom : ndarray, shape (components, samples), or (components, 1) for beta = 1
        Columns are independent: the pieces for a block of samples need only that block.
    """
    beta = float(beta)
    if sp.issparse(X):
        _check_sparse_beta(beta)
        if beta == 2:
            numer = _into(out, (X.T @ W).T)
            return numer, (W.T @ W) @ H
        wh = sparse_wh(X, W, H) if WH is None else WH
        if guard:
            np.maximum(wh, np.finfo(wh.dtype).tiny, out=wh)
            with np.errstate(over="ignore"):
                cap(np.divide(X.data, wh, out=wh))
        else:
            np.divide(X.data, wh, out=wh)
        numer = _into(out, (_with_data(X, wh).T @ W).T)
        return numer, W.sum(axis=0)[:, None]
    if beta == 2:
        numer = np.matmul(W.T, X, out=out)
        return numer, (W.T @ W) @ H
    Y = np.matmul(W, H) if WH is None else WH
    R, P = _ratio_terms(X, Y, beta, work, guard)
    numer = np.matmul(W.T, R, out=out)
    if beta == 1:
        return numer, W.sum(axis=0)[:, None]
    return numer, W.T @ P


def w_terms(
    X: Any,
    W: np.ndarray,
    H: np.ndarray,
    beta: float,
    *,
    columns: Any = None,
    WH: np.ndarray | None = None,
    work: np.ndarray | None = None,
    out: np.ndarray | None = None,
    guard: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of the MU step for W: sums over samples.

    Parameters
    ----------
    X, W, H, beta, WH, work, guard
        As in :func:`h_terms`.
    columns : slice or index array, optional
        Compute the pieces for these columns of W only (the learned ones); all by default.
    out : ndarray, shape (features, len(columns)), optional
        Where to write the numerator.

    Returns
    -------
    numer : ndarray, shape (features, len(columns))
    denom : ndarray, shape (features, len(columns)), or (1, len(columns)) for beta = 1
        Both are sums over samples: the pieces of blocks of samples add up to the whole.
    """
    beta = float(beta)
    Hc = H if columns is None else H[columns]
    if sp.issparse(X):
        _check_sparse_beta(beta)
        if beta == 2:
            numer = _into(out, X @ Hc.T)
            return numer, W @ (H @ Hc.T)
        wh = sparse_wh(X, W, H) if WH is None else WH
        if guard:
            np.maximum(wh, np.finfo(wh.dtype).tiny, out=wh)
            with np.errstate(over="ignore"):
                cap(np.divide(X.data, wh, out=wh))
        else:
            np.divide(X.data, wh, out=wh)
        numer = _into(out, _with_data(X, wh) @ Hc.T)
        return numer, Hc.sum(axis=1)[None, :]
    if beta == 2:
        numer = np.matmul(X, Hc.T, out=out)
        return numer, W @ (H @ Hc.T)
    Y = np.matmul(W, H) if WH is None else WH
    R, P = _ratio_terms(X, Y, beta, work, guard)
    numer = np.matmul(R, Hc.T, out=out)
    if beta == 1:
        return numer, Hc.sum(axis=1)[None, :]
    return numer, P @ Hc.T


def _into(out: np.ndarray | None, value: Any) -> np.ndarray:
    value = np.asarray(value)
    if out is None:
        return value
    out[...] = value
    return out


def apply_update(
    F: np.ndarray,
    numer: np.ndarray,
    denom: np.ndarray,
    *,
    gamma: float = 1.0,
    l1: float = 0.0,
    l2: float = 0.0,
    floor: float = 0.0,
    overwrite_denom: bool = False,
) -> np.ndarray:
    """In place: ``F *= (numer / (denom + l1 + l2 * F)) ** gamma``, then ``F = max(F, floor)``.

    ``numer`` is overwritten, and ``denom`` too with ``overwrite_denom=True`` (saves a copy when
    the caller has no further use for it). ``l1``/``l2`` are the already scaled penalty weights
    of ``l1 * sum(F) + l2 / 2 * ||F||^2``; a denominator that is exactly zero (a component that
    touches nothing) is clipped at the smallest normal number, so 0/0 leaves F unchanged
    instead of producing NaN. Returns F.
    """
    den = denom + l1 if l1 else denom
    if l2:
        den = den + l2 * F
    if den is denom and not (overwrite_denom and isinstance(den, np.ndarray)
                             and den.dtype == F.dtype):
        den = np.array(den, dtype=F.dtype)
    np.maximum(den, np.finfo(F.dtype).tiny, out=den)
    np.divide(numer, den, out=numer)
    if gamma != 1:
        np.power(numer, gamma, out=numer)
    np.multiply(F, numer, out=F)
    if floor:
        np.maximum(F, floor, out=F)
    return F
