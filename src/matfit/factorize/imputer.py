"""``NMFImputer``: fill missing entries from a low-rank non-negative model, scikit-learn's API.

Implementation notes
--------------------
* Orientation is scikit-learn's: X (samples, features). ``fit`` learns the components
  (components, features) by the weighted NMF of :func:`matfit.factorize.nmf` on ``X.T`` with
  weight 1 at observed and 0 at missing entries; ``transform`` solves each sample's activations
  from its observed features only (the components fixed), and replaces the missing entries by
  the product. Observed entries are returned unchanged.
* Only the samples with a missing entry are solved for in ``transform``. A sample with no
  observed feature has no activations to solve for: it gets the mean activation of the
  training samples that had an observed entry, so its fills are the model's mean sample (the
  column means of X when the model fits X exactly), as scikit-learn's SimpleImputer and
  KNNImputer fill such a sample with the training means. (Zero, the minimum-norm choice, would
  fill it with values far below the data.) A sample whose observed entries are all 0 gets
  zero activations: they fit it best. Features that had no observed entry in ``fit`` are
  ignored when the activations are solved (the model knows nothing of them).
* Like scikit-learn's imputers: ``missing_values`` (NaN or a number), ``copy``,
  ``add_indicator`` (a column per feature that had missing entries in ``fit``) and
  ``keep_empty_features`` (a feature with no observed entry in ``fit`` is dropped, or kept and
  filled with 0).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import (
    ConvergenceWarning,
    DataError,
    DTypeError,
    InvalidParameterError,
    ShapeError,
)
from .._estimator import (
    BaseEstimator,
    TransformerMixin,
    as_2d_float,
    check_is_fitted,
    feature_names,
    validate_features,
)
from ..numerics import resolve_beta
from ._nmf import nmf

__all__ = ["NMFImputer"]


def _missing_mask(X: np.ndarray, missing_values: Any) -> np.ndarray:
    if missing_values is None or (isinstance(missing_values, float) and np.isnan(missing_values)):
        return np.isnan(X)
    return X == missing_values


class _Indicator:
    """The fitted missing-value indicator of an imputer (its ``indicator_``).

    The part of :class:`sklearn.impute.MissingIndicator` (``features="missing-only"``,
    ``error_on_new=False``) that scikit-learn's imputers expose: ``features_`` (the features
    that had missing entries in ``fit``) and ``transform`` (their 0/1 columns, as booleans).
    Kept here so that matfit does not need scikit-learn at run time.
    """

    def __init__(self, missing_values: Any, features: np.ndarray, n_features: int) -> None:
        self.missing_values = missing_values
        self.features_ = features
        self.n_features_in_ = n_features

    def transform(self, X: Any) -> np.ndarray:
        """Boolean array (samples, len(features_)): True where X is missing."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ShapeError(f"X has shape {X.shape}, but the indicator was fitted on "
                             f"{self.n_features_in_} features.")
        return _missing_mask(X, self.missing_values)[:, self.features_]

    def __repr__(self) -> str:
        return f"MissingIndicator(features_={self.features_.tolist()})"


class NMFImputer(TransformerMixin, BaseEstimator):
    """Impute missing entries of a non-negative X (samples, features) with weighted NMF.

    Parameters
    ----------
    n_components : int
        Rank of the model; at most min(n_samples, n_features) is used (``n_components_``).
        :func:`matfit.factorize.choose_rank` picks it from held-out entries.
    missing_values : float or int, default np.nan
        The placeholder of a missing entry.
    beta_loss : float or {"frobenius", "kullback-leibler", "itakura-saito"} (or "kl", "is")
        The divergence fitted on the observed entries (KL suits counts and spectrograms).
    solver : {"auto", "mu", "hals"}
        "auto": HALS for the Frobenius loss, MU otherwise.
    init : {None, "random", "nndsvd", "nndsvda", "nndsvdar"}
        As in :func:`matfit.factorize.nmf` (missing entries are first set to the mean of the
        observed ones).
    alpha_W, alpha_H, l1_ratio
        Penalties as in :class:`matfit.factorize.NMF` (alpha_W on the activations).
    max_iter : int
        Iterations of the fit, and of each activations solve in ``transform``.
    tol : float
        Relative decrease of the objective over 10 iterations that stops a fit.
    random_state : int, Generator or None
    copy : bool
        False fills a float64/float32 C-ordered X in place where possible.
    add_indicator : bool
        Append a 0/1 column per feature that had missing entries during ``fit``.
    keep_empty_features : bool
        Keep (and fill with 0) features that were all missing during ``fit``; they are dropped
        otherwise, as scikit-learn's imputers do.

    Attributes
    ----------
    components_ : ndarray, shape (n_components, n_features)
    n_components_ : int
    n_iter_ : int
    reconstruction_err_ : float
        sqrt(2 * weighted divergence) on the observed entries at the end of the fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    indicator_features_ : ndarray of int
        Features that had missing entries in ``fit`` (the indicator's columns).
    indicator_ : object or None
        With ``add_indicator=True``, the fitted indicator as scikit-learn's imputers expose it:
        ``indicator_.features_`` (equal to ``indicator_features_``) and
        ``indicator_.transform(X)`` (boolean columns, those of
        :class:`sklearn.impute.MissingIndicator`); None otherwise.

    Notes
    -----
    It passes scikit-learn's shared imputer tests (``sklearn/impute/tests/test_common.py``)
    and ``check_estimator``. Deliberate differences from scikit-learn's imputers: X must be
    non-negative where observed (the placeholder ``missing_values`` may be negative, e.g.
    -1); infinite observed entries raise; scipy.sparse X is refused (an unstored entry is a
    zero, not a missing value); and a sample with no observed entry is filled with the
    model's mean sample (the training means when the model fits X).

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.factorize import NMFImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((30, 3)) @ rng.random((3, 12))
    >>> Xm = X.copy(); Xm[rng.random(X.shape) < 0.2] = np.nan
    >>> filled = NMFImputer(3, max_iter=2000, tol=0, random_state=0).fit_transform(Xm)
    >>> bool(np.abs(filled - X).max() < 1e-2)
    True
    """

    def __init__(
        self,
        n_components: int = 5,
        *,
        missing_values: Any = np.nan,
        beta_loss: float | str = "frobenius",
        solver: str = "auto",
        init: str | None = None,
        alpha_W: float = 0.0,
        alpha_H: float | str = "same",
        l1_ratio: float = 0.0,
        max_iter: int = 500,
        tol: float = 1e-5,
        random_state: Any = None,
        copy: bool = True,
        add_indicator: bool = False,
        keep_empty_features: bool = False,
    ) -> None:
        self.n_components = n_components
        self.missing_values = missing_values
        self.beta_loss = beta_loss
        self.solver = solver
        self.init = init
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.copy = copy
        self.add_indicator = add_indicator
        self.keep_empty_features = keep_empty_features

    # ---- helpers -------------------------------------------------------------------------
    def _validate(self, X: Any, *, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        names = feature_names(X)
        if sp.issparse(X):
            raise DTypeError("X is a scipy.sparse matrix, which NMFImputer does not take (sparse "
                             "input is not supported: its unstored entries are not missing): "
                             "pass X.toarray(), or use nmf(X.T, weights='stored').")
        X = as_2d_float(X, "X", who="NMFImputer", allow_nonfinite=True,
                        copy=self.copy or np.asarray(X) is not X)
        validate_features(self, X, names, reset=reset)
        mask = _missing_mask(X, self.missing_values)
        observed = ~mask
        bad = observed & ~np.isfinite(X)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DataError(
                f"X has {int(bad.sum())} infinite (or NaN, with missing_values="
                f"{self.missing_values!r}) entries, the first at X[{i}, {j}] = "
                f"{float(X[i, j])!r}: NMFImputer treats only missing_values as missing; set "
                f"those entries to it.")
        neg = observed & (X < 0)
        if neg.any():
            i, j = np.argwhere(neg)[0]
            raise DataError(
                f"Negative values in data passed to NMFImputer: X has {int(neg.sum())} "
                f"negative observed entries, the first at X[{i}, {j}] "
                f"= {float(X[i, j])!r}; NMF needs X >= 0. Clip with np.maximum(X, 0) or shift "
                f"it.")
        return X, mask

    def _solver(self) -> str:
        if self.solver not in ("auto", "mu", "hals"):
            raise InvalidParameterError(
                f"NMFImputer(solver={self.solver!r}): solver must be one of "
                f"{{'auto', 'hals', 'mu'}}.")
        beta = resolve_beta(self.beta_loss)
        if self.solver == "auto":
            return "hals" if beta == 2 else "mu"
        if self.solver == "hals" and beta != 2:
            raise InvalidParameterError(
                f"NMFImputer(solver='hals', beta_loss={self.beta_loss!r}): HALS minimises the "
                f"Frobenius objective only; use solver='mu' (or 'auto') for other divergences.")
        return self.solver

    def _alphas(self) -> tuple[float, float]:
        alpha_H = self.alpha_W if isinstance(self.alpha_H, str) and self.alpha_H == "same" \
            else self.alpha_H
        if isinstance(alpha_H, str):
            raise InvalidParameterError(
                f"alpha_H must be a number >= 0 or 'same', got {self.alpha_H!r}")
        return alpha_H, self.alpha_W

    # ---- the scikit-learn API -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> NMFImputer:
        """Learn the components from the observed entries of X (samples, features)."""
        X, mask = self._validate(X, reset=True)
        n_samples, n_features = X.shape
        if isinstance(self.n_components, bool) or not isinstance(
                self.n_components, int | np.integer) or self.n_components < 1:
            raise InvalidParameterError(
                f"NMFImputer(n_components={self.n_components!r}): n_components must be an "
                f"int >= 1.")
        k = int(min(self.n_components, n_samples, n_features))
        observed = ~mask
        if not observed.any():
            raise DataError("X has no observed entry: there is nothing to learn from.")
        empty = ~observed.any(axis=0)
        self._empty = empty
        self.indicator_features_ = np.flatnonzero(mask.any(axis=0))
        self.indicator_ = _Indicator(self.missing_values, self.indicator_features_,
                                     n_features) if self.add_indicator else None
        aW, aH = self._alphas()
        Xt = np.where(observed, X, 0).T
        if not Xt.any():
            # every observed entry is 0: the model is zero (nothing for NMF to fit)
            self.components_ = np.zeros((k, n_features), dtype=X.dtype)
            self.n_iter_, self.reconstruction_err_ = 0, 0.0
            self._mean_activation = np.zeros(k, dtype=X.dtype)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = nmf(Xt, k, beta=self.beta_loss, solver=self._solver(), init=self.init,
                          weights=observed.T.astype(X.dtype), alpha_W=aW, alpha_H=aH,
                          l1_ratio=self.l1_ratio, max_iter=self.max_iter, tol=self.tol,
                          seed=self.random_state)
            self.components_ = np.ascontiguousarray(res.W.T)
            # for samples with no observed entry in transform (see the implementation notes)
            seen = observed.any(axis=1)
            self._mean_activation = res.H[:, seen].mean(axis=1, dtype=np.float64).astype(
                X.dtype)
            self.n_iter_ = int(res.nit)
            self.reconstruction_err_ = float(np.sqrt(2 * max(res.divergence, 0.0)))
        self.n_components_ = k
        return self

    def transform(self, X: Any) -> np.ndarray:
        """X (samples, features) with its missing entries replaced by the model's values."""
        check_is_fitted(self, "components_")
        X, mask = self._validate(X, reset=False)
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size:
            X[mask] = 0  # placeholders (NaN or a number) never reach the arithmetic
            # a feature never observed in fit has components the fit never saw (HALS leaves
            # them at their start): its values must not steer the activations
            learned = ~mask[rows] & ~self._empty
            X[rows] = np.where(mask[rows], self._predict(X[rows], learned), X[rows])
        if self.keep_empty_features:
            X[:, self._empty] = np.where(mask[:, self._empty], 0, X[:, self._empty])
            out = X
        elif self._empty.any():
            out = X[:, ~self._empty]
        else:  # the caller's array itself when copy=False (as scikit-learn's imputers)
            out = X
        if self.add_indicator:
            out = np.hstack([out, mask[:, self.indicator_features_].astype(X.dtype)])
        return out

    def _predict(self, X: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """W @ H (samples, features) for these samples, their activations fitted to the
        observed entries with the components fixed."""
        W = self.components_.T.astype(X.dtype)  # (features, components): nmf's orientation
        seen = observed.any(axis=1)
        known = seen & (np.where(observed, X, 0).sum(axis=1) > 0)
        out = np.zeros_like(X)
        out[~seen] = (W @ self._mean_activation.astype(X.dtype))[None, :]
        if not known.any() or not W.any():
            return out
        Xk, Vk = X[known].T, observed[known].T.astype(X.dtype)
        totals = (Xk * Vk).sum(axis=0)
        mass = np.maximum(Vk.T @ W.sum(axis=1), np.finfo(X.dtype).tiny)
        H0 = np.broadcast_to(totals / mass, (W.shape[1], Xk.shape[1]))
        aW, aH = self._alphas()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = nmf(Xk, None, beta=self.beta_loss, solver=self._solver(), W=W, H=H0,
                      update_W=False, weights=Vk, alpha_W=aW, alpha_H=aH,
                      l1_ratio=self.l1_ratio, max_iter=self.max_iter, tol=self.tol)
        out[known] = (res.W @ res.H).T
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The kept input features' names (then ``missingindicator_<name>`` columns)."""
        check_is_fitted(self, "components_")
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        names = np.asarray(input_features, dtype=object)
        if len(names) != self.n_features_in_:
            raise ShapeError(f"input_features has {len(names)} names but the imputer was "
                             f"fitted on {self.n_features_in_} features.")
        kept = names if self.keep_empty_features else names[~self._empty]
        if self.add_indicator:
            ind = [f"missingindicator_{n}" for n in names[self.indicator_features_]]
            kept = np.concatenate([kept, np.asarray(ind, dtype=object)])
        return kept

    def __sklearn_tags__(self):  # pragma: no cover - only with scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
