"""One BLAS thread around the factorisation loops, when threadpoolctl is installed.

The products in separation are small (1025 bins x 80 atoms x a few hundred frames): with two
OpenBLAS threads on a 2-core machine that other processes share, a 5 s separation took 2-4 s
instead of 0.09 s with one thread (threads spin waiting for a core). threadpoolctl is optional;
without it BLAS keeps its own thread count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield
