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
  the gradient methods and slow L-BFGS down. The standardised matrix is never formed:
  ``Xs @ u = X @ (u / scale) - mean . (u / scale)`` and ``Xs' r = (X' r - mean sum(r)) / scale``,
  so a scipy.sparse X (CSR or CSC) stays sparse and only matrix-vector products touch it.
* ``sample_weight`` multiplies each sample's loss (integer weights = repeated rows, exactly);
  the objective is ``C * sum_i w_i loss_i + 0.5 ||W||^2``, divided by ``C sum(w)`` for the solver.
  The column means and spreads used for scaling are weighted the same way.
* float32 X is fitted in float64 (the solver's tolerance of 1e-10 is below float32's resolution)
  and the coefficients are returned as float32, as scikit-learn returns them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
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
from ._common import (
    DivergenceError,
    check_fitted,
    check_labels,
    check_sample_weight,
    check_X,
    class_weight_per_sample,
    column_scaling,
    implicit_design,
)

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
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 0:
        raise InvalidParameterError(f"{caller}(max_iter={max_iter!r}): max_iter must be an "
                                    f"integer >= 0 (0 returns the starting point).")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not tol > 0:
        raise InvalidParameterError(f"{caller}(tol={tol!r}): tol must be a number > 0.")


def _binary_objective(D: Any, t: np.ndarray, w: np.ndarray, reg: np.ndarray,
                      fit_intercept: bool):
    """sum_i w_i BCE(Xs u + b, t)_i + 0.5 sum(reg u^2) (w sums to 1), on x = [u, b]."""
    p = D.shape[1]

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        u, b = x[:p], (x[p] if fit_intercept else 0.0)
        z = D.matvec(u) + b
        loss = np.logaddexp(0.0, z) - t * z        # BCE from logits, finite for any z
        f = float(w @ loss) + 0.5 * float(np.sum(reg * u * u))
        r = w * (sigmoid(z) - t)
        grad = np.empty_like(x)
        grad[:p] = D.rmatvec(r) + reg * u
        if fit_intercept:
            grad[p] = r.sum()
        return f, grad

    return fun


def _multinomial_objective(D: Any, index: np.ndarray, n_classes: int, w: np.ndarray,
                           reg: np.ndarray, fit_intercept: bool):
    """sum_i w_i CE(softmax(Xs U' + b))_i + 0.5 sum(reg U^2), on x = [U (K, p), b (K,)]."""
    n, p = D.shape
    Y = np.zeros((n, n_classes))
    Y[np.arange(n), index] = 1.0
    k_coef = n_classes * p

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        U = x[:k_coef].reshape(n_classes, p)
        Z = D.matvec(U.T)
        if fit_intercept:
            Z += x[k_coef:]
        logp = log_softmax(Z, axis=1)
        f = -float(w @ np.sum(Y * logp, axis=1)) + 0.5 * float(np.sum(reg * U * U))
        R = (np.exp(logp) - Y) * w[:, None]
        grad = np.empty_like(x)
        grad[:k_coef] = (D.rmatvec(R).T + reg * U).ravel()
        if fit_intercept:
            grad[k_coef:] = R.sum(axis=0)
        return f, grad

    return fun


def _solve(fun, x0: np.ndarray, solver: str, lr: float | None, max_iter: int, tol: float,
           verbose: int) -> OptimizeResult:
    from ..optim import minimize

    if max_iter == 0:  # scikit-learn's max_iter=0: the starting point, unconverged
        f, _ = fun(x0)
        return OptimizeResult(x=x0, fun=f, nit=0, status=1, success=False,
                              message="max_iter=0: no iteration was run")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = minimize(fun, x0, jac=True, method=_METHODS[solver], lr=lr,
                       max_iter=max_iter, gtol=tol, verbose=verbose)
    if res.status in (3, 4):
        raise DivergenceError(f"logistic_regression(solver={solver!r}): {res.message}")
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        res.status = 1  # the iteration budget ran out (a stalled line search, status 5, is
        res.success = False  # floating-point precision exhausted: not worth a warning)
    return res


def logistic_regression(
    X: Any,
    y_index: np.ndarray,
    n_classes: int,
    *,
    sample_weight: Any = None,
    multi_class: MultiClass = "multinomial",
    penalty: Literal["l2"] | None = "l2",
    C: float = 1.0,
    fit_intercept: bool = True,
    solver: Solver = "lbfgs",
    lr: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-10,
    verbose: int = 0,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> OptimizeResult:
    """Fit a logistic regression on class indices.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix (CSR/CSC), shape (samples, features)
        Sparse X is never densified.
    y_index : ndarray of int, shape (samples,)
        The class of each sample, in ``0 .. n_classes - 1``.
    n_classes : int >= 2
    sample_weight : ndarray, shape (samples,), optional
        Non-negative weight of each sample's loss (an integer weight = the row repeated).
    multi_class : {"multinomial", "ovr"}
        One softmax over all classes, or one binary model per class (ignored for 2 classes).
    penalty : {"l2", None}
        ``0.5 ||W||^2`` with weight ``1 / C`` relative to the summed log-loss, or none.
    C : float > 0
        Inverse penalty strength, as in scikit-learn (``np.inf``: no penalty).
    fit_intercept : bool
    solver : {"lbfgs", "gd", "adam"}
        SciPy's L-BFGS-B, Barzilai–Borwein gradient descent, or Adam (``lr`` default 1e-3),
        all through :func:`matfit.optim.minimize`.
    lr : float, optional
        Step size for "adam" (and the first BB trial step for "gd").
    max_iter : int >= 0
        Iterations at most (per binary model for "ovr"); 0 returns the starting point.
    tol : float
        Stop when the largest gradient entry of the scaled objective is below ``tol``.
    verbose : int
    init : (coef, intercept), optional
        Starting coefficients, shaped as this function returns them (warm start).

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``coef`` shape (1, features) for two classes, else (classes, features); ``intercept``
        shape (1,) or (classes,); ``fun`` the objective ``C * sum w loss + 0.5 ||W||^2``
        (``sum w loss`` without a penalty, whatever C is);
        ``nit`` (total iterations), ``status``, ``success``, ``message``. A fit that stops at
        ``max_iter`` warns with :class:`ConvergenceWarning` ("lbfgs failed to converge ...").
    """
    _check_params("logistic_regression", multi_class, penalty, C, solver, max_iter, tol)
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or \
            n_classes < 2:
        raise InvalidParameterError(f"logistic_regression(n_classes={n_classes!r}): n_classes "
                                    f"must be an integer >= 2 (a one-class model has nothing "
                                    f"to fit).")
    if sp.issparse(X):
        X = as_float_array(X, "X", dims="samples features", sparse=("csr", "csc"),
                           dtype=np.float64)
    else:
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
    sw = check_sample_weight(sample_weight, X.shape[0], "logistic_regression")
    total = float(sw.sum())
    if not total > 0:
        raise DataError("logistic_regression: sample_weight sums to zero (every weight is "
                        "zero): at least one sample needs a positive weight.")
    w = sw / total
    penalised = penalty == "l2" and math.isfinite(C)
    # the logistic loss has curvature <= 1/4 per unit variance; the penalty adds 1 / (C sum w)
    curvature = 4.0 / (C * total) if penalised else 0.0
    scaling = column_scaling(X, center=fit_intercept, scale=True, curvature=curvature, weights=w)
    D = implicit_design(X, scaling)
    # ||w||^2 / (2 C sum(sw)) with w = u / scale  ->  0.5 * sum(reg * u^2)
    reg = (1.0 / (C * total) / scaling.scale**2) if penalised else np.zeros(X.shape[1])
    p = X.shape[1]
    binary_models = n_classes == 2 or multi_class == "ovr"
    n_rows = 1 if n_classes == 2 else n_classes
    x0 = _start(init, scaling, n_rows, p, fit_intercept)
    results = []
    if binary_models:
        targets = [1] if n_classes == 2 else list(range(n_classes))
        rows = []
        for j, k in enumerate(targets):
            t = (y_index == k).astype(np.float64)
            fun = _binary_objective(D, t, w, reg, fit_intercept)
            start = np.r_[x0[0][j], x0[1][j]] if fit_intercept else x0[0][j].copy()
            res = _solve(fun, start, solver, lr, max_iter, tol, verbose)
            results.append(res)
            rows.append(res.x)
        params = np.array(rows)
        U, b = params[:, :p], (params[:, p] if fit_intercept else np.zeros(len(targets)))
    else:
        start = np.r_[x0[0].ravel(), x0[1]] if fit_intercept else x0[0].ravel()
        fun = _multinomial_objective(D, y_index, n_classes, w, reg, fit_intercept)
        res = _solve(fun, start, solver, lr, max_iter, tol, verbose)
        results.append(res)
        U = res.x[: n_classes * p].reshape(n_classes, p)
        b = res.x[n_classes * p:] if fit_intercept else np.zeros(n_classes)
    W = scaling.coef_back(U)
    intercept = b - W @ scaling.mean if fit_intercept else np.zeros(len(b))
    if fit_intercept and n_classes > 2 and multi_class == "multinomial":
        intercept = intercept - intercept.mean()
    fun_value = _objective(X, y_index, n_classes, W, intercept, C, penalty, multi_class, sw)
    worst = max(results, key=lambda r: (r.status == 1, not r.success, r.status))
    nit = int(sum(r.nit for r in results))
    if any(r.status == 1 for r in results):
        warnings.warn(
            f"{solver} failed to converge after {max(r.nit for r in results)} iteration(s) "
            f"(max_iter={max_iter}, tol={tol}): {worst.message}. Increase max_iter, or loosen "
            f"tol.", ConvergenceWarning, stacklevel=2)
    return OptimizeResult(
        coef=W, intercept=intercept, fun=fun_value, nit=nit,
        status=worst.status, success=all(r.success for r in results), message=worst.message,
        n_models=len(results),
    )


def _start(init: Any, scaling: Any, n_rows: int, p: int,
           fit_intercept: bool) -> tuple[np.ndarray, np.ndarray]:
    """Raw (coef, intercept) -> the scaled problem's (U, b); zeros without ``init``."""
    if init is None:
        return np.zeros((n_rows, p)), np.zeros(n_rows)
    coef, intercept = (np.asarray(a, dtype=np.float64) for a in init)
    if coef.shape != (n_rows, p):
        raise DataError(f"logistic_regression(init=...): coef has shape {coef.shape} but this "
                        f"problem needs ({n_rows}, {p}).")
    U = coef * scaling.scale
    b = np.broadcast_to(intercept, (n_rows,)) + coef @ scaling.mean if fit_intercept else \
        np.zeros(n_rows)
    return U, np.array(b, dtype=np.float64)


def _objective(X, y_index, n_classes, W, b, C, penalty, multi_class, sw) -> float:
    """C * sum of weighted log-losses + 0.5 ||W||^2, on the raw features (for reporting).

    Without a penalty (``penalty=None`` or ``C=inf``) it is the plain sum of weighted
    log-losses: C is ignored then, as the fit ignores it.
    """
    Z = np.asarray(X @ W.T) + b
    penalised = penalty == "l2" and math.isfinite(C)
    pen = 0.5 * float(np.sum(W * W)) if penalised else 0.0
    if not penalised:
        C = 1.0
    if W.shape[0] == 1 or multi_class == "ovr":
        T = (y_index[:, None] == (np.arange(W.shape[0]) if W.shape[0] > 1 else 1)).astype(float)
        per = binary_cross_entropy_with_logits(Z, T, reduction="none").sum(axis=1)
    else:
        per = -np.take_along_axis(log_softmax(Z, axis=1), y_index[:, None], 1)[:, 0]
    return C * float(sw @ per) + pen


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with an L2 penalty, binary or multiclass, any hashable labels.

    Minimises ``C * sum_i w_i log-loss_i + 0.5 ||W||^2`` (scikit-learn's objective, with
    ``w_i`` the sample weight times the class weight); see :func:`logistic_regression`.

    Parameters
    ----------
    multi_class : {"multinomial", "ovr"}, default "multinomial"
        Softmax over all classes, or one-vs-rest binary models (for 3+ classes).
    penalty : {"l2", None}, default "l2"
    C : float, default 1.0
        Inverse penalty strength (``np.inf``: no penalty).
    solver : {"lbfgs", "gd", "adam"}, default "lbfgs"
    fit_intercept : bool, default True
    lr : float, optional
        Step size for "adam".
    max_iter : int, default 1000
        0 returns the starting point (zeros, or the previous fit with ``warm_start``).
    tol : float, default 1e-10
        Gradient tolerance of the standardised problem (scikit-learn's default is 1e-4; matfit's
        is tight enough that its coefficients agree with an exact Newton solution to ~1e-6).
    verbose : int, default 0
    class_weight : "balanced", dict or None, default None
        Multiplies the weight of each class's samples ("balanced":
        ``n_samples / (n_classes * count)``).
    random_state : int, RandomState or None
        Accepted for scikit-learn compatibility; every matfit solver is deterministic.
    warm_start : bool, default False
        Start from the previous fit's coefficients when their shape fits.

    Attributes
    ----------
    classes_ : ndarray, shape (classes,)
    coef_ : ndarray, shape (1, features) for two classes, else (classes, features)
        float32 when X was float32 (dense or sparse), else float64.
    intercept_ : ndarray, shape (1,) or (classes,)
    n_iter_ : ndarray of int, shape (1,)
        Iterations of the solver (summed over the binary models for "ovr").
    objective_ : float
    n_features_in_ : int
    """

    def __init__(self, multi_class: MultiClass = "multinomial", *,
                 penalty: Literal["l2"] | None = "l2", C: float = 1.0, solver: Solver = "lbfgs",
                 fit_intercept: bool = True, lr: float | None = None, max_iter: int = 1000,
                 tol: float = 1e-10, verbose: int = 0, class_weight: Any = None,
                 random_state: Any = None, warm_start: bool = False) -> None:
        self.multi_class = multi_class
        self.penalty = penalty
        self.C = C
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit on X (samples, features), dense or scipy.sparse, and labels y (samples,).

        ``sample_weight`` (samples,) weights each sample's loss (it is not modified).
        """
        _check_params("LogisticRegression", self.multi_class, self.penalty, self.C,
                      self.solver, self.max_iter, self.tol)
        if self.penalty is None and self.C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters: "
                          "the fit has no penalty. Leave C at 1.0, or use penalty='l2'.",
                          UserWarning, stacklevel=2)
        X, classes, index = check_labels(self, X, y)
        sw = check_sample_weight(sample_weight, X.shape[0], "LogisticRegression.fit")
        per_class = class_weight_per_sample(self.class_weight, classes, index,
                                            "LogisticRegression", sw)
        if per_class is not None:
            sw = sw * per_class
        weighted = np.bincount(index, weights=sw, minlength=len(classes))
        if np.count_nonzero(weighted > 0) < 2 and sw.sum() > 0:
            only = classes[weighted > 0].tolist()[0]  # a Python label: 'a', not np.str_('a')
            raise ValueError(f"LogisticRegression needs samples of at least 2 classes with a "
                             f"positive weight, but only class {only!r} has any: check "
                             f"sample_weight and class_weight.")
        init = None
        n_rows = 1 if len(classes) == 2 else len(classes)
        if self.warm_start and getattr(self, "coef_", None) is not None:
            coef = self.coef_.toarray() if sp.issparse(self.coef_) else self.coef_
            if coef.shape == (n_rows, X.shape[1]):
                init = (coef, self.intercept_)
        res = logistic_regression(
            X, index, len(classes), sample_weight=sw, multi_class=self.multi_class,
            penalty=self.penalty, C=self.C, fit_intercept=self.fit_intercept,
            solver=self.solver, lr=self.lr, max_iter=self.max_iter, tol=self.tol,
            verbose=self.verbose, init=init)
        dtype = X.dtype
        self.classes_ = classes
        self.coef_ = res.coef.astype(dtype)
        self.intercept_ = res.intercept.astype(dtype)
        self.n_iter_ = np.array([res.nit], dtype=np.int32)
        self.objective_ = res.fun
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: (samples,) for two classes (of ``classes_[1]``), else (samples, classes)."""
        check_fitted(self, "coef_")
        X = check_X(self, X, reset=False, accept_sparse=True)
        Z = X @ self.coef_.T
        Z = (Z.toarray() if sp.issparse(Z) else np.asarray(Z)) + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (samples, classes), rows summing to 1."""
        Z = self.decision_function(X)
        if Z.ndim == 1:  # sigmoid(-z), not 1 - sigmoid(z): keeps small probabilities exact
            P = np.column_stack([sigmoid(-Z), sigmoid(Z)])
        elif self.multi_class == "ovr":  # normalised one-vs-rest probabilities, as scikit-learn
            # sigmoid(Z) / sum(sigmoid(Z)) in log space: when every logit is below -745 each
            # sigmoid underflows to 0 and the plain ratio is 0/0
            P = softmax(log_sigmoid(Z), axis=1)
        else:
            P = softmax(Z, axis=1)
        return P.astype(Z.dtype, copy=False)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`, computed stably for the binary and softmax models."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            L = np.column_stack([log_sigmoid(-Z), log_sigmoid(Z)])
        elif self.multi_class == "ovr":
            L = log_softmax(log_sigmoid(Z), axis=1)
        else:
            L = log_softmax(Z, axis=1)
        return L.astype(Z.dtype, copy=False)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as a label from ``classes_``."""
        Z = self.decision_function(X)
        index = (Z > 0).astype(np.intp) if Z.ndim == 1 else np.argmax(Z, axis=1)
        return self.classes_[index]

    def sparsify(self) -> LogisticRegression:
        """Store ``coef_`` as a scipy.sparse CSR matrix (scikit-learn's ``sparsify``)."""
        check_fitted(self, "coef_")
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self) -> LogisticRegression:
        """Store ``coef_`` as a dense array again."""
        check_fitted(self, "coef_")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
