"""The Dask chunked driver with weights chunked like X: the in-memory weighted iterates."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from matfit._errors import DataError
from matfit.factorize import nmf

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _problem(seed=0, m=20, n=70, k=4, missing=0.3, binary=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.05 * rng.random((m, n)) + 0.01
    V = rng.random((m, n)) * (rng.random((m, n)) > missing)
    if binary:
        V = (V > 0).astype(float)
    X[V == 0] = np.nan
    return X, V, rng.random((m, k)) + 0.1, rng.random((k, n)) + 0.1


@pytest.mark.parametrize("beta", [0.0, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("em", [None, False])   # binary at beta = 2: EM, or the weighted MU
def test_dask_weighted_iterates_equal_in_memory(beta, binary, em):
    if em is False and not (binary and beta == 2):
        pytest.skip("em=False changes only 0/1 weights at beta = 2")
    X, V, W0, H0 = _problem(1, missing=0.2, binary=binary)
    kw = dict(beta=beta, W=W0, H=H0, fixed_W_columns=[2], max_iter=20, tol=0, check_every=5,
              alpha_H=0.01, l1_ratio=0.5, em=em)
    ref = nmf(X, weights=V, **kw)
    with dask.config.set(scheduler="threads"):
        res = nmf(da.from_array(X, chunks=(20, 25)), weights=da.from_array(V, chunks=(20, 25)),
                  **kw)
        H = res.H.compute()
    assert_allclose(res.W, ref.W, rtol=1e-10)
    assert_allclose(H, ref.H, rtol=1e-10)
    assert_allclose(res.history, ref.history, rtol=1e-10)
    assert_array_equal(res.W[:, 2], W0[:, 2])
    assert res.nit == ref.nit


def test_dask_weights_as_ndarray_or_chunked_otherwise_are_rechunked():
    X, V, W0, H0 = _problem(2)
    ref = nmf(X, beta=1, W=W0, H=H0, weights=V, max_iter=10, tol=0)
    with dask.config.set(scheduler="threads"):
        for weights in (V, da.from_array(V, chunks=(10, 33))):
            res = nmf(da.from_array(X, chunks=(20, 30)), beta=1, W=W0, H=H0, weights=weights,
                      max_iter=10, tol=0)
            assert_allclose(res.W, ref.W, rtol=1e-10)


def test_dask_nan_where_weight_is_positive_names_the_global_position():
    X, V, W0, _ = _problem(3)
    V[V == 0] = 1.0
    X[:] = np.nan_to_num(X)
    X[5, 61] = np.nan
    with dask.config.set(scheduler="threads"), pytest.raises(
            DataError, match=r"not finite, the first at X\[5, 61\] = nan"):
        nmf(da.from_array(X, chunks=(20, 25)), beta=1, W=W0, weights=V, max_iter=2)
