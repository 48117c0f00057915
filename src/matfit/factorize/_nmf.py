"""``nmf()``: validate, initialise, run the multiplicative-update or HALS kernel, report.

Implementation notes
--------------------
* Orientation: X (features, samples) ~ W (features, components) @ H (components, samples). For
  audio, features are frequency bins and samples are frames. scikit-learn's ``NMF`` uses the
  transpose (its ``W`` is our ``H.T`` and its ``components_`` our ``W.T``).
* Internally W is kept as ``Wt = W.T`` (components, features), C-contiguous, with the learned
  components first: then every factor update is a row-block update of a C-contiguous array, the
  learned part of W is the slice ``Wt[:n_learned]`` (no fancy indexing in the loop) and the
  products with the learned part cost ``n_learned`` and not ``components``.
* X-sized buffers are allocated once per fit: one for ``W @ H`` (KL, and the Frobenius objective
  checks), a second only for beta not in {1, 2}. The objective is computed only every
  ``check_every`` iterations, from the ``W @ H`` that the next update computes anyway, in row
  blocks with a small scratch, as a sum of non-negative elementwise terms (no cancellation).
* MU cannot move an entry that is exactly zero, and a zero ``W @ H`` would divide by zero. So the
  learned entries are floored at a tiny positive value (machine epsilon times the factor's
  initial mean) after every update; this keeps ``W @ H`` positive without an X-sized clip.
  Where flooring cannot guarantee it (a fixed factor with an all-zero row), the kernels clip
  ``W @ H`` itself.
* Penalties follow scikit-learn >= 1.2 transposed to this orientation: the penalty on each
  factor is multiplied by the size of the X dimension that the factor does not carry, so alpha
  does not depend on the data size:
  ``alpha_W * n_samples * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * ||W||^2)`` and
  ``alpha_H * n_features * (l1_ratio * |H|_1 + (1 - l1_ratio) / 2 * ||H||^2)``. scikit-learn's
  ``alpha_W`` (on its W, the activations) is therefore our ``alpha_H``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeResult

from .._errors import ConvergenceWarning, DataError, InvalidParameterError
from .._progress import progress
from ..numerics import resolve_beta
from ..shapes import as_float_array, check
from . import _hals, _mu
from ._init import INITS, initialize, missing_factor

__all__ = ["NMFResult", "nmf"]

Solver = Literal["mu", "hals"]

_STATUS = {
    0: "relative decrease of the objective fell below tol={tol:g}",
    1: "max_iter={max_iter} iterations reached before the relative decrease of the objective "
       "fell below tol={tol:g}",
    2: "nothing to fit: update_W and update_H are both False",
    3: "the objective became {value} at iteration {nit}; likely cause: {cause}",
    4: "ran max_iter={max_iter} iterations (tol=0 disables the convergence test)",
    5: "max_iter=0: the initial factors, unchanged",
}


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
        4 ran max_iter with tol = 0, 5 max_iter = 0 (the initial factors).
    success : bool
        True for status 0, 2, 4 and 5.
    message : str
        Why it stopped.
    history : ndarray, shape (checks,)
        The objective at each check (every ``check_every`` iterations, and at the end).
    history_nit : ndarray of int, shape (checks,)
        The iteration of each entry of ``history`` (0 = the initial factors).
    beta, solver, init : float, str, str
        What was fitted and how it started.
    """


def _status(res: dict, status: int, **fmt: Any) -> None:
    res["status"] = status
    res["success"] = status in (0, 2, 4, 5)
    res["message"] = _STATUS[status].format(**fmt)


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


def _as_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise InvalidParameterError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _as_nonneg(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number >= 0, got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def _check_reachable(X: Any, W: np.ndarray, H: np.ndarray, w_fixed: bool, h_fixed: bool,
                     beta: float) -> None:
    """For beta <= 1, a fixed factor with a zero row/column where X > 0 makes D infinite."""
    positive_rows = np.asarray(X.sum(axis=1)).ravel() > 0
    positive_cols = np.asarray(X.sum(axis=0)).ravel() > 0
    for fixed, name, zero, positive, what, axis_name in (
        (w_fixed, "W", W.max(axis=1) == 0, positive_rows, "row", "features"),
        (h_fixed, "H", H.max(axis=0) == 0, positive_cols, "column", "samples"),
    ):
        bad = np.flatnonzero(zero & positive) if fixed else []
        if len(bad):
            raise DataError(
                f"the fixed {name} has {len(bad)} all-zero {what}(s) (the first: {name} {what} "
                f"{bad[0]}) where X is positive: W @ H is 0 there whatever is learned, so the "
                f"beta={beta:g} divergence is infinite. Give those {what}s of {name} a small "
                f"positive floor, or drop those {axis_name} from X."
            )


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
            x = X.data.astype(np.float64)
            self.x = x
            self.xx = float(x @ x)
            with np.errstate(divide="ignore", invalid="ignore"):
                self.xlogx = float(np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1)), 0)))
            self.sum_x = float(x.sum())
        else:
            rows = max(1, min(X.shape[0], (1 << 18) // max(X.shape[1], 1)))
            self.block = rows
            self.scratch = np.empty((rows, X.shape[1]), dtype=X.dtype)
            self.sum_x = float(X.sum(dtype=np.float64))
            self.has_zeros = not X.all()

    def penalty(self, Wt: np.ndarray, H: np.ndarray) -> float:
        l1w, l2w, l1h, l2h = self.pen
        total = 0.0
        for F, l1, l2 in ((Wt, l1w, l2w), (H, l1h, l2h)):
            if l1:
                total += l1 * float(F.sum(dtype=np.float64))
            if l2:
                total += 0.5 * l2 * float(np.vdot(F, F))
        return total

    def divergence(self, Wt: np.ndarray, H: np.ndarray, Y: np.ndarray | None) -> float:
        """D(X | Wt.T @ H); ``Y`` is that product (dense: X-shaped; sparse: at X's entries)."""
        if self.sparse:
            return self._sparse(Wt, H, Y)
        if Y is None:
            Y = Wt.T @ H
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


def nmf(
    X: Any,
    n_components: int | None = None,
    *,
    beta: float | str = "frobenius",
    solver: Solver = "mu",
    init: str | None = None,
    W: Any = None,
    H: Any = None,
    update_W: bool = True,
    update_H: bool = True,
    fixed_W_columns: Any = None,
    alpha_W: float = 0.0,
    alpha_H: float = 0.0,
    l1_ratio: float = 0.0,
    normalize_W: bool | str = False,
    max_iter: int = 200,
    tol: float = 1e-4,
    seed: int | np.random.Generator | None = None,
    verbose: int = 0,
    check_every: int = 10,
) -> NMFResult:
    """Non-negative matrix factorisation X ~ W @ H under a beta-divergence.

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR/CSC matrix, shape (features, samples)
        Non-negative data, e.g. a magnitude spectrogram (frequency bins x frames). Integer input
        becomes float64; float32 stays float32 (and so do W and H). Sparse X needs beta in
        {1, 2}; no dense array of X's size is ever formed from it.
    n_components : int or None
        Number of components. May be None when W or H is given (taken from its shape); when
        given together with W/H they must agree (else :class:`ShapeError` naming
        'components'). Without W and H it must be <= min(features, samples).
    beta : float or {"frobenius", "kl", "is"} (2, 1, 0; also "euclidean", "kullback-leibler",
        "itakura-saito")
        The divergence: half the squared Frobenius norm (2), generalised Kullback-Leibler (1),
        Itakura-Saito (0) or any other beta. beta <= 0 needs X > 0 everywhere.
    solver : {"mu", "hals"}
        Multiplicative updates (any beta; majorisation-minimisation exponents, so the
        objective never increases) or hierarchical alternating least squares (beta = 2 only;
        usually faster per unit of progress).
    init : {None, "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        None picks "nndsvda" when neither W nor H is given, and "random" for a missing factor
        when the other is given. "custom" uses the given W and H (both required). A factor
        initialised beside a given one is random, scaled so that mean(W @ H) = mean(X).
    W : array_like, shape (features, components), optional
        Initial (or fixed) dictionary. Never modified in place.
    H : array_like, shape (components, samples), optional
        Initial (or fixed) activations. Never modified in place.
    update_W, update_H : bool
        False keeps that factor exactly as given (supervised: ``update_W=False``).
    fixed_W_columns : boolean mask (components,) or index array, optional
        Columns of the given W that stay fixed (bitwise) while the others are learned
        (semi-supervised).
    alpha_W, alpha_H : float
        Penalty strengths, scaled as in scikit-learn >= 1.2 (see Notes).
    l1_ratio : float in [0, 1]
        Share of L1 in the penalties (1: pure L1, sparse factors; 0: pure L2).
    normalize_W : bool or {"l1", "l2"}
        After each W update, rescale every learned column of W to unit norm (True = "l2") and
        move the scale into the matching row of H, so W @ H is unchanged. Needs update_H.
    max_iter : int
        Maximum number of iterations (each updates H, then W).
    tol : float
        Stop when the objective decreased by less than ``tol`` times its value over the last
        ``check_every`` iterations. 0 runs exactly ``max_iter`` iterations.
    seed : int, numpy Generator or None
        For the random and NNDSVD initialisations.
    verbose : int
        1 shows a progress bar on stderr.
    check_every : int
        Iterations between evaluations of the objective (each is recorded in ``history``).

    Returns
    -------
    NMFResult
        ``W``, ``H``, ``fun``, ``nit``, ``status``, ``success``, ``message``, ``history``,
        ``history_nit``, ``divergence``, ``penalty``.

    Raises
    ------
    ShapeError
        X is not 2-D, or W/H disagree with X or with each other or with n_components.
    DataError
        X (or a given W/H) has negative, NaN or inf entries (the count and first position are
        named); X is all zeros; beta <= 0 and X has zeros.
    DTypeError
        X is not numeric.
    InvalidParameterError
        An option is outside its allowed set.

    Notes
    -----
    The objective is

        D_beta(X | W H) + alpha_W n_samples (l1_ratio |W|_1 + (1 - l1_ratio)/2 ||W||_F^2)
                        + alpha_H n_features (l1_ratio |H|_1 + (1 - l1_ratio)/2 ||H||_F^2)

    which is scikit-learn's (>= 1.2) with its W and H swapped: scikit-learn's ``alpha_W``
    penalises its W (n_samples, components), our H. The MU step for H is

        H <- H * ((W.T @ (X * (WH)^(beta-2))) / (W.T @ (WH)^(beta-1) + l1 + l2 H))^gamma(beta)

    with gamma = 1/(2-beta) for beta < 1, 1 for 1 <= beta <= 2, 1/(beta-1) for beta > 2
    (Févotte & Idier 2011); W's step is the same on the transposed problem.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.factorize import nmf
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((20, 4)) @ rng.random((4, 30))          # exactly rank 4
    >>> res = nmf(X, 4, solver="hals", max_iter=500, tol=1e-10, seed=0)
    >>> bool(np.linalg.norm(X - res.W @ res.H) < 1e-3 * np.linalg.norm(X))
    True
    """
    start = time.perf_counter()
    beta = resolve_beta(beta)
    if solver not in ("mu", "hals"):
        raise InvalidParameterError(f"nmf(solver={solver!r}): solver must be one of "
                                    f"{{'hals', 'mu'}}.")
    if solver == "hals" and beta != 2:
        raise InvalidParameterError(
            f"nmf(solver='hals') minimises the Frobenius objective (beta=2) only, got "
            f"beta={beta:g}: use solver='mu' for other divergences."
        )
    if init is not None and init not in (*INITS, "custom"):
        raise InvalidParameterError(
            f"nmf(init={init!r}): init must be None or one of {[*INITS, 'custom']}."
        )
    max_iter = _as_int(max_iter, "max_iter", 0)
    check_every = _as_int(check_every, "check_every", 1)
    tol = _as_nonneg(tol, "tol")
    alpha_W = _as_nonneg(alpha_W, "alpha_W")
    alpha_H = _as_nonneg(alpha_H, "alpha_H")
    l1_ratio = _as_nonneg(l1_ratio, "l1_ratio")
    if l1_ratio > 1:
        raise InvalidParameterError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")
    if normalize_W not in (False, True, "l1", "l2"):
        raise InvalidParameterError(
            f"normalize_W must be False, True, 'l1' or 'l2', got {normalize_W!r}")
    norm_kind = "l2" if normalize_W is True else (normalize_W or None)

    X = as_float_array(X, "X", dims="features samples", sparse=("csr", "csc"),
                       nonnegative=True, purpose="NMF needs X >= 0.")
    sparse = sp.issparse(X)
    m, n = X.shape
    if m == 0 or n == 0:
        raise DataError(f"X has shape {X.shape}: it needs at least one feature and one sample.")
    if sparse and beta not in (1.0, 2.0):
        raise InvalidParameterError(
            f"sparse X is supported for beta in {{1, 2}} ('kl', 'frobenius'), got "
            f"beta={beta:g}: pass X.toarray() for other divergences."
        )
    if (X.nnz == 0) if sparse else not X.any():
        raise DataError("X is all zeros: there is nothing to factorise.")
    if beta <= 0 and not sparse and not X.all():
        zero = X == 0
        count = int(zero.sum())
        first = tuple(int(i) for i in np.argwhere(zero)[0])
        raise DataError(
            f"beta={beta:g} <= 0 (e.g. Itakura-Saito) is undefined where X has zeros: X has "
            f"{count} zero entr{'y' if count == 1 else 'ies'}, the first at X[{first[0]}, "
            f"{first[1]}]. Add a small floor (X + 1e-10 * X.max()) or use beta > 0 ('kl')."
        )

    if n_components is not None:
        n_components = _as_int(n_components, "n_components", 1)
    if W is not None:
        W = as_float_array(W, "W", dims="features components", nonnegative=True,
                           dtype=X.dtype, copy=True, purpose="NMF factors are non-negative.")
    if H is not None:
        H = as_float_array(H, "H", dims="components samples", nonnegative=True,
                           dtype=X.dtype, copy=True, purpose="NMF factors are non-negative.")
    known = None if n_components is None else {"components": (n_components, "n_components")}
    dims = check(known=known, X=(X, "features samples"), W=(W, "features components"),
                 H=(H, "components samples"))
    k = dims.get("components")
    if k is None:
        raise InvalidParameterError(
            "nmf() needs n_components when neither W nor H is given, e.g. nmf(X, 10)."
        )
    if k < 1:
        raise InvalidParameterError(f"W/H have {k} components; at least 1 is needed.")
    if W is None and H is None and k > min(m, n):
        raise InvalidParameterError(
            f"n_components={k} is more than X of shape {X.shape} (features, samples) supports: "
            f"at most min(features, samples) = {min(m, n)} components can be learned from "
            f"scratch. Pass n_components <= {min(m, n)}, or a W/H to start from."
        )
    if not update_W and W is None:
        raise InvalidParameterError("update_W=False keeps W as given: pass W.")
    if not update_H and H is None:
        raise InvalidParameterError("update_H=False keeps H as given: pass H.")
    if fixed_W_columns is not None and W is None:
        raise InvalidParameterError(
            "fixed_W_columns names columns of a given W: pass W (its fixed columns are kept, "
            "the others are where learning starts)."
        )
    fixed = np.zeros(k, dtype=bool) if fixed_W_columns is None else _fixed_mask(
        fixed_W_columns, k)
    if not update_W:
        fixed[:] = True
    if norm_kind and not update_H and not fixed.all():
        raise InvalidParameterError(
            "normalize_W moves the scale of W's columns into H, so it needs update_H=True."
        )

    rng = np.random.default_rng(seed)
    if W is not None and H is not None:
        if init not in (None, "custom"):
            raise InvalidParameterError(
                f"W and H were both given, so init={init!r} has nothing to initialise: pass "
                f"init=None or 'custom' (or leave one of them out)."
            )
        init_used = "custom"
    elif W is not None or H is not None:
        if init not in (None, "random"):
            raise InvalidParameterError(
                f"init={init!r} with only {'W' if W is not None else 'H'} given: "
                + ("'custom' needs both W and H" if init == "custom" else
                   f"{init!r} initialises both factors from X's SVD")
                + "; pass init=None or 'random' to initialise the missing factor at random."
            )
        init_used = "random"
        if H is None:
            H = missing_factor(X, W, "H", rng=rng)
        else:
            W = missing_factor(X, H, "W", rng=rng)
    else:
        if init == "custom":
            raise InvalidParameterError("init='custom' needs both W and H.")
        init_used = init or "nndsvda"
        if init_used == "nndsvd" and solver == "mu":
            warnings.warn(
                "init='nndsvd' puts exact zeros in W and H, which multiplicative updates move "
                "only slowly from a tiny floor: try init='nndsvda' or 'nndsvdar' with "
                "solver='mu'.", UserWarning, stacklevel=2)
        W, H = initialize(X, k, init_used, rng=rng)

    if beta <= 1:
        _check_reachable(X, W, H, fixed.all(), not update_H, beta)

    # learned components first (see the implementation notes)
    order = np.concatenate([np.flatnonzero(~fixed), np.flatnonzero(fixed)])
    n_learned = int((~fixed).sum())
    Wt = np.ascontiguousarray(W.T[order])
    H = np.ascontiguousarray(H[order])

    pen = (alpha_W * l1_ratio * n, alpha_W * (1 - l1_ratio) * n,
           alpha_H * l1_ratio * m, alpha_H * (1 - l1_ratio) * m)
    res = NMFResult(beta=beta, solver=solver, init=init_used)
    state = _Fit(X, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind, check_every)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        state.run(res, max_iter, tol, verbose)
    W_out = np.empty((m, k), dtype=X.dtype)
    W_out[:, order] = state.Wt.T
    H_out = np.empty((k, n), dtype=X.dtype)
    H_out[order] = state.H
    res["W"], res["H"] = W_out, H_out
    res["seconds"] = time.perf_counter() - start
    if res["status"] in (1, 3) and not (res["status"] == 1 and tol == 0):
        warnings.warn(f"nmf: {res['message']}", ConvergenceWarning, stacklevel=2)
    return res


class _Fit:
    """The state of one fit: factors, buffers, and the iteration loop."""

    def __init__(self, X, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind,
                 check_every) -> None:
        self.X, self.Wt, self.H = X, Wt, H
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
        # floors that keep the learned entries of MU positive (relative to their start)
        self.floor_W = self.floor_H = 0.0
        if solver == "mu":
            if self.kl:
                self.floor_W = self.eps * max(float(Wt[: self.kl].mean()), np.finfo(dtype).tiny)
                np.maximum(Wt[: self.kl], self.floor_W, out=Wt[: self.kl])
            if update_H:
                self.floor_H = self.eps * max(float(H.mean()), np.finfo(dtype).tiny)
                np.maximum(H, self.floor_H, out=H)
        self.guard = not self._positive_product()
        # buffers, allocated once per fit
        if self.sparse:
            self.index = _mu._stored_indices(X)
            self.Y = np.empty(X.nnz, dtype=dtype)
            self.work = None
        else:
            self.index = None
            self.Y = np.empty_like(X)  # W @ H; the Frobenius objective checks use it too
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
        return True

    # ---- products ---------------------------------------------------------------------
    def _product(self) -> np.ndarray:
        """W @ H into the X-sized buffer (dense) or at X's entries (sparse)."""
        if self.sparse:
            return _mu.sparse_wh(self.X, self.Wt.T, self.H, out=self.Y, index=self.index)
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
        if Y is None and not (self.sparse and self.beta == 2):
            Y = self._product()
        div = self.obj.divergence(self.Wt, self.H, Y)
        return div, self.obj.penalty(self.Wt, self.H)

    # ---- one iteration ----------------------------------------------------------------
    def _h_step(self, check: bool, nit: int) -> int | None:
        """Update H; with ``check``, first record the objective (and stop if it says so)."""
        Wt, H, beta = self.Wt, self.H, self.beta
        if self.solver == "hals" or beta == 2:
            if check and (status := self.record(self.objective(None), nit)) is not None:
                return status
            if self.solver == "hals":
                if self.cache_H:
                    cross, gram = self.cache_H[0].copy(), self.cache_H[1]
                else:
                    cross, gram = self._cross_H(), Wt @ Wt.T
                _hals.hals_rows(H, cross, gram, l1=self.pen[2], l2=self.pen[3],
                                work=self.row[: H.shape[1]])
                return None
            if self.cache_H:
                numer = self.numH
                np.copyto(numer, self.cache_H[0])
                denom = self.cache_H[1] @ H
            else:
                numer, denom = _mu.h_terms(self.X, Wt.T, H, 2.0, out=self.numH)
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
                         floor=self.floor_H)
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
            _hals.hals_rows(Wt, cross, gram, rows=range(kl), l1=self.pen[0], l2=self.pen[1],
                            work=self.row[: Wt.shape[1]])
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
                             l2=self.pen[1], floor=self.floor_W)
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
    def record(self, val: tuple[float, float], nit: int) -> int | None:
        """Store the objective of the current factors; return a status if the fit should stop."""
        f = val[0] + val[1]
        self.history.append(f)
        self.nits.append(nit)
        self.parts.append(val)
        self.bar.set_postfix(objective=f"{f:.6g}", refresh=False)
        if not np.isfinite(f):
            return 3
        if self.tol > 0 and len(self.history) > 1:
            prev = self.history[-2]
            if f == 0 or prev - f < self.tol * abs(prev):
                return 0
        return None

    def run(self, res: dict, max_iter: int, tol: float, verbose: int) -> None:
        self.history, self.nits, self.parts = [], [], []
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
                else:
                    status = self.record(self.objective(None), max_iter)
        finally:
            self.bar.close()
        if status is None:
            status = 5 if max_iter == 0 else 4 if tol == 0 else 1
        fmt: dict[str, Any] = {"tol": tol, "max_iter": max_iter}
        if status == 3:
            bad = self.history[-1]
            fmt.update(value="NaN" if np.isnan(bad) else "infinite", nit=self.nits[-1],
                       cause=self._cause())
        _status(res, status, **fmt)
        res["nit"] = nit
        res["history"] = np.asarray(self.history, dtype=np.float64)
        res["history_nit"] = np.asarray(self.nits, dtype=np.intp)
        div, pen = self.parts[-1]
        res["divergence"], res["penalty"], res["fun"] = div, pen, div + pen

    def _cause(self) -> str:
        if self.guard:
            return ("a fixed factor has an all-zero row or column where X is positive, so "
                    "W @ H is 0 there and the divergence is infinite")
        return ("overflow: X has values too large for its dtype; rescale X (e.g. X / X.max()) "
                "or use float64")
