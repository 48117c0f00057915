"""NMF does not depend on the units of X: data of magnitude 1e-12 or 1e12 factorises as well as
data of magnitude 1, and (for a scaled start) the iterates are the scaled iterates.

The reference is the fit of the unscaled data. A numerical guard written as an absolute constant
(a denominator clipped at 1e-9 rather than at the dtype's smallest positive number, an objective
floor of 1e-10) breaks this at one end of the range or the other.
"""

from __future__ import annotations

import numpy as np
import pytest

from matfit.factorize import nmf


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((30, 4)) @ rng.random((4, 40)) + 0.01 * rng.random((30, 40))


@pytest.mark.parametrize("scale", [1e-12, 1e12])
@pytest.mark.parametrize(("beta", "solver"), [(2, "mu"), (2, "hals"), (1, "mu")])
def test_relative_error_does_not_depend_on_the_units_of_x(scale, beta, solver):
    X = _data()
    ref = nmf(X, 4, beta=beta, solver=solver, init="random", seed=0, max_iter=150, tol=0)
    res = nmf(X * scale, 4, beta=beta, solver=solver, init="random", seed=0, max_iter=150, tol=0)
    rel_ref = np.linalg.norm(X - ref.W @ ref.H) / np.linalg.norm(X)
    rel = np.linalg.norm(X * scale - res.W @ res.H) / np.linalg.norm(X * scale)
    assert rel_ref < 0.05
    assert rel == pytest.approx(rel_ref, rel=1e-3)


@pytest.mark.parametrize("scale", [1e-12, 1e12])
@pytest.mark.parametrize("beta", [0, 1, 2])
def test_mu_iterates_scale_with_x(scale, beta):
    # Under X -> c X with W0, H0 -> sqrt(c) W0, sqrt(c) H0 every beta-MU step is equivariant: the
    # update's ratio is homogeneous of degree 0 in (X, W, H) for any beta, so the iterates are
    # sqrt(c) times the unscaled ones, up to rounding.
    X = _data(1) + 0.1
    rng = np.random.default_rng(2)
    W0, H0 = rng.random((30, 4)) + 0.1, rng.random((4, 40)) + 0.1
    ref = nmf(X, 4, beta=beta, init="custom", W=W0, H=H0, max_iter=40, tol=0)
    c = np.sqrt(scale)
    res = nmf(X * scale, 4, beta=beta, init="custom", W=W0 * c, H=H0 * c, max_iter=40, tol=0)
    np.testing.assert_allclose(res.W @ res.H / scale, ref.W @ ref.H, rtol=1e-8)
