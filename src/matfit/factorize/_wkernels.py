"""Compiled (Numba) kernels of weighted Frobenius NMF with a 0/1 mask of few missing entries.

The Python bodies below are the specification; :func:`kernel` compiles them with Numba when it
is installed (the optional extra ``fast``) and returns None otherwise, in which case
:class:`matfit.factorize._wdata.DenseData` keeps its NumPy forms (a dense ``W @ H`` and,
for HALS, the X-sized weighted residual).

Implementation notes
--------------------
X (features, samples) ~ W (features, components) @ H (components, samples); the weights are
``V = 1 - C`` with C the (sparse) indicator of the missing entries. For beta = 2 everything
that involves V splits into the unweighted GEMM terms (``W.T @ (V * X)`` and the Gram matrices,
computed by BLAS outside these kernels) minus sums over the missing entries only, and those
need ``W @ H`` at the missing entries alone (``missing * components`` flops, not a dense
X-sized GEMM):

* MU (:func:`_mu_complement`): the denominator of the H step is
  ``W.T (V * W H) = (W.T W) H - W.T (C * W H)``; the kernel forms the second term column by
  column (for the W step, row by row of X, on the transposed problem).
* HALS (:func:`_hals_complement`): the columns of H are independent given W, so one weighted
  HALS sweep over the components equals, column by column, the same Gauss-Seidel sweep over
  that column's k coordinates (the order of the coordinates within a column is the row
  sweep's, so the iterates are the same up to rounding). For column j with missing rows M_j,
  component t:

      grad = A[t, j] - G[t] @ h + sum_{i in M_j} W[i, t] q_i - l1 - l2 h_t
      hess = sum_i W[i, t]^2 - sum_{i in M_j} W[i, t]^2 + l2
      h_t <- max(0, h_t + grad / hess),   q_i += W[i, t] * (change of h_t)

  with A = W.T (V * X), G = W.T W and q = (W h) at M_j kept up to date within the column. The
  curvature of the observed entries is a difference of two float64 sums; where it is within
  their rounding (4 * features * eps times the whole sum) of zero the column has no observed
  curvature in this component, and is left as it is, as the X-sized sweep does.

* KL (:func:`_missing_colsums`): the denominators of beta = 1 are ``W.T V = colsum(W) -
  W.T C``; the kernel adds up the other factor's rows at each column's missing entries.

Threads. Every column (sample for the H step, feature for the W step) is independent, so a call
may split the columns into one contiguous range per core, balanced by their number of missing
entries, and run the compiled loop (which releases the GIL) on each range in a small pool of
Python threads (:func:`_split`), when the fit's BLAS runs on one thread (:func:`kernel_threads`,
decided once per fit). With a multi-threaded OpenBLAS the other cores are not free: its
threads spin-wait after every product, and on 2 cores a split measured no faster (KL and
Frobenius MU the same, HALS 8% slower), so the kernels then run on the calling thread. With one
BLAS thread (``threadpoolctl.threadpool_limits(1)``, joblib or Dask workers) the split pays:
513 x 2000, k = 40, 10% missing, 2 cores, per iteration, HALS 9.4 -> 5.7 ms, Frobenius MU
3.3 -> 3.0 ms. Not Numba's ``prange``: its OpenMP pool spin-waits as well, and under load a
``prange`` version took 11-24 ms where the serial loop took 0.4 ms. Each column's result is
written by one thread, in the serial loop's order, so results do not depend on the split (bit
for bit).

Sums over the missing entries are accumulated in float64 where the kernels say so;
``fastmath`` only reassociates sums (SIMD), deterministically for given inputs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .._numba import compile_kernel

__all__ = ["kernel"]

_COMPILED: dict[str, Any] = {}
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}  # SIMD dot products; no NaN/inf change


def kernel(name: str) -> Any:
    """The compiled kernel ``name`` (cached on disk), or None without Numba (or with
    ``MATFIT_DISABLE_NUMBA`` set)."""
    if name in _COMPILED:
        return _COMPILED[name]
    fn = compile_kernel(globals()["_" + name], fastmath=_FASTMATH)
    _COMPILED[name] = fn
    return fn


def _mu_complement(indptr, idx, O, OL, Ft, out, sq, c0, c1):  # pragma: no cover - compiled
    """``out[c] = sum_{e in c's missing} q_e OL[idx[e]]`` with ``q_e = O[idx[e]] @ Ft[c]``,
    and ``sq[c] = sum q_e^2`` (float64), for the columns c in ``[c0, c1)``.

    H step: c runs over samples, ``O = OL = W`` (features, components), ``Ft = H.T``, and
    ``out`` (samples, components) is ``(W.T (C * W H)).T``. W step: c runs over features,
    ``O = H.T``, ``OL = H[learned].T``, ``Ft = W``, and ``out`` (features, learned) is
    ``(C * W H) @ H[learned].T``. ``indptr``/``idx`` list each c's missing entries (C's CSC
    for the H step, its CSR for the W step). An ``OL`` without columns gives ``sq`` alone.
    Four entries at a time: one pass over ``Ft[c]`` and ``out[c]`` serves four.
    """
    k = Ft.shape[1]
    kl = OL.shape[1]
    zero = O.dtype.type(0)
    for c in range(c0, c1):
        f = Ft[c]
        acc = out[c]
        acc[:] = zero
        total = 0.0
        e = indptr[c]
        hi = indptr[c + 1]
        while e + 4 <= hi:
            p0 = idx[e]
            p1 = idx[e + 1]
            p2 = idx[e + 2]
            p3 = idx[e + 3]
            q0 = zero
            q1 = zero
            q2 = zero
            q3 = zero
            for s in range(k):
                fs = f[s]
                q0 += O[p0, s] * fs
                q1 += O[p1, s] * fs
                q2 += O[p2, s] * fs
                q3 += O[p3, s] * fs
            for t in range(kl):
                acc[t] += q0 * OL[p0, t] + q1 * OL[p1, t] + q2 * OL[p2, t] + q3 * OL[p3, t]
            total += (float(q0) * q0 + float(q1) * q1) + (float(q2) * q2 + float(q3) * q3)
            e += 4
        while e < hi:
            p0 = idx[e]
            q0 = zero
            for s in range(k):
                q0 += O[p0, s] * f[s]
            for t in range(kl):
                acc[t] += q0 * OL[p0, t]
            total += float(q0) * q0
            e += 1
        sq[c] = total


def _missing_colsums(indptr, idx, O, out, c0, c1):  # pragma: no cover - compiled; the spec
    """``out[c] = sum_{e in c's missing} O[idx[e]]`` for the columns c in ``[c0, c1)``: the
    beta = 1 denominators' missing part (H step: ``O = W``, ``out`` is ``(W.T C).T``; W step:
    ``O = H[learned].T``, ``out`` is ``C @ H[learned].T``)."""
    k = O.shape[1]
    zero = O.dtype.type(0)
    for c in range(c0, c1):
        acc = out[c]
        acc[:] = zero
        e = indptr[c]
        hi = indptr[c + 1]
        while e + 4 <= hi:
            p0 = idx[e]
            p1 = idx[e + 1]
            p2 = idx[e + 2]
            p3 = idx[e + 3]
            for t in range(k):
                acc[t] += (O[p0, t] + O[p1, t]) + (O[p2, t] + O[p3, t])
            e += 4
        while e < hi:
            p0 = idx[e]
            for t in range(k):
                acc[t] += O[p0, t]
            e += 1


def _fill_missing(indptr, idx, O, Ft, Xf, sq, c0, c1):  # pragma: no cover - compiled; the spec
    """``Xf[c, idx[e]] = O[c] @ Ft[idx[e]]`` for the missing entries e of the rows c in
    ``[c0, c1)``, and ``sq[c] = (sum of their squares, their sum)`` (float64): ``W @ H``
    written into ``Xf`` at the missing entries (``O = W`` (features, components), ``Ft = H.T``,
    ``indptr``/``idx`` C's CSR), the EM fill of :class:`matfit.factorize._weighted.EMFit`.
    Four entries at a time, with two partial sums of squares: independent dot products keep
    the core busy while each waits for its row of ``Ft`` (513 x 2000, k = 40, 10% missing:
    0.36 -> 0.28 ms a fill)."""
    k = O.shape[1]
    zero = O.dtype.type(0)
    for c in range(c0, c1):
        w = O[c]
        row = Xf[c]
        t0 = 0.0
        t1 = 0.0
        u = 0.0
        e = indptr[c]
        hi = indptr[c + 1]
        while e + 4 <= hi:
            j0 = idx[e]
            j1 = idx[e + 1]
            j2 = idx[e + 2]
            j3 = idx[e + 3]
            a0 = zero
            a1 = zero
            a2 = zero
            a3 = zero
            for s in range(k):
                ws = w[s]
                a0 += ws * Ft[j0, s]
                a1 += ws * Ft[j1, s]
                a2 += ws * Ft[j2, s]
                a3 += ws * Ft[j3, s]
            row[j0] = a0
            row[j1] = a1
            row[j2] = a2
            row[j3] = a3
            t0 += float(a0) * a0 + float(a1) * a1
            t1 += float(a2) * a2 + float(a3) * a3
            u += (float(a0) + float(a1)) + (float(a2) + float(a3))
            e += 4
        while e < hi:
            j0 = idx[e]
            a0 = zero
            for s in range(k):
                a0 += w[s] * Ft[j0, s]
            row[j0] = a0
            t0 += float(a0) * a0
            u += float(a0)
            e += 1
        sq[c, 0] = t0 + t1
        sq[c, 1] = u


#: columns that one call of :func:`_hals_complement` sweeps in lockstep (see there)
LANES = 4


def _hals_complement(indptr, idx, O, F, A, G, diag, n_rows, l1, l2, rel,
                     c0, c1):  # pragma: no cover - compiled; the spec
    """One weighted HALS sweep over the first ``n_rows`` rows of F, columns ``[c0, c1)``, in
    place.

    ``F`` (components, columns) is H (``O = W``, the other factor as (features, components),
    ``indptr``/``idx`` C's CSC) or W.T (``O = H.T``, C's CSR); ``A[t, c]`` is ``other.T (V *
    X)`` for the updated rows, ``G`` (n_rows, components) the Gram rows of the other factor,
    ``diag`` (n_rows,) their diagonal in float64, ``rel`` the relative rounding threshold of
    the curvature. See the module notes. The other factor's values at a column's missing
    entries are gathered once into ``B`` (components, missing), so each coordinate step is
    a few contiguous passes over them, and the observed curvature of every coordinate is
    summed there too. Each coordinate step depends on the one before it (through ``h`` and
    ``q``), so a column alone is a chain of short dependent loops; :data:`LANES` columns are
    swept in lockstep, coordinate by coordinate, so that their independent chains overlap
    (513 x 2000, k = 40, 10% missing, one thread, random factors: the H side, about 50 missing
    entries a column, 5.4 -> 3.8 ms with 4 lanes, 8 lanes 3.7; the W side, about 200, 3.7 -> 3.5
    ms; inside a fit from a random start, per sweep: H 5.0 -> 4.2 ms, W unchanged at 2.7).
    Each column runs the same arithmetic in the same order whichever lane it is in, so a
    column's result does not depend on the split into threads or lanes. (Fusing one
    step's update of ``q`` with the next step's correction into one pass measured 5% slower.)
    """
    k = F.shape[0]
    zero = F.dtype.type(0)
    widest = 0
    for c in range(c0, c1):
        widest = max(widest, indptr[c + 1] - indptr[c])
    B = np.empty((LANES, k, widest), dtype=O.dtype)
    q = np.empty((LANES, widest), dtype=O.dtype)
    h = np.empty((LANES, k), dtype=F.dtype)
    hess = np.empty((LANES, n_rows), dtype=np.float64)
    c = c0
    while c < c1:
        lanes = min(LANES, c1 - c)
        for j in range(lanes):  # gather each lane's column; its q = (W h) at the missing
            lo = indptr[c + j]
            nm = indptr[c + j + 1] - lo
            Bj = B[j]
            qj = q[j]
            hj = h[j]
            for e in range(nm):
                p = idx[lo + e]
                for s in range(k):
                    Bj[s, e] = O[p, s]
            for s in range(k):
                hj[s] = F[s, c + j]
            qj[:nm] = zero
            for s in range(k):
                hs = hj[s]
                for e in range(nm):
                    qj[e] += Bj[s, e] * hs
            for t in range(n_rows):
                miss = 0.0
                for e in range(nm):
                    b = Bj[t, e]
                    miss += float(b) * b
                curv = diag[t] - miss
                if curv <= rel * diag[t]:
                    curv = 0.0  # no observed entry with a nonzero partner (to rounding)
                hess[j, t] = curv + l2
        for t in range(n_rows):
            Gt = G[t]
            for j in range(lanes):
                ht = hess[j, t]
                if ht <= 0.0:
                    continue
                nm = indptr[c + j + 1] - indptr[c + j]
                Bt = B[j, t]
                qj = q[j]
                hj = h[j]
                corr = zero
                for e in range(nm):
                    corr += Bt[e] * qj[e]
                g = A[t, c + j] + corr
                for s in range(k):
                    g -= Gt[s] * hj[s]
                g = g - l1 - l2 * hj[t]
                new = hj[t] + g / ht
                if new < 0.0:
                    new = 0.0
                old = hj[t]
                hj[t] = new  # rounded to F's dtype, as the row sweep stores it
                delta = hj[t] - old
                if delta != 0.0:
                    for e in range(nm):
                        qj[e] += Bt[e] * delta
        for j in range(lanes):
            for s in range(n_rows):
                F[s, c + j] = h[j, s]
        c += lanes


# ------------------------------------------------------------------------ NumPy-facing calls
#: below this many missing entries a call runs on the calling thread (a pool hand-off costs
#: some tens of microseconds; 20000 entries at 40 components are about 0.1 ms of work)
SPLIT_MIN = 20_000
_POOL: list[Any] = []  # [ThreadPoolExecutor], made on first use


def _threads() -> int:
    """Cores this process may use (its CPU affinity where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def kernel_threads() -> int:
    """Threads for the kernels of one fit: every core when each loaded BLAS runs on one thread
    (threadpoolctl reports it), else 1 (see the module notes: a multi-threaded OpenBLAS's
    spinning threads hold the other cores). 1 without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - the optional extra ``fast`` brings it
        return 1
    blas = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    if blas and all(lib.get("num_threads") == 1 for lib in blas):
        return _threads()
    return 1


def _split(indptr: np.ndarray, run: Callable[[int, int], Any], threads: int) -> None:
    """``run(c0, c1)`` over contiguous column ranges with about equal numbers of missing
    entries, at most ``threads`` of them, the last on the calling thread (see the module
    notes)."""
    n_cols = len(indptr) - 1
    total = int(indptr[-1])
    parts = min(threads, max(1, total // SPLIT_MIN), n_cols)
    if parts <= 1:
        run(0, n_cols)
        return
    bounds = np.searchsorted(indptr, np.linspace(0, total, parts + 1)[1:-1]).tolist()
    edges = [0, *bounds, n_cols]
    if not _POOL:
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(max_workers=max(1, _threads() - 1),
                                        thread_name_prefix="matfit-nmf"))
    futures = [_POOL[0].submit(run, edges[i], edges[i + 1]) for i in range(parts - 1)]
    run(edges[-2], edges[-1])
    for fut in futures:
        fut.result()


def missing_sums(by: tuple[np.ndarray, np.ndarray], O: np.ndarray, OL: np.ndarray,
                 Ft: np.ndarray, threads: int = 1) -> tuple[np.ndarray, float]:
    """(out, sum of q^2) of :func:`_mu_complement`; O, OL, Ft C-contiguous; ``threads``: at
    most that many column ranges (:func:`kernel_threads`)."""
    out = np.empty((Ft.shape[0], OL.shape[1]), dtype=Ft.dtype)
    sq = np.empty(Ft.shape[0], dtype=np.float64)
    fn = kernel("mu_complement")
    _split(by[0], lambda c0, c1: fn(by[0], by[1], O, OL, Ft, out, sq, c0, c1), threads)
    return out, float(sq.sum())


def missing_colsums(by: tuple[np.ndarray, np.ndarray], O: np.ndarray,
                    threads: int = 1) -> np.ndarray:
    """:func:`_missing_colsums` for every column, shape (columns, O's columns); O
    C-contiguous; ``threads`` as in :func:`missing_sums`."""
    out = np.empty((len(by[0]) - 1, O.shape[1]), dtype=O.dtype)
    fn = kernel("missing_colsums")
    _split(by[0], lambda c0, c1: fn(by[0], by[1], O, out, c0, c1), threads)
    return out


def hals_sweep(by: tuple[np.ndarray, np.ndarray], O: np.ndarray, F: np.ndarray, A: np.ndarray,
               G: np.ndarray, diag: np.ndarray, n_rows: int, l1: float, l2: float,
               threads: int = 1) -> None:
    """:func:`_hals_complement` on F in place. The observed curvature is a difference of two
    float64 sums of at most ``O.shape[0]`` terms each: within their rounding it is zero.
    ``threads`` as in :func:`missing_sums`."""
    rel = 4.0 * O.shape[0] * float(np.finfo(np.float64).eps)
    fn = kernel("hals_complement")
    n_rows, l1, l2 = int(n_rows), float(l1), float(l2)
    _split(by[0], lambda c0, c1: fn(by[0], by[1], O, F, A, G, diag, n_rows, l1, l2, rel,
                                    c0, c1), threads)


def fill_missing(by: tuple[np.ndarray, np.ndarray], O: np.ndarray, Ft: np.ndarray,
                 Xf: np.ndarray, threads: int = 1) -> tuple[float, float]:
    """:func:`_fill_missing` on Xf in place; (sum of the squares written, their sum), float64.
    O, Ft and Xf C-contiguous; ``threads`` as in :func:`missing_sums`."""
    sq = np.empty((len(by[0]) - 1, 2), dtype=np.float64)
    fn = kernel("fill_missing")
    _split(by[0], lambda c0, c1: fn(by[0], by[1], O, Ft, Xf, sq, c0, c1), threads)
    total = sq.sum(axis=0)
    return float(total[0]), float(total[1])
