"""matfit's NMF against scikit-learn's, and against the GEMM floor (a script, not a test).

X: random non-negative 513 x 5000 (features x samples, e.g. a spectrogram), k = 40, 200
iterations, tol = 0, the same initial factors for both libraries. Four pairs, in one process,
interleaved (each round runs every pair once, the two libraries in alternating order), median
over the rounds, for float32 and float64:

    kl-mu      matfit nmf(beta="kl")                  vs  sklearn solver="mu", KL
    frob-mu    matfit nmf(beta="frobenius")           vs  sklearn solver="mu", Frobenius
    hals       matfit nmf(solver="hals")              vs  sklearn solver="cd"
    kl-fixed-W matfit nmf(beta="kl", update_W=False)  vs  sklearn non_negative_factorization(
                                                          update_H=False)  (its H is our W)

Printed per pair: ms/iteration, the ratio matfit/sklearn, the final objective of each (one
formula, matfit.numerics.beta_divergence in float64), and matfit's time over the GEMM floor.
The floor of a full KL-MU iteration is its 4 GEMMs of 2 * 513 * 5000 * 40 flops (W @ H twice,
W.T @ R, R @ H.T), timed in this process on these shapes each round, looped as many times as
an NMF run iterates; the Frobenius-MU and HALS iterations and the fixed-W KL iteration need 2
of them, so their floor is half that. Ratios are taken within each round, then the median.

    python benchmarks/nmf_vs_sklearn.py [--rounds 5] [--iters 200] [--dtypes float32,float64]
                                        [--threads N] [--pairs kl-mu,hals]

The machine is shared and has 2 cores: rely on the interleaved ratios, not on absolute times.
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from contextlib import nullcontext

import numpy as np
from sklearn.decomposition import non_negative_factorization

from matfit.factorize import nmf
from matfit.numerics import beta_divergence

M, N, K = 513, 5000, 40
PAIRS = ("kl-mu", "frob-mu", "hals", "kl-fixed-W")


def problem(dtype: type, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((M, N)).astype(dtype)
    scale = np.sqrt(X.mean() / K)  # scikit-learn's random init scale
    W0 = np.abs(scale * rng.standard_normal((M, K))).astype(dtype)
    H0 = np.abs(scale * rng.standard_normal((K, N))).astype(dtype)
    return X, W0, H0


def gemm_floor(X, W, H, iters: int) -> float:
    """Seconds per iteration of the 4 GEMMs of a full KL-MU iteration, looped ``iters`` times.

    Timed like an NMF run (same length, same moment of the round), so that load from other
    processes hits the floor and the fits alike; the ratio to it is taken round by round.
    """
    Y = np.empty_like(X)
    nH = np.empty((K, N), X.dtype)
    nW = np.empty((M, K), X.dtype)
    t = time.perf_counter()
    for _ in range(iters):
        np.matmul(W, H, out=Y)
        np.matmul(W.T, X, out=nH)   # same shapes as W.T @ R
        np.matmul(W, H, out=Y)
        np.matmul(X, H.T, out=nW)   # same shapes as R @ H.T
    return (time.perf_counter() - t) / iters


def run_matfit(pair, X, W0, H0, iters):
    kw = dict(max_iter=iters, tol=0)
    t = time.perf_counter()
    if pair == "kl-mu":
        r = nmf(X, W=W0, H=H0, beta="kl", **kw)
    elif pair == "frob-mu":
        r = nmf(X, W=W0, H=H0, beta="frobenius", **kw)
    elif pair == "hals":
        r = nmf(X, W=W0, H=H0, solver="hals", **kw)
    else:
        Hc = np.full_like(H0, np.sqrt(X.mean() / K))  # scikit-learn's start for update_H=False
        r = nmf(X, W=W0, H=Hc, update_W=False, beta="kl", **kw)
    return time.perf_counter() - t, r.W, r.H


def run_sklearn(pair, Xt, W0, H0, iters):
    # scikit-learn factorises Xt = X.T (samples, features): its W is our H.T, its H our W.T
    kw = dict(n_components=K, max_iter=iters, tol=0)
    t = time.perf_counter()
    if pair == "kl-fixed-W":
        Wsk, Hsk, _ = non_negative_factorization(Xt, H=np.ascontiguousarray(W0.T),
                                                 update_H=False, solver="mu",
                                                 beta_loss="kullback-leibler", **kw)
    else:
        solver = "cd" if pair == "hals" else "mu"
        beta = "kullback-leibler" if pair == "kl-mu" else "frobenius"
        Wsk, Hsk, _ = non_negative_factorization(
            Xt, W=np.ascontiguousarray(H0.T), H=np.ascontiguousarray(W0.T), init="custom",
            solver=solver, beta_loss=beta, **kw)
    return time.perf_counter() - t, Hsk.T, Wsk.T


def objective(pair, X, W, H) -> float:
    beta = 1.0 if pair.startswith("kl") else 2.0
    return beta_divergence(X.astype(np.float64), W.astype(np.float64) @ H.astype(np.float64),
                           beta)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--pairs", default=",".join(PAIRS))
    ap.add_argument("--threads", type=int, default=None, help="limit BLAS threads")
    args = ap.parse_args(argv)
    pairs = [p for p in args.pairs.split(",") if p]
    limit = nullcontext()
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info, threadpool_limits

        if args.threads:
            limit = threadpool_limits(args.threads, "blas")
        blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads"
                         for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    results = {}
    with limit:
        if args.threads:
            from threadpoolctl import threadpool_info
            blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads"
                             for i in threadpool_info() if i["user_api"] == "blas")
        print(f"# {os.cpu_count()} cores, BLAS: {blas}; X {M} x {N}, k = {K}, "
              f"{args.iters} iterations, tol 0, {args.rounds} interleaved rounds", flush=True)
        for dname in args.dtypes.split(","):
            dtype = np.dtype(dname).type
            X, W0, H0 = problem(dtype)
            Xt = np.ascontiguousarray(X.T)
            floors, times, objs = [], {p: ([], []) for p in pairs}, {}
            for rnd in range(args.rounds):
                floors.append(gemm_floor(X, W0, H0, args.iters))
                for i, pair in enumerate(pairs):
                    order = (0, 1) if (rnd + i) % 2 == 0 else (1, 0)
                    for who in order:
                        if who == 0:
                            sec, W, H = run_matfit(pair, X, W0, H0, args.iters)
                        else:
                            sec, W, H = run_sklearn(pair, Xt, W0, H0, args.iters)
                        times[pair][who].append(sec / args.iters)
                        if rnd == 0:
                            objs[(pair, who)] = objective(pair, X, W, H)
                print(f"  {dname} round {rnd + 1}/{args.rounds} done", file=sys.stderr,
                      flush=True)
            floor = statistics.median(floors)
            gflops = 4 * 2 * M * N * K / floor / 1e9
            print(f"\n{dname}: GEMM floor of a full KL iteration {1e3 * floor:.2f} ms "
                  f"(4 GEMMs at {gflops:.0f} GFLOP/s)")
            print(f"{'pair':<11} {'matfit ms/it':>12} {'sklearn ms/it':>13} {'ratio':>6} "
                  f"{'x floor':>8} {'matfit objective':>17} {'sklearn objective':>18}  "
                  f"{'spread (min-max ms/it)'}")
            for pair in pairs:
                ours = statistics.median(times[pair][0])
                theirs = statistics.median(times[pair][1])
                ratios = [a / b for a, b in zip(times[pair][0], times[pair][1], strict=True)]
                share = 1.0 if pair == "kl-mu" else 0.5   # 4 or 2 of the floor's GEMMs
                pair_floor = share * floor
                x_floor = [t / (share * f) for t, f in zip(times[pair][0], floors, strict=True)]
                row = {
                    "matfit_ms": 1e3 * ours, "sklearn_ms": 1e3 * theirs,
                    "ratio": statistics.median(ratios),
                    "x_floor": statistics.median(x_floor),
                    "floor_ms": 1e3 * pair_floor,
                    "matfit_objective": objs[(pair, 0)], "sklearn_objective": objs[(pair, 1)],
                    "matfit_range_ms": [1e3 * min(times[pair][0]), 1e3 * max(times[pair][0])],
                    "sklearn_range_ms": [1e3 * min(times[pair][1]), 1e3 * max(times[pair][1])],
                    "x_floor_rounds": x_floor, "ratio_rounds": ratios,
                }
                results[f"{dname}/{pair}"] = row
                print(f"{pair:<11} {row['matfit_ms']:>12.2f} {row['sklearn_ms']:>13.2f} "
                      f"{row['ratio']:>6.2f} {row['x_floor']:>8.2f} "
                      f"{row['matfit_objective']:>17.8g} {row['sklearn_objective']:>18.8g}  "
                      f"matfit {row['matfit_range_ms'][0]:.1f}-{row['matfit_range_ms'][1]:.1f}, "
                      f"sklearn {row['sklearn_range_ms'][0]:.1f}-{row['sklearn_range_ms'][1]:.1f}")
            results[f"{dname}/floor_ms"] = 1e3 * floor
    kl = results.get("float32/kl-mu")
    if kl:
        print(f"\nacceptance (float32 KL-MU): {kl['x_floor']:.2f}x the GEMM floor (<= 1.3), "
              f"{kl['ratio']:.2f}x scikit-learn's time (<= 0.6), objective "
              f"{kl['matfit_objective']:.8g} vs {kl['sklearn_objective']:.8g}")
    hals = results.get("float32/hals")
    if hals:
        print(f"acceptance (float32 HALS vs cd): {hals['ratio']:.2f}x scikit-learn's time (< 1)")
    print(json.dumps({"bench": "nmf_vs_sklearn", "cores": os.cpu_count(), "blas": blas,
                      "iters": args.iters, "rounds": args.rounds, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
