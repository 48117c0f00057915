"""``nmf()``: validate, initialise, run the multiplicative-update or HALS kernel, report.

Implementation notes
--------------------
* Orientation: X (features, samples) ~ W (features, components) @ H (components, samples). For
  audio, features are frequency bins and samples are frames. scikit-learn's ``NMF`` uses the
  transpose (its ``W`` is our ``H.T`` and its ``components_`` our ``W.T``).
* The loop, its buffers and its numerical guards are in :mod:`._loop` (see its notes).
* Penalties follow scikit-learn >= 1.2 transposed to this orientation: the penalty on each
  factor is multiplied by the size of the X dimension that the factor does not carry, so alpha
  does not depend on the data size:
  ``alpha_W * n_samples * (l1_ratio * |W|_1 + (1 - l1_ratio) / 2 * ||W||^2)`` and
  ``alpha_H * n_features * (l1_ratio * |H|_1 + (1 - l1_ratio) / 2 * ||H||^2)``. scikit-learn's
  ``alpha_W`` (on its W, the activations) is therefore our ``alpha_H``.
* Messages speak the caller's orientation. The NMF estimator calls ``nmf(X.T, W=H.T, H=W.T)``
  with ``_voice=_Voice(estimator=True)``; every message about an array then names it as the
  estimator's user passed it (X (samples, features), W (samples, components), H (components,
  features)), with positions and rows/columns swapped back (see :class:`_Voice`).
* Factors that collapse to zero (every component of W @ H is 0, e.g. under a strong L1
  penalty) end the fit with status 6 and a warning, whatever the solver: W @ H = 0 explains
  nothing, and the activations of a zero dictionary are undefined.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._errors import ConvergenceWarning, DataError, InvalidParameterError
from .._params import integer_at_least, nonnegative_number
from ..numerics import resolve_beta
from ..shapes import as_float_array, check
from ._init import INITS, initialize, missing_factor
from ._loop import Fit, set_status
from ._result import NMFResult, _fixed_mask

__all__ = ["NMFResult", "nmf"]

Solver = Literal["mu", "hals"]


class _Voice:
    """How nmf()'s messages name its arrays: in its own orientation or in the estimator's.

    nmf() fits X (features, samples) ~ W @ H. The NMF estimator passes the transpose of its
    X (samples, features) ~ W (samples, components) @ H (components, features), so that its W is
    nmf()'s H.T and its H nmf()'s W.T. With ``estimator=True`` the messages say "W" for nmf()'s
    H, give positions as (sample, feature) and rows for columns, so that they are right for the
    arrays the user holds.
    """

    def __init__(self, estimator: bool = False, names: dict[str, str] | None = None) -> None:
        self.estimator = estimator
        self.caller = "NMF" if estimator else "nmf"
        self.names = {"W": "H", "H": "W"} if estimator else {"W": "W", "H": "H"}
        self.names.update(names or {})  # e.g. nmf()'s W is the estimator's components_

    def name(self, factor: str) -> str:
        """The caller's name of nmf()'s factor "W" or "H"."""
        return self.names[factor]

    def at(self, i: int, j: int) -> tuple[int, int]:
        return (j, i) if self.estimator else (i, j)

    def axis(self, what: str) -> str:
        """"row" or "column" of nmf()'s arrays, as the caller sees it."""
        return {"row": "column", "column": "row"}[what] if self.estimator else what

    def shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shape[::-1]) if self.estimator else tuple(shape)

    def dims_of_x(self) -> str:
        return "(samples, features)" if self.estimator else "(features, samples)"

    def check(self, known: Any, X: Any, W: Any, H: Any) -> dict[str, int]:
        """:func:`check` of X, W, H, its messages in the caller's orientation."""
        if not self.estimator:
            return check(known=known, X=(X, "features samples"), W=(W, "features components"),
                         H=(H, "components samples"))
        # the transposes are views: the estimator's arrays, checked against its dimensions,
        # H before W as scikit-learn checks them
        return check(known=known, X=(X.T, "samples features"),
                     H=(None if W is None else W.T, "components features"),
                     W=(None if H is None else H.T, "samples components"))

    def factor(self, F: Any, which: str, dtype: Any) -> np.ndarray:
        """nmf()'s factor ``which`` ("W" or "H") as a float array of X's dtype (a copy).

        For the estimator, F is the transpose of the array its user passed: that array is
        checked (so that a negative entry is reported at its own position) and transposed back.
        """
        purpose = "NMF factors are non-negative."
        if not self.estimator:
            dims = "features components" if which == "W" else "components samples"
            return as_float_array(F, which, dims=dims, nonnegative=True, dtype=dtype,
                                  copy=True, purpose=purpose)
        name = self.name(which)
        dims = "components features" if which == "W" else "samples components"
        try:
            G = as_float_array(F.T, name, dims=dims, nonnegative=True, dtype=dtype, copy=True,
                               purpose=purpose)
        except DataError as err:
            if "negative" not in str(err):
                raise
            raise DataError(
                f"Negative values in data passed to NMF (input {name}): {err}") from None
        return G.T

def _check_reachable(X: Any, W: np.ndarray, H: np.ndarray, w_fixed: bool, h_fixed: bool,
                     beta: float, voice: _Voice) -> None:
    """For beta <= 1, a fixed factor with a zero row/column where X > 0 makes D infinite."""
    positive_rows = np.asarray(X.sum(axis=1)).ravel() > 0
    positive_cols = np.asarray(X.sum(axis=0)).ravel() > 0
    for fixed, name, zero, positive, what, axis_name in (
        (w_fixed, "W", W.max(axis=1) == 0, positive_rows, "row", "features"),
        (h_fixed, "H", H.max(axis=0) == 0, positive_cols, "column", "samples"),
    ):
        bad = np.flatnonzero(zero & positive) if fixed else []
        name, what = voice.name(name), voice.axis(what)
        if len(bad):
            raise DataError(
                f"the fixed {name} has {len(bad)} all-zero {what}(s) (the first: {name} {what} "
                f"{bad[0]}) where X is positive: W @ H is 0 there whatever is learned, so the "
                f"beta={beta:g} divergence is infinite. Give those {what}s of {name} a small "
                f"positive floor, or drop those {axis_name} from X."
            )


def nmf(
    X: Any,
    n_components: int | None = None,
    *,
    beta: float | str = "frobenius",
    solver: Solver = "mu",
    init: str | None = None,
    W: Any = None,
    H: Any = None,
    update_W: bool = True,
    update_H: bool = True,
    fixed_W_columns: Any = None,
    alpha_W: float = 0.0,
    alpha_H: float = 0.0,
    l1_ratio: float = 0.0,
    normalize_W: bool | str = False,
    max_iter: int = 200,
    tol: float = 1e-4,
    seed: int | np.random.Generator | None = None,
    verbose: int = 0,
    check_every: int = 10,
    convergence: Literal["objective", "sklearn"] = "objective",
    shuffle: bool = False,
    weights: Any = None,
    em: bool | None = None,
    _voice: _Voice | None = None,
) -> NMFResult:
    """Non-negative matrix factorisation X ~ W @ H under a beta-divergence.

    Parameters
    ----------
    X : ndarray or scipy.sparse CSR/CSC matrix, shape (features, samples)
        Non-negative data, e.g. a magnitude spectrogram (frequency bins x frames). Integer input
        becomes float64; float32 stays float32 (and so do W and H). Sparse X needs beta in
        {1, 2}; no dense array of X's size is ever formed from it. A ``dask.array`` chunked
        along samples (dense or scipy.sparse blocks) runs chunk by chunk on the current Dask
        client or scheduler, with the same MU iterates (:func:`matfit.factorize._dask.nmf_dask`:
        MU only, H returned as a dask array).
    n_components : int or None
        Number of components. May be None when W or H is given (taken from its shape); when
        given together with W/H they must agree (else :class:`ShapeError` naming
        'components'). Without W and H it must be <= min(features, samples), unless
        ``init="random"`` (an overcomplete factorisation).
    beta : float or {"frobenius", "kl", "is"} (2, 1, 0; also "euclidean", "kullback-leibler",
        "itakura-saito")
        The divergence: half the squared Frobenius norm (2), generalised Kullback-Leibler (1),
        Itakura-Saito (0) or any other beta. beta <= 0 needs X > 0 everywhere.
    solver : {"mu", "hals"}
        Multiplicative updates (any beta; majorisation-minimisation exponents, so the
        objective never increases) or hierarchical alternating least squares (beta = 2 only;
        usually faster per unit of progress).
    init : {None, "random", "nndsvd", "nndsvda", "nndsvdar", "custom"}
        None picks "nndsvda" when neither W nor H is given, and "random" for a missing factor
        when the other is given. "custom" uses the given W and H (both required). A factor
        initialised beside a given one is random, scaled so that mean(W @ H) = mean(X).
    W : array_like, shape (features, components), optional
        Initial (or fixed) dictionary. Never modified in place.
    H : array_like, shape (components, samples), optional
        Initial (or fixed) activations. Never modified in place.
    update_W, update_H : bool
        False keeps that factor exactly as given (supervised: ``update_W=False``).
    fixed_W_columns : boolean mask (components,) or index array, optional
        Columns of the given W that stay fixed (bitwise) while the others are learned
        (semi-supervised).
    alpha_W, alpha_H : float
        Penalty strengths, scaled as in scikit-learn >= 1.2 (see Notes).
    l1_ratio : float in [0, 1]
        Share of L1 in the penalties (1: pure L1, sparse factors; 0: pure L2).
    normalize_W : bool or {"l1", "l2"}
        After each W update, rescale every learned column of W to unit norm (True = "l2") and
        move the scale into the matching row of H, so W @ H is unchanged. Needs update_H.
    max_iter : int
        Maximum number of iterations (each updates H, then W).
    tol : float
        Stop when the objective fell by less than ``tol`` times its initial value over the last
        ``check_every`` iterations (scikit-learn's normalisation, on the objective itself rather
        than on sqrt(2 * objective)). 0 runs exactly ``max_iter`` iterations.
    seed : int, numpy Generator or None
        For the random and NNDSVD initialisations.
    verbose : int
        1 shows a progress bar on stderr.
    check_every : int
        Iterations between evaluations of the objective (each is recorded in ``history``).
    convergence : {"objective", "sklearn"}
        The stopping rule that ``tol`` sets. "objective" is described under ``tol``.
        "sklearn" is scikit-learn's NMF rule (which the NMF estimator uses): MU stops when
        sqrt(2 * divergence), checked every 10 iterations, fell by less than ``tol`` times its
        initial value; HALS stops after the first iteration whose projected-gradient norm is at
        most ``tol`` times that of the first iteration (the same iterates as scikit-learn's
        ``solver="cd"``, so the same iteration counts).
    shuffle : bool
        HALS only: visit the components in a random order in every sweep (scikit-learn's
        ``shuffle``; an integer ``seed`` draws the same orders as scikit-learn's
        ``random_state``, from a legacy ``RandomState``).
    weights : array_like (features, samples), scipy.sparse matrix, "stored" or None
        Non-negative weight of each entry: the objective becomes sum(V * d_beta(X | W H)).
        Weight 0 marks a missing entry, where X may hold NaN (or anything: it is ignored).
        Dense weights keep X-sized arrays (a sparse X is densified). Sparse weights count only
        their stored entries (the others are missing), in memory O(nnz + (features +
        samples) components), for any beta; ``"stored"`` with a sparse X observes exactly its
        stored entries (the ratings view: an unstored entry is unknown, not zero). None (the
        default) is the unweighted fit, unchanged. See :mod:`matfit.factorize._weighted`.
    em : bool or None
        How beta 2 (MU or HALS; also KL MU, when asked) fits 0/1 weights ("missing") with at
        most 30% of the entries missing. None (the default: EM at beta 2 when W and H are
        both learned and no feature or sample is entirely missing, else the weighted
        updates) or True: EM, each iteration fills the missing
        entries with the current ``W @ H`` and takes one unweighted step on the filled X (an
        MM algorithm for the weighted objective: it never increases, and its fixed points are
        the weighted problem's); an iteration then costs the unweighted one plus
        missing * components flops. False: the weighted updates themselves (the weighted MU
        denominators, HALS's exact weighted coordinate steps), slower per iteration and a
        little faster per unit of progress. Other weights and betas ignore None and refuse
        True. Measured figures in :mod:`matfit.factorize._weighted`.

    Returns
    -------
    NMFResult
        ``W``, ``H``, ``fun``, ``nit``, ``status``, ``success``, ``message``, ``history``,
        ``history_nit``, ``divergence``, ``penalty``.

    Raises
    ------
    ShapeError
        X is not 2-D, or W/H disagree with X or with each other or with n_components.
    DataError
        X (or a given W/H) has negative, NaN or inf entries (the count and first position are
        named; with ``weights``, only entries of positive weight count); X is all zeros;
        beta <= 0 and X has zeros; the weights are negative, non-finite or all zero.
    DTypeError
        X is not numeric.
    InvalidParameterError
        An option is outside its allowed set.

    Notes
    -----
    The objective is::

        D_beta(X | W H) + alpha_W n_samples (l1_ratio |W|_1 + (1 - l1_ratio)/2 ||W||_F^2)
                        + alpha_H n_features (l1_ratio |H|_1 + (1 - l1_ratio)/2 ||H||_F^2)

    which is scikit-learn's (>= 1.2) with its W and H swapped: scikit-learn's ``alpha_W``
    penalises its W (n_samples, components), our H. The MU step for H is::

        H <- H * ((W.T @ (X * (WH)^(beta-2))) / (W.T @ (WH)^(beta-1) + l1 + l2 H))^gamma(beta)

    with gamma = 1/(2-beta) for beta < 1, 1 for 1 <= beta <= 2, 1/(beta-1) for beta > 2
    (Févotte & Idier 2011); W's step is the same on the transposed problem.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.factorize import nmf
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((20, 4)) @ rng.random((4, 30))          # exactly rank 4
    >>> res = nmf(X, 4, solver="hals", max_iter=500, tol=0, seed=0)
    >>> bool(np.linalg.norm(X - res.W @ res.H) < 1e-3 * np.linalg.norm(X))
    True
    """
    if type(X).__module__.startswith("dask."):  # chunked along samples: see _dask.py
        from ._dask import nmf_dask

        return nmf_dask(X, n_components, beta=beta, solver=solver, init=init, W=W, H=H,
                        update_W=update_W, update_H=update_H, fixed_W_columns=fixed_W_columns,
                        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio,
                        normalize_W=normalize_W, max_iter=max_iter, tol=tol, seed=seed,
                        verbose=verbose, check_every=check_every, weights=weights, em=em)
    start = time.perf_counter()
    voice = _voice or _Voice()
    beta = resolve_beta(beta)
    if solver not in ("mu", "hals"):
        raise InvalidParameterError(f"nmf(solver={solver!r}): solver must be one of "
                                    f"{{'hals', 'mu'}}.")
    if em not in (None, True, False):
        raise InvalidParameterError(f"nmf(em={em!r}): em must be None, True or False.")
    if em and weights is None:
        raise InvalidParameterError(
            "nmf(em=True) fills missing entries, but no weights were given: pass weights "
            "(0 marks a missing entry), or leave em at None.")
    if solver == "hals" and beta != 2:
        raise InvalidParameterError(
            f"nmf(solver='hals') minimises the Frobenius objective (beta=2) only, got "
            f"beta={beta:g}: use solver='mu' for other divergences."
        )
    if init is not None and init not in (*INITS, "custom"):
        raise InvalidParameterError(
            f"{voice.caller}(init={init!r}): init must be None or one of "
            f"{[*INITS, 'custom']}."
        )
    if convergence not in ("objective", "sklearn"):
        raise InvalidParameterError(
            f"nmf(convergence={convergence!r}): convergence must be 'objective' or 'sklearn'."
        )
    max_iter = integer_at_least(max_iter, "max_iter", 0)
    check_every = integer_at_least(check_every, "check_every", 1)
    tol = nonnegative_number(tol, "tol")
    alpha_W = nonnegative_number(alpha_W, "alpha_W")
    alpha_H = nonnegative_number(alpha_H, "alpha_H")
    l1_ratio = nonnegative_number(l1_ratio, "l1_ratio")
    if l1_ratio > 1:
        raise InvalidParameterError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")
    if normalize_W not in (False, True, "l1", "l2"):
        raise InvalidParameterError(
            f"normalize_W must be False, True, 'l1' or 'l2', got {normalize_W!r}")
    norm_kind = "l2" if normalize_W is True else (normalize_W or None)

    data = None
    if weights is not None:  # validated there; X becomes a finite stand-in for the checks
        from . import _wdata, _weighted

        data = _wdata.make_data(X, weights, beta)
        X = _wdata.init_standin(data)
    else:
        X = as_float_array(X, "X", dims="features samples", sparse=("csr", "csc"),
                           nonnegative=True, purpose="NMF needs X >= 0.")
    sparse = sp.issparse(X)
    m, n = X.shape
    if m == 0 or n == 0:
        raise DataError(f"X has shape {X.shape}: it needs at least one feature and one sample.")
    if sparse and beta not in (1.0, 2.0) and data is None:
        raise InvalidParameterError(
            f"sparse X is supported for beta in {{1, 2}} ('kl', 'frobenius'), got "
            f"beta={beta:g}: pass X.toarray() for other divergences."
        )
    if (X.nnz == 0) if sparse else not X.any():
        raise DataError("X is all zeros: there is nothing to factorise.")
    if beta <= 0 and not sparse and data is None and not X.all():
        zero = X == 0
        count = int(zero.sum())
        first = voice.at(*(int(i) for i in np.argwhere(zero)[0]))
        raise DataError(
            ("When beta_loss <= 0 and X contains zeros, the solver may diverge: "
             if voice.estimator else "")
            + f"beta={beta:g} <= 0 (e.g. Itakura-Saito) is undefined where X has zeros: X has "
            f"{count} zero entr{'y' if count == 1 else 'ies'}, the first at X[{first[0]}, "
            f"{first[1]}]. Add a small floor (X + 1e-10 * X.max()) or use beta > 0 ('kl')."
        )

    if n_components is not None:
        n_components = integer_at_least(n_components, "n_components", 1)
    if W is not None:
        W = voice.factor(W, "W", X.dtype)
    if H is not None:
        H = voice.factor(H, "H", X.dtype)
    known = None if n_components is None else {"components": (n_components, "n_components")}
    dims = voice.check(known, X, W, H)
    k = dims.get("components")
    if k is None:
        raise InvalidParameterError(
            "nmf() needs n_components when neither W nor H is given, e.g. nmf(X, 10)."
        )
    if k < 1:
        raise InvalidParameterError(f"W/H have {k} components; at least 1 is needed.")
    if W is None and H is None and k > min(m, n) and init in INITS[1:]:
        raise InvalidParameterError(
            f"init = {init!r} can only be used when n_components <= min(n_samples, "
            f"n_features): NNDSVD starts each component from a singular vector of X, and X of "
            f"shape {voice.shape(X.shape)} {voice.dims_of_x()} has {min(m, n)}, but "
            f"n_components={k}. Pass n_components <= {min(m, n)}, or init='random' for an "
            f"overcomplete factorisation."
        )
    if W is None and H is None and k > min(m, n) and init is None:
        raise InvalidParameterError(
            f"n_components={k} is more than X of shape {voice.shape(X.shape)} "
            f"{voice.dims_of_x()} supports: at most min(features, samples) = {min(m, n)} "
            f"components can be learned from scratch. Pass n_components <= {min(m, n)}, a W/H "
            f"to start from, or init='random' for an overcomplete factorisation."
        )
    if not update_W and W is None:
        raise InvalidParameterError("update_W=False keeps W as given: pass W.")
    if not update_H and H is None:
        raise InvalidParameterError("update_H=False keeps H as given: pass H.")
    if fixed_W_columns is not None and W is None:
        raise InvalidParameterError(
            "fixed_W_columns names columns of a given W: pass W (its fixed columns are kept, "
            "the others are where learning starts)."
        )
    fixed = np.zeros(k, dtype=bool) if fixed_W_columns is None else _fixed_mask(
        fixed_W_columns, k)
    if not update_W:
        fixed[:] = True
    if norm_kind and not update_H and not fixed.all():
        raise InvalidParameterError(
            "normalize_W moves the scale of W's columns into H, so it needs update_H=True."
        )

    rng = np.random.default_rng(seed)
    W_given, H_given = W, H
    if W is not None and H is not None:
        if init not in (None, "custom"):
            raise InvalidParameterError(
                f"W and H were both given, so init={init!r} has nothing to initialise: pass "
                f"init=None or 'custom' (or leave one of them out)."
            )
        init_used = "custom"
    elif W is not None or H is not None:
        if init not in (None, "random"):
            raise InvalidParameterError(
                f"init={init!r} with only {voice.name('W' if W is not None else 'H')} given: "
                + ("'custom' needs both W and H" if init == "custom" else
                   f"{init!r} initialises both factors from X's SVD")
                + "; pass init=None or 'random' to initialise the missing factor at random."
            )
        init_used = "random"
        if H is None:
            H = missing_factor(X, W, "H", rng=rng)
        else:
            W = missing_factor(X, H, "W", rng=rng)
    else:
        if init == "custom":
            raise InvalidParameterError("init='custom' needs both W and H.")
        init_used = init or "nndsvda"
        if init_used == "nndsvd" and solver == "mu":
            warnings.warn(
                "init='nndsvd' puts exact zeros in W and H, which multiplicative updates move "
                "only slowly from a tiny floor: try init='nndsvda' or 'nndsvdar' with "
                "solver='mu'.", UserWarning, stacklevel=2)
        W, H = initialize(X, k, init_used, rng=rng)
    if data is not None and data.observed and init_used != "custom":
        _wdata.rescale(data, W, H, scale_W=W_given is None, scale_H=H_given is None)

    if beta <= 1 and (fixed.all() or not update_H):
        _check_reachable(X if data is None else _wdata.reach_standin(data), W, H,
                         fixed.all(), not update_H, beta, voice)
    if solver == "mu":
        for name, F, learned in (("W", W[:, ~fixed], not fixed.all()), ("H", H, update_H)):
            if learned and not F.any():
                part = "learned columns of " if name == "W" and not voice.estimator else ""
                name = voice.name(name)
                raise DataError(
                    f"the {part}{name} given are all zeros (full of zeros), and multiplicative "
                    f"updates cannot move a zero: start from positive values, leave {name} out "
                    f"(it is then initialised at random), or use solver='hals'."
                )

    # learned components first (see the implementation notes)
    order = np.concatenate([np.flatnonzero(~fixed), np.flatnonzero(fixed)])
    n_learned = int((~fixed).sum())
    Wt = np.ascontiguousarray(W.T[order])
    H = np.ascontiguousarray(H[order])

    pen = (alpha_W * l1_ratio * n, alpha_W * (1 - l1_ratio) * n,
           alpha_H * l1_ratio * m, alpha_H * (1 - l1_ratio) * m)
    res = NMFResult(beta=beta, solver=solver, init=init_used)
    order_rng = None
    if shuffle and solver == "hals":
        order_rng = (seed if isinstance(seed, (np.random.Generator, np.random.RandomState))
                     else np.random.RandomState(seed))
    if data is None:
        state = Fit(X, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind, check_every,
                    rule=convergence, shuffle=order_rng)
    else:
        em_fit = _weighted.uses_em(data, beta, em, update_H and n_learned > 0)
        fit = _weighted.EMFit if em_fit else _weighted.WeightedFit
        state = fit(data, Wt, H, n_learned, update_H, beta, solver, pen, norm_kind,
                    check_every, rule=convergence, shuffle=order_rng)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        state.run(res, max_iter, tol, verbose)
    learned = n_learned > 0 or update_H
    if res["status"] != 3 and learned and dead_components(X, state.Wt, state.H).all():
        set_status(res, 6, nit=res["nit"], cause=_collapse_cause(
            alpha_W, alpha_H, l1_ratio, voice))
    W_out = np.empty((m, k), dtype=X.dtype)
    W_out[:, order] = state.Wt.T
    H_out = np.empty((k, n), dtype=X.dtype)
    H_out[order] = state.H
    res["W"], res["H"] = W_out, H_out
    res["seconds"] = time.perf_counter() - start
    if res["status"] in (1, 3) and not (res["status"] == 1 and tol == 0):
        text = f"nmf: {res['message']}"
        if voice.estimator and res["status"] == 1:  # scikit-learn's sentence first
            text = (f"Maximum number of iterations {max_iter} reached. Increase it to improve "
                    f"convergence. (NMF: {res['message']})")
        # the estimator's user called fit/transform, which called nmf() through a helper
        warnings.warn(text, ConvergenceWarning, stacklevel=4 if voice.estimator else 2)
    elif res["status"] == 6:
        warnings.warn(f"{voice.caller}: {res['message']}", UserWarning,
                      stacklevel=4 if voice.estimator else 2)
    return res


def dead_components(X: Any, Wt: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Mask (components,) of the components of W @ H that have fallen to zero.

    The largest entry component r can add to W @ H is max(W[:, r]) * max(H[r]). MU keeps dead
    entries at a floor of about eps times their initial mean, so a dead component reaches
    about eps^2 * mean(X): the threshold eps^1.5 * max(X) lies between that and any component
    that still explains something (exact zeros, as HALS leaves, are far below it).
    """
    top = float(X.max()) if not sp.issparse(X) else float(X.data.max())
    reach = Wt.max(axis=1).astype(np.float64) * H.max(axis=1).astype(np.float64)
    return reach <= float(np.finfo(X.dtype).eps) ** 1.5 * top


def _collapse_cause(alpha_W: float, alpha_H: float, l1_ratio: float, voice: _Voice) -> str:
    if alpha_W or alpha_H:
        # nmf()'s alpha_W is the estimator's alpha_H (see the implementation notes)
        values = (f"alpha_W={alpha_W:g}, alpha_H={alpha_H:g}" if not voice.estimator
                  else f"alpha_W={alpha_H:g}, alpha_H={alpha_W:g}") + f", l1_ratio={l1_ratio:g}"
        return (f"the penalties ({values}) outweigh the fit to X; lower them (W @ H = 0 "
                f"explains nothing, and the activations of a zero dictionary are undefined)")
    return "the updates drove every component to zero; try another init or more components"
