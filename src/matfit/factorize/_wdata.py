"""Weighted NMF's data: validation of X against its weights, and the two data layouts.

:func:`make_data` checks X and its weights (naming the first bad entry) and returns one of two
layouts with one interface (``product``, ``terms``, ``left``, ``right``, the HALS row
operations and the MU pieces), which :class:`matfit.factorize._weighted.WeightedFit` and the
Dask driver use without knowing which they hold:

* :class:`DenseData` for dense weights: X-sized arrays (X with its missing entries filled,
  V and V * X). With 0/1 weights and few missing entries its MU pieces and HALS sweeps use
  the complement C = 1 - V (a sparse matrix of the missing entries) and, with Numba, the
  kernels of :mod:`._wkernels`.
* :class:`ObservedData` for sparse weights (or ``weights="stored"`` on a sparse X): only the
  observed entries' coordinates and values, memory O(nnz + (features + samples) components).

The algorithms and their references are in :mod:`._weighted`'s notes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError, InvalidParameterError, ShapeError
from ..shapes import as_float_array
from . import _mu, _wkernels

__all__ = ["DenseData", "ObservedData", "init_standin", "make_data", "reach_standin",
           "rescale"]


# ------------------------------------------------------------------------- elementwise
def _divergence_sum(x: np.ndarray, y: np.ndarray, v: np.ndarray, beta: float) -> float:
    """sum(v * d_beta(x | y)) in float64, as a sum of non-negative terms."""
    tiny = np.finfo(y.dtype).tiny
    if beta == 2:
        d = x - y
        np.square(d, out=d)
        d *= 0.5
    else:
        y = np.maximum(y, tiny)
        if beta == 1:  # x log(x / y) - x + y; x = 0 gives y
            d = x / y
            d += tiny
            np.log(d, out=d)
            d *= x
            d += y
            d -= x
        elif beta == 0:  # r - log r - 1, r = x / y (x > 0 where observed)
            r = x / y
            d = r - 1
            np.log(r, out=r)
            d -= r
        else:
            p = np.power(y, beta - 1)
            d = np.power(x, beta)
            d += (beta - 1) * p * y
            p *= x
            p *= beta
            d -= p
            d /= beta * (beta - 1)
        np.maximum(d, 0, out=d)
    return float(np.dot(v.ravel().astype(np.float64, copy=False),
                        d.ravel().astype(np.float64, copy=False)))


def _terms(XV: np.ndarray, V: np.ndarray, Y: np.ndarray, beta: float, work: np.ndarray | None,
           guard: bool) -> tuple[np.ndarray, np.ndarray]:
    """(R, P) = (V X Y^(beta-2), V Y^(beta-1)); overwrites Y (and work) and may return XV or V."""
    if beta == 2:
        P = np.multiply(V, Y, out=Y)
        return XV, P
    if guard:  # a guarded (tiny) Y overflows the powers: capped, see _mu.cap
        np.maximum(Y, np.finfo(Y.dtype).tiny, out=Y)
        with np.errstate(over="ignore"):
            return _guarded_terms(XV, V, Y, beta, work, True)
    return _guarded_terms(XV, V, Y, beta, work, False)


def _guarded_terms(XV: np.ndarray, V: np.ndarray, Y: np.ndarray, beta: float,
                   work: np.ndarray | None, guard: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_terms` for beta != 2 after the guard's clip; ``guard`` caps what may overflow."""
    if beta == 1:
        np.divide(XV, Y, out=Y)
        return (_mu.cap(Y) if guard else Y), V
    P = np.empty_like(Y) if work is None else work
    if beta == 0:
        np.reciprocal(Y, out=P)           # Y^-1
        np.multiply(P, P, out=Y)          # Y^-2
    else:
        np.power(Y, beta - 1.0, out=P)    # Y^(beta-1)
        np.divide(P, Y, out=Y)            # Y^(beta-2)
    if guard:
        _mu.cap(P)
        _mu.cap(Y)
    np.multiply(Y, XV, out=Y)
    np.multiply(P, V, out=P)
    if guard:
        _mu.cap(Y)
        _mu.cap(P)
    return Y, P


# ------------------------------------------------------------------------- data layouts
class _Pieces:
    """The MU numerators and denominators from ``terms``, ``left`` and ``right``."""

    fast = False  # DenseData's compiled kernels (0/1 weights, few missing: beta 1 and 2)

    def h_pieces(self, Wt, H, Y, beta, work, guard, out=None):
        """(W.T @ R, W.T @ P), shape (components, samples)."""
        R, P = self.terms(Y, beta, work, guard)
        return self.left(R, Wt, out=out), self.left(P, Wt)

    def w_pieces(self, Wt, H, Hl, Y, beta, work, guard, out=None):
        """(R @ Hl.T, P @ Hl.T), shape (features, rows of Hl)."""
        R, P = self.terms(Y, beta, work, guard)
        return self.right(R, Hl, out=out), self.right(P, Hl)


class DenseData(_Pieces):
    """X (filled where the weight is 0), V and V * X as dense (features, samples) arrays.

    When V is 0/1 with at most :data:`COMPLEMENT_SHARE` of zeros, the denominators use the
    complement ``C = 1 - V`` (a sparse matrix of the missing entries):
    ``W.T (V * Q) = W.T Q - W.T (C * Q)``, so a weighted iteration costs the unweighted GEMMs
    (including the column-sum and Gram shortcuts of beta = 1 and 2) plus O(missing * components)
    instead of two more X-sized GEMMs.
    """

    observed = False
    COMPLEMENT_SHARE = 0.3

    def __init__(self, Xf: np.ndarray, V: np.ndarray, *, XV: np.ndarray | None = None,
                 missing: np.ndarray | None = None, binary: bool | None = None) -> None:
        """``XV`` (= Xf * V), ``missing`` (= np.flatnonzero(V == 0)) and ``binary`` (V is 0/1)
        may be passed by a caller that has them (:func:`make_data`)."""
        self.X, self.V = Xf, V
        self.XV = Xf * V if XV is None else XV
        self.shape, self.dtype = Xf.shape, Xf.dtype
        self._outer: np.ndarray | None = None
        self.C = None
        if missing is None:
            missing = np.flatnonzero(V == 0)
        n_missing = len(missing)
        if binary is None:
            binary = int(np.count_nonzero(V == 1)) == V.size - n_missing
        if n_missing <= self.COMPLEMENT_SHARE * V.size and binary:
            m, n = Xf.shape
            # flat positions of the missing entries, in the order of C.data: one take() reads
            # an X-shaped array there (without Numba, a dense W @ H GEMM and this gather are
            # far faster than forming W @ H at the missing entries in NumPy)
            self.cflat = missing
            rows = self.cflat // n
            index = np.int32 if max(n_missing, n) < 2**31 else np.int64
            indptr = np.zeros(m + 1, dtype=index)
            np.cumsum(np.bincount(rows, minlength=m), out=indptr[1:])
            self.C = sp.csr_matrix((np.ones(n_missing, dtype=Xf.dtype),
                                    (self.cflat - rows * n).astype(index), indptr),
                                   shape=Xf.shape)
            if _wkernels.kernel("mu_complement") is not None:
                # beta = 2 needs W @ H at the missing entries only (see _wkernels): each
                # feature's missing samples (C's CSR) and each sample's missing features (CSC)
                self.fast = True
                self.threads = _wkernels.kernel_threads()  # decided once per fit
                self.by_feature = (self.C.indptr, self.C.indices)
                self.xx = float(np.einsum("ij,ij->", self.XV, self.XV, dtype=np.float64))

    @property
    def by_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """Each sample's missing features (C's CSC), made on first use (EM needs only the
        CSR)."""
        if getattr(self, "_by_sample", None) is None:
            csc = self.C.tocsc()
            self._by_sample = (csc.indptr, csc.indices)
        return self._by_sample

    def _complement(self, data: np.ndarray | None) -> Any:
        if data is None:
            return self.C
        return _mu._with_data(self.C, data)

    def _comp_terms(self, Wt, H, Y, beta, work, guard):
        """(R, Q, Q at the missing entries): R = V X Y^(beta-2) (into Y), Q = Y^(beta-1)."""
        if beta == 2:
            return self.XV, None, Y.ravel().take(self.cflat)
        if guard:
            np.maximum(Y, np.finfo(Y.dtype).tiny, out=Y)
            with np.errstate(over="ignore"):
                return self._ratio(Y, beta, work, True)
        return self._ratio(Y, beta, work, False)

    def _ratio(self, Y, beta, work, guard):
        """:meth:`_comp_terms` for beta != 2 after the guard's clip (``guard``: cap)."""
        if beta == 1:
            np.divide(self.XV, Y, out=Y)
            return (_mu.cap(Y) if guard else Y), None, None
        Q = np.empty_like(Y) if work is None else work
        if beta == 0:
            np.reciprocal(Y, out=Q)
            np.multiply(Q, Q, out=Y)
        else:
            np.power(Y, beta - 1.0, out=Q)
            np.divide(Q, Y, out=Y)
        if guard:
            _mu.cap(Q)
            _mu.cap(Y)
        np.multiply(Y, self.XV, out=Y)
        if guard:
            _mu.cap(Y)
        return Y, Q, Q.ravel().take(self.cflat)

    def h_pieces(self, Wt, H, Y, beta, work, guard, out=None):
        if self.C is None:
            return super().h_pieces(Wt, H, Y, beta, work, guard, out)
        if self.fast and beta == 2:  # Y is not read
            numer = np.matmul(Wt, self.XV, out=out)
            denom = (Wt @ Wt.T) @ H
            denom -= self.missing_h(Wt, H)[0].T
            return numer, np.maximum(denom, 0, out=denom)
        R, Q, q = self._comp_terms(Wt, H, Y, beta, work, guard)
        numer = np.matmul(Wt, R, out=out)
        if beta == 1 and self.fast:  # colsum(W) minus W's rows summed at the missing entries
            denom = _wkernels.missing_colsums(self.by_sample, np.ascontiguousarray(Wt.T),
                                               self.threads).T
            np.subtract(Wt.sum(axis=1)[:, None], denom, out=denom)
            return numer, np.maximum(denom, 0, out=denom)  # rounding where all is missing
        if beta == 1:
            base = Wt.sum(axis=1)[:, None]
        elif beta == 2:
            base = (Wt @ Wt.T) @ H
        else:
            base = Wt @ Q
        denom = base - np.asarray(self._complement(q).T @ Wt.T).T
        return numer, np.maximum(denom, 0, out=denom)  # rounding where all is missing

    def w_pieces(self, Wt, H, Hl, Y, beta, work, guard, out=None):
        if self.C is None:
            return super().w_pieces(Wt, H, Hl, Y, beta, work, guard, out)
        if self.fast and beta == 2:  # Y is not read
            numer = np.matmul(self.XV, Hl.T, out=out)
            denom = Wt.T @ (H @ Hl.T)
            denom -= self.missing_w(Wt, H, Hl)[0]
            return numer, np.maximum(denom, 0, out=denom)
        R, Q, q = self._comp_terms(Wt, H, Y, beta, work, guard)
        numer = np.matmul(R, Hl.T, out=out)
        if beta == 1 and self.fast:
            denom = _wkernels.missing_colsums(self.by_feature, np.ascontiguousarray(Hl.T),
                                               self.threads)
            np.subtract(Hl.sum(axis=1)[None, :], denom, out=denom)
            return numer, np.maximum(denom, 0, out=denom)
        if beta == 1:
            base = Hl.sum(axis=1)[None, :]
        elif beta == 2:
            base = Wt.T @ (H @ Hl.T)
        else:
            base = Q @ Hl.T
        denom = base - np.asarray(self._complement(q) @ Hl.T)
        return numer, np.maximum(denom, 0, out=denom)

    def kl_from_ratio(self, R: np.ndarray, denom: np.ndarray, H: np.ndarray) -> float:
        """The weighted KL divergence from what a KL H step computes anyway: ``R = V X /
        (W H)`` and ``denom = W.T V`` (the observed column sums):
        ``sum_obs (W H) - sum_obs X + sum V X log R``, the first as ``<denom, H>`` (float64),
        the last in row blocks (a missing or zero entry has R = 0 and weight 0 on its log).
        As the unweighted formula (``_loop._Objective.kl_from_ratio``) it skips the
        divergence's X-sized passes."""
        if getattr(self, "_sum_xv", None) is None:
            self._sum_xv = float(self.XV.sum(dtype=np.float64))
        tiny = np.finfo(R.dtype).tiny
        m, n = self.shape
        rows = max(1, min(m, (1 << 18) // max(n, 1)))
        total = 0.0
        s = np.empty((rows, n), dtype=R.dtype)
        for lo in range(0, m, rows):
            r, x = R[lo:lo + rows], self.XV[lo:lo + rows]
            t = s[: r.shape[0]]
            np.add(r, tiny, out=t)
            np.log(t, out=t)
            t *= x
            total += float(t.sum(dtype=np.float64))
        mass = float(np.vdot(denom.astype(np.float64), H.astype(np.float64)))
        return max(mass - self._sum_xv + total, 0.0)

    # ---- the EM fill (0/1 weights, few missing: ``C`` is set) -----------------------------
    def empty_line(self) -> bool:
        """Whether some feature or sample has no observed entry (C's row or column full)."""
        m, n = self.shape
        return bool((np.diff(self.C.indptr) == n).any()
                    or (np.bincount(self.C.indices, minlength=n) == m).any())

    def fill_missing(self, Wt: np.ndarray, H: np.ndarray,
                     out: np.ndarray) -> tuple[float, float]:
        """Write ``W @ H`` into ``out`` at the missing entries (``out`` is ``V * X`` elsewhere)
        and return their ``(sum of squares, sum)`` in float64: with Numba only there
        (:func:`._wkernels.fill_missing`, missing * components work), else from a dense
        ``W @ H``."""
        if self.fast:
            return _wkernels.fill_missing(self.by_feature, np.ascontiguousarray(Wt.T),
                                          np.ascontiguousarray(H.T), out, self.threads)
        q = np.matmul(Wt.T, H, out=self._dense_buffer()).ravel().take(self.cflat)
        out.ravel()[self.cflat] = q
        q = q.astype(np.float64)
        return float(np.dot(q, q)), float(q.sum())

    def _dense_buffer(self) -> np.ndarray:
        if getattr(self, "_wh", None) is None:
            self._wh = np.empty(self.shape, dtype=self.dtype)
        return self._wh

    # ---- beta = 2 with the compiled kernels (``fast``: 0/1 weights, few missing) ----------
    def missing_h(self, Wt: np.ndarray, H: np.ndarray,
                  sums_only: bool = False) -> tuple[np.ndarray, float]:
        """(``(W.T (C * W H)).T`` (samples, components), ``sum(C * (W H)^2)``)."""
        W = np.ascontiguousarray(Wt.T)
        return _wkernels.missing_sums(self.by_sample, W, np.empty((W.shape[0], 0), W.dtype)
                                      if sums_only else W,
                                      np.ascontiguousarray(H.T), self.threads)

    def missing_w(self, Wt: np.ndarray, H: np.ndarray,
                  Hl: np.ndarray) -> tuple[np.ndarray, float]:
        """(``(C * W H) @ Hl.T`` (features, rows of Hl), ``sum(C * (W H)^2)``)."""
        return _wkernels.missing_sums(self.by_feature, np.ascontiguousarray(H.T),
                                      np.ascontiguousarray(Hl.T), np.ascontiguousarray(Wt.T),
                                      self.threads)

    def frobenius(self, cross: np.ndarray, gram: np.ndarray, H: np.ndarray,
                  missing_sq: float) -> float | None:
        """``0.5 sum(V (X - W H)^2)`` from ``cross = W.T (V X)``, ``gram = W.T W`` and the
        missing entries' ``sum((W H)^2)``, as the unweighted objective's trace formula; None
        where cancellation would make it inexact (the caller then forms W @ H)."""
        f8 = np.float64
        H8 = H.astype(f8)
        value = 0.5 * (self.xx - 2 * float(np.vdot(cross.astype(f8), H8))
                       + float(np.vdot(gram.astype(f8), H8 @ H8.T)) - missing_sq)
        if value < 1e3 * float(np.finfo(self.dtype).eps) * self.xx:
            return None
        return value

    def hals_h(self, Wt: np.ndarray, H: np.ndarray, cross: np.ndarray, gram: np.ndarray,
               l1: float, l2: float) -> None:
        """One weighted HALS sweep over all rows of H, in place; ``cross = W.T (V X)``."""
        _wkernels.hals_sweep(self.by_sample, np.ascontiguousarray(Wt.T), H, cross, gram,
                             np.einsum("ij,ij->i", Wt, Wt, dtype=np.float64), H.shape[0],
                             l1, l2, self.threads)

    def hals_w(self, Wt: np.ndarray, H: np.ndarray, n_learned: int, cross: np.ndarray,
               l1: float, l2: float) -> None:
        """One weighted HALS sweep over the first ``n_learned`` rows of W.T, in place;
        ``cross = (V X) @ H[:n_learned].T``."""
        Hl = H[:n_learned]
        _wkernels.hals_sweep(self.by_feature, np.ascontiguousarray(H.T), Wt, cross.T, Hl @ H.T,
                             np.einsum("ij,ij->i", Hl, Hl, dtype=np.float64), n_learned,
                             l1, l2, self.threads)

    def buffer(self) -> np.ndarray:
        return np.empty(self.shape, dtype=self.dtype)

    def product(self, Wt: np.ndarray, H: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        return np.matmul(Wt.T, H, out=out)

    def terms(self, Y, beta, work, guard):
        return _terms(self.XV, self.V, Y, beta, work, guard)

    def left(self, A: np.ndarray, Wt: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``W.T @ A``, shape (components, samples)."""
        return np.matmul(Wt, A, out=out)

    def right(self, A: np.ndarray, Hl: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``A @ H.T``, shape (features, rows of Hl)."""
        return np.matmul(A, Hl.T, out=out)

    def divergence(self, Y: np.ndarray, beta: float) -> float:
        m, n = self.shape
        rows = max(1, min(m, (1 << 18) // max(n, 1)))
        return sum(_divergence_sum(self.X[lo:lo + rows], Y[lo:lo + rows],
                                   self.V[lo:lo + rows], beta) for lo in range(0, m, rows))

    # HALS row operations on the weighted residual E (X-shaped)
    def residual(self, Y: np.ndarray) -> np.ndarray:
        np.multiply(self.V, Y, out=Y)
        np.subtract(self.XV, Y, out=Y)
        return Y

    def vec_left(self, E: np.ndarray, w: np.ndarray) -> np.ndarray:
        return w @ E

    def vec_right(self, E: np.ndarray, h: np.ndarray) -> np.ndarray:
        return E @ h

    def rank1(self, E: np.ndarray, u: np.ndarray, z: np.ndarray) -> None:
        """E -= V * outer(u, z)."""
        if self._outer is None:
            self._outer = self.buffer()
        np.multiply.outer(u, z, out=self._outer)
        self._outer *= self.V
        E -= self._outer


class ObservedData(_Pieces):
    """Only the entries with a stored weight: coordinates, x, v and v * x, each of length nnz.

    Products with the factors go through a CSR matrix of V's pattern, so memory is
    O(nnz + (features + samples) components).
    """

    observed = True

    def __init__(self, pattern: Any, x: np.ndarray, v: np.ndarray) -> None:
        self.pattern = pattern                      # CSR, canonical, V's pattern
        self.index = _mu._stored_indices(pattern)
        self.x, self.V = x, v
        self.XV = x * v
        self.shape, self.dtype = pattern.shape, x.dtype

    def buffer(self) -> np.ndarray:
        return np.empty(len(self.x), dtype=self.dtype)

    def _mat(self, data: np.ndarray) -> Any:
        return _mu._with_data(self.pattern, data)

    def product(self, Wt, H, out):
        return _mu.sparse_wh(self.pattern, Wt.T, H, out=out, index=self.index)

    def terms(self, Y, beta, work, guard):
        return _terms(self.XV, self.V, Y, beta, work, guard)

    def left(self, A, Wt, out=None):
        value = np.ascontiguousarray((self._mat(A).T @ Wt.T).T)
        if out is None:
            return value
        out[...] = value
        return out

    def right(self, A, Hl, out=None):
        value = np.asarray(self._mat(A) @ Hl.T)
        if out is None:
            return value
        out[...] = value
        return out

    def divergence(self, Y, beta):
        chunk = 1 << 18
        return sum(_divergence_sum(self.x[lo:lo + chunk], Y[lo:lo + chunk],
                                   self.V[lo:lo + chunk], beta)
                   for lo in range(0, len(self.x), chunk))

    def residual(self, Y):
        np.multiply(self.V, Y, out=Y)
        np.subtract(self.XV, Y, out=Y)
        return Y

    def vec_left(self, E, w):
        return np.asarray(self._mat(E).T @ w)

    def vec_right(self, E, h):
        return np.asarray(self._mat(E) @ h)

    def rank1(self, E, u, z):
        rows, cols = self.index
        E -= self.V * u[rows] * z[cols]


# ----------------------------------------------------------------------------- validation
def _where(name: str, idx: tuple[int, int]) -> str:
    return f"{name}[{idx[0]}, {idx[1]}]"


def _check_observed(x: np.ndarray, v: np.ndarray, beta: float, coords: Any) -> None:
    """Errors for non-finite or negative X where the weight is positive (count, first one)."""
    checks = [
        (~np.isfinite(x), "is not finite", "X may hold NaN (or inf) only where the weight is "
         "0: set the weight there to 0 (missing) or give X a value"),
        (x < 0, "is negative", "NMF needs X >= 0 where the weight is positive: clip with "
         "np.maximum(X, 0) or give those entries weight 0"),
    ]
    if beta <= 0:
        checks.append((x == 0, "is zero", f"beta={beta:g} <= 0 (e.g. Itakura-Saito) is "
                       "undefined at a zero: add a small floor (X + 1e-10 * X.max()), give "
                       "those entries weight 0, or use beta > 0 ('kl')"))
    positive = v > 0
    for bad, what, fix in checks:
        bad &= positive
        if bad.any():
            count = int(bad.sum())
            i = int(np.flatnonzero(bad.ravel())[0])
            raise DataError(
                f"X has {count} entr{'y' if count == 1 else 'ies'} with a positive weight where "
                f"it {what}, the first at {_where('X', coords(i))} = {float(x.ravel()[i])!r} "
                f"(weight {float(v.ravel()[i]):g}). {fix}."
            )


def make_data(X: Any, weights: Any, beta: float, *, dtype: Any = None) -> DenseData | ObservedData:
    """Validate X and its weights and return the data layout the weighted kernels use.

    Dense weights give :class:`DenseData` (a sparse X is densified: the weights are X-sized
    anyway); sparse weights, or ``weights="stored"`` with a sparse X, give
    :class:`ObservedData`. Raises ShapeError/DataError/InvalidParameterError naming the
    argument.
    """
    if isinstance(weights, str):
        if weights != "stored":
            raise InvalidParameterError(
                f"nmf(weights={weights!r}): weights must be an array of X's shape, a "
                f"scipy.sparse matrix, or 'stored' (a sparse X's stored entries are observed).")
        if not sp.issparse(X):
            raise InvalidParameterError(
                "nmf(weights='stored') counts the stored entries of a sparse X as observed, but "
                "X is dense: pass weights=~np.isnan(X) (or any array of X's shape) instead.")
        X = as_float_array(X, "X", dims="features samples", sparse=("csr",),
                           allow_nonfinite=True, dtype=dtype)
        weights = sp.csr_matrix((np.ones(X.nnz, dtype=X.dtype), X.indices, X.indptr),
                                shape=X.shape)
    X = as_float_array(X, "X", dims="features samples", sparse=("csr", "csc"),
                       allow_nonfinite=True, dtype=dtype)
    if getattr(weights, "ndim", 2) != 2 and not sp.issparse(weights):
        weights = np.asarray(weights)
    V = as_float_array(weights, "weights", dims="features samples", sparse=("csr",),
                       nonnegative=True, dtype=X.dtype,
                       purpose="Weights say how much each entry of X counts (0: missing).")
    if V.shape != X.shape:
        raise ShapeError(
            f"weights has shape {V.shape} but X has shape {X.shape}: pass one weight per "
            f"entry of X (features, samples).")
    if not sp.issparse(V):
        return _dense_data(X.toarray() if sp.issparse(X) else X, V, beta)
    pattern = V
    rows, cols = _mu._stored_indices(pattern)
    if sp.issparse(X):
        x = np.asarray(X.tocsr()[rows, cols]).ravel().astype(X.dtype, copy=False)
    else:
        x = X[rows, cols]
    v = np.array(V.data, copy=True)

    def coords(i: int) -> tuple[int, int]:
        return int(rows[i]), int(cols[i])
    if not (v > 0).any():
        raise DataError("weights are all zero: no entry of X is observed, nothing to fit.")
    with np.errstate(invalid="ignore"):
        _check_observed(x, v, beta, coords)
    observed = v > 0
    xo = x[observed]
    if not (xo > 0).any():
        raise DataError("X is zero wherever the weight is positive: there is nothing to "
                        "factorise.")
    fill = x.dtype.type(np.average(xo.astype(np.float64), weights=v[observed].astype(np.float64)))
    return ObservedData(pattern, np.where(observed, x, fill), v)


def _dense_data(x: np.ndarray, v: np.ndarray, beta: float) -> DenseData:
    """:func:`make_data` for dense weights, in a few whole-array passes (masked selections are
    several times slower than arithmetic): the detailed checks, which name the first bad
    entry, run only when a quick one fails, or for beta <= 0."""
    n = x.shape[1]
    positive = v > 0
    if not positive.any():
        raise DataError("weights are all zero: no entry of X is observed, nothing to fit.")
    with np.errstate(invalid="ignore", over="ignore"):
        XV = np.multiply(x, v)  # NaN where a missing entry holds NaN or inf
        lowest = np.fmin.reduce(XV, axis=None)  # ignores those NaN
        if (beta <= 0 or not (np.isfinite(x) >= positive).all()
                or not lowest >= 0):  # (all NaN: nothing observed is finite)
            _check_observed(x, v, beta, lambda i: divmod(i, n))
        np.fmax(XV, 0, out=XV)  # the missing entries' NaN -> 0 (nothing else is below 0)
    if not XV.max() > 0:
        raise DataError("X is zero wherever the weight is positive: there is nothing to "
                        "factorise.")
    # the weighted mean of the observed entries fills the missing ones (what the
    # initialisation sees there; every product with them has weight 0)
    fill = x.dtype.type(float(XV.sum(dtype=np.float64)) / float(v.sum(dtype=np.float64)))
    missing = np.flatnonzero(~positive)
    binary = int(np.count_nonzero(v == 1)) == v.size - len(missing)
    if binary:  # X = V * X where observed
        xf = XV.copy()
        xf.ravel()[missing] = fill
    else:
        xf = np.where(positive, x, fill)   # a fresh array: the caller's X is never modified
    return DenseData(xf, v, XV=XV, missing=missing, binary=binary)


def init_standin(data: DenseData | ObservedData) -> Any:
    """What the initialisation and the shape checks see in place of X.

    Dense: X with missing entries at the weighted mean of the observed ones. Observed: the
    observed values as a sparse matrix (zeros elsewhere; the factors are rescaled afterwards
    by :func:`rescale`, see there).
    """
    if data.observed:
        return _mu._with_data(data.pattern, np.where(data.V > 0, data.x, 0).astype(data.dtype))
    return data.X


def reach_standin(data: DenseData | ObservedData) -> Any:
    """V * X, for the fixed-factor reachability check (only weighted entries count)."""
    if data.observed:
        return _mu._with_data(data.pattern, data.XV)
    return data.XV


def rescale(data: ObservedData, W: np.ndarray, H: np.ndarray, *, scale_W: bool,
            scale_H: bool) -> None:
    """Scale the initial factors (in place) so that sum(v * W H) = sum(v * x) at the observed
    entries: an initialisation from the zero-filled sparse X starts far too small."""
    if not (scale_W or scale_H):
        return
    wh = data.product(np.ascontiguousarray(W.T), H, None)
    current = float(np.dot(data.V.astype(np.float64), wh.astype(np.float64)))
    target = float(data.XV.sum(dtype=np.float64))
    if current <= 0 or target <= 0:
        return
    c = target / current
    if scale_W and scale_H:
        W *= W.dtype.type(np.sqrt(c))
        H *= H.dtype.type(np.sqrt(c))
    elif scale_W:
        W *= W.dtype.type(c)
    else:
        H *= H.dtype.type(c)
