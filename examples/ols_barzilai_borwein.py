"""Ordinary least squares by gradient descent that converges: Barzilai-Borwein steps.

Question: I fit y = b0 + b1 x1 + b2 x2 by gradient descent on five points (y = 20, 40, 60, 80,
100; x1 = 1, 5, 7, 9, 11; x2 = 23, 29, 60, 85, 99). statsmodels says (4.344, 4.388, 0.451), but
my gradient descent never gets there: with a larger step it blows up, with a smaller one it
stops far away. How do I make it converge?

Answer:
* The columns [1, x1, x2] have very different scales, so X'X is badly conditioned: the stable
  fixed step (below 2 / lambda_max) moves the flat directions by almost nothing per iteration,
  and the number of iterations grows with the condition number.
* Barzilai-Borwein steps, alpha = s's / s'y (s the last step, y the change of gradient), adapt
  the step to the curvature seen along the path and converge in a few dozen iterations without
  any step size to tune. With a non-monotone line search (Raydan's GBB, what
  ``matfit.optim.minimize(method="bb")`` runs) they are also safe on non-quadratic objectives.
* ``matfit.linear.LinearRegression(solver="gd")`` uses BB and standardised columns.

Checked: statsmodels' OLS (or ``np.linalg.lstsq`` without statsmodels) to 1e-6, for a plain-NumPy
BB loop, for ``matfit.optim.minimize`` on the raw objective and for ``LinearRegression``.
Run: ``python examples/ols_barzilai_borwein.py`` (under a second).
"""

from __future__ import annotations

import json

import numpy as np

from matfit.linear import LinearRegression
from matfit.optim import minimize

y = np.array([20.0, 40, 60, 80, 100])
X = np.column_stack([[1.0, 5, 7, 9, 11], [23.0, 29, 60, 85, 99]])


def reference() -> np.ndarray:
    try:
        import statsmodels.api as sm

        return np.asarray(sm.OLS(y, sm.add_constant(X)).fit().params)
    except ImportError:
        return np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]


def objective(theta: np.ndarray, A: np.ndarray) -> tuple[float, np.ndarray]:
    r = A @ theta - y
    return 0.5 * float(r @ r) / len(y), A.T @ r / len(y)


def main() -> dict:
    ref = reference()
    print(f"reference OLS coefficients (b0, b1, b2): {np.round(ref, 6)}")
    assert np.allclose(ref, [4.344, 4.388, 0.451], atol=5e-4)
    A = np.column_stack([np.ones(len(y)), X])

    # 1. fixed-step GD with the largest stable step: the flat direction crawls
    eig = np.linalg.eigvalsh(A.T @ A / len(y))
    step = 1.9 / eig[-1]
    theta = np.zeros(3)
    for _ in range(10_000):
        theta = theta - step * objective(theta, A)[1]
    fixed_err = float(np.max(np.abs(theta - ref)))
    print(f"condition number of X'X: {eig[-1] / eig[0]:.2e}; fixed step {step:.2e} (just "
          f"under 2/lambda_max): after 10,000 iterations still {fixed_err:.3f} away")
    assert fixed_err > 1e-2

    # 2. the Barzilai-Borwein step in ten lines of NumPy (no line search: fine on a quadratic)
    theta = np.zeros(3)
    g = objective(theta, A)[1]
    alpha, bb_iters = 1e-4, 0
    while np.max(np.abs(g)) > 1e-12 and bb_iters < 10_000:
        theta_new = theta - alpha * g
        g_new = objective(theta_new, A)[1]
        s, dg = theta_new - theta, g_new - g
        alpha = float(s @ s) / float(s @ dg)  # BB1: the inverse curvature along the last step
        theta, g, bb_iters = theta_new, g_new, bb_iters + 1
    bb_err = float(np.max(np.abs(theta - ref)))
    print(f"plain BB loop: {bb_iters} iterations, max |error| = {bb_err:.1e}")
    assert bb_err < 1e-6

    # 3. matfit: BB with a non-monotone line search, on the raw objective
    res = minimize(lambda t: objective(t, A), np.zeros(3), jac=True, method="bb", gtol=1e-12)
    raw_err = float(np.max(np.abs(res.x - ref)))
    print(f"matfit.optim.minimize(method='bb') on the raw columns: {res.nit} iterations, "
          f"max |error| = {raw_err:.1e} ({res.message})")
    assert res.success and raw_err < 1e-6

    # 4. the estimator: standardised columns, BB, coefficients mapped back
    model = LinearRegression(solver="gd").fit(X, y)
    est = np.r_[model.intercept_, model.coef_]
    est_err = float(np.max(np.abs(est - ref)))
    print(f"matfit LinearRegression(solver='gd'): {model.n_iter_} iterations, coefficients "
          f"{np.round(est, 6)}, max |error| = {est_err:.1e}")
    assert est_err < 1e-6

    return {"reference": ref.tolist(), "fixed_step_error_after_10000": fixed_err,
            "bb_loop_iterations": bb_iters, "bb_loop_error": bb_err,
            "minimize_bb_iterations": int(res.nit), "minimize_bb_error": raw_err,
            "estimator_iterations": int(model.n_iter_), "estimator_error": est_err}


if __name__ == "__main__":
    print(json.dumps(main()))
