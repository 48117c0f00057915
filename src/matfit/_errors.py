"""The one exception hierarchy of matfit.

Every error a user can cause is a :class:`MatfitError`. The subclasses that are about a bad value
are also :class:`ValueError` (or :class:`TypeError`), so code that already catches the builtin
exceptions keeps working.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "DTypeError",
    "DataError",
    "DivergenceError",
    "InvalidParameterError",
    "MatfitError",
    "NotFittedError",
    "ShapeError",
]


class MatfitError(Exception):
    """Base class of every error matfit raises on purpose."""


class ShapeError(MatfitError, ValueError):
    """An array has the wrong number of dimensions, or a named dimension disagrees."""


class InvalidParameterError(MatfitError, ValueError):
    """A parameter (not an array) has a value outside its allowed set."""


class DataError(MatfitError, ValueError):
    """An array or file holds values that the model cannot use (NaN, inf, negatives, ...)."""


class DTypeError(MatfitError, TypeError):
    """An array has a dtype that cannot be used as numbers (strings, objects, ...)."""


class NotFittedError(MatfitError, ValueError, AttributeError):
    """An estimator was used before ``fit`` (a ValueError and AttributeError, as in sklearn)."""


class DivergenceError(MatfitError, FloatingPointError):
    """An iterative fit diverged (non-finite or exploding objective); the message names why."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at ``max_iter`` before its tolerance was met."""
