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
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import scipy.linalg
from scipy.optimize import OptimizeResult

from .._errors import DataError, InvalidParameterError
from .._estimator import BaseEstimator, RegressorMixin
from ..shapes import as_float_array, check
from ._common import DivergenceError, check_fitted, check_X, check_Xy, column_scaling

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
    X: np.ndarray,
    y: np.ndarray,
    *,
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
    X : ndarray, shape (samples, features)
    y : ndarray, shape (samples,) or (samples, targets)
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
    X = as_float_array(X, "X", dims="samples features", dtype=np.float64)
    y = as_float_array(y, "y", dtype=np.float64)
    check(X=(X, "samples features"), y=(y, "samples" if y.ndim == 1 else "samples targets"))
    Y = y[:, None] if y.ndim == 1 else y
    n = X.shape[0]
    do_scale = solver == "gd" if standardize == "auto" else bool(standardize)
    curvature = float(alpha) / n if solver == "gd" else 0.0
    scaling = column_scaling(X, center=fit_intercept, scale=do_scale, curvature=curvature)
    Xs = scaling.transform(X)
    y_mean = Y.mean(axis=0) if fit_intercept else np.zeros(Y.shape[1])
    Yc = Y - y_mean
    d = float(alpha) / scaling.scale**2  # the penalty on the scaled coefficients
    nit, status, message, history = 1, 0, f"solved directly by {solver}", None
    if solver == "lstsq":
        U = _lstsq(Xs, Yc, d)
    elif solver == "cholesky":
        U = _cholesky(Xs, Yc, d)
    else:
        U, res = _gd(Xs, Yc, d, optimizer, lr, max_iter, tol, verbose)
        nit, status, message, history = res.nit, res.status, res.message, res.history
    W = scaling.coef_back(U.T)  # (targets, features)
    intercept = y_mean - W @ scaling.mean if fit_intercept else np.zeros(Y.shape[1])
    resid = Y - X @ W.T - intercept
    fun = float(np.sum(resid * resid) + alpha * np.sum(W * W))
    if y.ndim == 1:
        W, intercept = W[0], float(intercept[0])
    return OptimizeResult(coef=W, intercept=intercept, fun=fun, nit=nit, status=status,
                          success=status in (0, 2), message=message, history=history,
                          solver=solver, n_samples=n)


def _lstsq(Xs: np.ndarray, Yc: np.ndarray, d: np.ndarray) -> np.ndarray:
    if np.any(d > 0):
        A = np.vstack([Xs, np.diag(np.sqrt(d))])
        B = np.vstack([Yc, np.zeros((Xs.shape[1], Yc.shape[1]))])
        return np.linalg.lstsq(A, B, rcond=None)[0]
    return np.linalg.lstsq(Xs, Yc, rcond=None)[0]


def _cholesky(Xs: np.ndarray, Yc: np.ndarray, d: np.ndarray) -> np.ndarray:
    G = Xs.T @ Xs
    G[np.diag_indices_from(G)] += d
    try:
        factor = scipy.linalg.cho_factor(G, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise DataError(
            f"linear_regression(solver='cholesky'): X'X + alpha I ({G.shape[0]} x {G.shape[0]}) "
            f"is not positive definite: the features are collinear, or there are more features "
            f"({Xs.shape[1]}) than samples ({Xs.shape[0]}). Use solver='lstsq' (minimum-norm "
            f"solution) or alpha > 0."
        ) from None
    U = scipy.linalg.cho_solve(factor, Xs.T @ Yc, check_finite=False)
    if not np.all(np.isfinite(U)):  # pragma: no cover - a numerically singular factor
        raise DataError("linear_regression(solver='cholesky'): the normal equations are "
                        "numerically singular; use solver='lstsq' or alpha > 0.")
    return U


def _gd(Xs: np.ndarray, Yc: np.ndarray, d: np.ndarray, optimizer: str, lr: float | None,
        max_iter: int, tol: float, verbose: int) -> tuple[np.ndarray, OptimizeResult]:
    from ..optim import minimize

    n = Xs.shape[0]
    y_scale = Yc.std(axis=0) if n > 1 else np.ones(Yc.shape[1])
    y_scale = np.where(y_scale > 0, y_scale, 1.0)
    Ys = Yc / y_scale
    dcol = d[:, None]

    def fun(V: np.ndarray) -> tuple[float, np.ndarray]:
        # 0.5/n ||Xs V - Ys||^2 + 0.5/n sum(d V^2): the raw objective / (n std(y)^2)
        R = Xs @ V - Ys
        f = 0.5 * (np.sum(R * R) + np.sum(dcol * V * V)) / n
        return f, (Xs.T @ R + dcol * V) / n

    V0 = np.zeros((Xs.shape[1], Yc.shape[1]))
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
    >>> np.round(model.coef_, 3), round(model.intercept_, 3)
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

    def fit(self, X: Any, y: Any) -> LinearRegression:
        """Fit on X (samples, features) and y (samples,) or (samples, targets)."""
        _check_params("LinearRegression", self.solver, self.alpha, self.standardize,
                      self.optimizer, self.max_iter, self.tol)
        X, y = check_Xy(self, X, y, multi_output=True)
        res = linear_regression(
            X, y, solver=self.solver, alpha=self.alpha, fit_intercept=self.fit_intercept,
            standardize=self.standardize, optimizer=self.optimizer, lr=self.lr,
            max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        self.coef_, self.intercept_ = res.coef, res.intercept
        self.n_iter_, self.objective_ = res.nit, res.fun
        return self

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_.T + intercept_``: shape (samples,) or (samples, targets)."""
        check_fitted(self, "coef_")
        X = check_X(self, X, reset=False)
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
