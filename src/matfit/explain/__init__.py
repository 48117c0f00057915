"""``matfit explain``: say which expressions a NumPy shape error is about, and how to fix it.

NumPy's ``ValueError`` gives sizes (``size 131 is different from 60``) but not which arrays of
the user's line they belong to, and the line that raises is rarely the line that is wrong.
``explain`` finds the failing line, parses it, identifies the failing operation (``@``,
``np.dot``, broadcasting operators and ufuncs, joins, ``reshape``, slice assignment, ``np.array``
of a ragged list, a boolean index, ``np.linalg``, ``np.einsum``, a positional ``out``),
re-evaluates its side-effect-free operands, and prints

* each operand with its shape and dtype, and which dimensions disagree under which rule;
* where each operand got its shape (``_provenance``): the assignment that gave it, followed
  through function arguments, loop iterations and returns, and the expression that set the
  disagreeing size (``num_components = 131``); silent broadcasts upstream ((n,) against (n, 1)
  into (n, n)) are flagged; the likely root-cause line is marked, with the reason
  (``_rootcause``);
* fixes that were *checked* (``_honest``): run on stand-ins of the operands' real types (a list
  stays a list, np.matrix a matrix, pandas stays pandas) and giving the shape the code needs (the
  previous shape of an updated variable, the slot of a slice assignment, what the next statement
  combines the result with); outer products and reshapes into another meaning are never
  offered, and when the root cause is upstream, fixes on the failing line are withheld. When no
  fix passes, the shapes that would be needed are listed instead.

Under ``matfit explain SCRIPT.py`` a shape history of the user's frames is recorded while the
script runs (``_trace``, ``sys.settrace`` restricted to the user's files); elsewhere origins are
found by reading the code and the frames on the traceback. The exception is then re-raised.

Four ways in:

>>> import numpy as np
>>> import matfit.explain
>>> W, H = np.ones((513, 60)), np.ones((131, 129))
>>> with matfit.explain():                        # doctest: +SKIP
...     V = W @ H
>>> @matfit.explain                               # doctest: +SKIP
... def fit(W, H):
...     return W @ H

In IPython/Jupyter, ``%load_ext matfit.explain`` explains every shape error of a cell; on the
command line, ``matfit explain SCRIPT.py [ARGS...]`` runs a script as ``__main__``.

Nothing is done unless an exception passes: the context manager and the decorator only look at
the exception on its way out.

``matfit.explain`` is both this module and the callable: the module's class is replaced by a
``ModuleType`` subclass with ``__call__``, ``__enter__`` and ``__exit__`` (a documented Python
mechanism, see the ``types.ModuleType`` notes of PEP 549/562), so that ``%load_ext
matfit.explain`` and ``with matfit.explain():`` name the same object.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable
from typing import IO, Any, TypeVar

from ._analyze import explain_exception
from ._report import Explanation, Operand, Suggestion

__all__ = [
    "Explainer",
    "Explanation",
    "Operand",
    "Suggestion",
    "explain",
    "explain_exception",
    "load_ipython_extension",
    "report",
    "unload_ipython_extension",
]

F = TypeVar("F", bound=Callable[..., Any])

_SEEN_ATTR = "_matfit_explained"
# shape errors: NumPy's ValueErrors (LinAlgError is one), a boolean index's IndexError, and the
# TypeError of a scalar passed positionally as a ufunc's ``out``
_EXPLAINED = (ValueError, IndexError, TypeError)


def report(exc: BaseException, tb: Any = None, *, file: IO[str] | None = None,
           tracer: Any = None, namer: Callable[[str], str | None] | None = None) -> \
        Explanation | None:
    """Explain ``exc`` on ``file`` (stderr) once; return the explanation (None if none).

    The explainer never raises: a failure inside it is reported in one line and ignored, so
    the user's own exception is always what propagates.
    """
    if getattr(exc, _SEEN_ATTR, False):
        return None
    try:
        explanation = explain_exception(exc, tb, tracer=tracer)
    except Exception as err:  # never let the explainer hide the user's error
        print(f"matfit explain: could not analyse this error ({type(err).__name__}: {err})",
              file=file or sys.stderr)
        return None
    try:
        setattr(exc, _SEEN_ATTR, True)
    except AttributeError:  # pragma: no cover - exceptions with __slots__
        pass
    if explanation is not None and namer is not None:
        files = {explanation.filename, *(st.filename for o in explanation.origins
                                         for st in o.steps)}
        if explanation.root_cause:
            files.add(explanation.root_cause["file"])
        explanation.display_names = {f: n for f in files if (n := namer(f))}
    if explanation is not None:
        out = file or sys.stderr
        print(explanation.format(), file=out)
        out.flush()
    return explanation


class Explainer:
    """Context manager and decorator that explains NumPy shape errors on their way out.

    Parameters
    ----------
    file : text stream, optional
        Where to print (stderr when None).

    Attributes
    ----------
    explanation : Explanation or None
        The last explanation printed.
    """

    def __init__(self, *, file: IO[str] | None = None) -> None:
        self.file = file
        self.explanation: Explanation | None = None

    def __enter__(self) -> Explainer:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is not None and isinstance(exc, _EXPLAINED):
            self.explanation = report(exc, tb, file=self.file) or self.explanation
        return False  # re-raise

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except _EXPLAINED as exc:
                self.explanation = report(exc, exc.__traceback__, file=self.file) or \
                    self.explanation
                raise

        return wrapper  # type: ignore[return-value]


def explain(func: Callable | None = None, *, file: IO[str] | None = None) -> Any:
    """Explain NumPy shape errors: ``with explain():``, ``@explain`` or ``@explain()``.

    Parameters
    ----------
    func : callable, optional
        When given (``@explain``), return it wrapped.
    file : text stream, optional
        Where to print the explanation (stderr when None).

    Returns
    -------
    Explainer or callable
        A context manager/decorator, or the wrapped ``func``.
    """
    if func is not None:
        if not callable(func):
            raise TypeError(f"explain() takes a function to wrap, got {type(func).__name__}")
        return Explainer(file=file)(func)
    return Explainer(file=file)


def _cell_namer(shell: Any) -> Callable[[str], str | None]:
    """``"Cell In[3]"`` for the file of a notebook cell, as IPython's tracebacks name it."""

    def name(filename: str) -> str | None:
        try:
            data = shell.compile.format_code_name(filename)
        except Exception:  # an IPython without this helper
            return None
        return f"{data[0]} {data[1]}" if data else None

    return name


def _custom_exc(shell: Any, etype: type, value: BaseException, tb: Any,
                tb_offset: int | None = None) -> Any:
    report(value, tb, namer=_cell_namer(shell))
    return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext matfit.explain``: explain every ValueError a cell raises."""
    ipython.set_custom_exc(_EXPLAINED, _custom_exc)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext matfit.explain``: restore IPython's own handling."""
    ipython.set_custom_exc((), None)


class _CallableModule(types.ModuleType):
    """This module, callable: ``matfit.explain()`` is ``matfit.explain.explain()``."""

    def __call__(self, func: Callable | None = None, *, file: IO[str] | None = None) -> Any:
        return explain(func, file=file)

    def __enter__(self) -> Explainer:
        return Explainer()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        return Explainer().__exit__(exc_type, exc, tb)


sys.modules[__name__].__class__ = _CallableModule
