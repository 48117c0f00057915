"""Base classes and input checks for matfit's estimators.

matfit's runtime needs only NumPy and SciPy, but its estimators should drop into scikit-learn
pipelines and pass ``check_estimator``. When scikit-learn is importable the estimators inherit its
``BaseEstimator`` and mixins (so tags, ``clone``, HTML repr and ``set_output`` all work) and the
not-fitted error is also scikit-learn's ``NotFittedError``; otherwise a minimal
``get_params``/``set_params`` implementation with the same contract is used.

The checks here (:func:`as_2d_float`, :func:`validate_features`) implement the part of
scikit-learn's estimator contract every matfit estimator shares: X is (samples, features), the
number and names of the features seen in ``fit`` are enforced afterwards.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._errors import (
    DataConversionWarning,
    DataError,
    DTypeError,
    InvalidParameterError,
    NotFittedError,
    ShapeError,
)
from .shapes import _from_pandas, as_float_array

__all__ = [
    "BaseEstimator",
    "ClassifierMixin",
    "DataConversionWarning",
    "RegressorMixin",
    "TransformerMixin",
    "as_2d_float",
    "check_is_fitted",
    "encode_class_labels",
    "feature_names",
    "validate_features",
]

# matfit's NotFittedError and DataConversionWarning subclass scikit-learn's where it is installed
# (see matfit._errors); the old private alias stays for callers that used it.
_NotFittedError = NotFittedError

try:  # pragma: no cover - exercised whichever way the environment is
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin

except ImportError:  # pragma: no cover
    class BaseEstimator:  # type: ignore[no-redef]
        """get_params/set_params from the ``__init__`` signature, as scikit-learn's."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(
                p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
            )

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> BaseEstimator:
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise InvalidParameterError(
                        f"{type(self).__name__} has no parameter {key!r}; valid: {valid}"
                    )
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class TransformerMixin:  # type: ignore[no-redef]
        def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
            return self.fit(X, y, **fit_params).transform(X)

    class ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"

        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
            return float(np.average(self.predict(X) == np.asarray(y), weights=sample_weight))

    class RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
            y = np.asarray(y, dtype=float)
            r = y - self.predict(X)
            w = None if sample_weight is None else np.asarray(sample_weight, float)
            ss_res = np.average(r**2, weights=w, axis=0)
            ss_tot = np.average((y - np.average(y, weights=w, axis=0)) ** 2, weights=w, axis=0)
            return float(np.mean(1 - ss_res / ss_tot))


def check_is_fitted(estimator: Any, attributes: str | list[str]) -> None:
    """Raise :class:`NotFittedError` unless every named fitted attribute is set."""
    names = [attributes] if isinstance(attributes, str) else attributes
    if not all(hasattr(estimator, a) for a in names):
        raise _NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet: call fit() first."
        )


def feature_names(X: Any) -> np.ndarray | None:
    """The string column names of a DataFrame-like X, else None (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(columns, dtype=object)
    kinds = {type(n) for n in names}
    if kinds and all(issubclass(k, str) for k in kinds):
        return names
    if any(issubclass(k, str) for k in kinds):
        raise TypeError(
            "Feature names are only supported if all input features have string names, but X "
            f"has feature names of types {sorted(k.__name__ for k in kinds)}: convert them with "
            "X.columns = X.columns.astype(str)."
        )
    return None


def as_2d_float(
    x: Any, name: str, *, dtype: Any = None, who: str = "this estimator",
    dims: str | None = "samples features", allow_nonfinite: bool = False, copy: bool = False,
) -> Any:
    """Dense float array (samples, features); refuse sparse and complex input by name.

    Numbers stored with dtype object are converted (NumPy's TypeError names a non-number).
    ``dims=None`` accepts any number of dimensions (targets y of shape (samples,) or
    (samples, targets)). ``allow_nonfinite`` and ``copy`` are passed to ``as_float_array``.
    """
    if sp.issparse(x):
        raise DTypeError(f"{name} is a scipy.sparse matrix, which {who} does not take: pass "
                         f"{name}.toarray().")
    arr = np.asarray(_from_pandas(x))  # nullable pandas columns: pd.NA -> NaN
    if arr.dtype.kind == "c":
        raise DataError(f"Complex data not supported: {name} has dtype {arr.dtype}. Pass the "
                        f"real and imaginary parts as separate features, or np.abs({name}).")
    if arr.dtype.kind == "O":
        arr = arr.astype(np.float64)
    if dims is not None and arr.ndim != 2:
        raise ShapeError(
            f"Expected a 2-D {name} (samples, features), got shape {arr.shape}. Reshape your data "
            f"either using {name}.reshape(-1, 1) if it has a single feature or "
            f"{name}.reshape(1, -1) if it is a single sample."
        )
    return as_float_array(arr, name, dims=dims, dtype=dtype, allow_nonfinite=allow_nonfinite,
                          copy=copy)


def validate_features(est: Any, X: Any, names: np.ndarray | None, *, reset: bool) -> None:
    """Record (``reset=True``, in ``fit``) or enforce the number and names of X's features.

    X is already a 2-D (samples, features) array or sparse matrix; ``names`` comes from
    :func:`feature_names` on the caller's original input. Messages follow scikit-learn's, whose
    estimator checks match on them.
    """
    cls = type(est).__name__
    if X.shape[1] == 0:
        raise DataError(f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required by "
                        f"{cls}.")
    if X.shape[0] == 0:
        raise DataError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                        f"required by {cls}.")
    if reset:
        est.n_features_in_ = X.shape[1]
        if names is not None:
            est.feature_names_in_ = names
        elif hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
        return
    fitted = getattr(est, "feature_names_in_", None)
    if names is not None and fitted is None:
        warnings.warn(f"X has feature names, but {cls} was fitted without feature names",
                      UserWarning, stacklevel=3)
    elif names is None and fitted is not None:
        warnings.warn(f"X does not have valid feature names, but {cls} was fitted with feature "
                      f"names", UserWarning, stacklevel=3)
    elif names is not None and (len(names) != len(fitted) or np.any(names != fitted)):
        raise ShapeError(
            "The feature names should match those that were passed during fit.\n"
            f"Fitted with: {list(fitted)[:10]}\nGot: {list(names)[:10]}"
        )
    if X.shape[1] != est.n_features_in_:
        raise ShapeError(f"X has {X.shape[1]} features, but {cls} is expecting "
                         f"{est.n_features_in_} features as input.")


def encode_class_labels(
    est: Any, X: Any, y: Any, *, min_classes: int = 2, regressor: str = "a regressor"
) -> tuple[np.ndarray, np.ndarray]:
    """Check class labels y (samples,) of any sortable hashable type against a validated X.

    Returns ``(classes, index)`` with ``classes[index] == y``. A column vector is accepted with
    scikit-learn's DataConversionWarning; continuous, NaN or unsortable mixed labels raise.
    """
    cls = type(est).__name__
    if y is None:
        raise ValueError(f"{cls} requires y to be passed, but the target y is None.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change "
                      "the shape of y to (n_samples, ), for example using ravel().",
                      DataConversionWarning, stacklevel=3)
        y = y[:, 0]
    if y.ndim != 1:
        raise ShapeError(f"y should be a 1d array, got an array of shape {y.shape} instead: "
                         f"{cls} takes one label per sample; for a one-hot matrix Y pass "
                         f"Y.argmax(axis=1).")
    from .shapes import check

    check(X=(X, "samples features"), y=(y, "samples"))
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):  # scikit-learn's words first, then where and the fix
            what = "NaN" if np.isnan(y).any() else "infinity"
            raise DataError(f"Input y contains {what}: {int(np.count_nonzero(~np.isfinite(y)))} "
                            f"label(s), the first at y[{int(np.argmax(~np.isfinite(y)))}]; "
                            f"remove those samples before fitting.")
        if np.any(y != np.round(y)):
            raise ValueError(f"Unknown label type: continuous. {cls} needs class labels; for a "
                             f"numeric target use {regressor}, or bin y first.")
    try:
        classes, index = np.unique(y, return_inverse=True)
    except TypeError:  # labels of mixed types cannot be sorted
        raise DataError("Unknown label type: unknown. y mixes label types that cannot be "
                        "ordered (e.g. str and int): convert them to one type, e.g. "
                        "y.astype(str).") from None
    if len(classes) < min_classes:
        raise ValueError(f"{cls} needs samples of at least {min_classes} classes in the data, "
                         f"but the data contains only one class: {classes[0]!r}.")
    return classes, index.ravel().astype(np.intp)
