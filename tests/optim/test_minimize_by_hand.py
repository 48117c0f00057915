"""minimize(): iterates, trial points, stopping tests and bookkeeping computed by hand.

Each case is small enough that the expected numbers follow from the documented rules in a few
lines of arithmetic (written next to the assertion), or from a plain re-implementation of the
Barzilai-Borwein method with its non-monotone line search kept in this file; the L-BFGS-B cases
compare with SciPy's own run. Many sit exactly on a boundary (a gradient norm equal to gtol, a
decrease equal to ftol, a trial point equal to the reference value) so that ``<`` and ``<=`` give
different answers.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_allclose, assert_array_equal

import matfit.optim._minimize as minimize_module
from matfit import ConvergenceWarning
from matfit.optim import minimize


def exact(got, want):
    assert_array_equal(np.asarray(got), np.asarray(want, dtype=float))


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return minimize(*args, **kwargs)


class Recorder:
    """fun / jac that keep every point they were called at."""

    def __init__(self, fun, jac):
        self._fun, self._jac, self.f_at, self.g_at = fun, jac, [], []

    def fun(self, x):
        self.f_at.append(x.copy())
        return self._fun(x)

    def jac(self, x):
        self.g_at.append(x.copy())
        return self._jac(x)


def square():
    return (lambda x: float(x @ x)), (lambda x: 2 * x)


# ---------------------------------------------------------------- a plain GBB reference


def reference_bb(fun, grad, x, steps, *, variant="alternate", memory=30, gamma=1e-4,
                 noise=1e-12, window=10):
    """Raydan's GBB as the module notes describe it, with plain lists (no safeguards hit)."""
    g, f = grad(x), fun(x)
    fs, bb2s, xs, trials = [f], [], [x], 0
    alpha = 1 / np.max(np.abs(g))
    for k in range(1, steps + 1):
        gg, f_ref, lam = float(g @ g), max(fs[-memory:]), alpha
        while True:
            trials += 1
            x_new = x - lam * g
            f_new = fun(x_new)
            if f_new <= f_ref - gamma * lam * gg + noise * abs(f_ref):
                break
            lam_q = gg * lam**2 / (2 * (f_new - f + lam * gg))
            lam = min(max(lam_q, 0.1 * lam), 0.5 * lam)
        g_new = grad(x_new)
        s, y = x_new - x, g_new - g
        bb1, bb2 = (s @ s) / (s @ y), (s @ y) / (y @ y)
        bb2s = [*bb2s, bb2][-window:]
        if variant == "abbmin":
            alpha = min(bb2s) if bb2 < 0.8 * bb1 else bb1
        elif variant == "bb1" or (variant == "alternate" and k % 2 == 1):
            alpha = bb1
        else:
            alpha = bb2
        x, g, f = x_new, g_new, f_new
        fs.append(f)
        xs.append(x)
    return np.array(xs), trials


@pytest.mark.parametrize("variant", ["alternate", "bb1", "bb2", "abbmin"])
def test_bb_matches_the_plain_reference_over_30_ill_conditioned_steps(variant):
    # condition number 100: some first trials are rejected, and ABBmin's "smallest of the last
    # 10 BB2 steps" differs from the smallest of the last 11 (by 0.58 in x) within 30 steps
    A = np.diag(np.logspace(0, 2, 6))
    b = np.linspace(1, -1, 6) + 0.3
    fun, jac = (lambda x: 0.5 * x @ A @ x - b @ x), (lambda x: A @ x - b)
    ref, trials = reference_bb(fun, jac, np.zeros(6), 30, variant=variant)
    if variant == "abbmin":
        assert np.max(np.abs(ref - reference_bb(fun, jac, np.zeros(6), 30, variant=variant,
                                                window=11)[0])) > 0.1
    xs = [np.zeros(6)]
    res = quiet(fun, np.zeros(6), jac, options={"variant": variant}, max_iter=30, gtol=0.0,
                callback=lambda r: xs.append(r.x))
    assert_allclose(np.array(xs), ref, rtol=1e-10, atol=1e-12)
    assert res.nfev == trials + 1 and res.njev == 31


def test_abbmin_keeps_bb1_when_bb2_is_exactly_0_8_bb1():
    # x0 = 0, b = (1, 0): the first step is x1 = (1, 0), so s = (1, 0), y = A s = (1, 0.5):
    # s.y = 1, s.s = 1, y.y = 1.25: BB1 = 1, BB2 = 0.8 = 0.8 BB1 exactly (both round to 0.8)
    A = np.array([[1.0, 0.5], [0.5, 2.0]])
    b = np.array([1.0, 0.0])
    fun, jac = (lambda x: 0.5 * x @ A @ x - b @ x), (lambda x: A @ x - b)
    xs = []
    quiet(fun, np.zeros(2), jac, options={"variant": "abbmin"}, max_iter=2,
          callback=lambda r: xs.append(r.x))
    # not "BB2 < 0.8 BB1", so alpha = BB1 = 1: x2 = x1 - g(x1) = (1, 0) - (0, 0.5)
    exact(xs, [[1.0, 0.0], [1.0, -0.5]])


def test_bb_first_step_is_one_over_the_gradient_max_and_negative_curvature_uses_s_over_y():
    # f = -x^2 / 4 (concave), x0 = 1: g0 = -0.5, so the first trial step is 1 / 0.5 = 2 and
    # x1 = 1 + 2 * 0.5 = 2 (f falls from -0.25 to -1: accepted). g1 = -1: s = 1, y = -0.5,
    # s.y < 0, so alpha = |s| / |y| = 2 and x2 = 2 + 2 * 1 = 4
    rec = Recorder(lambda x: float(-x @ x / 4), lambda x: -x / 2)
    xs = []
    quiet(rec.fun, np.array([1.0]), rec.jac, max_iter=2, callback=lambda r: xs.append(r.x))
    exact(xs, [[2.0], [4.0]])
    exact(rec.f_at, [[1.0], [2.0], [4.0]])      # every trial accepted at once


def test_bb_zero_curvature_takes_step_max():
    # a linear objective: y = 0, so s.y = 0 and y.y = 0: the next step is step_max
    xs = []
    quiet(lambda x: float(-x[0]), np.array([0.0]), lambda x: np.array([-1.0]), max_iter=3,
          options={"step_max": 10.0}, callback=lambda r: xs.append(r.x))
    exact(xs, [[1.0], [11.0], [21.0]])


def test_line_search_interpolates_and_clips_to_half_the_trial_step():
    # f = x^2 from x0 = 1 (g = 2, gg = 4) with gamma = 0.4 and a first trial step 0.9:
    # x = 1 - 1.8 = -0.8, f = 0.64 > 1 - 0.4 * 0.9 * 4 = -0.44: rejected. The quadratic through
    # f(1) = 1, slope -4 and f = 0.64 at 0.9 has its minimum at 4 * 0.81 / (2 * 3.24) = 0.5,
    # clipped into [0.09, 0.45]: 0.45, so x = 1 - 0.9 = 0.1 (f = 0.01 <= 1 - 0.72: accepted)
    fun, jac = square()
    rec = Recorder(fun, jac)
    quiet(rec.fun, np.array([1.0]), rec.jac, lr=0.9, max_iter=1, options={"gamma": 0.4})
    assert_allclose(np.ravel(rec.f_at), [1.0, -0.8, 0.1], rtol=1e-15, atol=1e-16)


def test_line_search_never_shrinks_below_a_tenth_of_the_trial_step():
    # f = x^2 from x0 = 1 with a first trial step 100: x = -199. The interpolated step is 0.5
    # each time (the exact line minimiser), but at most a tenfold cut per backtrack is allowed:
    # trials 100, 10, 1 (x = -199, -19, -1; f = 1 at x = -1 is not a sufficient decrease), 0.5
    fun, jac = square()
    rec = Recorder(fun, jac)
    res = quiet(rec.fun, np.array([1.0]), rec.jac, lr=100.0, max_iter=1)
    exact(rec.f_at, [[1.0], [-199.0], [-19.0], [-1.0], [0.0]])
    assert res.status == 0 and res.nit == 1 and res.nfev == 5


def test_line_search_without_an_interpolation_minimum_cuts_tenfold():
    # f = -x, gamma = 2: f(x0 - lam g) = -lam is never <= 0 - 2 lam; the quadratic through the
    # points is a line (denominator 2 (-lam - 0 + lam) = 0), so each backtrack takes lam / 10
    rec = Recorder(lambda x: float(-x[0]), lambda x: np.array([-1.0]))
    res = minimize(rec.fun, np.array([0.0]), rec.jac, options={"gamma": 2.0, "max_backtracks": 3})
    assert_allclose(np.ravel(rec.f_at), [0.0, 1.0, 0.1, 0.01], rtol=1e-15, atol=0)
    assert res.status == 5 and res.nit == 0 and res.nfev == 4


def test_line_search_accepts_a_trial_exactly_at_the_reference_value():
    # gamma = 0 and noise = 0: the test is f_new <= max(recent f). x0 = 1, lr = 1: x = -1 gives
    # f = 1 = f(x0): accepted (a backtrack would have gone to x = 0)
    fun, jac = square()
    xs = []
    quiet(fun, np.array([1.0]), jac, lr=1.0, max_iter=1, options={"gamma": 0.0, "noise": 0.0},
          callback=lambda r: xs.append(r.x))
    exact(xs, [[-1.0]])


# ---------------------------------------------------------------- stopping tests on the boundary


@pytest.mark.parametrize("method", ["bb", "sgd", "adam", "lbfgs"])
def test_gradient_norm_equal_to_gtol_converges(method):
    res = minimize(lambda x: 0.5 * float(x @ x), np.array([1.0, -0.5]), lambda x: x,
                   method=method, gtol=1.0)
    assert res.status == 0 and res.success and res.nit == 0
    assert res.message.startswith("converged: ||grad||_inf = 1 <= gtol = 1")


@pytest.mark.parametrize("method", ["bb", "sgd", "adam", "lbfgs"])
def test_empty_x0_converges_at_once(method):
    res = minimize(lambda x: 3.0, np.zeros(0), lambda x: np.zeros(0), method=method)
    assert res.status == 0 and res.success and res.nit == 0 and res.nfev == 1
    assert res.message == "converged: ||grad||_inf = 0 <= gtol = 1e-08"
    assert res.x.shape == res.jac.shape == (0,) and res.fun == 3.0
    exact(res.history, [3.0])
    res = minimize(lambda x: math.nan, np.zeros(0), lambda x: np.zeros(0), method=method)
    assert res.status == 3 and not res.success


@pytest.mark.parametrize("method", ["sgd", "bb"])
def test_ftol_stops_on_a_step_that_leaves_f_unchanged(method):
    # f = x^2, x0 = 1, step 1: x1 = -1 and f1 = f0 = 1; a zero decrease is below any ftol
    # (bb needs gamma = 0 to accept a step without decrease)
    fun, jac = square()
    opts = {"gamma": 0.0} if method == "bb" else {}
    res = quiet(fun, np.array([1.0]), jac, method=method, lr=1.0, ftol=1e-3, max_iter=5,
                options=opts)
    assert res.status == 2 and res.nit == 1
    exact(res.x, [-1.0])


@pytest.mark.parametrize("method", ["sgd", "bb"])
def test_ftol_is_a_strict_inequality(method):
    # f = x^2, x0 = 1, step 0.25: x1 = 0.5, the decrease 0.75 equals ftol * max(1, 0.25, 1):
    # not below it, so a second step: x2 = 0.25 (sgd: x *= 0.5; bb: BB1 = 0.5 gives x2 = 0)
    fun, jac = square()
    res = minimize(fun, np.array([1.0]), jac, method=method, lr=0.25, ftol=0.75)
    assert res.status == 2 and res.nit == 2
    exact(res.x, [0.25 if method == "sgd" else 0.0])


@pytest.mark.parametrize("method", ["sgd", "bb"])
def test_ftol_scales_by_the_larger_of_both_objectives(method):
    # f = -x from x0 = 10, step 1: f goes -10 -> -11, a decrease of 1 < 0.095 * 11 = 1.045
    # (but not < 0.095 * 10): stop after one step
    res = minimize(lambda x: float(-x[0]), np.array([10.0]), lambda x: np.array([-1.0]),
                   method=method, lr=1.0, ftol=0.095, max_iter=5)
    assert res.status == 2 and res.nit == 1
    exact(res.x, [11.0])


@pytest.mark.parametrize(("ftol", "nit"), [(0.5, 1), (0.15, 2)])
def test_ftol_scale_is_at_least_one(ftol, nit):
    # bb on f = x^2 from 0.5 with lr = 0.25: f goes 0.25 -> 0.0625 (decrease 0.1875, measured
    # against max(0.25, 0.0625, 1) = 1) and then to 0 (BB1 = 0.5 gives x2 = 0)
    fun, jac = square()
    res = minimize(fun, np.array([0.5]), jac, lr=0.25, ftol=ftol)
    assert res.status == 2 and res.nit == nit
    exact(res.x, [0.25 if nit == 1 else 0.0])


# ---------------------------------------------------------------- divergence and the best iterate


def test_explode_threshold_is_relative_to_f0_and_strict():
    # f = x^2 from 3 with sgd lr = 1.5: x_k = 3 (-2)^k, f_k = 9 * 4^k. explode = 3: the limit
    # is 9 + 3 * 9 = 36; f1 = 36 is not above it, f2 = 144 is
    fun, jac = square()
    res = minimize(fun, np.array([3.0]), jac, method="sgd", lr=1.5, options={"explode": 3.0})
    assert res.status == 4 and res.nit == 2
    exact(res.history, [9.0, 36.0, 144.0])
    exact(res.x, [3.0])


@pytest.mark.parametrize("method", ["sgd", "bb"])
def test_divergence_hands_back_the_first_of_equally_good_iterates(method):
    # gradient 1 everywhere and step 1 (bb: step_max 1): x_k = -k with f = 1, 1, 1e10;
    # bb accepts the jump only because of the huge noise allowance
    table = {0.0: 1.0, -1.0: 1.0, -2.0: 1e10}
    opts = {"noise": 1e12, "step_max": 1.0} if method == "bb" else {}
    res = minimize(lambda x: table[float(x[0])], np.array([0.0]), lambda x: np.ones(1),
                   method=method, lr=1.0, options=opts)
    assert res.status == 4 and res.nit == 2
    exact(res.x, [0.0])
    exact(res.jac, [1.0])
    assert res.fun == 1.0
    exact(res.history, [1.0, 1.0, 1e10])


def test_bb_explosion_returns_x0_with_its_message():
    # noise = 1e12 accepts anything finite: the first trial x = 1 - 1e5 * 2 = -199999 has
    # f = 39999600001 > 1 + 1e8
    fun, jac = square()
    res = minimize(fun, np.array([1.0]), jac, lr=1e5, options={"noise": 1e12})
    assert res.status == 4 and res.nit == 1 and not res.success
    exact(res.x, [1.0])
    exact(res.jac, [2.0])
    assert res.fun == 1.0
    exact(res.history, [1.0, 199999.0**2])
    assert res.message == (
        "diverged: the objective exploded from 1 to 3.99996e+10 at iteration 1. Likely causes: "
        "features on very different scales: standardise them (the gradient's entries at x0 span "
        "a factor 1.0e+00); or the objective overflows (compute it from stable pieces, e.g. "
        "matfit.numerics.log_sigmoid).")


def test_bb_non_finite_gradient_returns_the_best_iterate():
    # gradient 1 with step_max 1: x_k = -k; every f is below f(x0) = 5, so every step is
    # accepted; the gradient is NaN at x = -3. The best iterate is x1 (f = 1), not x2 (f = 3)
    table = {0.0: 5.0, -1.0: 1.0, -2.0: 3.0, -3.0: 2.0}
    res = minimize(lambda x: table[float(x[0])], np.array([0.0]),
                   lambda x: np.array([math.nan if x[0] == -3.0 else 1.0]), lr=1.0,
                   options={"step_max": 1.0})
    assert res.status == 3 and res.nit == 3 and not res.success
    exact(res.x, [-1.0])
    exact(res.jac, [1.0])
    assert res.fun == 1.0
    exact(res.history, [5.0, 1.0, 3.0, 2.0])
    assert res.message == (
        "diverged: the objective or its gradient became non-finite at iteration 3. Likely "
        "causes: features on very different scales: standardise them (the gradient's entries at "
        "x0 span a factor 1.0e+00); or the objective overflows (compute it from stable pieces, "
        "e.g. matfit.numerics.log_sigmoid).")


def test_sgd_non_finite_gradient_with_a_finite_objective_stops_at_once():
    # f = x^2 from 1 with lr = 0.25: x = 1, 0.5, 0.25; the gradient is NaN below 0.3
    res = minimize(lambda x: float(x @ x), np.array([1.0]),
                   lambda x: 2 * x if abs(x[0]) > 0.3 else x * math.nan, method="sgd", lr=0.25)
    assert res.status == 3 and res.nit == 2
    exact(res.x, [0.5])
    exact(res.jac, [1.0])
    assert res.fun == 0.25
    exact(res.history, [1.0, 0.25, 0.0625])


@pytest.mark.parametrize("method", ["bb", "sgd", "adam"])
def test_non_finite_gradient_at_x0_is_reported_with_the_values(method):
    res = minimize(lambda x: 1.5, np.array([0.0, 1.0]), lambda x: np.array([np.inf, 1e-3]),
                   method=method)
    assert res.status == 3 and res.nit == 0 and not res.success
    assert res.fun == 1.5
    exact(res.jac, [np.inf, 1e-3])
    exact(res.history, [1.5])


def test_hint_puts_scaling_first_just_above_a_spread_of_1e4():
    res = minimize(lambda x: math.nan, np.zeros(2), lambda x: np.array([1.0, 10000.5]),
                   method="sgd", lr=2.0)
    assert res.message.endswith(
        "Likely causes: features on very different scales: standardise them (the gradient's "
        "entries at x0 span a factor 1.0e+04); or step too large (lr=2): try lr=0.2.")


# ---------------------------------------------------------------- gradients, shapes and dtypes


def test_finite_differences_use_the_documented_step():
    # for f = x^3 the central difference at 0 is exactly h^2, with h = eps^(1/3) max(1, |x|)
    for dtype in (np.float64, np.float32):
        h = float(np.finfo(dtype).eps) ** (1 / 3)
        res = quiet(lambda x: float(np.sum(x.astype(np.float64) ** 3)), np.zeros(2, dtype),
                    method="sgd", max_iter=0)
        assert_allclose(res.jac, [h * h, h * h], rtol=1e-3 if dtype == np.float32 else 1e-9)


def test_finite_differences_in_float32_call_fun_with_float32():
    dtypes = set()

    def fun(x):
        dtypes.add(x.dtype)
        return float(np.sum((x.astype(np.float64) - 1) ** 2))

    res = minimize(fun, np.zeros(3, np.float32), gtol=1e-3)
    assert dtypes == {np.dtype(np.float32)} and res.success
    assert_allclose(res.x, np.ones(3), rtol=1e-3)


@pytest.mark.parametrize("method", ["bb", "sgd", "adam", "lbfgs"])
def test_2d_x0_reaches_jac_callback_and_result_in_its_shape(method):
    A = np.diag(np.arange(1.0, 7.0))
    b = np.ones(6)
    seen = set()

    def fun(x):
        seen.add(("fun", x.shape, x.dtype))
        return float(0.5 * x.ravel() @ A @ x.ravel() - b @ x.ravel())

    def jac(x):
        seen.add(("jac", x.shape, x.dtype))
        return (A @ x.ravel() - b).reshape(2, 3)     # float64 even for a float32 x

    def cb(r):
        seen.add(("callback", r.x.shape, r.x.dtype))

    x0 = np.zeros((2, 3), np.float32)
    res = quiet(fun, x0, jac, method=method, lr=0.1, max_iter=3, callback=cb)
    f32 = np.dtype(np.float32)
    assert seen == {("fun", (2, 3), f32), ("jac", (2, 3), f32), ("callback", (2, 3), f32)}
    assert res.x.shape == res.jac.shape == (2, 3)
    assert res.x.dtype == res.jac.dtype == f32


@pytest.mark.parametrize("method", ["bb", "sgd", "lbfgs"])
def test_fun_may_return_a_one_element_array(method):
    res = minimize(lambda x: np.array([[float(x @ x)]]), np.array([1.0, 2.0]), lambda x: 2 * x,
                   method=method, lr=0.25, gtol=1e-6)
    assert res.success and isinstance(res.fun, float)
    assert_allclose(res.x, [0.0, 0.0], atol=1e-6)


def test_jac_true_reuses_the_gradient_of_the_accepted_trial():
    # the same bb run with jac=True and with a separate jac: one call of fun per trial point
    # in both, and as many gradients
    A, b = np.diag([1.0, 10.0, 100.0]), np.array([1.0, 1.0, 1.0])
    split = Recorder(lambda x: 0.5 * float(x @ A @ x) - float(b @ x), lambda x: A @ x - b)
    ref = quiet(split.fun, np.zeros(3), split.jac, max_iter=20)
    both = Recorder(lambda x: (split._fun(x), split._jac(x)), None)
    res = quiet(both.fun, np.zeros(3), jac=True, max_iter=20)
    assert_allclose(res.x, ref.x, rtol=1e-15)
    assert res.nfev == len(both.f_at) == len(split.f_at) == ref.nfev
    assert res.njev == len(split.g_at) == ref.njev


@pytest.mark.parametrize("method", ["bb", "sgd"])
def test_jac_false_means_finite_differences_like_none(method):
    fun = scipy.optimize.rosen
    a = quiet(fun, np.array([-1.0, 1.5]), None, method=method, lr=1e-3, max_iter=5)
    b = quiet(fun, np.array([-1.0, 1.5]), False, method=method, lr=1e-3, max_iter=5)
    exact(b.x, a.x)
    assert b.nfev == a.nfev and b.njev == a.njev and b.nit == a.nit == 5


# ---------------------------------------------------------------- adam options


def test_adam_options_reach_the_update():
    A, b = np.diag([1.0, 10.0]), np.array([1.0, -2.0])
    x = x0 = np.array([3.0, 3.0])
    m = v = np.zeros(2)
    for t in range(1, 21):
        g = A @ x - b
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g * g
        x = x - 0.05 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-3)
    res = quiet(lambda z: 0.5 * z @ A @ z - b @ z, x0, lambda z: A @ z - b, method="adam",
                lr=0.05, max_iter=20, options={"betas": (0.8, 0.99), "eps": 1e-3})
    assert_allclose(res.x, x, rtol=1e-13)


# ---------------------------------------------------------------- warnings and progress


# mutmut calls every function through a trampoline, two frames instead of one, so under it no
# stacklevel can point at the caller (tools/mutation-equivalent.txt lists those mutants)
@pytest.mark.skipif("MUTANT_UNDER_TEST" in os.environ, reason="mutmut's trampolines add frames")
@pytest.mark.parametrize("method", ["bb", "sgd", "lbfgs"])
def test_max_iter_warning_points_at_the_caller(method):
    with pytest.warns(ConvergenceWarning) as caught:
        minimize(scipy.optimize.rosen, np.array([-1.2, 1.0]), scipy.optimize.rosen_der,
                 method=method, lr=1e-4, max_iter=2)
    assert [w.filename for w in caught] == [__file__]


@pytest.mark.parametrize("method", ["bb", "sgd", "lbfgs"])
def test_progress_bar_counts_iterations_up_to_max_iter(method, monkeypatch):
    bars = []

    class Bar:
        def __init__(self, total, desc, verbose):
            self.total, self.desc, self.verbose, self.n = total, desc, verbose, 0
            bars.append(self)

        def update(self, n):
            self.n += n

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(minimize_module, "progress",
                        lambda *, total, desc, verbose: Bar(total, desc, verbose))
    fun, jac = (lambda x: float(x @ x) + float(x[0]) ** 4), (lambda x: 2 * x + 4 * x**3 * [1, 0])
    res = quiet(fun, np.array([1.0, 2.0]), jac, method=method, lr=0.01, max_iter=4)
    [bar] = bars
    assert (bar.total, bar.desc, bar.verbose) == (4, f"minimize[{method}]", 0)
    assert bar.n == res.nit == 4


# ---------------------------------------------------------------- lbfgs against SciPy's run


def test_lbfgs_max_iter_message_in_full():
    x0 = np.array([-1.2, 1.0])
    ref = scipy.optimize.minimize(scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der,
                                  method="L-BFGS-B", options={"maxiter": 5, "gtol": 1e-8,
                                                              "ftol": 0.0})
    with pytest.warns(ConvergenceWarning):
        res = minimize(scipy.optimize.rosen, x0, scipy.optimize.rosen_der, method="lbfgs",
                       max_iter=5)
    gnorm = float(np.max(np.abs(ref.jac)))
    assert res.message == (
        f"maximum number of iterations reached (max_iter=5) with ||grad||_inf = {gnorm:.3g} > "
        f"gtol = 1e-08: raise max_iter, loosen gtol (SciPy L-BFGS-B: {ref.message})")


def test_lbfgs_line_search_failure_is_status_5():
    # |x| is not smooth: L-BFGS-B's line search gives up (its status 2, "ABNORMAL")
    fun, jac = (lambda x: float(np.abs(x).sum())), np.sign
    x0 = np.array([1.0, -2.0])
    ref = scipy.optimize.minimize(fun, x0, jac=jac, method="L-BFGS-B",
                                  options={"gtol": 1e-10, "ftol": 0.0})
    assert ref.status == 2
    res = minimize(fun, x0, jac, method="lbfgs", gtol=1e-10)
    assert res.status == 5 and not res.success and res.nit == ref.nit
    assert res.message.startswith("stopped: the line search could not decrease the objective")


def test_lbfgs_without_decrease_and_ftol_0_is_not_a_success():
    # a gradient of the wrong sign: no step lowers f; SciPy stops on "relative reduction of
    # f <= 0", which with ftol = 0 is a stall, not convergence
    res = minimize(lambda x: float(x @ x), np.array([1.0, 2.0]), lambda x: -2 * x,
                   method="lbfgs")
    assert res.status == 5 and not res.success
    exact(res.x, [1.0, 2.0])


def test_lbfgs_hides_non_finite_gradients_from_scipy():
    # f = (x - 10)^2 / 2 from 0; the gradient is NaN on (0.5, 9), where L-BFGS-B's first trial
    # point x = 1 lands. SciPy sees +inf there (the documented translation) and backs off
    def fg(x):
        g = x - 10.0 if not 0.5 < x[0] < 9 else x * math.nan
        return 0.5 * float((x[0] - 10) ** 2), g

    def backed_off(x):
        f, g = fg(x)
        return (f, g) if np.all(np.isfinite(g)) else (math.inf, np.zeros(1))

    ref = scipy.optimize.minimize(backed_off, np.zeros(1), jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-8, "ftol": 0.0})
    res = minimize(fg, np.zeros(1), jac=True, method="lbfgs")
    exact(res.x, ref.x)
    assert res.fun == ref.fun == 50.0
    exact(res.jac, [-10.0])


def test_lbfgs_passes_limits_and_options_to_scipy(monkeypatch):
    calls = []
    real = scipy.optimize.minimize

    def spy(*args, **kwargs):
        calls.append(kwargs["options"])
        return real(*args, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", spy)
    fun, jac = square()
    minimize(fun, np.ones(2), jac, method="lbfgs", max_iter=10)
    minimize(fun, np.ones(2), jac, method="lbfgs", max_iter=6000, gtol=1e-5, ftol=1e-9)
    minimize(fun, np.ones(2), jac, method="lbfgs", options={"maxfun": 7, "maxcor": 3})
    # maxfun: SciPy's 15000, raised to 3 max_iter so that max_iter is the limit that binds
    assert calls == [
        {"maxiter": 10, "gtol": 1e-8, "ftol": 0.0, "maxfun": 15000},
        {"maxiter": 6000, "gtol": 1e-5, "ftol": 1e-9, "maxfun": 18000},
        {"maxiter": 1000, "gtol": 1e-8, "ftol": 0.0, "maxfun": 7, "maxcor": 3},
    ]


def test_bb_float32_step_is_taken_in_float64_and_rounded_once():
    # x1 = float32(x0 - lam g) computed in float64; in float32 arithmetic (lam rounded to float32,
    # lam g rounded, then the difference rounded) some of the 200 entries come out one ulp off
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(200).astype(np.float32)
    c = rng.standard_normal(200).astype(np.float32)
    xs = []
    quiet(lambda x: 0.5 * float(np.sum((x.astype(np.float64) - c) ** 2)), x0, lambda x: x - c,
          lr=0.3, max_iter=1, callback=lambda r: xs.append(r.x))
    g = x0 - c
    want = (x0.astype(np.float64) - 0.3 * g.astype(np.float64)).astype(np.float32)
    in_float32 = x0 - np.float32(0.3) * g
    assert np.any(in_float32 != want)            # the two roundings can be told apart here
    assert xs[0].dtype == np.float32
    assert_array_equal(xs[0], want)


def test_lbfgs_empty_float32_x0_keeps_its_dtype():
    res = minimize(lambda x: 0.0, np.zeros(0, np.float32), lambda x: np.zeros(0), method="lbfgs")
    assert res.status == 0 and res.x.dtype == res.jac.dtype == np.float32


def test_lbfgs_callback_sees_iterations_counted_from_one():
    seen = []
    res = minimize(scipy.optimize.rosen, np.array([-1.2, 1.0]), scipy.optimize.rosen_der,
                   method="lbfgs", callback=lambda r: seen.append((r.nit, r.fun)))
    assert res.success and [n for n, _ in seen] == list(range(1, res.nit + 1))
    assert [f for _, f in seen] == res.history[1:].tolist()
