"""The per-block tasks of :func:`~matfit.factorize._dask.nmf_dask`, and their tree reduction.

Each task runs on a worker with one block of X (whole columns, dense or ``scipy.sparse``), its
block of H and the small W: arrays in, tuples out, no Dask inside. :func:`_step` is one MU
iteration for its columns -- the H update of :func:`matfit.factorize._mu.h_terms`, then the
pieces of :func:`~matfit.factorize._mu.w_terms` with the NEW H block -- and :func:`_weighted_step`
the same with entry weights (the kernels of ``_weighted.WeightedFit``). Both also return the
block's divergence and H penalty when the objective is checked. The blocks' W pieces and
objective shares are sums over samples, so :func:`_tree` adds them :data:`SPLIT_EVERY` at a
time and the client receives one tuple.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError
from . import _mu
from ._loop import _Objective

SPLIT_EVERY = 8


def _as_block(x: Any) -> Any:
    if sp.issparse(x):
        return x.tocsr() if x.format not in ("csr", "csc") else x
    if hasattr(x, "to_scipy_sparse"):  # pydata/sparse
        return x.to_scipy_sparse().tocsr()
    return np.asarray(x)


def _block_stats(x: Any) -> tuple[float, float, int, bool]:
    """(sum, min, nonzeros-free?, finite?) of a block, for validation and init scaling."""
    x = _as_block(x)
    if sp.issparse(x):
        d = x.data
        lo = float(d.min()) if d.size else 0.0
        if d.size < x.shape[0] * x.shape[1]:
            lo = min(lo, 0.0)
        return float(d.sum(dtype=np.float64)), lo, bool(np.isfinite(d).all()), \
            d.size == x.shape[0] * x.shape[1] and bool(d.all())
    return (float(x.sum(dtype=np.float64)), float(x.min()) if x.size else 0.0,
            bool(np.isfinite(x).all()), bool(x.all()))


def _random_block(shape: tuple[int, int], seed: Any, scale: float, dtype: Any) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.abs(scale * rng.standard_normal(shape)).astype(dtype, copy=False)


def _scaled_block(h: np.ndarray, factor: float) -> np.ndarray:
    return h * h.dtype.type(factor)


def _h_summary(h: np.ndarray, learned: np.ndarray) -> tuple[np.ndarray, float]:
    """(row sums in float64, min over columns of the max over the learned rows) of an H block.

    The second is what ``_loop.Fit._positive_product`` looks at when H is fixed.
    """
    sub = h[learned]
    return h.sum(axis=1, dtype=np.float64), float(sub.max(axis=0).min()) if sub.size else np.inf


def _weighted_block_stats(x: Any, v: Any, offset: int, beta: float) -> tuple:
    """(sum of v x, sum of v, missing entries, first bad entry or None, sum of observed x,
    whether every positive weight is 1, observed entries per feature, whether a sample has
    none)."""
    from ._wdata import _check_observed

    x, v = _as_block(x), _as_block(v)
    if sp.issparse(v):
        v = v.toarray()
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    if v.shape != x.shape:
        return 0.0, 0.0, 0, f"a weights block has shape {v.shape} but X's has {x.shape}", 0.0, \
            False, None, False
    if not np.isfinite(v).all() or (v < 0).any():
        return 0.0, 0.0, 0, "weights must be finite and >= 0", 0.0, False, None, False
    n = x.shape[1]
    try:
        with np.errstate(invalid="ignore"):
            _check_observed(x, v, beta, lambda i: (i // n, offset + i % n))
    except DataError as err:
        return 0.0, 0.0, 0, str(err), 0.0, False, None, False
    obs = v > 0
    return (float(np.dot(v[obs].astype(np.float64), x[obs].astype(np.float64))),
            float(v.sum(dtype=np.float64)), int((~obs).sum()), None,
            float(x[obs].sum(dtype=np.float64)), bool((v[obs] == 1).all()),
            obs.sum(axis=1), bool((~obs.any(axis=0)).any()))


def _block_data(x: Any, v: Any, fill: float) -> Any:
    """The weighted data layout of one block (missing entries set to the fit's ``fill``)."""
    from ._wdata import DenseData

    x, v = _as_block(x), _as_block(v)
    v = v.toarray() if sp.issparse(v) else np.asarray(v)
    x = x.toarray() if sp.issparse(x) else np.asarray(x)
    v = v.astype(x.dtype, copy=False)
    return DenseData(np.where(v > 0, x, x.dtype.type(fill)), v)


def _weighted_step(x: Any, v: Any, h: np.ndarray, W: np.ndarray, cfg: dict) -> tuple:
    """:func:`_step` with weights: the arithmetic of ``_weighted.WeightedFit``, or with
    ``cfg["em"]`` that of ``_weighted.EMFit``: :func:`_step` on the block with its missing
    entries set to ``W @ h`` (one fill for the H and the W step, as in memory; the check's
    divergence of the filled block is the weighted one)."""
    d = _block_data(x, v, cfg["fill"])
    if cfg.get("em"):
        filled = np.where(d.V > 0, d.XV, np.matmul(W, h))
        return _step(filled, h, W, cfg)
    beta, learned = cfg["beta"], cfg["learned"]
    h = h.copy()
    Wt = np.ascontiguousarray(W.T)
    div = penh = 0.0
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        Y = d.product(Wt, h, None)
        if cfg["check"]:
            div = d.divergence(Y, beta)
            penh = _penalty(h, cfg["pen"][2], cfg["pen"][3])
        if cfg["update_H"]:
            numer, denom = d.h_pieces(Wt, h, Y, beta, None, cfg["guard"])
            _mu.apply_update(h, numer, denom, gamma=cfg["gamma"], l1=cfg["pen"][2],
                             l2=cfg["pen"][3], floor=cfg["floor_H"])
            Y = d.product(Wt, h, None)
        if len(learned):
            wn, wd = d.w_pieces(Wt, h, h[learned], Y, beta, None, cfg["guard"])
            wn, wd = np.array(wn, dtype=np.float64), np.array(wd, dtype=np.float64)
        else:
            wn = wd = np.zeros((0, 0))
    return h, (wn, wd, div, penh)


def _weighted_final(x: Any, v: Any, h: np.ndarray, W: np.ndarray, cfg: dict) -> tuple:
    d = _block_data(x, v, cfg["fill"])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        div = d.divergence(d.product(np.ascontiguousarray(W.T), h, None), cfg["beta"])
    return (np.zeros((0, 0)), np.zeros((0, 0)), div, _penalty(h, cfg["pen"][2], cfg["pen"][3]))


def _step(x: Any, h: np.ndarray, W: np.ndarray, cfg: dict) -> tuple:
    """One iteration on a block: [objective check], H update, W pieces with the new H."""
    x = _as_block(x)
    beta, learned = cfg["beta"], cfg["learned"]
    h = h.copy()
    div = penh = 0.0
    if cfg["check"]:
        div = _Objective(x, beta, (0.0, 0.0, 0.0, 0.0)).divergence(W.T, h, None)
        penh = _penalty(h, cfg["pen"][2], cfg["pen"][3])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if cfg["update_H"]:
            numer, denom = _mu.h_terms(x, W, h, beta, guard=cfg["guard"])
            numer = np.array(numer, dtype=h.dtype)
            _mu.apply_update(h, numer, denom, gamma=cfg["gamma"], l1=cfg["pen"][2],
                             l2=cfg["pen"][3], floor=cfg["floor_H"])
        if len(learned):
            wn, wd = _mu.w_terms(x, W, h, beta, columns=learned, guard=cfg["guard"])
            wn, wd = np.array(wn, dtype=np.float64), np.array(wd, dtype=np.float64)
        else:
            wn = wd = np.zeros((0, 0))
    return h, (wn, wd, div, penh)


def _final(x: Any, h: np.ndarray, W: np.ndarray, cfg: dict) -> tuple:
    x = _as_block(x)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        div = _Objective(x, cfg["beta"], (0.0, 0.0, 0.0, 0.0)).divergence(W.T, h, None)
    return (np.zeros((0, 0)), np.zeros((0, 0)), div, _penalty(h, cfg["pen"][2], cfg["pen"][3]))


def _penalty(F: np.ndarray, l1: float, l2: float) -> float:
    total = 0.0
    if l1:
        total += l1 * float(F.sum(dtype=np.float64))
    if l2:
        total += 0.5 * l2 * float(np.vdot(F, F))
    return total


def _first(pair: tuple) -> Any:
    return pair[0]


def _second(pair: tuple) -> Any:
    return pair[1]


def _add(*parts: tuple) -> tuple:
    wn, wd, div, pen = parts[0]
    for p in parts[1:]:
        if p[0].size:
            wn, wd = wn + p[0], wd + p[1]
        div, pen = div + p[2], pen + p[3]
    return wn, wd, div, pen


def _tree(parts: list, split: int = SPLIT_EVERY) -> Any:
    from dask import delayed

    while len(parts) > 1:
        parts = [delayed(_add, pure=True)(*parts[i:i + split])
                 for i in range(0, len(parts), split)]
    return parts[0]
