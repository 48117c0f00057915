"""Numba, when it is installed: the one place that decides whether kernels are compiled.

matfit's compiled kernels (``recommend._kernels``, ``recommend._sgd``, ``factorize._wkernels``)
are plain Python functions that are also their specification; :func:`compile_kernel` compiles
one with the project's options, or returns None when Numba is missing (the optional extra
``fast``) or disabled with the environment variable ``MATFIT_DISABLE_NUMBA``, in which case the
caller keeps its NumPy form.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["compile_kernel", "have_numba"]


def have_numba() -> bool:
    """Whether Numba is importable and not disabled with ``MATFIT_DISABLE_NUMBA``."""
    if os.environ.get("MATFIT_DISABLE_NUMBA"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def compile_kernel(fn: Callable[..., Any], *, parallel: bool = False,
                   fastmath: set[str] | bool = False) -> Any:
    """``fn`` compiled in nopython mode (disk-cached, the GIL released), or None without Numba.

    ``parallel`` turns ``prange`` loops into threads; ``fastmath`` is passed to Numba (a set of
    LLVM flags, e.g. ``{"reassoc", "contract"}`` to let it vectorise sums).
    """
    if not have_numba():
        return None
    import numba

    return numba.njit(cache=True, nogil=True, parallel=parallel, fastmath=fastmath)(fn)
