"""NMF on Dask over an on-disk X too big for comfort: seconds per iteration and peak memory.

X is 513 x 1,000,000 float32 (2 GB) in a ``.npy`` under /tmp (written by a child process, so the
client's peak memory does not include it, and deleted at the end), factorised with k = 40 under
KL-MU, chunks of 50,000 samples, on a LocalCluster of 2 worker processes (1 thread each). Each
worker reads its blocks from the memory-mapped file; X is never whole in any process. Reported:
seconds per iteration, peak RSS of the client process (it also hosts the scheduler) and of every
worker (``resource.getrusage`` via ``client.run``), and the ratio to in-memory ``nmf`` on a
513 x 200,000 slice (per sample).

Usage::

    python benchmarks/nmf_dask.py                 # the full run (~2 GB on /tmp)
    python benchmarks/nmf_dask.py --samples 200000 --iters 2   # a quicker look

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def peak_mb() -> float:
    """Peak resident set size of the calling process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(path: str, features: int, samples: int, k: int, chunk: int) -> None:
    """Write a non-negative (features, samples) float32 .npy, chunk by chunk (low-rank + noise)."""
    rng = np.random.default_rng(0)
    W = rng.random((features, k), dtype=np.float32)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(features, samples))
    for lo in range(0, samples, chunk):
        hi = min(lo + chunk, samples)
        H = rng.random((k, hi - lo), dtype=np.float32)
        block = W @ H
        block += 0.1 * rng.random(block.shape, dtype=np.float32)
        out[:, lo:hi] = block
    out.flush()
    del out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=int, default=513)
    ap.add_argument("--samples", type=int, default=1_000_000)
    ap.add_argument("--slice", type=int, default=200_000, help="in-memory comparison width")
    ap.add_argument("--components", type=int, default=40)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--make", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:
        make(args.make, args.features, args.samples, args.components, args.chunk)
        return

    import dask.array as da
    from distributed import Client, LocalCluster

    from matfit.factorize import nmf
    from matfit.factorize._dask import nmf_dask, read_chunked

    cores = os.cpu_count()
    print(f"cores: {cores}  (figures are noisy on a shared machine)", flush=True)
    path = Path(f"/tmp/matfit-nmf-dask-{os.getpid()}.npy")
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--make", str(path), "--features",
                        str(args.features), "--samples", str(args.samples), "--chunk",
                        str(args.chunk), "--components", str(args.components)], check=True)
        print(f"wrote X {args.features} x {args.samples:,} float32 "
              f"({path.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f} s",
              flush=True)
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
        start_s = time.perf_counter() - t0
        X = read_chunked(path, args.chunk)
        assert isinstance(X, da.Array)
        res = nmf_dask(X, args.components, beta="kl", init="random", max_iter=args.iters,
                       tol=0, seed=0, client=client)
        per_iter = float(np.median(res.iteration_seconds))
        workers = client.run(peak_mb)
        client_mb = peak_mb()
        client.close()
        cluster.close()
        x_mb = args.features * args.samples * 4 / 2**20
        print(f"dask: cluster start {start_s:.1f} s, {per_iter:.2f} s/iteration (median of "
              f"{args.iters}), total {res.seconds:.1f} s; objective {res.fun:.6g}", flush=True)
        print(f"peak RSS: client+scheduler {client_mb:.0f} MB; workers "
              f"{', '.join(f'{v:.0f}' for v in workers.values())} MB (X is {x_mb:.0f} MB)",
              flush=True)
        Xs = np.load(path, mmap_mode="r")[:, : args.slice].copy()
        t0 = time.perf_counter()
        ref = nmf(Xs, args.components, beta="kl", init="random", max_iter=args.iters, tol=0,
                  seed=0)
        mem_per_iter = (time.perf_counter() - t0) / args.iters
        del Xs, ref
        scaled = mem_per_iter * args.samples / args.slice
        ratio = per_iter / scaled
        print(f"in memory on {args.features} x {args.slice:,}: {mem_per_iter:.2f} s/iteration "
              f"(x {args.samples / args.slice:g} = {scaled:.2f} s for the full width); "
              f"dask / in-memory per sample = {ratio:.2f}", flush=True)
    finally:
        path.unlink(missing_ok=True)
    print(json.dumps({
        "bench": "nmf_dask", "cores": cores, "shape": [args.features, args.samples],
        "components": args.components, "chunk": args.chunk, "iters": args.iters,
        "dask_s_per_iter": round(per_iter, 3), "cluster_start_s": round(start_s, 2),
        "client_peak_mb": round(client_mb), "worker_peak_mb": [round(v) for v in
                                                               workers.values()],
        "x_mb": round(x_mb), "in_memory_s_per_iter_slice": round(mem_per_iter, 3),
        "ratio_dask_to_in_memory_per_sample": round(ratio, 3),
        "client_under_500mb": client_mb < 500,
        "no_worker_holds_x": all(v < x_mb for v in workers.values())}))


if __name__ == "__main__":
    main()
