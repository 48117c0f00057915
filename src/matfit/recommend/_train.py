"""The local fit: initial parameters, one "stepper" per solver, and the epoch loop.

A stepper is ``step(epoch, P, Q, bu, bi) -> float | None``: one epoch in place, returning the sum
of squared errors met during the pass (SGD, SVD++) or None (ALS: the loop then measures the
training RMSE after the epoch). The loop keeps the history, the progress bar and early
stopping; it knows nothing of the solvers.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, NamedTuple

import numpy as np

from .._errors import DataError
from .._progress import progress
from . import _als, _kernels, _sgd
from ._data import Ratings
from ._metrics import rmse

__all__ = ["SGD_BLOCKS", "Fitted", "fit_local", "predict_known"]

# DSGD blocks per side (see _kernels): fixed, so SGD's result does not depend on n_threads
SGD_BLOCKS = 8
SGD_PARALLEL_MIN = 1 << 20


class Fitted(NamedTuple):
    """The parameters a local fit leaves, and its record."""

    mu: float
    P: np.ndarray  # (users, factors); for SVD++ the effective p_u + |N(u)|^-1/2 sum y_j
    Q: np.ndarray  # (items, factors)
    bu: np.ndarray  # (users,)
    bi: np.ndarray  # (items,)
    Y: np.ndarray | None  # SVD++ implicit item factors (items, factors), else None
    history: list[dict[str, Any]]
    best_epoch: int


def predict_known(mu: float, bu: np.ndarray, bi: np.ndarray, P: np.ndarray, Q: np.ndarray,
                  u: np.ndarray, i: np.ndarray) -> np.ndarray:
    """r̂ at model indices, -1 (unknown) falling back to μ + the known biases; not clipped."""
    ku, ki = u >= 0, i >= 0
    both = ku & ki
    out = np.full(len(u), mu, dtype=P.dtype)
    out[both] = _als.predict_indices(mu, bu, bi, P, Q, u[both], i[both])
    only_u = ku & ~ki
    out[only_u] += bu[u[only_u]]
    only_i = ki & ~ku
    out[only_i] += bi[i[only_i]]
    return out


def fit_local(train: Ratings, val: tuple[np.ndarray, np.ndarray, np.ndarray] | None, *,
              solver: str, p: dict[str, Any], biases: bool, weighting: str, seed: Any,
              patience: int, verbose: int, rating_range: tuple[float, float]) -> Fitted:
    """Fit on ``train`` (compact indices); ``val`` = (user idx, item idx, values) or None."""
    dtype = p["dtype"]
    n_users, n_items, k = train.n_users, train.n_items, p["factors"]
    rng = np.random.default_rng(seed)
    mu = float(np.mean(train.values, dtype=np.float64)) if biases else 0.0
    vals = train.values.astype(dtype, copy=False)
    P = (rng.standard_normal((n_users, k)) * p["init_scale"]).astype(dtype)
    Q = (rng.standard_normal((n_items, k)) * p["init_scale"]).astype(dtype)
    bu = np.zeros(n_users, dtype=dtype)
    bi = np.zeros(n_items, dtype=dtype)
    Y = None
    effective = None  # SVD++: maps (P, Y) to the users' effective factors
    if solver == "als":
        step = _als_stepper(train, vals, mu, p, biases, weighting)
        ctx: Any = _als.blas_single_thread()  # many small GEMMs and solves: see _als notes
    elif solver == "sgd":
        step = _sgd_stepper(train, vals, mu, p, biases, rng)
        ctx = contextlib.nullcontext()
    else:
        Y = (rng.standard_normal((n_items, k)) * p["init_scale"]).astype(dtype)
        step, effective = _svdpp_stepper(train, vals, mu, p, rng, Y, weighting)
        ctx = contextlib.nullcontext()
    with ctx:
        history, best, best_epoch = _run_epochs(step, (P, Q, bu, bi, Y), train, vals, val, mu,
                                                p, solver, patience, verbose, effective,
                                                rating_range)
    if best is not None:
        P, Q, bu, bi, Y = best
    else:
        best_epoch = len(history)
    if effective is not None:
        P = effective(P, Y)
    return Fitted(mu, P, Q, bu, bi, Y, history, best_epoch)


def _run_epochs(step: Any, params: tuple, train: Ratings, vals: np.ndarray, val: Any, mu: float,
                p: dict, solver: str, patience: int, verbose: int, effective: Any,
                rating_range: tuple[float, float]) -> tuple[list, tuple | None, int]:
    """The epoch loop: progress bar, history, early stopping; the best epoch's copy."""
    P, Q, bu, bi, Y = params
    history: list[dict[str, Any]] = []
    best_rmse, best_epoch, best = np.inf, 0, None
    bar = progress(range(p["epochs"]), desc=f"{solver} k={p['factors']}", verbose=verbose,
                   unit="epoch")
    for epoch in bar:
        start = time.perf_counter()
        train_sq = step(epoch, P, Q, bu, bi)
        seconds = time.perf_counter() - start
        if train_sq is None:
            train_rmse = _train_rmse(train, vals, mu, P, Q, bu, bi, p["n_threads"])
        else:
            train_rmse = float(np.sqrt(train_sq / len(train)))
        if not np.isfinite(train_rmse):
            bar.close()
            raise DataError(
                f"{solver} diverged at epoch {epoch + 1} (train RMSE {train_rmse}): "
                f"lower lr (now {p.get('lr')}) or raise reg (now {p['reg']})")
        record: dict[str, Any] = {"epoch": epoch + 1, "train_rmse": train_rmse,
                                  "val_rmse": None, "seconds": seconds}
        history.append(record)
        if val is None:
            bar.set_postfix(train=f"{train_rmse:.4f}")
            continue
        vu, vi, vv = val
        PU = P if effective is None else effective(P, Y)
        pred = np.clip(predict_known(mu, bu, bi, PU, Q, vu, vi), *rating_range)
        record["val_rmse"] = rmse(vv, pred)
        bar.set_postfix(train=f"{train_rmse:.4f}", val=f"{record['val_rmse']:.4f}")
        if record["val_rmse"] < best_rmse - 1e-4:
            best_rmse, best_epoch = record["val_rmse"], epoch + 1
            best = (P.copy(), Q.copy(), bu.copy(), bi.copy(), None if Y is None else Y.copy())
        elif epoch + 1 - best_epoch >= patience:
            break
    bar.close()
    return history, best, best_epoch


def _train_rmse(train: Ratings, vals: np.ndarray, mu: float, P, Q, bu, bi, n_threads: int
                ) -> float:
    compiled = _kernels.kernel("squared_error")
    if compiled is None:
        return rmse(vals, _als.predict_indices(mu, bu, bi, P, Q, train.users, train.items))
    _kernels.set_threads(n_threads)
    sq = compiled(train.users, train.items, vals, P, Q, bu, bi, P.dtype.type(mu), True)
    return float(np.sqrt(sq / len(vals)))


def _als_stepper(train: Ratings, vals: np.ndarray, mu: float, p: dict, biases: bool,
                 weighting: str) -> Any:
    k = p["factors"]
    unknowns = k + bool(biases)
    users = _als.build_side(train.users, train.items, vals, train.n_users, train.n_items,
                            factors=unknowns)
    items = _als.build_side(train.items, train.users, vals, train.n_items, train.n_users,
                            factors=unknowns)
    reg_bias = p["reg_bias"] if biases else None
    lam_u = _als.penalties(users.counts, weighting, p["reg"], reg_bias, k)
    lam_i = _als.penalties(items.counts, weighting, p["reg"], reg_bias, k)
    kw = {"n_threads": p["n_threads"], "cg_steps": p["cg_steps"]}

    def step(epoch: int, P, Q, bu, bi) -> None:
        _als.als_half_step(users, Q, bi if biases else None, mu, lam_u, P,
                           bu if biases else None, **kw)
        _als.als_half_step(items, P, bu if biases else None, mu, lam_i, Q,
                           bi if biases else None, **kw)
        return None

    return step


def balanced_blocks(counts: np.ndarray, n_blocks: int) -> np.ndarray:
    """Block of each row such that the blocks hold about equal numbers of ratings.

    Rows sorted by count are dealt in a serpentine (0, 1, .., B-1, B-1, .., 0, ...), which
    spreads the heavy rows of a power law evenly.
    """
    order = np.argsort(-counts, kind="stable")
    lane = np.arange(len(counts)) % (2 * n_blocks)
    lane = np.where(lane < n_blocks, lane, 2 * n_blocks - 1 - lane)
    out = np.empty(len(counts), dtype=np.int64)
    out[order] = lane
    return out


def _sgd_stepper(train: Ratings, vals: np.ndarray, mu: float, p: dict, biases: bool,
                 rng: np.random.Generator) -> Any:
    users, items = train.users, train.items
    blocked = _kernels.kernel("sgd_blocked")
    group = _kernels.kernel("group_by_key")
    dt = vals.dtype.type
    if blocked is not None:
        B = SGD_BLOCKS
        key = (balanced_blocks(train.user_counts(), B)[users] * B
               + balanced_blocks(train.item_counts(), B)[items])

        # B strata per epoch are B barriers: below ~1M ratings an epoch takes milliseconds and
        # a descheduled thread on a busy machine costs more than it saves (same result)
        threads = p["n_threads"] if len(vals) >= SGD_PARALLEL_MIN else 1

        def step(epoch: int, P, Q, bu, bi) -> float:
            lr = p["lr"] * p["lr_decay"] ** epoch
            order, bounds = group(rng.permutation(len(vals)), key, B * B)
            _kernels.set_threads(threads)
            return float(blocked(users, items, vals, order, bounds, B, P, Q, bu, bi, dt(mu),
                                 dt(lr), dt(p["reg"]), dt(lr), dt(p["reg_bias"]),
                                 bool(biases)))

        return step

    # the NumPy fallback's mini-batch: big enough to amortise Python, small next to the data
    batch = int(np.clip(len(vals) // 1000, 256, 8192))

    def step_numpy(epoch: int, P, Q, bu, bi) -> float:
        order = rng.permutation(len(vals))
        lr = p["lr"] * p["lr_decay"] ** epoch
        return _sgd.sgd_epoch(users, items, vals, order, P, Q, bu, bi, mu, lr=lr,
                              reg=p["reg"], lr_bias=lr, reg_bias=p["reg_bias"],
                              biases=bool(biases), batch=batch, backend="numpy")

    return step_numpy


def _svdpp_stepper(train: Ratings, vals: np.ndarray, mu: float, p: dict,
                   rng: np.random.Generator, Y: np.ndarray, weighting: str) -> tuple[Any, Any]:
    epoch_kernel = _kernels.kernel("svdpp_epoch")
    implicit = _kernels.kernel("svdpp_implicit")
    if epoch_kernel is None:
        raise ImportError("solver='svdpp' needs Numba: pip install 'matfit[fast]'")
    order = np.lexsort((train.items, train.users))
    items = train.items[order]
    values = vals[order]
    indptr = np.zeros(train.n_users + 1, dtype=np.int64)
    np.cumsum(train.user_counts(), out=indptr[1:])
    dt = vals.dtype.type
    counts = np.diff(indptr)
    # per-visit penalty multipliers: an epoch then penalises row r by reg * w_r (ALS's weights)
    wu = (_als.reg_weights(counts, weighting) / np.maximum(counts, 1)).astype(vals.dtype)
    icounts = train.item_counts()
    wi = (_als.reg_weights(icounts, weighting) / np.maximum(icounts, 1)).astype(vals.dtype)

    def step(epoch: int, P, Q, bu, bi) -> float:
        lr = p["lr"] * p["lr_decay"] ** epoch
        user_order = rng.permutation(train.n_users)
        # each user's ratings in a fresh random order: shuffle positions within CSR rows
        within = np.argsort(np.repeat(np.arange(train.n_users), counts)
                            + rng.random(len(values)), kind="stable")
        return float(epoch_kernel(indptr, items, values, user_order, within, P, Q, Y, bu, bi,
                                  dt(mu), dt(lr), dt(p["reg"]), dt(lr), dt(p["reg_bias"]),
                                  dt(p["reg_implicit"]), wu, wi))

    def effective(P: np.ndarray, Yf: np.ndarray) -> np.ndarray:
        Z = np.empty_like(P)
        implicit(indptr, items, Yf, Z)
        Z += P
        return Z

    return step, effective
