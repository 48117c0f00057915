"""``NMF``: the scikit-learn estimator over :func:`matfit.factorize.nmf`.

The estimator speaks scikit-learn's orientation: ``fit(X)`` takes X (samples, features),
``transform`` returns activations (samples, components) and ``components_`` is
(components, features). :func:`nmf` works on the transpose, X.T (features, samples) ~ W @ H, so
``components_ = W.T`` and ``transform(X) = H.T``. The orientation changes here and nowhere else;
nmf() is told so (``_voice``), and its messages then name the arrays as the estimator's user
holds them.

scikit-learn parity: ``solver="cd"`` is matfit's HALS (scikit-learn's coordinate descent is the
same sweep, :mod:`._hals`), ``n_components="auto"``/None and ``tol`` mean what they mean in
scikit-learn (its stopping rules, ``nmf(convergence="sklearn")``), and errors carry
scikit-learn's phrases ("Negative values in data passed to NMF", "should have the same dtype as
X", "Array with wrong first dimension passed to NMF (input W)") ahead of matfit's own sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import DataError, DTypeError, InvalidParameterError, ShapeError
from .._estimator import (
    BaseEstimator,
    TransformerMixin,
    check_is_fitted,
    feature_names,
    validate_features,
)
from .._params import nonnegative_number
from ..shapes import as_float_array
from ._nmf import _Voice, nmf
from ._weighted import nan_weights

_ESTIMATOR = _Voice(estimator=True)
_TRANSFORM = _Voice(estimator=True, names={"W": "components_"})  # the fixed factor


def _transpose(F: Any) -> Any:
    """F.T for nmf() (which checks it as the user passed it), lists made arrays first."""
    if F is None:
        return None
    return F.T if hasattr(F, "T") and hasattr(F, "shape") else np.asarray(F).T


_SOLVERS = {"cd": "hals", "hals": "hals", "mu": "mu", "auto": "auto"}

__all__ = ["NMF"]


class NMF(TransformerMixin, BaseEstimator):
    """Non-negative matrix factorisation X (samples, features) ~ W (samples, components) @ H.

    A drop-in for :class:`sklearn.decomposition.NMF` (same orientation, parameter names and
    fitted attributes), fitted by :func:`matfit.factorize.nmf` on ``X.T``.

    Parameters
    ----------
    n_components : int, "auto" or None
        Number of components, as in scikit-learn: "auto" takes it from the W/H passed to
        ``fit`` (else n_features), None takes n_features. More than min(n_samples,
        n_features) is allowed (an overcomplete factorisation, initialised at random).
    beta_loss : float or {"frobenius", "kullback-leibler", "itakura-saito"} (or "kl", "is")
        The beta-divergence minimised (2, 1, 0, or any float).
    solver : {"auto", "cd", "hals", "mu"}
        HALS (Frobenius only) or multiplicative updates (any beta). "cd" is scikit-learn's
        name for HALS: its coordinate descent makes the same sweeps, so from the same start
        the iterates are the same. "auto" (the default) is "cd" for the Frobenius loss, as
        scikit-learn's default, and "mu" for the others (where scikit-learn's default
        raises).
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
        scikit-learn's stopping rule: MU stops when sqrt(2 * divergence), checked every 10
        iterations, fell by less than ``tol`` times its initial value; HALS when the
        projected-gradient norm of an iteration is at most ``tol`` times that of the first.
    random_state : int, numpy Generator or None
        Seed of the initialisation.
    verbose : int
        1 shows a progress bar.
    shuffle : bool
        HALS ("cd") only: visit the components in a random order in every sweep, drawn from
        ``random_state`` (the same orders as scikit-learn's for an integer seed).
    fixed_components : array_like, shape (n_fixed, n_features), optional
        A partly fixed dictionary: components held fixed during ``fit``, which become the
        first ``n_fixed`` rows of ``components_`` unchanged (cast to X's dtype); the other
        ``n_components - n_fixed`` are learned (``n_components`` counts both, so
        ``n_components == n_fixed`` only solves for the activations). The learned ones start
        from ``init`` run with ``n_components - n_fixed`` components, or from the rows after
        the first ``n_fixed`` of an ``H`` passed to ``fit``. This is :func:`nmf`'s
        ``fixed_W_columns`` (its W is ``components_.T``); X may have missing (NaN) entries as
        usual.

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
    start (each sample's activations equal ``sum(x) / sum(components_)``), until the relative
    decrease falls below ``tol`` (HALS for the Frobenius loss, MU otherwise).
    ``fit_transform(X)`` fits the components and then runs exactly that solve, from exactly that
    start, so ``fit(X).transform(X)`` equals ``fit_transform(X)`` bit for bit. (scikit-learn's
    ``fit_transform`` returns the joint fit's activations while its ``transform`` restarts MU
    from a constant: the two disagree, its issue #18663.) The price is one activations solve
    after the joint fit; the components and all fitted attributes come from the joint fit.

    Missing entries: NaN in a dense X is missing, fitted with weight 0 (the weighted
    objective of :func:`nmf`), in ``fit``, ``transform`` and ``fit_transform``; a sample with
    no observed entry gets zero activations. scikit-learn's NMF raises on NaN. A sparse X may
    not hold NaN (its unstored entries are data): densify it, or use
    ``nmf(X.T, weights="stored")`` for the ratings view.

    Other deliberate differences from scikit-learn's NMF: the random initialisation draws from
    NumPy's ``Generator``, so a random start differs from scikit-learn's for the same seed
    (from the same start the iterates agree); and MU keeps learned entries at a floor of eps
    times their initial mean instead of setting those below eps to exactly 0 (a zero can never
    grow back under multiplicative updates), so ``W @ H`` is ~1e-17 rather than 0 where X is 0.

    A fit whose components all collapse to zero (penalties too strong for X) warns and says
    so in ``stop_reason_``; ``fit_transform`` then returns zero activations (the penalised
    minimiser) and ``transform`` raises a :class:`DataError`, as scikit-learn's does ("full
    of zeros"). A single all-zero component gets zero activations.

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
        n_components: int | str | None = "auto",
        *,
        beta_loss: float | str = "frobenius",
        solver: str = "auto",
        init: str | None = None,
        alpha_W: float = 0.0,
        alpha_H: float | str = "same",
        l1_ratio: float = 0.0,
        normalize_components: bool | str = False,
        max_iter: int = 200,
        tol: float = 1e-4,
        random_state: Any = None,
        verbose: int = 0,
        shuffle: bool = False,
        fixed_components: Any = None,
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
        self.shuffle = shuffle
        self.fixed_components = fixed_components

    # ---- helpers -------------------------------------------------------------------------
    def _validate(self, X: Any, *, reset: bool) -> Any:
        names = feature_names(X)
        if getattr(X, "dtype", None) is not None and X.dtype.kind == "O":
            # numbers stored as objects are numbers (scikit-learn's rule); a non-number raises
            # NumPy's TypeError, which names the offending value
            X = np.asarray(X, dtype=np.float64)
        if not sp.issparse(X):
            arr = np.asarray(X)
            if arr.dtype.kind == "c":
                raise DataError(f"Complex data not supported: X has dtype {arr.dtype}. NMF "
                                f"needs real X >= 0: pass np.abs(X) (the magnitude).")
            if arr.ndim == 1:
                raise ShapeError(
                    f"Expected a 2-D X (samples, features), got shape {arr.shape}. Reshape "
                    f"your data either using X.reshape(-1, 1) if it has a single feature or "
                    f"X.reshape(1, -1) if it is a single sample.")
        try:
            X = as_float_array(X, "X", dims="samples features", sparse=("csr", "csc"),
                               nonnegative=True, purpose="NMF needs X >= 0.",
                               allow_nonfinite=True)  # NaN is missing; nmf() rejects inf
        except DataError as err:
            if "negative" not in str(err):
                raise
            raise DataError(f"Negative values in data passed to NMF (input X): {err}") from None
        if sp.issparse(X) and np.isnan(X.data).any():
            # nan_to_num, the generic advice, would make the missing entries zeros (data)
            n_nan = int(np.isnan(X.data).sum())
            raise DataError(
                f"X is a scipy.sparse matrix with {n_nan} NaN among its stored entries: NMF "
                f"reads NaN as missing only in a dense X (a sparse X's unstored entries are "
                f"zeros, which are data). Pass X.toarray() to fit them as missing, or use "
                f"nmf(X.T, weights='stored') if only the stored entries are observed.")
        validate_features(self, X, names, reset=reset)
        return X

    def _alphas(self) -> tuple[float, float]:
        """(alpha_W, alpha_H) of nmf(): its W is our H.T and its H our W.T."""
        alpha_W = nonnegative_number(self.alpha_W, "alpha_W")
        same = isinstance(self.alpha_H, str) and self.alpha_H == "same"
        if isinstance(self.alpha_H, str) and not same:
            raise InvalidParameterError(
                f"alpha_H must be a number >= 0 or 'same', got {self.alpha_H!r}")
        alpha_H = alpha_W if same else nonnegative_number(self.alpha_H, "alpha_H")
        l1_ratio = nonnegative_number(self.l1_ratio, "l1_ratio")
        if l1_ratio > 1:
            raise InvalidParameterError(f"l1_ratio must lie in [0, 1], got {self.l1_ratio!r}")
        return alpha_H, alpha_W

    def _solver(self) -> str:
        solver = _SOLVERS.get(self.solver) if isinstance(self.solver, str) else None
        if solver is None:
            raise InvalidParameterError(
                f"NMF(solver={self.solver!r}): solver must be one of {{'auto', 'cd', 'hals', "
                f"'mu'}} ('cd' and 'hals' are the same algorithm).")
        if solver == "auto":
            return "hals" if self._beta == 2 else "mu"
        if solver == "hals" and self._beta != 2:
            raise InvalidParameterError(
                f"Invalid beta_loss parameter: solver {self.solver!r} does not handle "
                f"beta_loss = {self.beta_loss!r}: NMF(solver={self.solver!r}) (HALS) minimises "
                f"the Frobenius objective only; use solver='mu' for other divergences.")
        return solver

    def _n_components(self, X: Any, W: Any, H: Any) -> int | None:
        """scikit-learn's rule: "auto" from the given W/H (None lets nmf() read them), else
        n_features; None is n_features."""
        k = self.n_components
        if isinstance(k, str) and k == "auto":
            return None if (W is not None or H is not None) else X.shape[1]
        if k is None:
            return X.shape[1]
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidParameterError(
                f"n_components must be an integer >= 1, 'auto' or None, got {k!r}")
        return int(k)

    @staticmethod
    def _check_init_dtypes(X: Any, W: Any, H: Any) -> None:
        """scikit-learn's TypeError: initial factors of another dtype than X are not cast."""
        given = [(name, np.asarray(F).dtype) for name, F in (("H", H), ("W", W))
                 if F is not None and not sp.issparse(F)]
        bad = [(name, dt) for name, dt in given if dt != X.dtype]
        if bad:
            names = " and ".join(name for name, _ in given)
            got = " and ".join(f"{name}.dtype = {dt}" for name, dt in given)
            raise DTypeError(
                f"{names} should have the same dtype as X. Got {got}, but X.dtype = "
                f"{X.dtype}: pass {bad[0][0]}.astype(X.dtype) (NMF does not cast initial "
                f"factors silently, as float32 factors for float64 X lose precision).")

    @staticmethod
    def _shape_phrase(X: Any, W: Any, H: Any, k: int | None) -> str:
        """scikit-learn's words for the first wrong dimension of H, then W (its order)."""
        n_samples, n_features = X.shape
        k_h = k if k is not None else None
        for name, F, want in (("H", H, (k_h, n_features)), ("W", W, (n_samples, k))):
            shape = np.shape(F) if F is not None else None
            if shape is None or len(shape) != 2:
                continue
            for axis, word in ((0, "first"), (1, "second")):
                if want[axis] is not None and shape[axis] != want[axis]:
                    return (f"Array with wrong {word} dimension passed to NMF (input {name}). "
                            f"Expected {want[axis]}, but got {shape[axis]}. ")
            if name == "H" and k is None:
                k = shape[0]  # "auto": H sets the components W must have
        return ""

    def _fixed(self, X: Any, k: int | None) -> np.ndarray | None:
        """``fixed_components`` validated against X (samples, features) and n_components."""
        D = self.fixed_components
        if D is None:
            return None
        if sp.issparse(D):
            D = D.toarray()
        D = as_float_array(D, "fixed_components", nonnegative=True, dtype=X.dtype,
                           purpose="They are NMF components (rows of components_).")
        if D.ndim != 2 or D.shape[0] == 0 or D.shape[1] != X.shape[1]:
            raise ShapeError(
                f"fixed_components has shape {D.shape}, but X has {X.shape[1]} features: pass "
                f"an array (n_fixed, {X.shape[1]}) with n_fixed >= 1, one fixed component per "
                f"row (a single one as fixed_components[None, :]).")
        if k is not None and D.shape[0] > k:
            raise InvalidParameterError(
                f"fixed_components has {D.shape[0]} rows but n_components={k}: n_components "
                f"counts the fixed components and the learned ones, so pass n_components >= "
                f"{D.shape[0]} (equal: only the activations are fitted).")
        return D

    def _fixed_start(self, Xv: Any, k: int | None, D: np.ndarray, W: Any, H: Any, init: Any,
                     V: Any, solver: str) -> tuple[int, np.ndarray, Any]:
        """(k, nmf()'s initial W with the fixed columns first, its initial H or None)."""
        n_fixed = D.shape[0]
        if init == "custom" and (W is None or H is None):
            raise InvalidParameterError("init='custom' needs both W and H.")
        if H is not None:  # the user's initial components: the rows after the fixed ones
            H = np.asarray(H)
            if k is None:
                k = H.shape[0]
            if H.ndim != 2 or H.shape != (k, Xv.shape[1]):
                raise ShapeError(
                    f"H has shape {np.shape(H)}, but with n_components={k} it must be "
                    f"({k}, {Xv.shape[1]}) (its first {n_fixed} rows are taken from "
                    f"fixed_components).")
            learned = H[n_fixed:].T
        else:
            if k is None:  # "auto" from a given W
                k = np.shape(W)[1]
            learned = np.empty((Xv.shape[1], 0), dtype=Xv.dtype)
            if k > n_fixed:
                # the learned components start from ``init`` with their own number
                start = nmf(Xv.T, k - n_fixed, beta=self.beta_loss, solver=solver, init=init,
                            weights=None if V is None else V.T, max_iter=0,
                            seed=self.random_state, _voice=_ESTIMATOR)
                learned = start.W
        if D.shape[0] > k:
            self._fixed(Xv, k)  # raises, naming the sizes
        W_nmf = np.concatenate([D.T, learned.astype(Xv.dtype, copy=False)], axis=1)
        return k, W_nmf, _transpose(W)

    def _solve_activations(self, X: Any) -> np.ndarray:
        """Activations (samples, components) of X for the fixed components_.

        The start is deterministic and per sample: every activation of sample j equals
        sum(X[j]) / sum(components_), so that W @ H starts with each sample's total. HALS
        solves the Frobenius case (it is the fastest NNLS sweep), MU the others. A component
        that is all zero has zero activations (nothing to fit them to; any penalty makes 0 the
        minimiser); when every component is zero there is nothing to solve for.
        """
        alpha_nmf_W, alpha_nmf_H = self._alphas()
        live = self.components_.max(axis=1) > 0
        if not live.any():
            raise DataError(
                "The fitted components_ are full of zeros (Array passed to NMF (input H) is "
                "full of zeros): the fit collapsed, so there are no activations to solve for. "
                "Refit with smaller alpha_W/alpha_H (or another init).")
        W = self.components_[live].T
        V = nan_weights(X)  # NaN entries are missing
        if V is not None and not V.any():  # no sample has an observed entry: all get zeros
            return np.zeros((X.shape[0], self.n_components_), dtype=X.dtype)
        row_sums = np.asarray(X.sum(axis=1) if V is None else np.nansum(X, axis=1),
                              dtype=np.float64).ravel()
        H0 = np.broadcast_to(row_sums / float(W.sum(dtype=np.float64)),
                             (W.shape[1], X.shape[0]))
        res = nmf(X.T, None, beta=self.beta_loss,
                  solver="hals" if self._beta == 2 else "mu",
                  W=W, H=H0, update_W=False, weights=None if V is None else V.T,
                  alpha_W=alpha_nmf_W, alpha_H=alpha_nmf_H, l1_ratio=self.l1_ratio,
                  max_iter=self.max_iter, tol=self.tol, verbose=0, convergence="sklearn",
                  _voice=_TRANSFORM)
        if live.all():
            return res.H.T
        out = np.zeros((X.shape[0], self.n_components_), dtype=res.H.dtype)
        out[:, live] = res.H.T
        return out

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
        if not self.components_.any():  # collapsed (fit warned): 0 is the penalised minimiser
            return np.zeros((Xv.shape[0], self.n_components_), dtype=self.components_.dtype)
        return self._solve_activations(Xv)

    def _fit(self, X: Any, W: Any, H: Any) -> Any:
        from ..numerics import resolve_beta

        self._beta = resolve_beta(self.beta_loss)
        solver = self._solver()
        Xv = self._validate(X, reset=True)
        alpha_nmf_W, alpha_nmf_H = self._alphas()
        k = self._n_components(Xv, W, H)
        self._check_init_dtypes(Xv, W, H)
        try:
            # scikit-learn's init=None: NNDSVDa, or random above min(n_samples, n_features)
            init = self.init
            if init is None and W is None and H is None and k > min(Xv.shape):
                init = "random"
            V = nan_weights(Xv)  # NaN entries are missing
            if V is not None and not V.any():
                raise DataError(f"Every entry of X (shape {Xv.shape}) is NaN, i.e. missing: "
                                f"there is nothing to fit. Pass X with observed entries.")
            D = self._fixed(Xv, k)
            if D is None:
                W_nmf, H_nmf, fixed = _transpose(H), _transpose(W), None
            else:  # nmf()'s W holds the fixed components in its first columns
                k, W_nmf, H_nmf = self._fixed_start(Xv, k, D, W, H, init, V, solver)
                fixed, init = np.arange(D.shape[0]), None if H_nmf is None else "custom"
            res = nmf(Xv.T, k, beta=self.beta_loss, solver=solver, init=init,
                      weights=None if V is None else V.T,
                      W=W_nmf, H=H_nmf, fixed_W_columns=fixed,
                      alpha_W=alpha_nmf_W, alpha_H=alpha_nmf_H, l1_ratio=self.l1_ratio,
                      normalize_W=self.normalize_components, max_iter=self.max_iter,
                      tol=self.tol, seed=self.random_state, verbose=self.verbose,
                      convergence="sklearn", shuffle=bool(self.shuffle), _voice=_ESTIMATOR)
        except ShapeError as err:
            phrase = self._shape_phrase(Xv, W, H, k)
            if not phrase:
                raise
            raise ShapeError(phrase + str(err)) from None
        self.components_ = np.ascontiguousarray(res.W.T)
        self.n_components_ = self.components_.shape[0]
        self.n_iter_ = res.nit
        self.loss_curve_ = res.history
        self.reconstruction_err_ = float(np.sqrt(2 * max(res.divergence, 0.0)))
        self.converged_ = res.status in (0, 7, 8)
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
