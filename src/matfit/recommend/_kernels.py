r"""Compiled (Numba) kernels of the ratings solvers: ALS rows, blocked SGD and SVD++ epochs.

The Python bodies below are the specification; :func:`kernel` compiles them with Numba when it
is installed (the optional extra ``fast``) and returns None otherwise, in which case the callers
use their NumPy forms (``_als.als_half_step``'s batched solves, ``_sgd.sgd_epoch_numpy``).

Implementation notes
--------------------
* ALS rows run in ``prange``: each row's normal equations are formed and solved by one thread,
  so the result does not depend on the number of threads (nothing is reduced across rows).
  Rows are visited in a fixed shuffled order so that the static split of ``prange`` gives every
  thread about the same number of ratings under a power-law activity distribution.
* Gram matrices are accumulated four ratings at a time into the lower triangle (one load and
  store of the accumulator per four multiply-adds), then factorised by Cholesky, in the
  working dtype with float64 pivots. ``fastmath`` allows re-association inside a row (SIMD dot
  products); it is still deterministic for given inputs.
* Conjugate gradients (``als_rows_cg``) apply :math:`A x = \Lambda x + \sum_j y_j (y_j \cdot x)`
  without forming A: 2 n_u k multiply-adds per step instead of n_u k^2 / 2, warm-started from
  the current factors as implicit's ``least_squares_cg`` does for implicit feedback.
* SGD (``sgd_blocked``) is DSGD (Gemulla et al. 2011): users and items are cut into B blocks
  each; in each of B strata the B blocks (b, (b + s) mod B) share no user and no item, so they
  run in parallel without locks and the result is the same for any number of threads.
* SVD++ (``svdpp_epoch``) visits users in a shuffled order and each user's ratings in a shuffled
  order; the implicit term :math:`|N(u)|^{-1/2} \sum_{j \in N(u)} y_j` is computed once per
  user and the y_j are moved once per user by the sum of their per-rating gradients (the
  usual fast form; Surprise re-sums N(u) for every rating, O(n_u^2 k) per user).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._numba import compile_kernel, have_numba

__all__ = ["have_numba", "kernel", "set_threads"]

_COMPILED: dict[str, Any] = {}
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
# parallel kernels (prange); the others are compiled as plain nogil loops
_PARALLEL = {"als_rows_cholesky", "als_rows_cg", "sgd_blocked", "squared_error"}


def kernel(name: str) -> Any:
    """The compiled kernel ``name`` (cached on disk), or None without Numba."""
    if name in _COMPILED:
        return _COMPILED[name]
    fn = compile_kernel(globals()["_" + name], parallel=name in _PARALLEL, fastmath=_FASTMATH)
    _COMPILED[name] = fn
    return fn


def set_threads(n: int) -> int:
    """Set Numba's thread count for the calling thread (clipped to its pool); return it."""
    import numba

    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


try:  # the Python bodies use prange; without Numba it is range
    from numba import prange
except ImportError:  # pragma: no cover - depends on the environment
    prange = range


# ------------------------------------------------------------------------------------ ALS
def _als_rows_cholesky(indptr, other, values, rows, fixed, fixed_bias, use_bias, mu, lam,
                       out_f, out_b):  # pragma: no cover - compiled; the body is the spec
    K = fixed.shape[1]
    k = out_f.shape[1]
    for t in prange(len(rows)):
        u = rows[t]
        A = np.zeros((K, K), dtype=fixed.dtype)
        b = np.zeros(K, dtype=fixed.dtype)
        lo = indptr[u]
        hi = indptr[u + 1]
        j = lo
        while j + 4 <= hi:
            i0 = other[j]
            i1 = other[j + 1]
            i2 = other[j + 2]
            i3 = other[j + 3]
            r0 = values[j] - mu
            r1 = values[j + 1] - mu
            r2 = values[j + 2] - mu
            r3 = values[j + 3] - mu
            if use_bias:
                r0 -= fixed_bias[i0]
                r1 -= fixed_bias[i1]
                r2 -= fixed_bias[i2]
                r3 -= fixed_bias[i3]
            for a in range(K):
                y0 = fixed[i0, a]
                y1 = fixed[i1, a]
                y2 = fixed[i2, a]
                y3 = fixed[i3, a]
                b[a] += y0 * r0 + y1 * r1 + y2 * r2 + y3 * r3
                for c in range(a + 1):
                    A[a, c] += (y0 * fixed[i0, c] + y1 * fixed[i1, c]
                                + y2 * fixed[i2, c] + y3 * fixed[i3, c])
            j += 4
        while j < hi:
            i0 = other[j]
            r0 = values[j] - mu
            if use_bias:
                r0 -= fixed_bias[i0]
            for a in range(K):
                y0 = fixed[i0, a]
                b[a] += y0 * r0
                for c in range(a + 1):
                    A[a, c] += y0 * fixed[i0, c]
            j += 1
        L = np.empty((K, K), dtype=np.float64)
        for a in range(K):
            for c in range(a + 1):
                L[a, c] = A[a, c]
            L[a, a] += lam[u, a]
        for a in range(K):  # Cholesky, lower triangle, in place
            s = L[a, a]
            for c in range(a):
                s -= L[a, c] * L[a, c]
            d = np.sqrt(s)
            L[a, a] = d
            for e in range(a + 1, K):
                s2 = L[e, a]
                for c in range(a):
                    s2 -= L[e, c] * L[a, c]
                L[e, a] = s2 / d
        x = np.empty(K, dtype=np.float64)
        for a in range(K):  # L z = b
            s = np.float64(b[a])
            for c in range(a):
                s -= L[a, c] * x[c]
            x[a] = s / L[a, a]
        for a in range(K - 1, -1, -1):  # L^T x = z
            s = x[a]
            for c in range(a + 1, K):
                s -= L[c, a] * x[c]
            x[a] = s / L[a, a]
        for a in range(k):
            out_f[u, a] = x[a]
        if use_bias:
            out_b[u] = x[k]


def _als_rows_cg(indptr, other, values, rows, fixed, fixed_bias, use_bias, mu, lam, out_f, out_b,
                 steps):  # pragma: no cover - compiled; the body is the spec
    K = fixed.shape[1]
    k = out_f.shape[1]
    for t in prange(len(rows)):
        u = rows[t]
        lo = indptr[u]
        hi = indptr[u + 1]
        x = np.zeros(K, dtype=np.float64)
        for a in range(k):
            x[a] = out_f[u, a]
        if use_bias:
            x[k] = out_b[u]
        r = np.empty(K, dtype=np.float64)
        for a in range(K):
            r[a] = -lam[u, a] * x[a]
        for j in range(lo, hi):  # r = b - A x
            i = other[j]
            e = values[j] - mu
            if use_bias:
                e -= fixed_bias[i]
            for a in range(K):
                e -= fixed[i, a] * x[a]
            for a in range(K):
                r[a] += e * fixed[i, a]
        p = r.copy()
        rs = 0.0
        for a in range(K):
            rs += r[a] * r[a]
        Ap = np.empty(K, dtype=np.float64)
        for _ in range(steps):
            if rs <= 1e-30:
                break
            for a in range(K):
                Ap[a] = lam[u, a] * p[a]
            for j in range(lo, hi):
                i = other[j]
                d = 0.0
                for a in range(K):
                    d += fixed[i, a] * p[a]
                for a in range(K):
                    Ap[a] += d * fixed[i, a]
            pAp = 0.0
            for a in range(K):
                pAp += p[a] * Ap[a]
            alpha = rs / pAp
            rs_new = 0.0
            for a in range(K):
                x[a] += alpha * p[a]
                r[a] -= alpha * Ap[a]
                rs_new += r[a] * r[a]
            beta = rs_new / rs
            for a in range(K):
                p[a] = r[a] + beta * p[a]
            rs = rs_new
        for a in range(k):
            out_f[u, a] = x[a]
        if use_bias:
            out_b[u] = x[k]


def _squared_error(users, items, values, P, Q, bu, bi, mu, biases
                   ):  # pragma: no cover - compiled; the body is the spec
    """Sum over ratings of (r - r̂)², in float64 (the training RMSE after an ALS epoch)."""
    k = P.shape[1]
    total = 0.0
    for n in prange(len(values)):
        u = users[n]
        i = items[n]
        pred = np.float64(mu)
        if biases:
            pred += bu[u] + bi[i]
        for f in range(k):
            pred += P[u, f] * Q[i, f]
        e = values[n] - pred
        total += e * e
    return total


# ------------------------------------------------------------------------------------ SGD
def _sgd_blocked(users, items, values, order, bounds, n_blocks, P, Q, bu, bi, mu, lr, reg, lr_b,
                 reg_b, biases):  # pragma: no cover - compiled; the body is the spec
    # order is grouped by block key ub * n_blocks + ib; bounds[key]..bounds[key + 1] its span;
    # the loop body is _sgd_range's, inlined (a compiled kernel cannot call a Python function)
    k = P.shape[1]
    parts = np.zeros(n_blocks * n_blocks)
    for s in range(n_blocks):
        for b in prange(n_blocks):
            key = b * n_blocks + (b + s) % n_blocks
            sq = 0.0
            for m in range(bounds[key], bounds[key + 1]):
                n = order[m]
                u = users[n]
                i = items[n]
                dot = mu
                if biases:
                    dot += bu[u] + bi[i]
                for f in range(k):
                    dot += P[u, f] * Q[i, f]
                err = values[n] - dot
                sq += err * err
                if biases:
                    bu[u] += lr_b * (err - reg_b * bu[u])
                    bi[i] += lr_b * (err - reg_b * bi[i])
                for f in range(k):
                    puf = P[u, f]
                    qif = Q[i, f]
                    P[u, f] = puf + lr * (err * qif - reg * puf)
                    Q[i, f] = qif + lr * (err * puf - reg * qif)
            parts[key] = sq
    return parts.sum()


def _group_by_key(order, key, n_keys):  # pragma: no cover - compiled; the body is the spec
    """Stable counting sort of ``order`` by ``key[order]``: (grouped order, bounds)."""
    counts = np.zeros(n_keys + 1, dtype=np.int64)
    for m in range(len(order)):
        counts[key[order[m]] + 1] += 1
    for q in range(n_keys):
        counts[q + 1] += counts[q]
    bounds = counts.copy()
    out = np.empty_like(order)
    for m in range(len(order)):
        n = order[m]
        q = key[n]
        out[counts[q]] = n
        counts[q] += 1
    return out, bounds


# ---------------------------------------------------------------------------------- SVD++
def _svdpp_epoch(indptr, items, values, user_order, rating_order, P, Q, Y, bu, bi, mu, lr, reg,
                 lr_b, reg_b, reg_y, wu, wi):  # pragma: no cover - compiled; the body is the spec
    """One SVD++ epoch over users in ``user_order``; ratings CSR by user (see module notes).

    ``wu``/``wi`` scale the penalties of each user's/item's parameters per rating visited.
    """
    k = P.shape[1]
    z = np.empty(k, dtype=P.dtype)
    acc = np.empty(k, dtype=P.dtype)
    sq = 0.0
    for t in range(len(user_order)):
        u = user_order[t]
        lo = indptr[u]
        hi = indptr[u + 1]
        if hi == lo:
            continue
        s = 1.0 / np.sqrt(hi - lo)
        for f in range(k):
            z[f] = 0.0
            acc[f] = 0.0
        for j in range(lo, hi):
            i = items[j]
            for f in range(k):
                z[f] += Y[i, f]
        for f in range(k):
            z[f] *= s
        for m in range(lo, hi):
            j = rating_order[m]
            i = items[j]
            dot = mu + bu[u] + bi[i]
            for f in range(k):
                dot += Q[i, f] * (P[u, f] + z[f])
            err = values[j] - dot
            sq += err * err
            ru = wu[u]
            ri = wi[i]
            bu[u] += lr_b * (err - reg_b * ru * bu[u])
            bi[i] += lr_b * (err - reg_b * ri * bi[i])
            for f in range(k):
                puf = P[u, f]
                qif = Q[i, f]
                P[u, f] = puf + lr * (err * qif - reg * ru * puf)
                Q[i, f] = qif + lr * (err * (puf + z[f]) - reg * ri * qif)
                acc[f] += err * qif
        for j in range(lo, hi):
            i = items[j]
            for f in range(k):
                Y[i, f] += lr * (s * acc[f] - reg_y * Y[i, f])
    return sq


def _svdpp_implicit(indptr, items, Y, out):  # pragma: no cover - compiled; the body is the spec
    """out[u] = |N(u)|^-1/2 sum_{j in N(u)} Y[j] for every user (zeros without ratings)."""
    k = Y.shape[1]
    for u in range(len(indptr) - 1):
        lo = indptr[u]
        hi = indptr[u + 1]
        for f in range(k):
            out[u, f] = 0.0
        if hi == lo:
            continue
        for j in range(lo, hi):
            i = items[j]
            for f in range(k):
                out[u, f] += Y[i, f]
        s = 1.0 / np.sqrt(hi - lo)
        for f in range(k):
            out[u, f] *= s
