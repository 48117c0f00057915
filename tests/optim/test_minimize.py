"""minimize(): each method against a closed form, SciPy or a plain re-implementation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from matfit import ConvergenceWarning, InvalidParameterError
from matfit.optim import minimize


def _least_squares(A: np.ndarray, b: np.ndarray):
    def fg(w):
        r = A @ w - b
        return 0.5 * float(r @ r), A.T @ r

    return fg


def test_bb_solves_raw_feature_ols_to_1e6_relative_accuracy():
    # the brief's example: unscaled features x1 = 1..11 and x2 = 23..99 plus an intercept
    x1 = np.array([1.0, 5, 7, 9, 11])
    x2 = np.array([23.0, 29, 60, 85, 99])
    y = np.array([3.0, 7, 2, 9, 5])
    A = np.c_[np.ones(5), x1, x2]
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    res = minimize(_least_squares(A, y), np.zeros(3), jac=True, method="bb", max_iter=3000)
    assert res.success and res.status == 0, res.message
    assert np.max(np.abs(res.x - ref) / np.abs(ref)) < 1e-6
    assert res.nit < 3000


def test_bb_solves_raw_polynomial_least_squares_within_a_few_thousand_iterations():
    # degree-4 raw polynomial features on [0, 10]: the Hessian's condition number is ~7e8,
    # where plain gradient descent would need ~1e9 iterations
    t = np.linspace(0, 10, 50)
    A = np.vander(t, 5, increasing=True)
    y = np.sin(t) + t
    assert np.linalg.cond(A.T @ A) > 1e8
    ref = np.linalg.lstsq(A, y, rcond=None)[0]
    res = minimize(_least_squares(A, y), np.zeros(5), jac=True, gtol=1e-6, max_iter=5000)
    assert res.status == 0, res.message
    assert res.nit <= 4000
    assert np.max(np.abs(res.x - ref)) / np.max(np.abs(ref)) < 1e-6


def test_bb_rosenbrock_reaches_the_minimum_like_scipy_bfgs():
    rosen, rosen_der = scipy.optimize.rosen, scipy.optimize.rosen_der
    ref = scipy.optimize.minimize(rosen, np.full(5, 0.5), jac=rosen_der, method="BFGS",
                                  options={"gtol": 1e-8})
    res = minimize(scipy.optimize.rosen, np.full(5, 0.5), scipy.optimize.rosen_der, max_iter=5000)
    assert res.success, res.message
    assert_allclose(res.x, ref.x, atol=1e-6)
    assert_allclose(res.x, np.ones(5), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), log_cond=st.floats(0, 4))
def test_bb_matches_a_linear_solve_on_random_quadratics(n, seed, log_cond):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((n, n)))[0]
    A = Q @ np.diag(np.logspace(0, log_cond, n)) @ Q.T
    b = rng.standard_normal(n)
    res = minimize(lambda x: 0.5 * x @ A @ x - b @ x, np.zeros(n), lambda x: A @ x - b,
                   gtol=1e-10, max_iter=5000)
    assert res.status == 0, res.message
    assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-5, atol=1e-8)


def test_lbfgs_delegates_to_scipy():
    x0 = np.array([-1.2, 1.0, 0.3])
    ref = scipy.optimize.minimize(scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der,
                                  method="L-BFGS-B", options={"gtol": 1e-9, "ftol": 0.0})
    res = minimize(scipy.optimize.rosen, x0, scipy.optimize.rosen_der, method="lbfgs", gtol=1e-9)
    assert res.success, res.message
    assert_allclose(res.x, ref.x, rtol=0, atol=1e-12)
    assert res.nit == ref.nit
    assert len(res.history) == res.nit + 1
    assert res.history[-1] == pytest.approx(ref.fun, abs=1e-15)


def _naive_adam(grad, x, lr, steps, b1=0.9, b2=0.999, eps=1e-8):
    m = v = np.zeros_like(x)
    for t in range(1, steps + 1):
        g = grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return x


def test_adam_and_sgd_methods_follow_the_textbook_updates():
    A = np.diag([1.0, 10.0])
    b = np.array([1.0, -2.0])
    fun, jac = (lambda x: 0.5 * x @ A @ x - b @ x), (lambda x: A @ x - b)
    x0 = np.array([3.0, 3.0])
    with pytest.warns(ConvergenceWarning, match="max_iter=40"):
        res = minimize(fun, x0, jac, method="adam", lr=0.05, max_iter=40)
    assert res.nit == 40 and res.status == 1 and not res.success
    assert_allclose(res.x, _naive_adam(jac, x0, 0.05, 40), rtol=1e-12)

    x = x0.copy()
    buf = None
    for _ in range(30):
        g = jac(x)
        buf = g if buf is None else 0.9 * buf + g
        x = x - 0.01 * buf
    with pytest.warns(ConvergenceWarning):
        res = minimize(fun, x0, jac, method="sgd", lr=0.01, max_iter=30,
                       options={"momentum": 0.9})
    assert_allclose(res.x, x, rtol=1e-13)


def test_sgd_with_a_too_large_step_stops_with_the_cause_and_a_finite_result():
    A = np.diag([1.0, 100.0])
    fun, jac = (lambda x: 0.5 * x @ A @ x), (lambda x: A @ x)
    res = minimize(fun, np.ones(2), jac, method="sgd", lr=0.5, max_iter=1000)
    assert res.status == 4 and not res.success
    assert "step too large (lr=0.5)" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
    assert res.fun == min(res.history)          # the best finite iterate, here x0
    assert_allclose(res.x, np.ones(2))


def test_divergence_on_unscaled_features_suggests_standardising():
    rng = np.random.default_rng(0)
    A = np.c_[rng.standard_normal(20), 1e4 * rng.standard_normal(20)]
    y = rng.standard_normal(20)
    res = minimize(_least_squares(A, y), np.zeros(2), jac=True, method="sgd", lr=1e-3)
    assert res.status in (3, 4)
    assert res.message.index("standardise them") < res.message.index("step too large")


def test_non_finite_objective_at_x0_is_reported_not_returned_as_success():
    res = minimize(lambda x: float("nan"), np.array([0.0]), lambda x: np.ones(1), method="adam")
    assert res.status == 3 and not res.success and "non-finite" in res.message


def test_bb_backs_off_from_non_finite_trial_points():
    # log barrier: f is +inf (NaN in NumPy) left of 0; a long first step lands there
    def fun(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            return float(x[0] - np.log(x[0])) if x[0] > 0 else np.inf

    res = minimize(fun, np.array([10.0]), lambda x: 1 - 1 / x, lr=100.0)
    assert res.success, res.message
    assert_allclose(res.x, [1.0], atol=1e-7)


def test_ftol_stops_with_success_and_a_small_step_never_raises_f():
    A = np.diag([1.0, 1e4])
    fun, jac = (lambda x: 0.5 * x @ A @ x), (lambda x: A @ x)
    res = minimize(fun, np.ones(2), jac, method="sgd", lr=1e-4, ftol=1e-5, max_iter=10**6)
    assert res.status == 2 and res.success
    rel = (res.history[-2] - res.history[-1]) / max(abs(res.history[-2]), 1.0)
    assert rel < 1e-5
    assert (res.history[-3] - res.history[-2]) / max(abs(res.history[-3]), 1.0) >= 1e-5
    assert np.all(np.diff(res.history) <= 0)     # a small fixed step on a convex quadratic


def test_finite_difference_gradient_when_jac_is_none():
    res_fd = minimize(scipy.optimize.rosen, np.array([-1.0, 2.0]), max_iter=2000, gtol=1e-6)
    assert res_fd.success, res_fd.message
    assert_allclose(res_fd.x, [1.0, 1.0], atol=1e-5)


def test_float32_stays_float32_and_shape_is_kept():
    A = np.diag(np.arange(1.0, 7.0)).astype(np.float32)
    b = np.ones(6, np.float32)

    def fg(x):
        assert x.dtype == np.float32 and x.shape == (2, 3)
        v = x.ravel()
        return float(0.5 * v @ A @ v - b @ v), (A @ v - b).reshape(2, 3)

    res = minimize(fg, np.zeros((2, 3), np.float32), jac=True, gtol=1e-5)
    assert res.success and res.x.dtype == np.float32 and res.x.shape == (2, 3)
    assert_allclose(res.x.ravel(), 1 / np.arange(1.0, 7.0), rtol=1e-5)


def test_callback_can_stop_and_sees_every_iteration():
    seen = []

    def cb(intermediate_result):
        seen.append(intermediate_result.nit)
        if intermediate_result.nit == 3:
            raise StopIteration

    res = minimize(scipy.optimize.rosen, np.array([3.0, 3.0]), scipy.optimize.rosen_der,
                   callback=cb)
    assert res.status == 6 and res.nit == 3 and seen == [1, 2, 3]
    assert len(res.history) == 4


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "newton"}, "method must be one of"),
        ({"method": "bb", "options": {"momentum": 0.9}}, "unknown option 'momentum'"),
        ({"method": "bb", "options": {"variant": "bb3"}}, "variant"),
        ({"max_iter": -1}, "max_iter"),
        ({"gtol": -1.0}, "gtol"),
        ({"lr": 0.0}, "lr must be"),
        ({"method": "lbfgs", "options": {"maxiter": 3}}, "max_iter"),
    ],
)
def test_invalid_arguments_name_themselves(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        minimize(scipy.optimize.rosen, np.zeros(2), scipy.optimize.rosen_der, **kwargs)
