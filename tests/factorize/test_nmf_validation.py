"""Bad input gives one clear error that names the argument, the value and the fix."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit import DataError, DTypeError, InvalidParameterError, ShapeError
from matfit.factorize import nmf
from matfit.numerics import beta_divergence

X = np.random.default_rng(0).random((20, 30)) + 0.01


def test_the_issue_shape_mismatch_names_the_components_dimension():
    W, H = np.ones((20, 60)), np.ones((131, 30))
    with pytest.raises(ShapeError, match="dimension 'components' disagrees: W has 60 columns "
                                         "but H has 131 rows"):
        nmf(X, W=W, H=H)


def test_n_components_disagreeing_with_w_names_both():
    with pytest.raises(ShapeError, match="n_components sets components=5 but W has 7 columns"):
        nmf(X, 5, W=np.ones((20, 7)))


def test_w_with_wrong_feature_count_and_transpose_hint():
    with pytest.raises(ShapeError, match="dimension 'features' disagrees"):
        nmf(X, W=np.ones((21, 4)))
    with pytest.raises(ShapeError, match="looks transposed"):
        nmf(X, H=np.ones((30, 4)))


@pytest.mark.parametrize("value,what", [(-1.0, "1 negative entry"), (np.nan, "non-finite"),
                                        (np.inf, "non-finite")])
def test_bad_entries_in_x_name_count_and_first_position(value, what):
    bad = X.copy()
    bad[3, 7] = value
    with pytest.raises(DataError, match=rf"{what}.*X\[3, 7\]"):
        nmf(bad, 3)


def test_negative_entries_in_sparse_x_and_in_w():
    Xs = sp.csr_matrix(X)
    Xs.data[5] = -2.0
    with pytest.raises(DataError, match="X has 1 negative entry, the first at X\\[0, 5\\]"):
        nmf(Xs, 3)
    W = np.ones((20, 3))
    W[2, 1] = -1
    with pytest.raises(DataError, match=r"W has 1 negative entry, the first at W\[2, 1\]"):
        nmf(X, W=W)


def test_itakura_saito_with_zeros_in_x_is_a_clear_error():
    Z = X.copy()
    Z[1, 2] = Z[4, 5] = 0.0
    with pytest.raises(DataError, match=r"beta=0 <= 0 .* 2 zero entries, the first at X\[1, 2\]"):
        nmf(Z, 3, beta="is")
    with pytest.raises(DataError, match=r"beta=-0\.5"):
        nmf(Z, 3, beta=-0.5)
    res = nmf(Z, 3, beta=0.5, max_iter=5, tol=0, seed=0)  # beta > 0 is defined at zeros
    assert_allclose(res.fun, beta_divergence(Z, res.W @ res.H, 0.5), rtol=1e-10)
    assert res.fun < res.history[0]


@pytest.mark.parametrize("k,match", [(0, "n_components must be >= 1"),
                                     (21, "at most min\\(features, samples\\) = 20"),
                                     (2.5, "n_components must be an integer"),
                                     (None, "needs n_components")])
def test_n_components_out_of_range(k, match):
    with pytest.raises(InvalidParameterError, match=match):
        nmf(X, k)


def test_more_components_than_features_is_fine_with_a_given_dictionary():
    W = np.random.default_rng(1).random((20, 50))   # an exemplar dictionary, 50 > 20 atoms
    res = nmf(X, W=W, update_W=False, beta="kl", max_iter=5, tol=0, seed=0)
    assert res.H.shape == (50, 30)


@pytest.mark.parametrize("kwargs,match", [
    (dict(solver="cd"), r"solver must be one of \{'hals', 'mu'\}"),
    (dict(solver="hals", beta="kl"), r"\(beta=2\) only, got beta=1"),
    (dict(beta="banana"), "beta must be a number or one of"),
    (dict(init="svd"), "init must be None or one of"),
    (dict(init="custom"), "init='custom' needs both W and H"),
    (dict(max_iter=-1), "max_iter must be >= 0"),
    (dict(tol=-1e-3), "tol must be a finite number >= 0"),
    (dict(alpha_H=-1), "alpha_H must be a finite number >= 0"),
    (dict(l1_ratio=1.5), r"l1_ratio must lie in \[0, 1\]"),
    (dict(normalize_W="max"), "normalize_W must be False, True, 'l1' or 'l2'"),
    (dict(update_W=False), "update_W=False keeps W as given: pass W"),
    (dict(fixed_W_columns=[0]), "fixed_W_columns names columns of a given W"),
    (dict(check_every=0), "check_every must be >= 1"),
])
def test_invalid_options(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        nmf(X, 3, **kwargs)


def test_init_conflicts_with_given_factors():
    W, H = np.ones((20, 3)), np.ones((3, 30))
    with pytest.raises(InvalidParameterError, match="W and H were both given"):
        nmf(X, W=W, H=H, init="nndsvda")
    with pytest.raises(InvalidParameterError, match="'nndsvd' initialises both factors"):
        nmf(X, W=W, init="nndsvd")


@pytest.mark.parametrize("fixed,match", [([5], "index 5, but W has 3 columns"),
                                         (np.array([True, False]), "one entry per component"),
                                         (["a"], "boolean mask of length 3")])
def test_bad_fixed_columns(fixed, match):
    with pytest.raises(InvalidParameterError, match=match):
        nmf(X, W=np.ones((20, 3)), fixed_W_columns=fixed)


def test_sparse_x_needs_beta_1_or_2():
    with pytest.raises(InvalidParameterError, match="sparse X is supported for beta in"):
        nmf(sp.csr_matrix(X), 3, beta=0.5)


def test_degenerate_x():
    with pytest.raises(DataError, match="all zeros"):
        nmf(np.zeros((4, 5)), 2)
    with pytest.raises(DataError, match="at least one feature and one sample"):
        nmf(np.zeros((0, 5)), 1)
    with pytest.raises(ShapeError, match="must be 2-D"):
        nmf(np.ones(5), 1)
    with pytest.raises(DTypeError, match="numbers are needed"):
        nmf(np.array([["a", "b"]]), 1)


def test_normalize_w_needs_update_h():
    with pytest.raises(InvalidParameterError, match="needs update_H=True"):
        nmf(X, H=np.ones((3, 30)), update_H=False, normalize_W=True)


def test_nndsvd_with_mu_warns_like_sklearn():
    with pytest.warns(UserWarning, match="init='nndsvd' puts exact zeros"):
        nmf(X, 3, init="nndsvd", max_iter=3, tol=0)


def test_inputs_are_never_modified():
    W, H = np.random.default_rng(2).random((20, 3)), np.random.default_rng(3).random((3, 30))
    Xc, Wc, Hc = X.copy(), W.copy(), H.copy()
    nmf(X, W=W, H=H, max_iter=5, tol=0, normalize_W=True)
    assert np.array_equal(X, Xc) and np.array_equal(W, Wc) and np.array_equal(H, Hc)


def test_all_zero_learned_start_is_an_error_for_mu_but_fine_for_hals():
    W = np.random.default_rng(4).random((20, 3))
    with pytest.raises(DataError, match="H given are all zeros"):
        nmf(X, W=W, H=np.zeros((3, 30)), beta="kl")
    W0 = W.copy()
    W0[:, 2] = 0
    with pytest.raises(DataError, match="learned columns of W given are all zeros"):
        nmf(X, W=W0, fixed_W_columns=[0, 1], beta="kl")
    res = nmf(X, W=W, H=np.zeros((3, 30)), solver="hals", max_iter=5, tol=0)
    assert res.H.any()
