"""Input validation and feature scaling shared by matfit's linear models.

The checks follow scikit-learn's estimator contract (so that ``check_estimator`` passes), with
matfit's messages: ``X`` is ``(samples, features)``, NaN/inf and complex input are refused by
name, the number of features and the feature names seen in ``fit`` are enforced afterwards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DivergenceError
from .._estimator import (
    as_2d_float,
    check_is_fitted,
    encode_class_labels,
    feature_names,
    validate_features,
)
from ..shapes import check

__all__ = ["DivergenceError", "Scaling", "check_X", "check_Xy", "check_fitted", "column_scaling"]

def check_fitted(est: Any, attribute: str) -> None:
    """Raise NotFittedError (matfit's, and scikit-learn's when installed) before ``fit``."""
    check_is_fitted(est, attribute)


def check_X(est: Any, X: Any, *, reset: bool) -> np.ndarray:
    """Validate ``X`` (samples, features); record (``reset``) or enforce its features."""
    names = feature_names(X)
    X = as_2d_float(X, "X", dtype=np.float64, who="matfit's linear models")
    validate_features(est, X, names, reset=reset)
    return X


def _require_y(est: Any, y: Any) -> None:
    if y is None:
        raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y is "
                         f"None.")


def check_Xy(est: Any, X: Any, y: Any, *, multi_output: bool) -> tuple[np.ndarray, np.ndarray]:
    """Validate a regression problem: X (samples, features), y (samples,) or (samples, targets)."""
    _require_y(est, y)
    X = check_X(est, X, reset=True)
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
    X = check_X(est, X, reset=True)
    classes, index = encode_class_labels(est, X, y, regressor="LinearRegression")
    return X, classes, index


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


def column_scaling(X: np.ndarray, *, center: bool, scale: bool,
                   curvature: float = 0.0) -> Scaling:
    """The :class:`Scaling` that standardises X's columns (or only centres / only scales).

    ``curvature`` is the Hessian diagonal that a ridge penalty adds per unit of a raw
    coefficient, relative to the data term's (``alpha / n`` for least squares): the scale becomes
    ``sqrt(std^2 + curvature)``, so that after scaling every coordinate has about the same
    curvature whether its data or its penalty dominates (Jacobi preconditioning). Without it, a
    column with a tiny spread would be stiff under the penalty and slow gradient methods down.
    """
    n_features = X.shape[1]
    mean = X.mean(axis=0) if center else np.zeros(n_features)
    if scale:
        spread = X.std(axis=0) if center else np.sqrt(np.mean(X * X, axis=0))
        tiny = spread <= 1e-12 * np.maximum(np.abs(mean), 1.0)
        spread = np.where(tiny, 0.0, spread)
        spread = np.sqrt(spread * spread + curvature)
        spread = np.where(spread > 0, spread, 1.0)
    else:
        spread = np.ones(n_features)
    return Scaling(mean, spread)
