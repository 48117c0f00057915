"""Ratings on Spark against the local ALS engine: MovieLens 100K accuracy and 20M-rating speed.

1. MovieLens 100K (``../shared/data/movielens-100k/u.data``; skipped when absent), 80/20 split
   with seed 0: test RMSE of ``engine="spark"`` and of the local ALS at the same factors, reg
   (``reg_weighting="count"``, Spark's λ scaling), reg_bias and iterations (they must agree
   within 0.005), wall seconds of each including the Spark session start, and the seconds
   inside Spark's ALS fits (``--java-blas`` measures them without the native BLAS).
2. Synthetic 20M ratings (``synthetic_ratings``, 138k users x 27k items): seconds per ALS
   iteration on Spark ``local[2]`` (the ALS.fit call over its iterations, set-up of its blocks
   included) next to the local engine's seconds per epoch (from ``history_``).

Usage::

    python benchmarks/spark_vs_local.py                 # both parts
    python benchmarks/spark_vs_local.py --ratings 0     # MovieLens only

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "movielens-100k" / "u.data"


def write_tsv(path: Path, ratings) -> Path:
    import pandas as pd

    pd.DataFrame({"user": ratings.user_ids[ratings.users], "item": ratings.item_ids[ratings.items],
                  "rating": ratings.values}).to_csv(path, sep="\t", header=False, index=False)
    return path


def session(master: str, memory: str, java_blas: bool = False):
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    b = (SparkSession.builder.master(master).appName("matfit-bench")
         .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.memory", memory).config("spark.sql.shuffle.partitions", "8"))
    if java_blas:  # netlib dlopens this name instead of libblas.so.3: the Java fallback
        b = b.config("spark.driver.extraJavaOptions",
                     "-Ddev.ludovic.netlib.blas.nativeLib=libmatfit-no-such-blas.so")
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", type=int, default=16)
    ap.add_argument("--reg", type=float, default=0.08)
    ap.add_argument("--reg-bias", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--ratings", type=int, default=20_000_000, help="0 skips part 2")
    ap.add_argument("--large-epochs", type=int, default=3)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="6g",
                    help="fixed when the first session starts the JVM (default 6g)")
    ap.add_argument("--no-ml100k", action="store_true", help="skip part 1")
    ap.add_argument("--java-blas", action="store_true",
                    help="make Spark's netlib miss libblas.so.3 (its Java fallback), to compare "
                    "with a native BLAS (apt-get install libopenblas0); run once each way")
    args = ap.parse_args()

    from matfit.recommend import (
        MatrixFactorization,
        read_ratings,
        synthetic_ratings,
        train_test_split,
    )
    from matfit.recommend._spark import evaluate_spark

    cores = os.cpu_count()
    print(f"cores: {cores}  (figures are noisy on a shared machine)", flush=True)
    from matfit.recommend._spark import BIAS_ROUNDS, native_blas

    blas = "java (forced)" if args.java_blas else (native_blas() or "java (none found)")
    print(f"Spark ALS BLAS: {blas}; bias rounds {BIAS_ROUNDS}", flush=True)
    out: dict = {"bench": "spark_vs_local", "cores": cores, "master": args.master,
                 "blas": blas, "bias_rounds": BIAS_ROUNDS,
                 "load_average": round(os.getloadavg()[0], 1)}
    kw = dict(solver="als", reg_weighting="count", reg=args.reg, reg_bias=args.reg_bias, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="matfit-spark-bench-"))
    if ML100K.is_file() and not args.no_ml100k:
        ratings = read_ratings(ML100K)
        train, test = train_test_split(ratings, 0.2, seed=0)
        train_p, test_p = write_tsv(tmp / "train.tsv", train), write_tsv(tmp / "test.tsv", test)
        t0 = time.perf_counter()
        spark = session(args.master, args.driver_memory, args.java_blas)
        start_s = time.perf_counter() - t0
        model = MatrixFactorization(args.factors, epochs=args.epochs, engine="spark", **kw)
        model.fit(str(train_p), spark=spark)
        spark_rmse = evaluate_spark(model, str(test_p), spark=spark)["rmse"]
        out["ml100k_spark_als_seconds"] = round(model.history_[0]["als_seconds"], 2)
        spark_s = time.perf_counter() - t0
        spark.stop()
        t0 = time.perf_counter()
        local = MatrixFactorization(args.factors, epochs=args.epochs, **kw).fit(train)
        local_rmse = local.evaluate(test, k=None)["rmse"]
        local_s = time.perf_counter() - t0
        print(f"MovieLens 100K (80/20, seed 0), k={args.factors}, reg={args.reg} (count), "
              f"reg_bias={args.reg_bias}, {args.epochs} iterations: Spark RMSE {spark_rmse:.4f} "
              f"in {spark_s:.1f} s (session start {start_s:.1f} s); local ALS RMSE "
              f"{local_rmse:.4f} in {local_s:.2f} s; |difference| "
              f"{abs(spark_rmse - local_rmse):.4f}", flush=True)
        out.update(ml100k_spark_rmse=round(spark_rmse, 4), ml100k_local_rmse=round(local_rmse, 4),
                   ml100k_rmse_diff=round(abs(spark_rmse - local_rmse), 4),
                   ml100k_spark_seconds=round(spark_s, 2), ml100k_local_seconds=round(local_s, 2),
                   spark_session_start_s=round(start_s, 2))
    elif not args.no_ml100k:
        print(f"MovieLens 100K not found at {ML100K}: part 1 skipped", flush=True)
    if args.ratings:
        r = synthetic_ratings(138_000, 27_000, args.ratings, factors=16, dtype=np.float32,
                              seed=0, step=0.5)
        path = write_tsv(tmp / "large.tsv", r)
        print(f"wrote {len(r):,} ratings to {path}", flush=True)
        spark = session(args.master, args.driver_memory, args.java_blas)
        m = MatrixFactorization(args.factors, epochs=args.large_epochs, engine="spark", **kw)
        t0 = time.perf_counter()
        m.fit(str(path), spark=spark)
        total = time.perf_counter() - t0
        spark_iter = m.history_[0]["als_seconds"] / args.large_epochs
        spark.stop()
        loc = MatrixFactorization(args.factors, epochs=args.large_epochs, dtype="float32",
                                  **kw).fit(r)
        local_iter = float(np.median([h["seconds"] for h in loc.history_]))
        print(f"{len(r):,} synthetic ratings, k={args.factors}: Spark {args.master} "
              f"{spark_iter:.1f} s per ALS iteration (whole fit {total:.0f} s with indexing and "
              f"biases); local ALS {local_iter:.1f} s per epoch; ratio "
              f"{spark_iter / local_iter:.1f}", flush=True)
        out.update(large_ratings=len(r), spark_s_per_iter=round(spark_iter, 2),
                   spark_fit_total_s=round(total, 1), local_s_per_epoch=round(local_iter, 2),
                   spark_to_local_ratio=round(spark_iter / local_iter, 2))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
