"""The one exception and warning hierarchy of matfit.

Every error a user can cause is a :class:`MatfitError`. The subclasses that are about a bad value
are also :class:`ValueError` (or :class:`TypeError`), so code that already catches the builtin
exceptions keeps working.

scikit-learn compatibility without a dependency
-----------------------------------------------
Where scikit-learn is installed, :class:`ConvergenceWarning`, :class:`DataConversionWarning` and
:class:`NotFittedError` are subclasses of ``sklearn.exceptions``' classes of the same names, so
``warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)`` (the usual
line before a grid search) silences matfit's too, and ``except sklearn.exceptions.NotFittedError``
catches matfit's. Importing scikit-learn takes about a second, and ``import matfit`` must stay
light (it does not need scikit-learn), so the classes are created with stand-in bases and adopt
scikit-learn's as their bases (``cls.__bases__ = ...``) as soon as ``sklearn.exceptions`` is
imported, by anyone: at once if it already is, otherwise from a one-name import hook that runs
after scikit-learn's module has executed and then removes itself. A user who filters or catches
scikit-learn's class has imported it, so the bases are in place before it can matter. The stand-in
bases (``_WarningBase``, ``_NotFittedBase``) exist because ``__bases__`` may only be swapped
between classes of the same memory layout; scikit-learn's classes are plain subclasses of the
same builtins.
"""

from __future__ import annotations

import sys

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


class _NotFittedBase(ValueError, AttributeError):
    """Stand-in for ``sklearn.exceptions.NotFittedError`` until scikit-learn is imported."""


class _WarningBase(UserWarning):
    """Stand-in for scikit-learn's warning classes until scikit-learn is imported."""


class NotFittedError(MatfitError, _NotFittedBase):
    """An estimator was used before ``fit`` (a ValueError and AttributeError, as in sklearn).

    Also ``sklearn.exceptions.NotFittedError`` where scikit-learn is installed.
    """


class DivergenceError(MatfitError, FloatingPointError):
    """An iterative fit diverged (non-finite or exploding objective); the message names why."""


class ConvergenceWarning(_WarningBase):
    """An iterative fit stopped at ``max_iter`` before its tolerance was met.

    Also ``sklearn.exceptions.ConvergenceWarning`` where scikit-learn is installed.
    """


class DataConversionWarning(_WarningBase):
    """Input was converted in a way the user may not expect (e.g. a column-vector y raveled).

    Also ``sklearn.exceptions.DataConversionWarning`` where scikit-learn is installed.
    """


def _adopt_sklearn_bases(exceptions: object) -> None:
    """Make matfit's classes subclasses of those of the module ``sklearn.exceptions``."""
    for ours, theirs, keep in ((ConvergenceWarning, "ConvergenceWarning", ()),
                               (DataConversionWarning, "DataConversionWarning", ()),
                               (NotFittedError, "NotFittedError", (MatfitError,))):
        base = getattr(exceptions, theirs, None)
        if isinstance(base, type) and base not in ours.__mro__:
            ours.__bases__ = (*keep, base)


class _AdoptOnImport:
    """A ``sys.meta_path`` finder that only watches ``sklearn.exceptions``.

    It asks the other finders for the module's spec and wraps its loader so that, once the
    module has executed, matfit's classes adopt its bases; then it removes itself.
    """

    def find_spec(self, fullname: str, path: object, target: object = None) -> object:
        if fullname != "sklearn.exceptions":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        execute = getattr(loader, "exec_module", None)
        if execute is None:  # pragma: no cover - a legacy loader: leave it alone
            return spec

        def exec_module(module: object) -> None:
            execute(module)
            _adopt_sklearn_bases(module)
            _remove_hook()

        loader.exec_module = exec_module
        return spec


_HOOK = _AdoptOnImport()


def _remove_hook() -> None:
    if _HOOK in sys.meta_path:
        sys.meta_path.remove(_HOOK)


if "sklearn.exceptions" in sys.modules:
    _adopt_sklearn_bases(sys.modules["sklearn.exceptions"])
else:
    sys.meta_path.insert(0, _HOOK)
