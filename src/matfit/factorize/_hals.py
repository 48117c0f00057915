"""Hierarchical alternating least squares (HALS) for the Frobenius objective.

Implementation notes
--------------------
For X (features, samples) ~ W (features, components) @ H (components, samples), one HALS sweep
over the rows of H minimises 0.5 ||X - W H||^2 + l1 sum(H) + l2/2 ||H||^2 exactly in one row at a
time, the others held fixed (Cichocki & Phan 2009; Gillis & Glineur 2012):

    H[r] <- max(0, H[r] + (A[r] - l1 - (G + l2 I)[r] @ H) / (G[r, r] + l2)),
    A = W.T @ X  (components, samples),   G = W.T @ W  (components, components).

A and G are computed once per sweep with BLAS (the only products the size of X); the loop runs
over components only and each step is a (1, components) @ (components, samples) product, so a
sweep costs two X-sized GEMMs plus components^2 * samples flops, with no scalar loop. The rows
are updated in order and each uses the rows already updated (Gauss-Seidel), as scikit-learn's
coordinate descent does. W is updated by the same function on the transposed problem: pass
``W.T`` as the rows, ``H.T`` as the other factor and ``X.T`` (or the precomputed ``X @ H.T``).

A row whose Gram diagonal is zero (a component whose partner is all zero) is left as it is:
there is nothing to fit it to.

With ``measure=True`` the sweep also returns the l1 norm of the projected gradient met on the
way (each row's gradient taken just before that row is updated, the projection keeping only
descent directions at zero entries). This is scikit-learn's coordinate-descent "violation",
whose ratio to the first iteration's is its stopping rule; scikit-learn's cd updates one entry
at a time, but an entry's gradient depends only on its own row of the other components, so the
row-at-a-time sweep here meets the same gradients and makes the same steps.

References
----------
A. Cichocki and A.-H. Phan, "Fast local algorithms for large scale nonnegative matrix and
tensor factorizations", IEICE Trans. Fundamentals E92-A(3), 2009.
N. Gillis and F. Glineur, "Accelerated multiplicative updates and hierarchical ALS algorithms
for nonnegative matrix factorization", Neural Computation 24(4), 2012.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["hals_rows"]


def hals_rows(
    F: np.ndarray,
    cross: np.ndarray,
    gram: np.ndarray,
    *,
    rows: Iterable[int] | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    work: np.ndarray | None = None,
    measure: bool = False,
) -> np.ndarray | float:
    """One HALS sweep over the rows of F, in place.

    Parameters
    ----------
    F : ndarray, shape (components, n)
        The factor being updated, rows = components (H itself, or W.T). C-contiguous rows make
        each step a contiguous BLAS call.
    cross : ndarray, shape (components, n)
        ``other.T @ X`` for this factor: ``W.T @ X`` when F is H, ``H @ X.T`` when F is W.T.
    gram : ndarray, shape (components, components)
        ``other.T @ other``: ``W.T @ W`` when F is H, ``H @ H.T`` when F is W.T.
    rows : iterable of int, optional
        The rows to update (the learned components); all by default. Others stay bitwise.
    l1, l2 : float
        Scaled penalty weights of ``l1 * sum(F) + l2 / 2 * ||F||^2``.
    work : ndarray, shape (n,), optional
        Scratch row.
    measure : bool
        Also measure the projected gradient (see the module notes).

    Returns
    -------
    ndarray or float
        F, updated; with ``measure``, the l1 norm of the projected gradient instead.
    """
    n_rows = F.shape[0]
    order = range(n_rows) if rows is None else rows
    if measure:
        # each row's (negated) gradient is kept in its row of `grads` and the projection is
        # taken once after the sweep: a few whole-array operations instead of some per row
        order = list(order)
        start = F.copy() if rows is None else F[order]
        grads = np.empty_like(start)
    step = np.empty(F.shape[1], dtype=F.dtype) if work is None else work
    zero = F.dtype.type(0)  # a Python 0 makes np.maximum about 10x slower on float32 rows
    for i, r in enumerate(order):
        hess = float(gram[r, r]) + l2
        if hess <= 0.0 and not measure:
            continue
        # g = cross[r] - l1 - gram[r] @ F - l2 * F[r]  (the gradient of the row, negated)
        g = grads[i] if measure else step
        np.matmul(gram[r], F, out=g)
        np.subtract(cross[r], g, out=g)
        if l1:
            g -= l1
        if l2:
            g -= l2 * F[r]
        if hess <= 0.0:
            continue
        np.divide(g, hess, out=step)
        step += F[r]
        np.maximum(step, zero, out=F[r])
    if not measure:
        return F
    # |gradient|, except that at an entry that was 0 only a descent direction (g > 0) counts:
    # max(g, 0) everywhere plus max(-g, 0) where the entry was positive (no masked ufuncs,
    # which are an order of magnitude slower)
    descent = np.maximum(grads, zero)
    np.negative(grads, out=grads)
    np.maximum(grads, zero, out=grads)
    grads *= start > 0
    return float(descent.sum(dtype=np.float64)) + float(grads.sum(dtype=np.float64))
