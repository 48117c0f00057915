"""Progress bars for long fits: a tqdm bar on stderr when verbose *and* stderr is a terminal.

A bar redraws itself with carriage returns, which fill a log file or a pipe with fragments, so
it is shown only on a terminal (or in a Jupyter kernel, where tqdm draws a widget), unless
forced with :func:`forced` (``matfit --progress``). With verbose=0 nothing is ever shown.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["forced", "progress", "shows"]

_FORCED = False


@contextlib.contextmanager
def forced(on: bool = True) -> Iterator[None]:
    """Within the block, show bars on any stream (when verbose), not only on a terminal."""
    global _FORCED
    before, _FORCED = _FORCED, bool(on) or _FORCED
    try:
        yield
    finally:
        _FORCED = before


def shows(verbose: int | bool) -> bool:
    """Whether :func:`progress` would draw a bar for this ``verbose``."""
    if not verbose:
        return False
    if _FORCED or "ipykernel" in sys.modules:
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
