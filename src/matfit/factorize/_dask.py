"""``nmf`` on a ``dask.array`` X chunked along samples: the same MU iterates, chunk by chunk.

Implementation notes
--------------------
* X (features, samples) is split into blocks of whole columns (samples); a block may be dense or
  a ``scipy.sparse`` matrix. H is split the same way and its blocks stay on the workers; W
  (features, components) is small and lives on the client.
* One task per block per iteration does both halves of the in-memory iteration for its
  columns: the H update of :func:`matfit.factorize._mu.h_terms` (columns are independent), then
  the W pieces of :func:`~matfit.factorize._mu.w_terms` with the NEW H block. W's pieces are
  sums over samples, so the blocks' numerators and denominators are added in a tree reduction
  (``_dask_blocks.SPLIT_EVERY`` at a time) and the client applies
  :func:`~matfit.factorize._mu.apply_update` once. X is read once per iteration, and the
  arithmetic is that of the in-memory loop (``_loop.Fit``): the same floors, the same
  ``guard``, the same penalties, so the iterates agree with ``nmf`` to rounding (1e-10 after
  20 float64 iterations in the tests).
* The objective is checked every ``check_every`` iterations from the factors at the start of
  the iteration, as in memory: each block adds its divergence (``_loop._Objective``) and its
  share of H's penalty to the same reduction.
* Initialisation: W and H given (any mix of NumPy and Dask), W given alone (H drawn per block,
  scaled so that mean(W @ H) = mean(X), as ``missing_factor`` does), or ``init="random"``
  (drawn per block). NNDSVD needs an SVD of the whole X and is not offered here.
* HALS and ``normalize_W`` are not offered: both need every block's H rows in sequence.
* Here: the driver (validation, initialisation, the loop on the client, the result), the
  scheduler connection and the ``matfit nmf --dask`` command; the tasks that run on the blocks
  are in ``_dask_blocks``, the chunked files (X read, H written) in ``_dask_store``.
"""

from __future__ import annotations

import socket
import time
import warnings
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from .._errors import ConvergenceWarning, DataError, InvalidParameterError
from .._progress import progress
from ..numerics import resolve_beta
from . import _mu
from ._dask_blocks import (
    _block_stats,
    _final,
    _h_summary,
    _penalty,
    _random_block,
    _scaled_block,
    _step,
    _tree,
    _weighted_block_stats,
    _weighted_final,
    _weighted_step,
)
from ._dask_store import _store, read_chunked
from ._loop import set_status

__all__ = ["get_client", "is_dask_array", "nmf_dask", "read_chunked"]

CONNECT_TIMEOUT = 3.0


def is_dask_array(X: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.startswith("dask.array") and hasattr(X, "chunks")


# ------------------------------------------------------------------------------- scheduler
def get_client(scheduler: str | None = None, client: Any = None, *, n_workers: int = 2,
               verbose: int = 0) -> tuple[Any, bool]:
    """The ``distributed.Client`` to use, and whether this call started it.

    ``client`` if given; else a Client connected to ``scheduler`` (an address such as
    ``tcp://host:8786``, checked with a short TCP connect first so an unreachable address
    fails in seconds); ``scheduler="local"`` starts a LocalCluster (its dashboard address is
    printed to stderr when verbose); None uses the current client, or the local threaded
    scheduler (returns None).
    """
    if client is not None:
        return client, False
    from distributed import Client

    if scheduler is None:
        try:
            from distributed import get_client as current

            return current(), False
        except ValueError:
            return None, False
    if scheduler == "local":
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True)
        c = Client(cluster)
        if verbose:
            import sys

            print(f"matfit nmf: Dask dashboard at {c.dashboard_link}", file=sys.stderr)
        return c, True
    url = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        with socket.create_connection((url.hostname or "localhost", url.port or 8786),
                                      timeout=CONNECT_TIMEOUT):
            pass
        c = Client(scheduler, timeout=f"{CONNECT_TIMEOUT * 3:g}s")
    except OSError as err:
        raise ConnectionError(
            f"cannot reach the Dask scheduler {scheduler}: {err.strerror or err} within "
            f"{CONNECT_TIMEOUT:g} s; start it (dask scheduler) or pass --scheduler local"
        ) from None
    return c, True


# ------------------------------------------------------------------------------------ nmf
def nmf_dask(
    X: Any,
    n_components: int | None = None,
    *,
    beta: float | str = "frobenius",
    solver: str = "mu",
    init: str | None = None,
    W: Any = None,
    H: Any = None,
    update_W: bool = True,
    update_H: bool = True,
    fixed_W_columns: Any = None,
    alpha_W: float = 0.0,
    alpha_H: float = 0.0,
    l1_ratio: float = 0.0,
    normalize_W: bool | str = False,
    max_iter: int = 200,
    tol: float = 1e-4,
    seed: int | None = None,
    verbose: int = 0,
    check_every: int = 10,
    client: Any = None,
    h_store: Any = None,
    weights: Any = None,
    em: bool | None = None,
) -> Any:
    """:func:`matfit.factorize.nmf` for a ``dask.array`` X (features, samples) chunked by samples.

    Parameters are those of :func:`~matfit.factorize.nmf` (MU only), plus:

    client : distributed.Client, optional
        Where to run (default: the current client, else Dask's local scheduler).
    h_store : path, optional
        Write H block by block to this Zarr store (``.zarr``) or directory of ``.npy`` blocks
        and return it read lazily from there.
    weights : dask array or ndarray, shape (features, samples), optional
        Entry weights as in :func:`~matfit.factorize.nmf` (0 = missing, where X may hold NaN),
        chunked like X (an ndarray, or a dask array chunked otherwise, is rechunked to X's
        blocks). Each block is fitted with the kernels of
        :class:`matfit.factorize._weighted.WeightedFit` (or, for 0/1 weights with few missing
        entries at beta = 2, the EM fill of :class:`~matfit.factorize._weighted.EMFit`, block
        by block), so the iterates are the in-memory weighted ones.
    em : bool or None
        As in :func:`~matfit.factorize.nmf`, decided from the whole X.

    Returns
    -------
    NMFResult
        ``iteration_seconds`` (wall time of each iteration) besides what nmf returns. As in
        memory, with ``W`` an ndarray (features, components) and ``H`` a
        ``dask.array`` (components, samples) chunked like X, whose blocks stay where they
        were computed: gather it with ``H.compute()`` (or ``client.compute(H)`` when the
        client passed is not the default one).

    Raises
    ------
    InvalidParameterError
        solver="hals", normalize_W, or an NNDSVD init (each needs the whole X at once).
    DataError, ShapeError
        As in memory (negative/NaN X, disagreeing shapes).
    """
    import dask
    import dask.array as da

    from .._params import integer_at_least, nonnegative_number
    from ._result import NMFResult, _fixed_mask

    start = time.perf_counter()
    beta = resolve_beta(beta)
    if solver != "mu":
        raise InvalidParameterError(
            f"nmf(solver={solver!r}) on a dask array: only solver='mu' runs chunk by chunk "
            f"(HALS updates H's rows in sequence); pass solver='mu'")
    if normalize_W:
        raise InvalidParameterError("nmf(normalize_W=...) is not supported on a dask array; "
                                    "normalise W afterwards (and scale H's rows)")
    if init not in (None, "random", "custom"):
        raise InvalidParameterError(
            f"nmf(init={init!r}) on a dask array: NNDSVD needs an SVD of the whole X; pass "
            f"init='random', or W (and H) to start from")
    max_iter = integer_at_least(max_iter, "max_iter", 0)
    check_every = integer_at_least(check_every, "check_every", 1)
    tol = nonnegative_number(tol, "tol")
    alpha_W = nonnegative_number(alpha_W, "alpha_W")
    alpha_H = nonnegative_number(alpha_H, "alpha_H")
    l1_ratio = nonnegative_number(l1_ratio, "l1_ratio")
    if X.ndim != 2:
        from .._errors import ShapeError

        raise ShapeError(f"X must be 2-D (features, samples), got a dask array of shape "
                         f"{X.shape}")
    if len(X.chunks[0]) > 1:
        warnings.warn(
            f"X is chunked along features (axis 0, {len(X.chunks[0])} blocks of rows); nmf "
            f"updates H from whole columns, so X was rechunked to one block of "
            f"{X.shape[0]} rows per column block. Chunk X along samples only "
            f"(X.rechunk({{0: -1}})) to avoid this rechunk.", UserWarning, stacklevel=3)
        X = X.rechunk({0: -1})
    m, n = X.shape
    dtype = np.dtype(X.dtype)
    if dtype.kind in "iub":
        dtype = np.dtype(np.float64)
    if dtype not in (np.float32, np.float64):
        raise DataError(f"X has dtype {X.dtype}; pass a float32 or float64 array")
    widths = X.chunks[1]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
    xblocks = list(X.to_delayed().ravel())
    if X.dtype != dtype:
        xblocks = [dask.delayed(np.asarray)(b, dtype=dtype) for b in xblocks]

    cl = client if client is not None else _current_client()
    compute = (lambda *a: cl.compute(list(a), sync=True)) if cl else dask.compute
    persist = (lambda objs: cl.persist(objs)) if cl else (lambda objs: list(dask.persist(*objs)))

    vblocks = None
    em_applies = empty_line = False
    if em and weights is None:
        raise InvalidParameterError(
            "nmf(em=True) fills missing entries, but no weights were given: pass weights "
            "(0 marks a missing entry), or leave em at None.")
    if weights is not None:  # validated per block at the weighted entries only
        if isinstance(weights, str):
            raise InvalidParameterError(
                f"nmf(weights={weights!r}) on a dask array: pass a weights array chunked "
                f"like X")
        if tuple(weights.shape) != (m, n):
            from .._errors import ShapeError

            raise ShapeError(f"weights has shape {tuple(weights.shape)} but X has shape "
                             f"{(m, n)}: pass one weight per entry of X")
        Vd = weights if is_dask_array(weights) else da.from_array(np.asarray(weights),
                                                                  chunks=X.chunks)
        if Vd.chunks != X.chunks:
            Vd = Vd.rechunk(X.chunks)
        vblocks = list(Vd.to_delayed().ravel())
        wstats = compute(*[dask.delayed(_weighted_block_stats)(b, v, int(offsets[i]), beta)
                           for i, (b, v) in enumerate(zip(xblocks, vblocks, strict=True))])
        for s_ in wstats:
            if s_[3] is not None:
                raise DataError(s_[3])
        sum_vx, sum_v = sum(s_[0] for s_ in wstats), sum(s_[1] for s_ in wstats)
        if sum_v == 0:
            raise DataError("weights are all zero: no entry of X is observed, nothing to fit.")
        if sum_vx == 0:
            raise DataError("X is zero wherever the weight is positive: there is nothing to "
                            "factorise.")
        # the in-memory fit's fill value for missing entries (see _wdata.make_data)
        fill = float(dtype.type(sum_vx / sum_v))
        n_missing = sum(s_[2] for s_ in wstats)
        from ._wdata import DenseData

        # the in-memory choice (see _weighted.uses_em), from the whole X's counts
        em_applies = (beta in (1.0, 2.0) and all(s_[5] for s_ in wstats)
                      and n_missing <= DenseData.COMPLEMENT_SHARE * m * n)
        # a feature or sample with no observed entry keeps the weighted updates (uses_em)
        empty_line = bool((sum(s_[6] for s_ in wstats) == 0).any()
                          or any(s_[7] for s_ in wstats))
        if em and not em_applies:
            raise InvalidParameterError(
                "nmf(em=True) needs beta 1 or 2, dense 0/1 weights (1 observed, 0 missing) and at "
                f"most {DenseData.COMPLEMENT_SHARE:.0%} of the entries missing: use em=None "
                "(the default) to let nmf() choose.")

        stats = [(0.0, 0.0, True, True)]
        total = sum(s_[4] for s_ in wstats) + fill * n_missing  # the sum of the filled X
    else:
        stats = compute(*[dask.delayed(_block_stats)(b) for b in xblocks])
    if not all(s[2] for s in stats):
        raise DataError("X has NaN or infinite entries; NMF needs finite X >= 0")
    if min(s[1] for s in stats) < 0:
        raise DataError(f"X has negative entries (min {min(s[1] for s in stats):g}); NMF "
                        f"needs X >= 0")
    if vblocks is None:
        total = sum(s[0] for s in stats)
    if total == 0:
        raise DataError("X is all zeros: there is nothing to factorise.")
    if beta <= 0 and not all(s[3] for s in stats):
        raise DataError(f"beta={beta:g} <= 0 is undefined where X has zeros: add a small "
                        f"floor (X + 1e-10 * X.max()) or use beta > 0 ('kl')")
    avg = total / (m * n)

    # ---- factors: W on the client, H as blocks on the workers
    if W is not None:
        W = np.array(W, dtype=dtype, copy=True)
        if W.ndim != 2 or W.shape[0] != m:
            from .._errors import ShapeError

            raise ShapeError(f"W has shape {W.shape}; it needs {m} rows (features of X)")
        if (W < 0).any() or not np.isfinite(W).all():
            raise DataError("W must be finite and >= 0")
    k = n_components if n_components is not None else (
        W.shape[1] if W is not None else (H.shape[0] if H is not None else None))
    if k is None:
        raise InvalidParameterError("nmf() needs n_components when neither W nor H is given")
    k = integer_at_least(k, "n_components", 1)
    if W is not None and W.shape[1] != k:
        from .._errors import ShapeError

        raise ShapeError(f"dimension 'components' disagrees: W has {W.shape[1]} columns but "
                         f"n_components={k}")
    rng = np.random.default_rng(seed)
    block_seeds = rng.integers(0, 2**63, size=len(widths))
    scale = np.sqrt(avg / k)
    if H is not None:
        H = H if is_dask_array(H) else np.asarray(H)
        if H.shape != (k, n):
            from .._errors import ShapeError

            raise ShapeError(f"H has shape {tuple(H.shape)}; it needs ({k}, {n}) "
                             f"(components, samples)")
        if is_dask_array(H):
            hblocks = list(H.astype(dtype).rechunk({0: -1, 1: widths}).to_delayed().ravel())
        else:
            if (H < 0).any() or not np.isfinite(H).all():
                raise DataError("H must be finite and >= 0")
            hblocks = [dask.delayed(np.array(H[:, offsets[b]:offsets[b + 1]], dtype=dtype))
                       for b in range(len(widths))]
    else:
        hblocks = [dask.delayed(_random_block)((k, w), int(block_seeds[b]), scale, dtype)
                   for b, w in enumerate(widths)]
    if W is None:
        W = np.abs(scale * rng.standard_normal((m, k))).astype(dtype, copy=False)
    elif H is None:  # as missing_factor: mean(W @ H) = mean(X)
        sums = compute(*[dask.delayed(_h_summary)(h, np.arange(0)) for h in hblocks])
        current = float(W.sum(axis=0, dtype=np.float64) @ sum(s[0] for s in sums))
        if current > 0:
            hblocks = [dask.delayed(_scaled_block)(h, (total / current)) for h in hblocks]
    fixed = np.zeros(k, dtype=bool) if fixed_W_columns is None else _fixed_mask(
        fixed_W_columns, k)
    if not update_W:
        fixed[:] = True
    learned = np.flatnonzero(~fixed)
    hblocks = persist(hblocks)

    # ---- floors and guard, as _loop.Fit
    eps = float(np.finfo(dtype).eps)
    tiny = float(np.finfo(dtype).tiny)
    sums = compute(*[dask.delayed(_h_summary)(h, learned) for h in hblocks])
    floor_W = eps * max(float(W[:, learned].mean()), tiny) if len(learned) else 0.0
    floor_H = eps * max(float(sum(s[0] for s in sums).sum()) / (k * n), tiny) if update_H \
        else 0.0
    if len(learned):
        W[:, learned] = np.maximum(W[:, learned], floor_W)
    if update_H:
        hblocks = persist([dask.delayed(np.maximum)(h, dtype.type(floor_H)) for h in hblocks])
    threshold = tiny / eps
    if beta == 2:
        guard = False
    elif update_H and len(learned):
        guard = not len(learned) * floor_W * floor_H > threshold
    elif update_H:
        guard = not float(W.max(axis=1).min()) * floor_H > threshold
    else:
        guard = not min(s[1] for s in sums) * floor_W > threshold
    pen = (alpha_W * l1_ratio * n, alpha_W * (1 - l1_ratio) * n,
           alpha_H * l1_ratio * m, alpha_H * (1 - l1_ratio) * m)
    gamma = _mu.mm_exponent(beta)
    cfg = {"beta": beta, "learned": learned, "update_H": update_H, "guard": guard,
           "gamma": gamma, "pen": pen, "floor_H": floor_H,
           "fill": fill if vblocks is not None else 0.0,
           # EMFit's choice (see _weighted.uses_em): by default when W and H are both learned
           "em": vblocks is not None and (em_applies and beta == 2 and update_H
                                          and len(learned) > 0 and not empty_line
                                          if em is None else bool(em))}
    if vblocks is not None:  # the same loop below, over (X, weights) block pairs
        def final_task(x, h, W_, c_, v):
            return dask.delayed(_weighted_final)(x, v, h, W_, c_)

        def step_task(x, h, W_, c_, v):
            return dask.delayed(_weighted_step, nout=2)(x, v, h, W_, c_)
    else:
        def final_task(x, h, W_, c_, v):
            return dask.delayed(_final)(x, h, W_, c_)

        def step_task(x, h, W_, c_, v):
            return dask.delayed(_step, nout=2)(x, h, W_, c_)
    vlist = vblocks if vblocks is not None else [None] * len(xblocks)

    # ---- the loop
    res = NMFResult(beta=beta, solver="mu", init="custom" if H is not None and init != "random"
                    else "random")
    history: list[float] = []
    nits: list[int] = []
    parts: list[tuple[float, float]] = []

    def record(div: float, penh: float, nit: int) -> int | None:
        val = (div, penh + _penalty(W[:, learned] if len(learned) else W[:, :0], pen[0], pen[1]))
        f = val[0] + val[1]
        history.append(f)
        nits.append(nit)
        parts.append(val)
        bar.set_postfix(objective=f"{f:.6g}", refresh=False)
        if not np.isfinite(f):
            return 3
        if tol > 0 and len(history) > 1 and (f == 0 or history[-2] - f < tol * abs(history[0])):
            return 0
        return None

    bar = progress(total=max_iter, desc="nmf mu (dask)", verbose=verbose)
    status, nit = None, 0
    it_seconds: list[float] = []
    try:
        if not update_H and not len(learned):
            out = compute(_tree([final_task(x, h, W, cfg, v)
                                 for x, h, v in zip(xblocks, hblocks, vlist, strict=True)]))[0]
            record(out[2], out[3], 0)
            status = 2
        for it in range(1, max_iter + 1) if status is None else ():
            check = (it - 1) % check_every == 0
            step_cfg = dict(cfg, check=check)
            t_it = time.perf_counter()
            Wc = W.copy()
            pairs = [step_task(x, h, Wc, step_cfg, v)
                     for x, h, v in zip(xblocks, hblocks, vlist, strict=True)]
            new_h = [p[0] for p in pairs]
            reduced = _tree([p[1] for p in pairs])
            persisted = persist([*new_h, reduced])
            new_h, reduced = persisted[:-1], persisted[-1]
            wn, wd, div, penh = compute(reduced)[0]
            if check and (status := record(div, penh, it - 1)) is not None:
                break  # stopped at the state the check evaluated: keep the old factors
            hblocks = new_h
            if len(learned):
                Wl = np.ascontiguousarray(W[:, learned])
                with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                    _mu.apply_update(Wl, wn.astype(dtype), wd.astype(dtype), gamma=gamma,
                                     l1=pen[0], l2=pen[1], floor=floor_W)
                W[:, learned] = Wl
            nit = it
            it_seconds.append(time.perf_counter() - t_it)
            bar.update(1)
        else:
            if status is None:
                out = compute(_tree([final_task(x, h, W, cfg, v)
                                     for x, h, v in zip(xblocks, hblocks, vlist,
                                                        strict=True)]))[0]
                status = record(out[2], out[3], max_iter)
    finally:
        bar.close()
    if status is None:
        status = 5 if max_iter == 0 else 4 if tol == 0 else 1
    fmt: dict[str, Any] = {"tol": tol, "max_iter": max_iter, "every": check_every}
    if status == 3:
        fmt.update(value="NaN" if np.isnan(history[-1]) else "infinite", nit=nits[-1],
                   cause="a zero W @ H where X > 0, or overflow")
    set_status(res, status, **fmt)
    res["nit"] = nit
    res["history"] = np.asarray(history, dtype=np.float64)
    res["history_nit"] = np.asarray(nits, dtype=np.intp)
    res["divergence"], res["penalty"] = parts[-1]
    res["fun"] = sum(parts[-1])
    res["W"] = W
    Hd = da.concatenate([da.from_delayed(h, shape=(k, w), dtype=dtype)
                         for h, w in zip(hblocks, widths, strict=True)], axis=1)
    if h_store is not None:
        Hd = _store(Hd, h_store, compute)
    res["H"] = Hd
    res["seconds"] = time.perf_counter() - start
    res["iteration_seconds"] = np.asarray(it_seconds)
    if res["status"] in (1, 3) and not (res["status"] == 1 and tol == 0):
        warnings.warn(f"nmf: {res['message']}", ConvergenceWarning, stacklevel=2)
    return res


def _current_client() -> Any:
    try:
        from distributed import get_client as current
    except ImportError:
        return None
    try:
        return current()
    except ValueError:
        return None



# ------------------------------------------------------------------------------------ CLI
def run_cli(args: Any) -> dict:
    """``matfit nmf INPUT --dask ...``: the summary dict of ``matfit nmf``."""
    import sys

    from .._io import save_model

    if args.solver != "mu":
        raise InvalidParameterError("--dask runs --solver mu only")
    if args.chunk < 1:
        raise InvalidParameterError(f"--chunk {args.chunk}: must be >= 1")
    client, created = get_client(args.scheduler, verbose=max(1, args.verbose))
    try:
        X = read_chunked(args.input, args.chunk)
        if args.transpose:
            X = X.T
        if args.float32:
            X = X.astype(np.float32)
        beta: Any = args.beta
        try:
            beta = float(beta)
        except ValueError:
            pass
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            res = nmf_dask(X, args.components, beta=beta, init=args.init or "random",
                           max_iter=args.max_iter, tol=args.tol, seed=args.seed,
                           verbose=args.verbose, client=client, h_store=args.h_out)
        for w in caught:
            print(f"matfit nmf: warning: {w.message}", file=sys.stderr)
        arrays = {"W": res.W, "history": res.history, "history_nit": res.history_nit}
        if args.h_out is None:
            arrays["H"] = client.compute(res.H, sync=True) if client else res.H.compute()
    finally:
        if created:
            client.close()
    meta = {"beta": res.beta, "solver": "mu", "init": res.init, "nit": int(res.nit),
            "fun": float(res.fun), "status": int(res.status), "message": res.message,
            "input": str(args.input), "transposed": bool(args.transpose), "engine": "dask",
            "H_store": None if args.h_out is None else str(args.h_out),
            "orientation": "X (features, samples) ~ W (features, components) @ H"}
    path = save_model(args.out, arrays, meta, kind="nmf", version=1)
    per_iter = float(np.median(res.iteration_seconds)) if len(res.iteration_seconds) else 0.0
    print(f"X {X.shape[0]} features x {X.shape[1]} samples in {len(X.chunks[1])} blocks (Dask, "
          f"{res.W.dtype}); {args.components} components, beta={res.beta:g}")
    print(f"{res.nit} iterations in {res.seconds:.3f} s ({per_iter:.3f} s/iteration); "
          f"objective {res.fun:.6g}; {res.message}")
    print(f"saved W {res.W.shape} to {path}" + (f", H to {args.h_out}" if args.h_out else ""))
    sys.stdout.flush()
    return {"iterations": int(res.nit), "objective": float(res.fun), "seconds": res.seconds,
            "converged": res.status == 0, "status": int(res.status), "message": res.message,
            "shape": list(X.shape), "n_components": args.components, "beta": res.beta,
            "solver": "mu", "engine": "dask", "blocks": len(X.chunks[1]), "out": str(path),
            "h_out": args.h_out}
