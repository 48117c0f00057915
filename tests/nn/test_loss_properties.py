"""Hypothesis: the fused losses agree with matfit.numerics' independent forms at any scale."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from matfit.nn import BinaryCrossEntropy, CrossEntropy, MeanSquaredError
from matfit.numerics import (
    binary_cross_entropy_with_logits,
    cross_entropy_with_logits,
    sigmoid,
    softmax,
)

logits = st.integers(1, 6).flatmap(
    lambda n: st.integers(1, 5).flatmap(
        lambda k: arrays(np.float64, (n, k), elements=st.floats(-1e4, 1e4, allow_subnormal=False))))


@settings(max_examples=60, deadline=None)
@given(z=logits, seed=st.integers(0, 2**16))
def test_cross_entropy_matches_numerics_and_its_gradient_is_softmax_minus_onehot(z, seed):
    n, k = z.shape
    y = np.random.default_rng(seed).integers(0, k, n)
    value, grad = CrossEntropy().value_and_grad(z.copy(), y)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert np.isclose(value, cross_entropy_with_logits(z, y), rtol=1e-12, atol=1e-12)
    assert_allclose(grad, (softmax(z, axis=1) - np.eye(k)[y]) / n, rtol=1e-9, atol=1e-15)


@settings(max_examples=60, deadline=None)
@given(z=logits, seed=st.integers(0, 2**16))
def test_binary_cross_entropy_matches_numerics(z, seed):
    y = (np.random.default_rng(seed).random(z.shape) > 0.5).astype(float)
    value, grad = BinaryCrossEntropy().value_and_grad(z.copy(), y)
    assert np.isclose(value, binary_cross_entropy_with_logits(z, y), rtol=1e-12, atol=1e-12)
    assert_allclose(grad, (sigmoid(z) - y) / z.size, rtol=1e-12, atol=1e-300)


@settings(max_examples=30, deadline=None)
@given(z=logits)
def test_mean_squared_error_gradient_is_exact(z):
    y = np.zeros_like(z)
    value, grad = MeanSquaredError().value_and_grad(z.copy(), y)
    assert np.isclose(value, np.mean(z**2), rtol=1e-12)
    assert_allclose(grad, 2 * z / z.size, rtol=1e-15)
