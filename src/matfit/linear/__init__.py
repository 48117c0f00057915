"""Linear models that converge: least squares, ridge, logistic regression, coin-flip likelihoods."""

from ._bayes import BetaPosterior, bernoulli_log_likelihood, beta_binomial_posterior
from ._common import DivergenceError
from ._features import PolynomialFeatures, polynomial_features
from ._logistic import LogisticRegression, logistic_regression
from ._regression import LinearRegression, linear_regression

__all__ = [
    "BetaPosterior",
    "DivergenceError",
    "LinearRegression",
    "LogisticRegression",
    "PolynomialFeatures",
    "bernoulli_log_likelihood",
    "beta_binomial_posterior",
    "linear_regression",
    "logistic_regression",
    "polynomial_features",
]
