"""logistic_regression / LogisticRegression against references written here or elsewhere.

* a plain Newton solver of the penalised log-likelihood, written in this file (binary and
  multinomial; the softmax intercepts' null direction is handled by a least-squares step);
* statsmodels ``Logit`` / ``MNLogit`` for the unpenalised maximum likelihood;
* central finite differences of the private objectives' gradients;
* analytic cases: a constant design (the intercepts are the logits of the weighted class
  frequencies), symmetric separable data (a 1-D fixed point), features scaled by 1e-4 and 1e4
  or offset by 1e6 (the optimum moves by the known change of variables);
* every parameter error, the ``max_iter`` / divergence statuses and the reported objective.
"""

from __future__ import annotations

import math
import os
import re
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
import scipy.special as sc
from numpy.testing import assert_allclose, assert_array_equal

from matfit import ConvergenceWarning, DataError, DTypeError, InvalidParameterError, ShapeError
from matfit.linear import LogisticRegression, logistic_regression
from matfit.linear._common import DivergenceError, column_scaling, implicit_design
from matfit.linear._logistic import _binary_objective, _multinomial_objective

threadpoolctl = pytest.importorskip("threadpoolctl")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # tiny dense problems: two BLAS threads on a busy 2-core machine are many times slower
    with threadpoolctl.threadpool_limits(1, "blas"):
        yield


# -- references -------------------------------------------------------------------------------


def _design(X, fit_intercept):
    return np.column_stack([X, np.ones(len(X))]) if fit_intercept else X


def newton_binary(X, t, *, C=1.0, sw=None, fit_intercept=True, pen=None):
    """argmin C * sum sw * BCE(X w + b, t) + 0.5 * sum(pen * w^2) by plain Newton steps."""
    n, p = X.shape
    sw = np.ones(n) if sw is None else sw
    pen = np.ones(p) if pen is None else pen
    A = _design(X, fit_intercept)
    lam = np.r_[pen, 0.0] if fit_intercept else pen
    x = np.zeros(A.shape[1])
    for _ in range(200):
        z = A @ x
        mu = sc.expit(z)
        g = C * A.T @ (sw * (mu - t)) + lam * x
        H = C * (A.T * (sw * mu * (1 - mu))) @ A + np.diag(lam)
        step = np.linalg.solve(H, g)
        x = x - step
        if np.max(np.abs(step)) < 1e-13 * max(1.0, np.max(np.abs(x))):
            break
    return (x[:p], x[p]) if fit_intercept else (x, 0.0)


def newton_multinomial(X, y, K, *, C=1.0, sw=None, fit_intercept=True, pen=None):
    """argmin C * sum sw * CE(softmax(X W' + b), y) + 0.5 sum(pen * W^2); sum(b) = 0."""
    n, p = X.shape
    sw = np.ones(n) if sw is None else sw
    pen = np.ones(p) if pen is None else pen
    A = _design(X, fit_intercept)
    q = A.shape[1]
    lam = np.tile(np.r_[pen, 0.0] if fit_intercept else pen, K)
    Y = np.eye(K)[y]
    x = np.zeros(K * q)
    for _ in range(200):
        B = x.reshape(K, q)
        P = sc.softmax(A @ B.T, axis=1)
        g = (C * A.T @ ((P - Y) * sw[:, None])).T.ravel() + lam * x
        # H[(k, a), (l, c)] = C sum_i sw_i (P_ik [k = l] - P_ik P_il) A_ia A_ic
        S = np.einsum("ik,kl->ikl", P, np.eye(K)) - np.einsum("ik,il->ikl", P, P)
        H = C * np.einsum("i,ikl,ia,ic->kalc", sw, S, A, A).reshape(K * q, K * q)
        H += np.diag(lam)
        step = np.linalg.lstsq(H, g, rcond=None)[0]   # singular along the intercepts' sum
        x = x - step
        if np.max(np.abs(step)) < 1e-13 * max(1.0, np.max(np.abs(x))):
            break
    B = x.reshape(K, q)
    if not fit_intercept:
        return B, np.zeros(K)
    return B[:, :p], B[:, p] - B[:, p].mean()


def plain_objective(X, y, W, b, *, C, sw, kind, penalised=True):
    """C * sum sw * loss + 0.5 ||W||^2, the loss of each kind written out."""
    Z = X @ W.T + b
    if kind == "binary":
        z, t = Z[:, 0], (y == 1)
        per = np.where(t, np.log1p(np.exp(-z)), np.log1p(np.exp(z)))
    elif kind == "ovr":
        T = y[:, None] == np.arange(W.shape[0])
        per = np.where(T, np.log1p(np.exp(-Z)), np.log1p(np.exp(Z))).sum(axis=1)
    else:
        per = -(Z[np.arange(len(y)), y] - np.log(np.exp(Z).sum(axis=1)))
    return C * float(sw @ per) + (0.5 * float(np.sum(W * W)) if penalised else 0.0)


def _data(n=40, p=3, K=2, seed=0, shift=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    X = rng.standard_normal((n, p)) + shift * np.eye(K, p)[y]
    return X, y


# -- the fitted coefficients ------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("C", [0.05, 1.0, 30.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_matches_a_plain_newton_solver(fit_intercept, C, weighted):
    X, y = _data(seed=1)
    X = X + np.array([2.0, -1.0, 0.5])   # off-centre columns: the intercept has work to do
    sw = np.random.default_rng(2).uniform(0.2, 3.0, len(y)) if weighted else None
    res = logistic_regression(X, y, 2, C=C, fit_intercept=fit_intercept, sample_weight=sw)
    w, b = newton_binary(X, y.astype(float), C=C, sw=sw, fit_intercept=fit_intercept)
    assert res.coef.shape == (1, 3) and res.intercept.shape == (1,)
    assert_allclose(res.coef[0], w, rtol=0, atol=1e-7)
    assert_allclose(res.intercept, [b], rtol=0, atol=1e-7)
    assert res.status in (0, 5) and res.n_models == 1   # converged, or precision exhausted
    sw1 = np.ones(len(y)) if sw is None else sw
    want = plain_objective(X, y, w[None], np.array([b]), C=C, sw=sw1, kind="binary")
    assert_allclose(res.fun, want, rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_matches_a_plain_newton_solver(fit_intercept, weighted):
    X, y = _data(n=45, K=3, seed=3)
    X = X + np.array([1.0, -2.0, 0.0])
    sw = np.random.default_rng(4).uniform(0.2, 3.0, len(y)) if weighted else None
    res = logistic_regression(X, y, 3, C=0.8, fit_intercept=fit_intercept, sample_weight=sw)
    W, b = newton_multinomial(X, y, 3, C=0.8, sw=sw, fit_intercept=fit_intercept)
    assert res.coef.shape == (3, 3) and res.intercept.shape == (3,)
    assert_allclose(res.coef, W, rtol=0, atol=1e-7)
    assert_allclose(res.intercept, b, rtol=0, atol=1e-7)
    assert res.n_models == 1
    sw1 = np.ones(len(y)) if sw is None else sw
    want = plain_objective(X, y, W, b, C=0.8, sw=sw1, kind="multinomial")
    assert_allclose(res.fun, want, rtol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_one_vs_rest_is_one_newton_solve_per_class(fit_intercept):
    X, y = _data(n=45, K=3, seed=5)
    X = X - np.array([0.0, 1.5, -1.0])
    sw = np.random.default_rng(6).uniform(0.2, 3.0, len(y))
    res = logistic_regression(X, y, 3, multi_class="ovr", C=2.0, fit_intercept=fit_intercept,
                              sample_weight=sw)
    assert res.coef.shape == (3, 3) and res.n_models == 3
    for k in range(3):
        w, b = newton_binary(X, (y == k).astype(float), C=2.0, sw=sw,
                             fit_intercept=fit_intercept)
        assert_allclose(res.coef[k], w, rtol=0, atol=1e-7)
        assert_allclose(res.intercept[k], b, rtol=0, atol=1e-7)
    want = plain_objective(X, y, res.coef, res.intercept, C=2.0, sw=sw, kind="ovr")
    assert_allclose(res.fun, want, rtol=1e-12)
    # ovr intercepts are not re-centred (each binary model has its own)
    if fit_intercept:
        assert abs(res.intercept.sum()) > 0.1


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr"])
@pytest.mark.parametrize("K", [2, 3])
def test_sparse_input_matches_the_newton_solution(fmt, K):
    X, y = _data(n=50, p=4, K=K, seed=7)
    X[np.abs(X) < 0.6] = 0.0
    X = X + (X != 0) * 1.0                  # non-zero column means, zeros kept
    Xs = sp.csr_matrix(X).asformat(fmt)
    res = logistic_regression(Xs, y, K, C=0.5)
    if K == 2:
        w, b = newton_binary(X, y.astype(float), C=0.5)
        W, b = w[None], np.array([b])
    else:
        W, b = newton_multinomial(X, y, K, C=0.5)
    assert_allclose(res.coef, W, rtol=0, atol=1e-7)
    assert_allclose(res.intercept, b, rtol=0, atol=1e-7)


@pytest.mark.parametrize("solver,kw", [("gd", {}), ("adam", {"lr": 0.05, "max_iter": 20000,
                                                              "tol": 1e-9})])
@pytest.mark.parametrize("K", [2, 3])
def test_gradient_solvers_reach_the_newton_solution(solver, kw, K):
    X, y = _data(n=40, K=K, seed=8)
    res = logistic_regression(X, y, K, solver=solver, **kw)
    if K == 2:
        w, b = newton_binary(X, y.astype(float))
        W, b = w[None], np.array([b])
    else:
        W, b = newton_multinomial(X, y, K)
    assert_allclose(res.coef, W, rtol=0, atol=1e-6)
    assert_allclose(res.intercept, b, rtol=0, atol=1e-6)


def test_unpenalised_binary_matches_statsmodels_logit():
    dm = pytest.importorskip("statsmodels.discrete.discrete_model")
    X, y = _data(n=80, seed=9, shift=0.7)
    X = X * np.array([1.0, 50.0, 0.02]) + np.array([0.0, 300.0, -1.0])
    res = logistic_regression(X, y, 2, penalty=None)
    ref = dm.Logit(y, _design(X, True)).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    assert_allclose(res.intercept[0], ref.params[-1], rtol=1e-6)   # the constant is last
    assert_allclose(res.coef[0], ref.params[:-1], rtol=1e-6)
    # the unpenalised objective is the plain negative log-likelihood (C plays no part)
    assert_allclose(res.fun, -ref.llf, rtol=1e-10)
    for kw in ({"C": np.inf}, {"penalty": None, "C": 3.0}):
        other = logistic_regression(X, y, 2, **kw)
        assert_allclose(other.coef, res.coef, rtol=1e-6)
        assert_allclose(other.fun, -ref.llf, rtol=1e-10)


def test_unpenalised_multinomial_matches_statsmodels_mnlogit():
    dm = pytest.importorskip("statsmodels.discrete.discrete_model")
    X, y = _data(n=90, K=3, seed=10, shift=0.8)
    res = logistic_regression(X, y, 3, penalty=None, max_iter=5000)
    ref = dm.MNLogit(y, _design(X, True)).fit(method="newton", tol=1e-14, maxiter=100,
                                                disp=0)
    # statsmodels pins class 0 to zero; matfit's intercepts sum to zero: compare differences
    params = np.column_stack([np.zeros(4), ref.params])        # (features + 1, classes)
    W_ref, b_ref = params[:-1].T, params[-1]
    assert_allclose(res.coef - res.coef[0], W_ref, rtol=0, atol=1e-5)
    assert_allclose(res.intercept - res.intercept[0], b_ref, rtol=0, atol=1e-5)
    assert_allclose(res.fun, -ref.llf, rtol=1e-9)


# -- analytic cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("K,multi_class", [(2, "multinomial"), (3, "multinomial"), (3, "ovr")])
def test_constant_design_gives_the_log_odds_of_the_weighted_frequencies(K, multi_class):
    rng = np.random.default_rng(11)
    y = rng.integers(0, K, 60)
    sw = rng.uniform(0.1, 2.0, 60)
    X = np.full((60, 2), 3.0)      # no information: coefficients 0, intercepts the base rates
    res = logistic_regression(X, y, K, sample_weight=sw, multi_class=multi_class, tol=1e-12)
    freq = np.bincount(y, weights=sw, minlength=K) / sw.sum()
    assert_allclose(res.coef, 0.0, atol=1e-10)
    if K == 2:
        assert_allclose(res.intercept, [math.log(freq[1] / freq[0])], rtol=1e-7)
    elif multi_class == "ovr":
        assert_allclose(res.intercept, np.log(freq / (1 - freq)), rtol=1e-7)
    else:
        assert_allclose(res.intercept, np.log(freq) - np.log(freq).mean(), rtol=1e-7)


def test_symmetric_separable_data_solve_the_one_dimensional_fixed_point():
    # x = -1 (class 0) and +1 (class 1), m of each: by symmetry b = 0 and w solves
    # C * 2m * x sigmoid(-w) = w, i.e. 2 C m sigmoid(-w) = w
    m, C = 5, 3.0
    X = np.r_[-np.ones(m), np.ones(m)][:, None]
    y = np.r_[np.zeros(m, int), np.ones(m, int)]
    w = scipy.optimize.brentq(lambda w: 2 * C * m * sc.expit(-w) - w, 0.0, 100.0, xtol=1e-15)
    res = logistic_regression(X, y, 2, C=C)
    assert_allclose(res.coef, [[w]], rtol=1e-9)
    assert_allclose(res.intercept, [0.0], atol=1e-9)
    model = LogisticRegression(C=C).fit(X, y)
    assert_allclose(model.predict_proba(np.array([[1.0]]))[0, 1], sc.expit(w), rtol=1e-9)


def test_separable_data_without_a_penalty_runs_out_of_iterations():
    # no finite maximiser: the coefficient grows until the budget ends, and that is reported
    X = np.r_[-np.ones(5), np.ones(5)][:, None]
    y = np.r_[np.zeros(5, int), np.ones(5, int)]
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after \d+ "
                      r"iteration\(s\) \(max_iter=30, tol=1e-10\)"):
        res = logistic_regression(X, y, 2, penalty=None, max_iter=30)
    assert res.coef[0, 0] > 5.0
    assert res.status == 1 and not res.success
    assert "maximum number of iterations" in res.message


@pytest.mark.parametrize("scale,offset", [(1e-4, 0.0), (1e4, 0.0), (1.0, 1e6), (1e4, -3e5)])
@pytest.mark.parametrize("K", [2, 3])
def test_badly_scaled_features_reach_the_changed_variables_optimum(scale, offset, K):
    # X' = s X + c: the penalty on w' = w / s is ||w||^2 / s^2 (Newton on the unscaled X
    # with that penalty), and the intercept absorbs c: b' = b - c * sum(w')
    X, y = _data(n=60, K=K, seed=12)
    Xp = X * scale + offset
    res = logistic_regression(Xp, y, K, C=1.0)
    pen = np.full(3, 1.0 / scale**2)
    if K == 2:
        w, b = newton_binary(X, y.astype(float), pen=pen)
        V, b = w[None], np.array([b])
    else:
        V, b = newton_multinomial(X, y, K, pen=pen)
    b = b - offset * V.sum(axis=1) / scale
    if K > 2:
        b = b - b.mean()
    # V = s * coef is the coefficient on the unscaled X, of order 1 for every s
    assert_allclose(res.coef * scale, V, rtol=0, atol=1e-7)
    assert_allclose(res.intercept, b, rtol=0, atol=1e-7 * max(1.0, abs(offset) / scale))


# -- the private objectives: value by a plain formula, gradient by finite differences --------


def _fd(fun, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(len(x)):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (fun(x + e)[0] - fun(x - e)[0]) / (2 * h)
    return g


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_binary_objective_value_and_gradient(sparse, fit_intercept):
    rng = np.random.default_rng(13)
    X, y = _data(n=30, p=3, seed=13)
    X = X + 2.0
    w = rng.uniform(0.5, 2.0, len(y))
    w /= w.sum()
    scaling = column_scaling(X, center=fit_intercept, scale=True, weights=w)
    D = implicit_design(sp.csr_matrix(X) if sparse else X, scaling)
    reg = rng.uniform(0.1, 1.0, 3)
    t = y.astype(float)
    fun = _binary_objective(D, t, w, reg, fit_intercept)
    x = rng.standard_normal(4 if fit_intercept else 3)
    f, g = fun(x)
    Xs = (X - scaling.mean) / scaling.scale
    z = Xs @ x[:3] + (x[3] if fit_intercept else 0.0)
    want = float(w @ (np.log1p(np.exp(z)) - t * z)) + 0.5 * float(reg @ (x[:3] ** 2))
    assert_allclose(f, want, rtol=1e-13)
    assert_allclose(g, _fd(fun, x), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multinomial_objective_value_and_gradient(sparse, fit_intercept):
    rng = np.random.default_rng(14)
    X, y = _data(n=30, p=3, K=3, seed=14)
    X = X - 1.0
    w = rng.uniform(0.5, 2.0, len(y))
    w /= w.sum()
    scaling = column_scaling(X, center=fit_intercept, scale=True, weights=w)
    D = implicit_design(sp.csr_matrix(X) if sparse else X, scaling)
    reg = rng.uniform(0.1, 1.0, 3)
    fun = _multinomial_objective(D, y, 3, w, reg, fit_intercept)
    x = rng.standard_normal(12 if fit_intercept else 9)
    f, g = fun(x)
    U = x[:9].reshape(3, 3)
    Xs = (X - scaling.mean) / scaling.scale
    Z = Xs @ U.T + (x[9:] if fit_intercept else 0.0)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    want = -float(w @ logp[np.arange(len(y)), y]) + 0.5 * float(np.sum(reg * U * U))
    assert_allclose(f, want, rtol=1e-13)
    assert_allclose(g, _fd(fun, x), rtol=1e-7, atol=1e-9)


# -- statuses, warnings, init -----------------------------------------------------------------


@pytest.mark.parametrize("K,multi_class,n_models", [(2, "ovr", 1), (3, "ovr", 3),
                                                    (3, "multinomial", 1)])
def test_max_iter_zero_returns_the_start_and_its_objective(K, multi_class, n_models):
    X, y = _data(n=30, K=K, seed=15)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 0 "
                      r"iteration\(s\) \(max_iter=0, tol=1e-10\): max_iter=0: no iteration "
                      r"was run\. Increase max_iter, or loosen tol\."):
        res = logistic_regression(X, y, K, multi_class=multi_class, max_iter=0, C=0.5)
    rows = 1 if K == 2 else K
    assert_array_equal(res.coef, np.zeros((rows, 3)))
    assert_array_equal(res.intercept, np.zeros(rows))
    assert res.nit == 0 and res.status == 1 and res.success is False
    assert res.n_models == n_models
    # every sample's loss is log 2 (binary models) or log K (softmax), times C = 0.5
    per = rows * math.log(2) if (K == 2 or multi_class == "ovr") else math.log(K)
    assert_allclose(res.fun, 0.5 * len(y) * per, rtol=1e-13)


def test_one_iteration_warns_and_counts_every_models_iterations():
    X, y = _data(n=30, K=3, seed=16)
    with pytest.warns(ConvergenceWarning, match=r"^lbfgs failed to converge after 1 "
                      r"iteration\(s\) \(max_iter=1, tol=1e-10\): maximum number of iter"):
        res = logistic_regression(X, y, 3, multi_class="ovr", max_iter=1)
    assert res.nit == 3 and res.status == 1 and not res.success
    full = logistic_regression(X, y, 3, multi_class="ovr")
    assert full.status in (0, 5) and full.nit > 3    # converged, or precision exhausted


def test_gd_failure_is_named_by_its_solver():
    X, y = _data(n=30, seed=17)
    with pytest.warns(ConvergenceWarning, match=r"^gd failed to converge after 2 "):
        res = logistic_regression(X, y, 2, solver="gd", max_iter=2)
    assert res.nit == 2 and res.status == 1


@pytest.mark.parametrize("lr,how", [
    (1e9, r"the objective exploded from"),                       # status 4
    (1e300, r"the objective or its gradient became non-finite"),  # status 3: u^2 overflows
])
def test_adam_divergence_raises_with_the_solver_named(lr, how):
    X, y = _data(n=30, seed=18)
    with pytest.raises(DivergenceError, match=r"^logistic_regression\(solver='adam'\): "
                       r"diverged: " + how):
        with np.errstate(over="ignore", invalid="ignore"):   # the overflow is the point
            logistic_regression(X, y, 2, solver="adam", lr=lr, max_iter=50)


def test_one_vs_rest_reports_the_model_that_ran_out_of_iterations():
    # class 1 is separable from the rest (no finite unpenalised optimum, the gradient decays
    # slowly), classes 0 and 2 overlap: the middle binary model exhausts max_iter, the others
    # converge, and the result reports the one that failed
    rng = np.random.default_rng(31)
    y = np.repeat([0, 1, 2], 20)
    X = rng.standard_normal((60, 2))
    X[:, 0] = np.where(y == 1, 1.0 + np.abs(X[:, 0]), -np.abs(X[:, 0]))
    X[y == 2, 1] += 0.5
    with pytest.warns(ConvergenceWarning) as caught:
        res = logistic_regression(X, y, 3, multi_class="ovr", penalty=None, max_iter=20)
    assert len(caught) == 1
    assert str(caught[0].message).startswith("lbfgs failed to converge after 20 iteration(s) "
                                             "(max_iter=20, tol=1e-10): maximum number of")
    assert res.status == 1 and res.success is False
    assert res.message.startswith("maximum number of iterations reached (max_iter=20)")
    alone = [logistic_regression(X, (y == k).astype(int), 2, penalty=None, max_iter=20)
             for k in (0, 2)]
    assert all(r.status == 0 and r.nit < 20 for r in alone)    # the others did converge
    assert res.nit == 20 + sum(r.nit for r in alone)
    for k, r in zip((0, 2), alone, strict=True):
        assert_allclose(res.coef[k], r.coef[0], rtol=1e-12)
        assert_allclose(res.intercept[k], r.intercept[0], rtol=1e-12)


@pytest.mark.parametrize("K,fit_intercept", [(2, True), (3, True), (3, False), (2, False)])
def test_init_at_the_optimum_needs_no_iteration(K, fit_intercept):
    X, y = _data(n=40, K=K, seed=19)
    X = X * np.array([3.0, 0.2, 1.0]) + np.array([5.0, -2.0, 0.0])
    opt = logistic_regression(X, y, K, fit_intercept=fit_intercept, tol=1e-12)
    again = logistic_regression(X, y, K, fit_intercept=fit_intercept, tol=1e-8,
                                init=(opt.coef, opt.intercept))
    assert again.nit == 0 and again.success
    assert_allclose(again.coef, opt.coef, rtol=0, atol=1e-12)
    assert_allclose(again.intercept, opt.intercept, rtol=0, atol=1e-12)
    # max_iter=0 returns a given start unchanged, in raw coordinates
    rows = 1 if K == 2 else K
    start = (np.ones((rows, 3)), np.array([2.0, -1.0, 0.5])[:rows])
    with pytest.warns(ConvergenceWarning):
        stay = logistic_regression(X, y, K, fit_intercept=fit_intercept, max_iter=0,
                                   init=start)
    assert_array_equal(stay.coef, start[0])
    # softmax intercepts are reported with zero sum; binary models keep theirs
    want = start[1] - (start[1].mean() if K > 2 else 0.0) if fit_intercept else np.zeros(rows)
    assert_allclose(stay.intercept, want, rtol=0, atol=1e-12)


def test_init_with_the_wrong_shape_is_named():
    X, y = _data(n=20, K=3, seed=20)
    with pytest.raises(DataError, match=r"init=\.\.\.\): coef has shape \(1, 3\) but this "
                       r"problem needs \(3, 3\)\."):
        logistic_regression(X, y, 3, init=(np.zeros((1, 3)), np.zeros(1)))


# -- parameter and input errors ----------------------------------------------------------------


@pytest.mark.parametrize("kw,pattern", [
    ({"multi_class": "softmax"}, r"\(multi_class='softmax'\): multi_class must be "
                                 r"'multinomial' or 'ovr'\."),
    ({"penalty": "l1"}, r"\(penalty='l1'\): penalty must be 'l2' or None \(no penalty\)\."),
    ({"C": 0.0}, r"\(C=0\.0\): C must be a number > 0"),
    ({"C": -1}, r"\(C=-1\): C must be a number > 0"),
    ({"C": True}, r"\(C=True\): C must be"),
    ({"C": float("nan")}, r"\(C=nan\): C must be"),
    ({"C": "1"}, r"\(C='1'\): C must be"),
    ({"solver": "sag"}, r"\(solver='sag'\): solver must be one of 'lbfgs', 'gd', 'adam'\."),
    ({"max_iter": -1}, r"\(max_iter=-1\): max_iter must be an integer >= 0 \(0 returns the "
                       r"starting point\)\."),
    ({"max_iter": 10.0}, r"\(max_iter=10\.0\): max_iter must be"),
    ({"max_iter": True}, r"\(max_iter=True\): max_iter must be"),
    ({"tol": 0.0}, r"\(tol=0\.0\): tol must be a number > 0\."),
    ({"tol": -1e-3}, r"\(tol=-0\.001\): tol must be"),
    ({"tol": False}, r"\(tol=False\): tol must be"),
    ({"tol": "1e-4"}, r"\(tol='1e-4'\): tol must be"),
])
def test_parameter_errors_name_the_argument(kw, pattern):
    X, y = _data(n=20, seed=21)
    with pytest.raises(InvalidParameterError, match=r"^logistic_regression" + pattern):
        logistic_regression(X, y, 2, **kw)
    with pytest.raises(InvalidParameterError, match=r"^LogisticRegression" + pattern):
        LogisticRegression(**kw).fit(X, y)


@pytest.mark.parametrize("kw", [{"C": 1}, {"C": np.float32(2.0)}, {"C": np.int64(3)},
                                {"max_iter": np.int32(5)}, {"tol": 1}, {"tol": np.float64(1e-6)},
                                {"C": np.inf}, {"max_iter": 0}])
def test_numpy_and_integer_parameters_are_accepted(kw):
    X, y = _data(n=20, seed=22)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = logistic_regression(X, y, 2, **kw)
    assert res.coef.shape == (1, 3)


def test_class_indices_must_be_integers_in_range():
    X, y = _data(n=20, seed=23)
    with pytest.raises(DTypeError, match=r"y_index must hold integer class indices, got dtype "
                       r"float64; map labels with np.unique"):
        logistic_regression(X, y.astype(float), 2)
    with pytest.raises(DataError, match=r"must lie in \[0, 2\] for n_classes=3; found values "
                       r"in \[-1, 2\]"):
        logistic_regression(X, np.r_[-1, y[1:] + 1], 3)
    with pytest.raises(DataError, match=r"found values in \[0, 3\]"):
        logistic_regression(X, np.r_[3, y[1:]], 3)
    res = logistic_regression(X, y.astype(np.uint8), 2)   # unsigned indices are indices too
    assert res.coef.shape == (1, 3)


@pytest.mark.parametrize("n_classes", [1, 0, 2.0, True, "2"])
def test_n_classes_must_be_an_integer_of_at_least_two(n_classes):
    # n_classes=1 used to fit a binary model against an all-zero target and report log 2 per
    # sample for a one-class softmax, whose loss is 0
    X, y = _data(n=20, seed=46)
    with pytest.raises(InvalidParameterError, match=r"^logistic_regression\(n_classes="
                       + re.escape(repr(n_classes)) + r"\): n_classes must be an integer >= 2 \(a "
                       r"one-class model has nothing to fit\)\.$"):
        logistic_regression(X, np.zeros_like(y), n_classes)


def test_zero_total_weight_is_refused():
    X, y = _data(n=20, seed=24)
    with pytest.raises(DataError, match=r"^logistic_regression: sample_weight sums to zero "
                       r"\(every weight is zero\): at least one sample needs a positive "
                       r"weight\.$"):
        logistic_regression(X, y, 2, sample_weight=np.zeros(len(y)))


def test_estimator_with_every_weight_zero_names_the_sum():
    X, y = _data(n=20, seed=32)
    with pytest.raises(DataError, match=r"^logistic_regression: sample_weight sums to zero"):
        LogisticRegression().fit(X, y, sample_weight=np.zeros(len(y)))


def test_estimator_names_the_only_class_left_with_weight():
    X, y = _data(n=30, K=3, seed=33)
    labels = np.array(["ant", "bee", "cat"])[y]
    with pytest.raises(ValueError, match=r"only class 'bee' has any: check sample_weight"):
        LogisticRegression().fit(X, labels, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match=r"only class 'cat' has any"):
        LogisticRegression(class_weight={"ant": 0.0, "bee": 0.0}).fit(X, labels)
    with pytest.raises(ValueError, match=r"only class 'ant' has any"):   # weights sum < 1
        LogisticRegression().fit(X, labels, sample_weight=0.01 * (y == 0))


def test_sparse_input_is_declared_to_scikit_learn():
    assert LogisticRegression().__sklearn_tags__().input_tags.sparse is True


def test_float32_sparse_and_dense_fit_in_float64():
    X, y = _data(n=40, seed=25)
    X32 = (X * 1e3).astype(np.float32)
    res = logistic_regression(X32, y, 2)
    ref_w, ref_b = newton_binary(X32.astype(np.float64), y.astype(float))
    assert res.coef.dtype == np.float64
    assert_allclose(res.coef[0], ref_w, rtol=1e-7, atol=1e-10)
    sres = logistic_regression(sp.csc_matrix(X32), y, 2)
    assert_allclose(sres.coef[0], ref_w, rtol=1e-7, atol=1e-10)
    assert_allclose(sres.intercept[0], ref_b, rtol=1e-7, atol=1e-8)


# -- the estimator's predictions against formulas written here --------------------------------


def test_estimator_predictions_binary():
    X, y = _data(n=40, seed=26)
    labels = np.array(["no", "yes"])[y]
    model = LogisticRegression(C=0.3).fit(X, labels)
    w, b = newton_binary(X, y.astype(float), C=0.3)
    z = X @ w + b
    assert_allclose(model.decision_function(X), z, rtol=1e-7, atol=1e-9)
    assert_allclose(model.predict_proba(X), np.column_stack([sc.expit(-z), sc.expit(z)]),
                    rtol=1e-7)
    assert_allclose(model.predict_log_proba(X),
                    np.column_stack([sc.log_expit(-z), sc.log_expit(z)]), rtol=1e-7)
    assert_array_equal(model.predict(X), np.where(z > 0, "yes", "no"))
    assert model.n_iter_.dtype == np.int32 and model.n_iter_.shape == (1,)
    assert_allclose(model.objective_, plain_objective(X, y, w[None], np.array([b]), C=0.3,
                                                      sw=np.ones(len(y)), kind="binary"),
                    rtol=1e-10)


@pytest.mark.parametrize("multi_class", ["multinomial", "ovr"])
def test_estimator_predictions_multiclass(multi_class):
    X, y = _data(n=45, K=3, seed=27)
    model = LogisticRegression(multi_class, C=0.6).fit(X, y + 10)
    if multi_class == "multinomial":
        W, b = newton_multinomial(X, y, 3, C=0.6)
        Z = X @ W.T + b
        P, L = sc.softmax(Z, axis=1), sc.log_softmax(Z, axis=1)
    else:
        fits = [newton_binary(X, (y == k).astype(float), C=0.6) for k in range(3)]
        Z = X @ np.array([f[0] for f in fits]).T + np.array([f[1] for f in fits])
        S = sc.expit(Z)
        P = S / S.sum(axis=1, keepdims=True)
        L = np.log(P)
    assert_allclose(model.decision_function(X), Z, rtol=1e-6, atol=1e-8)
    assert_allclose(model.predict_proba(X), P, rtol=1e-6)
    assert_allclose(model.predict_log_proba(X), L, rtol=1e-6, atol=1e-9)
    assert_array_equal(model.predict(X), 10 + np.argmax(Z, axis=1))


def test_sparsify_keeps_the_predictions_and_densify_restores_the_array():
    X, y = _data(n=40, K=3, seed=28)
    model = LogisticRegression().fit(X, y)
    dense_coef = model.coef_.copy()
    P = model.predict_proba(X)
    assert model.sparsify() is model
    assert sp.issparse(model.coef_)
    assert_allclose(model.predict_proba(X), P, rtol=1e-14)
    assert_allclose(model.predict_proba(sp.csr_matrix(X)), P, rtol=1e-14)
    model.fit(X, y)                          # a sparse coef_ is refitted (no warm start)
    assert not sp.issparse(model.coef_)
    model.sparsify()
    assert model.densify() is model and model.densify() is model   # twice: already dense
    assert isinstance(model.coef_, np.ndarray)
    assert_array_equal(model.coef_, dense_coef)


@pytest.mark.parametrize("K", [2, 3])
def test_warm_start_from_a_sparsified_fit_starts_at_the_optimum(K):
    X, y = _data(n=40, K=K, seed=29)
    model = LogisticRegression(warm_start=True, tol=1e-8).fit(X, y)
    model.sparsify()
    model.fit(X, y)
    assert model.n_iter_[0] == 0
    model.fit(X[:, :2], y)                  # another shape: a cold start, not an error
    assert model.coef_.shape == (1 if K == 2 else K, 2) and model.n_iter_[0] > 0


def test_the_estimator_passes_tol_and_max_iter_to_the_solver():
    X, y = _data(n=30, seed=44)
    with pytest.warns(ConvergenceWarning, match=r"^lbfgs failed to converge after 2 "
                      r"iteration\(s\) \(max_iter=2, tol=0\.001\)"):
        LogisticRegression(tol=1e-3, max_iter=2).fit(X, y)


def test_penalty_none_warns_that_c_is_ignored_and_ignores_it():
    X, y = _data(n=40, seed=30, shift=0.5)
    with pytest.warns(UserWarning, match=r"^Setting penalty=None will ignore the C and "
                      r"l1_ratio parameters: the fit has no penalty\. Leave C at 1\.0"):
        a = LogisticRegression(penalty=None, C=5.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # C = 1 with penalty=None does not warn
        b = LogisticRegression(penalty=None).fit(X, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-12)
    w, c = newton_binary(X, y.astype(float), pen=np.zeros(3))
    assert_allclose(a.coef_[0], w, rtol=1e-6)
    assert_allclose(a.objective_, plain_objective(X, y, w[None], np.array([c]), C=1.0,
                                                  sw=np.ones(len(y)), kind="binary",
                                                  penalised=False), rtol=1e-10)


def test_a_zero_logit_predicts_the_first_class_as_scikit_learn_does():
    sk = pytest.importorskip("sklearn.linear_model")
    X, y = _data(n=30, seed=34)
    model = LogisticRegression(fit_intercept=False).fit(X, np.array(["a", "b"])[y])
    ref = sk.LogisticRegression(fit_intercept=False).fit(X, np.array(["a", "b"])[y])
    ref.coef_, ref.intercept_ = model.coef_.copy(), model.intercept_.copy()
    origin = np.zeros((1, 3))                        # logit exactly 0: probability 1/2
    assert model.decision_function(origin)[0] == 0.0
    assert_array_equal(model.predict(origin), ref.predict(origin))
    assert_array_equal(model.predict(origin), ["a"])


def test_defaults_are_the_documented_ones():
    assert LogisticRegression().get_params() == {
        "multi_class": "multinomial", "penalty": "l2", "C": 1.0, "solver": "lbfgs",
        "fit_intercept": True, "lr": None, "max_iter": 1000, "tol": 1e-10, "verbose": 0,
        "class_weight": None, "random_state": None, "warm_start": False}


@pytest.mark.parametrize("solver", ["lbfgs", "gd"])
def test_verbose_draws_the_solvers_progress_bar_on_stderr(solver, capsys):
    pytest.importorskip("tqdm")
    X, y = _data(n=30, K=3, seed=35)
    logistic_regression(X, y, 3, solver=solver)
    assert capsys.readouterr().err == ""
    name = {"lbfgs": "lbfgs", "gd": "bb"}[solver]
    logistic_regression(X, y, 3, solver=solver, verbose=1)
    assert f"minimize[{name}]" in capsys.readouterr().err
    LogisticRegression(solver=solver, verbose=1).fit(X, y)
    assert f"minimize[{name}]" in capsys.readouterr().err
    logistic_regression(X, (y == 1).astype(int), 2, solver=solver, verbose=1)   # binary
    assert f"minimize[{name}]" in capsys.readouterr().err


# mutmut calls every function through a trampoline (an extra frame), so under it no stacklevel
# can point at the caller (tools/mutation-equivalent.txt lists those mutants)
@pytest.mark.skipif("MUTANT_UNDER_TEST" in os.environ, reason="mutmut's trampolines add frames")
def test_the_convergence_warning_points_at_the_caller():
    X, y = _data(n=30, seed=41)
    with pytest.warns(ConvergenceWarning) as caught:
        logistic_regression(X, y, 2, max_iter=1)
    assert [w.filename for w in caught] == [__file__]


def test_every_parameter_is_stored_as_given():
    # scikit-learn's clone / get_params contract: __init__ stores each argument unchanged
    given = {"multi_class": "ovr", "penalty": None, "C": 3.5, "solver": "adam",
             "fit_intercept": False, "lr": 0.01, "max_iter": 7, "tol": 1e-3, "verbose": 2,
             "class_weight": "balanced", "random_state": 11, "warm_start": True}
    assert LogisticRegression(**given).get_params() == given


def test_a_numeric_warning_the_caller_made_an_error_is_raised_from_inside_the_solver():
    # the solver's own ConvergenceWarnings are collected; the caller's other filters still hold
    X, y = _data(n=30, seed=36)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="overflow"):
            logistic_regression(X, y, 2, solver="adam", lr=1e300, max_iter=5)


def test_adam_first_step_is_lr_along_the_gradient_sign():
    # from zero, Adam's bias-corrected first step is lr * g / (|g| + eps) in each coordinate
    # (PyTorch's arithmetic); without intercept or penalty the columns are only divided by their
    # root mean square, so the raw step is that over the RMS, with g the scaled gradient
    rng = np.random.default_rng(37)
    y = rng.integers(0, 2, 30)
    X = rng.standard_normal((30, 3)) * np.array([1.0, 20.0, 0.05]) + np.eye(2, 3)[y]
    rms = np.sqrt(np.mean(X * X, axis=0))
    g = (X / rms).T @ (0.5 - y) / len(y)
    with pytest.warns(ConvergenceWarning, match=r"^adam failed to converge after 1 "):
        res = logistic_regression(X, y, 2, solver="adam", lr=0.3, max_iter=1, penalty=None,
                                  fit_intercept=False)
    assert_allclose(res.coef[0] * rms, -0.3 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_adam_default_budget_and_tolerance_are_in_the_warning():
    X, y = _data(n=30, seed=38)
    with pytest.warns(ConvergenceWarning, match=r"^adam failed to converge after 1000 "
                      r"iteration\(s\) \(max_iter=1000, tol=1e-10\)"):
        logistic_regression(X, y, 2, solver="adam")


@pytest.mark.parametrize("factor", [1e-4, 1e4])
def test_tiny_and_huge_sample_weights_only_rescale_c(factor):
    # sum_i (f w_i) loss_i with C is sum_i w_i loss_i with C * f
    X, y = _data(n=40, seed=39)
    sw = np.random.default_rng(40).uniform(0.5, 2.0, len(y))
    res = logistic_regression(X, y, 2, sample_weight=factor * sw, C=1.0)
    w, b = newton_binary(X, y.astype(float), C=factor, sw=sw)
    assert_allclose(res.coef[0], w, rtol=0, atol=1e-7 * max(1.0, np.abs(w).max()))
    assert_allclose(res.intercept[0], b, rtol=0, atol=1e-7 * max(1.0, abs(b)))


def test_input_errors_name_the_functional_entry():
    y = np.array([0, 1, 0, 1, 0])
    with pytest.raises(DataError, match=r"^logistic_regression: sample_weight must be finite "
                       r"and >= 0"):
        logistic_regression(np.ones((5, 2)), y, 2, sample_weight=-np.ones(5))
    with pytest.raises(ShapeError, match=r"^X must be 2-D \('samples features'\) but has "
                       r"shape \(5,\)"):
        logistic_regression(np.r_[np.nan, np.ones(4)], y, 2)   # the shape is named first
    with pytest.raises(ShapeError, match=r"^X must be 2-D \('samples features'\) but has "
                       r"shape \(5,\)"):   # a 1-D scipy.sparse array, NaN included
        logistic_regression(sp.csr_array(np.r_[np.nan, 1.0, 0.0, 2.0, 0.0]), y, 2)
    with pytest.raises(DataError, match=r"^X has 1 non-finite entry \(NaN or inf\), the first "
                       r"at X\[0, 1\] = nan"):
        logistic_regression(sp.csr_matrix(np.array([[1.0, np.nan]] + [[1.0, 2.0]] * 4)), y, 2)
    with pytest.raises(DataError, match=r"^X has 1 non-finite entry"):
        logistic_regression(np.array([[1.0, np.inf]] + [[1.0, 2.0]] * 4), y, 2)


@pytest.mark.parametrize("classes,max_iter,want_status,want", [
    # class 0's binary model starts at its optimum: x = +-1 is uncorrelated with it and it
    # holds half the samples, so its gradient at zero is exactly 0 (status 0, no iteration);
    # classes 1 and 2 have finite optima that tol=1e-300 cannot certify (status 5, stalled)
    ([0, 0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 1, 2, 2, 2], 1000, 5, "stopped: the line search"),
    # classes 2 and 3 are quasi-separable (no finite optimum): they use up max_iter (status 1)
    # while class 1 stalls and class 0 converges; the budget is the one reported
    ([0, 0, 0, 0, 1, 1, 3, 3, 0, 0, 0, 0, 1, 2, 2, 2], 15, 1, "maximum number of iterations"),
])
def test_one_vs_rest_reports_its_least_successful_model(classes, max_iter, want_status, want):
    x = np.r_[np.ones(8), -np.ones(8)][:, None]
    y = np.array(classes)
    K = y.max() + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # status 1 is asserted instead
        alone = [logistic_regression(x, (y == k).astype(int), 2, penalty=None, tol=1e-300,
                                     max_iter=max_iter) for k in range(K)]
        res = logistic_regression(x, y, K, multi_class="ovr", penalty=None, tol=1e-300,
                                  max_iter=max_iter)
    assert (alone[0].status, alone[0].nit) == (0, 0) and alone[1].status == 5
    assert res.status == want_status and res.success is False
    assert res.message.startswith(want)
    assert res.nit == sum(r.nit for r in alone)


def test_estimator_input_errors_name_the_estimator():
    X, y = _data(n=20, seed=42)
    with pytest.raises(DataError, match=r"^LogisticRegression\.fit: sample_weight must be "
                       r"finite and >= 0"):
        LogisticRegression().fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(InvalidParameterError, match=r"^LogisticRegression\(class_weight="
                       r"'even'\): class_weight must be 'balanced'"):
        LogisticRegression(class_weight="even").fit(X, y)
    with pytest.raises(DataError, match=r"^LogisticRegression: class_weight names the label 5"):
        LogisticRegression(class_weight={5: 1.0}).fit(X, y)


# mutmut calls every function through a trampoline (an extra frame), so under it no stacklevel
# can point at the caller (tools/mutation-equivalent.txt lists those mutants)
@pytest.mark.skipif("MUTANT_UNDER_TEST" in os.environ, reason="mutmut's trampolines add frames")
def test_the_penalty_none_warning_points_at_the_caller():
    X, y = _data(n=20, seed=43)
    with pytest.warns(UserWarning, match="penalty=None") as caught:
        LogisticRegression(penalty=None, C=2.0).fit(X, y)
    assert [w.filename for w in caught] == [__file__]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_first_step_with_penalty_intercept_and_weights(sparse, dtype):
    # the columns are centred by their weighted mean and divided by
    # sqrt(weighted variance + 4 / (C sum(sw))) (the documented Jacobi scale: logistic
    # curvature <= 1/4 per unit variance, plus the penalty's); Adam's first step from zero is
    # lr * g / (|g| + eps) on those columns and on the intercept
    rng = np.random.default_rng(45)
    y = rng.integers(0, 2, 40)
    X = rng.standard_normal((40, 4)) * np.array([1.0, 30.0, 0.02, 1.0]) + np.array(
        [3.0, -50.0, 0.1, 300.0])   # the last column's mean dwarfs its spread
    X += 0.5 * np.eye(2, 4)[y]
    # float32 X is fitted in float64: the reference uses its float32 values, exactly
    X = X.astype(dtype).astype(np.float64)
    sw = rng.uniform(0.2, 2.0, 40)
    C, lr = 0.05, 0.2
    w = sw / sw.sum()
    mean = w @ X
    scale = np.sqrt(w @ (X - mean) ** 2 + 4.0 / (C * sw.sum()))
    r = w * (0.5 - y)
    g_u, g_b = ((X - mean) / scale).T @ r, r.sum()
    u, b = -lr * g_u / (np.abs(g_u) + 1e-8), -lr * g_b / (abs(g_b) + 1e-8)
    coef = u / scale
    with pytest.warns(ConvergenceWarning):
        Xd = X.astype(dtype)
        res = logistic_regression(sp.csr_matrix(Xd) if sparse else Xd, y, 2, solver="adam",
                                  lr=lr, max_iter=1, C=C, sample_weight=sw)
    assert_allclose(res.coef[0], coef, rtol=1e-9)
    assert_allclose(res.intercept[0], b - coef @ mean, rtol=1e-9)
