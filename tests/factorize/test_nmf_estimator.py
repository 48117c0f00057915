"""The NMF estimator: scikit-learn's contract, orientation, and parity with sklearn's NMF."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit import NotFittedError, ShapeError
from matfit.factorize import NMF, nmf

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import NMF as SkNMF  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")  # the checks cap max_iter
@parametrize_with_checks([NMF(), NMF(solver="mu"), NMF(beta_loss="kl", init="random")])
def test_sklearn_estimator_checks(estimator, check):
    # NMF() is solver="cd" (HALS) for the Frobenius loss. No expected failures: matfit's
    # messages also carry the phrases scikit-learn's checks match ("Negative values in
    # data", "Reshape your data", "Complex data not supported")
    check(estimator)


def _X(seed=0, n=40, p=15):
    rng = np.random.default_rng(seed)
    return rng.random((n, 4)) @ rng.random((4, p)) + 0.05 * rng.random((n, p))


def test_orientation_is_sklearns_and_nmf_runs_on_the_transpose():
    X = _X()
    model = NMF(4, beta_loss="kl", random_state=0, tol=0, max_iter=50)
    Wsk = model.fit_transform(X)
    assert Wsk.shape == (40, 4) and model.components_.shape == (4, 15)
    res = nmf(X.T, 4, beta="kl", seed=0, tol=0, max_iter=50)
    assert_allclose(model.components_, res.W.T, rtol=1e-12)
    assert model.n_iter_ == 50 and model.n_components_ == 4
    assert_allclose(model.loss_curve_, res.history)
    assert_allclose(model.reconstruction_err_, np.sqrt(2 * res.divergence))
    assert_allclose(model.inverse_transform(Wsk), Wsk @ model.components_)


@pytest.mark.parametrize("solver,beta", [("mu", "frobenius"), ("mu", "kullback-leibler"),
                                         ("hals", "frobenius")])
def test_fit_transform_equals_fit_then_transform(solver, beta):
    # scikit-learn #18663: its transform starts MU from another init than fit, and disagrees
    X = _X(1)
    kw = dict(n_components=4, solver=solver, beta_loss=beta, random_state=0, max_iter=3000,
              tol=1e-4)
    a = NMF(**kw).fit_transform(X)
    b = NMF(**kw).fit(X).transform(X)
    assert np.array_equal(a, b)
    # and the activations are as good as the joint fit's
    model = NMF(**kw).fit(X)
    joint = nmf(X.T, 4, beta=beta, solver=solver, seed=0, max_iter=3000, tol=1e-4)
    from matfit.numerics import beta_divergence
    # (to about the tolerance: MU approaches zero activations slowly)
    assert beta_divergence(X, a @ model.components_, beta) <= joint.divergence * (1 + 1e-2)


def test_reconstruction_and_components_close_to_sklearn_from_the_same_init():
    X = _X(2)
    rng = np.random.default_rng(3)
    W0, H0 = rng.random((40, 4)) + 0.1, rng.random((4, 15)) + 0.1
    ours = NMF(4, init="custom", beta_loss="kl", max_iter=300, tol=0).fit(X, W=W0, H=H0)
    theirs = SkNMF(4, init="custom", solver="mu", beta_loss="kullback-leibler", max_iter=300,
                   tol=0).fit(X, W=W0.copy(), H=H0.copy())
    assert_allclose(ours.components_, theirs.components_, rtol=1e-8)
    assert_allclose(ours.reconstruction_err_, theirs.reconstruction_err_, rtol=1e-8)


def test_alpha_names_follow_sklearn_in_the_estimator():
    X = _X(3)
    rng = np.random.default_rng(4)
    W0, H0 = rng.random((40, 4)) + 0.1, rng.random((4, 15)) + 0.1
    kw = dict(init="custom", max_iter=20, tol=0, alpha_W=0.02, alpha_H=0.1, l1_ratio=0.5)
    ours = NMF(4, solver="mu", **kw).fit(X, W=W0, H=H0)
    theirs = SkNMF(4, solver="mu", **kw).fit(X, W=W0.copy(), H=H0.copy())
    assert_allclose(ours.components_, theirs.components_, rtol=1e-9)
    same = NMF(4, solver="mu", init="custom", max_iter=20, tol=0, alpha_W=0.02, l1_ratio=0.5)
    assert same.get_params()["alpha_H"] == "same"
    ref = SkNMF(4, solver="mu", init="custom", max_iter=20, tol=0, alpha_W=0.02, l1_ratio=0.5)
    assert_allclose(same.fit(X, W=W0, H=H0).components_,
                    ref.fit(X, W=W0.copy(), H=H0.copy()).components_, rtol=1e-9)


def test_float32_and_sparse_input():
    X = _X(4).astype(np.float32)
    model = NMF(3, beta_loss="kl", random_state=0, max_iter=30, tol=0)
    W = model.fit_transform(sp.csr_matrix(X))
    assert W.dtype == np.float32 and model.components_.dtype == np.float32
    dense = NMF(3, beta_loss="kl", random_state=0, max_iter=30, tol=0).fit(X)
    assert_allclose(model.components_, dense.components_, rtol=1e-3)


def test_errors_name_the_problem():
    model = NMF(3)
    with pytest.raises(NotFittedError, match="call fit"):
        model.transform(_X())
    model.set_params(max_iter=20, tol=0).fit(_X())
    with pytest.raises(ShapeError, match="X has 14 features, but NMF is expecting 15"):
        model.transform(_X()[:, :14])
    with pytest.raises(ShapeError, match="model has 3 components"):
        model.inverse_transform(np.ones((2, 4)))


def test_params_roundtrip_and_clone():
    model = NMF(5, beta_loss="is", solver="mu", alpha_W=0.1, random_state=3)
    params = model.get_params()
    assert params["beta_loss"] == "is" and params["n_components"] == 5
    copy = clone(model).set_params(n_components=2)
    assert copy.n_components == 2 and model.n_components == 5
    assert NMF(2, max_iter=5, tol=0).fit(_X(), y=None).n_iter_ == 5


# ---- a partly fixed dictionary: fixed_components ------------------------------------------
def _parts(seed=5, n=60, p=12):
    rng = np.random.default_rng(seed)
    D, E, A = rng.random((2, p)), rng.random((2, p)), rng.random((n, 4))
    return A @ np.vstack([D, E]), D


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["cd", "mu"])
@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_fixed_components_stay_and_the_others_recover_the_rest(solver, missing):
    # X = A @ [D; E] exactly: with D fixed, two learned components must find E's span
    X, D = _parts()
    if missing:
        X[np.random.default_rng(1).random(X.shape) < missing] = np.nan
    model = NMF(4, solver=solver, fixed_components=D, max_iter=3000, tol=1e-10,
                random_state=0).fit(X)
    assert np.array_equal(model.components_[:2], D)   # bit for bit
    Y = model.transform(X) @ model.components_
    seen = ~np.isnan(X)
    err = np.linalg.norm((Y - X)[seen]) / np.linalg.norm(X[seen])
    assert err < (1e-4 if solver == "cd" else 5e-3), err
    plain = NMF(2, solver=solver, fixed_components=D, max_iter=3000, tol=1e-10,
                random_state=0).fit(X)   # D alone cannot explain X
    Y2 = plain.transform(X) @ plain.components_
    assert np.linalg.norm((Y2 - X)[seen]) / np.linalg.norm(X[seen]) > 10 * err


def _nnls_rows(X, D):
    """Activations by scipy's NNLS, sample by sample, on the observed entries only."""
    from scipy.optimize import nnls

    out = np.empty((X.shape[0], D.shape[0]))
    for j, x in enumerate(X):
        seen = ~np.isnan(x)
        out[j] = nnls(D[:, seen].T, x[seen])[0]
    return out


@pytest.mark.parametrize("missing", [0.0, 0.25])
def test_all_components_fixed_gives_the_nnls_activations(missing):
    rng = np.random.default_rng(7)
    X = rng.random((25, 10))
    D = rng.random((3, 10))
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    model = NMF(3, fixed_components=D, max_iter=20000, tol=1e-14, random_state=0)
    A = model.fit_transform(X)
    assert np.array_equal(model.components_, D)
    ref = _nnls_rows(X, D)
    assert (ref == 0).any()   # the non-negativity binds somewhere: a real NNLS
    assert_allclose(A, ref, atol=1e-7)
    assert_allclose(model.transform(X), ref, atol=1e-7)


@pytest.mark.filterwarnings("ignore::matfit.ConvergenceWarning")
def test_all_fixed_kl_activations_match_sklearn_update_H_false():
    from sklearn.decomposition import non_negative_factorization

    rng = np.random.default_rng(8)
    X = rng.random((20, 9)) + 0.1
    D = rng.random((3, 9)) + 0.05
    ours = NMF(3, beta_loss="kl", solver="mu", fixed_components=D, max_iter=20000,
               tol=1e-12).fit_transform(X)
    theirs, H, _ = non_negative_factorization(X, H=D, n_components=3, update_H=False,
                                              beta_loss="kullback-leibler", solver="mu",
                                              max_iter=20000, tol=1e-12)
    assert np.array_equal(H, D)
    assert_allclose(ours, theirs, rtol=2e-3, atol=1e-5)


def test_a_given_H_keeps_its_learned_rows_and_takes_the_fixed_ones():
    X, D = _parts(9)
    rng = np.random.default_rng(2)
    W0, H0 = rng.random((X.shape[0], 4)) + 0.1, rng.random((4, X.shape[1])) + 0.1
    model = NMF(4, init="custom", fixed_components=D, max_iter=0).fit(X, W=W0, H=H0)
    assert np.array_equal(model.components_, np.vstack([D, H0[2:]]))


def test_fixed_components_params_and_clone():
    X, D = _parts(10)
    model = NMF(3, fixed_components=D, max_iter=30, tol=0, random_state=0)
    assert model.get_params()["fixed_components"] is D
    twin = clone(model)
    assert np.array_equal(twin.fixed_components, D)
    assert np.array_equal(twin.fit(X).components_, model.fit(X).components_)
    free = clone(model).set_params(fixed_components=None).fit(X)
    assert_allclose(free.components_, NMF(3, max_iter=30, tol=0, random_state=0).fit(X)
                    .components_, rtol=0)


def test_fixed_components_errors_name_it():
    from matfit._errors import DataError, InvalidParameterError

    X, D = _parts(11)
    with pytest.raises(ShapeError, match=r"fixed_components has shape \(2, 11\), but X has 12 "
                                         r"features"):
        NMF(3, fixed_components=D[:, :11]).fit(X)
    with pytest.raises(ShapeError, match=r"fixed_components has shape \(12,\)"):
        NMF(3, fixed_components=D[0]).fit(X)
    with pytest.raises(InvalidParameterError, match=r"fixed_components has 2 rows but "
                                                    r"n_components=1"):
        NMF(1, fixed_components=D).fit(X)
    with pytest.raises(DataError, match=r"fixed_components has 1 negative entry"):
        NMF(3, fixed_components=D - 2 * (D == D.max())).fit(X)
    with pytest.raises(DataError, match=r"fixed_components has 1 non-finite entry"):
        NMF(3, fixed_components=np.where(D == D.max(), np.nan, D)).fit(X)
