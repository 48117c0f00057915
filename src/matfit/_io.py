"""Saved models: one ``.npz`` file of arrays plus a JSON metadata record, never pickle.

The metadata is stored inside the archive as a 0-d unicode array named ``__matfit__``, so a
model is one file, loads with ``allow_pickle=False``, and can be inspected with plain NumPy:
``json.loads(np.load(path)["__matfit__"][()])``. Writes go to a temporary name in the same
folder and are renamed into place, so a failed save never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import DataError

__all__ = ["atomic_path", "load_model", "save_model"]

_META = "__matfit__"


def atomic_path(path: str | os.PathLike, suffix: str = "") -> tuple[Path, Path]:
    """Return (temporary path, final path) in the same folder, for write-then-rename."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix or final.suffix,
                               dir=final.parent)
    os.close(fd)
    return Path(tmp), final


def save_model(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    kind: str,
    version: int,
) -> Path:
    """Write ``arrays`` and JSON-serialisable ``meta`` to ``path`` (``.npz`` added if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    record = {"kind": kind, "format_version": version, **meta}
    try:
        text = json.dumps(record, sort_keys=True)
    except TypeError as err:
        raise DataError(f"model metadata is not JSON-serialisable: {err}") from None
    for name, arr in arrays.items():
        if np.asarray(arr).dtype.kind == "O":
            raise DataError(f"array {name!r} has dtype object and cannot be saved without pickle")
    tmp, final = atomic_path(path)
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()}, **{_META: np.str_(text)})
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final


def load_model(
    path: str | os.PathLike, *, kind: str, versions: tuple[int, ...] = (1,)
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a model written by :func:`save_model`; check its kind and format version.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the file is not a matfit model, is of another kind, or has an unknown format version.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise DataError(f"{path} is not a readable .npz model file: {err}") from None
    if _META not in arrays:
        raise DataError(f"{path} is an .npz file but not a matfit model (no {_META} record)")
    meta = json.loads(str(arrays.pop(_META)[()]))
    if meta.get("kind") != kind:
        raise DataError(f"{path} holds a matfit {meta.get('kind')!r} model, not a {kind!r} model")
    if meta.get("format_version") not in versions:
        raise DataError(
            f"{path} has model format version {meta.get('format_version')}, but this matfit reads "
            f"versions {list(versions)}: re-save it with the matfit that wrote it, or upgrade."
        )
    return arrays, meta
