"""Funk SGD: the compiled and the NumPy kernels against a plain per-rating reference loop."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import DataError
from matfit.recommend import MatrixFactorization, _sgd, synthetic_ratings, train_test_split


def _reference_epoch(users, items, values, order, P, Q, bu, bi, mu, lr, reg, lr_b, reg_b):
    """Surprise's SVD update, written with whole vectors, one rating at a time."""
    sq = 0.0
    for n in order:
        u, i = users[n], items[n]
        err = values[n] - (mu + bu[u] + bi[i] + P[u] @ Q[i])
        sq += err * err
        bu[u] += lr_b * (err - reg_b * bu[u])
        bi[i] += lr_b * (err - reg_b * bi[i])
        P[u], Q[i] = P[u] + lr * (err * Q[i] - reg * P[u]), Q[i] + lr * (err * P[u] - reg * Q[i])
    return sq


def _problem(seed=0):
    r = synthetic_ratings(60, 40, 900, seed=seed)
    rng = np.random.default_rng(seed)
    P = rng.normal(0, 0.1, (60, 5))
    Q = rng.normal(0, 0.1, (40, 5))
    order = rng.permutation(len(r))
    return r, P, Q, order


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_kernel_matches_reference_loop(backend):
    if backend == "numba" and not _sgd.have_numba():
        pytest.skip("numba is not installed (optional extra 'fast')")
    r, P, Q, order = _problem()
    values = r.values.astype(np.float64)
    mu = float(values.mean())
    ref = [P.copy(), Q.copy(), np.zeros(60), np.zeros(40)]
    got = [P.copy(), Q.copy(), np.zeros(60), np.zeros(40)]
    kw = dict(lr=0.02, reg=0.05, lr_bias=0.03, reg_bias=0.01)
    for _ in range(3):
        sq_ref = _reference_epoch(r.users, r.items, values, order, *ref, mu, 0.02, 0.05, 0.03, 0.01)
        # batch=1 makes the NumPy form plain sequential SGD
        sq = _sgd.sgd_epoch(r.users, r.items, values, order, *got, mu, biases=True,
                            backend=backend, batch=1, **kw)
        assert_allclose(sq, sq_ref, rtol=1e-12)
    for a, b in zip(got, ref, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_numpy_minibatches_minimise_the_same_objective():
    r = synthetic_ratings(400, 300, 12000, seed=4, noise=0.3)
    train, test = train_test_split(r, 0.2, seed=0)
    values = train.values.astype(np.float64)
    mu = float(values.mean())
    out = {}
    # sequential SGD (compiled when Numba is there) against the NumPy mini-batch form
    for backend, batch in (("auto", 1), ("numpy", 256)):
        rng = np.random.default_rng(0)
        P = rng.normal(0, 0.01, (400, 8))
        Q = rng.normal(0, 0.01, (300, 8))
        bu, bi = np.zeros(400), np.zeros(300)
        for epoch in range(12):
            _sgd.sgd_epoch(train.users, train.items, values, rng.permutation(len(values)),
                           P, Q, bu, bi, mu, lr=0.04 * 0.9**epoch, reg=0.05,
                           lr_bias=0.04 * 0.9**epoch, reg_bias=0.05, biases=True,
                           backend=backend, batch=batch)
        pred = mu + bu[test.users] + bi[test.items] + np.einsum("nk,nk->n", P[test.users],
                                                                 Q[test.items])
        out[backend] = np.sqrt(np.mean((pred - test.values) ** 2))
    baseline = np.sqrt(np.mean((test.values - mu) ** 2))
    assert out["numpy"] < 0.93 * baseline
    assert abs(out["numpy"] - out["auto"]) < 0.01 * out["auto"]


def test_without_biases_the_biases_stay_zero():
    r, P, Q, order = _problem(1)
    bu, bi = np.zeros(60), np.zeros(40)
    _sgd.sgd_epoch(r.users, r.items, r.values.astype(np.float64), order, P, Q, bu, bi, 0.0,
                   lr=0.01, reg=0.0, lr_bias=0.01, reg_bias=0.0, biases=False)
    assert not bu.any() and not bi.any()


def test_sgd_model_learning_rate_decay_matters():
    r = synthetic_ratings(300, 200, 8000, seed=5)
    a = MatrixFactorization(8, solver="sgd", epochs=5, seed=0, lr_decay=1.0).fit(r)
    b = MatrixFactorization(8, solver="sgd", epochs=5, seed=0, lr_decay=0.5).fit(r)
    assert not np.allclose(a.user_factors_, b.user_factors_)
    # the same first epoch (same lr), then different
    assert a.history_[0]["train_rmse"] == b.history_[0]["train_rmse"]
    assert a.history_[-1]["train_rmse"] != b.history_[-1]["train_rmse"]


def test_sgd_divergence_is_reported():
    r = synthetic_ratings(100, 80, 3000, seed=6)
    with pytest.raises(DataError, match=r"sgd diverged at epoch 1 .*lower lr") as info:
        with np.errstate(all="ignore"):
            MatrixFactorization(8, solver="sgd", lr=50.0, epochs=5, seed=0).fit(r)
    assert "lr" in str(info.value)
