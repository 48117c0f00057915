"""Weighted beta-NMF: fit only what was observed, ``sum V_ij d_beta(X_ij | (W H)_ij)``.

Implementation notes
--------------------
* X (features, samples) ~ W (features, components) @ H (components, samples), as in
  :mod:`._nmf`. ``V`` (X's shape) holds non-negative weights; an entry with weight 0 is
  missing and X may hold anything there (NaN, inf, a stale value): it is replaced by a fixed
  finite value before any arithmetic and multiplied by its zero weight, so the fit does not
  depend on it, bit for bit.
* MU (Févotte & Idier 2011; weights enter every entry's term): with
  ``Y = W H``, ``R = V * X * Y^(beta-2)`` and ``P = V * Y^(beta-1)``,

      H <- H * ((W.T R) / (W.T P + l1 + l2 H))^gamma(beta),   W <- W * ((R H.T) / (P H.T ...))^gamma

  The auxiliary function of the unweighted proof is a sum over entries, and a non-negative
  weight on each entry keeps every term a majoriser, so the same exponents gamma(beta) make the
  weighted objective non-increasing. beta = 1 has ``P = V`` and beta = 2 ``R = V * X``: both
  are constants of the fit.
* HALS (beta = 2) with weights no longer has a (components x components) Gram matrix, so it
  keeps the weighted residual ``E = V * (X - W H)`` and updates one row at a time (exact
  coordinate minimisation of each row; Ho 2008, Gillis & Glineur 2012):

      h_r <- max(0, h_r + (w_r.T E - l1 - l2 h_r) / ((w_r^2).T V + l2)),
      E   <- E - V * outer(w_r, h_r_new - h_r_old)

  where a column with zero weighted curvature is left as it is. A sweep costs a few passes over
  X per component (matrix-vector work instead of GEMMs).
* 0/1 weights with few zeros (the usual "NaN = missing" case, at most
  ``DenseData.COMPLEMENT_SHARE`` missing), with Numba: beta = 2 MU and HALS need ``W @ H``
  only at the missing entries (:mod:`._wkernels`), so an iteration is the unweighted one's
  GEMMs (of ``V * X``) plus O(missing * components) work, and the objective checks use the
  unweighted trace formula minus the missing entries' share; KL's denominators are the
  unweighted column sums minus the missing rows. HALS then sweeps column by column, which
  gives the row sweep's iterates (the columns are independent given the other factor).
* EM (:class:`EMFit`; ``nmf(em=...)``, see :func:`uses_em` for when it is the default:
  0/1 weights with at most ``COMPLEMENT_SHARE`` missing at beta = 2, both factors learned,
  no entirely missing line): each iteration sets the missing entries of ``V * X`` to the
  current ``W @ H`` and runs one *unweighted* MU or HALS iteration on that filled X. Its
  objective ``D_beta(X_filled | W H)`` equals the weighted one where it is filled and
  exceeds it elsewhere (the missing entries' divergences from the fill), so this is an MM
  algorithm for the weighted objective (non-increasing; the same stationary points, where
  the gradients agree); beta 1 too, on request. Why: the weighted updates need
  ``W.T (V * W H)`` (Frobenius MU) or a sequential coordinate sweep per column (HALS), and
  even with the compiled complement kernels they cost far above the unweighted iteration
  (513 x 2000 float32, k = 40, 10% missing, 2 cores, per iteration: Frobenius MU 2.1x,
  HALS 6.1x the unweighted one). The fill is ``W @ H`` at the missing entries only
  (missing * components flops, :func:`._wkernels._fill_missing`, 0.28 ms there): EM costs
  1.3-1.5x the unweighted iteration at 10% missing (MU and HALS, over repeated runs on the
  shared machine; 1.1-1.35x at 2-5%, 1.6-1.7x at 20%). EM gains a little less per
  iteration, and reaches the objective of 100 weighted iterations 1.1-1.4x sooner with
  Frobenius MU and 2.4-3.0x sooner with HALS (rank-40 plus noise, the same size;
  ``benchmarks/nmf_missing.py`` part a2); its fills of hidden spectrogram bins are as good
  or better (Frobenius k = 40, 20% hidden: MU 0.37 against 0.89, HALS 0.48 against 10.1
  relative error, where the weighted updates overfit). Without Numba the fill comes from a
  dense ``W @ H`` (one more GEMM), with the same iterates.
* Two data layouts share one interface (``product``, ``terms``, ``left``, ``right`` and the
  HALS row operations), in :mod:`._wdata` beside the validation of X against its weights:
  ``DenseData`` for dense weights (X-sized arrays), and ``ObservedData`` for sparse weights
  (or ``weights="stored"`` on a sparse X), which keeps only the observed entries'
  coordinates and values: memory O(nnz + (features + samples) components), never an X-sized
  array, for any beta (only observed entries enter the objective, so the missing mass of
  ``W H`` that restricts unweighted sparse X to beta in {1, 2} never appears).
* The loop is :class:`matfit.factorize._loop.Fit`'s (checks, stopping, floors, guard,
  ``normalize_W``): :class:`WeightedFit` overrides only the steps and the objective.

References
----------
C. Févotte and J. Idier, "Algorithms for nonnegative matrix factorization with the
beta-divergence", Neural Computation 23(9), 2011.
N. Gillis and F. Glineur, "Accelerated multiplicative updates and hierarchical ALS algorithms
for nonnegative matrix factorization", Neural Computation 24(4), 2012.
N.-D. Ho, "Nonnegative matrix factorization algorithms and applications", PhD thesis, 2008.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import InvalidParameterError
from . import _mu
from ._loop import Fit, penalty_value
from ._wdata import DenseData, make_data

__all__ = ["EMFit", "WeightedFit", "nan_weights", "uses_em", "weighted_divergence",
           "weighted_h_terms", "weighted_w_terms"]


# --------------------------------------------------------------------- pure kernel pieces
def weighted_h_terms(X: Any, V: Any, W: np.ndarray, H: np.ndarray, beta: float, *,
                     guard: bool = True, data: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of the weighted MU step for H (columns are independent).

    ``X`` may hold anything where ``V`` is 0. Pass ``data`` (from :func:`make_data`) to skip
    the validation. Returns two (components, samples) arrays.
    """
    d = make_data(X, V, beta) if data is None else data
    Wt = np.ascontiguousarray(W.T)
    return d.h_pieces(Wt, H, d.product(Wt, H, None), float(beta), None, guard)


def weighted_w_terms(X: Any, V: Any, W: np.ndarray, H: np.ndarray, beta: float, *,
                     columns: Any = None, guard: bool = True,
                     data: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Numerator and denominator of the weighted MU step for W: sums over samples, so the
    pieces of blocks of samples add up to the whole. Returns (features, len(columns)) arrays."""
    d = make_data(X, V, beta) if data is None else data
    Hc = H if columns is None else H[columns]
    Wt = np.ascontiguousarray(W.T)
    return d.w_pieces(Wt, H, Hc, d.product(Wt, H, None), float(beta), None, guard)


def weighted_divergence(X: Any, V: Any, WH: Any, beta: float) -> float:
    """``sum(V * d_beta(X | WH))`` for dense X, V and WH (X may hold NaN where V = 0)."""
    d = make_data(X, V, beta)
    return d.divergence(np.array(WH, dtype=d.dtype), float(beta))


# ------------------------------------------------------------------------------- the fit
class WeightedFit(Fit):
    """:class:`~matfit.factorize._loop.Fit` with weights: its loop, these steps."""

    def __init__(self, data, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind,
                 check_every, rule="objective", shuffle=None) -> None:
        self.data = data
        # scikit-learn's rule ("sklearn") is applied to sqrt(2 * divergence) at every check: the
        # weighted HALS sweep does not measure the projected gradient, and visits the components
        # in order (``shuffle`` is accepted and not used)
        self.rule, self.shuffle = rule, shuffle
        self.measure, self.violation = False, 0.0
        self.X = data.X if not data.observed else data.pattern  # dtype and shape for Fit's code
        self.Wt, self.H = Wt, H
        self.kl, self.update_H = n_learned, update_H
        self.beta, self.solver, self.pen = beta, solver, pen
        self.norm_kind, self.check_every = norm_kind, check_every
        self.gamma = _mu.mm_exponent(beta)
        self.sparse = data.observed
        dtype = data.dtype
        self.eps = float(np.finfo(dtype).eps)
        k = Wt.shape[0]
        m, n = data.shape
        self._set_floors(dtype)  # as Fit: floors relative to the start
        self.guard = not self._positive_product()
        # 0/1 weights with few missing entries, beta = 2, Numba: W @ H only at the missing
        # entries (and, for an objective check, only where cancellation needs it)
        self.fast2 = data.fast and beta == 2
        self.Y = data.buffer()
        self.work = data.buffer() if beta not in (1.0, 2.0) and solver == "mu" else None
        self.numH = np.empty((k, n), dtype=dtype)
        self.numW = np.empty((m, self.kl), dtype=dtype)
        self._residual_current = False
        self.obj = self  # penalty() below, used by Fit's code paths

    def penalty(self, Wt: np.ndarray, H: np.ndarray) -> float:
        return penalty_value(self.pen, Wt, H)

    def objective(self, Y: np.ndarray | None, cross: np.ndarray | None = None,
                  gram: np.ndarray | None = None,
                  missing_sq: float | None = None) -> tuple[float, float]:
        """(divergence, penalty); ``Y`` is W @ H if the caller has it. On the compiled beta = 2
        path the divergence comes from the H step's ``cross`` and ``gram`` (computed here when
        not given) without forming W @ H, unless cancellation makes that inexact."""
        d, Wt, H = self.data, self.Wt, self.H
        if Y is None and self.fast2:
            if cross is None:
                cross, gram = Wt @ d.XV, Wt @ Wt.T
            if missing_sq is None:
                missing_sq = d.missing_h(Wt, H, sums_only=True)[1]
            value = d.frobenius(cross, gram, H, missing_sq)
            if value is not None:
                return value, self.penalty(Wt, H)
        if Y is None:
            Y = d.product(Wt, H, self.Y)
        return d.divergence(Y, self.beta), self.penalty(Wt, H)

    def _h_step(self, check: bool, nit: int) -> int | None:
        Wt, H, d = self.Wt, self.H, self.data
        if self.fast2:
            cross = np.matmul(Wt, d.XV, out=self.numH)
            gram = Wt @ Wt.T
            if self.solver == "hals":
                if check and (status := self.record(self.objective(None, cross, gram),
                                                    nit)) is not None:
                    return status
                d.hals_h(Wt, H, cross, gram, self.pen[2], self.pen[3])
                return None
            S, sq = d.missing_h(Wt, H)
            if check and (status := self.record(self.objective(None, cross, gram, sq),
                                                nit)) is not None:
                return status
            denom = gram @ H
            denom -= S.T
            _mu.apply_update(H, cross, np.maximum(denom, 0, out=denom), gamma=self.gamma,
                             l1=self.pen[2], l2=self.pen[3], floor=self.floor_H,
                             overwrite_denom=True)
            return None
        Y = d.product(Wt, H, self.Y)
        if self.beta == 1 and d.fast and self.solver == "mu":
            # KL with the complement kernels: the objective from what the update computes
            # anyway (the ratio in Y, the observed column sums in denom; see kl_from_ratio)
            numer, denom = d.h_pieces(Wt, H, Y, 1.0, self.work, self.guard, out=self.numH)
            if check and (status := self.record(
                    (d.kl_from_ratio(Y, denom, H), self.penalty(Wt, H)), nit)) is not None:
                return status
            _mu.apply_update(H, numer, denom, gamma=self.gamma, l1=self.pen[2],
                             l2=self.pen[3], floor=self.floor_H, overwrite_denom=True)
            return None
        if check and (status := self.record(self.objective(Y), nit)) is not None:
            return status
        if self.solver == "hals":
            E = d.residual(Y)
            D = d.left(d.V, Wt * Wt)
            self._hals_rows(H, Wt, E, D, range(H.shape[0]), self.pen[2], self.pen[3],
                            d.vec_left, lambda w, delta: d.rank1(E, w, delta))
            self._residual_current = True
            return None
        numer, denom = d.h_pieces(Wt, H, Y, self.beta, self.work, self.guard, out=self.numH)
        _mu.apply_update(H, numer, denom, gamma=self.gamma, l1=self.pen[2], l2=self.pen[3],
                         floor=self.floor_H, overwrite_denom=True)
        return None

    def _w_step(self, check: bool, nit: int) -> int | None:
        Wt, H, d, kl = self.Wt, self.H, self.data, self.kl
        Hl = H[:kl]
        if self.fast2:
            if check and (status := self.record(self.objective(None), nit)) is not None:
                return status
            cross = np.matmul(d.XV, Hl.T, out=self.numW)
            if self.solver == "hals":
                d.hals_w(Wt, H, kl, cross, self.pen[0], self.pen[1])
            else:
                denom = Wt.T @ (H @ Hl.T)
                denom -= d.missing_w(Wt, H, Hl)[0]
                _mu.apply_update(Wt[:kl].T, cross, np.maximum(denom, 0, out=denom),
                                 gamma=self.gamma, l1=self.pen[0], l2=self.pen[1],
                                 floor=self.floor_W, overwrite_denom=True)
        elif self.solver == "hals":
            if check or not self._residual_current:
                Y = d.product(Wt, H, self.Y)
                if check and (status := self.record(self.objective(Y), nit)) is not None:
                    return status
                E = d.residual(Y)
            else:
                E = self.Y
            self._residual_current = False
            D = d.right(d.V, Hl * Hl).T   # (learned, features)
            self._hals_rows(Wt, H, E, D, range(kl), self.pen[0], self.pen[1],
                            d.vec_right, lambda w, delta: d.rank1(E, delta, w))
        else:
            Y = d.product(Wt, H, self.Y)
            if check and (status := self.record(self.objective(Y), nit)) is not None:
                return status
            numer, denom = d.w_pieces(Wt, H, Hl, Y, self.beta, self.work, self.guard,
                                      out=self.numW)
            _mu.apply_update(Wt[:kl].T, numer, denom, gamma=self.gamma, l1=self.pen[0],
                             l2=self.pen[1], floor=self.floor_W, overwrite_denom=True)
        if self.norm_kind and self.update_H:
            self._normalize()
        return None

    @staticmethod
    def _hals_rows(F, other, E, D, rows, l1, l2, project, update) -> None:
        """One weighted HALS sweep over ``rows`` of F (H, or W.T); ``other`` is W.T or H.

        ``project(E, o)`` is ``o @ E`` (for H) or ``E @ o`` (for W); ``update(o, delta)``
        subtracts the change of the row from the weighted residual E.
        """
        for r in rows:
            o = other[r]
            hess = D[r] + l2
            grad = project(E, o)        # -(gradient) of the row, without the penalties
            if l1:
                grad = grad - l1
            if l2:
                grad = grad - l2 * F[r]
            ok = hess > 0
            new = F[r] + np.divide(grad, hess, out=np.zeros_like(grad), where=ok)
            np.maximum(new, 0, out=new)
            delta = new - F[r]
            F[r] = new
            update(o, delta)


class EMFit(Fit):
    """0/1 weights with few missing entries, beta 2 (or 1): the unweighted fit of the filled X.

    At each iteration the missing entries of ``Xf = V * X`` are set to the current ``W @ H``
    (:meth:`._wdata.DenseData.fill_missing`), then one unweighted MU or HALS iteration runs
    on ``Xf`` (:class:`matfit.factorize._loop.Fit`'s own steps, unchanged). ``Q(W, H) =
    D_beta(Xf | W H)`` equals the weighted objective at the current factors and lies above
    it everywhere (its extra terms are the missing entries' divergences from the fill), so
    every step that lowers Q lowers the weighted objective: an MM algorithm, whose fixed
    points are the weighted problem's (the gradients agree where Q touches). The same fill
    serves the H and the W step, and Q's value at the fill is the objective the checks
    record. See the module notes for why and what it costs, and :func:`uses_em` for when it
    runs.
    """

    def __init__(self, data, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind,
                 check_every, rule="objective", shuffle=None) -> None:
        self.data = data
        Xf = np.array(data.XV, copy=True)  # V * X; the missing entries are rewritten
        super().__init__(Xf, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind,
                         check_every, rule=rule, shuffle=shuffle)
        # the observed part of what _Objective keeps of X (Frobenius ||X||^2, KL sum(X))
        self._xx = float(np.einsum("ij,ij->", data.XV, data.XV, dtype=np.float64))
        self._sum = float(data.XV.sum(dtype=np.float64))
        if beta == 1:
            self.obj.has_zeros = True  # a fill may be 0 where X is observed positive
        # Xf changes at every fill: nothing computed from it may be kept
        self.cache_H = self.cache_W = None
        # the weighted fits apply scikit-learn's rule to the objective (see WeightedFit)
        self.measure = False

    def _fill(self) -> None:
        sq, total = self.data.fill_missing(self.Wt, self.H, self.X)
        if self.beta == 2:
            self.obj.xx = self._xx + sq  # ||Xf||^2 for the trace formula of the checks
        else:
            self.obj.sum_x = self._sum + total  # sum(Xf) for KL's formula from the ratio

    def objective(self, Y: np.ndarray | None) -> tuple[float, float]:
        self._fill()  # Q at a fresh fill is the weighted objective
        return super().objective(Y)

    def _h_step(self, check: bool, nit: int) -> int | None:
        self._fill()
        return super()._h_step(check, nit)

    def _w_step(self, check: bool, nit: int) -> int | None:
        if not self.update_H and not check:  # no H step filled Xf for this iteration
            self._fill()
        return super()._w_step(check, nit)


def uses_em(data: Any, beta: float, em: bool | None, both_learned: bool) -> bool:
    """Whether a weighted fit runs :class:`EMFit`.

    ``em=None`` (the default): for 0/1 dense weights with at most
    ``DenseData.COMPLEMENT_SHARE`` missing at beta = 2, when W and H are both learned and no
    feature or sample is entirely missing. ``em=True`` asks for it with beta 1 too, or with a
    fixed factor (an error where it does not apply); ``em=False`` keeps :class:`WeightedFit`.
    Why the exceptions: with one factor fixed the problem is a convex NNLS, where the weighted
    updates' faster convergence to a tight tolerance matters more than the cost of an
    iteration; an entirely missing line would be filled from the model alone, its arbitrary
    factors steering the others' steps; and on the spectrogram imputation of
    ``benchmarks/nmf_missing.py`` EM's KL fills were far off (relative error 2.05 on the
    hidden bins against the weighted updates' 0.28), so KL keeps the weighted updates.
    """
    applies = not data.observed and data.C is not None and beta in (1.0, 2.0)
    if em and not applies:
        raise InvalidParameterError(
            "nmf(em=True) needs beta 1 or 2, dense 0/1 weights (1 observed, 0 missing) and at "
            f"most {DenseData.COMPLEMENT_SHARE:.0%} of the entries missing: use em=None (the "
            "default) to let nmf() choose.")
    if em is None:
        return applies and beta == 2 and both_learned and not data.empty_line()
    return bool(em)


def nan_weights(X: Any) -> np.ndarray | None:
    """Weights 1 where a dense X is observed and 0 at its NaN entries; None when it has none
    (so the unweighted fit runs unchanged)."""
    if sp.issparse(X) or X.dtype.kind != "f":
        return None
    missing = np.isnan(X)
    if not missing.any():
        return None
    return (~missing).astype(X.dtype)
