"""Logistic regression: binary, multinomial (softmax) and one-vs-rest, with stable log-likelihoods.

Implementation notes
--------------------
* The objective is scikit-learn's: ``C * sum_i loss_i + 0.5 ||W||^2`` (intercepts not
  penalised), minimised in the equivalent scaled form ``mean_i loss_i + ||W||^2 / (2 C n)``, whose
  gradient tolerance means the same as scikit-learn's ``tol`` for ``lbfgs``.
* Losses come from :mod:`matfit.numerics` (``binary_cross_entropy_with_logits``,
  ``log_softmax``): finite for any logits, so a badly scaled feature cannot turn the
  likelihood into ``log(0)``.
* Two classes: one coefficient vector on the logit of ``classes_[1]`` (scikit-learn's binary
  model, for either ``multi_class``). More: ``"multinomial"`` fits one softmax over all classes
  (``coef_`` (classes, features), the model scikit-learn fits); ``"ovr"`` fits one binary model
  per class against the rest and normalises their probabilities (scikit-learn's
  ``OneVsRestClassifier(LogisticRegression())``). The two are different models and give
  different coefficients; mixing them up (a softmax of one-vs-rest scores, or per-class sigmoids
  of a softmax model) is the usual bug in from-scratch code.
* Softmax logits are unchanged by adding one constant to every class's intercept; the unpenalised
  intercepts are reported with zero sum (scikit-learn's solution from a zero start).
* Every solver works on standardised columns (the penalty rescaled so the problem is the same),
  then maps the coefficients back: raw features on very different scales would otherwise stall
  the gradient methods and slow L-BFGS down.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from scipy.optimize import OptimizeResult

from .._errors import ConvergenceWarning, DataError, DTypeError, InvalidParameterError
from .._estimator import BaseEstimator, ClassifierMixin
from ..numerics import (
    binary_cross_entropy_with_logits,
    log_sigmoid,
    log_softmax,
    sigmoid,
    softmax,
)
from ..shapes import as_float_array, check
from ._common import DivergenceError, check_fitted, check_labels, check_X, column_scaling

__all__ = ["LogisticRegression", "logistic_regression"]

MultiClass = Literal["multinomial", "ovr"]
Solver = Literal["lbfgs", "gd", "adam"]
_METHODS = {"lbfgs": "lbfgs", "gd": "bb", "adam": "adam"}


def _check_params(caller: str, multi_class: Any, penalty: Any, C: Any, solver: Any,
                  max_iter: Any, tol: Any) -> None:
    if multi_class not in ("multinomial", "ovr"):
        raise InvalidParameterError(f"{caller}(multi_class={multi_class!r}): multi_class must be "
                                    f"'multinomial' or 'ovr'.")
    if penalty not in ("l2", None):
        raise InvalidParameterError(f"{caller}(penalty={penalty!r}): penalty must be 'l2' or "
                                    f"None (no penalty).")
    if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)) or \
            not C > 0 or math.isnan(C):
        raise InvalidParameterError(f"{caller}(C={C!r}): C must be a number > 0 (the inverse "
                                    f"penalty strength; larger C, weaker penalty).")
    if solver not in _METHODS:
        raise InvalidParameterError(f"{caller}(solver={solver!r}): solver must be one of "
                                    f"'lbfgs', 'gd', 'adam'.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InvalidParameterError(f"{caller}(max_iter={max_iter!r}): max_iter must be an "
                                    f"integer >= 1.")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol > 0:
        raise InvalidParameterError(f"{caller}(tol={tol!r}): tol must be a number > 0.")


def _binary_objective(Xs: np.ndarray, t: np.ndarray, reg: np.ndarray, fit_intercept: bool):
    """mean BCE(Xs u + b, t) + 0.5 sum(reg u^2), and its gradient, on x = [u, b]."""
    n, p = Xs.shape

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        u, b = x[:p], (x[p] if fit_intercept else 0.0)
        z = Xs @ u + b
        f = float(binary_cross_entropy_with_logits(z, t, reduction="mean")) + \
            0.5 * float(np.sum(reg * u * u))
        r = (sigmoid(z) - t) / n
        grad = np.empty_like(x)
        grad[:p] = Xs.T @ r + reg * u
        if fit_intercept:
            grad[p] = r.sum()
        return f, grad

    return fun


def _multinomial_objective(Xs: np.ndarray, index: np.ndarray, n_classes: int, reg: np.ndarray,
                           fit_intercept: bool):
    """mean cross-entropy of softmax(Xs U' + b) + 0.5 sum(reg U^2), on x = [U (K, p), b (K,)]."""
    n, p = Xs.shape
    Y = np.zeros((n, n_classes))
    Y[np.arange(n), index] = 1.0
    k_coef = n_classes * p

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        U = x[:k_coef].reshape(n_classes, p)
        Z = Xs @ U.T
        if fit_intercept:
            Z += x[k_coef:]
        logp = log_softmax(Z, axis=1)
        f = -float(np.sum(Y * logp)) / n + 0.5 * float(np.sum(reg * U * U))
        R = (np.exp(logp) - Y) / n
        grad = np.empty_like(x)
        grad[:k_coef] = (R.T @ Xs + reg * U).ravel()
        if fit_intercept:
            grad[k_coef:] = R.sum(axis=0)
        return f, grad

    return fun


def _solve(fun, size: int, solver: str, lr: float | None, max_iter: int, tol: float,
           verbose: int) -> OptimizeResult:
    import warnings

    from ..optim import minimize

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = minimize(fun, np.zeros(size), jac=True, method=_METHODS[solver], lr=lr,
                       max_iter=max_iter, gtol=tol, verbose=verbose)
    if res.status in (3, 4):
        raise DivergenceError(f"logistic_regression(solver={solver!r}): {res.message}")
    if any(issubclass(w.category, ConvergenceWarning) for w in caught) or res.status == 1:
        warnings.warn(f"logistic_regression(solver={solver!r}) did not converge: {res.message}",
                      ConvergenceWarning, stacklevel=4)
    return res


def logistic_regression(
    X: np.ndarray,
    y_index: np.ndarray,
    n_classes: int,
    *,
    multi_class: MultiClass = "multinomial",
    penalty: Literal["l2"] | None = "l2",
    C: float = 1.0,
    fit_intercept: bool = True,
    solver: Solver = "lbfgs",
    lr: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
    verbose: int = 0,
) -> OptimizeResult:
    """Fit a logistic regression on class indices.

    Parameters
    ----------
    X : ndarray, shape (samples, features)
    y_index : ndarray of int, shape (samples,)
        The class of each sample, in ``0 .. n_classes - 1``.
    n_classes : int >= 2
    multi_class : {"multinomial", "ovr"}
        One softmax over all classes, or one binary model per class (ignored for 2 classes).
    penalty : {"l2", None}
        ``0.5 ||W||^2`` with weight ``1 / C`` relative to the summed log-loss, or none.
    C : float > 0
        Inverse penalty strength, as in scikit-learn.
    fit_intercept : bool
    solver : {"lbfgs", "gd", "adam"}
        SciPy's L-BFGS-B, Barzilai–Borwein gradient descent, or Adam (``lr`` default 1e-3),
        all through :func:`matfit.optim.minimize`.
    lr : float, optional
        Step size for "adam" (and the first BB trial step for "gd").
    max_iter : int
        Iterations at most (per binary model for "ovr").
    tol : float
        Stop when the largest gradient entry of the scaled objective is below ``tol``.
    verbose : int

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``coef`` shape (1, features) for two classes, else (classes, features); ``intercept``
        shape (1,) or (classes,); ``fun`` the objective ``C * sum loss + 0.5 ||W||^2``; ``nit``
        (total iterations), ``status``, ``success``, ``message``.
    """
    _check_params("logistic_regression", multi_class, penalty, C, solver, max_iter, tol)
    X = as_float_array(X, "X", dims="samples features", dtype=np.float64)
    y_index = np.asarray(y_index)
    if y_index.dtype.kind not in "iu":
        raise DTypeError(f"logistic_regression: y_index must hold integer class indices, got "
                         f"dtype {y_index.dtype}; map labels with np.unique(y, "
                         f"return_inverse=True).")
    check(X=(X, "samples features"), y_index=(y_index, "samples"))
    if y_index.size and (y_index.min() < 0 or y_index.max() >= n_classes):
        raise DataError(f"logistic_regression: y_index must lie in [0, {n_classes - 1}] for "
                        f"n_classes={n_classes}; found values in [{y_index.min()}, "
                        f"{y_index.max()}].")
    y_index = y_index.astype(np.intp)
    n = X.shape[0]
    # the logistic loss has curvature <= 1/4 per unit variance; the penalty adds 1 / (C n)
    curvature = 4.0 / (C * n) if penalty == "l2" else 0.0
    scaling = column_scaling(X, center=fit_intercept, scale=True, curvature=curvature)
    Xs = scaling.transform(X)
    # ||w||^2 / (2 C n) with w = u / scale  ->  0.5 * sum(reg * u^2)
    reg = (1.0 / (C * n) / scaling.scale**2) if penalty == "l2" else np.zeros(X.shape[1])
    p = X.shape[1]
    n_extra = 1 if fit_intercept else 0
    results = []
    if n_classes == 2 or multi_class == "ovr":
        targets = [1] if n_classes == 2 else list(range(n_classes))
        rows = []
        for k in targets:
            t = (y_index == k).astype(np.float64)
            fun = _binary_objective(Xs, t, reg, fit_intercept)
            res = _solve(fun, p + n_extra, solver, lr, max_iter, tol, verbose)
            results.append(res)
            rows.append(res.x)
        params = np.array(rows)
        U, b = params[:, :p], (params[:, p] if fit_intercept else np.zeros(len(targets)))
    else:
        fun = _multinomial_objective(Xs, y_index, n_classes, reg, fit_intercept)
        res = _solve(fun, n_classes * (p + n_extra), solver, lr, max_iter, tol, verbose)
        results.append(res)
        U = res.x[: n_classes * p].reshape(n_classes, p)
        b = res.x[n_classes * p:] if fit_intercept else np.zeros(n_classes)
    W = scaling.coef_back(U)
    intercept = b - W @ scaling.mean if fit_intercept else np.zeros(len(b))
    if fit_intercept and n_classes > 2 and multi_class == "multinomial":
        intercept = intercept - intercept.mean()
    fun_value = _objective(X, y_index, n_classes, W, intercept, C, penalty, multi_class)
    worst = max(results, key=lambda r: (not r.success, r.status))
    return OptimizeResult(
        coef=W, intercept=intercept, fun=fun_value, nit=int(sum(r.nit for r in results)),
        status=worst.status, success=all(r.success for r in results), message=worst.message,
        n_models=len(results),
    )


def _objective(X, y_index, n_classes, W, b, C, penalty, multi_class) -> float:
    """C * sum of log-losses + 0.5 ||W||^2, on the raw features (for reporting)."""
    Z = X @ W.T + b
    pen = 0.5 * float(np.sum(W * W)) if penalty == "l2" else 0.0
    if W.shape[0] == 1 or multi_class == "ovr":
        T = (y_index[:, None] == (np.arange(W.shape[0]) if W.shape[0] > 1 else 1)).astype(float)
        loss = float(binary_cross_entropy_with_logits(Z, T, reduction="sum"))
    else:
        loss = -float(np.sum(np.take_along_axis(log_softmax(Z, axis=1), y_index[:, None], 1)))
    return C * loss + pen


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with an L2 penalty, binary or multiclass, any hashable labels.

    Minimises ``C * sum_i log-loss_i + 0.5 ||W||^2`` (scikit-learn's objective); see
    :func:`logistic_regression`.

    Parameters
    ----------
    multi_class : {"multinomial", "ovr"}, default "multinomial"
        Softmax over all classes, or one-vs-rest binary models (for 3+ classes).
    penalty : {"l2", None}, default "l2"
    C : float, default 1.0
        Inverse penalty strength.
    solver : {"lbfgs", "gd", "adam"}, default "lbfgs"
    fit_intercept : bool, default True
    lr : float, optional
        Step size for "adam".
    max_iter : int, default 1000
    tol : float, default 1e-10
    verbose : int, default 0

    Attributes
    ----------
    classes_ : ndarray, shape (classes,)
    coef_ : ndarray, shape (1, features) for two classes, else (classes, features)
    intercept_ : ndarray, shape (1,) or (classes,)
    n_iter_ : int
    objective_ : float
    n_features_in_ : int
    """

    def __init__(self, multi_class: MultiClass = "multinomial", *,
                 penalty: Literal["l2"] | None = "l2", C: float = 1.0, solver: Solver = "lbfgs",
                 fit_intercept: bool = True, lr: float | None = None, max_iter: int = 1000,
                 tol: float = 1e-10, verbose: int = 0) -> None:
        self.multi_class = multi_class
        self.penalty = penalty
        self.C = C
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose

    def fit(self, X: Any, y: Any) -> LogisticRegression:
        """Fit on X (samples, features) and labels y (samples,) of any hashable type."""
        _check_params("LogisticRegression", self.multi_class, self.penalty, self.C,
                      self.solver, self.max_iter, self.tol)
        X, classes, index = check_labels(self, X, y)
        res = logistic_regression(
            X, index, len(classes), multi_class=self.multi_class, penalty=self.penalty,
            C=self.C, fit_intercept=self.fit_intercept, solver=self.solver, lr=self.lr,
            max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        self.classes_ = classes
        self.coef_, self.intercept_ = res.coef, res.intercept
        self.n_iter_, self.objective_ = res.nit, res.fun
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: (samples,) for two classes (of ``classes_[1]``), else (samples, classes)."""
        check_fitted(self, "coef_")
        X = check_X(self, X, reset=False)
        Z = X @ self.coef_.T + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (samples, classes), rows summing to 1."""
        Z = self.decision_function(X)
        if Z.ndim == 1:  # sigmoid(-z), not 1 - sigmoid(z): keeps small probabilities exact
            return np.column_stack([sigmoid(-Z), sigmoid(Z)])
        if self.multi_class == "ovr":  # normalised one-vs-rest probabilities, as scikit-learn
            # sigmoid(Z) / sum(sigmoid(Z)) in log space: when every logit is below -745 each
            # sigmoid underflows to 0 and the plain ratio is 0/0
            return softmax(log_sigmoid(Z), axis=1)
        return softmax(Z, axis=1)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`, computed stably for the binary and softmax models."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            return np.column_stack([log_sigmoid(-Z), log_sigmoid(Z)])
        if self.multi_class == "ovr":
            return log_softmax(log_sigmoid(Z), axis=1)
        return log_softmax(Z, axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as a label from ``classes_``."""
        Z = self.decision_function(X)
        index = (Z > 0).astype(np.intp) if Z.ndim == 1 else np.argmax(Z, axis=1)
        return self.classes_[index]
