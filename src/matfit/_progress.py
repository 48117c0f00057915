"""Progress bars for long fits: a tqdm bar on stderr when verbose, nothing when verbose=0.

A bar redraws itself with carriage returns, which fill a log file or a pipe with fragments. So
inside a command-line run (:func:`terminal_only`, which ``matfit`` wraps around every command)
a bar is drawn only when stderr is a terminal, or in a Jupyter kernel where tqdm draws a widget,
unless forced (``matfit --progress``). A Python caller who passes ``verbose=1`` asked for the
bar explicitly and gets it on any stream, as with tqdm itself.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["progress", "shows", "terminal_only"]

_TERMINAL_ONLY = False


@contextlib.contextmanager
def terminal_only(force: bool = False) -> Iterator[None]:
    """Within the block, draw bars only on a terminal (on any stream with ``force``)."""
    global _TERMINAL_ONLY
    before, _TERMINAL_ONLY = _TERMINAL_ONLY, not force
    try:
        yield
    finally:
        _TERMINAL_ONLY = before


def shows(verbose: int | bool) -> bool:
    """Whether :func:`progress` would draw a bar for this ``verbose``."""
    if not verbose:
        return False
    if not _TERMINAL_ONLY or "ipykernel" in sys.modules:
        return True
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


class _Silent:
    """A do-nothing stand-in with the part of tqdm's interface that matfit uses."""

    def __init__(self, iterable: Iterable | None) -> None:
        self._it = iterable

    def __iter__(self) -> Iterator:
        return iter(self._it if self._it is not None else ())

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    verbose: int | bool = 0,
    unit: str = "it",
) -> Any:
    """Wrap ``iterable`` in a tqdm bar on stderr when :func:`shows` ``(verbose)``, else silent.

    Use ``bar.set_postfix(loss=...)`` to show the current objective; when no bar is shown every
    call is a no-op, so fitting code never branches on verbosity.
    """
    if not shows(verbose):
        return _Silent(iterable if iterable is not None else range(total or 0))
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.2)
