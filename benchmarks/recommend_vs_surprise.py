"""matfit.recommend (SGD, ALS, ALS-CG, SVD++) against Surprise's SVD and SVDpp (not a test).

One process, one 80/20 random split of MovieLens 100K (``matfit.recommend.train_test_split``,
seed 0) shared by every model. Each repeat fits matfit SGD, ALS, ALS with ``cg_steps=3``
(implicit-style conjugate gradients), SVD++ and Surprise ``SVD()`` (its defaults: biased, 100
factors, 20 epochs, lr 0.005, reg 0.02) back to back, so drift in the machine's load hits all
of them; the figure of merit is the median over repeats of matfit's fit time divided by
Surprise's SVD. Surprise's ``SVDpp()`` (its defaults, 20 factors, 20 epochs) is slow (it
re-sums N(u) for every rating), so it is fitted once, after the repeats, and matfit's SVD++
time is compared with that one fit. RMSE is on the 20,000 held-out ratings, predictions
clipped to [1, 5] by both.
A warm-up fit per model comes first (it compiles or loads matfit's Numba kernel); its time is
reported separately as ``cold``.

For reference, Surprise's own table (5-fold CV): SVD RMSE 0.934 on ml-100k and 0.873 on ml-1m;
SVD++ 0.92 / 0.86.

Usage::

    python benchmarks/recommend_vs_surprise.py [--repeats 7] [--data ../shared/data]

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    path = Path(args.data) / "movielens-100k" / "u.data"
    if not path.is_file():
        print(f"MovieLens 100K not found at {path}: nothing to benchmark")
        return 77

    from matfit.recommend import MatrixFactorization, read_ratings, rmse, train_test_split

    train, test = train_test_split(read_ratings(path), 0.2, seed=0)
    tu, ti, tv = train.to_arrays()
    eu, ei, ev = test.to_arrays()

    def fit_matfit(solver: str, **kw) -> tuple[float, float]:
        start = time.perf_counter()
        model = MatrixFactorization(solver=solver, seed=0, **kw).fit(train)
        seconds = time.perf_counter() - start
        return seconds, model.evaluate(test, k=None)["rmse"]

    fits = {"matfit_sgd": lambda: fit_matfit("sgd"), "matfit_als": lambda: fit_matfit("als"),
            "matfit_als_cg": lambda: fit_matfit("als", cg_steps=3),
            "matfit_svdpp": lambda: fit_matfit("svdpp")}
    slow = {}
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader, SVDpp
    except ImportError as err:
        print(f"Surprise is not installed ({err}): timing matfit alone")
    else:
        frame = pd.DataFrame({"user": tu, "item": ti, "rating": tv})
        trainset = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5))).build_full_trainset()

        def fit_surprise() -> tuple[float, float]:
            algo = SVD(random_state=0)
            start = time.perf_counter()
            algo.fit(trainset)
            seconds = time.perf_counter() - start
            pred = np.array([algo.predict(u, i).est for u, i in zip(eu, ei, strict=True)])
            return seconds, rmse(ev, pred)

        def fit_surprise_pp() -> tuple[float, float]:
            algo = SVDpp(random_state=0)
            start = time.perf_counter()
            algo.fit(trainset)
            seconds = time.perf_counter() - start
            pred = np.array([algo.predict(u, i).est for u, i in zip(eu, ei, strict=True)])
            return seconds, rmse(ev, pred)

        fits["surprise_svd"] = fit_surprise
        slow["surprise_svdpp"] = fit_surprise_pp

    print(f"cores: {os.cpu_count()}; train {len(train):,} / test {len(test):,} ratings; "
          f"timings are noisy on a shared machine: compare the interleaved ratios", flush=True)
    cold = {name: fit()[0] for name, fit in fits.items()}
    times: dict[str, list[float]] = {name: [] for name in fits}
    scores: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, fit in fits.items():
            seconds, score = fit()
            times[name].append(seconds)
            scores[name] = score
    out = {"bench": "recommend_vs_surprise", "cores": os.cpu_count(), "repeats": args.repeats,
           "split": "80/20 random, seed 0"}
    for name in fits:
        med = statistics.median(times[name])
        out[name] = {"rmse": round(scores[name], 4), "fit_seconds_median": round(med, 4),
                     "fit_seconds_cold": round(cold[name], 4)}
        print(f"{name:<13} RMSE {scores[name]:.4f}   fit {med:.3f} s (median of "
              f"{args.repeats}; first call {cold[name]:.3f} s)")
    for name, fit in slow.items():
        seconds, score = fit()
        out[name] = {"rmse": round(score, 4), "fit_seconds": round(seconds, 3)}
        print(f"{name:<13} RMSE {score:.4f}   fit {seconds:.3f} s (one fit)")
    if "surprise_svdpp" in out:
        ratio = statistics.median(times["matfit_svdpp"]) / out["surprise_svdpp"]["fit_seconds"]
        out["matfit_svdpp"]["time_ratio_vs_surprise_svdpp"] = round(ratio, 4)
        print(f"matfit_svdpp / surprise_svdpp fit time: {ratio:.4f}")
    if "surprise_svd" in fits:
        for name in ("matfit_sgd", "matfit_als", "matfit_als_cg", "matfit_svdpp"):
            ratios = [a / b for a, b in zip(times[name], times["surprise_svd"], strict=True)]
            out[name]["time_ratio_vs_surprise"] = round(statistics.median(ratios), 3)
            print(f"{name} / surprise_svd fit time: median ratio "
                  f"{statistics.median(ratios):.3f} (range {min(ratios):.3f}-{max(ratios):.3f})")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
