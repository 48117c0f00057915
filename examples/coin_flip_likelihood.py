"""A coin-flip likelihood that underflows to 0, and the same inference in log space.

Question: I compute the likelihood of 5000 coin flips as the product of theta for each head and
1 - theta for each tail, to find the best theta and a posterior. Everything comes out as 0 (and
the log as -inf). What is going on?

Answer:
* theta^k (1 - theta)^(n - k) for n = 5000 is about 10^-3300; the smallest positive double is
  about 10^-308 (10^-324 denormal), so the product underflows to exactly 0 for every theta.
* Work with log L(theta) = k log(theta) + (n - k) log(1 - theta)
  (``matfit.linear.bernoulli_log_likelihood``). Its maximum is at k / n; to normalise it over a
  grid, subtract the maximum before exponentiating (log-sum-exp), never exponentiate it raw.
* With a Beta(a, b) prior the posterior is Beta(a + k, b + n - k) exactly
  (``matfit.linear.beta_binomial_posterior``): mean, credible interval and the probability that
  theta lies in an interval come from ``scipy.stats.beta``, with no grid at all.

Checked: the log-likelihood against ``scipy.stats.bernoulli.logpmf`` summed over flips, the grid
maximum against k / n, and the closed-form posterior (mean, 95% interval, interval probability)
against the normalised grid posterior computed in log space.
Run: ``python examples/coin_flip_likelihood.py`` (under a second).
"""

from __future__ import annotations

import json

import numpy as np
from scipy import stats

from matfit.linear import bernoulli_log_likelihood, beta_binomial_posterior
from matfit.numerics import logsumexp


def main() -> dict:
    rng = np.random.default_rng(7)
    flips = (rng.random(5000) < 0.58).astype(int)
    k, n = int(flips.sum()), flips.size
    theta = np.linspace(1e-6, 1 - 1e-6, 200_001)
    dtheta = theta[1] - theta[0]

    # 1. the naive product underflows at every theta
    with np.errstate(under="ignore"):
        naive = np.array([np.prod(np.where(flips == 1, t, 1 - t)) for t in theta[::20_000]])
    print(f"{k} heads in {n} flips; the naive likelihood on 11 grid points: {naive}")
    assert np.all(naive == 0.0)

    # 2. the log-likelihood is finite and peaks at k / n
    loglik = bernoulli_log_likelihood(theta, flips)
    check = stats.bernoulli.logpmf(flips, 0.58).sum()
    assert np.isclose(bernoulli_log_likelihood(0.58, flips), check, rtol=1e-12)
    mle = float(theta[np.argmax(loglik)])
    print(f"log L is finite ({loglik.max():.2f} at its peak); grid maximum at theta = {mle:.5f}, "
          f"k/n = {k / n:.5f}")
    assert abs(mle - k / n) <= dtheta

    # 3. posterior under a uniform prior: closed form vs the grid, normalised in log space
    post = beta_binomial_posterior(k, n - k, a=1, b=1)
    log_post = loglik + stats.beta.logpdf(theta, 1, 1)
    weights = np.exp(log_post - logsumexp(log_post))  # never exp(log_post) itself: it is 0
    grid_mean = float(weights @ theta)
    cdf = np.cumsum(weights)
    grid_interval = (float(theta[np.searchsorted(cdf, 0.025)]),
                     float(theta[np.searchsorted(cdf, 0.975)]))
    lo, hi = post.credible_interval(0.95)
    p_band = post.prob_between(0.57, 0.59)
    grid_band = float(weights[(theta >= 0.57) & (theta <= 0.59)].sum())
    print(f"posterior Beta({post.a:g}, {post.b:g}): mean {post.mean:.5f} (grid {grid_mean:.5f}); "
          f"95% interval ({lo:.4f}, {hi:.4f}) (grid ({grid_interval[0]:.4f}, "
          f"{grid_interval[1]:.4f})); P(0.57 <= theta <= 0.59) = {p_band:.4f} (grid "
          f"{grid_band:.4f})")
    assert abs(post.mean - grid_mean) < 1e-9
    assert max(abs(lo - grid_interval[0]), abs(hi - grid_interval[1])) <= 2 * dtheta
    assert abs(p_band - grid_band) < 1e-3

    return {"heads": k, "flips": n, "max_log_likelihood": float(loglik.max()), "mle": k / n,
            "posterior_mean": post.mean, "credible_interval_95": [lo, hi],
            "p_theta_in_0.57_0.59": p_band}


if __name__ == "__main__":
    print(json.dumps(main()))
