"""NMF as a drop-in for scikit-learn's: same iterates, stopping rules, errors and messages."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit import DataError, DTypeError, InvalidParameterError, ShapeError
from matfit.factorize import NMF, nmf
from matfit.factorize._hals import hals_rows

sklearn = pytest.importorskip("sklearn")
from sklearn.decomposition import NMF as SkNMF  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402


def _data(seed=0, n=40, p=25, k=5, noise=0.05):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4)) @ rng.random((4, p)) + noise * rng.random((n, p))
    return X, rng.random((n, k)) + 0.1, rng.random((k, p)) + 0.1


# ---- the same iterates and the same iteration counts as scikit-learn ------------------------
@pytest.mark.parametrize("solver", ["cd", "hals", "mu"])
@pytest.mark.parametrize("kind", ["dense", "csr", "float32"])
@pytest.mark.parametrize("penalty", [{}, {"alpha_W": 0.01, "l1_ratio": 0.5},
                                     {"alpha_W": 0.002, "alpha_H": 0.01}])
def test_iterates_and_iterations_match_sklearn_from_the_same_start(solver, kind, penalty):
    A = np.abs(np.random.RandomState(0).randn(6, 4))       # test_nmf's inverse_transform data
    r = np.random.RandomState(1)
    W0, H0 = np.abs(r.randn(6, 4)), np.abs(r.randn(4, 4))
    X = sp.csr_matrix(A) if kind == "csr" else A.astype(np.float32 if kind == "float32" else
                                                        np.float64)
    W0, H0 = W0.astype(X.dtype), H0.astype(X.dtype)
    sk_solver = "cd" if solver == "hals" else solver
    kw = dict(init="custom", max_iter=1000, tol=1e-3, **penalty)
    theirs = SkNMF(4, solver=sk_solver, **kw)
    theirs.fit(X, W=W0.copy(), H=H0.copy())
    ours = NMF(4, solver=solver, **kw).fit(X, W=W0.copy(), H=H0.copy())
    assert ours.n_iter_ == theirs.n_iter_ < 1000        # stopped by tol, at the same iteration
    rtol = 1e-4 if kind == "float32" else 1e-10
    assert_allclose(ours.components_, theirs.components_, rtol=rtol, atol=rtol * 1e-3)
    assert_allclose(ours.reconstruction_err_, theirs.reconstruction_err_, rtol=rtol)
    assert ours.converged_


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["cd", "mu"])
def test_tol_means_sklearns_on_noisy_data(solver):
    X, W0, H0 = _data()
    for tol in (1e-2, 1e-3):
        kw = dict(init="custom", tol=tol, max_iter=400)
        theirs = SkNMF(5, solver=solver, **kw).fit(X, W=W0.copy(), H=H0.copy())
        ours = NMF(5, solver=solver, **kw).fit(X, W=W0.copy(), H=H0.copy())
        assert ours.n_iter_ == theirs.n_iter_
        assert_allclose(ours.components_, theirs.components_, rtol=1e-9, atol=1e-12)


def test_functional_convergence_rule_is_sklearns_only_when_asked():
    X, W0, H0 = _data(1)
    default = nmf(X.T, W=H0.T, H=W0.T, solver="hals", tol=1e-3)
    ruled = nmf(X.T, W=H0.T, H=W0.T, solver="hals", tol=1e-3, convergence="sklearn")
    theirs = SkNMF(5, solver="cd", init="custom", tol=1e-3).fit(X, W=W0.copy(), H=H0.copy())
    assert ruled.nit == theirs.n_iter_ and ruled.status == 7 and ruled.success
    # nmf()'s own rule is unchanged: it stopped at the first check whose decrease was below
    # tol times the initial objective (checks every 10 iterations)
    assert default.status == 0 and default.nit == default.history_nit[-1]
    h, tol = default.history, 1e-3
    assert h[-2] - h[-1] < tol * h[0] and np.all(h[:-2] - h[1:-1] >= tol * h[0])
    with pytest.raises(InvalidParameterError, match="convergence must be 'objective' or"):
        nmf(X.T, 2, convergence="sk")


def _slow_violation(F, cross, gram):
    """scikit-learn's _update_cdnmf_fast, entry by entry in Python (the reference)."""
    F = F.copy()
    violation = 0.0
    for t in range(F.shape[0]):
        for i in range(F.shape[1]):
            grad = gram[t] @ F[:, i] - cross[t, i]
            pg = min(0.0, grad) if F[t, i] == 0 else grad
            violation += abs(pg)
            if gram[t, t] != 0:
                F[t, i] = max(F[t, i] - grad / gram[t, t], 0.0)
    return F, violation


def test_hals_sweep_is_sklearns_coordinate_descent_entry_by_entry():
    rng = np.random.default_rng(3)
    k, n = 4, 30
    Wother = rng.random((20, k))
    Wother[:, 2] = 0                                    # a dead partner: gram[2, 2] = 0
    X = rng.random((20, n))
    F = rng.random((k, n))
    F[1, ::3] = 0                                       # zeros: only descent directions count
    cross, gram = Wother.T @ X, Wother.T @ Wother
    ref, ref_violation = _slow_violation(F, cross, gram)
    ours = F.copy()
    violation = hals_rows(ours, cross, gram, measure=True)
    assert_allclose(ours, ref, rtol=1e-12, atol=1e-14)
    assert_allclose(violation, ref_violation, rtol=1e-12)
    plain = F.copy()
    hals_rows(plain, cross, gram)
    assert np.array_equal(plain, ours)                  # measuring does not change the sweep


# ---- n_components: "auto", None and overcomplete --------------------------------------------
@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
def test_n_components_auto_none_and_overcomplete():
    rng = np.random.default_rng(0)
    X = rng.random((6, 5))
    W, H = rng.random((6, 2)), rng.random((2, 5))
    model = NMF("auto", init="custom", tol=1e-6).fit(X, W=W, H=H)
    assert model.n_components_ == 2 and model.components_.shape == (2, 5)
    assert NMF("auto", max_iter=400).fit(X, H=rng.random((3, 5))).n_components_ == 3
    assert NMF("auto", max_iter=400).fit(X, W=rng.random((6, 4))).n_components_ == 4
    assert NMF(max_iter=400).fit(X).n_components_ == 5          # "auto" alone: n_features
    assert NMF(None, max_iter=400).fit(X[:3]).n_components_ == 5  # None: n_features, > 3
    wide = NMF(9, solver="cd", random_state=0, max_iter=400).fit(X)  # random init
    assert wide.components_.shape == (9, 5)
    theirs = SkNMF(9, solver="cd", random_state=0, max_iter=400).fit(X)
    # both fit X almost exactly (9 components for a rank-5 X)
    assert theirs.reconstruction_err_ < 1e-2 * np.linalg.norm(X)
    assert wide.reconstruction_err_ < 1e-2 * np.linalg.norm(X)
    for bad in (0, 2.5, "two", True):
        with pytest.raises(InvalidParameterError, match="n_components must be an integer"):
            NMF(bad).fit(X)
    with pytest.raises(InvalidParameterError,
                       match=re.escape("init = 'nndsvda' can only be used when n_components <= "
                                       "min(n_samples, n_features)")):
        NMF(9, init="nndsvda").fit(X)


# ---- custom init: scikit-learn's errors -----------------------------------------------------
@pytest.mark.parametrize("which", ["W", "H", "both"])
def test_custom_init_of_another_dtype_is_a_type_error(which):
    rng = np.random.default_rng(0)
    X = rng.random((20, 15))
    W, H = rng.random((20, 3)), rng.random((3, 15))
    if which in ("W", "both"):
        W = W.astype(np.float32)
    if which in ("H", "both"):
        H = H.astype(np.float32)
    with pytest.raises(DTypeError, match="should have the same dtype as X") as err:
        NMF(3, init="custom").fit(X, W=W, H=H)
    assert isinstance(err.value, TypeError) and "astype(X.dtype)" in str(err.value)
    # scikit-learn accepts the same factors in X's dtype, and so does matfit
    NMF(3, init="custom", max_iter=5, tol=0).fit(X, W=W.astype(X.dtype), H=H.astype(X.dtype))


# ---- every message in the estimator's orientation -------------------------------------------
X65 = np.random.default_rng(0).random((6, 5))
_R = np.random.default_rng(1)


@pytest.mark.parametrize("n_components", [2, "auto"])
@pytest.mark.parametrize("W,H,blame,phrase,fix", [
    ((5, 2), (2, 5), "W", "wrong first dimension passed to NMF (input W)", "W with 6 rows"),
    ((6, 2), (2, 4), "H", "wrong second dimension passed to NMF (input H)", "H with 5 columns"),
    ((2, 6), (2, 5), "W", "wrong first dimension passed to NMF (input W)", "W.T has shape (6, 2)"),
    ((6, 2), (5, 2), "H", "passed to NMF (input H)", "H.T has shape (2, 5)"),
    ((5, 2), None, "W", "wrong first dimension passed to NMF (input W)", "W with 6 rows"),
    (None, (2, 4), "H", "wrong second dimension passed to NMF (input H)", "H with 5 columns"),
])
def test_shape_messages_blame_the_right_argument_in_samples_features(n_components, W, H,
                                                                     blame, phrase, fix):
    kw = {}
    if W is not None:
        kw["W"] = _R.random(W)
    if H is not None:
        kw["H"] = _R.random(H)
    init = "custom" if W is not None and H is not None else None
    with pytest.raises(ShapeError) as err:
        NMF(n_components, init=init).fit_transform(X65, **kw)
    msg = str(err.value)
    assert phrase in msg and fix in msg
    assert f"{blame} has" in msg and f"{blame} {kw[blame].shape}" in msg
    assert "X (6, 5)" in msg or "X" not in msg.split("Likely fix")[0]
    assert "(5, 6)" not in msg                          # never X transposed


@pytest.mark.parametrize("W,H,match", [
    ((6, 3), (2, 5), r"components.*W has 3 columns"),
    ((6, 2), (3, 5), r"components.*H has 3 rows"),
])
def test_component_count_messages(W, H, match):
    with pytest.raises(ShapeError, match=match) as err:
        NMF(2, init="custom").fit(X65, W=_R.random(W), H=_R.random(H))
    assert "Likely fix: pass " + ("W with 2 columns" if W[1] == 3 else "H with 2 rows") in str(
        err.value)


def test_value_messages_name_the_users_array_and_position():
    W, H = _R.random((6, 2)), _R.random((2, 5))
    Wneg = W.copy()
    Wneg[4, 1] = -1.0
    with pytest.raises(DataError, match=re.escape(
            "Negative values in data passed to NMF (input W): W has 1 negative entry, the "
            "first at W[4, 1] = -1.0")):
        NMF(2, init="custom").fit(X65, W=Wneg, H=H)
    Hnan = H.copy()
    Hnan[1, 3] = np.nan
    with pytest.raises(DataError, match=re.escape("the first at H[1, 3] = nan")):
        NMF(2, init="custom").fit(X65, W=W, H=Hnan)
    with pytest.raises(ShapeError, match=re.escape("W must be 2-D ('samples components')")):
        NMF(2, init="custom").fit(X65, W=W[:, 0], H=H)
    with pytest.raises(DataError, match="the H given are all zeros"):
        NMF(2, solver="mu", init="custom").fit(X65, W=W, H=np.zeros_like(H))
    with pytest.raises(InvalidParameterError, match="with only W given"):
        NMF(2, init="custom").fit(X65, W=W)
    Xz = X65.copy()
    Xz[4, 2] = 0
    with pytest.raises(DataError, match=re.escape("the first at X[4, 2]")):
        NMF(2, beta_loss="itakura-saito").fit(Xz)
    with pytest.raises(DataError, match=re.escape("Negative values in data passed to NMF "
                                                  "(input X): X has 1 negative entry, the "
                                                  "first at X[4, 2]")):
        NMF(2).fit(Xz - (Xz == 0))


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
def test_transform_messages_name_components_():
    model = NMF(2, beta_loss="kl", max_iter=50, random_state=0).fit(X65)
    model.components_[:, 3] = 0
    with pytest.raises(DataError, match=re.escape("components_ column 3")):
        model.transform(X65)


def test_solver_messages():
    with pytest.raises(InvalidParameterError, match=re.escape(
            "Invalid beta_loss parameter: solver 'cd' does not handle beta_loss = 'kl'")):
        NMF(2, solver="cd", beta_loss="kl").fit(X65)
    with pytest.raises(InvalidParameterError, match=r"one of \{'auto', 'cd', 'hals', 'mu'\}"):
        NMF(2, solver="lbfgs").fit(X65)
    with pytest.raises(InvalidParameterError, match=r"alpha_W must be a (finite )?number >= 0"):
        NMF(2, alpha_W=-1).fit(X65)                     # the estimator's name, not nmf()'s
    with pytest.raises(InvalidParameterError, match=r"alpha_H must be a (finite )?number >= 0"):
        NMF(2, alpha_H=-1).fit(X65)


# ---- factors that collapse to zero ----------------------------------------------------------
def _regularisation_data():
    return np.abs(np.random.mtrand.RandomState(42).randn(6, 5))   # test_nmf_regularization's


@pytest.mark.parametrize("solver", ["hals", "cd", "mu"])
def test_collapsed_fit_says_so_and_never_returns_huge_activations(solver):
    X = _regularisation_data()
    model = NMF(3, solver=solver, alpha_W=0.5, l1_ratio=1, random_state=42)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        W = model.fit_transform(X)
    assert any("every component collapsed to zero" in str(w.message) for w in caught)
    assert any("alpha_W=0.5" in str(w.message) for w in caught)
    assert np.isfinite(W).all() and W.max() < 10 * X.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = SkNMF(3, solver="mu" if solver == "mu" else "cd", alpha_W=0.5, l1_ratio=1,
                       random_state=42).fit(X)
    assert not theirs.components_.any()                # scikit-learn collapses as well
    if not model.components_.any():                    # exact zeros (HALS): as scikit-learn
        with pytest.raises(DataError, match="full of zeros"):
            model.transform(X)
    else:                                               # MU's floors: finite, and said
        with pytest.warns(UserWarning, match="collapsed"):
            assert np.isfinite(model.transform(X)).all()
    assert "collapsed" in model.stop_reason_ and not model.converged_


def test_functional_collapse_status():
    X = _regularisation_data()
    with pytest.warns(UserWarning, match="alpha_W=0.5, alpha_H=0.5"):
        res = nmf(X.T, 3, solver="hals", alpha_W=0.5, alpha_H=0.5, l1_ratio=1, seed=0)
    assert res.status == 6 and not res.success


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
def test_dead_components_get_zero_activations():
    from scipy.optimize import nnls

    X, _, _ = _data(2)
    model = NMF(4, solver="cd", max_iter=300, random_state=0).fit(X)
    model.components_[1] = 0                            # one dead atom
    model.set_params(tol=1e-12, max_iter=5000)
    acts = model.transform(X)
    assert np.all(acts[:, 1] == 0) and np.isfinite(acts).all()
    # the live atoms' activations are each sample's non-negative least squares (SciPy)
    live = model.components_[[0, 2, 3]].T
    reference = np.array([nnls(live, x)[0] for x in X])
    assert_allclose(acts[:, [0, 2, 3]], reference, rtol=1e-6, atol=1e-9)


# ---- the drop-in in practice ----------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_and_grid_search_run_unchanged():
    rng = np.random.default_rng(0)
    left = np.r_[np.ones(6), np.zeros(6)]
    X = np.vstack([rng.random((30, 12)) * left, rng.random((30, 12)) * left[::-1]]) + 0.01
    y = np.repeat([0, 1], 30)
    pipe = Pipeline([("nmf", NMF(random_state=0, max_iter=300)),
                     ("clf", LogisticRegression())])
    grid = GridSearchCV(pipe, {"nmf__n_components": [2, 3], "nmf__solver": ["cd", "mu"],
                               "nmf__alpha_W": [0.0, 0.01]}, cv=3, error_score="raise")
    grid.fit(X, y)
    assert grid.best_score_ > 0.9
    assert grid.best_estimator_.named_steps["nmf"].n_components_ in (2, 3)


def test_shuffle_draws_sklearns_orders():
    X = np.abs(np.random.RandomState(0).randn(20, 8))
    r = np.random.RandomState(1)
    W0, H0 = np.abs(r.randn(20, 3)), np.abs(r.randn(3, 8))
    kw = dict(solver="cd", random_state=5, init="custom", tol=1e-3)
    theirs = SkNMF(3, shuffle=True, **kw).fit(X, W=W0.copy(), H=H0.copy())
    ours = NMF(3, shuffle=True, **kw).fit(X, W=W0.copy(), H=H0.copy())
    plain = NMF(3, **kw).fit(X, W=W0.copy(), H=H0.copy())
    theirs_plain = SkNMF(3, **kw).fit(X, W=W0.copy(), H=H0.copy())
    assert ours.n_iter_ == theirs.n_iter_ and plain.n_iter_ == theirs_plain.n_iter_
    assert_allclose(ours.components_, theirs.components_, rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_default_solver_is_sklearns_for_frobenius_and_mu_otherwise():
    X, W0, H0 = _data(4)
    theirs = SkNMF(5, init="custom").fit(X, W=W0.copy(), H=H0.copy())      # its default: cd
    ours = NMF(5, init="custom").fit(X, W=W0.copy(), H=H0.copy())
    assert ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.components_, theirs.components_, rtol=1e-10, atol=1e-12)
    kl = NMF(5, beta_loss="kl", init="custom", max_iter=50, tol=0).fit(X, W=W0.copy(),
                                                                       H=H0.copy())
    mu = SkNMF(5, beta_loss="kullback-leibler", solver="mu", init="custom", max_iter=50, tol=0).fit(
        X, W=W0.copy(), H=H0.copy())
    assert_allclose(kl.components_, mu.components_, rtol=1e-10)
