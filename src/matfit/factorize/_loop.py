"""The iteration loop of :func:`matfit.factorize.nmf`: buffers, objective checks, stopping.

Implementation notes
--------------------
* Internally W is kept as ``Wt = W.T`` (components, features), C-contiguous, with the learned
  components first: then every factor update is a row-block update of a C-contiguous array, the
  learned part of W is the slice ``Wt[:n_learned]`` (no fancy indexing in the loop) and the
  products with the learned part cost ``n_learned`` and not ``components``.
* X-sized buffers are allocated once per fit: one for ``W @ H`` (KL, and the Frobenius objective
  checks), a second only for beta not in {1, 2}. The objective is computed only every
  ``check_every`` iterations, from what the update computes anyway (``X / (W @ H)`` for KL), in
  row blocks with a small scratch, as a sum of non-negative terms (no cancellation).
* A check evaluates the factors at the START of an iteration, before its first update; if it
  stops the fit, that iteration is not run, so the returned factors are the ones evaluated.
* MU cannot move an entry that is exactly zero, and a zero ``W @ H`` would divide by zero. So the
  learned entries are floored at a tiny positive value (machine epsilon times the factor's
  initial mean) after every update; this keeps ``W @ H`` positive without an X-sized clip.
  Where flooring cannot guarantee it (a fixed factor with an all-zero row), the kernels clip
  ``W @ H`` itself (``guard``).
* Two stopping rules. ``"objective"`` (nmf()'s): at each check, the objective fell by less than
  ``tol`` times its initial value since the last check. ``"sklearn"`` (the NMF estimator's, so
  that its ``tol`` means what scikit-learn's does): MU checks every 10 iterations whether
  sqrt(2 * divergence) fell by less than ``tol`` times its initial value (the penalties left
  out, as scikit-learn does); HALS stops after the first iteration whose projected-gradient
  norm is at most ``tol`` times that of iteration 1 (scikit-learn's coordinate descent). The
  objective is still recorded every ``check_every`` iterations for ``history``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._progress import progress
from . import _hals, _mu

__all__ = ["STATUS", "Fit", "set_status"]

STATUS = {
    0: "the objective fell by less than tol={tol:g} times its initial value over the last "
       "{every} iterations",
    1: "max_iter={max_iter} iterations reached before {goal}",
    2: "nothing to fit: update_W and update_H are both False",
    3: "the objective became {value} at iteration {nit}; likely cause: {cause}",
    4: "ran max_iter={max_iter} iterations (tol=0 disables the convergence test)",
    5: "max_iter=0: the initial factors, unchanged",
    6: "every component collapsed to zero (W @ H = 0 after {nit} iterations): {cause}",
    7: "the projected gradient fell to at most tol={tol:g} times its size at iteration 1 "
       "(scikit-learn's coordinate-descent rule)",
    8: "sqrt(2 * divergence) fell by less than tol={tol:g} times its initial value over the "
       "last {every} iterations (scikit-learn's rule)",
}


def set_status(res: dict, status: int, **fmt: Any) -> None:
    if status == 1 and "goal" not in fmt:  # the objective rule's goal
        fmt["goal"] = (f"the objective fell by less than tol={fmt['tol']:g} times its initial "
                       f"value over {fmt['every']} iterations")
    res["status"] = status
    res["success"] = status in (0, 2, 4, 5, 7, 8)
    res["message"] = STATUS[status].format(**fmt)


def penalty_value(pen: tuple[float, float, float, float], Wt: np.ndarray, H: np.ndarray) -> float:
    """l1 |F|_1 + l2 / 2 ||F||^2 summed over both factors, ``pen = (l1_W, l2_W, l1_H, l2_H)``."""
    l1w, l2w, l1h, l2h = pen
    total = 0.0
    for F, l1, l2 in ((Wt, l1w, l2w), (H, l1h, l2h)):
        if l1:
            total += l1 * float(F.sum(dtype=np.float64))
        if l2:
            total += 0.5 * l2 * float(np.vdot(F, F))
    return total


class _Objective:
    """The divergence D(X | W H) and the penalties, computed without cancellation.

    Dense X: from a ``W @ H`` the caller already has, in row blocks with a small scratch, as a
    sum of non-negative terms. Sparse X (beta in {1, 2}): only at the stored entries, plus the
    mass of ``W @ H`` elsewhere from the factors' sums (KL) or a trace formula (Frobenius).
    """

    def __init__(self, X: Any, beta: float, pen: tuple[float, float, float, float]) -> None:
        self.X, self.beta, self.pen = X, beta, pen
        self.sparse = sp.issparse(X)
        if self.sparse:
            self.x = X.data.astype(np.float64)
            self.xx = float(self.x @ self.x)
        else:
            rows = max(1, min(X.shape[0], (1 << 18) // max(X.shape[1], 1)))
            self.block = rows
            self.scratch = np.empty((rows, X.shape[1]), dtype=X.dtype)
            self.Ybuf: np.ndarray | None = None  # the fit's W @ H buffer, set by Fit
            # only what this beta's formulas use (each is a pass over X)
            if beta == 1:
                self.sum_x = float(X.sum(dtype=np.float64))
                self.has_zeros = not X.all()
            if beta == 2:
                self.xx = float(np.einsum("ij,ij->", X, X, dtype=np.float64))  # no copy

    def penalty(self, Wt: np.ndarray, H: np.ndarray) -> float:
        return penalty_value(self.pen, Wt, H)

    def divergence(self, Wt: np.ndarray, H: np.ndarray, Y: np.ndarray | None) -> float:
        """D(X | Wt.T @ H); ``Y`` is that product (dense: X-shaped; sparse: at X's entries)."""
        if self.sparse:
            return self._sparse(Wt, H, Y)
        if Y is None:
            Y = np.matmul(Wt.T, H, out=self.Ybuf)
        X, b, S = self.X, self.beta, self.scratch
        tiny = np.finfo(X.dtype).tiny
        total = 0.0
        for lo in range(0, X.shape[0], self.block):
            x, y = X[lo:lo + self.block], Y[lo:lo + self.block]
            s = S[: x.shape[0]]
            if b == 2:
                np.subtract(x, y, out=s)
                np.square(s, out=s)
                total += 0.5 * float(s.sum())
                continue
            np.maximum(y, tiny, out=s)
            if b == 1:    # y - x + x log(x / y): non-negative; x = 0 gives y (log of tiny, * 0)
                np.divide(x, s, out=s)
                s += tiny
                np.log(s, out=s)
                s *= x
                s += y
                s -= x
            elif b == 0:  # r - log r - 1 with r = x / y (x > 0 was checked)
                np.divide(x, s, out=s)
                t = s - 1
                np.log(s, out=s)
                np.subtract(t, s, out=s)
            else:         # (x^b + (b-1) y^b - b x y^(b-1)) / (b (b-1)), non-negative
                p = np.power(s, b - 1)
                t = np.power(x, b)
                t += (b - 1) * p * s
                p *= x
                p *= b
                np.subtract(t, p, out=s)
                s /= b * (b - 1)
                np.maximum(s, 0, out=s)  # rounding in the difference of large terms
            total += float(s.sum())
        return total

    def frobenius_from_cross(self, cross: np.ndarray, gram: np.ndarray, Wt: np.ndarray,
                             H: np.ndarray) -> float:
        """0.5 ||X - W H||^2 from ``cross = W.T @ X`` and ``gram = W.T @ W``, which the H update
        computes anyway: 0.5 (||X||^2 - 2 <cross, H> + <gram, H H.T>), in float64.

        The difference loses about eps * ||X||^2 to cancellation; when that is not small next
        to the result (a near-exact fit), a dense X is evaluated exactly from W @ H instead.
        """
        f8 = np.float64
        H8 = H.astype(f8)
        value = 0.5 * (self.xx - 2 * float(np.vdot(cross.astype(f8), H8))
                       + float(np.vdot(gram.astype(f8), H8 @ H8.T)))
        eps = float(np.finfo(self.X.dtype).eps)
        if not self.sparse and value < 1e3 * eps * self.xx:
            if self.Ybuf is None:
                self.Ybuf = np.empty_like(self.X)
            return self.divergence(Wt, H, None)
        return max(value, 0.0)

    def kl_from_ratio(self, R: np.ndarray, Wt: np.ndarray, H: np.ndarray) -> float:
        """Dense KL divergence from R = X / (W @ H), which the H update has just computed.

        D = (sum(W H) - sum(X)) + sum(X log R): the first bracket in float64 from the factors'
        sums, the second in row blocks (3 cache-resident passes instead of 8 from W @ H).
        """
        X, S = self.X, self.scratch
        tiny = np.finfo(X.dtype).tiny
        total = 0.0
        for lo in range(0, X.shape[0], self.block):
            x, r = X[lo:lo + self.block], R[lo:lo + self.block]
            s = S[: x.shape[0]]
            if self.has_zeros:  # x = 0 has r = 0: log(0 + tiny) * 0 = 0, not NaN
                np.add(r, tiny, out=s)
                np.log(s, out=s)
            else:
                np.log(r, out=s)
            s *= x
            total += float(s.sum())
        mass = float(Wt.sum(axis=1, dtype=np.float64) @ H.sum(axis=1, dtype=np.float64))
        return max(mass - self.sum_x + total, 0.0)

    def _sparse(self, Wt: np.ndarray, H: np.ndarray, wh: np.ndarray | None) -> float:
        f8 = np.float64
        if self.beta == 2:  # 0.5 (|X|^2 - 2 <W, X H^T> + <W^T W, H H^T>), in float64
            W8, H8 = Wt.astype(f8), H.astype(f8)
            cross = float(np.vdot(W8.T, self.X @ H8.T))
            quad = float(np.vdot(W8 @ W8.T, H8 @ H8.T))
            return 0.5 * max(self.xx - 2 * cross + quad, 0.0)
        if wh is None:
            wh = _mu.sparse_wh(self.X, Wt.T, H)
        y = np.maximum(wh, np.finfo(wh.dtype).tiny).astype(f8)
        x = self.x
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(x > 0, x * np.log(np.where(x > 0, x, 1) / y), 0.0) - x + y
        mass = float(Wt.sum(axis=1, dtype=f8) @ H.sum(axis=1, dtype=f8))  # sum of W @ H
        elsewhere = max(mass - float(y.sum()), 0.0)  # W @ H where X stores nothing (x = 0)
        return float(np.sum(np.maximum(terms, 0.0))) + elsewhere


class Fit:
    """The state of one fit: factors, buffers, and the iteration loop."""

    def __init__(self, X, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind,
                 check_every, rule="objective", shuffle=None) -> None:
        self.X, self.Wt, self.H = X, Wt, H
        self.rule = rule
        self.shuffle = shuffle  # HALS: a random generator of the components' order per sweep
        # scikit-learn's cd rule: the projected gradient of each sweep (see the notes)
        self.measure = rule == "sklearn" and solver == "hals"
        self.violation = 0.0
        self.kl, self.update_H = n_learned, update_H
        self.beta, self.solver, self.pen = beta, solver, pen
        self.norm_kind, self.check_every = norm_kind, check_every
        self.gamma = _mu.mm_exponent(beta)
        self.sparse = sp.issparse(X)
        self.obj = _Objective(X, beta, pen)
        dtype = X.dtype
        self.eps = float(np.finfo(dtype).eps)
        k = Wt.shape[0]
        m, n = X.shape
        self._set_floors(dtype)
        self.guard = not self._positive_product()
        # buffers, allocated once per fit
        if self.sparse:
            self.index = _mu._stored_indices(X)
            self.Y = np.empty(X.nnz, dtype=dtype)
            self.work = None
        else:
            self.index = None
            # W @ H; the Frobenius updates need it only for an exact objective (see _product)
            self.Y = np.empty_like(X) if beta != 2 else None
            self.obj.Ybuf = self.Y
            self.work = np.empty_like(X) if beta not in (1.0, 2.0) else None
        self.numH = np.empty((k, n), dtype=dtype)
        self.numW = np.empty((m, self.kl), dtype=dtype)  # C order: X @ H.T is fastest so
        self.cache_H = self.cache_W = None
        if beta == 2:  # (HALS is beta = 2 too)
            if self.kl == 0:  # W fixed: W.T @ X and W.T @ W never change
                self.cache_H = (self._cross_H().copy(), Wt @ Wt.T)
            if not update_H:  # H fixed: H[:kl] @ X.T and H[:kl] @ H.T never change
                self.cache_W = (self._cross_W().copy(), H[: self.kl] @ H.T)
        self.row = np.empty(max(m, n), dtype=dtype)

    def _set_floors(self, dtype: np.dtype) -> None:
        """Floors that keep MU's learned entries positive (relative to their start)."""
        self.floor_W = self.floor_H = 0.0
        if self.solver != "mu":
            return
        Wt, H, tiny = self.Wt, self.H, np.finfo(dtype).tiny
        if self.kl:
            self.floor_W = self.eps * max(float(Wt[: self.kl].mean()), tiny)
            np.maximum(Wt[: self.kl], self.floor_W, out=Wt[: self.kl])
        if self.update_H:
            self.floor_H = self.eps * max(float(H.mean()), tiny)
            np.maximum(H, self.floor_H, out=H)

    def _positive_product(self) -> bool:
        """Do the floors alone keep W @ H positive (so no X-sized clip is needed)?"""
        if self.solver != "mu" or self.beta == 2:
            return True
        dtype = self.X.dtype
        threshold = np.finfo(dtype).tiny / self.eps
        Wt, H, kl = self.Wt, self.H, self.kl
        if self.update_H and kl:
            return kl * self.floor_W * self.floor_H > threshold
        if self.update_H:  # W fixed: every row of W needs a positive entry
            return float(Wt.max(axis=0).min()) * self.floor_H > threshold
        if kl:  # H fixed: every column of H[:kl] needs a positive entry
            return float(H[:kl].max(axis=0).min()) * self.floor_W > threshold
        # nothing learned, so no floors: a zero row of the fixed W where X is 0 too (allowed)
        # made the KL objective 0 / 0 = NaN instead of its finite value
        return False

    # ---- products ---------------------------------------------------------------------
    def _product(self) -> np.ndarray:
        """W @ H into the X-sized buffer (dense) or at X's entries (sparse)."""
        if self.sparse:
            return _mu.sparse_wh(self.X, self.Wt.T, self.H, out=self.Y, index=self.index)
        if self.Y is None:  # first use in a Frobenius fit: allocated once, then reused
            if self.obj.Ybuf is None:
                self.obj.Ybuf = np.empty_like(self.X)
            self.Y = self.obj.Ybuf
        return np.matmul(self.Wt.T, self.H, out=self.Y)

    def _cross_H(self) -> np.ndarray:
        """W.T @ X, shape (components, samples)."""
        if self.sparse:
            return np.ascontiguousarray((self.X.T @ self.Wt.T).T)
        return np.matmul(self.Wt, self.X, out=self.numH)

    def _cross_W(self) -> np.ndarray:
        """H[:kl] @ X.T = (X @ H[:kl].T).T, shape (learned, features)."""
        Hl = self.H[: self.kl]
        if self.sparse:
            return np.ascontiguousarray((self.X @ Hl.T).T)
        return np.matmul(self.X, Hl.T, out=self.numW).T

    # ---- objective --------------------------------------------------------------------
    def objective(self, Y: np.ndarray | None) -> tuple[float, float]:
        """(divergence, penalty) of the current factors; ``Y`` is W @ H if the caller has it."""
        if Y is None and self.beta == 1 and not self.sparse:
            # the cheap route: X / (W @ H) in the buffer, then 3 passes (see kl_from_ratio)
            Y = self._product()
            if self.guard:
                np.maximum(Y, np.finfo(Y.dtype).tiny, out=Y)
            np.divide(self.X, Y, out=Y)
            return self.obj.kl_from_ratio(Y, self.Wt, self.H), self.obj.penalty(self.Wt, self.H)
        if Y is None and not (self.sparse and self.beta == 2):
            Y = self._product()
        div = self.obj.divergence(self.Wt, self.H, Y)
        return div, self.obj.penalty(self.Wt, self.H)

    # ---- one iteration ----------------------------------------------------------------
    def _h_step(self, check: bool, nit: int) -> int | None:
        """Update H; with ``check``, first record the objective (and stop if it says so)."""
        Wt, H, beta = self.Wt, self.H, self.beta
        if self.solver == "hals" or beta == 2:
            if self.cache_H:
                cross, gram = self.cache_H
            else:
                cross, gram = self._cross_H(), Wt @ Wt.T
            if check:
                val = (self.obj.frobenius_from_cross(cross, gram, Wt, H), self.obj.penalty(Wt, H))
                if (status := self.record(val, nit)) is not None:
                    return status
            if self.solver == "hals":
                rows = None if self.shuffle is None else self.shuffle.permutation(H.shape[0])
                v = _hals.hals_rows(H, cross.copy() if self.cache_H else cross, gram, rows=rows,
                                    l1=self.pen[2], l2=self.pen[3], work=self.row[: H.shape[1]],
                                    measure=self.measure)
                if self.measure:
                    self.violation += v
                return None
            if self.cache_H:  # apply_update overwrites the numerator: keep the cache intact
                numer = self.numH
                np.copyto(numer, cross)
            else:
                numer = cross
            denom = gram @ H
        elif beta == 1 and not self.sparse:
            # the objective comes from X / (W @ H), which the update computes anyway
            Y = self._product()
            numer, denom = _mu.h_terms(self.X, Wt.T, H, beta, WH=Y, out=self.numH,
                                       guard=self.guard)
            if check:
                val = (self.obj.kl_from_ratio(Y, Wt, H), self.obj.penalty(Wt, H))
                if (status := self.record(val, nit)) is not None:
                    return status
        else:
            Y = self._product()
            if check and (status := self.record(self.objective(Y), nit)) is not None:
                return status
            numer, denom = _mu.h_terms(self.X, Wt.T, H, beta, WH=Y, work=self.work,
                                       out=self.numH, guard=self.guard)
        _mu.apply_update(H, numer, denom, gamma=self.gamma, l1=self.pen[2], l2=self.pen[3],
                         floor=self.floor_H, overwrite_denom=True)
        return None

    def _w_step(self, check: bool, nit: int) -> int | None:
        """Update the learned columns of W (then normalise); ``check`` as in _h_step."""
        Wt, H, beta, kl = self.Wt, self.H, self.beta, self.kl
        if self.solver == "hals" or beta == 2:
            if check and (status := self.record(self.objective(None), nit)) is not None:
                return status
        if self.solver == "hals":
            if self.cache_W:
                cross, gram = self.cache_W[0].copy(), self.cache_W[1]
            else:
                cross, gram = self._cross_W(), H[:kl] @ H.T
            rows = range(kl) if self.shuffle is None else self.shuffle.permutation(kl)
            v = _hals.hals_rows(Wt, cross, gram, rows=rows, l1=self.pen[0],
                                l2=self.pen[1], work=self.row[: Wt.shape[1]],
                                measure=self.measure)
            if self.measure:
                self.violation += v
        else:
            cols = slice(0, kl)
            out = self.numW
            if beta == 2:
                if self.cache_W:
                    np.copyto(out, self.cache_W[0].T)
                    numer, denom = out, (self.cache_W[1] @ Wt).T
                else:
                    numer, denom = _mu.w_terms(self.X, Wt.T, H, 2.0, columns=cols, out=out)
            else:
                Y = self._product()
                if check and (status := self.record(self.objective(Y), nit)) is not None:
                    return status
                numer, denom = _mu.w_terms(self.X, Wt.T, H, beta, columns=cols, WH=Y,
                                           work=self.work, out=out, guard=self.guard)
            _mu.apply_update(Wt[:kl].T, numer, denom, gamma=self.gamma, l1=self.pen[0],
                             l2=self.pen[1], floor=self.floor_W,
                             overwrite_denom=True)
        if self.norm_kind and self.update_H:
            self._normalize()
        return None

    def _normalize(self) -> None:
        Wl, Hl = self.Wt[: self.kl], self.H[: self.kl]
        if self.norm_kind == "l1":
            scale = Wl.sum(axis=1)
        else:
            scale = np.sqrt(np.einsum("ij,ij->i", Wl, Wl))
        scale[scale <= 0] = 1
        Wl /= scale[:, None]
        Hl *= scale[:, None]

    # ---- the loop ---------------------------------------------------------------------
    def record(self, val: tuple[float, float], nit: int, decide: bool = True) -> int | None:
        """Store the objective of the current factors; return a status if the fit should stop."""
        f = val[0] + val[1]
        self.history.append(f)
        self.nits.append(nit)
        self.parts.append(val)
        self.bar.set_postfix(objective=f"{f:.6g}", refresh=False)
        if not np.isfinite(f):
            return 3
        if not decide or self.tol <= 0 or self.measure:
            return None
        if self.rule == "sklearn":  # on sqrt(2 * divergence), penalties left out
            self.crit.append(float(np.sqrt(2 * max(val[0], 0.0))))
            crit, converged = self.crit, 8
        else:
            crit, converged = self.history, 0
        if len(crit) > 1:
            # scikit-learn's normalisation: the decrease since the last check relative to the
            # value at the initial factors (robust to a large irreducible objective)
            if crit[-1] == 0 or crit[-2] - crit[-1] < self.tol * abs(crit[0]):
                return converged
        return None

    def _violation_stop(self, it: int) -> bool:
        """scikit-learn's cd rule, after iteration ``it``: violation <= tol * violation_1."""
        v, self.violation = self.violation, 0.0
        if it == 1:
            self.violation_init = v
        return self.violation_init == 0 or v <= self.tol * self.violation_init

    def run(self, res: dict, max_iter: int, tol: float, verbose: int) -> None:
        self.history, self.nits, self.parts, self.crit = [], [], [], []
        self.tol = tol
        self.bar = progress(total=max_iter, desc=f"nmf {self.solver}", verbose=verbose)
        status, nit = None, 0
        try:
            if not self.update_H and self.kl == 0:
                self.record(self.objective(None), 0)
                status = 2
            else:
                for it in range(1, max_iter + 1):
                    check = (it - 1) % self.check_every == 0
                    if self.update_H:
                        status = self._h_step(check, it - 1)
                        if status is None and self.kl:
                            self._w_step(False, it - 1)
                    else:
                        status = self._w_step(check, it - 1)
                    if status is not None:  # stopped at the state the check evaluated
                        break
                    nit = it
                    self.bar.update(1)
                    if self.measure and self._violation_stop(it):  # after the iteration
                        status = self.record(self.objective(None), it, decide=False) or 7
                        break
                else:  # (scikit-learn's rule warns whenever max_iter is reached)
                    status = self.record(self.objective(None), max_iter,
                                         decide=self.rule != "sklearn")
        finally:
            self.bar.close()
        if status is None:
            status = 5 if max_iter == 0 else 4 if tol == 0 else 1
        fmt: dict[str, Any] = {"tol": tol, "max_iter": max_iter, "every": self.check_every}
        if self.rule == "sklearn":
            fmt["goal"] = f"scikit-learn's stopping rule was met (tol={tol:g})"
        if status == 3:
            bad = self.history[-1]
            fmt.update(value="NaN" if np.isnan(bad) else "infinite", nit=self.nits[-1],
                       cause=self._cause())
        set_status(res, status, **fmt)
        res["nit"] = nit
        res["history"] = np.asarray(self.history, dtype=np.float64)
        res["history_nit"] = np.asarray(self.nits, dtype=np.intp)
        div, pen = self.parts[-1]
        res["divergence"], res["penalty"], res["fun"] = div, pen, div + pen

    def _cause(self) -> str:
        if self.guard:
            # the floors cannot keep W @ H positive: a start too small for X's dtype (its
            # floors multiply to below the smallest normal number) as well as a zero row of a
            # fixed factor (an IS fit from factors of 1e-160 said only the latter)
            return ("W @ H underflows to 0 where X is positive, so the divergence is infinite: "
                    "the factors are too small for X's dtype (start from larger ones, e.g. "
                    "scaled so that mean(W @ H) = mean(X), or rescale X), or a fixed factor has "
                    "an all-zero row or column there")
        return ("overflow: X has values too large for its dtype; rescale X (e.g. X / X.max()) "
                "or use float64")
