"""Hyper-parameters of :class:`~matfit.recommend.MatrixFactorization`: defaults and checks.

One table of per-solver defaults (:data:`SOLVER_DEFAULTS`) and one function that fills them in
and validates every parameter once (:func:`resolve`, STYLE rule 7). Both the local fit and the
Spark engine call it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .._errors import InvalidParameterError

__all__ = [
    "SOLVERS",
    "SOLVER_DEFAULTS",
    "WEIGHTINGS",
    "available_cores",
    "objective_terms",
    "resolve",
]

# Per-solver defaults for the parameters left as None. Tuned on MovieLens 100K (80/20 split,
# seed 0); see benchmarks/recommend_vs_surprise.py for the figures they give.
SOLVER_DEFAULTS: dict[str, dict[str, Any]] = {
    "als": {"factors": 64, "reg": 1.3, "reg_bias": 0.6, "epochs": 6, "init_scale": 0.1},
    "sgd": {"factors": 64, "reg": 0.06, "reg_bias": 0.06, "epochs": 15, "init_scale": 0.01,
            "lr": 0.05, "lr_decay": 0.9},
    # SVD++'s penalties follow reg_weighting ("sqrt" by default), hence its larger reg. Many
    # factors with a small start act like an average of many small models: on MovieLens 100K
    # 80/20, k = 64 gave 0.8987, 256 0.8955, 384 0.8949, 512 (with reg 0.26, reg_implicit
    # 0.12) 0.8937 on split seed 0 and 0.8983 / 0.8960 on split seeds 1 / 2 (0.9028 / 0.9006
    # with the k = 64 settings), at about 4x the k = 64 fit time
    "svdpp": {"factors": 512, "reg": 0.26, "reg_bias": 0.2, "reg_implicit": 0.12,
              "epochs": 20, "init_scale": 0.01, "lr": 0.009, "lr_decay": 0.96},
}
SOLVERS = tuple(SOLVER_DEFAULTS)
WEIGHTINGS = ("count", "sqrt", "none")
_TUNED = ("factors", "reg", "reg_bias", "epochs", "lr", "lr_decay", "init_scale")


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve(est: Any) -> dict[str, Any]:
    """The estimator's parameters with its solver's defaults filled in, validated."""
    engine = getattr(est, "engine", "local")
    if engine not in ("local", "spark"):
        raise InvalidParameterError(
            f"MatrixFactorization(engine={engine!r}): must be 'local' or 'spark'")
    if est.solver not in SOLVERS:
        raise InvalidParameterError(
            f"MatrixFactorization(solver={est.solver!r}): must be one of {list(SOLVERS)}")
    p = dict(SOLVER_DEFAULTS[est.solver])
    for name in _TUNED:
        if getattr(est, name) is not None:
            p[name] = getattr(est, name)

    def bad(name: str, rule: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"MatrixFactorization({name}={p.get(name, getattr(est, name, None))!r}): {rule}")

    for name in ("factors", "epochs"):
        v = p[name]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise bad(name, "must be an int >= 1")
    stochastic = est.solver in ("sgd", "svdpp")
    for name in ("reg", "reg_bias", "init_scale") + (("lr",) if stochastic else ()):
        v = p[name]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                or not np.isfinite(v) or v < 0:
            raise bad(name, "must be a finite number >= 0")
    if est.solver == "als" and p["reg"] <= 0:
        raise bad("reg", "ALS needs reg > 0 (a user with fewer ratings than factors would "
                         "give a singular system); try 1e-6 for a nearly exact fit")
    if stochastic:
        if not 0 < p["lr_decay"] <= 1:
            raise bad("lr_decay", "must be in (0, 1]")
        if p["lr"] <= 0:
            raise bad("lr", "must be > 0")
    if est.reg_weighting not in WEIGHTINGS:
        raise bad("reg_weighting", f"must be one of {list(WEIGHTINGS)}")
    if isinstance(est.patience, bool) or not isinstance(est.patience, (int, np.integer)) \
            or est.patience < 1:
        raise bad("patience", "must be an int >= 1")
    try:
        p["dtype"] = np.dtype(est.dtype)
    except TypeError:
        raise bad("dtype", "must be 'float32' or 'float64'") from None
    if p["dtype"] not in (np.float32, np.float64):
        raise bad("dtype", "must be 'float32' or 'float64'")
    n_threads = est.n_threads
    if n_threads is not None and (isinstance(n_threads, bool)
                                  or not isinstance(n_threads, (int, np.integer))
                                  or n_threads < 1):
        raise bad("n_threads", "must be an int >= 1, or None for every available core")
    p["n_threads"] = int(n_threads) if n_threads is not None else available_cores()
    cg = getattr(est, "cg_steps", None)
    if cg is not None:
        if isinstance(cg, bool) or not isinstance(cg, (int, np.integer)) or cg < 1:
            raise bad("cg_steps", "must be an int >= 1, or None for exact solves")
        if est.solver != "als":
            raise bad("cg_steps", f"applies to solver='als' only (solver={est.solver!r})")
    p["cg_steps"] = None if cg is None else int(cg)
    if est.solver == "svdpp" and not est.biases:
        raise bad("biases", "solver='svdpp' fits the biased model only; pass biases=True")
    return p


def objective_terms(est: Any, p: dict[str, Any]) -> tuple[str, float, float | None]:
    """(weighting, reg, reg_bias) of the squared-error objective the fitted model minimises.

    ALS minimises it with ``reg_weighting``; SGD and SVD++ penalise λ||p_u||² once per rating
    visited, i.e. λ n_u ||p_u||² per epoch: the "count" weighting. Fold-in and partial fits
    solve this objective exactly for the rows they touch.
    """
    weighting = est.reg_weighting if est.solver in ("als", "svdpp") else "count"
    return weighting, float(p["reg"]), (float(p["reg_bias"]) if est.biases else None)
