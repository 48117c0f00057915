"""U @ V ~= A for a sparse ratings matrix A, without ever forming A or U @ V densely.

The question (a user with 10,000 users x 60,000 items): "I write ``tf.matmul(U, V)`` against my
sparse ratings matrix and run out of memory." A dense 10,000 x 60,000 float64 matrix is 4.8 GB,
and so is every gradient of it. Matrix factorisation only needs the product at the *observed*
entries: matfit fits U (users x k) and V (k x items) on those alone, so memory grows with the
number of ratings plus (users + items) x k.

This script draws a rank-4 matrix of that shape, observes 2 million noisy entries (0.33%),
fits U and V with ALS (``biases=False`` is the plain model A ~= U @ V), and checks the answer:
the error on held-out entries is within twice the noise (the best any model can do; items with a
dozen ratings limit it), traced memory
stays far below one dense copy, and ``U[u] @ V[:, i]`` is exactly the model's prediction.

About k = 3,000: the memory of U and V is (users + items) x k x 8 bytes = 1.7 GB, fine; but ALS
solves a k x k system per user and item (3000^3 flops each), so use ``solver="sgd"`` (cost
ratings x k per epoch) -- and note that 3,000 factors is more than most users have ratings.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

from matfit.recommend import MatrixFactorization, Ratings, train_test_split

N_USERS, N_ITEMS, RANK, N_OBSERVED, NOISE = 10_000, 60_000, 4, 2_000_000, 0.1


def main() -> dict:
    rng = np.random.default_rng(0)
    U_true = rng.standard_normal((N_USERS, RANK)) / RANK**0.25
    V_true = rng.standard_normal((RANK, N_ITEMS)) / RANK**0.25
    cells = rng.choice(N_USERS * N_ITEMS, N_OBSERVED, replace=False)  # distinct entries
    rows, cols = cells // N_ITEMS, cells % N_ITEMS
    values = np.einsum("nk,kn->n", U_true[rows], V_true[:, cols])
    values += rng.normal(0, NOISE, len(values))
    A = sp.csr_matrix((values, (rows, cols)), shape=(N_USERS, N_ITEMS))  # the user's sparse A

    ratings = Ratings.from_sparse(A)
    train, test = train_test_split(ratings, 0.1, seed=0)

    tracemalloc.start()
    start = time.perf_counter()
    model = MatrixFactorization(RANK, solver="als", biases=False, reg=0.2, epochs=10, seed=0)
    model.fit(train)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # U is (users x k), V is (k x items): U @ V ~= A at the observed entries. The model's rows
    # are the users/items with a training rating, in ID order; here every row and column of A
    # has one, so the rows are simply 0..n-1.
    rows_u, rows_i = model.user_map_.lookup(np.arange(N_USERS)), model.item_map_.lookup(
        np.arange(N_ITEMS))
    assert (rows_u == np.arange(N_USERS)).all() and (rows_i == np.arange(N_ITEMS)).all()
    U, V = model.user_factors_, model.item_factors_.T

    res = model.evaluate(test, k=None, clip=False)
    truth_rmse = float(np.sqrt(np.mean(
        (np.einsum("nk,kn->n", U_true[test.users], V_true[:, test.items]) - test.values) ** 2)))
    spread = float(np.std(test.values))
    dense_bytes = N_USERS * N_ITEMS * 8

    # the checks: near the noise floor, far below one dense copy, predictions are U @ V entries
    assert res["rmse"] < 2 * truth_rmse, (res["rmse"], truth_rmse)
    assert res["rmse"] < 0.3 * spread
    assert peak < dense_bytes / 10, peak
    u, i = test.users[:1000], test.items[:1000]
    np.testing.assert_allclose(model.predict(u, i, clip=False), np.einsum("nk,kn->n", U[u],
                                                                          V[:, i]), rtol=1e-10)
    block = U[:100] @ V[:, :200]  # any block of U @ V is cheap to form when you need one
    assert block.shape == (100, 200)

    density = A.nnz / (N_USERS * N_ITEMS)
    print(f"A: {N_USERS:,} x {N_ITEMS:,}, {A.nnz:,} observed entries ({density:.2%}); a dense "
          f"copy would be {dense_bytes / 1e9:.1f} GB")
    print(f"fitted U {U.shape} and V {V.shape} by ALS in {seconds:.1f} s; peak traced memory "
          f"{peak / 1e6:.0f} MB")
    print(f"held-out RMSE {res['rmse']:.4f}; the true low-rank matrix scores {truth_rmse:.4f} "
          f"(the noise); the ratings' spread is {spread:.3f}")
    return {"users": N_USERS, "items": N_ITEMS, "observed": int(A.nnz), "factors": RANK,
            "heldout_rmse": round(res["rmse"], 4), "noise_floor_rmse": round(truth_rmse, 4),
            "fit_seconds": round(seconds, 2), "peak_traced_mb": round(peak / 1e6, 1),
            "dense_gb": round(dense_bytes / 1e9, 2)}


if __name__ == "__main__":
    print(json.dumps(main()))
