"""Scale run of matfit.recommend: ALS on synthetic MovieLens-20M-sized ratings (not a test).

Draws power-law ratings the size of MovieLens 20M (20M ratings, 138k users, 27k items) with
``matfit.recommend.synthetic_ratings``, fits float32 ALS with k = 64, and reports seconds per
ALS epoch (the two half-steps, from ``history_``), the one-off set-up, and the peak resident
memory of the process (``resource.getrusage``), after generating the data and after fitting.
The dense users x items matrix (138k x 27k float32 = 15 GB) is never formed.

Usage::

    python benchmarks/recommend_scale.py                    # the full 20M run
    python benchmarks/recommend_scale.py --ratings 2000000  # a quicker look
    python benchmarks/recommend_scale.py --threads 2 --solver sgd

The last line of output is one JSON object with the figures.
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
    ap.add_argument("--threads", type=int, default=1, help="ALS threads over chunks")
    ap.add_argument("--solver", choices=("als", "sgd"), default="als")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from matfit.recommend import MatrixFactorization, synthetic_ratings

    print(f"cores: {os.cpu_count()}  (figures are noisy on a shared machine)", flush=True)
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

    model = MatrixFactorization(args.factors, solver=args.solver, epochs=args.epochs,
                                dtype="float32", n_threads=args.threads, seed=0, verbose=1)
    t1 = time.perf_counter()
    model.fit(ratings)
    fit_s = time.perf_counter() - t1
    rss_fit = rss_mb()
    epoch_s = [h["seconds"] for h in model.history_]
    setup_s = fit_s - sum(epoch_s)
    dense_gb = args.users * args.items * 4 / 1e9
    print(f"{args.solver} k={args.factors}, {args.threads} thread(s): seconds per epoch "
          f"{[round(s, 2) for s in epoch_s]}, fit {fit_s:.1f} s (set-up, RMSE passes and "
          f"bookkeeping {setup_s:.1f} s); train RMSE {model.history_[-1]['train_rmse']:.4f}")
    print(f"peak RSS {rss_fit:.0f} MB (after the data alone: {rss_data:.0f} MB); the dense "
          f"matrix would be {dense_gb:.1f} GB")
    print(json.dumps({
        "bench": "recommend_scale", "solver": args.solver, "cores": os.cpu_count(),
        "threads": args.threads, "users": args.users, "items": args.items,
        "ratings": len(ratings), "factors": args.factors,
        "epoch_seconds": [round(s, 3) for s in epoch_s],
        "median_epoch_seconds": round(float(np.median(epoch_s)), 3),
        "fit_seconds": round(fit_s, 2), "generate_seconds": round(gen_s, 2),
        "peak_rss_mb": round(rss_fit), "peak_rss_after_data_mb": round(rss_data),
        "train_rmse": round(model.history_[-1]["train_rmse"], 4),
    }))


if __name__ == "__main__":
    main()
