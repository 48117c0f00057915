"""The coin-flip model: a Bernoulli likelihood in log space and its conjugate Beta posterior.

Implementation notes
--------------------
* The likelihood of a *sequence* of ``n`` flips with ``k`` heads is ``theta^k (1-theta)^(n-k)``:
  for 5000 flips it is about 1e-1500, far below the smallest float (1e-308), so the product of
  ``n`` probabilities underflows to 0 and its log is ``-inf``. In log space it is
  ``k log(theta) + (n-k) log1p(-theta)``, written with ``scipy.special.xlogy``/``xlog1py`` so that
  ``0 * log(0) = 0`` at ``theta`` in {0, 1}. (The binomial pmf adds ``log C(n, k)``, the number of
  sequences with ``k`` heads: it is the likelihood of the *count*, not of the sequence.)
* With a ``Beta(a, b)`` prior the posterior is ``Beta(a + heads, b + tails)`` (conjugacy); its
  mean, equal-tailed credible interval and interval probabilities come from ``scipy.stats.beta``.
  An interval probability is taken from the cdf or the survival function, whichever keeps the
  small tail, so ``P(theta > 0.9)`` for a coin near 0.5 is a tiny number rather than 1 - 1 = 0.
* ``log_evidence`` is the log marginal likelihood of the sequence,
  ``log B(a + heads, b + tails) - log B(a, b)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.special
import scipy.stats

from .._errors import DataError, InvalidParameterError

__all__ = ["BetaPosterior", "bernoulli_log_likelihood", "beta_binomial_posterior"]


def _flips_counts(flips: Any) -> tuple[int, int]:
    f = np.asarray(flips)
    if f.dtype.kind not in "biuf":
        raise DataError(f"flips must be numbers 0/1 (or booleans), got dtype {f.dtype}.")
    if f.size and not np.all((f == 0) | (f == 1)):
        bad = f.ravel()[~((f.ravel() == 0) | (f.ravel() == 1))][0]
        raise DataError(f"flips must hold only 0 (tails) and 1 (heads); found {bad!r}. Encode "
                        f"heads as 1, e.g. flips = (outcomes == 'H').astype(int).")
    heads = int(np.count_nonzero(f))
    return heads, int(f.size) - heads


def bernoulli_log_likelihood(theta: Any, flips: Any) -> Any:
    """Log-likelihood of a sequence of coin flips: ``k log(theta) + (n - k) log(1 - theta)``.

    Parameters
    ----------
    theta : float or ndarray of any shape
        Probability of heads, in [0, 1] (an array evaluates a whole grid at once).
    flips : array_like of 0/1 or bool, any shape
        The observed flips (1 = heads).

    Returns
    -------
    float or ndarray shaped like ``theta``
        Finite for 0 < theta < 1 however many flips (no underflow); ``-inf`` where theta
        rules the data out (theta = 0 with a head, theta = 1 with a tail).

    Examples
    --------
    >>> flips = np.r_[np.ones(3000), np.zeros(2000)]
    >>> float(np.prod(np.where(flips == 1, 0.6, 0.4)))   # the naive product underflows
    0.0
    >>> round(float(bernoulli_log_likelihood(0.6, flips)), 4)
    -3365.0583
    """
    heads, tails = _flips_counts(flips)
    th = np.asarray(theta, dtype=np.float64)
    if np.any(~((th >= 0) & (th <= 1))):
        raise InvalidParameterError(f"theta must lie in [0, 1] (a probability), got values "
                                    f"from {np.nanmin(th)!r} to {np.nanmax(th)!r}.")
    out = scipy.special.xlogy(heads, th) + scipy.special.xlog1py(tails, -th)
    return float(out) if np.ndim(theta) == 0 else out


@dataclass(frozen=True)
class BetaPosterior:
    """The posterior ``Beta(a, b)`` of a coin's probability of heads.

    Attributes
    ----------
    a, b : float
        Posterior parameters (prior a + heads, prior b + tails).
    heads, tails : int
    prior : (float, float)
    """

    a: float
    b: float
    heads: int
    tails: int
    prior: tuple[float, float]

    @property
    def dist(self) -> Any:
        """The frozen ``scipy.stats.beta(a, b)``."""
        return scipy.stats.beta(self.a, self.b)

    @property
    def mean(self) -> float:
        """Posterior mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)

    @property
    def mode(self) -> float:
        """Posterior mode (the MAP estimate); for a, b > 1 it is ``(a - 1) / (a + b - 2)``."""
        if self.a > 1 and self.b > 1:
            return (self.a - 1) / (self.a + self.b - 2)
        return 0.0 if self.a <= self.b else 1.0

    @property
    def std(self) -> float:
        """Posterior standard deviation."""
        s = self.a + self.b
        return math.sqrt(self.a * self.b / (s * s * (s + 1)))

    @property
    def log_evidence(self) -> float:
        """log P(flips) under the prior: ``log B(a, b) - log B(a0, b0)``."""
        a0, b0 = self.prior
        return float(scipy.special.betaln(self.a, self.b) - scipy.special.betaln(a0, b0))

    def credible_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed interval holding ``level`` of the posterior probability."""
        if not 0 < level < 1:
            raise InvalidParameterError(f"credible_interval(level={level!r}): level must lie "
                                        f"strictly between 0 and 1, e.g. 0.95.")
        lo, hi = self.dist.interval(level)
        return float(lo), float(hi)

    def prob_between(self, low: float, high: float) -> float:
        """P(low <= theta <= high) under the posterior (accurate in the far tails too)."""
        if not 0 <= low <= high <= 1:
            raise InvalidParameterError(f"prob_between({low!r}, {high!r}): need "
                                        f"0 <= low <= high <= 1.")
        d = self.dist
        if low >= self.mean:  # both in the upper tail: difference of survival functions
            return float(max(d.sf(low) - d.sf(high), 0.0))
        return float(max(d.cdf(high) - d.cdf(low), 0.0))

    def logpdf(self, theta: Any) -> Any:
        """Posterior log density at ``theta``."""
        return self.dist.logpdf(theta)


def beta_binomial_posterior(heads: int, tails: int, a: float = 1.0,
                            b: float = 1.0) -> BetaPosterior:
    """The posterior of a coin's bias after ``heads`` and ``tails`` with a ``Beta(a, b)`` prior.

    Parameters
    ----------
    heads, tails : int >= 0
    a, b : float > 0
        Prior pseudo-counts (1, 1 is the uniform prior).

    Returns
    -------
    BetaPosterior
        ``Beta(a + heads, b + tails)`` with ``mean``, ``credible_interval(level)``,
        ``prob_between(low, high)``, ``log_evidence`` and the frozen ``dist``.

    Examples
    --------
    >>> post = beta_binomial_posterior(3000, 2000)
    >>> round(post.mean, 5), [round(v, 4) for v in post.credible_interval(0.95)]
    (0.59996, [0.5863, 0.6135])
    """
    for name, value in (("heads", heads), ("tails", tails)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise InvalidParameterError(f"beta_binomial_posterior({name}={value!r}): {name} "
                                        f"must be an integer count >= 0.")
    for name, value in (("a", a), ("b", b)):
        if not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0 or \
                not math.isfinite(value):
            raise InvalidParameterError(f"beta_binomial_posterior({name}={value!r}): the prior "
                                        f"parameter {name} must be a finite number > 0.")
    return BetaPosterior(float(a) + int(heads), float(b) + int(tails), int(heads), int(tails),
                         (float(a), float(b)))
