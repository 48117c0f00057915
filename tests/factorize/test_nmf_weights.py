"""Weighted NMF and missing entries: against the unweighted fit, a plain reference, invariants."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from matfit._errors import DataError, InvalidParameterError, ShapeError
from matfit.factorize import mm_exponent, nmf, weighted_h_terms, weighted_w_terms

BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def _problem(seed=0, m=14, n=19, k=3, missing=0.3, binary=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.05 * rng.random((m, n)) + 0.01
    V = rng.random((m, n)) * (rng.random((m, n)) > missing)
    if binary:  # a 0/1 mask: with few zeros the kernels use its sparse complement
        V = (V > 0).astype(float)
    W = rng.random((m, k)) + 0.2
    H = rng.random((k, n)) + 0.2
    return X, V, W, H


def _divergence(X, Y, beta):
    """Elementwise d_beta(X | Y), written plainly (Févotte & Idier 2011, eq. 2)."""
    if beta == 0:
        return X / Y - np.log(X / Y) - 1
    if beta == 1:
        return X * np.log(X / Y) - X + Y
    return (X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1)) / (beta * (beta - 1))


# ---- weights = 1 is the unweighted fit -------------------------------------------------------
@pytest.mark.parametrize("beta,solver", [(b, "mu") for b in BETAS] + [(2.0, "hals")])
def test_all_ones_weights_equal_the_unweighted_fit(beta, solver):
    X, _, W, H = _problem(1)
    kw = dict(beta=beta, solver=solver, max_iter=40, tol=0, alpha_W=0.01, alpha_H=0.02,
              l1_ratio=0.5)
    plain = nmf(X, W=W, H=H, **kw)
    ones = nmf(X, W=W, H=H, weights=np.ones_like(X), **kw)
    assert_allclose(ones.W, plain.W, rtol=1e-12, atol=1e-14)
    assert_allclose(ones.H, plain.H, rtol=1e-12, atol=1e-14)
    assert_allclose(ones.history, plain.history, rtol=1e-12)
    assert plain.history[-1] < plain.history[0]                   # the fit moved, downhill


@pytest.mark.parametrize("init", [None, "random", "nndsvdar"])
def test_all_ones_weights_equal_unweighted_from_every_init(init):
    X, _, _, _ = _problem(2)
    plain = nmf(X, 3, beta="kl", init=init, max_iter=20, tol=0, seed=4)
    ones = nmf(X, 3, beta="kl", init=init, max_iter=20, tol=0, seed=4, weights=np.ones_like(X))
    assert_allclose(ones.W, plain.W, rtol=1e-12, atol=1e-14)


def test_scaled_weights_scale_the_objective_only():
    # sum(c V d) has the same minimisers as sum(V d) when there are no penalties
    X, V, W, H = _problem(3)
    a = nmf(X, W=W, H=H, beta=1.5, weights=V, max_iter=30, tol=0)
    b = nmf(X, W=W, H=H, beta=1.5, weights=4.0 * V, max_iter=30, tol=0)
    assert_allclose(b.W, a.W, rtol=1e-11)
    assert_allclose(b.fun, 4 * a.fun, rtol=1e-11)


# ---- masked entries are irrelevant -----------------------------------------------------------
@pytest.mark.parametrize("beta,solver", [(b, "mu") for b in BETAS] + [(2.0, "hals")])
@pytest.mark.parametrize("init", ["custom", None])
def test_masked_values_do_not_matter_bit_for_bit(beta, solver, init):
    X, V, W, H = _problem(4)
    kw = dict(beta=beta, solver=solver, max_iter=25, tol=0, weights=V)
    if init == "custom":
        kw.update(W=W, H=H)
    else:
        kw.update(n_components=3, seed=0)
    a = nmf(X, **kw)
    X2 = X.copy()
    X2[V == 0] = np.nan
    b = nmf(X2, **kw)
    X3 = X.copy()
    X3[V == 0] = np.random.default_rng(0).random(int((V == 0).sum())) * 1e6 - 5
    c = nmf(X3, **kw)
    for other in (b, c):
        assert_array_equal(other.W, a.W)
        assert_array_equal(other.H, a.H)
        assert_array_equal(other.history, a.history)


def test_the_callers_arrays_are_not_modified():
    X, V, W, H = _problem(5)
    X[V == 0] = np.nan
    copies = [A.copy() for A in (X, V, W, H)]
    nmf(X, W=W, H=H, beta=1, weights=V, max_iter=5, tol=0)
    for A, A0 in zip((X, V, W, H), copies, strict=True):
        assert_array_equal(A, A0)


# ---- the objective never rises; one MU step against a plain reference -------------------------
@settings(max_examples=30, deadline=None)
@given(beta=st.sampled_from(BETAS), seed=st.integers(0, 10_000),
       missing=st.floats(0.0, 0.7), k=st.integers(1, 4), binary=st.booleans())
def test_weighted_mu_objective_never_rises(beta, seed, missing, k, binary):
    X, V, _, _ = _problem(seed, m=9, n=11, k=k, missing=missing, binary=binary)
    if not (V > 0).any():
        V[0, 0] = 1.0
    res = nmf(X, k, beta=beta, weights=V, max_iter=40, tol=0, check_every=1, seed=seed,
              init="random")
    h = res.history
    assert np.all(np.diff(h) <= 1e-10 * np.abs(h[:-1]) + 1e-300), np.diff(h).max()


@pytest.mark.parametrize("alphas", [(0.0, 0.0, 0.0), (0.05, 0.1, 0.4)])
@pytest.mark.parametrize("binary", [False, True])
def test_weighted_hals_objective_never_rises(alphas, binary):
    # binary: a 0/1 mask with 20% zeros, the compiled column-by-column sweep
    X, V, W, H = _problem(6, missing=0.2 if binary else 0.5, binary=binary)
    aW, aH, l1 = alphas
    res = nmf(X, W=W, H=H, solver="hals", weights=V, max_iter=60, tol=0, check_every=1,
              alpha_W=aW, alpha_H=aH, l1_ratio=l1)
    assert np.all(np.diff(res.history) <= 1e-12 * res.history[:-1])


def _reference_mu_step(X, V, W, H, beta, l1w, l2w, l1h, l2h):
    """One weighted MU iteration (H, then W), a loop per entry, no shortcuts."""
    m, n = X.shape
    k = W.shape[1]
    g = mm_exponent(beta)
    H = H.copy()
    W = W.copy()
    Y = W @ H
    Hn = np.empty_like(H)
    for r in range(k):
        for j in range(n):
            num = sum(V[i, j] * W[i, r] * X[i, j] * Y[i, j] ** (beta - 2) for i in range(m))
            den = sum(V[i, j] * W[i, r] * Y[i, j] ** (beta - 1) for i in range(m))
            Hn[r, j] = H[r, j] * (num / (den + l1h + l2h * H[r, j])) ** g
    Y = W @ Hn
    Wn = np.empty_like(W)
    for i in range(m):
        for r in range(k):
            num = sum(V[i, j] * Hn[r, j] * X[i, j] * Y[i, j] ** (beta - 2) for j in range(n))
            den = sum(V[i, j] * Hn[r, j] * Y[i, j] ** (beta - 1) for j in range(n))
            Wn[i, r] = W[i, r] * (num / (den + l1w + l2w * W[i, r])) ** g
    return Wn, Hn


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("alphas", [(0.0, 0.0, 0.0), (0.02, 0.05, 0.3)])
@pytest.mark.parametrize("binary", [False, True])
def test_one_weighted_mu_step_equals_plain_reference(beta, alphas, binary):
    X, V, W, H = _problem(7, m=6, n=7, k=2, missing=0.2, binary=binary)
    assert (V == 0).any() and (V == 0).mean() <= 0.3  # binary: the complement path
    alpha_W, alpha_H, l1_ratio = alphas
    m, n = X.shape
    # em=False: the weighted updates themselves (0/1 weights would take EM at beta = 2)
    res = nmf(X, W=W, H=H, beta=beta, weights=V, max_iter=1, tol=0, alpha_W=alpha_W,
              alpha_H=alpha_H, l1_ratio=l1_ratio, em=False)
    Wr, Hr = _reference_mu_step(X, V, W, H, beta, alpha_W * l1_ratio * n,
                                alpha_W * (1 - l1_ratio) * n, alpha_H * l1_ratio * m,
                                alpha_H * (1 - l1_ratio) * m)
    assert_allclose(res.H, Hr, rtol=1e-11)
    assert_allclose(res.W, Wr, rtol=1e-11)
    # and the reported objective is the weighted divergence of the start plus the penalties
    div = float(np.sum(V * (0.5 * (X - W @ H) ** 2 if beta == 2 else _divergence(X, W @ H, beta))))
    pen = (alpha_W * n * (l1_ratio * W.sum() + (1 - l1_ratio) / 2 * (W**2).sum())
           + alpha_H * m * (l1_ratio * H.sum() + (1 - l1_ratio) / 2 * (H**2).sum()))
    assert_allclose(res.history[0], div + pen, rtol=1e-11)


def _reference_hals_sweep(X, V, W, H, l1h, l2h, l1w, l2w, learned, order):
    """One weighted HALS iteration (the rows of H in ``order``, then the learned columns of
    W), one coordinate at a time with the weighted sums written out: the exact minimiser of
    sum V (X - W H)^2 / 2 + l1 sum + l2 / 2 sum^2 in that coordinate, clipped at 0; a
    coordinate whose observed curvature is 0 stays."""
    m, n = X.shape
    W, H = W.copy(), H.copy()
    for t in order:
        for j in range(n):
            rest = X[:, j] - W @ H[:, j] + W[:, t] * H[t, j]     # without component t
            curv = sum(V[i, j] * W[i, t] ** 2 for i in range(m))
            if curv + l2h > 0:
                num = sum(V[i, j] * W[i, t] * rest[i] for i in range(m)) - l1h
                H[t, j] = max(0.0, num / (curv + l2h))
    for t in learned:
        for i in range(m):
            rest = X[i] - W[i] @ H + W[i, t] * H[t]
            curv = sum(V[i, j] * H[t, j] ** 2 for j in range(n))
            if curv + l2w > 0:
                num = sum(V[i, j] * H[t, j] * rest[j] for j in range(n)) - l1w
                W[i, t] = max(0.0, num / (curv + l2w))
    return W, H


@pytest.mark.parametrize("alphas", [(0.0, 0.0, 0.0), (0.02, 0.05, 0.3)])
@pytest.mark.parametrize("missing", [0.2, 0.5])  # 0.2: the compiled complement sweep
def test_one_weighted_hals_iteration_equals_plain_reference(alphas, missing):
    X, V, W, H = _problem(22, m=8, n=9, k=3, missing=missing, binary=True)
    V[:, 4] = 0   # a sample with nothing observed: its H column has no curvature and stays
    V[2, :] = 0   # a feature with nothing observed: its row of W stays
    X[V == 0] = np.nan
    alpha_W, alpha_H, l1_ratio = alphas
    m, n = X.shape
    res = nmf(X, W=W, H=H, solver="hals", weights=V, max_iter=1, tol=0, alpha_W=alpha_W,
              alpha_H=alpha_H, l1_ratio=l1_ratio, fixed_W_columns=[1], em=False)
    Wr, Hr = _reference_hals_sweep(np.nan_to_num(X), V, W, H, alpha_H * l1_ratio * m,
                                   alpha_H * (1 - l1_ratio) * m, alpha_W * l1_ratio * n,
                                   alpha_W * (1 - l1_ratio) * n, learned=[0, 2],
                                   order=[0, 2, 1])  # nmf() sweeps the learned ones first
    assert_allclose(res.H, Hr, rtol=1e-11, atol=1e-13)
    assert_allclose(res.W, Wr, rtol=1e-11, atol=1e-13)
    if not alphas[0]:  # (with an l2 penalty the curvature is l2, and they move to 0)
        assert_array_equal(res.H[:, 4], H[:, 4])
        assert_array_equal(res.W[2, [0, 2]], W[2, [0, 2]])


@pytest.mark.parametrize(("solver", "beta"), [("mu", 2), ("mu", "kl"), ("hals", 2)])
def test_compiled_complement_equals_its_numpy_form(solver, beta, monkeypatch):
    # 0/1 weights with few zeros, beta = 2 and KL: the Numba kernels (W @ H at the missing
    # entries only; KL's denominators as column sums minus the missing rows) against the NumPy
    # complement/residual forms they replace, float64 and float32
    from matfit.factorize import _wdata, _wkernels

    if _wkernels.kernel("mu_complement") is None:
        pytest.skip("numba is not installed: only the NumPy forms run")
    X, V, W, H = _problem(23, m=40, n=50, k=4, missing=0.15, binary=True)
    X[V == 0] = np.nan
    kw = dict(W=W, H=H, solver=solver, beta=beta, weights=V, max_iter=25, tol=0,
              check_every=1, alpha_H=0.01, l1_ratio=0.5, fixed_W_columns=[3])
    assert _wdata.make_data(X, V, 2.0).fast
    fast = nmf(X, **kw)
    fast32 = nmf(X.astype(np.float32), **kw)
    monkeypatch.setattr(_wkernels, "kernel", lambda name: None)
    assert not _wdata.make_data(X, V, 2.0).fast
    slow = nmf(X, **kw)
    slow32 = nmf(X.astype(np.float32), **kw)
    assert_allclose(fast.W, slow.W, rtol=1e-10, atol=1e-13)
    assert_allclose(fast.H, slow.H, rtol=1e-10, atol=1e-13)
    assert_allclose(fast.history, slow.history, rtol=1e-10)
    assert fast32.W.dtype == np.float32 and fast32.H.dtype == np.float32
    assert_allclose(fast32.W, slow32.W, rtol=1e-3, atol=1e-5)
    assert_allclose(fast32.history, slow32.history, rtol=1e-4)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize("binary", [False, True])
def test_weighted_pieces_add_over_sample_chunks(beta, binary):
    X, V, W, H = _problem(8, m=8, n=21, k=3, missing=0.2, binary=binary)
    nh, dh = weighted_h_terms(X, V, W, H, beta)
    nw, dw = weighted_w_terms(X, V, W, H, beta)
    chunks = [slice(0, 5), slice(5, 14), slice(14, 21)]
    parts = [weighted_w_terms(X[:, c], V[:, c], W, H[:, c], beta) for c in chunks]
    assert_allclose(sum(p[0] for p in parts), nw, rtol=1e-12)
    assert_allclose(sum(p[1] for p in parts), dw, rtol=1e-12)
    for c in chunks:
        a, b = weighted_h_terms(X[:, c], V[:, c], W, H[:, c], beta)
        assert_allclose(a, nh[:, c], rtol=1e-12)
        assert_allclose(b, dh[:, c], rtol=1e-12)


# ---- recovery, options ------------------------------------------------------------------------
def test_exact_recovery_with_half_the_entries_hidden():
    rng = np.random.default_rng(9)
    k = 4
    X = rng.random((40, k)) @ rng.random((k, 50))
    hidden = rng.random(X.shape) < 0.5
    Xn = np.where(hidden, np.nan, X)
    res = nmf(Xn, k, solver="hals", weights=(~hidden).astype(float), max_iter=2000, tol=0,
              seed=0)
    Y = res.W @ res.H
    err = np.linalg.norm((Y - X)[hidden]) / np.linalg.norm(X[hidden])
    assert err < 1e-3, err


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_fixed_and_partly_fixed_W_with_weights(solver):
    X, V, W, H = _problem(10, k=4)
    res = nmf(X, W=W, H=H, solver=solver, weights=V, fixed_W_columns=[0, 2], max_iter=30,
              tol=0)
    assert_array_equal(res.W[:, [0, 2]], W[:, [0, 2]])
    # learning columns 1 and 3 beside the fixed ones fits the observed entries better than
    # fitting H alone from the same start (same weighted objective, same iterations)
    only_H = nmf(X, W=W, H=H, solver=solver, weights=V, update_W=False, max_iter=30, tol=0)
    assert res.history[-1] < 0.99 * only_H.history[-1]
    sup = nmf(X, W=W, solver=solver, weights=V, update_W=False, max_iter=30, tol=0, seed=0)
    assert_array_equal(sup.W, W)
    assert sup.history[-1] < sup.history[0]


def test_normalize_W_with_weights_keeps_the_product():
    X, V, W, H = _problem(11)
    a = nmf(X, W=W, H=H, beta=1, weights=V, max_iter=1, tol=0)
    b = nmf(X, W=W, H=H, beta=1, weights=V, max_iter=1, tol=0, normalize_W="l1")
    assert_allclose(b.W.sum(axis=0), 1.0, rtol=1e-12)
    assert_allclose(b.W @ b.H, a.W @ a.H, rtol=1e-12)


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5])
def test_float32_stays_float32_with_weights(beta):
    X, V, W, H = _problem(12)
    X32 = X.astype(np.float32)
    X32[V == 0] = np.nan
    r32 = nmf(X32, W=W, H=H, beta=beta, weights=V, max_iter=20, tol=0)
    r64 = nmf(X, W=W, H=H, beta=beta, weights=V, max_iter=20, tol=0)
    assert r32.W.dtype == np.float32 and r32.H.dtype == np.float32
    assert_allclose(r32.W, r64.W, rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("binary", [False, True])
def test_a_fully_missing_sample_gets_no_nan(binary):
    X, V, W, H = _problem(13, missing=0.1, binary=binary)
    V[:, 3] = 0
    X[:, 3] = np.nan
    res = nmf(X, W=W, H=H, beta=1, weights=V, max_iter=20, tol=0)
    assert np.isfinite(res.W).all() and np.isfinite(res.H).all()
    # a sample with no observed entry adds nothing to the weighted updates' W step: W and the
    # other samples' activations are the fit without that sample (em=False: without the empty
    # sample the default would be EM, which such a sample never gets)
    keep = np.arange(X.shape[1]) != 3
    ref = nmf(X[:, keep], W=W, H=H[:, keep], beta=1, weights=V[:, keep], max_iter=20, tol=0,
              em=False)
    assert_allclose(res.W, ref.W, rtol=1e-9, atol=1e-12)
    assert_allclose(res.H[:, keep], ref.H, rtol=1e-9, atol=1e-12)


# ---- errors -----------------------------------------------------------------------------------
def test_nan_where_the_weight_is_positive_names_the_first_position():
    X, V, _, _ = _problem(14)
    V[V == 0] = 0.5
    X[2, 5] = np.nan
    X[7, 1] = np.nan
    with pytest.raises(DataError, match=r"2 entries with a positive weight where it is not "
                                        r"finite, the first at X\[2, 5\] = nan"):
        nmf(X, 3, weights=V)
    with pytest.raises(DataError, match=r"X has 2 non-finite entries"):
        nmf(X, 3)  # no weights: NaN is still an error


@pytest.mark.parametrize("bad,match,err", [
    (lambda V: V[:, :-1], r"weights has shape \(14, 18\) but X has shape \(14, 19\)",
     ShapeError),
    (lambda V: -V, r"weights has .* negative", DataError),
    (lambda V: np.zeros_like(V), r"weights are all zero", DataError),
    (lambda V: np.where(V > 0, np.nan, 0), r"weights has .* non-finite", DataError),
])
def test_bad_weights_are_named(bad, match, err):
    X, V, _, _ = _problem(15)
    with pytest.raises(err, match=match):
        nmf(X, 3, weights=bad(V))


def test_negative_or_zero_x_only_matters_where_observed():
    X, V, _, _ = _problem(16)
    X[V == 0] = -1.0
    nmf(X, 3, weights=V, beta=0, max_iter=2, tol=0)  # masked negatives are fine, even for IS
    X[0, 0], V[0, 0] = 0.0, 1.0
    with pytest.raises(DataError, match=r"where it is zero, the first at X\[0, 0\]"):
        nmf(X, 3, weights=V, beta=0)
    X[0, 0] = -2.0
    with pytest.raises(DataError, match=r"where it is negative, the first at X\[0, 0\]"):
        nmf(X, 3, weights=V)


def test_stored_weights_need_a_sparse_x():
    X, _, _, _ = _problem(17)
    with pytest.raises(InvalidParameterError, match=r"weights='stored'.*X is dense"):
        nmf(X, 3, weights="stored")
    with pytest.raises(InvalidParameterError, match=r"weights='observed'"):
        nmf(sp.csr_matrix(X), 3, weights="observed")


# ---- sparse, observed entries only ------------------------------------------------------------
@pytest.mark.parametrize("beta,solver", [(1.0, "mu"), (2.0, "mu"), (2.0, "hals"), (0.5, "mu")])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_observed_only_equals_the_dense_masked_fit(beta, solver, fmt):
    rng = np.random.default_rng(18)
    m, n, k = 30, 45, 3
    X = sp.random(m, n, density=0.25, random_state=18, format=fmt,
                  data_rvs=lambda s: rng.random(s) + 0.1)
    W = rng.random((m, k)) + 0.1
    H = rng.random((k, n)) + 0.1
    dense = X.toarray()
    mask = (X != 0).toarray().astype(float)
    dense[mask == 0] = np.nan
    kw = dict(W=W, H=H, beta=beta, solver=solver, max_iter=40, tol=0, alpha_H=0.01,
              l1_ratio=0.3)
    ref = nmf(dense, weights=mask, **kw)
    obs = nmf(X, weights="stored", **kw)
    assert_allclose(obs.W, ref.W, rtol=1e-10, atol=1e-12)
    assert_allclose(obs.H, ref.H, rtol=1e-10, atol=1e-12)
    assert_allclose(obs.history, ref.history, rtol=1e-10)
    # general sparse weights on a dense X: the same fit
    Vs = sp.csr_matrix(mask * 1.0)
    assert_allclose(nmf(np.nan_to_num(dense), weights=Vs, **kw).W, ref.W, rtol=1e-10,
                    atol=1e-12)


def test_observed_only_never_forms_a_dense_array():
    # 100k x 100k with 1M stored entries: dense float64 would be 80 GB
    rng = np.random.default_rng(19)
    m = n = 100_000
    nnz = 1_000_000
    rows = rng.integers(0, m, nnz)
    cols = rng.integers(0, n, nnz)
    X = sp.csr_matrix((rng.random(nnz) * 4 + 1, (rows, cols)), shape=(m, n))
    k = 5
    tracemalloc.start()
    try:
        res = nmf(X, k, beta="kl", weights="stored", init="random", max_iter=3, tol=0, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stored = X.nnz
    budget = 20 * stored * 8 + 20 * (m + n) * k * 8   # O(nnz + (features + samples) k)
    assert peak < budget, f"peak {peak / 2**20:.0f} MiB"
    assert res.history[-1] < res.history[0]
    assert res.W.shape == (m, k)


@pytest.mark.parametrize("beta,solver", [(b, "mu") for b in BETAS] + [(2.0, "hals")])
def test_complement_path_equals_the_generic_path(beta, solver, monkeypatch):
    # a 0/1 mask with 20% zeros takes the sparse-complement kernels; a threshold of 0 forces
    # the generic ones (two more GEMMs): the same fit to rounding
    from matfit.factorize import _wdata

    X, V, W, H = _problem(20, m=25, n=30, missing=0.2, binary=True)
    X[V == 0] = np.nan
    kw = dict(W=W, H=H, beta=beta, solver=solver, weights=V, max_iter=30, tol=0,
              alpha_W=0.01, l1_ratio=0.5, fixed_W_columns=[1],
              em=False if beta in (1, 2) else None)  # the weighted updates' two forms
    fast = nmf(X, **kw)
    monkeypatch.setattr(_wdata.DenseData, "COMPLEMENT_SHARE", -1.0)
    slow = nmf(X, **kw)
    assert_allclose(fast.W, slow.W, rtol=1e-10, atol=1e-13)
    assert_allclose(fast.history, slow.history, rtol=1e-10)


def test_no_weights_never_touches_the_weighted_code(monkeypatch):
    from matfit.factorize import _wdata, _weighted

    def refuse(*args, **kwargs):
        raise AssertionError("weights=None must take the unweighted path")

    monkeypatch.setattr(_wdata, "make_data", refuse)
    monkeypatch.setattr(_weighted.WeightedFit, "__init__", refuse)
    X, *_ = _problem(21)
    for kw in (dict(beta=1), dict(beta=2, solver="hals"), dict(beta=0.5)):
        assert nmf(X, 3, max_iter=5, tol=0, seed=0, **kw).nit == 5
    with pytest.raises(AssertionError, match="unweighted path"):
        nmf(X, 3, weights=np.ones_like(X))


@pytest.mark.parametrize("module", ["_weighted", "_wdata", "_rank", "imputer"])
def test_docstring_examples_of_the_missing_entry_modules_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"matfit.factorize.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize(("solver", "beta"), [("mu", 2), ("mu", "kl"), ("hals", 2)])
def test_kernels_split_over_threads_give_the_serial_result_bit_for_bit(solver, beta,
                                                                         monkeypatch):
    # the compiled kernels run on contiguous column ranges in a thread pool: every column is
    # written by one thread in the serial order, so any split gives the same bits as none, and
    # both equal the NumPy forms (an X-sized W @ H) to rounding; uneven ranges on purpose
    from matfit.factorize import _wdata, _wkernels

    if _wkernels.kernel("mu_complement") is None:
        pytest.skip("numba is not installed: only the NumPy forms run")
    X, V, W, H = _problem(5, m=37, n=61, k=5, missing=0.2, binary=True)
    X[V == 0] = np.nan
    kw = dict(W=W, H=H, solver=solver, beta=beta, weights=V, max_iter=15, tol=0,
              check_every=1, fixed_W_columns=[0])
    serial = nmf(X, **kw)
    calls = []
    split = _wkernels._split

    def counting(indptr, run, threads):
        calls.append(threads)
        return split(indptr, run, threads)

    monkeypatch.setattr(_wkernels, "SPLIT_MIN", 7)
    monkeypatch.setattr(_wkernels, "kernel_threads", lambda: 3)
    monkeypatch.setattr(_wkernels, "_split", counting)
    threaded = nmf(X, **kw)
    assert calls and set(calls) == {3}, "the kernels were not called with the fit's threads"
    assert_array_equal(threaded.W, serial.W)
    assert_array_equal(threaded.H, serial.H)
    assert_array_equal(threaded.history, serial.history)
    monkeypatch.setattr(_wkernels, "kernel", lambda name: None)
    assert not _wdata.make_data(X, V, 2.0).fast
    plain = nmf(X, **kw)
    assert_allclose(threaded.W, plain.W, rtol=1e-10, atol=1e-13)
    assert_allclose(threaded.H, plain.H, rtol=1e-10, atol=1e-13)


def test_split_ranges_cover_every_column_once_balanced_by_missing_entries(monkeypatch):
    from matfit.factorize import _wkernels

    monkeypatch.setattr(_wkernels, "SPLIT_MIN", 10)
    counts = np.array([0, 50, 0, 0, 10, 10, 10, 10, 0, 5, 5, 0])   # 100 missing entries
    indptr = np.concatenate([[0], np.cumsum(counts)])
    seen = []
    _wkernels._split(indptr, lambda c0, c1: seen.append((c0, c1)), 4)
    seen.sort()
    assert seen[0][0] == 0 and seen[-1][1] == len(counts)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(seen))  # no gap, no overlap
    assert len(seen) == 4
    # balanced by missing entries, not columns: the heavy column's range holds no other load
    loads = [int(counts[c0:c1].sum()) for c0, c1 in seen]
    assert sum(loads) == 100 and max(loads) <= 50
    seen.clear()
    monkeypatch.setattr(_wkernels, "SPLIT_MIN", 1000)   # too few entries: the calling thread
    _wkernels._split(indptr, lambda c0, c1: seen.append((c0, c1)), 4)
    assert seen == [(0, len(counts))]
    seen.clear()
    monkeypatch.setattr(_wkernels, "SPLIT_MIN", 10)     # one thread: one range
    _wkernels._split(indptr, lambda c0, c1: seen.append((c0, c1)), 1)
    assert seen == [(0, len(counts))]


def test_kernels_split_only_when_blas_runs_on_one_thread(monkeypatch):
    # a multi-threaded OpenBLAS spins on the other cores after every product: the kernels
    # then stay on the calling thread; under threadpool_limits(1) they use every core
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from matfit.factorize import _wkernels

    monkeypatch.setattr(_wkernels, "_threads", lambda: 4)
    blas = [lib for lib in threadpoolctl.threadpool_info() if lib.get("user_api") == "blas"]
    if not blas:
        pytest.skip("threadpoolctl sees no BLAS library")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert _wkernels.kernel_threads() == 4
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        expected = 4 if all(lib["num_threads"] == 1 for lib in threadpoolctl.threadpool_info()
                            if lib.get("user_api") == "blas") else 1
        assert _wkernels.kernel_threads() == expected


# ------------------------------------------------------------------------------ EM (beta = 2)
def _reference_em_iteration(X, V, W, H, solver, l1w, l2w, l1h, l2h, learned):
    """One EM iteration written plainly: the missing entries of X set to the current W @ H,
    then one unweighted step on that filled X: MU (H, then the learned columns of W, entry by
    entry), or HALS (coordinate by coordinate, the exact minimiser, clipped at 0)."""
    m, n = X.shape
    k = W.shape[1]
    W, H = W.copy(), H.copy()
    Y = W @ H
    F = np.array([[X[i, j] if V[i, j] > 0 else Y[i, j] for j in range(n)] for i in range(m)])
    if solver == "kl":  # KL MU on the filled X
        Hn = np.empty_like(H)
        for r in range(k):
            for j in range(n):
                num = sum(W[i, r] * F[i, j] / Y[i, j] for i in range(m))
                Hn[r, j] = H[r, j] * num / (W[:, r].sum() + l1h + l2h * H[r, j])
        Y = W @ Hn
        Wn = W.copy()
        for i in range(m):
            for r in learned:
                num = sum(Hn[r, j] * F[i, j] / Y[i, j] for j in range(n))
                Wn[i, r] = W[i, r] * num / (Hn[r].sum() + l1w + l2w * W[i, r])
        return Wn, Hn
    if solver == "mu":
        Hn = np.empty_like(H)
        for r in range(k):
            for j in range(n):
                num = sum(W[i, r] * F[i, j] for i in range(m))
                den = sum(W[i, r] * (W[i] @ H[:, j]) for i in range(m))
                Hn[r, j] = H[r, j] * num / (den + l1h + l2h * H[r, j])
        Wn = W.copy()
        for i in range(m):
            for r in learned:
                num = sum(Hn[r, j] * F[i, j] for j in range(n))
                den = sum(Hn[r, j] * (W[i] @ Hn[:, j]) for j in range(n))
                Wn[i, r] = W[i, r] * num / (den + l1w + l2w * W[i, r])
        return Wn, Hn
    for t in [*learned, *[c for c in range(k) if c not in learned]]:
        for j in range(n):
            rest = F[:, j] - W @ H[:, j] + W[:, t] * H[t, j]
            curv = W[:, t] @ W[:, t] + l2h
            H[t, j] = max(0.0, (W[:, t] @ rest - l1h) / curv)
    for t in learned:
        for i in range(m):
            rest = F[i] - W[i] @ H + W[i, t] * H[t]
            curv = H[t] @ H[t] + l2w
            W[i, t] = max(0.0, (H[t] @ rest - l1w) / curv)
    return W, H


@pytest.mark.parametrize("solver", ["mu", "hals", "kl"])
@pytest.mark.parametrize("alphas", [(0.0, 0.0, 0.0), (0.02, 0.05, 0.3)])
def test_one_em_iteration_equals_plain_reference(solver, alphas):
    X, V, W, H = _problem(31, m=7, n=9, k=3, missing=0.2, binary=True)
    assert 0 < (V == 0).mean() <= 0.3
    X[V == 0] = np.nan
    alpha_W, alpha_H, l1_ratio = alphas
    m, n = X.shape
    kw = dict(beta="kl") if solver == "kl" else dict(solver=solver)
    # beta = 2 takes EM by default; KL only when asked (see _weighted.uses_em)
    res = nmf(X, W=W, H=H, weights=V, max_iter=1, tol=0, alpha_W=alpha_W,
              alpha_H=alpha_H, l1_ratio=l1_ratio, fixed_W_columns=[1],
              em=True if solver == "kl" else None, **kw)
    Wr, Hr = _reference_em_iteration(np.nan_to_num(X), V, W, H, solver,
                                     alpha_W * l1_ratio * n, alpha_W * (1 - l1_ratio) * n,
                                     alpha_H * l1_ratio * m, alpha_H * (1 - l1_ratio) * m,
                                     learned=[0, 2])
    assert_allclose(res.H, Hr, rtol=1e-11, atol=1e-13)
    assert_allclose(res.W, Wr, rtol=1e-11, atol=1e-13)
    assert_array_equal(res.W[:, 1], W[:, 1])
    # the recorded objective is the weighted one (the filled X adds nothing at the start)
    Xz = np.nan_to_num(X)
    div = (0.5 * float(np.sum(V * (Xz - W @ H) ** 2)) if solver != "kl" else
           float(np.sum(V * _divergence(np.where(V > 0, Xz, 1.0), W @ H, 1.0))))
    pen = (alpha_W * n * (l1_ratio * W.sum() + (1 - l1_ratio) / 2 * (W**2).sum())
           + alpha_H * m * (l1_ratio * H.sum() + (1 - l1_ratio) / 2 * (H**2).sum()))
    assert_allclose(res.history[0], div + pen, rtol=1e-11)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), solver=st.sampled_from(["mu", "hals", "kl"]),
       missing=st.floats(0.02, 0.3), alpha=st.sampled_from([0.0, 0.05]))
def test_em_never_increases_the_weighted_objective(seed, solver, missing, alpha):
    X, V, W, H = _problem(seed, m=9, n=12, k=3, missing=missing, binary=True)
    if not 0 < (V == 0).mean() <= 0.3:  # (the draw's share of missing entries)
        return
    X[V == 0] = np.nan
    kw = dict(beta="kl") if solver == "kl" else dict(solver=solver)
    res = nmf(X, W=W, H=H, weights=V, max_iter=40, tol=0, check_every=1,
              alpha_W=alpha, alpha_H=alpha, l1_ratio=0.5, em=True, **kw)
    h = np.asarray(res.history)
    assert np.all(np.diff(h) <= 1e-12 * np.abs(h[:-1]) + 1e-15), h
    # and each recorded value is the weighted objective of some factors: the last one is
    # the returned factors' (plain NumPy, no shortcut formula)
    Xz, Y = np.nan_to_num(X), res.W @ res.H
    div = (0.5 * float(np.sum(V * (Xz - Y) ** 2)) if solver != "kl" else
           float(np.sum(V * _divergence(np.where(V > 0, Xz, 1.0), Y, 1.0))))
    assert_allclose(res.divergence, div, rtol=1e-9)


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_em_recovers_hidden_entries_of_a_low_rank_matrix(solver):
    # the EM fit's fixed points are the weighted problem's: an exactly rank-3 X with 20% of
    # its entries hidden is recovered there (a check independent of the reference above)
    rng = np.random.default_rng(4)
    X = rng.random((30, 3)) @ rng.random((3, 40))
    hidden = rng.random(X.shape) < 0.2
    Xm = np.where(hidden, np.nan, X)
    res = nmf(Xm, 3, solver=solver, weights=(~hidden).astype(float), max_iter=4000,
              tol=0, seed=0, init="random")
    Y = res.W @ res.H
    assert np.linalg.norm((Y - X)[hidden]) < 1e-3 * np.linalg.norm(X[hidden])


def test_em_and_the_weighted_updates_reach_the_same_objective():
    X, V, W, H = _problem(32, m=20, n=30, k=3, missing=0.15, binary=True)
    X[V == 0] = np.nan
    kw = dict(W=W, H=H, weights=V, max_iter=3000, tol=0, solver="hals")
    em, exact = nmf(X, **kw), nmf(X, em=False, **kw)
    assert_allclose(em.fun, exact.fun, rtol=1e-6)


def test_em_parameter_is_checked():
    X, V, W, H = _problem(33, missing=0.2, binary=True)
    with pytest.raises(InvalidParameterError, match="em must be None, True or False"):
        nmf(X, W=W, H=H, weights=V, em="yes")
    with pytest.raises(InvalidParameterError, match="no weights were given"):
        nmf(X, W=W, H=H, em=True)
    for bad in (dict(weights=V * 0.5 + (V == 0) * 0.0 + 0.0 * V + (V > 0) * 0.25),  # not 0/1
                dict(weights=V, beta=0.5),
                dict(weights=(np.random.default_rng(0).random(V.shape) > 0.5) * 1.0)):  # 50%
        with pytest.raises(InvalidParameterError, match=r"em=True\) needs beta 1 or 2"):
            nmf(X, W=W, H=H, em=True, max_iter=2, **bad)


def test_kl_keeps_the_weighted_updates_unless_em_is_asked_for():
    X, V, W, H = _problem(35, m=10, n=12, k=3, missing=0.2, binary=True)
    X[V == 0] = np.nan
    kw = dict(W=W, H=H, weights=V, beta="kl", max_iter=5, tol=0)
    default, exact, em = nmf(X, **kw), nmf(X, em=False, **kw), nmf(X, em=True, **kw)
    assert_array_equal(default.W, exact.W)
    assert not np.allclose(default.W, em.W)


def test_em_with_a_fixed_factor_only_when_asked():
    # W fixed (a convex, NNLS-like problem): the default keeps the weighted updates, em=True
    # runs EM, and both approach the same activations
    from matfit.factorize import _weighted

    X, V, W, H = _problem(34, m=12, n=15, k=3, missing=0.2, binary=True)
    X[V == 0] = np.nan
    seen = []
    init = _weighted.EMFit.__init__

    def spy(self, *a, **k):
        seen.append(True)
        init(self, *a, **k)

    kw = dict(W=W, H=H, weights=V, update_W=False, max_iter=3000, tol=0, solver="hals")
    import unittest.mock

    with unittest.mock.patch.object(_weighted.EMFit, "__init__", spy):
        default = nmf(X, **kw)
        assert not seen
        asked = nmf(X, em=True, **kw)
        assert seen
    assert_allclose(asked.H, default.H, rtol=1e-5, atol=1e-8)
