"""Gradient descent on polynomial features explodes to 1e38: why, and a fit that converges.

Question: I draw 20 points X = 2 - 3 N(0, 1), y = X - 2 X^2 + 0.5 X^3 + noise, build degree-2
polynomial features [1, x, x^2] and run gradient descent with step 0.01. The coefficients grow
to 1e38 and then become NaN. What is wrong, and how do I fit this by gradient descent?

Answer:
* Gradient descent on least squares is stable only for a step below 2 / lambda_max, where
  lambda_max is the largest eigenvalue of X'X / m. With x up to ~8, x^2 reaches ~64 and
  lambda_max is in the hundreds, so 0.01 is far too large: each step multiplies the error
  along the top eigenvector by |1 - 0.01 lambda_max| > 1 and it explodes geometrically.
* A step small enough to be stable is then far too small for the flat directions (the
  eigenvalues span orders of magnitude), so plain GD crawls. Standardising the columns fixes
  the conditioning, and Barzilai-Borwein steps remove the step size altogether.
* ``matfit.linear.LinearRegression(solver="gd")`` does both (and maps the coefficients back to
  the raw features); with a fixed step on raw features it stops and says why instead of
  returning NaN.

Checked: matfit's GD coefficients equal ``np.linalg.lstsq`` (and scikit-learn when installed) to
1e-6; the plain loop is shown to diverge; the stability bound 2 / lambda_max is below 0.01.
Run: ``python examples/polynomial_gd.py`` (well under a second).
"""

from __future__ import annotations

import json

import numpy as np

from matfit.linear import DivergenceError, LinearRegression, PolynomialFeatures


def main() -> dict:
    rng = np.random.default_rng(0)
    x = 2 - 3 * rng.normal(size=20)
    y = x - 2 * x**2 + 0.5 * x**3 + rng.normal(size=20)
    P = PolynomialFeatures(degree=2, include_bias=False).fit_transform(x[:, None])  # [x, x^2]
    Xb = np.column_stack([np.ones_like(x), P])

    # 1. why step 0.01 explodes: the stability bound of GD on (1/2m)||Xb theta - y||^2
    eig = np.linalg.eigvalsh(Xb.T @ Xb / len(y))
    bound = 2 / eig[-1]
    print(f"eigenvalues of X'X/m: {eig.min():.3g} .. {eig.max():.3g} (ratio {eig[-1] / eig[0]:.2e})"
          f"; GD is stable only for steps < {bound:.2e}, and 0.01 is {0.01 / bound:.0f}x that")
    assert bound < 0.01

    # 2. the plain loop from the question
    theta = np.zeros(3)
    blew_up_at = None
    with np.errstate(over="ignore", invalid="ignore"):
        for it in range(1, 1001):
            theta = theta - 0.01 * Xb.T @ (Xb @ theta - y) / len(y)
            if blew_up_at is None and not np.all(np.abs(theta) < 1e38):
                blew_up_at = it
    print(f"plain GD, step 0.01: |theta| passes 1e38 at iteration {blew_up_at}; after 1000 "
          f"iterations theta = {theta}")
    assert blew_up_at is not None and not np.all(np.isfinite(theta))

    # a stable step is no cure: the flat directions then barely move
    exact = np.linalg.lstsq(Xb, y, rcond=None)[0]
    theta = np.zeros(3)
    for _ in range(1000):
        theta = theta - 0.9 * bound * Xb.T @ (Xb @ theta - y) / len(y)
    crawl_err = float(np.max(np.abs(theta - exact)))
    print(f"plain GD with a stable step {0.9 * bound:.2e}: after 1000 iterations still "
          f"{crawl_err:.2f} away from the least-squares coefficients")
    assert crawl_err > 0.1

    # 3. matfit: standardised features + Barzilai-Borwein steps, coefficients on the raw scale
    model = LinearRegression(solver="gd").fit(P, y)
    ours = np.r_[model.intercept_, model.coef_]
    err = float(np.max(np.abs(ours - exact)))
    print(f"matfit LinearRegression(solver='gd'): {model.n_iter_} iterations, coefficients "
          f"{np.round(ours, 6)}, max |difference from lstsq| = {err:.1e}")
    assert err < 1e-6
    try:
        from sklearn.linear_model import LinearRegression as SkLinearRegression

        sk = SkLinearRegression().fit(P, y)
        assert np.allclose(np.r_[sk.intercept_, sk.coef_], ours, rtol=0, atol=1e-6)
        print("scikit-learn's LinearRegression agrees to 1e-6")
    except ImportError:
        pass

    # 4. the same fixed step through matfit: a clear error instead of NaN coefficients
    try:
        LinearRegression(solver="gd", optimizer="sgd", lr=0.01, standardize=False).fit(P, y)
        raise AssertionError("a fixed step of 0.01 on raw features should diverge")
    except DivergenceError as e:
        message = str(e)
        print(f"matfit with the question's fixed step: {message}")
        assert "step too large" in message

    return {"stable_step_bound": bound, "plain_gd_overflow_iteration": blew_up_at,
            "stable_step_error_after_1000": crawl_err,
            "matfit_iterations": int(model.n_iter_), "max_coef_error_vs_lstsq": err,
            "coef": ours.tolist()}


if __name__ == "__main__":
    print(json.dumps(main()))
