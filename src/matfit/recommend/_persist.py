"""Saving and loading ratings models: .npz arrays + JSON metadata (``matfit._io``), never pickle.

Format ``ratings-mf`` version 1: arrays ``global_mean``, ``user_bias``, ``item_bias``,
``user_factors``, ``item_factors``, ``user_ids``, ``item_ids``; optionally ``seen_indptr`` +
``seen_indices`` (training pairs, CSR by user), ``seen_ratings`` (their ratings, for
``partial_fit``) and ``implicit_factors`` (SVD++'s y_j, for fold-in). Files without the
optional arrays (written before they existed) load as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError
from .._io import load_model, save_model

__all__ = ["FORMAT_KIND", "FORMAT_VERSION", "load", "read", "write"]

FORMAT_KIND = "ratings-mf"
FORMAT_VERSION = 1
_NEEDED = {"global_mean", "user_bias", "item_bias", "user_factors", "item_factors", "user_ids",
           "item_ids"}


def write(model: Any, path: str | os.PathLike) -> Path:
    """Write a fitted model's arrays and metadata to ``path`` (``.npz`` appended if missing)."""
    for side, ids in (("user", model.user_ids_), ("item", model.item_ids_)):
        if ids.dtype.kind not in "iuU":
            raise DataError(
                f"{side} IDs of dtype {ids.dtype} cannot be saved without pickle: use int "
                f"or string IDs (e.g. map them with str())")
    arrays = {
        "global_mean": np.asarray(model.global_mean_),
        "user_bias": model.user_bias_, "item_bias": model.item_bias_,
        "user_factors": model.user_factors_, "item_factors": model.item_factors_,
        "user_ids": model.user_ids_, "item_ids": model.item_ids_,
    }
    if model.seen_ is not None:
        arrays["seen_indptr"] = model.seen_.indptr
        arrays["seen_indices"] = model.seen_.indices
        if getattr(model, "seen_ratings_", None) is not None:
            arrays["seen_ratings"] = model.seen_ratings_
    if getattr(model, "implicit_factors_", None) is not None:
        arrays["implicit_factors"] = model.implicit_factors_
    params = model.get_params()
    params["dtype"] = str(np.dtype(params["dtype"]))
    meta = {
        "params": params,
        "rating_range": list(model.rating_range_),
        "n_epochs": getattr(model, "n_epochs_", 0),
        "best_epoch": getattr(model, "best_epoch_", 0),
        "history": getattr(model, "history_", []),
    }
    return save_model(path, arrays, meta, kind=FORMAT_KIND, version=FORMAT_VERSION)


def read(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fitted state, metadata) of a file written by :func:`write`.

    The state has ``global_mean, user_bias, item_bias, user_factors, item_factors, user_ids,
    item_ids, seen, seen_ratings, implicit_factors`` (the last three may be None).
    """
    arrays, meta = load_model(path, kind=FORMAT_KIND, versions=(FORMAT_VERSION,))
    missing = _NEEDED - set(arrays)
    if missing:
        raise DataError(f"{path} lacks the arrays {sorted(missing)}: the file is damaged")
    seen = None
    if "seen_indptr" in arrays:
        seen = sp.csr_matrix(
            (np.ones(len(arrays["seen_indices"]), dtype=bool), arrays["seen_indices"],
             arrays["seen_indptr"]),
            shape=(len(arrays["user_ids"]), len(arrays["item_ids"])))
    state = {name: arrays[name] for name in _NEEDED}
    state["global_mean"] = arrays["global_mean"][()]
    state["seen"] = seen
    state["seen_ratings"] = arrays.get("seen_ratings")
    state["implicit_factors"] = arrays.get("implicit_factors")
    return state, meta


def load(cls: type, path: str | os.PathLike) -> Any:
    """:meth:`MatrixFactorization.load`: a fitted ``cls`` from a file written by :func:`write`."""
    state, meta = read(path)
    model = cls(**meta.get("params", {}))
    model._set_fitted(state["global_mean"], state["user_bias"], state["item_bias"],
                      state["user_factors"], state["item_factors"], state["user_ids"],
                      state["item_ids"], seen=state["seen"],
                      rating_range=tuple(meta.get("rating_range", (-np.inf, np.inf))),
                      seen_ratings=state["seen_ratings"],
                      implicit=state["implicit_factors"])
    model.history_ = meta.get("history", [])
    model.n_epochs_ = meta.get("n_epochs", 0)
    model.best_epoch_ = meta.get("best_epoch", 0)
    return model
