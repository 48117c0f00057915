"""Coin-flip likelihood and Beta posterior against scipy.stats and numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError
from matfit.linear import bernoulli_log_likelihood, beta_binomial_posterior


def _flips(n, p=0.6, seed=0):
    return (np.random.default_rng(seed).random(n) < p).astype(int)


@pytest.mark.parametrize("n", [1, 20, 5000])
def test_log_likelihood_matches_scipy_bernoulli(n):
    flips = _flips(n)
    theta = np.linspace(0.01, 0.99, 50)
    expected = np.array([scipy.stats.bernoulli.logpmf(flips, t).sum() for t in theta])
    assert_allclose(bernoulli_log_likelihood(theta, flips), expected, rtol=1e-12)
    assert isinstance(bernoulli_log_likelihood(0.3, flips), float)


def test_log_likelihood_does_not_underflow():
    flips = _flips(5000)
    naive = np.prod(np.where(flips == 1, 0.6, 0.4))
    assert naive == 0.0  # the product of 5000 probabilities is below the smallest float
    ours = bernoulli_log_likelihood(0.6, flips)
    k = int(flips.sum())
    assert math.isfinite(ours)
    assert_allclose(ours, k * math.log(0.6) + (5000 - k) * math.log(0.4), rtol=1e-13)
    # the sequence likelihood is the binomial pmf without the count of orderings
    logc = scipy.special.gammaln(5001) - scipy.special.gammaln(k + 1) - \
        scipy.special.gammaln(5000 - k + 1)
    assert_allclose(ours + logc, scipy.stats.binom.logpmf(k, 5000, 0.6), rtol=1e-12)


def test_log_likelihood_at_the_edges():
    assert bernoulli_log_likelihood(0.0, [0, 0, 0]) == 0.0
    assert bernoulli_log_likelihood(1.0, [1, 1]) == 0.0
    assert bernoulli_log_likelihood(0.0, [0, 1]) == -math.inf
    assert bernoulli_log_likelihood(0.5, np.array([True, False])) == 2 * math.log(0.5)
    with pytest.raises(DataError, match=r"only 0 .* and 1"):
        bernoulli_log_likelihood(0.5, [0, 2])
    with pytest.raises(InvalidParameterError, match=r"theta must lie in \[0, 1\]"):
        bernoulli_log_likelihood(1.5, [0, 1])


@pytest.mark.parametrize("heads,tails,a,b", [(3, 7, 1, 1), (3000, 2000, 1, 1), (11, 9, 2, 2),
                                             (0, 5, 0.5, 0.5)])
def test_posterior_matches_scipy_beta_and_integration(heads, tails, a, b):
    post = beta_binomial_posterior(heads, tails, a=a, b=b)
    ref = scipy.stats.beta(a + heads, b + tails)
    assert_allclose(post.mean, ref.mean(), rtol=1e-14)
    assert_allclose(post.std, ref.std(), rtol=1e-12)
    assert_allclose(post.credible_interval(0.9), ref.interval(0.9), rtol=1e-12)
    lo, hi = ref.ppf(0.2), ref.ppf(0.7)
    assert_allclose(post.prob_between(lo, hi), 0.5, rtol=1e-9)
    # the posterior is the normalised likelihood x prior: integrate it on theta directly
    if heads + tails < 100:
        def unnorm(t):
            return math.exp(bernoulli_log_likelihood(t, [1] * heads + [0] * tails)
                            + scipy.stats.beta.logpdf(t, a, b))

        evidence = scipy.integrate.quad(unnorm, 0, 1, epsabs=0, epsrel=1e-11, limit=200)[0]
        assert_allclose(post.log_evidence, math.log(evidence), rtol=1e-8)
        mass = scipy.integrate.quad(unnorm, lo, hi, epsabs=0, epsrel=1e-11)[0] / evidence
        assert_allclose(post.prob_between(lo, hi), mass, rtol=1e-8)


def test_far_tail_probability_is_not_lost_to_cancellation():
    post = beta_binomial_posterior(500, 500)
    p = post.prob_between(0.7, 1.0)
    assert 0 < p < 1e-30
    assert_allclose(p, scipy.stats.beta(501, 501).sf(0.7), rtol=1e-10)
    assert 1.0 - scipy.stats.beta(501, 501).cdf(0.7) == 0.0  # 1 - cdf loses all of it


def test_posterior_validation():
    with pytest.raises(InvalidParameterError, match="heads=-1"):
        beta_binomial_posterior(-1, 3)
    with pytest.raises(InvalidParameterError, match="a=0"):
        beta_binomial_posterior(1, 3, a=0)
    with pytest.raises(InvalidParameterError, match="level"):
        beta_binomial_posterior(1, 3).credible_interval(95)
