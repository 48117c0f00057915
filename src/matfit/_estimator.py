"""Base classes for matfit's estimators: scikit-learn's own when installed, a small stand-in else.

matfit's runtime needs only NumPy and SciPy, but its estimators should drop into scikit-learn
pipelines and pass ``check_estimator``. When scikit-learn is importable the estimators inherit its
``BaseEstimator`` and mixins (so tags, ``clone``, HTML repr and ``set_output`` all work); otherwise
a minimal ``get_params``/``set_params`` implementation with the same contract is used.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ._errors import InvalidParameterError, NotFittedError

__all__ = [
    "BaseEstimator",
    "ClassifierMixin",
    "RegressorMixin",
    "TransformerMixin",
    "check_is_fitted",
]

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
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet: call fit() first."
        )
