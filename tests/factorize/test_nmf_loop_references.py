"""The fit loop (_loop) against independent references: a slow plain MU / HALS loop written here
in float64, scikit-learn's NMF from the same start, analytic cases and every stopping rule.

The plain loops follow the documented arithmetic only (nmf()'s Notes, the _loop and _hals
implementation notes): H first, then the learned columns of W, MU entries floored at machine
epsilon times the factor's initial mean, penalties scaled as scikit-learn >= 1.2 in this
orientation, the objective recorded every ``check_every`` iterations and at the end.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit import ConvergenceWarning
from matfit.factorize import nmf

EPS = np.finfo(np.float64).eps


# ---- the references ----------------------------------------------------------------------
def _divergence(X, Y, beta):
    """sum d_beta(X | Y) in float64 (Févotte & Idier 2011, eq. 2), 0 log 0 = 0."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if beta == 2:
        return 0.5 * float(np.sum((X - Y) ** 2))
    if beta == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.where(X > 0, X * np.log(X / Y), 0.0) - X + Y))
    if beta == 0:
        return float(np.sum(X / Y - np.log(X / Y) - 1))
    return float(np.sum((X**beta + (beta - 1) * Y**beta - beta * X * Y ** (beta - 1))
                        / (beta * (beta - 1))))


def _penalties(m, n, alpha_W=0.0, alpha_H=0.0, l1_ratio=0.0):
    """(l1_W, l2_W, l1_H, l2_H): alpha_W scaled by n_samples, alpha_H by n_features."""
    return (alpha_W * l1_ratio * n, alpha_W * (1 - l1_ratio) * n,
            alpha_H * l1_ratio * m, alpha_H * (1 - l1_ratio) * m)


def _penalty(W, H, pen):
    l1w, l2w, l1h, l2h = pen
    return l1w * W.sum() + 0.5 * l2w * np.sum(W**2) + l1h * H.sum() + 0.5 * l2h * np.sum(H**2)


def _gamma(beta):
    return 1 / (2 - beta) if beta < 1 else 1 / (beta - 1) if beta > 2 else 1.0


def _plain_fit(X, W, H, *, beta=2.0, solver="mu", max_iter=20, tol=0.0, check_every=1,
               pen=(0.0, 0.0, 0.0, 0.0), fixed=None, update_H=True, norm=None,
               rule="objective"):
    """The fit, one documented step at a time: (W, H, history, history_nit, nit, stop)."""
    X = np.asarray(X, dtype=np.float64)
    W, H = np.array(W, dtype=np.float64), np.array(H, dtype=np.float64)
    k = W.shape[1]
    learned = np.ones(k, bool) if fixed is None else ~np.asarray(fixed)
    if solver == "mu":
        if learned.any():
            fw = EPS * W[:, learned].mean()
            W[:, learned] = np.maximum(W[:, learned], fw)
        if update_H:
            fh = EPS * H.mean()
            H = np.maximum(H, fh)
    l1w, l2w, l1h, l2h = pen
    g = _gamma(beta)
    hist, nits, crit = [], [], []

    def objective():
        return _divergence(X, W @ H, beta) + _penalty(W, H, pen)

    def stop_here(t):
        f = objective()
        hist.append(f)
        nits.append(t)
        if tol <= 0:
            return False
        c = np.sqrt(2 * _divergence(X, W @ H, beta)) if rule == "sklearn" else f
        crit.append(c)
        return len(crit) > 1 and (c == 0 or crit[-2] - c < tol * abs(crit[0]))

    for t in range(max_iter):
        if t % check_every == 0 and stop_here(t):
            return W, H, np.array(hist), np.array(nits), t, "tol"
        if update_H:
            if solver == "mu":
                WH = W @ H
                num = W.T @ (X * WH ** (beta - 2))
                den = W.T @ WH ** (beta - 1) + l1h + l2h * H
                H = np.maximum(H * (num / den) ** g, fh)
            else:
                A, G = W.T @ X, W.T @ W
                # the loop keeps the learned components first (the _loop notes): that is the
                # Gauss-Seidel order of the sweep over H's rows
                for r in np.concatenate([np.flatnonzero(learned), np.flatnonzero(~learned)]):
                    if G[r, r] + l2h <= 0:
                        continue
                    grad = A[r] - G[r] @ H - l1h - l2h * H[r]
                    H[r] = np.maximum(H[r] + grad / (G[r, r] + l2h), 0)
        cols = np.flatnonzero(learned)
        if cols.size:
            if solver == "mu":
                WH = W @ H
                num = (X * WH ** (beta - 2)) @ H[cols].T
                den = WH ** (beta - 1) @ H[cols].T + l1w + l2w * W[:, cols]
                W[:, cols] = np.maximum(W[:, cols] * (num / den) ** g, fw)
            else:
                for r in cols:
                    if H[r] @ H[r] + l2w <= 0:   # no partner: nothing to fit it to
                        continue
                    grad = X @ H[r] - W @ (H @ H[r]) - l1w - l2w * W[:, r]
                    W[:, r] = np.maximum(W[:, r] + grad / (H[r] @ H[r] + l2w), 0)
            if norm and update_H:
                s = (W[:, cols].sum(axis=0) if norm == "l1"
                     else np.sqrt((W[:, cols] ** 2).sum(axis=0)))
                s[s <= 0] = 1
                W[:, cols] /= s
                H[cols] *= s[:, None]
    hist.append(objective())
    nits.append(max_iter)
    return W, H, np.array(hist), np.array(nits), max_iter, "max_iter"


def _problem(seed=0, m=14, n=11, k=3, scale=1.0, zeros=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.1 * rng.random((m, n))
    if zeros:
        X[rng.random(X.shape) < 0.25] = 0.0
    W, H = rng.random((m, k)) + 0.05, rng.random((k, n)) + 0.05
    return scale * X, np.sqrt(scale) * W, np.sqrt(scale) * H


def _fit_both(X, W, H, *, fixed=None, alpha_W=0.0, alpha_H=0.0, l1_ratio=0.0, normalize_W=False,
              update_H=True, **kw):
    m, n = X.shape
    kw.setdefault("check_every", 10)   # nmf()'s default
    ours = nmf(X, W=W, H=H, fixed_W_columns=fixed, alpha_W=alpha_W, alpha_H=alpha_H,
               l1_ratio=l1_ratio, normalize_W=normalize_W, update_H=update_H, **kw)
    norm = "l2" if normalize_W is True else (normalize_W or None)
    ref = _plain_fit(X, W, H, pen=_penalties(m, n, alpha_W, alpha_H, l1_ratio), fixed=fixed,
                     update_H=update_H, norm=norm, rule=kw.pop("convergence", "objective"),
                     **{key: v for key, v in kw.items() if key not in ("convergence", "update_W")})
    return ours, ref


def _assert_same(ours, ref, rtol=1e-9):
    W, H, hist, nits, nit, _ = ref
    assert ours.nit == nit
    assert ours.history_nit.tolist() == nits.tolist()
    assert_allclose(ours.history, hist, rtol=rtol)
    assert_allclose(ours.W, W, rtol=rtol, atol=0)
    assert_allclose(ours.H, H, rtol=rtol, atol=0)
    assert_allclose(ours.fun, hist[-1], rtol=rtol)


# ---- the iterates: the plain loop, every beta, every kind of learned part ------------------
MU_BETAS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


@pytest.mark.parametrize("beta", MU_BETAS)
@pytest.mark.parametrize("check_every", [1, 4])
def test_mu_iterates_and_history_are_the_plain_loops(beta, check_every):
    X, W, H = _problem(1, zeros=beta > 0)
    ours, ref = _fit_both(X, W, H, beta=beta, max_iter=13, tol=0, check_every=check_every)
    _assert_same(ours, ref)
    assert ours.status == 4 and ours.success


@pytest.mark.parametrize("beta", MU_BETAS)
def test_mu_with_penalties_is_the_plain_loop(beta):
    X, W, H = _problem(2)
    ours, ref = _fit_both(X, W, H, beta=beta, max_iter=12, tol=0, alpha_W=0.03, alpha_H=0.02,
                          l1_ratio=0.4)
    _assert_same(ours, ref)
    m, n = X.shape
    assert_allclose(ours.penalty, _penalty(ours.W, ours.H, _penalties(m, n, 0.03, 0.02, 0.4)),
                    rtol=1e-12)
    assert_allclose(ours.divergence, _divergence(X, ours.W @ ours.H, beta), rtol=1e-10)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 3.0])
def test_mu_floors_entries_that_start_at_zero(beta):
    # exact zeros in the start: MU can only move them from the floor eps * mean(factor),
    # so every later iterate depends on the floor's value
    X, W, H = _problem(3, zeros=False)
    W[::3, 0] = 0.0
    H[1, ::2] = 0.0
    ours, ref = _fit_both(X, W, H, beta=beta, max_iter=40, tol=0, check_every=10)
    _assert_same(ours, ref, rtol=1e-8)
    assert ours.W.min() > 0 and ours.H.min() > 0


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("mu", 0.5), ("hals", 2.0)])
@pytest.mark.parametrize("fixed", [[1], [0, 2]])
def test_fixed_columns_are_the_plain_loops(solver, beta, fixed):
    X, W, H = _problem(4, k=3)
    mask = np.zeros(3, bool)
    mask[fixed] = True
    ours, ref = _fit_both(X, W, H, beta=beta, solver=solver, max_iter=9, tol=0, fixed=mask,
                          alpha_W=0.01, alpha_H=0.01, l1_ratio=0.5)
    _assert_same(ours, ref)
    assert np.array_equal(ours.W[:, mask], W[:, mask])


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("mu", 1.5), ("hals", 2.0)])
def test_supervised_w_fixed_is_the_plain_loop(solver, beta):
    X, W, H = _problem(5)
    ours, ref = _fit_both(X, W, H, beta=beta, solver=solver, max_iter=11, tol=0,
                          update_W=False, fixed=np.ones(3, bool), check_every=3)
    _assert_same(ours, ref)
    assert np.array_equal(ours.W, W)
    # repeated, the cached W.T @ X / W.T @ W must not have been overwritten by a fit
    again = nmf(X, W=W, H=H, beta=beta, solver=solver, max_iter=11, tol=0, update_W=False,
                check_every=3)
    assert np.array_equal(again.H, ours.H)


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("mu", 3.0), ("hals", 2.0)])
def test_h_fixed_is_the_plain_loop(solver, beta):
    X, W, H = _problem(6, zeros=True)   # (the check then evaluates KL at x = 0 from W @ H)
    ours, ref = _fit_both(X, W, H, beta=beta, solver=solver, max_iter=10, tol=0,
                          update_H=False, alpha_W=0.02, l1_ratio=0.3, check_every=4)
    _assert_same(ours, ref)
    assert np.array_equal(ours.H, H)


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("hals", 2.0)])
@pytest.mark.parametrize("normalize_W", [True, "l1"])
def test_normalize_w_is_the_plain_loop(solver, beta, normalize_W):
    X, W, H = _problem(7, k=3)
    fixed = np.array([False, True, False])
    ours, ref = _fit_both(X, W, H, beta=beta, solver=solver, max_iter=8, tol=0,
                          fixed=fixed, normalize_W=normalize_W)
    _assert_same(ours, ref)
    norms = (ours.W[:, ~fixed].sum(axis=0) if normalize_W == "l1"
             else np.linalg.norm(ours.W[:, ~fixed], axis=0))
    assert_allclose(norms, 1.0, rtol=1e-12)


@pytest.mark.parametrize("pen", [{}, {"alpha_W": 0.02, "alpha_H": 0.05, "l1_ratio": 0.7}])
def test_hals_iterates_are_the_plain_loops(pen):
    X, W, H = _problem(8, m=16, n=13, k=4)
    ours, ref = _fit_both(X, W, H, solver="hals", max_iter=15, tol=0, check_every=5, **pen)
    _assert_same(ours, ref)


@pytest.mark.parametrize("normalize_W", [True, "l1"])
def test_normalize_w_leaves_a_zero_column_and_its_activations_alone(normalize_W):
    # HALS keeps W's column 2 at exactly 0 (its L1 penalty outweighs its tiny H row), so its
    # norm is 0: the column must stay 0 and H's row 2 must not be rescaled
    X, W, H = _problem(4)
    W[:, 2], H[2] = 0.0, 1e-3
    ours, ref = _fit_both(X, W, H, solver="hals", max_iter=3, tol=0, alpha_W=0.01,
                          l1_ratio=1.0, normalize_W=normalize_W)
    _assert_same(ours, ref)
    assert np.all(ours.W[:, 2] == 0) and np.all(ours.H[2] == 1e-3)


@pytest.mark.parametrize("beta", [0.5, 1.0, 1.5])
def test_zero_columns_of_fixed_h_and_x_are_the_fit_without_those_columns(beta):
    # H fixed with all-zero columns where X is 0 too: W @ H is exactly 0 there, so the floors
    # cannot keep it positive and the W update must clip it (0 / 0 would be NaN); those
    # samples then contribute nothing, as if they were left out
    X, W, H = _problem(27, n=12)
    X[:, [2, 7]], H[:, [2, 7]] = 0.0, 0.0
    keep = np.setdiff1d(np.arange(12), [2, 7])
    res = nmf(X, W=W, H=H, beta=beta, update_H=False, max_iter=6, tol=0, check_every=2)
    without = nmf(X[:, keep], W=W, H=H[:, keep], beta=beta, update_H=False, max_iter=6, tol=0,
                  check_every=2)
    assert np.isfinite(res.W).all()
    assert_allclose(res.W, without.W, rtol=1e-12)
    assert_allclose(res.history, without.history, rtol=1e-12)
    ref = _plain_fit(X[:, keep], W, H[:, keep], beta=beta, max_iter=6, check_every=2,
                     update_H=False)
    _assert_same(without, ref)


def test_hals_leaves_a_component_with_no_partner_as_it_is():
    # H's row 2 is all zero, so W's column 2 has a zero Gram diagonal: HALS skips it
    X, W, H = _problem(9, k=3)
    H[2] = 0.0
    ours, ref = _fit_both(X, W, H, solver="hals", max_iter=4, tol=0, update_H=False)
    _assert_same(ours, ref)
    assert np.array_equal(ours.W[:, 2], W[:, 2])


# ---- the objective: dense blocks, sparse X, zeros ------------------------------------------
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("shape", [(20, 1 << 14), (1 << 14, 20)])
def test_objective_of_a_large_x_spans_several_row_blocks(beta, shape):
    # blocks of 2**18 // samples rows: 16 of the wide X's 20 rows, 13107 of the tall X's
    # 16384, so each is two blocks, the second one short
    m, n = shape
    rng = np.random.default_rng(10)
    X = rng.random((m, 2)) @ rng.random((2, n)) + 0.1
    if beta > 0:
        X[rng.random(X.shape) < 0.2] = 0.0
    W, H = rng.random((m, 2)) + 0.1, rng.random((2, n)) + 0.1
    ours = nmf(X, W=W, H=H, beta=beta, max_iter=1, tol=0, check_every=1)
    ref = _plain_fit(X, W, H, beta=beta, max_iter=1)
    assert_allclose(ours.history, ref[2], rtol=1e-10)


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("hals", 2.0)])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_x_is_the_plain_loop_on_the_dense_array(solver, beta, fmt):
    X, W, H = _problem(11, m=15, n=12, zeros=True)
    ours = nmf(sp.csr_matrix(X).asformat(fmt), W=W, H=H, beta=beta, solver=solver,
               max_iter=7, tol=0, check_every=2, alpha_H=0.01)
    ref = _plain_fit(X, W, H, beta=beta, solver=solver, max_iter=7, check_every=2,
                     pen=_penalties(*X.shape, 0, 0.01, 0))
    _assert_same(ours, ref)


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("hals", 2.0)])
def test_sparse_x_with_fixed_factors_is_the_plain_loop(solver, beta):
    X, W, H = _problem(12, m=15, n=12, zeros=True)
    Xs = sp.csr_matrix(X)
    for kw in ({"update_W": False}, {"update_H": False}):
        ours = nmf(Xs, W=W, H=H, beta=beta, solver=solver, max_iter=5, tol=0, **kw)
        ref = _plain_fit(X, W, H, beta=beta, solver=solver, max_iter=5, check_every=10,
                         fixed=np.ones(3, bool) if "update_W" in kw else None,
                         update_H="update_H" not in kw)
        _assert_same(ours, ref)


def test_sparse_kl_objective_counts_the_model_where_x_stores_nothing():
    # X stores 4 entries of a 6x5 matrix: the KL objective must include sum(W H) elsewhere
    X = np.zeros((6, 5))
    X[0, 0], X[2, 3], X[5, 4], X[3, 1] = 2.0, 1.0, 3.0, 0.5
    W, H = np.full((6, 2), 0.4), np.full((2, 5), 0.3)
    res = nmf(sp.csr_matrix(X), W=W, H=H, beta=1, max_iter=0)
    assert_allclose(res.fun, _divergence(X, W @ H, 1), rtol=1e-12)
    assert res.status == 5 and res.message == "max_iter=0: the initial factors, unchanged"


def test_sparse_kl_objective_with_explicitly_stored_zeros():
    # a stored 0 is x = 0: its term is y, like an entry that is not stored
    X = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0]])
    Xs = sp.csr_matrix(X)
    Xs.data[1] = 0.0            # X[0, 2] = 2 becomes a stored zero
    assert Xs.nnz == 4
    X[0, 2] = 0.0
    W, H = np.array([[0.5], [0.7]]), np.array([[0.9, 1.1, 0.6]])
    for beta in (1.0, 2.0):
        res = nmf(Xs, W=W, H=H, beta=beta, max_iter=3, tol=0, check_every=1)
        _assert_same(res, _plain_fit(X, W, H, beta=beta, max_iter=3), rtol=1e-12)


@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 2.0), ("hals", 2.0)])
def test_sparse_x_at_small_magnitude_is_the_plain_loop(solver, beta):
    # the model's mass where X stores nothing is far below 1 here
    X, W, H = _problem(25, m=15, n=12, zeros=True, scale=1e-6)
    ours = nmf(sp.csr_matrix(X), W=W, H=H, beta=beta, solver=solver, max_iter=4, tol=0,
               check_every=1)
    _assert_same(ours, _plain_fit(X, W, H, beta=beta, solver=solver, max_iter=4))


@pytest.mark.parametrize("sparse,beta", [(True, 1.0), (True, 2.0), (False, 1.0), (False, 2.0),
                                         (False, 0.5)])
def test_divergence_without_a_product_computes_it(sparse, beta):
    # the Dask driver asks a block's divergence with no W @ H at hand (and no Fit around it)
    from matfit.factorize._loop import _Objective

    X, W, H = _problem(26, zeros=True)
    obj = _Objective(sp.csr_matrix(X) if sparse else X, beta, (0.0, 0.0, 0.0, 0.0))
    assert_allclose(obj.divergence(np.ascontiguousarray(W.T), H, None),
                    _divergence(X, W @ H, beta), rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_float32_near_exact_kl_objective_is_the_float64_divergence_of_its_factors(sparse, seed):
    # X = W0 H0 in float32 and a start 0.1% away: the KL divergence is ~2e-9 of sum(X), so
    # the model's mass must be summed in float64 (float32 sums are off by ~1e-7 of it); the
    # float32 rounding of W @ H itself leaves a few percent of this tiny divergence
    rng = np.random.default_rng(seed)
    W0, H0 = rng.random((300, 3)) + 0.1, rng.random((3, 250)) + 0.1
    X = (W0 @ H0).astype(np.float32)
    W, H = W0 * (1 + 1e-3 * rng.random(W0.shape)), H0 * (1 + 1e-3 * rng.random(H0.shape))
    res = nmf(sp.csr_matrix(X) if sparse else X, W=W, H=H, beta=1, max_iter=3, tol=0)
    ref = _divergence(X, res.W.astype(np.float64) @ res.H, 1)
    assert ref < 1e-8 * X.sum()
    assert_allclose(res.fun, ref, rtol=0.1)


@pytest.mark.parametrize("beta", [0.5, 1.25, 1.5, 3.0])
def test_divergence_of_an_exact_factorisation_is_zero_never_negative(beta):
    # small integers: W @ H is exact, so d(X | W H) = 0; each term of the general formula is
    # a difference of terms of size x^beta, whose rounding may fall below 0: it is clipped
    W = np.array([[1.0, 2.0], [3.0, 1.0], [2.0, 2.0], [1.0, 5.0]])
    H = np.array([[1.0, 3.0, 2.0, 7.0, 1.0], [2.0, 1.0, 4.0, 1.0, 3.0]])
    X = W @ H
    res = nmf(X, W=W, H=H, beta=beta, max_iter=0)
    assert 0.0 <= res.fun <= 1e-15 * np.sum(X**beta)


def test_float32_l1_penalty_is_summed_in_float64():
    # the L1 penalty is a sum of float32 entries; summed in float64 it is exact to 1e-16
    X = _problem(28, m=300, n=200)[0].astype(np.float32)
    res = nmf(X, 3, alpha_W=1e-3, alpha_H=2e-3, l1_ratio=1.0, max_iter=3, tol=0, seed=0)
    W, H = res.W.astype(np.float64), res.H.astype(np.float64)
    assert_allclose(res.penalty, 1e-3 * 200 * W.sum() + 2e-3 * 300 * H.sum(), rtol=1e-13)


@pytest.mark.parametrize("zeros", [False, True])
def test_kl_objective_with_and_without_zeros_in_x(zeros):
    X, W, H = _problem(13, zeros=zeros)
    assert (X == 0).any() == zeros
    ours = nmf(X, W=W, H=H, beta=1, max_iter=6, tol=0, check_every=1)
    _assert_same(ours, _plain_fit(X, W, H, beta=1, max_iter=6), rtol=1e-10)


# ---- small and large magnitudes --------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-90, 1e90])   # (X ** 3 must not overflow float64)
@pytest.mark.parametrize("solver,beta", [("mu", 0.5), ("mu", 1.0), ("mu", 2.0), ("mu", 3.0),
                                         ("hals", 2.0)])
def test_extreme_magnitudes_are_the_plain_loop(scale, solver, beta):
    X, W, H = _problem(14, scale=scale)
    ours = nmf(X, W=W, H=H, beta=beta, solver=solver, max_iter=10, tol=0, check_every=3)
    ref = _plain_fit(X, W, H, beta=beta, solver=solver, max_iter=10, check_every=3)
    _assert_same(ours, ref, rtol=1e-8)


# ---- scikit-learn from the same start ---------------------------------------------------------
@pytest.mark.parametrize("beta", ["frobenius", "kullback-leibler", 1.5, 0.5])
def test_mu_objective_tracks_sklearns_iterates(beta):
    sk = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(15)
    A = rng.random((20, 3)) @ rng.random((3, 12)) + 0.1          # (samples, features)
    W0, H0 = rng.random((20, 3)) + 0.1, rng.random((3, 12)) + 0.1
    b = {"frobenius": 2.0, "kullback-leibler": 1.0}.get(beta, beta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # scikit-learn's max_iter ConvergenceWarning
        Wsk, Hsk, n_iter = sk.non_negative_factorization(
            A, W=W0.copy(), H=H0.copy(), n_components=3, init="custom", solver="mu",
            beta_loss=beta, max_iter=30, tol=0)
    assert n_iter == 30
    ours = nmf(A.T, W=H0.T, H=W0.T, beta=b, max_iter=30, tol=0)
    assert_allclose(ours.W, Hsk.T, rtol=1e-6)
    assert_allclose(ours.H, Wsk.T, rtol=1e-6)
    assert_allclose(ours.divergence, _divergence(A, Wsk @ Hsk, b), rtol=1e-8)


# ---- stopping rules and what the result says ---------------------------------------------------
@pytest.mark.parametrize("solver,beta", [("mu", 1.0), ("mu", 0.5), ("mu", 2.0), ("hals", 2.0)])
@pytest.mark.parametrize("tol", [1e-2, 1e-3])
def test_tol_stops_where_the_plain_rule_does(solver, beta, tol):
    X, W, H = _problem(16, m=20, n=15)
    ours, ref = _fit_both(X, W, H, beta=beta, solver=solver, max_iter=500, tol=tol,
                          check_every=5)
    assert ref[5] == "tol" and 0 < ref[4] < 500
    _assert_same(ours, ref)
    assert ours.status == 0 and ours.success
    assert ours.message == (f"the objective fell by less than tol={tol:g} times its initial "
                            f"value over the last 5 iterations")


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_max_iter_before_tol_is_status_1_with_a_warning(solver):
    X, W, H = _problem(17)
    with pytest.warns(ConvergenceWarning, match=r"max_iter=6 iterations reached before"):
        ours, ref = _fit_both(X, W, H, solver=solver, max_iter=6, tol=1e-9, check_every=2)
    assert ref[5] == "max_iter"
    _assert_same(ours, ref)
    assert ours.status == 1 and not ours.success
    assert ours.message == ("max_iter=6 iterations reached before the objective fell by less "
                            "than tol=1e-09 times its initial value over 2 iterations")


def test_the_last_iterations_are_judged_by_the_objective_rule_only():
    # max_iter = 15, checks every 10: the objective falls 95% of its initial value by 10 and
    # 1.2% from 10 to 15 (sqrt(2 D): 77% and 2.8%). With tol = 3% the objective rule judges
    # the last 5 iterations too (converged, status 0); scikit-learn's rule does not, though
    # its criterion fell by less than tol there as well (max_iter reached, status 1)
    X, W, H = _problem(16, m=20, n=15)
    kw = dict(W=W, H=H, beta=1, max_iter=15, tol=0.03, check_every=10)
    res = nmf(X, **kw)
    h = res.history
    assert res.history_nit.tolist() == [0, 10, 15]
    assert h[0] - h[1] >= 0.03 * h[0] > h[1] - h[2]
    c = np.sqrt(2 * h)
    assert c[0] - c[1] >= 0.03 * c[0] > c[1] - c[2]
    assert res.status == 0 and res.success and res.nit == 15
    with pytest.warns(ConvergenceWarning, match="scikit-learn's stopping rule was met"):
        sk = nmf(X, convergence="sklearn", **kw)
    assert sk.status == 1 and not sk.success and sk.nit == 15
    assert_allclose(sk.history, h, rtol=1e-12)


def test_tol_zero_runs_max_iter_and_says_so():
    X, W, H = _problem(18)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = nmf(X, W=W, H=H, max_iter=7, tol=0, check_every=3)
    assert res.status == 4 and res.success and res.nit == 7
    assert res.message == "ran max_iter=7 iterations (tol=0 disables the convergence test)"
    assert res.history_nit.tolist() == [0, 3, 6, 7]


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_max_iter_zero_returns_the_start(solver):
    X, W, H = _problem(19)
    res = nmf(X, W=W, H=H, solver=solver, max_iter=0, tol=1e-4)
    assert res.status == 5 and res.success and res.nit == 0
    assert res.message == "max_iter=0: the initial factors, unchanged"
    assert_allclose(res.W, W, rtol=0)   # no entry was near the floor
    assert_allclose(res.history, [_divergence(X, W @ H, 2)], rtol=1e-12)
    assert res.history_nit.tolist() == [0]


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5])
def test_nothing_to_fit_is_status_2_with_the_objective(beta):
    X, W, H = _problem(20)
    res = nmf(X, W=W, H=H, beta=beta, update_W=False, update_H=False, alpha_H=0.1)
    assert res.status == 2 and res.success and res.nit == 0
    assert res.message == "nothing to fit: update_W and update_H are both False"
    assert res.history_nit.tolist() == [0]
    pen = _penalty(W, H, _penalties(*X.shape, 0, 0.1, 0))
    assert_allclose(res.history, [_divergence(X, W @ H, beta) + pen], rtol=1e-12)
    assert_allclose(res.penalty, pen, rtol=1e-12)
    assert np.array_equal(res.W, W) and np.array_equal(res.H, H)


@pytest.mark.parametrize("beta", [1.0, 0.5, 1.5])
def test_nothing_to_fit_with_a_zero_row_of_w_where_x_is_zero(beta):
    # both factors fixed, W's row 0 is 0 and so is X's: W @ H is 0 there, a 0 log 0 = 0 term
    # (a KL fit like this used to report NaN: 0 / 0 in its X / (W @ H))
    X, W, H = _problem(29)
    X[0], W[0] = 0.0, 0.0
    res = nmf(X, W=W, H=H, beta=beta, update_W=False, update_H=False)
    assert res.status == 2
    assert_allclose(res.fun, _divergence(X[1:], W[1:] @ H, beta), rtol=1e-12)


def test_a_drop_to_an_exact_zero_objective_stops_at_once():
    # X = [[1]], W = [[1]], H = [[2]]: one HALS sweep is exact, so the objective goes 0.5 -> 0
    # at the check after iteration 1: a zero objective stops the fit there, whatever the drop
    res = nmf(np.array([[1.0]]), W=np.array([[1.0]]), H=np.array([[2.0]]), solver="hals",
              max_iter=50, tol=1e-4, check_every=1)
    assert res.status == 0 and res.nit == 1
    assert res.history.tolist() == [0.5, 0.0]


def test_tol_is_a_strict_bound_on_the_decrease():
    # W = [[1], [1]] fixed, X = [[1], [2]], H from 2.5: one step reaches the optimum H = 1.5,
    # the objective falls 1.25 -> 0.25, a decrease of 1.0 = tol * 1.25 exactly for tol = 0.8
    # (all exact in binary): not *less* than tol times the initial value, so the fit goes on,
    # and stops at the next check (decrease 0)
    kw = dict(W=np.array([[1.0], [1.0]]), H=np.array([[2.5]]), solver="hals", update_W=False,
              max_iter=50, check_every=1)
    X = np.array([[1.0], [2.0]])
    res = nmf(X, tol=0.8, **kw)
    assert res.history.tolist() == [1.25, 0.25, 0.25]
    assert res.status == 0 and res.nit == 2
    assert nmf(X, tol=0.8000001, **kw).nit == 1


def test_progress_bar_counts_towards_max_iter(capsys):
    X, W, H = _problem(30)
    nmf(X, W=W, H=H, max_iter=12, tol=0, check_every=5, verbose=1)
    assert "nmf mu:   0%|          | 0/12" in capsys.readouterr().err


def test_exact_low_rank_data_stops_at_a_zero_objective():
    # X = W H exactly and the start is the answer: the objective is 0 at the first check
    # after iteration 0, so the rule stops there (0 is below any relative decrease)
    W = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    H = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    X = W @ H
    res = nmf(X, W=W, H=H, solver="hals", max_iter=50, tol=1e-4, check_every=1)
    assert res.status == 0 and res.nit == 1
    assert res.history.tolist() == [0.0, 0.0]
    assert_allclose(res.W @ res.H, X, rtol=0, atol=1e-15)


OVERFLOW = ("overflow: X has values too large for its dtype; rescale X (e.g. X / X.max()) or "
            "use float64")
UNDERFLOW = ("W @ H underflows to 0 where X is positive, so the divergence is infinite: the "
             "factors are too small for X's dtype (start from larger ones, e.g. scaled so that "
             "mean(W @ H) = mean(X), or rescale X), or a fixed factor has an all-zero row or "
             "column there")


@pytest.mark.parametrize("case", ["float32 overflow", "float64 overflow", "fixed overflow",
                                  "tiny start overflow", "underflow", "fixed underflow"])
def test_non_finite_objective_is_status_3_with_its_cause(case):
    X, W, H = _problem(21)
    kw = {}
    if case == "float32 overflow":   # (X - W H)^2 of 1e30 overflows float32
        X, W, H, beta, bad, cause = (1e30 * X).astype(np.float32), 1e15 * W, 1e15 * H, 2.0, \
            "infinite", OVERFLOW
    elif case in ("float64 overflow", "fixed overflow"):  # beta 3: 1e200 ** 3 overflows
        X, W, H, beta, bad, cause = 1e200 * X, 1e100 * W, 1e100 * H, 3.0, "NaN", OVERFLOW
        if case == "fixed overflow":   # (a fixed W with positive rows: W @ H stays positive)
            kw = {"update_W": False}
    elif case == "tiny start overflow":  # Frobenius: (1e200)^2 overflows whatever the start
        X, W, H, beta, bad, cause = 1e200 * X, 1e-160 * W, 1e-160 * H, 2.0, "infinite", \
            OVERFLOW
    else:  # Itakura-Saito from factors of 1e-160: W @ H is 1e-320, and X / (W H) overflows
        W, H, beta, bad, cause = 1e-160 * W, 1e-160 * H, 0.0, "infinite", UNDERFLOW
        if case == "fixed underflow":
            kw = {"update_W": False}
    with pytest.warns(ConvergenceWarning, match="likely cause"):
        res = nmf(X, W=W, H=H, beta=beta, max_iter=5, tol=0, **kw)
    assert res.status == 3 and not res.success and res.nit == 0
    assert res.message == f"the objective became {bad} at iteration 0; likely cause: {cause}"
    assert res.history_nit.tolist() == [0]


# ---- scikit-learn's rules ---------------------------------------------------------------------
@pytest.mark.parametrize("tol", [1e-2, 1e-3])
def test_sklearn_rule_for_mu_is_the_plain_rule_on_sqrt_2_divergence(tol):
    X, W, H = _problem(22, m=20, n=15)
    ours, ref = _fit_both(X, W, H, beta=1.0, max_iter=400, tol=tol, check_every=10,
                          alpha_H=0.01, convergence="sklearn")
    assert ref[5] == "tol"
    _assert_same(ours, ref)
    assert ours.status == 8 and ours.success
    assert ours.message == (f"sqrt(2 * divergence) fell by less than tol={tol:g} times its "
                            f"initial value over the last 10 iterations (scikit-learn's rule)")


def test_sklearn_rule_max_iter_names_its_goal():
    X, W, H = _problem(23)
    with pytest.warns(ConvergenceWarning, match="scikit-learn's stopping rule was met"):
        res = nmf(X, W=W, H=H, max_iter=5, tol=1e-12, convergence="sklearn")
    assert res.status == 1
    assert res.message == ("max_iter=5 iterations reached before scikit-learn's stopping rule "
                           "was met (tol=1e-12)")
    assert res.history_nit.tolist() == [0, 5]


def _violation(F, cross, gram, l1=0.0, l2=0.0):
    """sklearn's cd violation of one sweep: entry by entry, the gradient before each update."""
    F = F.copy()
    total = 0.0
    for r in range(F.shape[0]):
        for j in range(F.shape[1]):
            grad = gram[r] @ F[:, j] - cross[r, j] + l1 + l2 * F[r, j]
            total += abs(min(grad, 0.0)) if F[r, j] == 0 else abs(grad)
            hess = gram[r, r] + l2
            if hess > 0:
                F[r, j] = max(F[r, j] - grad / hess, 0.0)
    return total, F


@pytest.mark.parametrize("tol", [0.1, 0.02])
def test_sklearn_rule_for_hals_is_the_projected_gradient_ratio(tol):
    X, W, H = _problem(24, m=12, n=10, k=3)
    res = nmf(X, W=W, H=H, solver="hals", max_iter=300, tol=tol, convergence="sklearn")
    # replay: after each iteration, violation(H sweep) + violation(W sweep) vs the first
    W8, H8 = W.copy(), H.copy()
    first = None
    for it in range(1, 301):
        vh, H8 = _violation(H8, W8.T @ X, W8.T @ W8)
        vw, Wt = _violation(W8.T, H8 @ X.T, H8 @ H8.T)
        W8 = Wt.T
        v = vh + vw
        first = v if it == 1 else first
        if v <= tol * first:
            break
    assert res.nit == it < 300
    assert res.status == 7 and res.success
    assert res.message == (f"the projected gradient fell to at most tol={tol:g} times its size "
                           f"at iteration 1 (scikit-learn's coordinate-descent rule)")
    assert_allclose(res.W, W8, rtol=1e-9)
    assert_allclose(res.H, H8, rtol=1e-9)
    assert res.history_nit[-1] == it
    assert_allclose(res.history[-1], _divergence(X, W8 @ H8, 2), rtol=1e-9)


@pytest.mark.parametrize("tol", [1e-4, 0.0])
def test_sklearn_rule_for_hals_on_one_entry_is_sklearns(tol):
    # X = [[1]], W = [[1]], H = [[2]]: the first sweep's projected gradient is exactly 1 (H's
    # gradient W (W H - X) = 1; W's is 0 after H = 1), the second's 0, so the rule stops after
    # iteration 2 for any tol < 1 (0 included: 0 <= 0 * 1), as scikit-learn's cd does
    sk = pytest.importorskip("sklearn.decomposition")
    res = nmf(np.array([[1.0]]), W=np.array([[1.0]]), H=np.array([[2.0]]), solver="hals",
              tol=tol, max_iter=50, convergence="sklearn")
    theirs = sk.NMF(1, solver="cd", init="custom", tol=tol, max_iter=50).fit(
        np.array([[1.0]]), W=np.array([[2.0]]), H=np.array([[1.0]]))
    assert res.nit == theirs.n_iter_ == 2
    assert res.status == 7 and res.success
    assert res.W.tolist() == [[1.0]] and res.H.tolist() == [[1.0]]
    assert res.history.tolist() == [0.5, 0.0] and res.history_nit.tolist() == [0, 2]
