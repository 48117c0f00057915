import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.special as sc
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError, ShapeError
from matfit.numerics import (
    beta_divergence,
    binary_cross_entropy_with_logits,
    cross_entropy_with_logits,
    log_sigmoid,
    log_softmax,
    logsumexp,
    sigmoid,
    softmax,
    softplus,
    xlogy,
)

EXTREME = st.one_of(st.floats(-1e4, 1e4), st.sampled_from([-1e4, 1e4, 0.0, -745.0, 710.0]))
vectors = arrays(np.float64, array_shapes(max_dims=3, max_side=6), elements=EXTREME)


def close(a, b):
    # atol only absorbs subnormals: scipy's expit(-710) flushes to 0, ours keeps 4.5e-309
    assert_allclose(a, b, rtol=1e-12, atol=1e-300)


@given(vectors)
def test_sigmoid_family_matches_scipy(z):
    close(sigmoid(z), sc.expit(z))
    close(log_sigmoid(z), sc.log_expit(z))
    close(softplus(z), np.logaddexp(0, z))


@given(vectors)
def test_softmax_family_matches_scipy(z):
    close(logsumexp(z, axis=-1), sc.logsumexp(z, axis=-1))
    # scipy's log_softmax loses ~5e-12 relative on the dominant logit (it takes log(1 + t)
    # rather than log1p(t)); ours is exact there (see test_log_softmax_dominant_logit), so
    # allow scipy's absolute error of a few ulps of 1.
    assert_allclose(log_softmax(z, axis=-1), sc.log_softmax(z, axis=-1), rtol=1e-12, atol=1e-15)
    close(softmax(z, axis=0), sc.softmax(z, axis=0))
    assert_allclose(logsumexp(z), sc.logsumexp(z), rtol=1e-12)


@given(arrays(np.float64, 8, elements=st.floats(0, 1e4)),
       arrays(np.float64, 8, elements=st.floats(0, 1e4)))
def test_xlogy_matches_scipy(x, y):
    close(xlogy(x, y), sc.xlogy(x, y))


def test_log_softmax_dominant_logit_full_precision():
    # -log(1 + e^-11) to 20 digits (mpmath): -1.6701561318393958462e-05
    got = log_softmax(np.array([11.0, 0.0]))[0]
    # abs=0: pytest.approx's default abs=1e-12 would allow ~6e-8 relative error at this value,
    # enough to let log(1 + x) stand in for log1p(x)
    assert got == pytest.approx(-1.6701561318393958462e-05, rel=1e-15, abs=0)


@pytest.mark.parametrize("gap", [40.0, 300.0])
def test_logsumexp_and_log_softmax_keep_tiny_terms(gap):
    # log(1 + e^-gap) = e^-gap to far below float64 rounding (the next term, e^-2gap / 2, is
    # negligible), so the exact answer is e^-gap; log(1 + x) would round it to 0.
    tiny = np.exp(-gap)
    assert logsumexp(np.array([0.0, -gap])) == pytest.approx(tiny, rel=1e-14, abs=0)
    assert log_softmax(np.array([gap, 0.0]))[0] == pytest.approx(-tiny, rel=1e-14, abs=0)


def test_logsumexp_all_minus_inf_is_minus_inf():
    assert logsumexp(np.array([-np.inf, -np.inf])) == -np.inf


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_stays_float32(dtype):
    z = np.array([-1e4, 0, 1e4], dtype=dtype)
    # the values at +-1e4 saturate exactly (every one is representable in float32)
    want = {sigmoid: [0.0, 0.5, 1.0], log_sigmoid: [-1e4, -math.log(2), 0.0],
            softplus: [0.0, math.log(2), 1e4], softmax: [0.0, 0.0, 1.0],
            log_softmax: [-2e4, -1e4, 0.0]}
    rtol = 1e-7 if dtype == np.float32 else 1e-15
    for f, ref in want.items():
        assert f(z).dtype == dtype
        assert_allclose(f(z), ref, rtol=rtol, atol=0)


def reference_bce(z, y):
    # log(1 + e^z) - y z in exact arithmetic via logaddexp
    return np.logaddexp(0, z) - y * z


@given(arrays(np.float64, 10, elements=EXTREME), arrays(np.float64, 10, elements=st.floats(0, 1)))
def test_bce_with_logits_matches_reference(z, y):
    got = binary_cross_entropy_with_logits(z, y, reduction="none")
    assert np.all(np.isfinite(got))
    assert_allclose(got, reference_bce(z, y), rtol=1e-12, atol=1e-12 * np.abs(z).max(initial=1))


def test_cross_entropy_integer_and_one_hot_agree():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((7, 4)) * 1e4
    labels = rng.integers(0, 4, 7)
    ref = -sc.log_softmax(z, axis=1)[np.arange(7), labels]
    close(cross_entropy_with_logits(z, labels, reduction="none"), ref)
    close(cross_entropy_with_logits(z, np.eye(4)[labels], reduction="none"), ref)
    assert_allclose(cross_entropy_with_logits(z, labels), ref.mean(), rtol=1e-12)


def test_cross_entropy_errors():
    z = np.zeros((3, 4))
    with pytest.raises(DataError, match=r"\[0, 3\] for 4 classes; found 4"):
        cross_entropy_with_logits(z, np.array([0, 1, 4]))
    with pytest.raises(ShapeError, match="one-hot"):
        cross_entropy_with_logits(z, np.zeros((4, 3)))
    with pytest.raises(InvalidParameterError, match="reduction"):
        cross_entropy_with_logits(z, np.array([0, 1, 2]), reduction="avg")


def divergence_reference(X, Y, beta):
    """Elementwise definition in long double, summed."""
    X = X.astype(np.longdouble)
    Y = Y.astype(np.longdouble)
    if beta == 0:
        d = X / Y - np.log(X / Y) - 1
    elif beta == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(X > 0, X * np.log(X / Y), 0) - X + Y
    else:
        d = (X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1)) / (beta * (beta - 1))
    return float(d.sum())


@pytest.mark.parametrize("beta", [0, 0.5, 1, 1.5, 2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beta_divergence_dense_and_sparse(beta, seed):
    rng = np.random.default_rng(seed)
    W, H = rng.random((6, 3)) + 0.1, rng.random((3, 5)) + 0.1
    X = rng.random((6, 5)) + 0.05
    if beta > 0:
        X[rng.random(X.shape) < 0.4] = 0  # zeros are allowed for beta > 0
    ref = divergence_reference(X, W @ H, beta)
    assert_allclose(beta_divergence(X, W @ H, beta), ref, rtol=1e-12)
    assert_allclose(beta_divergence(X, (W, H), beta), ref, rtol=1e-12)
    if beta > 0:
        Xs = sp.csr_matrix(X)
        assert_allclose(beta_divergence(Xs, W @ H, beta), ref, rtol=1e-11)
        assert_allclose(beta_divergence(Xs, (W, H), beta), ref, rtol=1e-11)


def test_beta_divergence_names_and_errors():
    X = np.array([[0.0, 1.0]])
    Y = np.array([[1.0, 2.0]])
    assert beta_divergence(X, Y, "frobenius") == pytest.approx(0.5 * 2, rel=1e-15, abs=0)
    assert beta_divergence(X, Y, "kl") == pytest.approx(1 + np.log(0.5) - 1 + 2, rel=1e-15,
                                                        abs=0)
    with pytest.raises(DataError, match="undefined where X has zeros"):
        beta_divergence(X, Y, "is")
    with pytest.raises(InvalidParameterError, match="beta must be"):
        beta_divergence(X, Y, "kld")
    with pytest.raises(ShapeError, match="components"):
        beta_divergence(X, (np.ones((1, 2)), np.ones((3, 2))), 1)


def test_kl_with_zero_model_is_inf_not_nan():
    assert beta_divergence(np.array([[1.0]]), np.array([[0.0]]), 1) == np.inf
