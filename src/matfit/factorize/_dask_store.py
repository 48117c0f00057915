"""Chunked files for :func:`~matfit.factorize._dask.nmf_dask`: X read and H written block by block.

:func:`read_chunked` makes a dask array (features, samples) over a ``.npy`` file (memory-mapped,
cut into blocks of whole columns), a directory of ``.npy`` blocks or a Zarr store; each block is
loaded by the worker that needs it, so X never passes through the client. :func:`_store` writes
H the same two ways and returns it read back lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import DataError

__all__ = ["read_chunked"]


def read_chunked(path: Any, chunk: int | None = None) -> Any:
    """A dask array (features, samples) over a file, read block by block by the workers.

    ``path`` is a ``.npy`` file (memory-mapped; blocks of ``chunk`` columns, default 50,000),
    a directory of ``.npy`` files (one block each, in name order, all with the same rows) or a
    Zarr store (its own chunks, rechunked to whole columns).
    """
    from pathlib import Path

    import dask
    import dask.array as da

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no input at {p}")
    if p.suffix == ".zarr" or (p / ".zarray").exists() or (p / "zarr.json").exists():
        X = da.from_zarr(str(p))
        return X.rechunk({0: -1})
    if p.is_dir():
        files = sorted(p.glob("*.npy"))
        if not files:
            raise DataError(f"{p} has no .npy files (and is not a Zarr store)")
        blocks = []
        for f in files:
            arr = np.load(f, mmap_mode="r")
            blocks.append(da.from_delayed(dask.delayed(_load_block)(str(f), 0, arr.shape[1]),
                                          shape=arr.shape, dtype=arr.dtype))
        return da.concatenate(blocks, axis=1)
    if p.suffix != ".npy":
        raise DataError(f"{p}: --dask reads a .npy file, a directory of .npy chunks or a Zarr "
                        f"store")
    arr = np.load(p, mmap_mode="r")
    if arr.ndim != 2:
        raise DataError(f"{p} holds an array of shape {arr.shape}; need (features, samples)")
    chunk = chunk or 50_000
    blocks = [da.from_delayed(dask.delayed(_load_block)(str(p), lo, min(lo + chunk,
                                                                        arr.shape[1])),
                              shape=(arr.shape[0], min(chunk, arr.shape[1] - lo)),
                              dtype=arr.dtype)
              for lo in range(0, arr.shape[1], chunk)]
    return da.concatenate(blocks, axis=1)


def _load_block(path: str, lo: int, hi: int) -> np.ndarray:
    return np.ascontiguousarray(np.load(path, mmap_mode="r")[:, lo:hi])


def _save_npy(path: str, block: np.ndarray) -> int:
    np.save(path, block)
    return 0


def _store(Hd: Any, target: Any, compute: Any) -> Any:
    """Write H block by block (Zarr store or directory of .npy) and read it back lazily."""
    from pathlib import Path

    import dask
    import dask.array as da

    target = Path(target)
    if target.suffix == ".zarr":
        compute(da.to_zarr(Hd, str(target), overwrite=True, compute=False))
        return da.from_zarr(str(target))
    target.mkdir(parents=True, exist_ok=True)
    blocks = Hd.to_delayed().ravel()
    compute(*[dask.delayed(_save_npy)(str(target / f"H_{b:06d}.npy"), blk)
              for b, blk in enumerate(blocks)])
    return read_chunked(target)
