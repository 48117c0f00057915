r"""Batched alternating least squares for biased matrix factorisation (kernels, no validation).

Model and objective
-------------------
.. math::

    \hat r_{ui} = \mu + b_u + b_i + p_u \cdot q_i

    J = \sum_{(u,i)\ \mathrm{observed}} (r_{ui} - \hat r_{ui})^2
        + \sum_u w_u (\lambda \lVert p_u \rVert^2 + \lambda_b b_u^2)
        + \sum_i w_i (\lambda \lVert q_i \rVert^2 + \lambda_b b_i^2)

with :math:`\mu` fixed (the training mean) and per-row weights :math:`w_u = n_u` (Zhou et al.'s
weighted-λ, "count"), :math:`\sqrt{n_u}` ("sqrt") or 1 ("none"), :math:`n_u` being the number of
ratings of user u. Without biases, :math:`\hat r_{ui} = p_u \cdot q_i` (and :math:`\mu = 0`).

The user half-step fixes every item and solves, for each user, the ridge problem in
:math:`x_u = [p_u, b_u]` over the augmented item rows :math:`y_i = [q_i, 1]`:

.. math::

    (Y_u^\top Y_u + w_u \operatorname{diag}(\lambda, \dots, \lambda, \lambda_b))\, x_u
        = Y_u^\top (r_u - \mu - b_{I_u})

which is the exact minimiser of J over that user's block, so J never increases across
half-steps. The item half-step is the same with the roles swapped.

Implementation notes
--------------------
* Batched, not per row: rows (users or items) are sorted by rating count and cut into chunks
  of rows whose counts differ by at most a quarter (or 4);
  a chunk's rows are gathered into a zero-padded (rows, longest, factors+1) block, the Gram
  matrices come from one stacked ``matmul`` and the systems from one stacked
  ``np.linalg.solve`` (LAPACK gesv per system, no Python loop per row). Sorting by count keeps
  the padding small; a chunk holds at most ``chunk_size`` padded ratings and ``max_batch``
  systems, so memory is O(chunk_size x factors + max_batch x factors^2), never users x items.
* Padding points at an extra all-zero row appended to the fixed side's factors, so padded slots
  add nothing to the Gram matrix or the right-hand side.
* BLAS threads: many small GEMMs and solves are far slower with OpenBLAS's threads fighting over
  them (PERF-NOTES: 60x at k = 64), so callers wrap a half-step in ``blas_single_thread()`` and
  spread chunks over ``n_threads`` Python threads instead (NumPy drops the GIL in ``take``,
  ``matmul`` and ``linalg``).
* A row with no rating gets zero factors and bias (its system would be singular with w = 0).
* With Numba installed, :func:`als_half_step` runs the compiled row kernels of ``_kernels``
  instead (``prange`` over rows, an exact Cholesky solve per row, or ``cg_steps`` conjugate
  gradient steps warm-started from the current factors); the batched NumPy form above stays
  as the fallback and as the reference the tests hold the kernels to.

References
----------
Y. Zhou, D. Wilkinson, R. Schreiber and R. Pan, "Large-scale parallel collaborative filtering
for the Netflix Prize", AAIM 2008 (ALS with weighted-λ regularisation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

__all__ = [
    "SidePlan",
    "als_half_step",
    "blas_single_thread",
    "build_side",
    "objective",
    "penalties",
    "predict_indices",
    "reg_weights",
]


@contextlib.contextmanager
def blas_single_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own thread count
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


class SidePlan(NamedTuple):
    """The ratings grouped by one side's rows (users or items), and how to batch them."""

    indptr: np.ndarray  # (rows + 1,) CSR row pointer
    other: np.ndarray  # (ratings + 1,) other side's index per rating, + sentinel = n_other
    values: np.ndarray  # (ratings + 1,) rating per position, + 0 sentinel
    counts: np.ndarray  # (rows,)
    chunks: list[tuple[np.ndarray, int]]  # (rows of the chunk, longest row in it)
    n_other: int
    visit: np.ndarray  # rows with ratings in a fixed shuffled order (balances prange's split)


def reg_weights(counts: np.ndarray, weighting: str) -> np.ndarray:
    """w per row: the count (Zhou's weighted-λ), its square root, or 1; 1 for empty rows."""
    c = counts.astype(np.float64)
    if weighting == "count":
        w = c
    elif weighting == "sqrt":
        w = np.sqrt(c)
    else:
        w = np.ones_like(c)
    w[counts == 0] = 1.0
    return w


def build_side(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int, n_cols: int,
               *, factors: int, chunk_size: int = 1 << 17, max_gram: int = 1 << 22) -> SidePlan:
    """Group ratings by ``rows`` (CSR) and plan the chunks of the batched solves.

    Parameters
    ----------
    rows, cols : ndarray of int, shape (ratings,)
        This side's and the other side's index of each rating.
    values : ndarray, shape (ratings,)
    n_rows, n_cols : int
    factors : int
        Number of unknowns per row (factors, plus one with biases), to size the chunks.
    chunk_size : int
        Most padded ratings gathered at once (memory: chunk_size x factors floats).
    max_gram : int
        Most Gram-matrix entries held at once (memory: max_gram floats).
    """
    counts = np.bincount(rows, minlength=n_rows)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    idx_dtype = np.int32 if n_cols < 2**31 - 1 else np.int64
    other = np.empty(len(rows) + 1, dtype=idx_dtype)
    other[:-1] = cols[order]
    other[-1] = n_cols
    vals = np.empty(len(rows) + 1, dtype=values.dtype)
    vals[:-1] = values[order]
    vals[-1] = 0
    max_batch = max(1, max_gram // (factors * factors))
    by_count = np.argsort(counts, kind="stable")
    by_count = by_count[counts[by_count] > 0]
    sorted_counts = counts[by_count]
    chunks = []
    s, n = 0, len(by_count)
    while s < n:
        window = sorted_counts[s:s + max_batch]
        # rows of similar length only, so that padding wastes at most ~25% of the work
        c0 = int(window[0])
        window = window[:int(np.searchsorted(window, c0 + max(4, c0 // 4), side="right"))]
        # padded size of the chunk [s, s + j) is j * window[j - 1], increasing in j
        padded = np.arange(1, len(window) + 1) * window
        j = max(1, int(np.searchsorted(padded, chunk_size, side="right")))
        chunks.append((by_count[s:s + j], int(window[j - 1])))
        s += j
    visit = np.flatnonzero(counts).astype(np.int64)
    np.random.default_rng(0).shuffle(visit)
    return SidePlan(indptr, other, vals, counts, chunks, n_cols, visit)


def _solve_chunk(plan: SidePlan, rows: np.ndarray, longest: int, fixed: np.ndarray,
                 fixed_bias: np.ndarray | None, mu: float, lam: np.ndarray,
                 out_factors: np.ndarray, out_bias: np.ndarray | None) -> None:
    start = plan.indptr[rows]
    span = np.arange(longest)
    pos = start[:, None] + span  # (batch, longest) positions in CSR order
    pos[span >= plan.counts[rows][:, None]] = len(plan.values) - 1  # padding -> sentinel
    other = plan.other[pos]
    X = fixed[other]  # (batch, longest, unknowns); sentinel row is zero
    target = plan.values[pos] - mu
    if fixed_bias is not None:
        target -= fixed_bias[other]
    Xt = X.transpose(0, 2, 1)
    A = np.matmul(Xt, X)  # (batch, unknowns, unknowns)
    rhs = np.matmul(Xt, target[..., None])  # (batch, unknowns, 1)
    d = np.arange(A.shape[-1])
    A[:, d, d] += lam[rows] if lam.ndim == 2 else lam[rows][:, None]
    sol = np.linalg.solve(A, rhs)[..., 0]
    k = out_factors.shape[1]
    out_factors[rows] = sol[:, :k]
    if out_bias is not None:
        out_bias[rows] = sol[:, k]


def als_half_step(plan: SidePlan, fixed_factors: np.ndarray, fixed_bias: np.ndarray | None,
                  mu: float, lam: np.ndarray, out_factors: np.ndarray,
                  out_bias: np.ndarray | None, *, n_threads: int = 1, cg_steps: int | None = None,
                  backend: str = "auto") -> None:
    """Solve every row of one side with the other side fixed (in place).

    Parameters
    ----------
    plan : SidePlan
        From :func:`build_side` for this side.
    fixed_factors : ndarray, shape (others, factors)
    fixed_bias : ndarray, shape (others,), or None without biases
    mu : float
        Global mean (0 without biases).
    lam : ndarray, shape (rows,) or (rows, unknowns)
        The penalty λ w_row per row, or per row and unknown (see :func:`penalties`).
    out_factors : ndarray, shape (rows, factors)
        Overwritten with the solution (rows without ratings: zeros). With ``cg_steps`` it is
        also the starting point.
    out_bias : ndarray, shape (rows,), or None without biases
    n_threads : int
        Threads over rows (compiled kernel) or over chunks (NumPy form, run inside
        :func:`blas_single_thread`).
    cg_steps : int, optional
        None: the exact solve (Cholesky or LAPACK). An int: that many conjugate-gradient steps
        from the current ``out_factors``/``out_bias`` (compiled kernel only).
    backend : {"auto", "numba", "numpy"}
        "auto": the compiled kernel when Numba is installed.
    """
    from . import _kernels

    n_other, k = fixed_factors.shape
    unknowns = k + (fixed_bias is not None)
    dtype = out_factors.dtype
    fixed = np.zeros((n_other + 1, unknowns), dtype=dtype)
    fixed[:n_other, :k] = fixed_factors
    if fixed_bias is not None:
        fixed[:n_other, k] = 1.0
        fixed_bias = np.append(fixed_bias, 0).astype(dtype, copy=False)
    lam = lam.astype(dtype, copy=False)
    mu = dtype.type(mu)
    empty = plan.counts == 0
    if empty.any():
        out_factors[empty] = 0
        if out_bias is not None:
            out_bias[empty] = 0
    name = "als_rows_cholesky" if cg_steps is None else "als_rows_cg"
    compiled = _kernels.kernel(name) if backend in ("auto", "numba") else None
    if compiled is None and (backend == "numba" or cg_steps is not None):
        raise ImportError(f"{'cg_steps' if cg_steps is not None else 'backend=numba'} needs "
                          f"Numba: pip install 'matfit[fast]'")
    if compiled is not None:
        lam2 = lam if lam.ndim == 2 else np.broadcast_to(lam[:, None], (len(lam), unknowns))
        bias = fixed_bias if fixed_bias is not None else np.zeros(1, dtype)
        ob = out_bias if out_bias is not None else np.zeros(1, dtype)
        _kernels.set_threads(n_threads)
        args = (plan.indptr, plan.other, plan.values, plan.visit, fixed, bias,
                fixed_bias is not None, mu, lam2, out_factors, ob)
        compiled(*args) if cg_steps is None else compiled(*args, int(cg_steps))
        return

    def work(chunk: tuple[np.ndarray, int]) -> None:
        _solve_chunk(plan, chunk[0], chunk[1], fixed, fixed_bias, mu, lam, out_factors,
                     out_bias)

    if n_threads <= 1 or len(plan.chunks) < 2:
        for chunk in plan.chunks:
            work(chunk)
    else:
        with ThreadPoolExecutor(n_threads) as pool:
            for _ in pool.map(work, plan.chunks):
                pass


def predict_indices(mu: float, user_bias: np.ndarray | None, item_bias: np.ndarray | None,
                    user_factors: np.ndarray, item_factors: np.ndarray, users: np.ndarray,
                    items: np.ndarray, *, chunk: int = 1 << 16) -> np.ndarray:
    """r̂ at (users[n], items[n]) pairs of known indices, in chunks: O(chunk x factors) memory."""
    dtype = user_factors.dtype
    out = np.empty(len(users), dtype=dtype)
    for lo in range(0, len(users), chunk):
        part = slice(lo, lo + chunk)
        u, i = users[part], items[part]
        pred = np.einsum("nk,nk->n", user_factors[u], item_factors[i])
        pred += dtype.type(mu)
        if user_bias is not None:
            pred += user_bias[u]
            pred += item_bias[i]  # type: ignore[index]
        out[part] = pred
    return out


def penalties(counts: np.ndarray, weighting: str, reg: float, reg_bias: float | None,
              factors: int) -> np.ndarray:
    """λ w_row per unknown: shape (rows, factors + 1) with biases, (rows,) without."""
    w = reg_weights(counts, weighting)
    if reg_bias is None:
        return reg * w
    lam = np.empty((len(counts), factors + 1))
    lam[:, :factors] = (reg * w)[:, None]
    lam[:, factors] = reg_bias * w
    return lam


def objective(values: np.ndarray, users: np.ndarray, items: np.ndarray, mu: float,
              user_bias: np.ndarray | None, item_bias: np.ndarray | None,
              user_factors: np.ndarray, item_factors: np.ndarray, lam_users: np.ndarray,
              lam_items: np.ndarray) -> float:
    """J of the module docstring, accumulated in float64.

    ``lam_users``/``lam_items`` are the per-row (or per-row-and-unknown) penalties that
    :func:`penalties` makes and :func:`als_half_step` takes.
    """
    pred = predict_indices(mu, user_bias, item_bias, user_factors, item_factors, users, items)
    resid = values.astype(np.float64) - pred
    total = float(resid @ resid)
    k = user_factors.shape[1]
    for lam, F, b in ((lam_users, user_factors, user_bias), (lam_items, item_factors, item_bias)):
        F2 = F.astype(np.float64) ** 2
        if lam.ndim == 1:
            total += float(lam @ F2.sum(axis=1))
        else:
            total += float(np.sum(lam[:, :k] * F2))
            total += float(lam[:, k] @ b.astype(np.float64) ** 2)  # type: ignore[union-attr]
    return total
