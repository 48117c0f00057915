"""The NMF kernels (_hals, _mu, _init) against plain references written here, step by step.

Each reference is the textbook formula in slow, obvious NumPy; float32 cases check that the
kernels do their arithmetic in the input's precision (bit for bit where the operations are the
same) and accumulate sums in float64, where the module notes say so.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg
from numpy.testing import assert_allclose, assert_array_equal

from matfit.factorize import _init, apply_update, h_terms, mm_exponent, sparse_wh, w_terms
from matfit.factorize._hals import hals_rows
from matfit.factorize._init import initialize, missing_factor, randomized_svd


# ---- HALS --------------------------------------------------------------------------------------
def _plain_hals(F, cross, gram, rows=None, l1=0.0, l2=0.0):
    """One Gauss-Seidel sweep, row by row, in F's dtype; returns (F, the per-row gradients)."""
    F = F.copy()
    grads = {}
    for r in range(F.shape[0]) if rows is None else rows:
        g = cross[r] - gram[r] @ F - l1 - l2 * F[r]         # minus the gradient of row r
        grads[r] = (g, F[r].copy())
        hess = float(gram[r, r]) + l2
        if hess > 0:
            F[r] = np.maximum(F[r] + g / hess, 0)
    return F, grads


def _hals_problem(seed, k=4, n=30, m=20, dtype=np.float64):
    rng = np.random.default_rng(seed)
    other = rng.random((m, k))
    X = rng.random((m, n))
    F = rng.random((k, n))
    F[1, ::3] = 0
    cross, gram = other.T @ X, other.T @ other
    return F.astype(dtype), cross.astype(dtype), gram.astype(dtype)


@pytest.mark.parametrize("rows", [None, [3, 0, 2]])
@pytest.mark.parametrize("pen", [(0.0, 0.0), (0.3, 0.0), (0.0, 2.0), (0.2, 0.7)])
def test_hals_sweep_is_the_plain_row_update(rows, pen):
    F, cross, gram = _hals_problem(0)
    ref, _ = _plain_hals(F, cross, gram, rows, *pen)
    ours = F.copy()
    out = hals_rows(ours, cross, gram, rows=rows, l1=pen[0], l2=pen[1])
    assert out is ours                                  # in place, and F (not a norm) comes back
    assert_allclose(ours, ref, rtol=1e-13, atol=1e-15)
    if rows is not None:                                # rows not listed stay bitwise
        assert_array_equal(ours[1], F[1])


@pytest.mark.parametrize("work", [False, True])
def test_hals_float32_sweep_is_float32_arithmetic_bit_for_bit(work):
    # the same float32 operations in the same order: any float64 intermediate changes the bits
    F, cross, gram = _hals_problem(1, k=3, n=2000, dtype=np.float32)
    ref, _ = _plain_hals(F, cross, gram, l1=0.01, l2=0.1)
    ours = F.copy()
    hals_rows(ours, cross, gram, l1=0.01, l2=0.1,
              work=np.empty(F.shape[1], np.float32) if work else None)
    assert ours.dtype == np.float32
    assert_array_equal(ours, ref)


def _plain_violation(grads):
    """l1 norm of the projected gradient, summed exactly (math.fsum)."""
    terms = []
    for g, before in grads.values():
        g = g.astype(np.float64)
        terms += list(np.where(before > 0, np.abs(g), np.maximum(g, 0)))
    return math.fsum(terms)


@pytest.mark.parametrize("rows", [None, [2, 0]])
def test_hals_violation_of_a_float32_sweep_is_summed_in_float64(rows):
    # 3 x 40000 float32 gradients: a float32 sum would be off by ~1e-7 relative
    F, cross, gram = _hals_problem(2, k=3, n=40000, dtype=np.float32)
    ref, grads = _plain_hals(F, cross, gram, rows)
    ours = F.copy()
    violation = hals_rows(ours, cross, gram, rows=rows, measure=True)
    assert isinstance(violation, float)
    assert_array_equal(ours, ref)
    descent = math.fsum(np.maximum(g, 0).astype(np.float64).sum() for g, _ in grads.values())
    assert 0 < descent < violation                       # both parts are present
    assert violation == pytest.approx(_plain_violation(grads), rel=1e-12, abs=0)


# ---- initialisation: randomized SVD ------------------------------------------------------------


def _plain_randomized_svd(X, k, seed, n_oversamples=10):
    """Halko, Martinsson & Tropp (2011), algorithm 4.4, with the documented parameters: p =
    k + n_oversamples columns, 7 power iterations if k < min(X.shape) / 10 else 4."""
    m, n = X.shape
    rng = np.random.default_rng(seed)
    n_iter = 7 if k < 0.1 * min(m, n) else 4
    p = min(k + n_oversamples, min(m, n))
    Q = np.asarray(X @ rng.standard_normal((n, p)).astype(X.dtype))
    for _ in range(n_iter):
        Q = np.linalg.qr(Q)[0]
        Q = np.linalg.qr(np.asarray(X.T @ Q))[0]
        Q = np.asarray(X @ Q)
    Q = np.linalg.qr(Q)[0]
    Ub, s, Vt = np.linalg.svd(np.asarray((X.T @ Q).T), full_matrices=False)
    return (Q @ Ub)[:, :k], s[:k], Vt[:k]


def _gaussian(shape, seed, density=None, scale=1.0):
    """Zero-mean entries: a flat top spectrum, on which a randomized SVD is visibly inexact."""
    rng = np.random.default_rng(seed)
    if density is None:
        return scale * rng.standard_normal(shape)
    return sp.random(*shape, density=density, random_state=seed, format="csr",
                     data_rvs=lambda size: scale * rng.standard_normal(size))


def _assert_svd_equal(got, want, rtol):
    (U, s, Vt), (U0, s0, Vt0) = got, want
    assert U.shape == U0.shape and Vt.shape == Vt0.shape
    assert_allclose(s, s0, rtol=rtol)
    assert_allclose((U * s) @ Vt, (U0 * s0) @ Vt0, rtol=rtol, atol=rtol * s0[0] * 1e-2)


def _exact_svd(X, k):
    U, s, Vt = np.linalg.svd(X.toarray() if sp.issparse(X) else X, full_matrices=False)
    return U[:, :k], s[:k], Vt[:k]


@pytest.mark.parametrize("shape,k", [((300, 200), 5),     # 7 power iterations (k < 20)
                                     ((300, 200), 20),    # 4 at k = 0.1 * min(shape)
                                     ((200, 300), 26),    # 4
                                     ((40, 200), 5),      # just above min(shape) <= 2 (k + 10)
                                     ((31, 150), 5)])
def test_randomized_svd_above_the_lapack_size_is_halkos_algorithm(shape, k):
    X = _gaussian(shape, 0)
    ref = _plain_randomized_svd(X, k, seed=1)
    # the randomized answer is visibly not the exact one here, so the two cannot be confused
    assert np.max(np.abs(ref[1] / _exact_svd(X, k)[1] - 1)) > 1e-6
    _assert_svd_equal(randomized_svd(X, k, rng=np.random.default_rng(1)), ref, rtol=1e-8)


def test_randomized_svd_of_a_sparse_square_x_of_4_million_entries_is_randomized():
    # m * n = 4e6 exactly and min(shape) = 2000 (or 2001): the randomized algorithm, not the Gram
    for shape in ((2000, 2000), (2001, 2001)):
        X = _gaussian(shape, 1, density=0.005)
        ref = _plain_randomized_svd(X, 1, seed=2)
        top = scipy.sparse.linalg.svds(X, k=1, return_singular_vectors=False, tol=1e-12)
        assert abs(ref[1][0] / top[0] - 1) > 1e-6
        _assert_svd_equal(randomized_svd(X, 1, rng=np.random.default_rng(2)), ref, rtol=1e-8)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shape,k", [((30, 200), 5), ((200, 30), 5), ((22, 50), 1)])
def test_randomized_svd_up_to_the_lapack_size_is_exact(sparse, shape, k):
    # min(shape) = 2 (k + 10) (or less): a full LAPACK SVD, exact whatever the spectrum
    X = _gaussian(shape, 2, density=0.5 if sparse else None)
    _assert_svd_equal(randomized_svd(X, k, rng=np.random.default_rng(0)), _exact_svd(X, k),
                      rtol=1e-10)


def test_randomized_svd_of_a_wide_dense_x_is_exact_and_thin():
    # 22 x 200000 (4.4e6 entries): still LAPACK's exact SVD, and only k rows of Vt (a full
    # (200000, 200000) Vt would need 320 GB)
    X = _gaussian((22, 200_000), 3)
    got = randomized_svd(X, 1, rng=np.random.default_rng(0))
    assert got[2].shape == (1, 200_000)
    s0 = np.linalg.svd(X, compute_uv=False)[:1]
    assert_allclose(got[1], s0, rtol=1e-10)


def test_randomized_svd_of_a_wide_sparse_x_returns_a_thin_vt():
    # 2001 x 200000 (a corpus of documents by terms): the randomized route, whose small SVD of
    # Q.T @ X must be thin (a full (200000, 200000) Vt would need 320 GB)
    rng = np.random.default_rng(8)
    X = sp.csr_matrix((rng.standard_normal(4000), (rng.integers(0, 2001, 4000),
                                                   rng.integers(0, 200_000, 4000))),
                      shape=(2001, 200_000))
    U, s, Vt = randomized_svd(X, 1, rng=np.random.default_rng(0))
    assert U.shape == (2001, 1) and Vt.shape == (1, 200_000)
    U0, s0, Vt0 = _plain_randomized_svd(X, 1, seed=0)
    assert_allclose(s, s0, rtol=1e-8)
    assert_allclose(np.abs(U.T @ U0), 1, rtol=1e-8)        # the same vectors, up to sign
    assert_allclose(np.abs(Vt @ Vt0.T), 1, rtol=1e-8)


def _traced_peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("shape,k", [((20, 200_000), 1),   # m n = 4e6: LAPACK, may densify
                                     ((20, 250_000), 3),   # over 4e6: the Gram matrix
                                     ((250_000, 20), 3),
                                     ((41, 97_561), 11)])  # m n = 4e6 + 1, min <= 2 (k + 10)
def test_randomized_svd_of_a_large_sparse_x_is_exact_and_densifies_only_up_to_4e6(shape, k):
    X = _gaussian(shape, 4, density=2e-3)
    dense_bytes = shape[0] * shape[1] * 8
    (U, s, Vt), peak = _traced_peak(lambda: randomized_svd(X, k, rng=np.random.default_rng(0)))
    if shape[0] * shape[1] > 4_000_000:
        # the Gram route holds a few (longer side, k) arrays; densifying X costs more than
        # X's dense size on its own (LAPACK copies it and returns a Vt as large)
        assert peak < dense_bytes, f"peak {peak / 1e6:.1f} MB, dense X {dense_bytes / 1e6} MB"
    _assert_svd_equal((U, s, Vt), _exact_svd(X, k), rtol=1e-8)
    assert_allclose(U.T @ U, np.eye(k), atol=1e-10)


@pytest.mark.parametrize("scale", [1e-4, 1e4])
def test_gram_route_singular_values_of_small_and_large_magnitude(scale):
    X = _gaussian((20, 250_000), 5, density=2e-3, scale=scale)
    got = randomized_svd(X, 3, rng=np.random.default_rng(0))
    _assert_svd_equal(got, _exact_svd(X, 3), rtol=1e-8)
    assert_allclose(got[2] @ got[2].T, np.eye(3), atol=1e-10)   # Vt's rows: unit length


def test_gram_route_of_a_rank_deficient_x_gives_zero_singular_values_and_no_nan():
    X = _gaussian((20, 250_000), 6, density=2e-3).tolil()
    X[2:] = 0                                           # rank 2, three components asked
    _, s, Vt = randomized_svd(X.tocsr(), 3, rng=np.random.default_rng(0))
    assert_allclose(s[:2], _exact_svd(X.tocsr(), 2)[1], rtol=1e-10)
    assert s[2] == 0 and np.isfinite(Vt).all()
    assert_allclose(Vt[2], 0, atol=1e-12)


@pytest.mark.parametrize("shape,k,density", [((300, 200), 5, None), ((30, 200), 5, None),
                                             ((20, 250_000), 3, 2e-3)])
def test_randomized_svd_keeps_float32(shape, k, density):
    X = _gaussian(shape, 7, density=density).astype(np.float32)
    U, s, Vt = randomized_svd(X, k, rng=np.random.default_rng(0))
    assert U.dtype == s.dtype == Vt.dtype == np.float32
    _assert_svd_equal((U, s, Vt), _exact_svd(X.astype(np.float64), k) if density or
                      min(shape) <= 2 * (k + 10) else
                      _plain_randomized_svd(X.astype(np.float64), k, seed=0), rtol=2e-4)


# ---- initialisation: random, NNDSVD and its variants ------------------------------------------
def _positive_low_rank(seed, m=15, n=25, k=4, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * (rng.random((m, k)) @ rng.random((k, n)))


def _sklearn_init(X, k, method):
    """scikit-learn's NNDSVD of X.T (its W is our H.T, its H our W.T)."""
    sk = pytest.importorskip("sklearn.decomposition._nmf")
    Wsk, Hsk = sk._initialize_nmf(X.T, k, init=method, random_state=0)
    return Hsk.T, Wsk.T


@pytest.mark.parametrize("method", ["nndsvd", "nndsvda"])
@pytest.mark.parametrize("scale", [1.0, 1e-12, 1e12])
@pytest.mark.parametrize("k", [4, 6])
def test_nndsvd_is_sklearns_at_every_magnitude(method, scale, k):
    # rank 4 X: both SVDs are exact, so the factors agree to rounding; k = 6 > rank adds
    # singular pairs of (numerically) zero singular value, whose vectors are arbitrary. The
    # 1e-6 threshold below which entries are zeroed is an absolute constant in both: at 1e-12
    # every entry of the factors is below it (nndsvd: all zero, nndsvda: all mean(X)).
    X = _positive_low_rank(0, scale=scale)
    W, H = initialize(X, k, method, rng=np.random.default_rng(0))
    W0, H0 = _sklearn_init(X, k, method)
    assert W.shape == (15, k) and H.shape == (k, 25)
    top = slice(0, 4)     # the pairs of nonzero singular value (the others are arbitrary)
    assert_array_equal(W[:, top] == 0, W0[:, top] == 0)
    assert_array_equal(H[top] == 0, H0[top] == 0)
    assert_allclose(W[:, top], W0[:, top], rtol=1e-8, atol=1e-8 * np.abs(W0).max())
    assert_allclose(H[top], H0[top], rtol=1e-8, atol=1e-8 * np.abs(H0).max())


def test_nndsvd_zeroes_entries_below_eps_as_sklearn_does():
    X = _positive_low_rank(1, scale=1e-10)               # factor entries ~1e-5 .. 1e-8
    for eps in (1e-6, 1e-7):
        W, H = initialize(X, 4, "nndsvd", rng=np.random.default_rng(0), eps=eps)
        sk = pytest.importorskip("sklearn.decomposition._nmf")
        Wsk, Hsk = sk._initialize_nmf(X.T, 4, init="nndsvd", eps=eps)
        assert_array_equal(W == 0, Hsk.T == 0)
        assert 0 < np.mean(W == 0) < 1
        assert_allclose(W, Hsk.T, rtol=1e-8, atol=1e-20)
        assert_allclose(H, Wsk.T, rtol=1e-8, atol=1e-20)


def _plain_nndsvd(X, k, eps=1e-6):
    """Boutsidis & Gallopoulos (2008), figure 1, from NumPy's exact SVD."""
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    W, H = np.zeros((X.shape[0], k)), np.zeros((k, X.shape[1]))
    W[:, 0], H[0] = np.sqrt(s[0]) * np.abs(U[:, 0]), np.sqrt(s[0]) * np.abs(Vt[0])
    for j in range(1, k):
        x, y = U[:, j], Vt[j]
        xp, yp, xn, yn = np.maximum(x, 0), np.maximum(y, 0), np.maximum(-x, 0), np.maximum(-y, 0)
        mp = np.linalg.norm(xp) * np.linalg.norm(yp)
        mn = np.linalg.norm(xn) * np.linalg.norm(yn)
        u, v, sigma = (xp, yp, mp) if mp > mn else (xn, yn, mn)
        W[:, j] = np.sqrt(s[j] * sigma) * u / np.linalg.norm(u)
        H[j] = np.sqrt(s[j] * sigma) * v / np.linalg.norm(v)
    W[W < eps], H[H < eps] = 0, 0
    return W, H


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nndsvd_of_a_full_rank_x_is_the_papers_algorithm(dtype):
    X = np.random.default_rng(2).random((12, 18))
    W, H = initialize(X.astype(dtype), 5, "nndsvd", rng=np.random.default_rng(0))
    W0, H0 = _plain_nndsvd(X, 5)
    assert W.dtype == H.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert_allclose(W, W0, rtol=tol, atol=tol)
    assert_allclose(H, H0, rtol=tol, atol=tol)


def _fixed_svd(monkeypatch, U, s, Vt):
    monkeypatch.setattr(_init, "randomized_svd", lambda X, k, rng: (np.array(U), np.array(s),
                                                                    np.array(Vt)))


def test_nndsvd_leaves_a_pair_without_a_usable_part_at_zero(monkeypatch):
    # a singular pair whose left vector is >= 0 and right vector <= 0 has neither a positive
    # nor a negative part to keep (it happens for rank-deficient X): its component stays zero,
    # and the pairs after it are still used
    U = np.array([[0.6, 1.0, 0.0], [0.8, 0.0, 1.0]])
    Vt = np.array([[0.6, 0.8, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    _fixed_svd(monkeypatch, U, [2.0, 1.0, 0.5], Vt)
    X = np.ones((2, 3))
    W, H = initialize(X, 3, "nndsvd", rng=np.random.default_rng(0))
    assert_allclose(W[:, 0], np.sqrt(2.0) * U[:, 0], rtol=1e-15)
    assert_allclose(H[0], np.sqrt(2.0) * Vt[0], rtol=1e-15)
    assert_array_equal(W[:, 1], 0)
    assert_array_equal(H[1], 0)
    assert_allclose(W[:, 2], np.sqrt(0.5) * U[:, 2], rtol=1e-15)
    assert_allclose(H[2], np.sqrt(0.5) * Vt[2], rtol=1e-15)
    Wa, Ha = initialize(X, 3, "nndsvda", rng=np.random.default_rng(0))   # filled with mean(X)
    assert_array_equal(Wa[:, 1], 1.0)
    assert_array_equal(Ha[1], 1.0)


def test_nndsvd_first_pair_is_the_absolute_value_even_of_mixed_signs(monkeypatch):
    # Boutsidis & Gallopoulos take |u_1|, |v_1| for the leading pair (Perron-Frobenius); with a
    # repeated top singular value (X = I) LAPACK may return a leading pair of mixed signs, whose
    # positive/negative split would keep only half of it
    r = np.sqrt(0.5)
    U = np.array([[r, r], [-r, r]])
    _fixed_svd(monkeypatch, U, [1.0, 1.0], U.T)
    W, H = initialize(np.eye(2), 2, "nndsvd", rng=np.random.default_rng(0))
    assert_allclose(W[:, 0], [r, r], rtol=1e-15)
    assert_allclose(H[0], [r, r], rtol=1e-15)


def test_nndsvd_keeps_an_entry_of_exactly_eps(monkeypatch):
    # "entries below eps are set to zero" (strictly below, as scikit-learn's W[W < eps] = 0)
    u = np.array([1e-6, np.sqrt(1 - 1e-12)])
    v = np.array([np.sqrt(1 - 1e-12), 1e-6])
    _fixed_svd(monkeypatch, u[:, None], [1.0], v[None, :])
    W, H = initialize(np.ones((2, 2)), 1, "nndsvd", rng=np.random.default_rng(0), eps=1e-6)
    assert W[0, 0] == 1e-6 and H[0, 1] == 1e-6
    W, H = initialize(np.ones((2, 2)), 1, "nndsvd", rng=np.random.default_rng(0), eps=1.1e-6)
    assert W[0, 0] == 0 and H[0, 1] == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nndsvdar_fills_nndsvds_zeros_with_small_random_values(dtype):
    X = np.random.default_rng(3).random((12, 18)).astype(dtype)
    W0, H0 = initialize(X, 5, "nndsvd", rng=np.random.default_rng(0))
    W, H = initialize(X, 5, "nndsvdar", rng=np.random.default_rng(4))
    assert W.dtype == H.dtype == dtype
    zw, zh = W0 == 0, H0 == 0
    assert zw.any() and zh.any()
    avg = X.astype(np.float64).mean()
    draws = np.random.default_rng(4)           # W's zeros are filled first, then H's
    Wr = np.where(zw, 0, W0).astype(np.float64)
    Hr = np.where(zh, 0, H0).astype(np.float64)
    Wr[zw] = np.abs(avg * draws.standard_normal(int(zw.sum())) / 100)
    Hr[zh] = np.abs(avg * draws.standard_normal(int(zh.sum())) / 100)
    tol = 1e-12 if dtype == np.float64 else 1e-6
    assert_allclose(W, Wr, rtol=tol)
    assert_allclose(H, Hr, rtol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sparse", [False, True])
def test_random_init_is_scaled_normal_draws_h_first(dtype, sparse):
    # scikit-learn's rule: |N(0, 1)| * sqrt(mean(X) / k), H drawn first (its W is our H.T)
    X = np.random.default_rng(5).random((12, 18)) * 3.0
    X[X < 0.5] = 0
    Xin = (sp.csr_matrix(X) if sparse else X).astype(dtype)
    W, H = initialize(Xin, 4, "random", rng=np.random.default_rng(6))
    draws = np.random.default_rng(6)
    scale = np.sqrt(X.mean() / 4)
    H0 = np.abs(scale * draws.standard_normal((4, 18)))
    W0 = np.abs(scale * draws.standard_normal((12, 4)))
    assert W.dtype == H.dtype == dtype
    tol = 1e-13 if dtype == np.float64 else 1e-6
    assert_allclose(H, H0, rtol=tol)
    assert_allclose(W, W0, rtol=tol)


@pytest.mark.parametrize("sparse", [False, True])
def test_random_init_of_large_float32_x_takes_the_mean_in_float64(sparse):
    # 400 entries of 3e36: their float32 sum overflows to inf, their mean does not (and
    # ||X||_2 = 6e37 is still a float32)
    X = np.full((20, 20), 3e36, dtype=np.float32)
    W, H = initialize(sp.csr_matrix(X) if sparse else X, 2, "random",
                      rng=np.random.default_rng(0))
    draws = np.random.default_rng(0)
    scale = np.sqrt(3e36 / 2)
    assert_allclose(H, np.abs(scale * draws.standard_normal((2, 20))), rtol=1e-6)
    assert_allclose(W, np.abs(scale * draws.standard_normal((20, 2))), rtol=1e-6)
    Wa, Ha = initialize(X, 1, "nndsvda", rng=np.random.default_rng(0))
    assert_allclose(Wa.astype(np.float64) @ Ha, X, rtol=1e-5)  # rank 1: exact


# ---- initialisation: the factor that goes with a given one ------------------------------------
def _plain_missing(X, given, which, seed):
    m, n = X.shape
    k = given.shape[1] if which == "H" else given.shape[0]
    F = np.abs(np.random.default_rng(seed).standard_normal((k, n) if which == "H" else (m, k)))
    F = F.astype(X.dtype)
    G = given.astype(np.float64)
    W, H = (G, F.astype(np.float64)) if which == "H" else (F.astype(np.float64), G)
    current = math.fsum(W.sum(axis=0) * H.sum(axis=1))    # = sum(W @ H)
    target = math.fsum(np.asarray(X.sum(axis=0), dtype=np.float64).ravel())
    return F * F.dtype.type(target / current)


@pytest.mark.parametrize("which", ["H", "W"])
@pytest.mark.parametrize("scale", [1.0, 1e-12, 1e12])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_missing_factor_makes_the_mean_of_wh_the_mean_of_x(which, scale, dtype):
    rng = np.random.default_rng(7)
    X = (rng.random((30, 40)) * scale).astype(dtype)
    given = rng.random((30, 3)) if which == "H" else rng.random((3, 40))
    given = (given * 1e-3 * scale).astype(dtype)           # a dictionary of its own scale
    F = missing_factor(X, given, which, rng=np.random.default_rng(8))
    assert F.dtype == dtype and F.shape == ((3, 40) if which == "H" else (30, 3))
    assert_allclose(F, _plain_missing(X, given, which, 8), rtol=4e-7 if dtype == np.float32
                    else 1e-13)
    W, H = (given, F) if which == "H" else (F, given)
    assert_allclose((W.astype(np.float64) @ H).mean(), X.astype(np.float64).mean(),
                    rtol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("which", ["H", "W"])
def test_missing_factor_beside_a_huge_float32_dictionary_sums_in_float64(which):
    # columns of 1e36 summed over 1000 features overflow float32 (max 3.4e38)
    X = np.random.default_rng(9).random((1000, 1000)).astype(np.float32)
    given = np.full((1000, 2), 1e36, np.float32) if which == "H" else np.full((2, 1000), 1e36,
                                                                                np.float32)
    F = missing_factor(X, given, which, rng=np.random.default_rng(0))
    assert (F > 0).all()
    W, H = (given, F) if which == "H" else (F, given)
    assert_allclose((W.astype(np.float64) @ H).mean(), X.astype(np.float64).mean(), rtol=1e-5)


def test_missing_factor_w_of_many_features_sums_them_in_float64():
    # 100000 features: W's float32 column sums (a row-by-row reduction) would be off by ~2e-6
    rng = np.random.default_rng(11)
    X = rng.random((100_000, 3)).astype(np.float32)
    H = rng.random((2, 3)).astype(np.float32)
    W = missing_factor(X, H, "W", rng=np.random.default_rng(0))
    # what is left: one float32 rounding of the scale (6e-8)
    assert_allclose((W.astype(np.float64) @ H).mean(), X.astype(np.float64).mean(), rtol=2e-7)


def test_missing_factor_of_an_all_zero_x_or_dictionary_stays_unscaled():
    # nothing to match: the |N(0, 1)| draws are kept (a zero factor could never move under MU)
    rng = np.random.default_rng(10)
    X, W = rng.random((6, 5)), rng.random((6, 2))
    draws = np.abs(np.random.default_rng(1).standard_normal((2, 5)))
    assert_array_equal(missing_factor(np.zeros((6, 5)), W, "H", rng=np.random.default_rng(1)),
                       draws)
    assert_array_equal(missing_factor(X, np.zeros((6, 2)), "H", rng=np.random.default_rng(1)),
                       draws)


# ---- MU pieces -------------------------------------------------------------------------------
BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def _mu_problem(seed, m=9, n=11, k=3, scale=1.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = scale * (rng.random((m, n)) + 0.1)
    W = np.sqrt(scale) * (rng.random((m, k)) + 0.2)
    H = np.sqrt(scale) * (rng.random((k, n)) + 0.2)
    return X.astype(dtype), W.astype(dtype), H.astype(dtype)


def _plain_terms(X, W, H, beta, columns=slice(None)):
    """Févotte & Idier (2011), eqs. 4-5: (numer, denom) for H and for the chosen columns of W."""
    X, W, H = (np.asarray(a, dtype=np.float64) for a in (X, W, H))
    Y = np.maximum(W @ H, np.finfo(np.float64).tiny)
    with np.errstate(over="ignore", invalid="ignore"):  # Y**(beta-2) = inf where Y = tiny
        R = np.where(X > 0, X * Y ** (beta - 2), 0.0)
    P = Y ** (beta - 1)
    return (W.T @ R, W.T @ P), (R @ H[columns].T, P @ H[columns].T)


def _full(a, shape):
    return np.broadcast_to(a, shape)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("scale", [1.0, 1e-12, 1e12])
def test_mu_pieces_are_the_papers_formulas(beta, scale):
    X, W, H = _mu_problem(0, scale=scale)
    (nh, dh), (nw, dw) = _plain_terms(X, W, H, beta)
    num, den = h_terms(X, W, H, beta)
    assert_allclose(num, nh, rtol=1e-12)
    assert_allclose(_full(den, num.shape), dh, rtol=1e-12)
    num, den = w_terms(X, W, H, beta)
    assert_allclose(num, nw, rtol=1e-12)
    assert_allclose(_full(den, num.shape), dw, rtol=1e-12)
    # a subset of W's columns: its pieces, for those columns only
    (_, _), (nw2, dw2) = _plain_terms(X, W, H, beta, columns=[0, 2])
    num, den = w_terms(X, W, H, beta, columns=[0, 2])
    assert num.shape == (9, 2)
    assert_allclose(num, nw2, rtol=1e-12)
    assert_allclose(_full(den, num.shape), dw2, rtol=1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_mu_pieces_with_the_callers_buffers(beta):
    # WH may be overwritten; out receives the numerator; work is scratch: same values
    X, W, H = _mu_problem(1)
    (nh, dh), (nw, dw) = _plain_terms(X, W, H, beta)
    for fn, n_ref, d_ref, shape in ((h_terms, nh, dh, (3, 11)), (w_terms, nw, dw, (9, 3))):
        out = np.full(shape, np.nan)
        num, den = fn(X, W, H, beta, WH=W @ H, work=np.full(X.shape, np.nan), out=out)
        assert num is out
        assert_allclose(out, n_ref, rtol=1e-12)
        assert_allclose(_full(den, shape), d_ref, rtol=1e-12)


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("fn", [h_terms, w_terms])
def test_mu_guard_clips_a_zero_product_at_the_smallest_normal(beta, fn):
    # a zero row of W (and of X) makes W @ H exactly 0 there: the guard divides by tiny, not 0
    X, W, H = _mu_problem(2)
    W[4], X[4] = 0.0, 0.0
    (nh, dh), (nw, dw) = _plain_terms(X, W, H, beta)
    num, den = fn(X, W, H, beta)
    n_ref, d_ref = (nh, dh) if fn is h_terms else (nw, dw)
    assert np.isfinite(num).all() and np.isfinite(den).all()
    assert_allclose(num, n_ref, rtol=1e-12)
    assert_allclose(_full(den, num.shape), d_ref, rtol=1e-12)


@pytest.mark.parametrize("beta", BETAS)
@pytest.mark.parametrize("fn", [h_terms, w_terms])
def test_mu_pieces_of_float32_are_float32_and_close_to_float64(beta, fn):
    X, W, H = _mu_problem(3, dtype=np.float32)
    num, den = fn(X, W, H, beta)
    ref = _plain_terms(X, W, H, beta)[0 if fn is h_terms else 1]
    assert num.dtype == den.dtype == np.float32
    assert_allclose(num, ref[0], rtol=2e-5)
    assert_allclose(_full(den, num.shape), ref[1], rtol=2e-5)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("beta", [1.0, 2.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mu_pieces_of_sparse_x_are_the_dense_formulas(fmt, beta, dtype):
    X, W, H = _mu_problem(4, m=14, n=16, dtype=dtype)
    X[np.random.default_rng(4).random(X.shape) < 0.6] = 0
    Xs = sp.csr_matrix(X).asformat(fmt)
    (nh, dh), (nw, dw) = _plain_terms(X, W, H, beta)
    (_, _), (nw2, dw2) = _plain_terms(X, W, H, beta, columns=slice(1, 3))
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for fn, kw, n_ref, d_ref in ((h_terms, {}, nh, dh), (w_terms, {}, nw, dw),
                                 (w_terms, {"columns": slice(1, 3)}, nw2, dw2)):
        out = np.full(n_ref.shape, np.nan, dtype=dtype)
        num, den = fn(Xs, W, H, beta, out=out, **kw)
        assert num is out and num.dtype == dtype
        assert_allclose(num, n_ref, rtol=tol)
        assert_allclose(_full(den, num.shape), d_ref, rtol=tol)
        num, den = fn(Xs, W, H, beta, WH=sparse_wh(Xs, W, H), **kw)   # a given product
        assert isinstance(num, np.ndarray) and num.dtype == dtype
        assert_allclose(num, n_ref, rtol=tol)


def test_mu_pieces_of_sparse_x_guard_a_zero_product():
    # row 2 of W is zero and X stores explicit zeros there: 0 / tiny = 0, not 0 / 0 = NaN
    X, W, H = _mu_problem(5)
    W[2] = 0.0
    Xs = sp.csr_matrix(X)
    Xs.data[Xs.indptr[2]:Xs.indptr[3]] = 0.0
    Xd = Xs.toarray()
    R = Xd / np.maximum(W @ H, np.finfo(float).tiny)
    for wh in (None, sparse_wh(Xs, W, H)):
        num, _ = h_terms(Xs, W, H, 1.0, WH=None if wh is None else wh.copy())
        assert np.isfinite(num).all()
        assert_allclose(num, W.T @ R, rtol=1e-12)
        num, _ = w_terms(Xs, W, H, 1.0, WH=None if wh is None else wh.copy())
        assert_allclose(num, R @ H.T, rtol=1e-12)


@pytest.mark.parametrize("fn", [h_terms, w_terms])
@pytest.mark.parametrize("beta", [0.0, 1.5, 3.0])
def test_mu_pieces_of_sparse_x_need_beta_1_or_2(fn, beta):
    X, W, H = _mu_problem(6)
    with pytest.raises(ValueError, match=rf"sparse X is supported for beta in \{{1, 2\}} only, "
                                         rf"got beta={beta:g}; pass X.toarray\(\)"):
        fn(sp.csr_matrix(X), W, H, beta)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_wh_in_chunks_with_out_and_index(fmt):
    # 2000 components: chunks of 1024 stored entries, so 3000 entries take three chunks
    rng = np.random.default_rng(7)
    X = sp.random(60, 100, density=0.5, random_state=7, format=fmt)
    W, H = rng.random((60, 2000)), rng.random((2000, 100))
    coo = X.tocoo()
    order = np.lexsort((coo.col, coo.row)) if fmt == "csr" else np.lexsort((coo.row, coo.col))
    rows, cols = coo.row[order], coo.col[order]
    ref = np.einsum("ij,ji->i", W[rows], H[:, cols])
    assert_allclose(sparse_wh(X, W, H), ref, rtol=1e-12)
    out = np.full(X.nnz, np.nan)
    got = sparse_wh(X, W, H, out=out, index=(rows, cols))
    assert got is out
    assert_allclose(out, ref, rtol=1e-12)
    f4 = np.float32
    assert sparse_wh(X, W.astype(f4), H.astype(f4)).dtype == f4
    assert sparse_wh(X, W.astype(f4), H).dtype == sparse_wh(X, W, H.astype(f4)).dtype == np.float64


def _plain_apply(F, numer, denom, gamma=1.0, l1=0.0, l2=0.0, floor=0.0):
    F = np.asarray(F, dtype=np.float64)
    den = np.maximum(np.asarray(denom, dtype=np.float64) + l1 + l2 * F, np.finfo(np.float64).tiny)
    return np.maximum(F * (np.asarray(numer, dtype=np.float64) / den) ** gamma, floor)


@pytest.mark.parametrize("gamma", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("pen", [(0.0, 0.0), (0.3, 0.0), (0.0, 0.7), (0.2, 0.5)])
@pytest.mark.parametrize("floor", [0.0, 0.05])
def test_apply_update_is_the_multiplicative_step(gamma, pen, floor):
    rng = np.random.default_rng(8)
    F, numer, denom = rng.random((5, 6)), rng.random((5, 6)), rng.random((5, 6)) + 0.1
    numer[0, 0] = 0.0                                   # an entry MU sends to 0: floored
    numer[1, 1] = denom[1, 1] = 0.0                     # a zero denominator: clipped, not here
    ref = _plain_apply(F, numer, denom, gamma, *pen, floor)
    den0 = denom.copy()
    ours = F.copy()
    assert apply_update(ours, numer.copy(), denom, gamma=gamma, l1=pen[0], l2=pen[1],
                        floor=floor) is ours
    assert_allclose(ours, ref, rtol=1e-14)
    assert_array_equal(denom, den0)                     # denom is kept unless overwrite_denom
    assert ours[0, 0] == floor


def test_apply_update_clips_a_zero_denominator_and_keeps_the_callers():
    # a component that touches nothing: numer = denom = 0 gives 0, not NaN; the caller's
    # denominator (a broadcast row, as for KL) is left as it was
    F = np.full((4, 3), 2.0)
    numer = np.ones((4, 3))
    numer[:, 1] = 0.0
    denom = np.array([[1.0, 0.0, 4.0]])
    for overwrite in (False, True):
        den = denom.copy()
        ours = apply_update(F.copy(), numer.copy(), den, overwrite_denom=overwrite)
        assert_allclose(ours, _plain_apply(F, numer, denom), rtol=1e-15)
        assert np.isfinite(ours).all()
        if not overwrite:
            assert_array_equal(den, denom)


@pytest.mark.parametrize("overwrite", [False, True])
def test_apply_update_of_float32_with_a_float64_denominator(overwrite):
    rng = np.random.default_rng(9)
    F = rng.random((5, 6)).astype(np.float32)
    numer = rng.random((5, 6)).astype(np.float32)
    denom = rng.random((5, 6)) + 0.1                    # float64, e.g. summed chunk pieces
    denom[1, 1] = 0.0
    den0 = denom.copy()
    ours = apply_update(F.copy(), numer.copy(), denom, overwrite_denom=overwrite)
    assert ours.dtype == np.float32
    # in float32 arithmetic: the denominator is cast to float32 first and clipped at float32's
    # tiny (1e-38, not float64's 2e-308), then the same float32 operations, bit for bit
    den32 = np.maximum(denom.astype(np.float32), np.finfo(np.float32).tiny)
    assert_array_equal(ours, F * (numer / den32))
    assert_array_equal(denom, den0)                     # another dtype: never written to


def test_apply_update_of_tiny_values_uses_the_dtypes_smallest_normal():
    # the step of X * 1e-30 (float64): denominators ~1e-20 must not be clipped at any constant
    F = np.full((2, 2), 1e-10)
    numer = np.array([[2e-20, 1e-20], [3e-20, 0.0]])
    denom = np.array([[1e-20, 1e-20], [1e-20, 0.0]])
    ours = apply_update(F.copy(), numer.copy(), denom.copy())
    assert_allclose(ours, [[2e-10, 1e-10], [3e-10, 0.0]], rtol=1e-14)
    F32 = F.astype(np.float32)
    ours = apply_update(F32.copy(), numer.astype(np.float32) * 1e10, denom.astype(np.float32)
                        * 1e10)
    assert_allclose(ours, [[2e-10, 1e-10], [3e-10, 0.0]], rtol=1e-6)


def test_mm_exponent_at_the_boundaries_of_its_three_ranges():
    assert mm_exponent(1.0) == 1.0 and mm_exponent(2.0) == 1.0
    assert mm_exponent(0.999) == pytest.approx(1 / 1.001, rel=1e-15, abs=0)
    assert mm_exponent(2.001) == pytest.approx(1 / 1.001, rel=1e-15, abs=0)
    assert mm_exponent(-2.0) == pytest.approx(0.25, rel=1e-15, abs=0)


@pytest.mark.parametrize("beta", [-1.0, 0.0, 0.5, 1.0, 1.5, 3.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_guarded_pieces_ignore_an_entry_no_atom_covers(beta, sparse):
    # a fixed dictionary with an all-zero row (a frequency bin no atom covers) under a loud X
    # there: W @ H is 0 in that row, the guard clips it at float32's smallest normal, and
    # X / tiny overflows; every W entry in that row is 0, so in the limit the row adds
    # nothing to W.T @ R and W.T @ P. Reference: the same pieces without that row, in float64
    # (sparse X: KL only, the beta that allows it)
    if sparse and beta != 1.0:
        pytest.skip("sparse X: beta in {1, 2}")
    rng = np.random.default_rng(4)
    m, n, k = 12, 9, 3
    W = rng.random((m, k)).astype(np.float32) + 0.1
    W[5] = 0.0
    H = rng.random((k, n)).astype(np.float32) + 0.1
    X = rng.random((m, n)).astype(np.float32) + 0.5
    X[5] = 40.0                       # loud where nothing explains it: 40 / 1.2e-38 = inf
    keep = np.arange(m) != 5
    Xa = sp.csr_matrix(X) if sparse else X
    numer, denom = h_terms(Xa, W, H, beta, guard=True)
    assert np.isfinite(numer).all() and np.isfinite(denom).all()
    W8, H8, X8 = W[keep].astype(np.float64), H.astype(np.float64), X[keep].astype(np.float64)
    Y8 = W8 @ H8
    assert_allclose(numer, W8.T @ (X8 * Y8 ** (beta - 2)), rtol=1e-5)
    if beta != 1.0:
        assert_allclose(denom, W8.T @ Y8 ** (beta - 1), rtol=1e-5)
    # the W step's other rows are untouched by the capped row (its own numerator is as large
    # as the loud entry asks: a LEARNED W entry is floored positive, so it never meets a 0)
    with np.errstate(over="ignore"):
        wn, wd = w_terms(Xa, W, H, beta, guard=True)
    assert_allclose(wn[keep], (X8 * Y8 ** (beta - 2)) @ H8.T, rtol=1e-5)
    assert not np.isnan(wn).any() and not np.isnan(wd).any()
