"""Polynomial features: every product of at most ``degree`` input features.

The columns come in scikit-learn's order (bias, then degree 1, 2, ... with the feature indices of
each degree in ``itertools.combinations_with_replacement`` order), so a model fitted on either
library's features has the same coefficients.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from .._estimator import BaseEstimator, TransformerMixin
from ._common import check_fitted, check_X

__all__ = ["PolynomialFeatures", "polynomial_features"]


def _combinations(n_features: int, degree: int, interaction_only: bool,
                  include_bias: bool) -> list[tuple[int, ...]]:
    comb = itertools.combinations if interaction_only else itertools.combinations_with_replacement
    start = 0 if include_bias else 1
    return [c for d in range(start, degree + 1) for c in comb(range(n_features), d)]


def polynomial_features(X: np.ndarray, degree: int = 2, *, interaction_only: bool = False,
                        include_bias: bool = True) -> np.ndarray:
    """All monomials of the columns of X up to ``degree``.

    Parameters
    ----------
    X : ndarray, shape (samples, features)
    degree : int >= 0
    interaction_only : bool
        Only products of distinct features (no powers).
    include_bias : bool
        Lead with a column of ones.

    Returns
    -------
    ndarray, shape (samples, outputs)
        Column ``j`` is ``prod(X[:, c] for c in combination j)``.
    """
    X = np.asarray(X, dtype=np.float64)
    combos = _combinations(X.shape[1], degree, interaction_only, include_bias)
    out = np.empty((X.shape[0], len(combos)))
    column = {c: j for j, c in enumerate(combos)}
    for j, c in enumerate(combos):
        if not c:
            out[:, j] = 1.0
        elif len(c) == 1:
            out[:, j] = X[:, c[0]]
        elif c[:-1] in column:  # the same product without its last factor, times that factor
            np.multiply(out[:, column[c[:-1]]], X[:, c[-1]], out=out[:, j])
        else:  # the shorter product is not an output (include_bias=False with degree 1 terms)
            out[:, j] = np.prod(X[:, list(c)], axis=1)
    return out


class PolynomialFeatures(TransformerMixin, BaseEstimator):
    """Polynomial and interaction features, as ``sklearn.preprocessing.PolynomialFeatures``.

    Parameters
    ----------
    degree : int, default 2
        The largest total degree of a monomial.
    interaction_only : bool, default False
        Only products of distinct features.
    include_bias : bool, default True
        Include the constant column (leave it out when the model fits an intercept).

    Attributes
    ----------
    n_features_in_ : int
    n_output_features_ : int
    powers_ : ndarray of int, shape (outputs, features)
        ``powers_[j, i]`` is the exponent of input ``i`` in output ``j``.
    """

    def __init__(self, degree: int = 2, *, interaction_only: bool = False,
                 include_bias: bool = True) -> None:
        self.degree = degree
        self.interaction_only = interaction_only
        self.include_bias = include_bias

    def fit(self, X: Any, y: Any = None) -> PolynomialFeatures:
        """Record the number of input features and the output monomials."""
        if isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer)) or \
                self.degree < 0:
            raise InvalidParameterError(
                f"PolynomialFeatures(degree={self.degree!r}): degree must be an integer >= 0.")
        X = check_X(self, X, reset=True)
        combos = _combinations(X.shape[1], int(self.degree), self.interaction_only,
                               self.include_bias)
        powers = np.zeros((len(combos), X.shape[1]), dtype=np.int64)
        for j, c in enumerate(combos):
            for i in c:
                powers[j, i] += 1
        self.powers_ = powers
        self.n_output_features_ = len(combos)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The monomials of X, shape (samples, n_output_features_)."""
        check_fitted(self, "powers_")
        X = check_X(self, X, reset=False)
        return polynomial_features(X, int(self.degree), interaction_only=self.interaction_only,
                                   include_bias=self.include_bias)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names such as ``"x0^2 x1"`` for each output column."""
        check_fitted(self, "powers_")
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        names = []
        for row in self.powers_:
            terms = [f"{input_features[i]}" + (f"^{p}" if p > 1 else "")
                     for i, p in enumerate(row) if p]
            names.append(" ".join(terms) if terms else "1")
        return np.asarray(names, dtype=object)
