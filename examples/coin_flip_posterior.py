"""Coin flips three ways: Bernoulli likelihood, binomial pmf and the Beta–Binomial posterior.

Question: for k heads in n flips, how do the product of Bernoulli probabilities, the binomial pmf
and a Beta prior's posterior relate, and why does my likelihood come out as exactly 0?

Answer:
* The Bernoulli likelihood of the sequence is L(p) = p^k (1 - p)^(n - k). Multiplied out flip by
  flip it underflows to 0.0 once n is a few thousand; its log, k log p + (n - k) log(1 - p), does
  not.
* The binomial pmf counts the orderings: binom.pmf(k, n, p) = C(n, k) L(p). The factor does not
  depend on p, so both give the same maximum-likelihood estimate k / n and the same posterior.
* With a Beta(alpha, beta) prior the posterior is Beta(alpha + k, beta + n - k) (conjugacy). The
  Beta–Binomial distribution is what the Beta adds to the binomial: betabinom(m, a, b) is the
  predictive distribution of the heads in m further flips under a Beta(a, b) belief about p, and
  betabinom.pmf(k, n, alpha, beta) is the evidence P(k | prior).

Checked: the closed forms against numerical integration on a grid of p (posterior density,
posterior mean, the evidence and the predictive pmf), the MLE against a numerical maximiser, and
``matfit.linear``'s helpers against ``scipy.stats`` when that module is present.
Run: ``python examples/coin_flip_posterior.py`` (under a second).
"""

from __future__ import annotations

import json

import numpy as np
from scipy import integrate, optimize, special, stats

ALPHA, BETA = 2.0, 2.0  # a weak prior, centred on a fair coin
P_TRUE = 0.62


def log_likelihood(p, k, n):
    """log L(p) = k log p + (n - k) log(1 - p), finite for 0 < p < 1 at any n."""
    return special.xlogy(k, p) + special.xlog1py(n - k, -p)


def main() -> dict:
    rng = np.random.default_rng(0)
    flips = (rng.random(5000) < P_TRUE).astype(int)
    summary: dict[str, float] = {}
    grid = np.linspace(0.0, 1.0, 200_001)

    for n in (20, 5000):
        x = flips[:n]
        k = int(x.sum())

        # 1. Bernoulli likelihood: the product underflows, the sum of logs does not
        p_hat = k / n
        product = float(np.prod(np.where(x == 1, p_hat, 1 - p_hat)))
        loglik = float(np.sum(stats.bernoulli.logpmf(x, p_hat)))
        assert np.isclose(loglik, log_likelihood(p_hat, k, n), rtol=1e-12)
        if n >= 5000:
            assert product == 0.0, product  # underflow: exp(-3300) is below 1e-308
        else:
            assert np.isclose(product, np.exp(loglik), rtol=1e-12)

        # 2. binomial pmf = C(n, k) * L(p): the difference of the logs is the same for every p
        ps = np.linspace(0.05, 0.95, 19)
        gap = stats.binom.logpmf(k, n, ps) - log_likelihood(ps, k, n)
        log_choose = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
        assert np.allclose(gap, log_choose, rtol=1e-12, atol=1e-9), gap - log_choose
        mle = optimize.minimize_scalar(lambda p, k=k, n=n: -stats.binom.logpmf(k, n, p),
                                       bounds=(1e-9, 1 - 1e-9), method="bounded",
                                       options={"xatol": 1e-10}).x
        assert abs(mle - p_hat) < 1e-6, (mle, p_hat)

        # 3. posterior: grid (likelihood x prior, normalised) vs the conjugate Beta
        a_post, b_post = ALPHA + k, BETA + n - k
        log_post = log_likelihood(grid, k, n) + stats.beta.logpdf(grid, ALPHA, BETA)
        dens = np.exp(log_post - log_post.max())
        dens /= integrate.trapezoid(dens, grid)
        exact = stats.beta.pdf(grid, a_post, b_post)
        post_err = float(np.max(np.abs(dens - exact)) / exact.max())
        post_mean = float(integrate.trapezoid(grid * dens, grid))
        assert post_err < 1e-6, post_err
        assert abs(post_mean - a_post / (a_post + b_post)) < 1e-8, post_mean

        # evidence: integral of binom.pmf(k | n, p) * Beta(p) dp is the Beta-Binomial pmf at k
        evidence_grid = integrate.trapezoid(
            stats.binom.pmf(k, n, grid) * stats.beta.pdf(grid, ALPHA, BETA), grid)
        evidence = float(stats.betabinom.pmf(k, n, ALPHA, BETA))
        assert np.isclose(evidence_grid, evidence, rtol=1e-6), (evidence_grid, evidence)

        # predictive for m = 10 more flips: integral of binom.pmf(j | m, p) * posterior(p) dp
        m = 10
        j = np.arange(m + 1)
        pred_grid = integrate.trapezoid(stats.binom.pmf(j[:, None], m, grid) * exact, grid,
                                        axis=1)
        pred = stats.betabinom.pmf(j, m, a_post, b_post)
        pred_err = float(np.max(np.abs(pred_grid - pred)))
        assert pred_err < 1e-6, pred_err
        lo, hi = stats.beta.ppf([0.025, 0.975], a_post, b_post)

        print(f"n = {n:5d}, k = {k:5d}: product of Bernoulli pmfs {product:.3e}, "
              f"log-likelihood {loglik:.2f}, log C(n, k) {log_choose:.2f}")
        print(f"  posterior Beta({a_post:g}, {b_post:g}): mean {a_post / (a_post + b_post):.4f}, "
              f"95% interval [{lo:.4f}, {hi:.4f}] (true p {P_TRUE}); grid vs closed form "
              f"{post_err:.1e}")
        print(f"  evidence betabinom.pmf(k; n, {ALPHA:g}, {BETA:g}) = {evidence:.4e}; "
              f"P(>= 6 heads in 10 more) = {pred[6:].sum():.4f}")
        summary.update({
            f"n{n}_heads": k,
            f"n{n}_loglik": loglik,
            f"n{n}_product": product,
            f"n{n}_posterior_mean": a_post / (a_post + b_post),
            f"n{n}_posterior_grid_err": post_err,
            f"n{n}_predictive_err": pred_err,
        })
        if n == 5000:
            assert lo < P_TRUE < hi, (lo, hi)

    summary["matfit_linear_checked"] = _check_matfit_linear(flips)
    return summary


def _check_matfit_linear(flips) -> bool:
    """Compare matfit.linear's helpers with scipy.stats when that module is present."""
    try:
        from matfit.linear import bernoulli_log_likelihood, beta_binomial_posterior
    except ImportError:
        print("matfit.linear's coin-flip helpers are not in this build: scipy.stats only")
        return False
    k, n = int(flips.sum()), flips.size
    # matfit.linear's signatures: bernoulli_log_likelihood(theta, flips) and
    # beta_binomial_posterior(heads, tails, a=1, b=1), whose result carries the posterior mean
    ours = float(bernoulli_log_likelihood(0.6, flips))
    assert np.isclose(ours, np.sum(stats.bernoulli.logpmf(flips, 0.6)), rtol=1e-12), ours
    post = beta_binomial_posterior(k, n - k, a=ALPHA, b=BETA)
    mean = post["mean"] if isinstance(post, dict) else post.mean
    mean = float(mean() if callable(mean) else mean)
    assert np.isclose(mean, stats.beta.mean(ALPHA + k, BETA + n - k), rtol=1e-12), post
    print("matfit.linear's bernoulli_log_likelihood and beta_binomial_posterior agree with scipy")
    return True


if __name__ == "__main__":
    print(json.dumps(main()))
