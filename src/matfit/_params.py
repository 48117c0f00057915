"""Checks of scalar hyper-parameters, shared by every public entry (STYLE.md rule 7).

Each returns the value as a plain Python number or raises :class:`InvalidParameterError` naming
the parameter, what it must be, and the value given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import InvalidParameterError

__all__ = ["integer_at_least", "nonnegative_number"]


def integer_at_least(value: Any, name: str, low: int) -> int:
    """``value`` as an int >= ``low``; booleans and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise InvalidParameterError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def nonnegative_number(value: Any, name: str) -> float:
    """``value`` as a finite float >= 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{name} must be a number >= 0, got {value!r}") from None
    if not np.isfinite(v) or v < 0:
        raise InvalidParameterError(f"{name} must be a finite number >= 0, got {value!r}")
    return v
