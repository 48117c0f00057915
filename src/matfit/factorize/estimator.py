"""``NMF``: the scikit-learn estimator over :func:`matfit.factorize.nmf`.

The estimator speaks scikit-learn's orientation: ``fit(X)`` takes X (samples, features),
``transform`` returns activations (samples, components) and ``components_`` is
(components, features). :func:`nmf` works on the transpose, X.T (features, samples) ~ W @ H, so
``components_ = W.T`` and ``transform(X) = H.T``. The orientation changes here and nowhere else.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import InvalidParameterError, ShapeError
from .._estimator import (
    BaseEstimator,
    TransformerMixin,
    check_is_fitted,
    feature_names,
    validate_features,
)
from ..shapes import as_float_array
from ._nmf import nmf
from ._weighted import nan_weights

__all__ = ["NMF"]


class NMF(TransformerMixin, BaseEstimator):
    """Non-negative matrix factorisation X (samples, features) ~ W (samples, components) @ H.

    A drop-in for :class:`sklearn.decomposition.NMF` (same orientation, parameter names and
    fitted attributes), fitted by :func:`matfit.factorize.nmf` on ``X.T``.

    Parameters
    ----------
    n_components : int or None
        Number of components; None takes min(n_samples, n_features), or the shape of the W/H
        passed to ``fit``.
    beta_loss : float or {"frobenius", "kullback-leibler", "itakura-saito"} (or "kl", "is")
        The beta-divergence minimised (2, 1, 0, or any float).
    solver : {"mu", "hals"}
        Multiplicative updates (any beta) or HALS (Frobenius only; scikit-learn's "cd" solves
        the same problem with the same sweeps).
    init : {None, "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        As in :func:`matfit.factorize.nmf`; "custom" uses the W and H passed to ``fit``.
    alpha_W : float
        Penalty on the activations W (samples, components), scikit-learn's meaning (it is
        ``alpha_H`` of :func:`nmf`, whose H is this W transposed).
    alpha_H : float or "same"
        Penalty on the components H; "same" copies alpha_W (scikit-learn's default).
    l1_ratio : float in [0, 1]
        Share of L1 in both penalties.
    normalize_components : bool or {"l1", "l2"}
        Keep each component (row of ``components_``) at unit norm, the scale moved into the
        activations.
    max_iter : int
        Maximum iterations of the fit (and of the activations solve in ``transform``).
    tol : float
        The fit stops when the objective fell by less than ``tol`` times its initial value over
        the last 10 iterations.
    random_state : int, numpy Generator or None
        Seed of the initialisation.
    verbose : int
        1 shows a progress bar.

    Attributes
    ----------
    components_ : ndarray, shape (n_components, n_features)
    n_components_ : int
    n_iter_ : int
        Iterations of the joint fit.
    loss_curve_ : ndarray
        The objective at each check of the joint fit (every 10 iterations, and at the end).
    reconstruction_err_ : float
        sqrt(2 * beta-divergence) at the end of the fit, as in scikit-learn (the Frobenius
        norm of X - W H for beta = 2).
    converged_ : bool
        Whether the joint fit met ``tol``.
    stop_reason_ : str
        Why the joint fit stopped.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.

    Notes
    -----
    ``transform(X)`` solves for the activations with the components fixed, from a deterministic
    start (each sample's activations equal sum(x) / sum(components_)), until the relative
    decrease falls below ``tol`` (HALS for the Frobenius loss, MU otherwise).
    ``fit_transform(X)`` fits the components and then runs exactly that solve, from exactly that
    start, so ``fit(X).transform(X)`` equals ``fit_transform(X)`` bit for bit. (scikit-learn's
    ``fit_transform`` returns the joint fit's activations while its ``transform`` restarts MU
    from a constant: the two disagree, its issue #18663.) The price is one activations solve
    after the joint fit; the components and all fitted attributes come from the joint fit.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.factorize import NMF
    >>> X = np.random.default_rng(0).random((50, 12))
    >>> model = NMF(4, beta_loss="kl", max_iter=500, random_state=0).fit(X)
    >>> model.components_.shape, model.transform(X).shape
    ((4, 12), (50, 4))
    """

    def __init__(
        self,
        n_components: int | None = None,
        *,
        beta_loss: float | str = "frobenius",
        solver: str = "mu",
        init: str | None = None,
        alpha_W: float = 0.0,
        alpha_H: float | str = "same",
        l1_ratio: float = 0.0,
        normalize_components: bool | str = False,
        max_iter: int = 200,
        tol: float = 1e-4,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.n_components = n_components
        self.beta_loss = beta_loss
        self.solver = solver
        self.init = init
        self.alpha_W = alpha_W
        self.alpha_H = alpha_H
        self.l1_ratio = l1_ratio
        self.normalize_components = normalize_components
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose

    # ---- helpers -------------------------------------------------------------------------
    def _validate(self, X: Any, *, reset: bool) -> Any:
        names = feature_names(X)
        if getattr(X, "dtype", None) is not None and X.dtype.kind == "O":
            # numbers stored as objects are numbers (scikit-learn's rule); a non-number raises
            # NumPy's TypeError, which names the offending value
            X = np.asarray(X, dtype=np.float64)
        X = as_float_array(X, "X", dims="samples features", sparse=("csr", "csc"),
                           nonnegative=True, purpose="NMF needs X >= 0.",
                           allow_nonfinite=True)  # NaN is missing; nmf() rejects inf
        validate_features(self, X, names, reset=reset)
        return X

    def _alphas(self) -> tuple[float, float]:
        """(alpha_W, alpha_H) of nmf(): its W is our H.T and its H our W.T."""
        alpha_H = self.alpha_W if isinstance(self.alpha_H, str) and self.alpha_H == "same" \
            else self.alpha_H
        if isinstance(alpha_H, str):
            raise InvalidParameterError(
                f"alpha_H must be a number >= 0 or 'same', got {self.alpha_H!r}")
        return alpha_H, self.alpha_W

    def _solve_activations(self, X: Any) -> np.ndarray:
        """Activations (samples, components) of X for the fixed components_.

        The start is deterministic and per sample: every activation of sample j equals
        sum(X[j]) / sum(components_), so that W @ H starts with each sample's total. HALS
        solves the Frobenius case (it is the fastest NNLS sweep), MU the others.
        """
        alpha_nmf_W, alpha_nmf_H = self._alphas()
        W = self.components_.T
        V = nan_weights(X)  # NaN entries are missing
        row_sums = np.asarray(X.sum(axis=1) if V is None else np.nansum(X, axis=1),
                              dtype=np.float64).ravel()
        H0 = np.broadcast_to(row_sums / max(float(W.sum(dtype=np.float64)), 1e-300),
                             (W.shape[1], X.shape[0]))
        res = nmf(X.T, None, beta=self.beta_loss,
                  solver="hals" if self._beta == 2 else "mu",
                  W=W, H=H0, update_W=False, weights=None if V is None else V.T,
                  alpha_W=alpha_nmf_W, alpha_H=alpha_nmf_H, l1_ratio=self.l1_ratio,
                  max_iter=self.max_iter, tol=self.tol, verbose=0)
        return res.H.T

    # ---- the scikit-learn API -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, W: Any = None, H: Any = None) -> NMF:
        """Learn the components of X (samples, features); W/H as in ``fit_transform``."""
        self._fit(X, W, H)
        return self

    def fit_transform(self, X: Any, y: Any = None, W: Any = None, H: Any = None) -> np.ndarray:
        """Learn the components and return the activations W (samples, components).

        Parameters
        ----------
        X : array_like or scipy.sparse matrix, shape (samples, features)
        y : ignored
        W : array_like, shape (samples, components), optional
            Initial activations (with ``init="custom"``, or alone for a random H).
        H : array_like, shape (components, features), optional
            Initial components.
        """
        Xv = self._fit(X, W, H)
        return self._solve_activations(Xv)

    def _fit(self, X: Any, W: Any, H: Any) -> Any:
        from ..numerics import resolve_beta

        self._beta = resolve_beta(self.beta_loss)
        Xv = self._validate(X, reset=True)
        alpha_nmf_W, alpha_nmf_H = self._alphas()
        k = self.n_components
        if k is None and W is None and H is None:
            k = min(Xv.shape)
        V = nan_weights(Xv)  # NaN entries are missing
        res = nmf(Xv.T, k, beta=self.beta_loss, solver=self.solver, init=self.init,
                  weights=None if V is None else V.T,
                  W=None if H is None else np.asarray(H).T,
                  H=None if W is None else np.asarray(W).T,
                  alpha_W=alpha_nmf_W, alpha_H=alpha_nmf_H, l1_ratio=self.l1_ratio,
                  normalize_W=self.normalize_components, max_iter=self.max_iter, tol=self.tol,
                  seed=self.random_state, verbose=self.verbose)
        self.components_ = np.ascontiguousarray(res.W.T)
        self.n_components_ = self.components_.shape[0]
        self.n_iter_ = res.nit
        self.loss_curve_ = res.history
        self.reconstruction_err_ = float(np.sqrt(2 * max(res.divergence, 0.0)))
        self.converged_ = res.status == 0
        self.stop_reason_ = res.message
        return Xv

    def transform(self, X: Any) -> np.ndarray:
        """Activations W (samples, components) of X (samples, features) for the fitted components.

        Solved with the components fixed, to the fit's ``tol`` (see Notes of the class).
        """
        check_is_fitted(self, "components_")
        Xv = self._validate(X, reset=False)
        return self._solve_activations(Xv)

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Data (samples, features) from activations X (samples, components): X @ components_."""
        check_is_fitted(self, "components_")
        Xv = as_float_array(X, "X", dims="samples components", sparse=True)
        if Xv.shape[1] != self.n_components_:
            raise ShapeError(
                f"X has {Xv.shape[1]} columns but the model has {self.n_components_} "
                f"components: inverse_transform takes activations (samples, components)."
            )
        out = Xv @ self.components_
        return np.asarray(out.toarray() if sp.issparse(out) else out)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output names ``nmf0, nmf1, ...``, as scikit-learn's."""
        check_is_fitted(self, "components_")
        return np.asarray([f"nmf{i}" for i in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self):  # pragma: no cover - only with scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True  # NaN entries are missing (weight 0)
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
