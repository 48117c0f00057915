"""``choose_rank``: the number of NMF components from the divergence on held-out entries.

Implementation notes
--------------------
* Cross-validation by entries (Wold 1978; Owen & Perry 2009 "bi-cross-validation" hold out
  blocks, Kanagal & Sindhwani 2010 and Gillis' book hold out entries): a random share of the
  OBSERVED entries is given weight 0, each candidate rank is fitted on the rest with the
  weighted NMF of :func:`matfit.factorize.nmf`, and the divergence of ``W H`` from X on the
  hidden entries is averaged per hidden entry. Too small a rank underfits everywhere; too
  large a rank fits the noise of the training entries and predicts the hidden ones worse, so
  the held-out divergence has a minimum near the rank of the signal.
* Folds are disjoint sets of hidden entries while ``n_folds * holdout <= 1``, independent draws
  otherwise. Every candidate sees the same folds and the same seed, so differences between
  ranks are not differences between draws.
* A hidden entry that is the last observed one of its row or column is given back to the
  training set (the first such of the fold, in the order drawn): the fit has nothing to learn
  that row's factors from, so its prediction there would be the initialisation, noise that
  no rank explains. Each row and column with an observed entry keeps one in every fold, and
  ``n_scored`` counts the entries each fold scores.
* The chosen rank is the minimiser of the mean held-out divergence (``rule="min"``), or the
  smallest rank whose mean is within one standard error of that minimum (``rule="1se"``, the
  usual guard against picking a noisy larger rank).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult

from .._errors import ConvergenceWarning, DataError, InvalidParameterError
from .._params import integer_at_least
from ..numerics import resolve_beta
from . import _mu, _wdata
from ._nmf import nmf

__all__ = ["RankResult", "choose_rank"]


class RankResult(OptimizeResult):
    """The result of :func:`choose_rank`.

    Attributes
    ----------
    n_components : int
        The chosen rank.
    candidates : ndarray of int, shape (candidates,)
    heldout : ndarray, shape (folds, candidates)
        Mean divergence per hidden entry (weighted mean when weights are not 0/1), per fold.
    heldout_mean, heldout_std : ndarray, shape (candidates,)
        Its mean and standard deviation over the folds.
    train : ndarray, shape (candidates,)
        Mean divergence per training entry, averaged over the folds (it keeps falling with k).
    beta : float
    rule : str
    n_hidden : int
        Entries drawn to be hidden per fold.
    n_scored : ndarray of int, shape (folds,)
        Entries hidden and scored in each fold: ``n_hidden`` less those given back so that no
        row or column loses its last observed entry.
    """


def _observed(X: Any, weights: Any) -> tuple[Any, Any]:
    """(X, weights), with NaN entries read as missing (weight 0) when ``weights`` is None."""
    if sp.issparse(X) and weights is None:
        raise InvalidParameterError(
            "choose_rank on a sparse X needs weights='stored' (hold out among the stored "
            "entries, the ratings view) or sparse weights; for zeros that are data pass "
            "X.toarray().")
    if weights is None:
        X = np.asarray(X)
        if X.dtype.kind not in "biuf":
            X = np.asarray(X, dtype=np.float64)
        weights = (~np.isnan(X)).astype(np.float64) if X.dtype.kind == "f" else np.ones(
            X.shape)
        if X.size and not weights.any():
            raise DataError(f"Every entry of X (shape {X.shape}) is NaN, i.e. missing: there "
                            f"is nothing to fit or hold out.")
    return X, weights


def _give_back(hidden: np.ndarray, rows: np.ndarray, cols: np.ndarray, obs_rows: np.ndarray,
               obs_cols: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``hidden`` less the entries that would leave a row or column with no training entry.

    ``rows``/``cols`` locate the hidden entries, ``obs_rows``/``obs_cols`` all observed ones.
    Rows first: each row left empty gets its first hidden entry back; then each column still
    empty (a given-back entry may already have filled it) gets its first one back.
    """
    keep = np.ones(hidden.size, dtype=bool)
    for axis, (where, observed) in enumerate(((rows, obs_rows), (cols, obs_cols))):
        n = shape[axis]
        # training entries per row (column): observed, less hidden, plus those given back
        train = (np.bincount(observed, minlength=n) - np.bincount(where[keep], minlength=n))
        lines, first = np.unique(where[keep], return_index=True)
        empty = train[lines] == 0
        if empty.any():
            keep[np.flatnonzero(keep)[first[empty]]] = False
    return hidden[keep]


def choose_rank(
    X: Any,
    candidates: Iterable[int],
    *,
    holdout: float = 0.1,
    n_folds: int = 3,
    beta: float | str = "frobenius",
    weights: Any = None,
    solver: str = "auto",
    init: str | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
    rule: str = "min",
    seed: int | None = None,
    **options: Any,
) -> RankResult:
    """Choose the number of NMF components from the divergence on held-out entries.

    Parameters
    ----------
    X : array_like or scipy.sparse matrix, shape (features, samples)
        Non-negative data. NaN entries are missing (when ``weights`` is None).
    candidates : iterable of int
        The ranks to try, e.g. ``range(1, 11)``.
    holdout : float in (0, 1)
        Share of the observed entries hidden in each fold.
    n_folds : int
        Number of folds (disjoint hidden sets while ``n_folds * holdout <= 1``).
    beta : float or str
        The divergence fitted and measured (as :func:`matfit.factorize.nmf`).
    weights : array_like, scipy.sparse matrix or "stored", optional
        As in :func:`~matfit.factorize.nmf`; entries with weight 0 are never hidden or scored.
        A sparse X needs ``"stored"`` (or sparse weights).
    solver : {"auto", "mu", "hals"}
        "auto" is HALS for beta = 2 (it converges far faster, and an under-converged large rank
        looks like a good one) and MU otherwise.
    init, max_iter, tol
        Passed to :func:`~matfit.factorize.nmf` for every fit; the defaults are tighter than
        nmf's, since a comparison between ranks needs fits that have converged.
    rule : {"min", "1se"}
        The smallest mean held-out divergence, or the smallest rank within one standard error
        of it.
    seed : int or None
        Draws the folds and seeds every fit.
    **options
        Further keywords of :func:`~matfit.factorize.nmf` (``alpha_W``, ``l1_ratio``, ...).

    Returns
    -------
    RankResult
        ``n_components``, ``candidates``, ``heldout`` (folds, candidates), ``heldout_mean``,
        ``heldout_std``, ``train``.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.factorize import choose_rank
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 3)) @ rng.random((3, 60)) + 0.01 * rng.random((40, 60))
    >>> choose_rank(X, range(1, 7), seed=0).n_components
    3
    """
    beta_value = resolve_beta(beta)
    if isinstance(candidates, (int, np.integer, float, str)):
        raise InvalidParameterError(
            f"choose_rank(candidates={candidates!r}): candidates is the ranks to try, an "
            f"iterable of ints such as range(1, 11) (or [{candidates!r}] for one rank).")
    cands = np.array(sorted({int(integer_at_least(k, "candidates", 1)) for k in candidates}))
    if cands.size == 0:
        raise InvalidParameterError("choose_rank needs at least one candidate rank.")
    if not 0 < holdout < 1:
        raise InvalidParameterError(f"holdout must lie in (0, 1), got {holdout!r}")
    n_folds = integer_at_least(n_folds, "n_folds", 1)
    if rule not in ("min", "1se"):
        raise InvalidParameterError(f"rule must be 'min' or '1se', got {rule!r}")
    if solver == "auto":
        solver = "hals" if beta_value == 2 else "mu"
    X, weights = _observed(X, weights)
    data = _wdata.make_data(X, weights, beta_value)   # validates X against its weights
    if not data.observed and cands[-1] > min(data.shape):  # before any fit, not after some
        raise InvalidParameterError(
            f"candidate rank {cands[-1]} exceeds min(features, samples) = {min(data.shape)}: "
            f"pass candidates up to {min(data.shape)}.")
    v = data.V if data.observed else data.V.ravel()
    obs = np.flatnonzero(v > 0)
    if obs.size < 2:
        raise InvalidParameterError(
            f"choose_rank needs at least 2 observed entries (one to fit, one to hold out), "
            f"but X has {obs.size}: pass the number of components yourself.")
    n_hidden = max(1, round(holdout * obs.size))
    if obs.size - n_hidden < 1:
        raise InvalidParameterError(
            f"holdout={holdout} hides all {obs.size} observed entries: lower it (at most "
            f"{(obs.size - 1) / obs.size:.3g} leaves one to fit).")
    if data.observed:
        coord_rows, coord_cols = _mu._stored_indices(data.pattern)
    else:
        coord_rows, coord_cols = np.divmod(np.arange(v.size), data.shape[1])
    rng = np.random.default_rng(seed)
    perm = rng.permutation(obs)
    disjoint = n_folds * n_hidden <= obs.size
    fit_seeds = rng.integers(0, 2**31, size=n_folds)
    Xfit = _wdata.init_standin(data) if data.observed else data.X
    heldout = np.empty((n_folds, cands.size))
    n_scored = np.zeros(n_folds, dtype=np.intp)
    train = np.zeros(cands.size)
    for f in range(n_folds):
        hidden = perm[f * n_hidden:(f + 1) * n_hidden] if disjoint else rng.choice(
            obs, n_hidden, replace=False)
        hidden = _give_back(hidden, coord_rows[hidden], coord_cols[hidden], coord_rows[obs],
                            coord_cols[obs], data.shape)
        n_scored[f] = hidden.size
        if hidden.size == 0:
            raise InvalidParameterError(
                f"every entry hidden in fold {f} is the last observed one of its row or "
                f"column, so none can be held out: X has too few observed entries per row "
                f"and column for choose_rank ({obs.size} in all); pass the number of "
                f"components yourself.")
        v_train = v.copy()
        v_train[hidden] = 0
        if data.observed:
            V_train = _mu._with_data(data.pattern, v_train)
        else:
            V_train = v_train.reshape(data.shape)
        v_test = np.zeros_like(v)
        v_test[hidden] = v[hidden]
        for c, k in enumerate(cands):
            with warnings.catch_warnings():  # a capped fit still ranks: see max_iter
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = nmf(Xfit, int(k), beta=beta_value, weights=V_train, solver=solver,
                          init=init, max_iter=max_iter, tol=tol, seed=int(fit_seeds[f]),
                          **options)
            wh = data.product(np.ascontiguousarray(res.W.T), res.H, None)
            wh = wh if data.observed else wh.ravel()
            x = data.x if data.observed else data.X.ravel()
            heldout[f, c] = _wdata._divergence_sum(x[hidden], wh[hidden], v_test[hidden],
                                                      beta_value) / float(v[hidden].sum())
            train[c] += res.divergence / float(v_train.sum()) / n_folds
    mean = heldout.mean(axis=0)
    std = heldout.std(axis=0, ddof=1) if n_folds > 1 else np.zeros_like(mean)
    best = int(np.argmin(mean))
    if rule == "1se":
        se = std[best] / np.sqrt(n_folds)
        best = int(np.flatnonzero(mean <= mean[best] + se)[0])
    return RankResult(n_components=int(cands[best]), candidates=cands, heldout=heldout,
                      heldout_mean=mean, heldout_std=std, train=train, beta=beta_value,
                      rule=rule, n_hidden=int(n_hidden), n_scored=n_scored, n_folds=n_folds)
