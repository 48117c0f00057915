"""Initial factors for NMF: random and NNDSVD (Boutsidis & Gallopoulos 2008) with its variants.

Implementation notes
--------------------
* ``random``: |N(0, 1)| entries scaled by sqrt(mean(X) / components), as scikit-learn does, so
  that W @ H starts at about the mean of X. A factor initialised beside a GIVEN factor is
  instead rescaled so that mean(W @ H) = mean(X) exactly (a given dictionary can have any
  scale; the separation code passes trained atoms normalised to unit sum).
* ``nndsvd``: the leading singular triplets of X, each split into its positive and negative
  parts and the dominant part kept; exact zeros are left in (good for sparse solutions, but a
  multiplicative update can never move a zero, see :func:`matfit.factorize.nmf`).
  ``nndsvda`` fills the zeros with mean(X), ``nndsvdar`` with mean(X) * |N(0, 1)| / 100.
* The singular vectors come from a randomized SVD (Halko, Martinsson & Tropp 2011, with QR
  re-orthonormalisation between power iterations) seeded by ``seed``, or from a full LAPACK SVD
  when the matrix is small; either works for a sparse X without densifying it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp

__all__ = ["INITS", "initialize", "missing_factor", "randomized_svd"]

INITS = ("random", "nndsvd", "nndsvda", "nndsvdar")


def _mean(X: Any) -> float:
    m, n = X.shape
    total = float(X.sum(dtype=np.float64)) if not sp.issparse(X) else float(
        X.data.sum(dtype=np.float64))
    return total / (m * n)


def randomized_svd(
    X: Any, k: int, *, rng: np.random.Generator, n_oversamples: int = 10, n_iter: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Leading k singular triplets (U (m, k), s (k,), Vt (k, n)) of a dense or sparse X.

    Uses a full LAPACK SVD when min(X.shape) <= 2 * (k + n_oversamples) (cheap and exact there);
    a sparse X of over 4 million entries is never densified: one with a side of at most 2000
    goes through the eigenvectors of its small Gram matrix (memory O(longer side * k)).
    """
    m, n = X.shape
    dtype = X.dtype
    if min(m, n) <= 2 * (k + n_oversamples) and (not sp.issparse(X) or m * n <= 4_000_000):
        dense = X.toarray() if sp.issparse(X) else X
        U, s, Vt = scipy.linalg.svd(dense, full_matrices=False, check_finite=False)
        return U[:, :k], s[:k], Vt[:k]
    if sp.issparse(X) and m * n > 4_000_000 and min(m, n) <= 2000:
        # large, sparse and thin: the small Gram matrix's eigenvectors (memory O(max * k))
        thin_rows = m <= n
        G = (X @ X.T) if thin_rows else (X.T @ X)
        evals, evecs = scipy.linalg.eigh(G.toarray().astype(np.float64))
        top = np.argsort(evals)[::-1][:k]
        s = np.sqrt(np.maximum(evals[top], 0))
        safe = np.where(s > 0, s, 1)
        if thin_rows:
            U = evecs[:, top]
            Vt = np.asarray(X.T @ U).T / safe[:, None]
        else:
            Vt = evecs[:, top].T
            U = np.asarray(X @ Vt.T) / safe[None, :]
        return U.astype(dtype), s.astype(dtype), Vt.astype(dtype)
    if n_iter is None:
        n_iter = 7 if k < 0.1 * min(m, n) else 4
    p = min(k + n_oversamples, min(m, n))
    Q = rng.standard_normal((n, p)).astype(dtype, copy=False)
    Q = np.asarray(X @ Q)
    for _ in range(n_iter):
        Q, _ = scipy.linalg.qr(Q, mode="economic", check_finite=False)
        Q = np.asarray(X.T @ Q)
        Q, _ = scipy.linalg.qr(Q, mode="economic", check_finite=False)
        Q = np.asarray(X @ Q)
    Q, _ = scipy.linalg.qr(Q, mode="economic", check_finite=False)
    B = np.asarray((X.T @ Q).T)                       # (p, n) = Q.T @ X
    Ub, s, Vt = scipy.linalg.svd(B, full_matrices=False, check_finite=False)
    return (Q @ Ub)[:, :k], s[:k], Vt[:k]


def initialize(
    X: Any, k: int, method: str, *, rng: np.random.Generator, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray]:
    """Initial W (features, components) and H (components, samples) for X (features, samples).

    ``method`` is one of :data:`INITS`; the caller has checked it and that NNDSVD methods have
    k <= min(X.shape). Entries of NNDSVD factors below ``eps`` are set to zero first, as in
    Boutsidis & Gallopoulos' reference code.
    """
    m, n = X.shape
    dtype = X.dtype
    avg = _mean(X)
    if method == "random":
        scale = np.sqrt(avg / k)
        H = np.abs(scale * rng.standard_normal((k, n))).astype(dtype, copy=False)
        W = np.abs(scale * rng.standard_normal((m, k))).astype(dtype, copy=False)
        return W, H
    U, s, Vt = randomized_svd(X, k, rng=rng)
    W = np.zeros((m, k), dtype=np.float64)
    H = np.zeros((k, n), dtype=np.float64)
    W[:, 0] = np.sqrt(s[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(s[0]) * np.abs(Vt[0])
    for j in range(1, k):
        x, y = U[:, j].astype(np.float64), Vt[j].astype(np.float64)
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.maximum(-x, 0), np.maximum(-y, 0)
        xp_n, yp_n = np.linalg.norm(xp), np.linalg.norm(yp)
        xn_n, yn_n = np.linalg.norm(xn), np.linalg.norm(yn)
        mp, mn = xp_n * yp_n, xn_n * yn_n
        if mp > mn:
            u, v, sigma = xp / xp_n, yp / yp_n, mp
        elif mn > 0:
            u, v, sigma = xn / xn_n, yn / yn_n, mn
        else:  # a singular vector pair with no usable part (rank-deficient X): leave zeros
            continue
        lam = np.sqrt(s[j] * sigma)
        W[:, j] = lam * u
        H[j] = lam * v
    W[W < eps] = 0
    H[H < eps] = 0
    if method == "nndsvda":
        W[W == 0] = avg
        H[H == 0] = avg
    elif method == "nndsvdar":
        zw, zh = W == 0, H == 0
        W[zw] = np.abs(avg * rng.standard_normal(int(zw.sum())) / 100)
        H[zh] = np.abs(avg * rng.standard_normal(int(zh.sum())) / 100)
    return W.astype(dtype), H.astype(dtype)


def missing_factor(
    X: Any, given: np.ndarray, which: str, *, rng: np.random.Generator
) -> np.ndarray:
    """Random factor to pair with a given one, scaled so that mean(W @ H) = mean(X).

    ``which`` is "H" (W is given, shape (features, components)) or "W" (H is given, shape
    (components, samples)).
    """
    m, n = X.shape
    k = given.shape[1] if which == "H" else given.shape[0]
    shape = (k, n) if which == "H" else (m, k)
    F = np.abs(rng.standard_normal(shape)).astype(X.dtype, copy=False)
    # mean(W @ H) = (W.sum(0) @ H.sum(1)) / (m n): cheap, no product of X's size
    if which == "H":
        current = float(given.sum(axis=0, dtype=np.float64) @ F.sum(axis=1, dtype=np.float64))
    else:
        current = float(F.sum(axis=0, dtype=np.float64) @ given.sum(axis=1, dtype=np.float64))
    target = _mean(X) * m * n
    if current > 0 and target > 0:
        F *= F.dtype.type(target / current)
    return F
