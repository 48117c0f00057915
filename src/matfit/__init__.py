"""matfit: fit matrix models in plain NumPy/SciPy, with named shape checks and stable numerics.

Capabilities live in subpackages (``factorize``, ``separate``, ``recommend``, ``nn``, ``linear``,
``optim``, ``explain``, ``signal``); the shared pieces are :mod:`matfit.shapes` and
:mod:`matfit.numerics`. ``matfit.explain`` is both that subpackage and a callable: use it as
``with matfit.explain():`` or ``@matfit.explain`` (and ``%load_ext matfit.explain`` in IPython).
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._errors import (
    ConvergenceWarning,
    DataConversionWarning,
    DataError,
    DivergenceError,
    DTypeError,
    InvalidParameterError,
    MatfitError,
    NotFittedError,
    ShapeError,
)

__all__ = [
    "ConvergenceWarning",
    "DTypeError",
    "DataConversionWarning",
    "DataError",
    "DivergenceError",
    "InvalidParameterError",
    "MatfitError",
    "NotFittedError",
    "ShapeError",
    "__version__",
]


def __getattr__(name: str):
    # Loaded on first use so that `import matfit` stays light; the explain subpackage's module
    # object is callable (context manager and decorator), see matfit/explain/__init__.py.
    if name == "explain":
        import importlib

        return importlib.import_module(".explain", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
