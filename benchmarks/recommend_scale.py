"""Scale run of matfit.recommend: ALS / SGD / SVD++ on MovieLens-20M-sized ratings (not a test).

Draws power-law ratings the size of MovieLens 20M (20M ratings, 138k users, 27k items) with
``matfit.recommend.synthetic_ratings`` once, then fits float32 models with k = 64 at each
thread count of ``--threads``, interleaved over ``--rounds`` rounds (so that drift in the
machine's load hits every count alike), and reports seconds per epoch (the solver's pass, from
``history_``), the ratio of one thread's time to each count's, and the peak resident memory of
the process (``resource.getrusage``) after generating the data and after all fits. The dense
users x items matrix (138k x 27k float32 = 15 GB) is never formed.

Usage::

    python benchmarks/recommend_scale.py                    # ALS, threads 1 and 2, full 20M
    python benchmarks/recommend_scale.py --ratings 2000000  # a quicker look
    python benchmarks/recommend_scale.py --solver sgd --threads 1,2
    python benchmarks/recommend_scale.py --cg-steps 3       # ALS with conjugate gradients

The last line of output is one JSON object with the figures; quote it with the machine's load
(``uptime``): on a shared machine absolute seconds are inflated, the ratios less so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np


def rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=138_000)
    ap.add_argument("--items", type=int, default=27_000)
    ap.add_argument("--ratings", type=int, default=20_000_000)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds")
    ap.add_argument("--solver", choices=("als", "sgd", "svdpp"), default="als")
    ap.add_argument("--cg-steps", type=int, default=None, help="ALS: CG steps (default exact)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    from matfit.recommend import MatrixFactorization, synthetic_ratings

    print(f"cores: {os.cpu_count()}, load {os.getloadavg()[0]:.1f} (figures are noisy on a "
          f"shared machine)", flush=True)
    t0 = time.perf_counter()
    ratings = synthetic_ratings(args.users, args.items, args.ratings, factors=16,
                                dtype=np.float32, seed=args.seed, step=0.5)
    gen_s = time.perf_counter() - t0
    rss_data = rss_mb()
    counts = ratings.user_counts()
    icounts = ratings.item_counts()
    print(f"generated {len(ratings):,} ratings in {gen_s:.1f} s: users with ratings "
          f"{np.count_nonzero(counts):,} (max {counts.max():,}, median {np.median(counts):.0f}), "
          f"items max {icounts.max():,}; peak RSS so far {rss_data:.0f} MB", flush=True)

    epoch_s: dict[int, list[float]] = {n: [] for n in threads}
    fit_s: dict[int, list[float]] = {n: [] for n in threads}
    loads, train_rmse = [], {}
    for rnd in range(args.rounds):
        for n in threads:
            model = MatrixFactorization(args.factors, solver=args.solver, epochs=args.epochs,
                                        dtype="float32", n_threads=n, cg_steps=args.cg_steps,
                                        seed=0)
            loads.append(os.getloadavg()[0])
            t1 = time.perf_counter()
            model.fit(ratings)
            fit_s[n].append(time.perf_counter() - t1)
            secs = [h["seconds"] for h in model.history_]
            epoch_s[n] += secs
            train_rmse[n] = model.history_[-1]["train_rmse"]
            print(f"round {rnd + 1}: {args.solver} k={args.factors}, {n} thread(s): seconds per "
                  f"epoch {[round(s, 2) for s in secs]}, fit {fit_s[n][-1]:.1f} s; train RMSE "
                  f"{train_rmse[n]:.4f}; load {loads[-1]:.1f}", flush=True)
            del model
    rss_fit = rss_mb()
    med = {n: float(np.median(epoch_s[n])) for n in threads}
    speedup = {n: round(med[threads[0]] / med[n], 3) for n in threads}
    dense_gb = args.users * args.items * 4 / 1e9
    print(f"median seconds per epoch {med}; speed-up over {threads[0]} thread(s) {speedup}")
    print(f"peak RSS {rss_fit:.0f} MB (after the data alone: {rss_data:.0f} MB); the dense "
          f"matrix would be {dense_gb:.1f} GB")
    print(json.dumps({
        "bench": "recommend_scale", "solver": args.solver, "cg_steps": args.cg_steps,
        "cores": os.cpu_count(), "threads": threads, "users": args.users, "items": args.items,
        "ratings": len(ratings), "factors": args.factors,
        "epoch_seconds": {str(n): [round(s, 3) for s in epoch_s[n]] for n in threads},
        "median_epoch_seconds": {str(n): round(med[n], 3) for n in threads},
        "speedup_vs_first": {str(n): speedup[n] for n in threads},
        "fit_seconds": {str(n): [round(s, 2) for s in fit_s[n]] for n in threads},
        "generate_seconds": round(gen_s, 2), "load_average": [round(x, 1) for x in loads],
        "peak_rss_mb": round(rss_fit), "peak_rss_after_data_mb": round(rss_data),
        "train_rmse": {str(n): round(train_rmse[n], 4) for n in threads},
    }))


if __name__ == "__main__":
    main()
