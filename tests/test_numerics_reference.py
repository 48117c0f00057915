"""matfit.numerics against references that share no code with it: SciPy, PyTorch and plain
per-element formulas in Python floats, on fixed grids that include the places where a stable
rewrite is easy to get wrong (0, the +-1 region, the float64 and float32 overflow edges), every
axis and keepdims combination, float32 inputs, empty arrays and sparse X."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special as sc
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError, ShapeError
from matfit.numerics import (
    beta_divergence,
    binary_cross_entropy_with_logits,
    cross_entropy_with_logits,
    log_sigmoid,
    log_softmax,
    logsumexp,
    resolve_beta,
    sigmoid,
    softmax,
    softplus,
    xlogy,
)

GRID = np.array([-1e4, -745.0, -80.0, -40.0, -3.0, -1.0, -0.7, -0.5, -1e-8, 0.0, 1e-8, 0.25,
                 0.5, 0.7, 0.99, 1.0, 1.5, 3.0, 40.0, 80.0, 745.0, 1e4])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_elementwise_activations_match_scipy_on_a_grid(dtype):
    x = GRID.astype(dtype)
    ref = GRID.astype(np.float64)
    rtol = 1e-14 if dtype == np.float64 else 2e-6
    for ours, theirs in [(sigmoid, sc.expit), (log_sigmoid, sc.log_expit),
                         (softplus, lambda v: np.logaddexp(0.0, v))]:
        got = ours(x)
        assert got.dtype == dtype, ours.__name__
        want = theirs(ref)
        # compare where the answer is a normal number of the dtype (matfit's sigmoid(-745) is
        # the subnormal e^-745 = 5e-324, SciPy's 0: both are within one subnormal step)
        keep = np.abs(want) > np.finfo(dtype).tiny
        assert_allclose(got[keep], want[keep], rtol=rtol, atol=0, err_msg=ours.__name__)
        assert np.all(np.abs(got[~keep] - want[~keep]) <= np.finfo(dtype).tiny)


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_scipy_for_every_axis_and_keepdims(axis, keepdims):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 5)) * 50
    a[1, 2, :] = -np.inf           # an all -inf slice along the last axis
    got = logsumexp(a, axis=axis, keepdims=keepdims)
    want = sc.logsumexp(a, axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(want)
    assert_allclose(got, want, rtol=1e-13, atol=0)


def test_logsumexp_edge_cases_match_scipy():
    for a in [np.array([]), np.array([np.inf, 0.0]), np.array([-np.inf]), np.array([5.0])]:
        with np.errstate(all="ignore"):
            want = sc.logsumexp(a)
        assert logsumexp(a) == want, a
    assert np.shape(logsumexp(np.zeros((2, 3)), keepdims=True)) == (1, 1)
    assert logsumexp(np.zeros((2, 3)), keepdims=True)[0, 0] == pytest.approx(math.log(6), abs=0)
    x32 = np.array([[1.0, 2.0, 3.0]], np.float32)
    assert logsumexp(x32, axis=1).dtype == np.float32


def _mp_log_softmax(z, axis):
    """log softmax in 40-digit arithmetic (mpmath): the reference SciPy is not (its
    log_softmax loses ~1e-5 relative accuracy on a dominant logit's -3e-12)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    moved = np.moveaxis(np.asarray(z, np.float64), axis, -1)
    out = np.empty(moved.shape)
    for idx in np.ndindex(moved.shape[:-1]):
        row = [mpmath.mpf(float(v)) for v in moved[idx]]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in row))
        out[idx] = [float(v - lse) for v in row]
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_and_log_softmax_match_40_digit_arithmetic_along_any_axis(axis, dtype):
    rng = np.random.default_rng(1)
    z = (rng.standard_normal((4, 6)) * 30).astype(dtype)
    ref = _mp_log_softmax(z, axis)
    rtol = 1e-14 if dtype == np.float64 else 2e-6
    got = log_softmax(z, axis=axis)
    assert got.dtype == dtype and got.shape == z.shape
    assert_allclose(got, ref, rtol=rtol, atol=0)
    got = softmax(z, axis=axis)
    want = np.exp(ref)
    keep = want > np.finfo(dtype).tiny
    assert got.dtype == dtype and got.shape == z.shape
    assert_allclose(got[keep], want[keep], rtol=4 * rtol, atol=0)
    assert_allclose(got.sum(axis=axis), 1.0, rtol=4 * rtol)


def test_xlogy_matches_scipy_and_keeps_float32():
    x = np.array([0.0, 0.0, 1.0, 2.0, 3.5, 1e-300])
    y = np.array([0.0, 2.0, 0.0, 0.5, 7.0, 1e-300])
    with np.errstate(divide="ignore"):
        assert_allclose(xlogy(x, y), sc.xlogy(x, y), rtol=1e-15, atol=0)
    got = xlogy(x.astype(np.float32), y.astype(np.float32))
    assert got.dtype == np.float32
    assert got[0] == 0 and got[1] == 0 and got[2] == -np.inf
    # broadcasting keeps the broadcast shape
    assert xlogy(np.ones((2, 1)), np.full((1, 3), np.e)).shape == (2, 3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    z = np.concatenate([GRID, rng.standard_normal(10) * 5])
    y = rng.random(z.shape)
    got = binary_cross_entropy_with_logits(z, y, reduction=reduction)
    want = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(z), torch.from_numpy(y), reduction=reduction).numpy()
    assert np.shape(got) == np.shape(want)
    assert_allclose(got, want, rtol=1e-12, atol=0)
    assert binary_cross_entropy_with_logits(z.astype(np.float32), y).dtype == np.float32
    with pytest.raises(ShapeError, match=r"targets has shape \(3,\) but logits has shape"):
        binary_cross_entropy_with_logits(z, y[:3])
    with pytest.raises(InvalidParameterError, match=r"reduction must be one of .*got 'MEAN'"):
        binary_cross_entropy_with_logits(z, y, reduction="MEAN")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_40_digits_and_torch_for_indices_probabilities_and_axis_0(reduction):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(3)
    z = rng.standard_normal((7, 4)) * 20
    labels = rng.integers(0, 4, 7)
    probs = rng.dirichlet(np.ones(4), 7)
    # 40-digit references: torch's float64 cross-entropy is off by up to ~4e-8 relative (and
    # gives -0.0 for a true 1.25e-27) where one logit dominates; matfit is not
    logp = _mp_log_softmax(z, -1)
    per_row = -logp[np.arange(7), labels]
    want_idx = {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]
    # and torch, where its own rounding allows
    assert_allclose(cross_entropy_with_logits(z, labels, reduction=reduction),
                    F.cross_entropy(torch.from_numpy(z), torch.from_numpy(labels),
                                    reduction=reduction).numpy(), rtol=1e-7, atol=1e-15)
    # probability targets: -sum p log softmax in 40 digits (torch's own log-softmax loses
    # ~4e-8 relative accuracy where one logit dominates)
    per_row = -(probs * _mp_log_softmax(z, -1)).sum(axis=1)
    want_p = {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]
    assert_allclose(cross_entropy_with_logits(z, labels, reduction=reduction), want_idx,
                    rtol=1e-12, atol=0)
    assert_allclose(cross_entropy_with_logits(z, probs, reduction=reduction), want_p,
                    rtol=1e-12, atol=0)
    # classes along axis 0: the same numbers from the transposed logits
    assert_allclose(cross_entropy_with_logits(z.T, labels, axis=0, reduction=reduction),
                    want_idx, rtol=1e-12, atol=0)
    assert_allclose(cross_entropy_with_logits(z.T, probs.T, axis=0, reduction=reduction),
                    want_p, rtol=1e-12, atol=0)


def test_cross_entropy_errors_name_the_expected_shapes():
    z = np.zeros((5, 3))
    with pytest.raises(ShapeError, match=r"integer class indices of shape \[5\] or one-hot "
                                         r"rows of shape \[5, 3\]; got dtype float64"):
        cross_entropy_with_logits(z, np.zeros(5))
    with pytest.raises(ShapeError, match=r"one-hot labels have shape \(5, 2\)"):
        cross_entropy_with_logits(z, np.zeros((5, 2)))
    with pytest.raises(DataError, match=r"labels must lie in \[0, 2\] for 3 classes; found 3"):
        cross_entropy_with_logits(z, np.array([0, 1, 2, 3, 0]))


def _plain_beta(X, Y, b):
    """sum_ij d_b(x | y), one element at a time in Python floats (Fevotte & Idier, eq. 2)."""
    total = 0.0
    for x, y in zip(np.ravel(X).tolist(), np.ravel(Y).tolist(), strict=True):
        if b == 0:
            total += x / y - math.log(x / y) - 1
        elif b == 1:
            total += (x * math.log(x / y) if x > 0 else 0.0) - x + y
        else:
            total += (x**b + (b - 1) * y**b - b * x * y ** (b - 1)) / (b * (b - 1))
    return total


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_beta_divergence_dense_and_factored_match_the_plain_formula(beta, dtype):
    rng = np.random.default_rng(4)
    W, H = rng.random((6, 2)) + 0.1, rng.random((2, 5)) + 0.1
    X = (rng.random((6, 5)) + 0.05).astype(dtype)
    W, H = W.astype(dtype), H.astype(dtype)
    Y = (W.astype(np.float64) @ H.astype(np.float64))
    want = _plain_beta(X.astype(np.float64), Y, beta)
    rtol = 1e-11 if dtype == np.float64 else 1e-4
    assert beta_divergence(X, W @ H, beta) == pytest.approx(want, rel=rtol, abs=0)
    assert beta_divergence(X, (W, H), beta) == pytest.approx(want, rel=rtol, abs=0)


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("factored", [False, True])
def test_beta_divergence_of_sparse_x_counts_the_implicit_zeros(beta, factored):
    rng = np.random.default_rng(5)
    W, H = rng.random((7, 3)) + 0.1, rng.random((3, 6)) + 0.1
    dense = rng.random((7, 6)) * (rng.random((7, 6)) < 0.4)
    dense[0, 0] = 0.0
    X = sp.csr_matrix(dense)
    X.data[0] = 0.0                    # an explicitly stored zero as well
    dense = X.toarray()
    want = _plain_beta(dense, W @ H, beta)
    got = beta_divergence(X, (W, H) if factored else W @ H, beta)
    assert got == pytest.approx(want, rel=1e-11, abs=0)
    assert beta_divergence(X.tocsc(), (W, H), beta) == pytest.approx(want, rel=1e-11, abs=0)


def test_beta_divergence_of_exact_fit_is_zero_and_errors_are_named():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    for beta in (0.0, 1.0, 2.0, 3.0):
        assert beta_divergence(X, X.copy(), beta) == pytest.approx(0.0, abs=1e-14)
    with pytest.raises(ShapeError, match=r"X has shape \(2, 2\) but WH has shape \(2, 3\)"):
        beta_divergence(X, np.ones((2, 3)), 2)
    with pytest.raises(ShapeError, match="components"):
        beta_divergence(X, (np.ones((2, 3)), np.ones((2, 2))), 2)
    with pytest.raises(DataError, match=r"beta=0 <= 0 .* undefined where X has zeros"):
        beta_divergence(np.array([[0.0, 1.0]]), np.ones((1, 2)), "is")
    with pytest.raises(DataError, match=r"beta=0 <= 0"):
        beta_divergence(sp.csr_matrix(np.array([[0.0, 1.0]])), np.ones((1, 2)), 0)


def test_resolve_beta_names_and_errors():
    assert [resolve_beta(n) for n in ("frobenius", "euclidean", "KL", "kullback-leibler",
                                      "is", "Itakura-Saito")] == [2, 2, 1, 1, 0, 0]
    assert resolve_beta(1.5) == 1.5 and resolve_beta(np.float32(0.5)) == 0.5
    names = r"\['euclidean', 'frobenius', 'is', 'itakura-saito', 'kl', 'kullback-leibler'\]"
    with pytest.raises(InvalidParameterError, match=rf"one of {names}, got 'l2'"):
        resolve_beta("l2")
    with pytest.raises(InvalidParameterError, match=rf"one of {names}, got \[1\]"):
        resolve_beta([1])
    with pytest.raises(InvalidParameterError, match=r"beta must be finite, got inf"):
        resolve_beta(float("inf"))


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_beta_divergence_of_float32_data_accumulates_in_float64(beta, sparse):
    # the same float32 numbers, summed in float64 by the reference. Here matfit is within 3e-9
    # (the float32 terms' own rounding averages out); a float32 accumulator, or a float32
    # X - Y, is off by 2.5e-8 to 3.5e-8. (For the general-beta formula the float32 terms'
    # cancellation alone costs ~1e-7, so it cannot tell the accumulators apart.)
    rng = np.random.default_rng(6)
    X = (rng.random((120, 90)) + 0.5).astype(np.float32)
    Y = (rng.random((120, 90)) + 0.5).astype(np.float32)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    if beta == 2:
        want = 0.5 * np.sum((X64 - Y64) ** 2)
    elif beta == 1:
        want = np.sum(X64 * np.log(X64 / Y64) - X64 + Y64)
    elif beta == 0:
        want = np.sum(X64 / Y64 - np.log(X64 / Y64) - 1)
    else:
        want = np.sum(X64**beta + (beta - 1) * Y64**beta
                      - beta * X64 * Y64 ** (beta - 1)) / (beta * (beta - 1))
    got = beta_divergence(sp.csr_matrix(X) if sparse else X, Y, beta)
    assert got == pytest.approx(want, rel=5e-9, abs=0)


@pytest.mark.parametrize("sparse", [False, True])
def test_beta_divergence_is_infinite_where_the_model_is_zero_and_the_data_is_not(sparse):
    # d(x | 0) = +inf for x > 0 and beta <= 1 (the limit), with no floating-point warning
    # (warnings are errors in this suite)
    X = np.array([[1.0, 2.0]])
    X = sp.csr_matrix(X) if sparse else X
    for beta in (0.0, 0.5, 1.0):
        assert beta_divergence(X, np.array([[0.0, 1.0]]), beta) == np.inf, beta
    # for beta > 1 it is finite: x^b / (b (b - 1)) at y = 0
    assert beta_divergence(X, np.array([[0.0, 2.0]]), 1.5) == pytest.approx(1 / 0.75, rel=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.5, 3.0])
def test_beta_divergence_of_fully_stored_sparse_x_equals_dense(beta):
    # every entry stored and positive (a non-square X): beta <= 0 is allowed, and the general
    # branch must count exactly the entries there are
    rng = np.random.default_rng(7)
    dense = rng.random((4, 9)) + 0.1
    W, H = rng.random((4, 2)) + 0.1, rng.random((2, 9)) + 0.1
    want = _plain_beta(dense, W @ H, beta)
    for WH in (W @ H, (W, H)):
        assert beta_divergence(sp.csr_matrix(dense), WH, beta) == pytest.approx(want, rel=1e-12)
        assert beta_divergence(sp.csr_matrix(dense.T), WH.T if isinstance(WH, np.ndarray)
                               else (H.T, W.T), beta) == pytest.approx(want, rel=1e-12)
    with pytest.raises(DataError, match="undefined where X has zeros"):
        beta_divergence(sp.csr_matrix(dense[:, :-1] * np.eye(4, 8)), np.ones((4, 8)), beta
                        if beta <= 0 else -1.0)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_beta_divergence_of_sparse_x_edge_cases(beta):
    rng = np.random.default_rng(8)
    W, H = rng.random((5, 2)), rng.random((2, 6))
    # no stored entry at all: the divergence is that of X = 0
    empty = sp.csr_matrix((5, 6))
    assert beta_divergence(empty, (W, H), beta) == pytest.approx(
        _plain_beta(np.zeros((5, 6)), W @ H, beta), rel=1e-12)
    # an exact factorisation with zeros in it: 0, not the clip's floor
    W[0], H[:, 0] = 0.0, 0.0
    X = sp.csr_matrix(W @ H)
    assert beta_divergence(X, (W, H), beta) == pytest.approx(0.0, abs=1e-12)


def test_beta_divergence_factors_must_match_x_by_name():
    with pytest.raises(ShapeError, match=r"dimension 'samples' disagrees: X has 4 columns but H "
                                         r"has 5 columns"):
        beta_divergence(np.ones((3, 4)), (np.ones((3, 2)), np.ones((2, 5))), 2)
    with pytest.raises(ShapeError, match=r"dimension 'features' disagrees: X has 3 rows but W "
                                         r"has 2 rows"):
        beta_divergence(sp.csr_matrix(np.ones((3, 4))), (np.ones((2, 2)), np.ones((2, 4))), 1)


def test_xlogy_result_dtype_is_the_promotion_of_both():
    a32, a64 = np.ones(3, np.float32), np.full(3, 2.0)
    assert xlogy(a64, a32).dtype == np.float64
    assert xlogy(a32, a64).dtype == np.float64
    assert xlogy(a32, a32).dtype == np.float32


def test_a_stored_zero_counts_as_a_zero_for_itakura_saito():
    # every entry stored, one of them 0: beta <= 0 is undefined there, as for a dense X
    X = sp.csr_matrix(np.full((3, 4), 2.0))
    X.data[5] = 0.0
    with pytest.raises(DataError, match=r"beta=0 <= 0"):
        beta_divergence(X, np.ones((3, 4)), 0)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_sparse_x_with_factors_never_forms_the_dense_product(beta):
    # 4000 x 4000 with 2000 stored entries: W @ H would be 128 MB; the factored path needs
    # O(nnz k + (features + samples) k)
    import tracemalloc

    rng = np.random.default_rng(9)
    n, nnz, k = 4000, 2000, 3
    X = sp.csr_matrix((rng.random(nnz) + 0.1, (rng.integers(0, n, nnz), rng.integers(0, n, nnz))),
                      shape=(n, n))
    W, H = rng.random((n, k)) + 0.1, rng.random((k, n)) + 0.1
    tracemalloc.start()
    got = beta_divergence(X, (W, H), beta)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8e6, f"peak {peak / 1e6:.1f} MB"
    # the reference, densely (small enough once, outside the measurement)
    dense = X.toarray()
    WH = W @ H
    if beta == 2:
        want = 0.5 * np.sum((dense - WH) ** 2)
    else:
        nz = dense > 0
        want = np.sum(dense[nz] * np.log(dense[nz] / WH[nz])) - dense.sum() + WH.sum()
    assert got == pytest.approx(want, rel=1e-10)


# ---------------------------------------------------------------- float32 input, float64 sums
# Integer-valued float32 data whose every term is exact in float32 but whose total is not (it
# passes 2^24 with odd values): the exact answer comes from Python's integers, and a sum taken
# in float32 would be off by whole units.


def test_float32_frobenius_squares_and_sums_in_float64():
    # X - Y = 4097 everywhere: 4097^2 = 16785409 needs 25 bits (float32 rounds it to ...408)
    X = np.full((64, 64), 4098.0, np.float32)
    Y = np.ones((64, 64), np.float32)
    assert beta_divergence(X, Y, 2) == 0.5 * 64 * 64 * 4097**2


def test_float32_general_beta_sums_in_float64():
    rng = np.random.default_rng(8)
    xi = rng.integers(1, 129, (250, 200))
    yi = rng.integers(1, 129, (250, 200))
    # beta = 3: d = (x^3 + 2 y^3 - 3 x y^2) / 6, each term below 2^24
    want = int(np.sum(xi**3 + 2 * yi**3 - 3 * xi * yi**2)) / 6
    X, Y = xi.astype(np.float32), yi.astype(np.float32)
    assert beta_divergence(X, Y, 3) == pytest.approx(want, rel=1e-15, abs=0)
    # sparse X (the zeros too count, through the y^3 terms) against a dense Y
    xi[rng.random(xi.shape) < 0.5] = 0
    want = int(np.sum(xi**3 + 2 * yi**3 - 3 * xi * yi**2)) / 6
    Xs = sp.csr_matrix(xi.astype(np.float32))
    assert beta_divergence(Xs, Y, 3) == pytest.approx(want, rel=1e-15, abs=0)


@pytest.mark.parametrize("transpose", [False, True])
def test_float32_sparse_kl_of_an_exact_factorisation_is_exactly_zero(transpose):
    # X = W H = 1001 at 20001 entries: sum(x) = sum(WH) = 20021001, odd and above 2^24, so the
    # x-terms and sum(WH) cancel exactly only when both are summed in float64
    W = np.full((20001, 1), 1001.0, np.float32)
    H = np.ones((1, 1), np.float32)
    X = sp.csr_matrix(W @ H)
    if transpose:
        X, W, H = X.T.tocsr(), H.T, W.T
    assert beta_divergence(X, (W, H), 1) == 0.0
