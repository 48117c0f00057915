"""Least squares and ridge regression by ``lstsq``, Cholesky, or gradient descent that converges.

Implementation notes
--------------------
* The objective is scikit-learn's ``Ridge``: ``||y - X w - b||^2 + alpha ||w||^2`` with the
  intercept ``b`` not penalised (``alpha = 0`` is ordinary least squares, as ``LinearRegression``).
  With an intercept, X and y are centred first, which removes ``b`` from the problem exactly.
* ``"lstsq"`` solves ``min ||Xc w - yc||`` by LAPACK's SVD-based ``gelsd`` (minimum-norm for
  rank-deficient X); with ``alpha > 0`` it solves the augmented system
  ``[Xc; sqrt(alpha) I] w = [yc; 0]``, which is better conditioned than the normal equations.
  ``"cholesky"`` factors the normal equations ``(Xc'Xc + alpha I) w = Xc'yc`` (fast for many
  samples and few features; it squares the condition number).
* ``"gd"`` runs :func:`matfit.optim.minimize` (Barzilai–Borwein steps with a non-monotone line
  search by default) on the *standardised* problem: columns ``Xs = (X - mean) / std`` and
  targets ``ys = yc / std(y)``, coefficients ``v = w * std / std(y)``. Raw polynomial features
  (x up to 8, x^2 up to 64) make the Hessian's eigenvalues differ by orders of magnitude, which
  is why a fixed step of 0.01 explodes on them (see ``examples/polynomial_gd.py``);
  standardised, the problem is well conditioned and BB needs no step size at all. The penalty
  keeps its meaning on the raw scale: it becomes ``alpha * sum((v / std)^2)`` on ``v``.
* Divergence of ``"gd"`` raises :class:`DivergenceError` with the optimiser's diagnosis (step
  too large, or features on very different scales) instead of returning NaN coefficients.
* ``sample_weight`` ``s_i`` makes the objective ``sum_i s_i (y_i - x_i w - b)^2 + alpha ||w||^2``
  (scikit-learn's): the centring uses weighted means and the rows are multiplied by
  ``sqrt(s_i)``, so an integer weight is the same as repeating the row.
* A scipy.sparse X (CSR/CSC; other formats become CSR) is never densified or centred in memory:
  ``"lstsq"`` runs SciPy's LSQR on the centred, row-weighted operator
  ``v -> sqrt(s) * (X v - mean . v)`` (as scikit-learn does), ``"cholesky"`` forms the
  (features x features) Gram matrix ``X' S X - sum(s) mean mean'`` from sparse products, and
  ``"gd"`` uses the same operator form for its gradients. LSQR stops after
  ``max(10 * features, 1000)`` iterations; a target that has not converged by then makes the
  result ``status=1``, ``success=False`` with a :class:`ConvergenceWarning` (as ``"gd"`` at
  ``max_iter``), never a silent inaccurate fit.
* float32 X is solved in float64 and the coefficients returned as float32 (scikit-learn's
  dtype), so the float32 fit is as accurate as float32 can store.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg
from scipy.optimize import OptimizeResult

from .._errors import ConvergenceWarning, DataError, InvalidParameterError
from .._estimator import BaseEstimator, RegressorMixin
from ..shapes import as_float_array, check
from ._common import (
    DivergenceError,
    check_fitted,
    check_sample_weight,
    check_X,
    check_Xy,
    column_scaling,
    implicit_design,
)

__all__ = ["LinearRegression", "linear_regression"]

Solver = Literal["lstsq", "cholesky", "gd"]


def _check_params(caller: str, solver: Any, alpha: Any, standardize: Any, optimizer: Any,
                  max_iter: Any, tol: Any) -> None:
    if solver not in ("lstsq", "cholesky", "gd"):
        raise InvalidParameterError(
            f"{caller}(solver={solver!r}): solver must be one of 'lstsq', 'cholesky', 'gd'.")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) \
            or not math.isfinite(alpha) or alpha < 0:
        raise InvalidParameterError(
            f"{caller}(alpha={alpha!r}): alpha must be a finite number >= 0 (0 is ordinary "
            f"least squares).")
    if standardize not in ("auto", True, False):
        raise InvalidParameterError(
            f"{caller}(standardize={standardize!r}): standardize must be 'auto', True or False.")
    if optimizer not in ("bb", "sgd", "adam"):
        raise InvalidParameterError(
            f"{caller}(optimizer={optimizer!r}): optimizer must be one of 'bb', 'sgd', 'adam'.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidParameterError(f"{caller}(max_iter={max_iter!r}): max_iter must be an "
                                    f"integer >= 1.")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol > 0:
        raise InvalidParameterError(f"{caller}(tol={tol!r}): tol must be a number > 0.")


def linear_regression(
    X: Any,
    y: np.ndarray,
    *,
    sample_weight: Any = None,
    solver: Solver = "lstsq",
    alpha: float = 0.0,
    fit_intercept: bool = True,
    standardize: bool | Literal["auto"] = "auto",
    optimizer: Literal["bb", "sgd", "adam"] = "bb",
    lr: float | None = None,
    max_iter: int = 10_000,
    tol: float = 1e-12,
    verbose: int = 0,
) -> OptimizeResult:
    """Fit ``y ~ X w + b`` by least squares with an optional ridge penalty.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix, shape (samples, features)
    y : ndarray, shape (samples,) or (samples, targets)
    sample_weight : ndarray, shape (samples,), or float, optional
        Weight of each sample's squared residual (integer weights = repeated rows).
    solver : {"lstsq", "cholesky", "gd"}
        SVD-based least squares, the Cholesky-factored normal equations, or gradient descent
        with :func:`matfit.optim.minimize`.
    alpha : float >= 0
        Ridge penalty ``alpha * ||w||^2`` (the intercept is not penalised).
    fit_intercept : bool
        Fit ``b``; otherwise the model goes through the origin.
    standardize : {"auto", True, False}
        Solve on standardised columns and map the coefficients back ("auto": only for "gd").
    optimizer : {"bb", "sgd", "adam"}
        The method of :func:`matfit.optim.minimize` used by ``solver="gd"``.
    lr : float, optional
        Its step size ("bb" needs none; "sgd"/"adam" default to 1e-3).
    max_iter : int
        Gradient steps at most ("gd").
    tol : float
        Stop "gd" when the largest entry of the standardised gradient is below ``tol``.
    verbose : int
        1 shows a progress bar ("gd").

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``coef`` (features,) for 1-D y, else (targets, features); ``intercept`` (a float, or
        (targets,)); ``fun`` the objective ``||y - X w - b||^2 + alpha ||w||^2``; ``nit``,
        ``status``, ``success``, ``message``, ``history`` (the standardised objective per
        iteration, "gd" only) and ``solver``.

    Raises
    ------
    DivergenceError
        When "gd" diverges; the message names the likely cause and the fix.
    DataError
        When "cholesky" meets singular normal equations (collinear features, or more features
        than samples with ``alpha = 0``).
    """
    _check_params("linear_regression", solver, alpha, standardize, optimizer, max_iter, tol)
    sparse = sp.issparse(X)
    X = as_float_array(X, "X", dims="samples features", dtype=np.float64,
                       sparse=("csr", "csc") if sparse else False)
    y = as_float_array(y, "y", dtype=np.float64)
    check(X=(X, "samples features"), y=(y, "samples" if y.ndim == 1 else "samples targets"))
    Y = y[:, None] if y.ndim == 1 else y
    n = X.shape[0]
    sw = check_sample_weight(sample_weight, n, "linear_regression")
    total = float(sw.sum())
    if not total > 0:
        raise DataError("linear_regression: sample_weight sums to zero (every weight is "
                        "zero): at least one sample needs a positive weight.")
    w = sw / total
    do_scale = solver == "gd" if standardize == "auto" else bool(standardize)
    if sparse and solver == "lstsq":
        do_scale = False  # LSQR takes one damping constant, i.e. unscaled columns
    curvature = float(alpha) / total if solver == "gd" else 0.0
    scaling = column_scaling(X, center=fit_intercept, scale=do_scale, curvature=curvature,
                             weights=w)
    y_mean = w @ Y if fit_intercept else np.zeros(Y.shape[1])
    Yc = Y - y_mean
    root = np.sqrt(sw)
    d = float(alpha) / scaling.scale**2  # the penalty on the scaled coefficients
    nit, status, message, history = 1, 0, f"solved directly by {solver}", None
    if solver == "gd":
        U, res = _gd(implicit_design(X, scaling), Yc, sw, d, optimizer, lr, max_iter, tol,
                     verbose)
        nit, status, message, history = res.nit, res.status, res.message, res.history
    elif sparse and solver == "lstsq":
        U, nit, capped = _lsqr(X, scaling, root, Yc, float(alpha), tol)
        message = f"solved by LSQR on the sparse X in {nit} iteration(s)"
        if capped:  # as minimize's max_iter: status 1, not a success, and a warning
            status = 1
            message = (f"LSQR stopped at its iteration limit ({nit}) before reaching its "
                       f"tolerance: the columns of the sparse X differ too much in scale; "
                       f"scale them, or use solver='cholesky' (few features) or alpha > 0")
            warnings.warn(f"linear_regression: {message}", ConvergenceWarning, stacklevel=2)
    elif sparse:
        U = _cholesky_gram(*_sparse_gram(X, scaling, sw, Yc), d, X.shape)
    else:
        A = scaling.transform(X) * root[:, None]
        B = Yc * root[:, None]
        U = _lstsq(A, B, d) if solver == "lstsq" else _cholesky(A, B, d)
    W = scaling.coef_back(U.T)  # (targets, features)
    intercept = y_mean - W @ scaling.mean if fit_intercept else np.zeros(Y.shape[1])
    resid = Y - np.asarray(X @ W.T) - intercept
    fun = float(sw @ np.sum(resid * resid, axis=1) + alpha * np.sum(W * W))
    if y.ndim == 1:
        W, intercept = W[0], float(intercept[0])
    return OptimizeResult(coef=W, intercept=intercept, fun=fun, nit=nit, status=status,
                          success=status in (0, 2), message=message, history=history,
                          solver=solver, n_samples=n)


def _lsqr(X: Any, scaling: Any, root: np.ndarray, Yc: np.ndarray, alpha: float,
          tol: float) -> tuple[np.ndarray, int, bool]:
    """min ||sqrt(s) (Xc u - yc)||^2 + alpha ||u||^2 per target, Xc never formed.

    Returns the coefficients (features, targets), the most iterations over the targets, and
    whether a target stopped at the iteration limit (LSQR's istop 7) rather than converged.
    """
    mean = scaling.mean
    n, p = X.shape

    def matvec(v: np.ndarray) -> np.ndarray:
        v = np.ravel(v)
        return root * (np.asarray(X @ v).ravel() - mean @ v)

    def rmatvec(r: np.ndarray) -> np.ndarray:
        r = root * np.ravel(r)
        return np.asarray(X.T @ r).ravel() - mean * r.sum()

    A = scipy.sparse.linalg.LinearOperator((n, p), matvec=matvec, rmatvec=rmatvec,
                                           dtype=np.float64)
    atol = max(min(tol, 1e-10), 1e-15)
    cols, iters, capped = [], 0, False
    for k in range(Yc.shape[1]):
        out = scipy.sparse.linalg.lsqr(A, root * Yc[:, k], damp=math.sqrt(alpha), atol=atol,
                                       btol=atol, iter_lim=max(10 * p, 1000))
        cols.append(out[0])
        iters = max(iters, int(out[2]))
        capped = capped or out[1] == 7
    return np.column_stack(cols), iters, capped


def _sparse_gram(X: Any, scaling: Any, sw: np.ndarray,
                 Yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Xs' S Xs and Xs' S Yc from sparse products (Xs the centred, scaled X; S = diag(sw))."""
    mean, scale = scaling.mean, scaling.scale
    XtS = X.T.multiply(sw[None, :]).tocsr()  # X is sparse here: the dense path forms Xs
    G = np.asarray((XtS @ X).toarray()) - float(sw.sum()) * np.outer(mean, mean)
    rhs = np.asarray(XtS @ Yc) - np.outer(mean, sw @ Yc)
    G /= np.outer(scale, scale)
    return G, rhs / scale[:, None]


def _lstsq(Xs: np.ndarray, Yc: np.ndarray, d: np.ndarray) -> np.ndarray:
    if np.any(d > 0):
        A = np.vstack([Xs, np.diag(np.sqrt(d))])
        B = np.vstack([Yc, np.zeros((Xs.shape[1], Yc.shape[1]))])
        return np.linalg.lstsq(A, B, rcond=None)[0]
    return np.linalg.lstsq(Xs, Yc, rcond=None)[0]


def _cholesky(Xs: np.ndarray, Yc: np.ndarray, d: np.ndarray) -> np.ndarray:
    return _cholesky_gram(Xs.T @ Xs, Xs.T @ Yc, d, Xs.shape)


def _cholesky_gram(G: np.ndarray, rhs: np.ndarray, d: np.ndarray,
                   shape: tuple[int, int]) -> np.ndarray:
    G[np.diag_indices_from(G)] += d
    try:
        factor = scipy.linalg.cho_factor(G, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise DataError(
            f"linear_regression(solver='cholesky'): X'X + alpha I ({G.shape[0]} x {G.shape[0]}) "
            f"is not positive definite: the features are collinear, or there are more features "
            f"({shape[1]}) than samples ({shape[0]}). Use solver='lstsq' (minimum-norm "
            f"solution) or alpha > 0."
        ) from None
    U = scipy.linalg.cho_solve(factor, rhs, check_finite=False)
    if not np.all(np.isfinite(U)):  # a factor with pivots near the underflow threshold
        raise DataError("linear_regression(solver='cholesky'): the normal equations are "
                        "numerically singular; use solver='lstsq' or alpha > 0.")
    return U


def _gd(D: Any, Yc: np.ndarray, sw: np.ndarray, d: np.ndarray, optimizer: str,
        lr: float | None, max_iter: int, tol: float,
        verbose: int) -> tuple[np.ndarray, OptimizeResult]:
    from ..optim import minimize

    total = float(sw.sum())
    y_scale = np.sqrt(sw @ (Yc * Yc) / total)  # |y| for one sample; 0 (a zero target) -> 1
    y_scale = np.where(y_scale > 0, y_scale, 1.0)
    Ys = Yc / y_scale
    dcol = d[:, None]
    swcol = sw[:, None]

    def fun(V: np.ndarray) -> tuple[float, np.ndarray]:
        # 0.5/S (sum s R^2 + sum(d V^2)): the raw objective / (S std(y)^2), S = sum(s).
        # An overflow here is divergence, which minimize reports and _gd raises as such: no
        # RuntimeWarning before the DivergenceError
        with np.errstate(over="ignore", invalid="ignore"):
            R = D.matvec(V) - Ys
            Rw = R * swcol
            f = 0.5 * (np.sum(R * Rw) + np.sum(dcol * V * V)) / total
            return f, (D.rmatvec(Rw) + dcol * V) / total

    V0 = np.zeros((D.shape[1], Yc.shape[1]))
    res = minimize(fun, V0, jac=True, method=optimizer, lr=lr, max_iter=max_iter, gtol=tol,
                   verbose=verbose)
    if res.status in (3, 4):
        raise DivergenceError(f"linear_regression(solver='gd', optimizer={optimizer!r}): "
                              f"{res.message}")
    return res.x * y_scale, res


class LinearRegression(RegressorMixin, BaseEstimator):
    """Least squares / ridge regression, as scikit-learn's ``LinearRegression`` and ``Ridge``.

    Minimises ``||y - X w - b||^2 + alpha ||w||^2``; see :func:`linear_regression` for the
    solvers and why ``"gd"`` standardises its features.

    Parameters
    ----------
    solver : {"lstsq", "cholesky", "gd"}, default "lstsq"
    alpha : float, default 0.0
        Ridge penalty (``Ridge(alpha)`` in scikit-learn; 0 is ``LinearRegression``).
    fit_intercept : bool, default True
    standardize : {"auto", True, False}, default "auto"
        Solve on standardised features ("auto": for "gd" only); coefficients are always
        reported on the raw features.
    optimizer : {"bb", "sgd", "adam"}, default "bb"
        Gradient method for ``solver="gd"``.
    lr : float, optional
        Step size for "sgd"/"adam" (BB needs none).
    max_iter : int, default 10000
    tol : float, default 1e-12
        Gradient tolerance of "gd" on the standardised problem.
    verbose : int, default 0

    Attributes
    ----------
    coef_ : ndarray, shape (features,) or (targets, features)
    intercept_ : float or ndarray, shape (targets,)
    n_iter_ : int
        Gradient steps taken ("gd"; 1 for the direct solvers: one factorisation).
    objective_ : float
        ``||y - X w - b||^2 + alpha ||w||^2`` at the solution.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 23], [5, 29], [7, 60], [9, 85], [11, 99]])
    >>> y = np.array([20.0, 40, 60, 80, 100])
    >>> model = LinearRegression(solver="gd").fit(X, y)
    >>> np.round(model.coef_, 3), round(float(model.intercept_), 3)
    (array([4.388, 0.451]), 4.344)
    """

    def __init__(self, solver: Solver = "lstsq", *, alpha: float = 0.0,
                 fit_intercept: bool = True, standardize: bool | str = "auto",
                 optimizer: str = "bb", lr: float | None = None, max_iter: int = 10_000,
                 tol: float = 1e-12, verbose: int = 0) -> None:
        self.solver = solver
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.optimizer = optimizer
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegression:
        """Fit on X (samples, features), dense or scipy.sparse, and y (samples,) or
        (samples, targets); ``sample_weight`` (samples,) or a scalar weights the residuals."""
        _check_params("LinearRegression", self.solver, self.alpha, self.standardize,
                      self.optimizer, self.max_iter, self.tol)
        X, y = check_Xy(self, X, y, multi_output=True)
        res = linear_regression(
            X, y, sample_weight=sample_weight, solver=self.solver, alpha=self.alpha,
            fit_intercept=self.fit_intercept, standardize=self.standardize,
            optimizer=self.optimizer, lr=self.lr, max_iter=self.max_iter, tol=self.tol,
            verbose=self.verbose)
        dtype = X.dtype
        self.coef_ = res.coef.astype(dtype)
        self.intercept_ = (dtype.type(res.intercept) if np.ndim(res.intercept) == 0
                           else res.intercept.astype(dtype))
        self.n_iter_, self.objective_ = res.nit, res.fun
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_.T + intercept_``: shape (samples,) or (samples, targets)."""
        check_fitted(self, "coef_")
        X = check_X(self, X, reset=False, accept_sparse=True)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        return tags
