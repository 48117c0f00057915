"""Funk SGD: the compiled and the NumPy kernels against plain per-rating reference loops."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import DataError
from matfit.recommend import MatrixFactorization, _kernels, _sgd, synthetic_ratings

needs_numba = pytest.mark.skipif(not _sgd.have_numba(),
                                 reason="numba is not installed (optional extra 'fast')")
KW = dict(lr=0.02, reg=0.05, lr_bias=0.03, reg_bias=0.01)


def _reference_epoch(users, items, values, order, P, Q, bu, bi, mu, lr, reg, lr_bias, reg_bias,
                     biases=True):
    """Surprise's SVD update, one rating at a time, in the arrays' dtype (module docstring)."""
    dt = P.dtype.type
    mu, lr, reg, lr_bias, reg_bias = map(dt, (mu, lr, reg, lr_bias, reg_bias))
    sq = 0.0
    for n in order:
        u, i = users[n], items[n]
        pred = mu + (bu[u] + bi[i]) if biases else mu
        for f in range(P.shape[1]):
            pred = pred + P[u, f] * Q[i, f]
        err = values[n] - pred
        sq += float(err) ** 2
        if biases:
            bu[u] += lr_bias * (err - reg_bias * bu[u])
            bi[i] += lr_bias * (err - reg_bias * bi[i])
        pu, qi = P[u].copy(), Q[i].copy()  # both factors move from their old values
        P[u] = pu + lr * (err * qi - reg * pu)
        Q[i] = qi + lr * (err * pu - reg * qi)
    return sq


def _reference_minibatch_epoch(users, items, values, order, P, Q, bu, bi, mu, lr, reg, lr_bias,
                               reg_bias, biases, batch):
    """The NumPy form's rule as loops: every rating of a batch steps from the batch's start."""
    dt = P.dtype.type
    mu, lr, reg, lr_bias, reg_bias = map(dt, (mu, lr, reg, lr_bias, reg_bias))
    sq = 0.0
    for lo in range(0, len(order), batch):
        P0, Q0, bu0, bi0 = P.copy(), Q.copy(), bu.copy(), bi.copy()
        for n in order[lo:lo + batch]:
            u, i = users[n], items[n]
            pred = P0[u] @ Q0[i] + mu
            if biases:
                pred = pred + (bu0[u] + bi0[i])
            err = values[n] - pred
            sq += float(err) ** 2
            if biases:
                bu[u] += lr_bias * (err - reg_bias * bu0[u])
                bi[i] += lr_bias * (err - reg_bias * bi0[i])
            P[u] += lr * (err * Q0[i] - reg * P0[u])
            Q[i] += lr * (err * P0[u] - reg * Q0[i])
    return sq


def _problem(seed=0, dtype=np.float64, offset=0.0, n_ratings=900):
    r = synthetic_ratings(60, 40, n_ratings, seed=seed)
    rng = np.random.default_rng(seed)
    P = rng.normal(0, 0.1, (60, 5)).astype(dtype)
    Q = rng.normal(0, 0.1, (40, 5)).astype(dtype)
    bu = rng.normal(0, 0.3, 60).astype(dtype)  # non-zero: a dropped bias term shows
    bi = rng.normal(0, 0.3, 40).astype(dtype)
    values = (r.values.astype(np.float64) + offset).astype(dtype)
    order = rng.permutation(len(r))
    return r.users, r.items, values, order, [P, Q, bu, bi]


def _copies(params):
    return [a.copy() for a in params]


@needs_numba
@pytest.mark.parametrize("backend", ["numba", "auto"])
@pytest.mark.parametrize("biases", [True, False])
@pytest.mark.parametrize("dtype, offset", [(np.float64, 0.0), (np.float32, 0.0),
                                           (np.float32, 1e3)])
def test_compiled_kernel_is_the_sequential_reference_loop(backend, biases, dtype, offset):
    # the default batch (256) would change the NumPy form: only the sequential kernel matches
    users, items, values, order, params = _problem(dtype=dtype, offset=offset)
    mu = float(values.astype(np.float64).mean())
    ref, got = _copies(params), _copies(params)
    for _ in range(3):
        sq_ref = _reference_epoch(users, items, values, order, *ref, mu, **KW, biases=biases)
        via = {} if backend == "auto" else {"backend": backend}  # "auto" is the default
        sq = _sgd.sgd_epoch(users, items, values, order, *got, mu, biases=biases, **via, **KW)
        assert type(sq) is float
        assert_allclose(sq, sq_ref, rtol=1e-12 if dtype == np.float64 else 1e-6)
    for a, b in zip(got, ref, strict=True):
        assert a.dtype == dtype
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)  # the same IEEE operations, in order
    if not biases:  # the biases are neither used nor moved
        assert np.array_equal(got[2], params[2]) and np.array_equal(got[3], params[3])


def test_python_body_of_the_kernel_is_the_reference_loop():
    # the compiled kernel's specification, run as plain Python
    users, items, values, order, params = _problem(1, n_ratings=300)
    mu = float(values.mean())
    for biases in (True, False):
        ref, got = _copies(params), _copies(params)
        sq_ref = _reference_epoch(users, items, values, order, *ref, mu, **KW, biases=biases)
        sq = _sgd._sgd_loop(users, items, values, order, *got, mu, KW["lr"], KW["reg"],
                            KW["lr_bias"], KW["reg_bias"], biases)
        assert_allclose(sq, sq_ref, rtol=1e-12)
        for a, b in zip(got, ref, strict=True):
            assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("biases", [True, False])
@pytest.mark.parametrize("batch", [None, 1, 100])
def test_numpy_form_is_the_minibatch_rule(biases, batch):
    # 900 ratings: three full default batches of 256 and a partial one
    users, items, values, order, params = _problem(2)
    mu = float(values.mean())
    ref, got, via = _copies(params), _copies(params), _copies(params)
    size = 256 if batch is None else batch
    extra = {} if batch is None else {"batch": batch}
    for _ in range(2):
        sq_ref = _reference_minibatch_epoch(users, items, values, order, *ref, mu, **KW,
                                            biases=biases, batch=size)
        sq = _sgd.sgd_epoch_numpy(users, items, values, order, *got, mu, biases=biases,
                                  **KW, **extra)
        sq_via = _sgd.sgd_epoch(users, items, values, order, *via, mu, biases=biases,
                                backend="numpy", **KW, **extra)
        assert type(sq) is float and type(sq_via) is float
        assert_allclose(sq, sq_ref, rtol=1e-12)
        assert_allclose(sq_via, sq_ref, rtol=1e-12)
    for a, b, c in zip(got, via, ref, strict=True):
        assert_allclose(a, c, rtol=1e-12, atol=1e-14)
        assert_allclose(b, c, rtol=1e-12, atol=1e-14)
    if not biases:
        assert np.array_equal(got[2], params[2]) and np.array_equal(got[3], params[3])


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_numpy_form_keeps_float32(offset):
    users, items, values, order, params = _problem(3, dtype=np.float32, offset=offset)
    mu = float(values.astype(np.float64).mean())
    ref, got = _copies(params), _copies(params)
    sq_ref = _reference_minibatch_epoch(users, items, values, order, *ref, mu, **KW,
                                        biases=True, batch=256)
    sq = _sgd.sgd_epoch_numpy(users, items, values, order, *got, mu, biases=True, **KW)
    assert_allclose(sq, sq_ref, rtol=1e-5)
    for a, b in zip(got, ref, strict=True):
        assert a.dtype == np.float32
        assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_numpy_minibatches_minimise_the_same_objective():
    # mini-batches of 16 on a 60 x 40 problem: not the sequential steps (compiled when Numba
    # is there), but as good a fit
    users, items, values, _, params = _problem(4, n_ratings=1500)
    mu = float(values.mean())
    out = {}
    for name, backend, batch in (("sequential", "auto", 1), ("minibatch", "numpy", 16)):
        P, Q, bu, bi = _copies(params)
        rng = np.random.default_rng(0)
        for epoch in range(20):
            sq = _sgd.sgd_epoch(users, items, values, rng.permutation(len(values)), P, Q, bu,
                                bi, mu, lr=0.05 * 0.9**epoch, reg=0.02,
                                lr_bias=0.05 * 0.9**epoch, reg_bias=0.02, biases=True,
                                backend=backend, batch=batch)
        out[name] = np.sqrt(sq / len(values))
    baseline = np.sqrt(np.mean((values - mu) ** 2))
    assert out["minibatch"] < 0.8 * baseline
    assert abs(out["minibatch"] - out["sequential"]) < 0.02 * out["sequential"]


def test_without_numba_auto_is_the_numpy_form_and_numba_is_refused(monkeypatch):
    monkeypatch.setattr(_sgd, "_KERNEL", None)
    monkeypatch.setenv("MATFIT_DISABLE_NUMBA", "1")
    assert _sgd.have_numba() is False
    monkeypatch.delenv("MATFIT_DISABLE_NUMBA")
    assert _sgd.have_numba() is False  # decided once per process, like _kernels.kernel
    users, items, values, order, params = _problem(5)
    mu = float(values.mean())
    ref, got = _copies(params), _copies(params)
    sq_ref = _reference_minibatch_epoch(users, items, values, order, *ref, mu, **KW,
                                        biases=True, batch=256)
    sq = _sgd.sgd_epoch(users, items, values, order, *got, mu, biases=True, **KW)
    assert_allclose(sq, sq_ref, rtol=1e-12)
    for a, b in zip(got, ref, strict=True):
        assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    with pytest.raises(ImportError, match=r"^backend='numba' needs Numba: pip install "
                                          r"'matfit\[fast\]'$"):
        _sgd.sgd_epoch(users, items, values, order, *got, mu, biases=True, backend="numba",
                       **KW)


def test_without_the_numba_package_there_is_no_kernel(monkeypatch):
    monkeypatch.setattr(_sgd, "_KERNEL", None)
    monkeypatch.delenv("MATFIT_DISABLE_NUMBA", raising=False)
    real = sys.modules.get("numba")
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    assert _sgd.have_numba() is False
    if real is not None:
        monkeypatch.setitem(sys.modules, "numba", real)
    assert _sgd.have_numba() is False  # decided once per process


@needs_numba
def test_with_numba_the_kernel_is_compiled_once(monkeypatch):
    monkeypatch.setattr(_sgd, "_KERNEL", None)
    monkeypatch.delenv("MATFIT_DISABLE_NUMBA", raising=False)
    assert _sgd.have_numba() is True
    first = _sgd._numba_kernel()
    assert first is not None and _sgd._numba_kernel() is first


def test_without_biases_the_biases_stay_zero():
    users, items, values, order, (P, Q, _, _) = _problem(1)
    bu, bi = np.zeros(60), np.zeros(40)
    for backend in ("auto", "numpy"):
        _sgd.sgd_epoch(users, items, values, order, P, Q, bu, bi, 0.0, lr=0.01, reg=0.0,
                       lr_bias=0.01, reg_bias=0.0, biases=False, backend=backend)
    assert not bu.any() and not bi.any()


def test_sgd_model_learning_rate_decays_every_epoch(monkeypatch):
    # the model's epochs get lr * lr_decay**epoch: record what each epoch's kernel receives
    seen = []
    kernel = _kernels.kernel
    real = _sgd.sgd_epoch

    def recording(name):
        fn = kernel(name)
        if name != "sgd_blocked" or fn is None:
            return fn

        def wrapped(*args):
            seen.append((float(args[11]), float(args[13])))  # lr of the factors, of the biases
            return fn(*args)
        return wrapped

    def recording_numpy(*args, lr, lr_bias, **kw):
        seen.append((lr, lr_bias))
        return real(*args, lr=lr, lr_bias=lr_bias, **kw)

    monkeypatch.setattr(_kernels, "kernel", recording)
    monkeypatch.setattr(_sgd, "sgd_epoch", recording_numpy)
    r = synthetic_ratings(300, 200, 8000, seed=5)
    fits = {}
    for decay in (1.0, 0.5):
        seen.clear()
        fits[decay] = MatrixFactorization(8, solver="sgd", lr=0.005, epochs=5, seed=0,
                                          lr_decay=decay).fit(r)
        want = [0.005 * decay**e for e in range(5)]
        assert_allclose([s[0] for s in seen], want, rtol=1e-6)
        assert_allclose([s[1] for s in seen], want, rtol=1e-6)
    a, b = fits[1.0].history_, fits[0.5].history_
    # the same first epoch (same lr), then smaller steps fit the training ratings less (at this
    # small lr progress is step-limited; at lr 0.02 the noise of big steps can reverse it)
    assert a[0]["train_rmse"] == b[0]["train_rmse"]
    assert all(x["train_rmse"] < y["train_rmse"] for x, y in zip(a[1:], b[1:], strict=True))


def test_sgd_divergence_is_reported():
    r = synthetic_ratings(100, 80, 3000, seed=6)
    with pytest.raises(DataError, match=r"sgd diverged at epoch 1 .*lower lr \(now 50\.0\)"):
        with np.errstate(all="ignore"):
            MatrixFactorization(8, solver="sgd", lr=50.0, epochs=5, seed=0).fit(r)

