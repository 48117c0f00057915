"""minimize(): the documented contract, checked against references that could disagree: every
message written out in full, the evaluation counts against counters kept by the test's own
objective, the first Barzilai-Borwein iterates against a plain re-implementation of the
documented step rules, and L-BFGS-B's statuses against SciPy's own run."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_allclose

from matfit import ConvergenceWarning, InvalidParameterError
from matfit.optim import STATUS_MESSAGES, minimize


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


def quad(A, b):
    return (lambda x: 0.5 * float(x @ A @ x) - float(b @ x)), (lambda x: A @ x - b)


class Counted:
    """fun / jac that count their own calls (the reference for nfev and njev)."""

    def __init__(self, A, b, both=False):
        self.A, self.b, self.both, self.nf, self.ng = A, b, both, 0, 0

    def fun(self, x):
        self.nf += 1
        f = 0.5 * float(x @ self.A @ x) - float(self.b @ x)
        if self.both:
            return f, self.A @ x - self.b
        return f

    def jac(self, x):
        self.ng += 1
        return self.A @ x - self.b


A3 = np.diag([1.0, 3.0, 7.0])
B3 = np.array([1.0, -1.0, 2.0])


# ---------------------------------------------------------------- argument errors


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "newton"},
     "minimize(method='newton'): method must be one of 'bb', 'adam', 'sgd', 'lbfgs'."),
    ({"max_iter": -1}, "minimize(max_iter=-1): max_iter must be an integer >= 0."),
    ({"max_iter": True}, "minimize(max_iter=True): max_iter must be an integer >= 0."),
    ({"max_iter": 2.0}, "minimize(max_iter=2.0): max_iter must be an integer >= 0."),
    ({"gtol": -1.0}, "minimize(gtol=-1.0): gtol must be a number >= 0."),
    ({"gtol": math.nan}, "minimize(gtol=nan): gtol must be a number >= 0."),
    ({"gtol": "1"}, "minimize(gtol='1'): gtol must be a number >= 0."),
    ({"ftol": -1e-3}, "minimize(ftol=-0.001): ftol must be a number >= 0."),
    ({"ftol": None}, "minimize(ftol=None): ftol must be a number >= 0."),
    ({"lr": 0.0}, "minimize(lr=0.0): lr must be a finite number > 0, or None for the method's "
                  "default."),
    ({"lr": -1}, "minimize(lr=-1): lr must be a finite number > 0, or None for the method's "
                 "default."),
    ({"lr": math.inf}, "minimize(lr=inf): lr must be a finite number > 0, or None for the "
                       "method's default."),
    ({"lr": "0.1"}, "minimize(lr='0.1'): lr must be a finite number > 0, or None for the "
                    "method's default."),
    ({"options": {"momentum": 0.9}},
     "minimize(method='bb'): unknown option 'momentum'; valid options are ['explode', 'gamma', "
     "'max_backtracks', 'memory', 'noise', 'step_max', 'step_min', 'variant']."),
    ({"method": "sgd", "options": {"betas": (0.9, 0.9)}},
     "minimize(method='sgd'): unknown option 'betas'; valid options are ['dampening', "
     "'explode', 'momentum', 'nesterov', 'weight_decay']."),
    ({"method": "adam", "options": {"momentum": 0.9}},
     "minimize(method='adam'): unknown option 'momentum'; valid options are ['amsgrad', 'betas', "
     "'eps', 'explode', 'weight_decay']."),
    ({"options": {"variant": "bb3"}},
     "minimize(method='bb'): options['variant']='bb3' must be one of 'alternate', 'bb1', 'bb2', "
     "'abbmin'."),
    ({"options": {"memory": 0}},
     "minimize(method='bb'): options['memory']=0 must be >= 1 (1 makes the line search "
     "monotone)."),
    ({"method": "lbfgs", "options": {"maxiter": 3}},
     "minimize(method='lbfgs'): pass 'maxiter' as minimize's max_iter argument, not in options."),
    ({"method": "lbfgs", "options": {"gtol": 3}},
     "minimize(method='lbfgs'): pass 'gtol' as minimize's gtol argument, not in options."),
    ({"method": "lbfgs", "options": {"ftol": 3}},
     "minimize(method='lbfgs'): pass 'ftol' as minimize's ftol argument, not in options."),
])
def test_argument_errors(kwargs, message):
    fun, jac = quad(A3, B3)
    with pytest.raises(InvalidParameterError, match=exactly(message)):
        minimize(fun, np.zeros(3), jac, **kwargs)


@pytest.mark.parametrize("method", ["bb", "sgd", "adam", "lbfgs"])
def test_bad_objective_or_gradient_shapes(method):
    with pytest.raises(InvalidParameterError, match=exactly(
            "minimize: the gradient has shape (3,) but x0 has shape (2,); jac must return an "
            "array shaped like x.")):
        minimize(lambda x: float(x @ x), np.ones(2), lambda x: np.ones(3), method=method)
    with pytest.raises(InvalidParameterError, match=exactly(
            "minimize: fun must return a scalar, got an array of shape (2,).")):
        minimize(lambda x: x, np.ones(2), lambda x: np.ones(2), method=method)
    with pytest.raises(InvalidParameterError, match=exactly(
            "minimize: the gradient has shape (2, 2) but x0 has shape (2,); jac must return an "
            "array shaped like x.")):
        minimize(lambda x: (float(x @ x), np.ones((2, 2))), np.ones(2), jac=True, method=method)


# ---------------------------------------------------------------- statuses and messages


@pytest.mark.parametrize("method", ["bb", "sgd", "adam"])
def test_start_at_the_minimum_converges_at_once(method):
    fun, jac = quad(A3, B3)
    x0 = np.linalg.solve(A3, B3)
    res = minimize(fun, x0, jac, method=method)
    assert res.status == 0 and res.success and res.nit == 0
    assert res.message == "converged: ||grad||_inf = 0 <= gtol = 1e-08"
    assert res.nfev == 1 and res.njev == 1
    assert_allclose(res.x, x0, rtol=0, atol=0) and res.fun == fun(x0)
    assert res.history.tolist() == [fun(x0)]


@pytest.mark.parametrize(("method", "more"), [("bb", ""), ("adam", ""),
                                              ("sgd", ", or lower lr")])
def test_max_iter_zero_warns(method, more):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = minimize(lambda x: float(x @ x), np.array([1.0, -0.5]), lambda x: 2 * x,
                       method=method, max_iter=0, gtol=0.5)
    text = ("maximum number of iterations reached (max_iter=0) with ||grad||_inf = 2 > gtol = "
            f"0.5: raise max_iter, loosen gtol{more}")
    assert res.status == 1 and not res.success and res.nit == 0 and res.message == text
    and_ok(res.x, [1.0, -0.5])
    and_ok(res.jac, [2.0, -1.0])
    [w] = caught
    assert w.category is ConvergenceWarning and str(w.message) == "minimize: " + text


def and_ok(got, expected):
    assert_allclose(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("method", ["bb", "sgd", "adam"])
def test_max_iter_counts_iterations(method):
    c = Counted(A3, B3)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=3\)"):
        res = minimize(c.fun, np.zeros(3), c.jac, method=method, max_iter=3, lr=0.01)
    assert res.nit == 3 and res.status == 1 and len(res.history) == 4
    assert res.nfev == c.nf and res.njev == c.ng
    if method != "bb":
        assert c.nf == 4 and c.ng == 4       # one objective and gradient per step, plus x0
    assert res.history[-1] == res.fun == pytest.approx(A3.dtype.type(
        0.5 * res.x @ A3 @ res.x - B3 @ res.x), rel=1e-15)
    assert_allclose(res.jac, A3 @ res.x - B3, rtol=1e-15)


@pytest.mark.parametrize("method", ["bb", "sgd", "adam"])
def test_evaluation_counts_with_jac_true_and_finite_differences(method):
    c = Counted(A3, B3, both=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = minimize(c.fun, np.zeros(3), jac=True, method=method, max_iter=40, lr=0.05)
    assert res.nfev == c.nf
    assert res.njev <= res.nfev and res.njev >= res.nit + 1
    c = Counted(A3, B3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = minimize(c.fun, np.zeros(3), method=method, max_iter=5, lr=0.05)
    assert res.nfev == c.nf and c.ng == 0
    # central differences: 2 n evaluations per gradient, one gradient per iteration plus x0
    assert res.njev == res.nit + 1 if method != "bb" else res.njev >= res.nit + 1
    if method != "bb":
        assert c.nf == (res.nit + 1) * (1 + 2 * 3)


def test_finite_difference_gradient_is_central_and_scaled():
    x = np.array([0.3, -2.0, 50.0])

    def f(v):
        return float(np.sum(np.sin(v)) + v[0] * v[2] ** 2)

    exact = np.cos(x) + np.array([x[2] ** 2, 0.0, 2 * x[0] * x[2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = minimize(f, x, method="sgd", max_iter=0)
    assert_allclose(res.jac, exact, rtol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = minimize(f, x.astype(np.float32), method="sgd", max_iter=0)
    assert res.jac.dtype == np.float32
    assert_allclose(res.jac, exact, rtol=2e-3)


def test_non_finite_at_x0_messages():
    res = minimize(lambda x: float("nan"), np.array([0.0, 1.0]), lambda x: np.ones(2),
                   method="sgd", lr=0.1)
    assert res.status == 3 and res.nit == 0 and not res.success
    assert res.message == (
        "diverged: the objective or its gradient became non-finite at iteration 0. Likely "
        "causes: step too large (lr=0.1): try lr=0.01; or features on very different scales: "
        "standardise them (the gradient's entries at x0 span a factor 1.0e+00).")
    res = minimize(lambda x: 1.0, np.array([0.0, 1.0]), lambda x: np.array([np.inf, 1e-3]))
    assert res.status == 3
    assert res.message == (
        "diverged: the objective or its gradient became non-finite at iteration 0. Likely "
        "causes: features on very different scales: standardise them (the gradient's entries "
        "at x0 span a factor 1.0e+00); or the objective overflows (compute it from stable "
        "pieces, e.g. matfit.numerics.log_sigmoid).")
    res = minimize(lambda x: math.inf, np.array([0.0]), lambda x: np.zeros(1), method="adam")
    assert res.status == 3 and "step too large (lr=0.001): try lr=0.0001" in res.message


def test_hint_orders_causes_by_the_gradients_spread():
    # spread 1e5 > 1e4: scaling first; zero entries do not count
    res = minimize(lambda x: math.nan, np.zeros(3), lambda x: np.array([1e-5, 0.0, -1.0]),
                   method="sgd", lr=2.0)
    assert res.message.endswith(
        "Likely causes: features on very different scales: standardise them (the gradient's "
        "entries at x0 span a factor 1.0e+05); or step too large (lr=2): try lr=0.2.")
    res = minimize(lambda x: math.nan, np.zeros(3), lambda x: np.array([1e-3, 0.0, -10.0]),
                   method="sgd", lr=2.0)
    assert res.message.endswith(
        "Likely causes: step too large (lr=2): try lr=0.2; or features on very different "
        "scales: standardise them (the gradient's entries at x0 span a factor 1.0e+04).")


def test_explosion_returns_the_best_finite_iterate():
    A = np.diag([1.0, 100.0])
    fun, jac = (lambda x: 0.5 * float(x @ A @ x)), (lambda x: A @ x)
    res = minimize(fun, np.array([1.0, 0.01]), jac, method="sgd", lr=0.025, max_iter=1000)
    # the x-direction contracts (x *= 0.975), the y-direction grows (y *= -1.5)
    assert res.status == 4
    ys = 0.01 * (-1.5) ** np.arange(60)
    xs = 0.975 ** np.arange(60)
    fs = 0.5 * (xs**2 + 100 * ys**2)
    bad = int(np.argmax(fs > fs[0] + 1e8 * 1.0))
    assert res.nit == bad and len(res.history) == bad + 1
    best = int(np.argmin(fs[:bad]))
    assert_allclose(res.x, [xs[best], ys[best]], rtol=1e-12)
    assert res.fun == pytest.approx(fs[best], rel=1e-12)
    assert res.message.startswith(
        f"diverged: the objective exploded from {fs[0]:.6g} to {fs[bad]:.6g} at iteration {bad}."
        " Likely causes: step too large (lr=0.025): try lr=0.0025; or features")
    # a smaller explode factor stops earlier
    res2 = minimize(fun, np.array([1.0, 0.01]), jac, method="sgd", lr=0.025,
                    options={"explode": 10.0})
    assert res2.status == 4 and res2.nit == int(np.argmax(fs > fs[0] + 10.0))


def test_non_finite_during_sgd_hands_back_the_last_finite_point():
    def fun(x):
        return float(x[0] ** 2) if abs(x[0]) < 10 else math.nan

    res = minimize(fun, np.array([1.0]), lambda x: 2 * x, method="sgd", lr=1.6)
    # x: 1, -2.2, 4.84, -10.648 (NaN)
    assert res.status == 3 and res.nit == 3
    assert "non-finite at iteration 3" in res.message
    assert_allclose(res.x, [1.0]) and res.fun == 1.0     # the best of 1, 4.84, 23.4


def test_callback_returning_true_stops_and_sees_copies():
    seen = []

    def cb(r):
        seen.append((r.nit, r.fun, r.x.shape))
        r.x[...] = 1e6                     # a copy: does not disturb the run
        return r.nit == 2

    fun, jac = quad(A3, B3)
    for method in ["bb", "sgd", "adam", "lbfgs"]:
        seen.clear()
        res = minimize(fun, np.zeros((3,)), jac, method=method, lr=0.05, callback=cb)
        assert res.status == 6 and not res.success, method
        assert ([s[0] for s in seen] == [1, 2] and res.nit == 2) or method == "lbfgs"
        assert res.message.startswith("stopped by the callback")
        assert np.all(np.abs(res.x) < 10)
        assert seen[-1][1] == res.history[2]     # the same objective value, not recomputed


def test_status_messages_are_the_documented_table():
    assert set(STATUS_MESSAGES) == set(range(7))
    res = minimize(lambda x: float(x @ x), np.array([3.0]), lambda x: 2 * x, method="sgd",
                   lr=0.1, ftol=0.5, max_iter=100)
    assert res.status == 2 and res.success
    assert res.message == "converged: relative decrease of the objective fell below ftol = 0.5"
    # f_k = 9 * 0.64^k: the relative decrease is 0.36 < 0.5 at once
    assert res.nit == 1 and res.history.tolist() == pytest.approx([9.0, 5.76], rel=1e-15)
    res = minimize(lambda x: float(x @ x), np.array([3.0]), lambda x: 2 * x, method="sgd",
                   lr=0.1, ftol=0.3, max_iter=100)
    # f_k = 9 * 0.64^k decreases by 36 % of f_(k-1), which is below 0.3 * max(f_(k-1), 1) only
    # once f_(k-1) < 0.83: f_6 = 0.618, so the 7th step stops
    assert res.status == 2 and res.nit == 7


# ---------------------------------------------------------------- BB against a plain reference


def plain_bb(grad, x, first, variant, steps):
    """The documented step rules, line search assumed to accept every trial step."""
    xs, alpha, bb2s = [x], first, []
    g = grad(x)
    for k in range(1, steps + 1):
        x_new = x - alpha * g
        g_new = grad(x_new)
        s, y = x_new - x, g_new - g
        bb1, bb2 = (s @ s) / (s @ y), (s @ y) / (y @ y)
        bb2s = [*bb2s, bb2][-10:]
        if variant == "abbmin":
            alpha = min(bb2s) if bb2 < 0.8 * bb1 else bb1
        elif variant == "bb1" or (variant == "alternate" and k % 2 == 1):
            alpha = bb1
        else:
            alpha = bb2
        x, g = x_new, g_new
        xs.append(x)
    return np.array(xs)


@pytest.mark.parametrize("variant", ["alternate", "bb1", "bb2", "abbmin"])
def test_bb_iterates_follow_the_documented_step_rules(variant):
    A = np.diag([1.0, 1.5, 2.0, 2.5])
    b = np.array([1.0, -1.0, 0.5, 2.0])
    fun, jac = quad(A, b)
    x0 = np.zeros(4)
    steps = 8
    ref = plain_bb(jac, x0, 1 / np.max(np.abs(b)), variant, steps)
    xs = [x0]
    with pytest.warns(ConvergenceWarning, match="max_iter=8"):
        res = minimize(fun, x0, jac, options={"variant": variant}, max_iter=steps, gtol=0.0,
                       callback=lambda r: xs.append(r.x))
    assert res.nit == steps
    assert_allclose(np.array(xs), ref, rtol=1e-10, atol=1e-13)
    # and an explicit lr is the first trial step
    xs = [x0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        minimize(fun, x0, jac, lr=0.3, options={"variant": variant}, max_iter=3, gtol=0.0,
                 callback=lambda r: xs.append(r.x))
    assert_allclose(np.array(xs), plain_bb(jac, x0, 0.3, variant, 3), rtol=1e-10, atol=1e-13)


def test_bb_step_bounds_and_the_line_search():
    A, b = np.diag([1.0, 4.0]), np.array([1.0, 1.0])
    fun, jac = quad(A, b)
    xs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        minimize(fun, np.zeros(2), jac, lr=5.0, max_iter=3,
                 options={"step_max": 1e-3, "step_min": 1e-4}, callback=lambda r: xs.append(r.x))
    # every step is clipped to step_max: x_k = x_{k-1} - 1e-3 g
    x = np.zeros(2)
    for got in xs:
        x = x - 1e-3 * jac(x)
        assert_allclose(got, x, rtol=1e-14)
    # a first trial step far too long is shrunk by quadratic interpolation: on a quadratic
    # the interpolated step is the exact line minimiser along -g
    xs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        minimize(fun, np.zeros(2), jac, lr=1.0, max_iter=1, callback=lambda r: xs.append(r.x))
    g = jac(np.zeros(2))
    lam = (g @ g) / (g @ A @ g)            # 0.4: inside [0.1, 0.5] of the trial step 1.0
    assert_allclose(xs[0], -lam * g, rtol=1e-12)
    # with one backtrack allowed and a step that cannot pass, the search stalls (status 5)
    res = minimize(fun, np.zeros(2), jac, lr=1e6, options={"max_backtracks": 1})
    assert res.status == 5 and res.nit == 0 and res.nfev == 2
    assert res.message == (
        "stopped: the line search could not decrease the objective any further (||grad||_inf "
        "= 1 > gtol = 1e-08); floating-point precision is exhausted at this point: loosen gtol "
        "or rescale the problem")
    # and a non-finite trial point is shrunk tenfold
    calls = []

    def fun_inf(x):
        calls.append(x.copy())
        return fun(x) if abs(x[0]) < 2 else math.inf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        minimize(fun_inf, np.zeros(2), jac, lr=30.0, max_iter=1)
    and_ok(calls[1], 30.0 * b)
    and_ok(calls[2], 3.0 * b)


def test_bb_gamma_and_memory_make_a_monotone_search():
    A = np.diag([1.0, 50.0])
    b = np.array([1.0, 1.0])
    fun, jac = quad(A, b)
    res = minimize(fun, np.zeros(2), jac, options={"memory": 1}, gtol=1e-10, max_iter=2000)
    assert res.success and np.all(np.diff(res.history) <= 1e-12)   # rounding noise allowance
    assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-8)
    res = minimize(fun, np.zeros(2), jac, options={"gamma": 0.49}, gtol=1e-10, max_iter=2000)
    assert res.success
    assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-8)


def test_bb_ftol_and_non_convex_regions():
    res = minimize(lambda x: float(x @ x), np.array([3.0, 4.0]), lambda x: 2 * x, ftol=0.5,
                   lr=0.1)
    # the first step x -> 0.8 x lowers f by 36 % < 50 %: stop
    assert res.status == 2 and res.nit == 1
    assert_allclose(res.x, [2.4, 3.2], rtol=1e-15)
    # a double well started on the hump's slope: s.y < 0 on the first step
    res = minimize(lambda x: float(x[0] ** 4 / 4 - x[0] ** 2 / 2), np.array([0.1]),
                   lambda x: x**3 - x, gtol=1e-10)
    assert res.success and abs(res.x[0]) == pytest.approx(1.0, rel=1e-9)


# ---------------------------------------------------------------- lbfgs statuses


def test_lbfgs_statuses_and_dtype():
    x0 = np.array([-1.2, 1.0], np.float32)
    rosen, der = scipy.optimize.rosen, scipy.optimize.rosen_der
    with pytest.warns(ConvergenceWarning, match=r"max_iter=5\)"):
        res = minimize(rosen, x0, der, method="lbfgs", max_iter=5)
    assert res.status == 1 and res.nit == 5 and res.x.dtype == np.float32
    assert res.message.endswith(")") and "(SciPy L-BFGS-B: " in res.message
    ref = scipy.optimize.minimize(rosen, x0.astype(float), jac=der, method="L-BFGS-B",
                                  options={"ftol": 1e-3, "gtol": 1e-12})
    res = minimize(rosen, x0.astype(float), der, method="lbfgs", ftol=1e-3, gtol=1e-12)
    assert res.status == 2 and res.success and res.nit == ref.nit
    assert res.message.startswith("converged: relative decrease of the objective fell below "
                                  "ftol = 0.001 (SciPy L-BFGS-B: ")
    res = minimize(lambda x: math.nan, np.zeros(2), lambda x: np.ones(2), method="lbfgs")
    assert res.status == 3 and not res.success
    assert res.message.startswith("diverged: the objective or its gradient became non-finite")
    res = minimize(rosen, np.ones(2), der, method="lbfgs")
    assert res.status == 0 and res.nit == 0 and len(res.history) == 1
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        res = minimize(rosen, np.array([-1.2, 1.0]), der, method="lbfgs",
                       options={"maxfun": 3})
    assert res.status == 1 and not res.success


def test_verbose_shows_a_progress_bar_named_by_method(capsys):
    fun, jac = quad(A3, B3)
    for method in ["bb", "lbfgs", "sgd"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            minimize(fun, np.zeros(3), jac, method=method, verbose=1, max_iter=3)
        assert f"minimize[{method}]" in capsys.readouterr().err
    minimize(fun, np.zeros(3), jac, verbose=0)
    assert capsys.readouterr().err == ""


def test_x0_is_named_and_max_iter_defaults_to_1000():
    from matfit import DataError

    with pytest.raises(DataError, match=r"^x0 has 1 non-finite entry \(NaN or inf\), the first "
                                        r"at x0\[1\] = nan\."):
        minimize(lambda x: 0.0, np.array([0.0, np.nan]), lambda x: np.zeros(2))
    with pytest.warns(ConvergenceWarning, match=r"max_iter=1000\)"):
        res = minimize(lambda x: float(x @ x), np.ones(2), lambda x: 2 * x, method="sgd",
                       lr=1e-6)
    assert res.nit == 1000 and len(res.history) == 1001


def test_lbfgs_result_fields_come_from_scipy():
    x0 = np.array([-1.2, 1.0])
    rosen, der = scipy.optimize.rosen, scipy.optimize.rosen_der
    ref = scipy.optimize.minimize(rosen, x0, jac=der, method="L-BFGS-B",
                                  options={"gtol": 1e-9, "ftol": 0.0})
    res = minimize(rosen, x0, der, method="lbfgs", gtol=1e-9)
    assert res.fun == pytest.approx(ref.fun, abs=1e-15) and isinstance(res.fun, float)
    assert_allclose(res.jac, ref.jac, rtol=0, atol=1e-15)
    assert res.history[0] == rosen(x0) and res.history.dtype == np.float64
    res = minimize(lambda x: math.nan, np.zeros(2), lambda x: np.ones(2), method="lbfgs")
    assert res.message.startswith(
        "diverged: the objective or its gradient became non-finite at iteration 0. Likely "
        "causes: features on very different scales: standardise them")
    assert "; or the objective overflows (compute it from stable pieces" in res.message
