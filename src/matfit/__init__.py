"""matfit: fit matrix models in plain NumPy/SciPy, with named shape checks and stable numerics.

Capabilities live in subpackages (``factorize``, ``separate``, ``recommend``, ``nn``, ``linear``,
``optim``, ``explain``); the shared pieces are :mod:`matfit.shapes` and :mod:`matfit.numerics`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import (
    ConvergenceWarning,
    DataError,
    DTypeError,
    InvalidParameterError,
    MatfitError,
    NotFittedError,
    ShapeError,
)

__all__ = [
    "ConvergenceWarning",
    "DTypeError",
    "DataError",
    "InvalidParameterError",
    "MatfitError",
    "NotFittedError",
    "ShapeError",
    "__version__",
]
