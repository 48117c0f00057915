"""linear_regression / LinearRegression against independent references (issue 19).

References: the weighted ridge problem solved by ``scipy.linalg.lstsq`` on the augmented system
``[sqrt(s) Xa; sqrt(D)] beta = [sqrt(s) y; 0]`` (Xa = [1, X] with an intercept, D = alpha on the
non-intercept coefficients only), scikit-learn's ``Ridge``, pseudo-inverses for rank-deficient X,
and closed forms for the objective, the standardised history and the status fields.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit import ConvergenceWarning, DataError, InvalidParameterError, ShapeError
from matfit.linear import DivergenceError, LinearRegression, linear_regression

SOLVERS = ["lstsq", "cholesky", "gd"]


def _data(n=40, p=4, targets=None, seed=0, zeros=0.0):
    """Columns on different scales and offsets (a mean that dwarfs the spread included)."""
    rng = np.random.default_rng(seed)
    scales = np.array([1.0, 10.0, 0.1, 3.0, 0.5, 2.0])[:p]
    offsets = np.array([5.0, -20.0, 30.0, 0.0, 1.0, -3.0])[:p]
    X = rng.standard_normal((n, p)) * scales + offsets
    if zeros:
        X[rng.random((n, p)) < zeros] = 0.0
    W = rng.standard_normal((p,) if targets is None else (p, targets))
    y = X @ W + 2.0 + 0.3 * rng.standard_normal((n,) if targets is None else (n, targets))
    sw = rng.uniform(0.2, 3.0, n)
    return X, y, sw


def _ridge_reference(X, y, sw, alpha, fit_intercept):
    """Weighted ridge by SVD least squares on the augmented system; returns (coef, intercept)."""
    n = X.shape[0]
    Y = y[:, None] if y.ndim == 1 else y
    Xa = np.column_stack([np.ones(n), X]) if fit_intercept else X
    D = np.full(Xa.shape[1], float(alpha))
    if fit_intercept:
        D[0] = 0.0
    root = np.sqrt(sw)[:, None]
    A = np.vstack([root * Xa, np.diag(np.sqrt(D))])
    B = np.vstack([root * Y, np.zeros((Xa.shape[1], Y.shape[1]))])
    beta = scipy.linalg.lstsq(A, B)[0]
    coef, b = (beta[1:], beta[0]) if fit_intercept else (beta, np.zeros(Y.shape[1]))
    if y.ndim == 1:
        return coef[:, 0], float(b[0])
    return coef.T, b


def _objective(X, y, sw, alpha, coef, intercept):
    X = X.toarray() if sp.issparse(X) else X
    R = (y - X @ coef.T - intercept).reshape(len(y), -1)
    return float(sw @ np.sum(R * R, axis=1) + alpha * np.sum(coef * coef))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", ["auto", True, False])
def test_every_solver_matches_the_augmented_lstsq_reference(solver, sparse, fit_intercept,
                                                             standardize):
    X, y, sw = _data(targets=2, zeros=0.3)
    alpha = 3.0
    Xin = sp.csr_matrix(X) if sparse else X
    res = linear_regression(Xin, y, sample_weight=sw, solver=solver, alpha=alpha,
                            fit_intercept=fit_intercept, standardize=standardize)
    coef, b = _ridge_reference(X, y, sw, alpha, fit_intercept)
    assert res.coef.shape == (2, 4) and res.intercept.shape == (2,)
    assert_allclose(res.coef, coef, rtol=1e-7, atol=1e-9)
    assert_allclose(res.intercept, b, rtol=1e-7, atol=1e-8)
    assert_allclose(res.fun, _objective(X, y, sw, alpha, coef, b), rtol=1e-10)
    assert res.solver == solver and res.n_samples == 40
    assert res.status == 0 and res.success
    if solver == "gd":
        assert 1 < res.nit < 10_000
        assert res.message.startswith("converged")
    elif sparse and solver == "lstsq":
        assert res.message == f"solved by LSQR on the sparse X in {res.nit} iteration(s)"
        assert 4 <= res.nit <= 1000  # Krylov: at least one step per coefficient
        assert res.history is None
    else:
        assert res.nit == 1 and res.message == f"solved directly by {solver}"
        assert res.history is None


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("sparse", [False, True])
def test_one_target_returns_a_vector_and_a_float(solver, sparse):
    X, y, sw = _data(zeros=0.3)
    res = linear_regression(sp.csc_matrix(X) if sparse else X, y, sample_weight=sw,
                            solver=solver, alpha=0.5)
    coef, b = _ridge_reference(X, y, sw, 0.5, True)
    assert res.coef.shape == (4,) and type(res.intercept) is float
    assert_allclose(res.coef, coef, rtol=1e-7)
    assert_allclose(res.intercept, b, rtol=1e-7)


def test_a_column_target_keeps_its_column_shape():
    X, y, _ = _data()
    res = linear_regression(X, y[:, None])
    coef, b = _ridge_reference(X, y[:, None], np.ones(len(y)), 0.0, True)
    assert res.coef.shape == (1, 4) and res.intercept.shape == (1,)
    assert_allclose(res.coef, coef, rtol=1e-9)
    assert_allclose(res.intercept, b, rtol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
def test_coo_input_to_the_function_is_solved_as_sparse(solver):
    X, y, sw = _data(zeros=0.4)
    res = linear_regression(sp.coo_matrix(X), y, sample_weight=sw, solver=solver, alpha=1.0)
    coef, b = _ridge_reference(X, y, sw, 1.0, True)
    assert_allclose(res.coef, coef, rtol=1e-7)
    assert_allclose(res.intercept, b, rtol=1e-7)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("y_scale", [1e-8, 1e8])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_target_magnitude_does_not_change_the_solution(solver, y_scale, fit_intercept):
    # gd works on y / std(y): without that scaling tol=1e-12 is out of reach for y ~ 1e8
    # (rounding) and met at once for y ~ 1e-8
    X, y, sw = _data(seed=4)
    res = linear_regression(X, y * y_scale, sample_weight=sw, solver=solver,
                            alpha=0.7, fit_intercept=fit_intercept)
    coef, b = _ridge_reference(X, y * y_scale, sw, 0.7, fit_intercept)
    assert_allclose(res.coef, coef, rtol=1e-7)
    assert_allclose(res.intercept, b, rtol=1e-7, atol=1e-9 * y_scale)


@pytest.mark.parametrize("n", [1, 2])
def test_gd_with_one_or_two_samples_through_the_origin(n):
    # std(y) over one sample is 0 by the weighted formula only if y = 0; n = 1 takes scale 1
    X = np.array([[2.0, -1.0], [0.5, 3.0]])[:n]
    y = np.array([4e6, -1e6])[:n]
    res = linear_regression(X, y, solver="gd", alpha=2.0, fit_intercept=False)
    ref = np.linalg.solve(X.T @ X + 2.0 * np.eye(2), X.T @ y)
    assert_allclose(res.coef, ref, rtol=1e-7)
    assert res.intercept == 0.0


@pytest.mark.parametrize("solver", SOLVERS)
def test_an_all_zero_target_gives_zero_coefficients(solver):
    X, _, sw = _data()
    y = np.zeros(len(X))
    for fit_intercept in (True, False):
        res = linear_regression(X, y, sample_weight=sw, solver=solver, alpha=0.1,
                                fit_intercept=fit_intercept)
        assert np.all(np.isfinite(res.coef)) and res.success
        assert_allclose(res.coef, 0.0, atol=1e-12)
        assert_allclose(res.intercept, 0.0, atol=1e-12)
    # a constant target with an intercept: coef 0, intercept the constant
    res = linear_regression(X, np.full(len(X), -7.5), solver=solver, alpha=0.1)
    assert_allclose(res.coef, 0.0, atol=1e-12)
    assert_allclose(res.intercept, -7.5, rtol=1e-12)


def test_gd_history_is_the_standardised_objective():
    # f(V) = 0.5 (sum s R^2 + alpha sum (v / scale)^2) / (S std(y)^2): it starts at exactly
    # 0.5 (V = 0, R = -y / std(y)) and ends at 0.5 * fun / sum(s yc^2)
    X, y, sw = _data(seed=5)
    for fit_intercept in (True, False):
        res = linear_regression(X, y, sample_weight=sw, solver="gd", alpha=2.0,
                                fit_intercept=fit_intercept)
        yc = y - np.average(y, weights=sw) if fit_intercept else y
        assert res.history[0] == pytest.approx(0.5, rel=1e-12)
        assert res.history[-1] == pytest.approx(0.5 * res.fun / float(sw @ (yc * yc)),
                                                rel=1e-9)
        assert len(res.history) == res.nit + 1
        assert np.all(np.diff(res.history[[0, -1]]) < 0)


def test_gd_stopped_by_max_iter_is_not_a_success():
    X, y, _ = _data()
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        res = linear_regression(X, y, solver="gd", max_iter=2)
    assert res.status == 1 and not res.success and res.nit == 2
    assert res.message.startswith("maximum number of iterations reached (max_iter=2)")


def test_gd_divergence_names_the_caller_and_the_optimiser():
    X, y, _ = _data()
    with pytest.raises(DivergenceError,
                       match=r"^linear_regression\(solver='gd', optimizer='sgd'\): diverged"):
        linear_regression(X, y, solver="gd", optimizer="sgd", lr=10.0, standardize=False)


def test_standardize_decides_which_minimum_norm_solution_lstsq_returns():
    # two collinear columns x and 3x + 1: every w1 + 3 w2 = c fits; the minimum-norm one
    # depends on the scale the norm is measured in
    rng = np.random.default_rng(6)
    x = rng.standard_normal(12)
    X = np.column_stack([x, 3 * x + 1])
    y = 2 * x + rng.standard_normal(12)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    raw = np.linalg.pinv(Xc) @ yc
    std = Xc.std(axis=0)
    scaled = (np.linalg.pinv(Xc / std) @ yc) / std
    assert np.max(np.abs(raw - scaled)) > 0.1  # the two answers really differ
    for standardize in ("auto", False):
        assert_allclose(linear_regression(X, y, standardize=standardize).coef, raw, atol=1e-10)
    assert_allclose(linear_regression(X, y, standardize=True).coef, scaled, atol=1e-10)
    # LSQR from 0 also gives the raw minimum-norm solution, and takes no scaling
    for standardize in ("auto", True, False):
        res = linear_regression(sp.csr_matrix(X), y, standardize=standardize)
        assert_allclose(res.coef, raw, atol=1e-8)
    # the intercept is then the same in all three
    assert_allclose(linear_regression(X, y, standardize=True).intercept,
                    y.mean() - X.mean(axis=0) @ scaled, atol=1e-10)


def test_sparse_lstsq_ridge_is_damped_least_squares():
    # alpha enters LSQR as damp = sqrt(alpha), on unscaled columns
    X, y, sw = _data(p=6, zeros=0.5, seed=7)
    for alpha in (0.0, 0.25, 40.0):
        res = linear_regression(sp.csr_matrix(X), y, sample_weight=sw, alpha=alpha)
        coef, b = _ridge_reference(X, y, sw, alpha, True)
        assert_allclose(res.coef, coef, rtol=1e-8, atol=1e-10)
        assert_allclose(res.intercept, b, rtol=1e-8)


def test_sparse_lstsq_tolerance_is_tol_capped_at_1e_10():
    # LSQR's atol = btol = max(min(tol, 1e-10), 1e-15): tol=1e-15 reaches near machine
    # accuracy, the default 1e-12 less, and any looser tol still stops only at 1e-10
    rng = np.random.default_rng(8)
    n, p = 300, 40
    X = rng.standard_normal((n, p)) * np.logspace(-1.5, 1.5, p)
    X[rng.random((n, p)) < 0.5] = 0.0
    y = X @ rng.standard_normal(p) + rng.standard_normal(n)
    coef, _ = _ridge_reference(X, y, np.ones(n), 0.0, True)
    res = {tol: linear_regression(sp.csr_matrix(X), y, tol=tol)
           for tol in (1e-300, 1e-15, 1e-12, 1e-10, 1e-2)}
    err = {tol: np.max(np.abs(r.coef - coef) / np.abs(coef)) for tol, r in res.items()}
    assert err[1e-15] < 1e-10 and err[1e-300] < 1e-10
    assert err[1e-12] < 1e-8 and err[1e-2] < 1e-5
    assert res[1e-300].nit == res[1e-15].nit > res[1e-12].nit > res[1e-10].nit
    assert res[1e-2].nit == res[1e-10].nit


def test_sparse_lstsq_reports_the_most_iterations_over_the_targets():
    # a zero target is solved in no LSQR step; the other needs several
    X, y, _ = _data(n=50, p=6, zeros=0.5, seed=9)
    Y = np.column_stack([np.zeros(50), y])
    res = linear_regression(sp.csr_matrix(X), Y, fit_intercept=False)
    assert_allclose(res.coef[0], 0.0, atol=0)
    one = linear_regression(sp.csr_matrix(X), y, fit_intercept=False)
    assert res.nit == one.nit >= 6


@pytest.mark.parametrize("sparse", [False, True])
def test_cholesky_on_singular_normal_equations_names_the_sizes(sparse):
    X = np.random.default_rng(10).standard_normal((3, 5))
    with pytest.raises(DataError, match=(
            r"^linear_regression\(solver='cholesky'\): X'X \+ alpha I \(5 x 5\) is not positive "
            r"definite: the features are collinear, or there are more features \(5\) than "
            r"samples \(3\)\. Use solver='lstsq' \(minimum-norm solution\) or alpha > 0\.$")):
        linear_regression(sp.csr_matrix(X) if sparse else X, np.ones(3), solver="cholesky",
                          fit_intercept=False)
    # a tiny ridge makes the same problem well posed
    res = linear_regression(X, np.ones(3), solver="cholesky", fit_intercept=False, alpha=1e-3)
    assert_allclose(res.coef, np.linalg.solve(X.T @ X + 1e-3 * np.eye(5), X.T @ np.ones(3)),
                    rtol=1e-9)


def test_sample_weights_that_sum_to_zero_are_refused():
    X, y, _ = _data(n=5)
    with pytest.raises(DataError, match=r"^linear_regression: sample_weight sums to zero "
                                        r"\(every weight is zero\): at least one sample needs "
                                        r"a positive weight\.$"):
        linear_regression(X, y, sample_weight=np.zeros(5))
    # one positive weight is enough (an exact fit through that sample, intercept only)
    res = linear_regression(X, y, sample_weight=np.eye(5)[2], alpha=1.0)
    assert_allclose(res.coef, 0.0, atol=1e-12)
    assert_allclose(res.intercept, y[2], rtol=1e-12)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_scalar_sample_weight_scales_only_the_data_term(solver):
    # weight c on every sample = ridge with alpha / c
    X, y, _ = _data(seed=11)
    res = linear_regression(X, y, sample_weight=4.0, solver=solver, alpha=2.0)
    coef, b = _ridge_reference(X, y, np.ones(len(y)), 0.5, True)
    assert_allclose(res.coef, coef, rtol=1e-7)
    assert_allclose(res.intercept, b, rtol=1e-7)
    assert_allclose(res.fun, 4.0 * _objective(X, y, np.ones(len(y)), 0.5, coef, b), rtol=1e-9)


def test_estimator_matches_sklearn_ridge_with_weights_in_float32_and_float64():
    from sklearn.linear_model import Ridge

    X, y, sw = _data(targets=3, seed=12)
    for dtype in (np.float64, np.float32):
        ours = LinearRegression("cholesky", alpha=1.5).fit(X.astype(dtype), y.astype(dtype),
                                                           sample_weight=sw)
        ref = Ridge(alpha=1.5, solver="cholesky").fit(X.astype(dtype).astype(np.float64),
                                                      y.astype(dtype), sample_weight=sw)
        assert ours.coef_.dtype == dtype and ours.intercept_.dtype == dtype
        assert ours.intercept_.shape == (3,)
        rtol = 1e-9 if dtype == np.float64 else 1e-6
        assert_allclose(ours.coef_, ref.coef_, rtol=rtol)
        assert_allclose(ours.intercept_, ref.intercept_, rtol=rtol)
        assert ours.n_iter_ == 1
        assert_allclose(ours.objective_, _objective(X.astype(dtype).astype(np.float64), y,
                                                    sw, 1.5, ref.coef_, ref.intercept_),
                        rtol=1e-5)
        P = ours.predict(X.astype(dtype))
        assert P.dtype == dtype
        assert_allclose(P, X.astype(dtype) @ ref.coef_.T + ref.intercept_, rtol=1e-5)
    one = LinearRegression().fit(X.astype(np.float32), y[:, 0].astype(np.float32))
    assert type(one.intercept_) is np.float32


def test_sklearn_tags_declare_multi_output_and_sparse_input():
    tags = LinearRegression().__sklearn_tags__()
    assert tags.target_tags.multi_output is True
    assert tags.target_tags.single_output is True
    assert tags.input_tags.sparse is True
    assert tags.estimator_type == "regressor"


# -- parameter validation: each bad value by name, each edge value accepted ------------------

BAD = [
    (dict(solver="svd"), r"solver='svd'\): solver must be one of 'lstsq', 'cholesky', 'gd'\.$"),
    (dict(alpha=-0.5), r"alpha=-0\.5\): alpha must be a finite number >= 0 \(0 is ordinary "
                       r"least squares\)\.$"),
    (dict(alpha=True), r"alpha=True\)"),
    (dict(alpha="1"), r"alpha='1'\)"),
    (dict(alpha=np.inf), r"alpha=inf\)"),
    (dict(alpha=np.nan), r"alpha=nan\)"),
    (dict(standardize="yes"), r"standardize='yes'\): standardize must be 'auto', True or "
                              r"False\.$"),
    (dict(optimizer="lbfgs"), r"optimizer='lbfgs'\): optimizer must be one of 'bb', 'sgd', "
                              r"'adam'\.$"),
    (dict(max_iter=0), r"max_iter=0\): max_iter must be an integer >= 1\.$"),
    (dict(max_iter=True), r"max_iter=True\)"),
    (dict(max_iter=10.0), r"max_iter=10\.0\)"),
    (dict(tol=0.0), r"tol=0\.0\): tol must be a number > 0\.$"),
    (dict(tol=-1e-3), r"tol=-0\.001\)"),
    (dict(tol=np.nan), r"tol=nan\)"),
    (dict(tol=True), r"tol=True\)"),
    (dict(tol="1e-3"), r"tol='1e-3'\)"),
]


@pytest.mark.parametrize(("kw", "message"), BAD)
def test_bad_parameters_are_named_by_both_entry_points(kw, message):
    X, y = np.ones((4, 2)), np.arange(4.0)
    with pytest.raises(InvalidParameterError, match=r"^linear_regression\(" + message):
        linear_regression(X, y, **kw)
    with pytest.raises(InvalidParameterError, match=r"^LinearRegression\(" + message):
        LinearRegression(**kw).fit(X, y)


@pytest.mark.parametrize("kw", [
    dict(alpha=0), dict(alpha=0.0), dict(alpha=np.int64(2)), dict(alpha=np.float32(0.5)),
    dict(standardize=True), dict(standardize=False), dict(max_iter=1), dict(max_iter=np.int64(3)),
    dict(tol=1), dict(tol=np.float64(1e-6)), dict(tol=1e-300),
    dict(optimizer="sgd"), dict(optimizer="adam"), dict(solver="cholesky"),
])
def test_edge_parameter_values_are_accepted(kw):
    X, y, _ = _data(n=12, p=2, seed=13)
    alpha = float(kw.get("alpha", 0.0))
    coef, b = _ridge_reference(X, y, np.ones(12), alpha, True)
    for res in (linear_regression(X, y, **kw), LinearRegression(**kw).fit(X, y)):
        got = (res.coef, res.intercept) if hasattr(res, "coef") else (res.coef_, res.intercept_)
        assert_allclose(got[0], coef, rtol=1e-8)
        assert_allclose(got[1], b, rtol=1e-8)


@pytest.mark.parametrize(("p", "decades", "limit"), [(90, 5, 1000), (120, 4, 1200)])
def test_sparse_lstsq_at_its_iteration_limit_warns_and_is_not_a_success(p, decades, limit):
    # columns over 8-10 decades of scale: LSQR needs more than max(10 p, 1000) iterations,
    # and stopping there must not pass for a solution
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, p)) * np.logspace(-decades, decades, p)
    X[rng.random((400, p)) < 0.5] = 0.0
    y = X @ rng.standard_normal(p) + rng.standard_normal(400)
    with pytest.warns(ConvergenceWarning, match=(
            rf"^linear_regression: LSQR stopped at its iteration limit \({limit}\) before "
            r"reaching its tolerance: the columns of the sparse X differ too much in scale")):
        res = linear_regression(sp.csr_matrix(X), y)
    assert res.nit == limit and res.status == 1 and not res.success
    with pytest.warns(ConvergenceWarning) as record:
        linear_regression(sp.csr_matrix(X), y)
    assert record[0].filename == __file__  # stacklevel=2: the line that called the function
    assert res.message.startswith(f"LSQR stopped at its iteration limit ({limit})")


def test_the_function_names_its_arguments_and_their_dimensions():
    with pytest.raises(ShapeError, match=re.escape(
            "X must be 2-D ('samples features') but has shape (5,), which is 1-D.")):
        linear_regression(np.ones(5), np.ones(5))
    with pytest.raises(ShapeError, match=re.escape(
            "dimension 'samples' disagrees: X has 5 rows but y has 4 rows; shapes X (5, 2), "
            "y (4, 2). X is 'samples features' (samples=5) and y is 'samples targets' "
            "(samples=4).")):
        linear_regression(np.ones((5, 2)), np.ones((4, 2)))
    with pytest.raises(ShapeError, match=re.escape(
            "y must be 2-D ('samples targets') but has shape (2, 2, 2)")):
        linear_regression(np.ones((2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(DataError, match=re.escape("y has 1 non-finite entry (NaN or inf), the "
                                                  "first at y[0] = inf.")):
        linear_regression(np.ones((2, 2)), np.array([np.inf, 1.0]))
    with pytest.raises(DataError, match=re.escape(
            "linear_regression: sample_weight must be finite and >= 0")):
        linear_regression(np.eye(2), np.ones(2), sample_weight=[1.0, -1.0])
    # integer X and y are solved in float64
    res = linear_regression(np.array([[0, 1], [1, 0], [1, 1], [2, 1]]), np.array([1, 2, 3, 5]))
    assert res.coef.dtype == np.float64
    assert_allclose(res.coef, [2.0, 1.0], rtol=1e-12)
    assert_allclose(res.intercept, 0.0, atol=1e-12)


def test_defaults_are_ols_with_intercept_quiet_and_10000_gd_steps(capsys):
    X, y, _ = _data(seed=14)
    coef, b = _ridge_reference(X, y + 100.0, np.ones(len(y)), 0.0, True)
    res = linear_regression(X, y + 100.0, solver="gd")
    assert_allclose(res.coef, coef, rtol=1e-7)
    assert_allclose(res.intercept, b, rtol=1e-7)
    assert capsys.readouterr().err == ""
    with pytest.warns(ConvergenceWarning, match=r"max_iter=10000\)"):
        res = linear_regression(X, y, solver="gd", optimizer="sgd", lr=1e-9)
    assert res.nit == 10_000 and res.status == 1
    assert capsys.readouterr().err == ""


def test_sparse_lstsq_on_a_zero_target_takes_no_iteration():
    X, _, _ = _data(zeros=0.5)
    res = linear_regression(sp.csr_matrix(X), np.zeros(40))
    assert res.nit == 0 and res.status == 0 and res.success
    assert_allclose(res.coef, 0.0, atol=0)


def test_cholesky_with_an_overflowing_solve_is_refused():
    # X'X = 1.4e-319 is positive (subnormal), so the factorisation succeeds, but X'y / X'X
    # overflows: a finite-looking "solution" of inf must not come back
    X = np.array([[1e-160], [2e-160], [3e-160]])
    with pytest.raises(DataError, match=(
            r"^linear_regression\(solver='cholesky'\): the normal equations are numerically "
            r"singular; use solver='lstsq' or alpha > 0\.$")):
        linear_regression(X, np.full(3, 1e200), solver="cholesky", fit_intercept=False)


@pytest.mark.parametrize("lr", [1e200, 1e308])
def test_gd_that_turns_non_finite_raises(lr):
    # and says so without an overflow (1e200) or invalid-value (1e308: inf - inf) RuntimeWarning
    # first, which is an error under pytest's settings
    X, y, _ = _data()
    with pytest.raises(DivergenceError, match=r"^linear_regression\(solver='gd', "
                                              r"optimizer='sgd'\): diverged: the objective or "
                                              r"its gradient became non-finite"):
        linear_regression(X, y, solver="gd", optimizer="sgd", lr=lr)


def test_estimator_defaults_are_the_documented_ones():
    assert LinearRegression().get_params() == dict(
        solver="lstsq", alpha=0.0, fit_intercept=True, standardize="auto", optimizer="bb",
        lr=None, max_iter=10_000, tol=1e-12, verbose=0)
    assert LinearRegression("gd", verbose=2).get_params()["verbose"] == 2


def test_estimator_gd_is_quiet_by_default(capsys):
    X, y, _ = _data()
    LinearRegression("gd").fit(X, y)
    assert capsys.readouterr().err == ""


def test_gd_preconditions_a_penalised_column_of_tiny_spread():
    # scale = sqrt(std^2 + alpha / S): without the alpha / S term the column of spread 1e-3 has
    # a penalty curvature alpha / std^2 up to 3e7 times its data curvature, and BB needs two to
    # five times the steps (18-57 here instead of 10-12)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) * np.array([1.0, 1e-3, 5.0])
    y = X @ np.array([1.0, 300.0, -0.5]) + 0.1 * rng.standard_normal(50)
    for alpha in (1e-3, 1.0, 30.0):
        res = linear_regression(X, y, solver="gd", alpha=alpha)
        coef, _ = _ridge_reference(X, y, np.ones(50), alpha, True)
        assert_allclose(res.coef, coef, rtol=1e-7)
        assert res.nit <= 15, (alpha, res.nit)


def test_the_function_solves_float32_and_integer_input_in_float64():
    X, y, sw = _data(seed=15)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    coef, b = _ridge_reference(X32.astype(np.float64), y32.astype(np.float64), sw, 0.3, True)
    for Xin in (X32, sp.csr_matrix(X32)):
        res = linear_regression(Xin, y32, sample_weight=sw, alpha=0.3)
        assert res.coef.dtype == np.float64
        assert_allclose(res.coef, coef, rtol=1e-10)
        assert_allclose(res.intercept, b, rtol=1e-10)


def test_non_finite_X_is_named_X():
    with pytest.raises(DataError, match=r"^X has 1 non-finite entry \(NaN or inf\), the first "
                                        r"at X\[1, 0\] = inf\."):
        linear_regression(np.array([[1.0, 2.0], [np.inf, 1.0]]), np.ones(2))
