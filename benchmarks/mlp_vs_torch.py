"""Seconds per epoch of a 784-256-10 ReLU MLP, matfit vs PyTorch on 2 threads; digits accuracy.

MNIST-shaped data is generated (60,000 x 784 float32 in [0, 1), 10 classes from a random
linear teacher plus noise: no MNIST copy can be downloaded here). Both sides train the same
architecture with Adam (lr 1e-3), batch 128, float32, shuffled every epoch, in this one
process; each epoch is split into 10 chunks of ~47 batches and the two libraries alternate
chunk by chunk, so load from other processes hits both alike; the figure reported is the
median over epochs of (matfit's epoch seconds / PyTorch's). PyTorch runs with
``torch.set_num_threads(2)``; NumPy's BLAS with 2 threads (threadpoolctl).

Then both train the same network on scikit-learn's ``load_digits`` (8x8, 10 classes, a fixed
75/25 split, inputs scaled to [0, 1], 64-256-10, Adam 1e-3, batch 128, 40 epochs) and the test
accuracies are printed.

Run: ``python benchmarks/mlp_vs_torch.py [--epochs 5] [--samples 60000]``. The last line is
JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 784), dtype=np.float32)
    teacher = rng.standard_normal((784, 10)).astype(np.float32)
    y = np.argmax(X @ teacher + 3 * rng.standard_normal((n, 10)).astype(np.float32), axis=1)
    return X, y.astype(np.int64)


def matfit_model(n_in: int, seed: int):
    from matfit.nn import Dense, ReLU, Sequential, Softmax

    return Sequential([Dense(256, init="torch"), ReLU(), Dense(10, init="torch"), Softmax()],
                      n_features=n_in, dtype=np.float32, seed=seed)


def matfit_chunk(model, X, y, seed) -> float:
    """Train on one chunk of the epoch (fit shuffles it) and return the seconds taken."""
    from matfit.nn import fit

    start = time.perf_counter()
    fit(model, X, y, loss="cross_entropy", optimizer=model._opt, epochs=1, batch_size=128,
        seed=seed)
    return time.perf_counter() - start


def torch_setup(n_in: int, seed: int):
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(n_in, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt


def torch_epoch(model, opt, Xt, yt, gen) -> float:
    """One shuffled pass over (Xt, yt) in batches of 128; return the seconds taken."""
    import torch

    start = time.perf_counter()
    n = Xt.shape[0]
    perm = torch.randperm(n, generator=gen)
    loss_fn = torch.nn.functional.cross_entropy
    for lo in range(0, n, 128):
        idx = perm[lo:lo + 128]
        xb, yb = Xt[idx], yt[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def digits_accuracy(epochs: int = 40) -> tuple[float, float]:
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from matfit.nn import Dense, ReLU, Sequential, Softmax, fit, predict

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, random_state=0,
                                          stratify=y)
    Xtr, Xte = Xtr.astype(np.float32), Xte.astype(np.float32)
    model = Sequential([Dense(256, init="torch"), ReLU(), Dense(10, init="torch"), Softmax()],
                       dtype=np.float32, seed=0)
    fit(model, Xtr, ytr, lr=1e-3, epochs=epochs, batch_size=128, seed=0)
    ours = float(np.mean(predict(model, Xte) == yte))
    tm, opt = torch_setup(64, 0)
    Xt, yt = torch.from_numpy(Xtr), torch.from_numpy(ytr.astype(np.int64))
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        torch_epoch(tm, opt, Xt, yt, gen)
    with torch.no_grad():
        theirs = float((tm(torch.from_numpy(Xte)).argmax(1).numpy() == yte).mean())
    return ours, theirs


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs per library")
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    from matfit.optim import Adam

    torch.set_num_threads(args.threads)
    X, y = make_data(args.samples)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    ours = matfit_model(784, seed=0)
    ours._opt = Adam(ours.params, 1e-3)
    tm, topt = torch_setup(784, 0)
    gen = torch.Generator().manual_seed(0)
    ours_s, theirs_s, ratios = [], [], []
    rng = np.random.default_rng(1)
    with threadpool_limits(args.threads, "blas"):
        matfit_chunk(ours, X[:2048], y[:2048], 99)         # warm-up both
        torch_epoch(tm, topt, Xt[:2048], yt[:2048], gen)
        for epoch in range(args.epochs):
            # an epoch in 10 chunks of ~47 batches, alternating matfit and torch chunk by chunk,
            # so load from other processes falls on both alike
            a = b = 0.0
            for chunk in np.array_split(rng.permutation(args.samples), 10):
                Xc, yc = X[chunk], y[chunk]
                Xct, yct = torch.from_numpy(Xc), torch.from_numpy(yc)
                a += matfit_chunk(ours, Xc, yc, epoch)
                b += torch_epoch(tm, topt, Xct, yct, gen)
            ours_s.append(a)
            theirs_s.append(b)
            ratios.append(a / b)
            print(f"epoch {epoch + 1}: matfit {a:.3f} s, torch {b:.3f} s, ratio {a / b:.3f}",
                  file=sys.stderr)
        acc_ours, acc_theirs = digits_accuracy()
    result = {
        "bench": "mlp_784_256_10_adam_b128_float32",
        "cores": os.cpu_count(),
        "threads": args.threads,
        "samples": args.samples,
        "matfit_s_per_epoch": round(statistics.median(ours_s), 4),
        "torch_s_per_epoch": round(statistics.median(theirs_s), 4),
        "median_ratio": round(statistics.median(ratios), 4),
        "ratios": [round(r, 4) for r in ratios],
        "digits_test_accuracy_matfit": round(acc_ours, 4),
        "digits_test_accuracy_torch": round(acc_theirs, 4),
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
    }
    print(f"cores: {os.cpu_count()}, threads: {args.threads}")
    print(f"matfit {result['matfit_s_per_epoch']} s/epoch, torch {result['torch_s_per_epoch']} "
          f"s/epoch, median ratio {result['median_ratio']}")
    print(f"load_digits test accuracy: matfit {acc_ours:.4f}, torch {acc_theirs:.4f}")
    print(json.dumps(result, sort_keys=True))
    return result


if __name__ == "__main__":
    main()
