"""What :func:`~matfit.factorize.nmf` returns and checks shared by its in-memory and Dask drivers.

Both ``_nmf`` (in memory) and ``_dask`` (chunked) build an :class:`NMFResult` and read
``fixed_W_columns`` the same way; keeping these here lets ``_nmf`` dispatch to ``_dask``
without the two importing each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import OptimizeResult

from .._errors import InvalidParameterError

__all__ = ["NMFResult"]


class NMFResult(OptimizeResult):
    """The result of :func:`nmf`, a :class:`scipy.optimize.OptimizeResult`.

    Attributes
    ----------
    W : ndarray, shape (features, components)
    H : ndarray, shape (components, samples)
    fun : float
        Final objective: ``divergence + penalty``.
    divergence : float
        Final beta-divergence D(X | W H) (half the squared Frobenius norm for beta = 2).
    penalty : float
        Final value of the L1/L2 penalties.
    nit : int
        Iterations run (one iteration updates H, then W).
    status : int
        0 converged (tol), 1 max_iter reached, 2 nothing to fit, 3 non-finite objective,
        4 ran max_iter with tol = 0, 5 max_iter = 0 (the initial factors), 6 every component
        collapsed to zero (W @ H = 0; with a warning), 7 and 8 converged under
        ``convergence="sklearn"`` (HALS and MU).
    success : bool
        True for status 0, 2, 4, 5, 7 and 8.
    message : str
        Why it stopped.
    history : ndarray, shape (checks,)
        The objective at each check (every ``check_every`` iterations, and at the end).
    history_nit : ndarray of int, shape (checks,)
        The iteration of each entry of ``history`` (0 = the initial factors).
    beta, solver, init : float, str, str
        What was fitted and how it started.
    """


def _fixed_mask(fixed: Any, k: int) -> np.ndarray:
    """A boolean (components,) mask from a mask or an index array of W's columns."""
    arr = np.asarray(fixed)
    if arr.dtype == bool:
        if arr.shape != (k,):
            raise InvalidParameterError(
                f"fixed_W_columns as a boolean mask must have one entry per component "
                f"({k}), got shape {arr.shape}"
            )
        return arr.copy()
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise InvalidParameterError(
            f"fixed_W_columns must be a boolean mask of length {k} or an array of column "
            f"indices, got {fixed!r}"
        )
    if arr.size and (arr.min() < -k or arr.max() >= k):
        bad = arr[(arr < -k) | (arr >= k)][0]
        raise InvalidParameterError(
            f"fixed_W_columns has index {int(bad)}, but W has {k} columns (components)"
        )
    mask = np.zeros(k, dtype=bool)
    mask[arr.astype(np.intp)] = True
    return mask
