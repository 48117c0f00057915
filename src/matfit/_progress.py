"""Progress bars for long fits: a tqdm bar on stderr when verbose, nothing when verbose=0."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["progress"]


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
    """Wrap ``iterable`` in a tqdm bar on stderr when ``verbose`` is true, else return it silent.

    Use ``bar.set_postfix(loss=...)`` to show the current objective; with verbose=0 every call is
    a no-op, so fitting code never branches on verbosity.
    """
    if not verbose:
        return _Silent(iterable if iterable is not None else range(total or 0))
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                dynamic_ncols=True, mininterval=0.2)
