"""Input validation and feature scaling shared by matfit's linear models.

The checks follow scikit-learn's estimator contract (so that ``check_estimator`` passes), with
matfit's messages: ``X`` is ``(samples, features)``, NaN/inf and complex input are refused by
name, the number of features and the feature names seen in ``fit`` are enforced afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError, DivergenceError, InvalidParameterError, ShapeError
from .._estimator import (
    as_2d_float,
    check_is_fitted,
    encode_class_labels,
    feature_names,
    validate_features,
)
from ..shapes import check

__all__ = [
    "DivergenceError",
    "Scaling",
    "check_X",
    "check_Xy",
    "check_fitted",
    "check_sample_weight",
    "class_weight_per_sample",
    "column_scaling",
    "implicit_design",
]


def check_fitted(est: Any, attribute: str) -> None:
    """Raise NotFittedError (matfit's, and scikit-learn's when installed) before ``fit``."""
    check_is_fitted(est, attribute)


def check_X(est: Any, X: Any, *, reset: bool, accept_sparse: bool = False) -> Any:
    """Validate ``X`` (samples, features); record (``reset``) or enforce its features.

    float32 stays float32 (other numbers become float64); a scipy.sparse X comes back as CSR or
    CSC (COO, LIL, ... are converted to CSR), never densified.
    """
    names = feature_names(X)
    if sp.issparse(X) and accept_sparse:
        if X.ndim != 2:  # a 1-D scipy.sparse array (coo_array can be 1-D)
            raise DataError(f"X must be 2-D (samples, features), got shape {X.shape}.")
        X = X if X.format in ("csr", "csc") else X.tocsr()
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if not np.all(np.isfinite(X.data)):
            raise DataError("Input X contains NaN or infinity: remove or impute those entries "
                            "(e.g. sklearn.impute.SimpleImputer) before fitting.")
        validate_features(est, X, names, reset=reset)
        return X
    arr = None if sp.issparse(X) else np.asarray(X)
    if arr is not None and arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"Input X contains NaN or infinity ({int(bad.sum())} entries, the "
                            f"first at X{list(where)} = {arr[where]!r}): remove or "
                            f"impute them (e.g. sklearn.impute.SimpleImputer) before fitting.")
    X = as_2d_float(X, "X", who="matfit's linear models")
    validate_features(est, X, names, reset=reset)
    return X


def check_sample_weight(sample_weight: Any, n_samples: int, who: str) -> np.ndarray:
    """float64 weights (samples,): ones for None, a scalar broadcast; >= 0 and finite."""
    if sample_weight is None:
        return np.ones(n_samples)
    sw = np.asarray(sample_weight)
    if sw.dtype.kind not in "biuf":
        raise DataError(f"{who}: sample_weight must hold numbers, got dtype {sw.dtype}.")
    sw = sw.astype(np.float64)
    if sw.ndim == 0:  # broadcast, then checked as a vector: a negative scalar is no weight
        sw = np.full(n_samples, float(sw))
    if sw.ndim != 1:
        raise DataError(f"Sample weights must be 1D array or scalar; {who} got sample_weight "
                        f"of shape {sw.shape}: pass one weight per sample, shape "
                        f"({n_samples},).")
    if sw.shape[0] != n_samples:
        raise DataError(f"sample_weight.shape == {sw.shape}, expected ({n_samples},)! {who} "
                        f"needs one weight per sample of X.")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise DataError(f"{who}: sample_weight must be finite and >= 0 (a weight scales a "
                        f"sample's loss).")
    return sw


def class_weight_per_sample(class_weight: Any, classes: np.ndarray, index: np.ndarray,
                            who: str, sample_weight: np.ndarray | None = None
                            ) -> np.ndarray | None:
    """Each sample's weight from ``class_weight`` ("balanced", a dict label -> weight, None).

    "balanced" is ``sum(w) / (n_classes * sum of w over the class)`` with ``w`` the sample
    weights (``n_samples / (n_classes * count)`` without them; scikit-learn's rule, so integer
    weights and repeated rows still agree); a dict may omit classes (weight 1) but not name
    others.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise InvalidParameterError(f"{who}(class_weight={class_weight!r}): class_weight "
                                        f"must be 'balanced', a dict {{label: weight}} or None.")
        counts = np.bincount(index, weights=sample_weight, minlength=len(classes))
        per_class = counts.sum() / (len(classes) * np.where(counts > 0, counts, 1.0))
        return per_class[index]
    if not isinstance(class_weight, dict):
        raise InvalidParameterError(f"{who}(class_weight={class_weight!r}): class_weight must "
                                    f"be 'balanced', a dict {{label: weight}} or None.")
    per_class = np.ones(len(classes))
    known = {c: i for i, c in enumerate(classes.tolist())}
    for label, weight in class_weight.items():
        key = label.item() if isinstance(label, np.generic) else label
        if key not in known:
            raise DataError(f"{who}: class_weight names the label {label!r}, which is not in "
                            f"y's classes {classes.tolist()}.")
        per_class[known[key]] = float(weight)
    return per_class[index]


class _DenseDesign:
    """``Xs = (X - mean) / scale`` formed once (centring first keeps the products exact when a
    column's mean dwarfs its spread)."""

    def __init__(self, X: np.ndarray, scaling: Scaling) -> None:
        self.Xs = scaling.transform(X)
        self.shape = X.shape

    def matvec(self, U: np.ndarray) -> np.ndarray:
        return self.Xs @ U

    def rmatvec(self, R: np.ndarray) -> np.ndarray:
        return self.Xs.T @ R


class _ImplicitDesign:
    """``Xs = (X - mean) / scale`` as products only, for a sparse X that must stay sparse."""

    def __init__(self, X: Any, scaling: Scaling) -> None:
        self.X, self.mean, self.scale = X, scaling.mean, scaling.scale
        self.shape = X.shape
        self.centred = bool(np.any(self.mean != 0))

    def matvec(self, U: np.ndarray) -> np.ndarray:
        """Xs @ U for U of shape (features,) or (features, k)."""
        V = U / (self.scale if U.ndim == 1 else self.scale[:, None])
        out = np.asarray(self.X @ V)
        if self.centred:
            out -= self.mean @ V
        return out

    def rmatvec(self, R: np.ndarray) -> np.ndarray:
        """Xs' @ R for R of shape (samples,) or (samples, k)."""
        G = np.asarray(self.X.T @ R)
        if self.centred:
            G = G - (self.mean * R.sum() if R.ndim == 1 else np.outer(self.mean, R.sum(axis=0)))
        return G / (self.scale if R.ndim == 1 else self.scale[:, None])


def implicit_design(X: Any, scaling: Scaling) -> _DenseDesign | _ImplicitDesign:
    """The standardised design matrix of ``scaling`` over X (never formed for sparse X)."""
    return _ImplicitDesign(X, scaling) if sp.issparse(X) else _DenseDesign(X, scaling)


def _require_y(est: Any, y: Any) -> None:
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is "
                         f"None.")


def check_Xy(est: Any, X: Any, y: Any, *, multi_output: bool) -> tuple[Any, np.ndarray]:
    """Validate a regression problem: X (samples, features), y (samples,) or (samples, targets)."""
    _require_y(est, y)
    X = check_X(est, X, reset=True, accept_sparse=True)
    _check_lengths(X, y)
    y = as_2d_float(y, "y", dtype=np.float64, who="matfit's linear models", dims=None)
    if y.ndim == 2 and multi_output:
        check(X=(X, "samples features"), y=(y, "samples targets"))
    else:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        check(X=(X, "samples features"), y=(y, "samples"))
    return X, y


def check_labels(est: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a classification problem; return (X, classes, class index of each sample)."""
    _require_y(est, y)
    X = check_X(est, X, reset=True, accept_sparse=True)
    _check_lengths(X, y)
    classes, index = encode_class_labels(est, X, y, regressor="LinearRegression")
    return X, classes, index


def _check_lengths(X: Any, y: Any) -> None:
    if sp.issparse(y):  # len() of it raises TypeError; as_2d_float names the fix instead
        return
    n_y = len(y) if hasattr(y, "__len__") else None
    if n_y is not None and n_y != X.shape[0]:
        raise ShapeError(f"Found input variables with inconsistent numbers of samples: "
                        f"[{X.shape[0]}, {n_y}]: X has {X.shape[0]} rows (samples) but y has "
                        f"{n_y} entries; pass one target per row of X.")


class Scaling:
    """Column centring and scaling, and the map of linear coefficients back to the raw scale.

    ``Xs = (X - mean) / scale``; a coefficient ``u`` on ``Xs`` is ``w = u / scale`` on ``X``,
    with intercept ``b = b_s - mean @ w``. Constant columns get scale 1 (their centred values
    are 0, so their coefficient is decided by the penalty alone).
    """

    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        self.mean, self.scale = mean, scale

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale

    def coef_back(self, u: np.ndarray) -> np.ndarray:
        """Coefficients (..., features) on the scaled columns -> on the raw columns."""
        return u / self.scale

    def intercept_back(self, b_scaled: np.ndarray, w: np.ndarray) -> np.ndarray:
        return b_scaled - w @ self.mean


def column_scaling(X: Any, *, center: bool, scale: bool,
                   curvature: float = 0.0, weights: np.ndarray | None = None) -> Scaling:
    """The :class:`Scaling` that standardises X's columns (or only centres / only scales).

    ``curvature`` is the Hessian diagonal that a ridge penalty adds per unit of a raw
    coefficient, relative to the data term's (``alpha / n`` for least squares): the scale becomes
    ``sqrt(std^2 + curvature)``, so that after scaling every coordinate has about the same
    curvature whether its data or its penalty dominates (Jacobi preconditioning). Without it, a
    column with a tiny spread would be stiff under the penalty and slow gradient methods down.
    """
    n_features = X.shape[1]
    w = np.full(X.shape[0], 1.0 / max(X.shape[0], 1)) if weights is None else weights
    # weighted moments by products with w (X may be sparse; nothing X-sized is allocated
    # for sparse X beyond its squared data)
    mean = np.asarray(X.T @ w).ravel() if center else np.zeros(n_features)
    if scale:
        if sp.issparse(X):  # E[x^2] - mean^2: the spread only preconditions, see above
            second = np.asarray(X.multiply(X).T @ w).ravel()
            spread = np.sqrt(np.maximum(second - mean * mean, 0.0) if center else second)
        else:  # two passes, exact for columns whose mean dwarfs their spread
            D = X - mean if center else X
            spread = np.sqrt(w @ (D * D))
        tiny = spread <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        spread = np.where(tiny, 0.0, spread)
        spread = np.sqrt(spread * spread + curvature)
        spread = np.where(spread > 0, spread, 1.0)
    else:
        spread = np.ones(n_features)
    return Scaling(mean, spread)
