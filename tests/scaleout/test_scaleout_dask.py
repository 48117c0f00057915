"""NMF on a real Dask cluster (LocalCluster, 2 workers): iterates equal in-memory nmf to 1e-10."""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from matfit.factorize import nmf
from matfit.numerics import beta_divergence

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
from matfit.factorize._dask import nmf_dask  # noqa: E402

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:Port .* is already in use:UserWarning"),
]


def _problem(seed=0, m=30, n=90, k=5, zeros=False):
    rng = np.random.default_rng(seed)
    X = rng.random((m, k)) @ rng.random((k, n)) + 0.05 * rng.random((m, n))
    if zeros:
        X[rng.random(X.shape) < 0.6] = 0.0
    W0 = rng.random((m, k)) + 0.1
    H0 = rng.random((k, n)) + 0.1
    return X, W0, H0


@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
def test_dask_iterates_equal_in_memory_nmf_with_fixed_w_columns(dask_client, beta):
    X, W0, H0 = _problem(1)
    fixed = np.array([1, 3])
    kw = dict(beta=beta, W=W0, H=H0, fixed_W_columns=fixed, max_iter=20, tol=0,
              check_every=5)
    ref = nmf(X, **kw)
    res = nmf_dask(da.from_array(X, chunks=(X.shape[0], 25)), client=dask_client, **kw)
    H = dask_client.compute(res.H, sync=True)
    np.testing.assert_allclose(res.W, ref.W, rtol=1e-10, atol=0)
    np.testing.assert_allclose(H, ref.H, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(res.W[:, fixed], W0[:, fixed])   # fixed bit for bit
    assert res.nit == ref.nit == 20 and res.status == ref.status
    np.testing.assert_array_equal(res.history_nit, ref.history_nit)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-9)
    # the learned columns moved (the test is not vacuous), and downhill
    learned = np.setdiff1d(np.arange(W0.shape[1]), fixed)
    assert np.max(np.abs(res.W[:, learned] - W0[:, learned])) > 1e-3
    assert beta_divergence(X, (res.W, H), beta) < 0.9 * beta_divergence(X, (W0, H0), beta)


def test_dask_with_w_fixed_learns_h_like_in_memory(dask_client):
    X, W0, H0 = _problem(2)
    ref = nmf(X, beta=1, W=W0, H=H0, update_W=False, max_iter=20, tol=0)
    res = nmf_dask(da.from_array(X, chunks=(X.shape[0], 40)), beta=1, W=W0, H=H0,
                   update_W=False, max_iter=20, tol=0, client=dask_client)
    np.testing.assert_allclose(dask_client.compute(res.H, sync=True), ref.H, rtol=1e-10, atol=0)
    np.testing.assert_array_equal(res.W, W0)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_dask_sparse_chunks_give_the_dense_result(dask_client, beta):
    X, W0, H0 = _problem(3, zeros=True)
    cuts = [0, 30, 60, 90]
    blocks = [da.from_delayed(dask.delayed(sp.csr_matrix)(X[:, a:b]), shape=(X.shape[0], b - a),
                              dtype=X.dtype, meta=sp.csr_matrix((0, 0)))
              for a, b in itertools.pairwise(cuts)]
    Xs = da.concatenate(blocks, axis=1)
    kw = dict(beta=beta, W=W0, H=H0, max_iter=20, tol=0)
    dense = nmf_dask(da.from_array(X, chunks=(X.shape[0], 30)), client=dask_client, **kw)
    sparse = nmf_dask(Xs, client=dask_client, **kw)
    ref = nmf(sp.csr_matrix(X), **kw)
    np.testing.assert_allclose(sparse.W, dense.W, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(dask_client.compute(sparse.H, sync=True),
                               dask_client.compute(dense.H, sync=True), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(sparse.W, ref.W, rtol=1e-10, atol=1e-300)


def test_dask_local_scheduler_without_a_client_and_h_written_to_npy_blocks(tmp_path):
    X, W0, H0 = _problem(4)
    ref = nmf(X, beta=1, W=W0, H=H0, max_iter=10, tol=0)
    res = nmf_dask(da.from_array(X, chunks=(X.shape[0], 20)), beta=1, W=W0, H=H0,
                   max_iter=10, tol=0, h_store=tmp_path / "H")
    assert len(list((tmp_path / "H").glob("*.npy"))) == 5
    np.testing.assert_allclose(res.H.compute(scheduler="sync"), ref.H, rtol=1e-10)


def test_dask_array_chunked_along_features_is_rechunked_with_a_warning():
    X, W0, H0 = _problem(5)
    ref = nmf(X, beta=2, W=W0, H=H0, max_iter=5, tol=0)
    with pytest.warns(UserWarning, match="chunked along features"):
        res = nmf_dask(da.from_array(X, chunks=(10, 30)), beta=2, W=W0, H=H0, max_iter=5,
                       tol=0)
    np.testing.assert_allclose(res.W, ref.W, rtol=1e-10)


def test_dask_tol_stops_at_the_same_iteration_as_in_memory(dask_client):
    X, W0, H0 = _problem(6)
    kw = dict(beta=1, W=W0, H=H0, max_iter=200, tol=5e-3, check_every=5)
    ref = nmf(X, **kw)
    res = nmf_dask(da.from_array(X, chunks=(X.shape[0], 45)), client=dask_client, **kw)
    assert res.status == ref.status == 0 and 5 < res.nit == ref.nit < 200
    np.testing.assert_allclose(res.W, ref.W, rtol=1e-9)


def test_unreachable_dask_scheduler_fails_in_seconds_naming_it():
    from matfit.factorize._dask import get_client

    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"tcp://127\.0\.0\.1:1") as err:
        get_client("tcp://127.0.0.1:1")
    assert time.perf_counter() - start < 10
    assert "\n" not in str(err.value)


def test_dask_cli_reads_npy_npy_directory_and_zarr_alike(tmp_path):
    import argparse

    from matfit._io import load_model
    from matfit.factorize._dask import run_cli

    X, _, _ = _problem(7, n=60)
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "chunks").mkdir()
    for b, lo in enumerate(range(0, 60, 20)):
        np.save(tmp_path / "chunks" / f"part{b}.npy", X[:, lo:lo + 20])
    zarr = pytest.importorskip("zarr")
    z = zarr.open(str(tmp_path / "X.zarr"), mode="w", shape=X.shape, chunks=(10, 20),
                  dtype=X.dtype)
    z[:] = X
    Ws, summaries = [], {}
    for name in ("X.npy", "chunks", "X.zarr"):
        args = argparse.Namespace(
            input=str(tmp_path / name), components=4, beta="kl", solver="mu", init=None,
            max_iter=15, tol=0, seed=0, transpose=False, float32=False, verbose=0, dask=True,
            scheduler=None, chunk=20, out=str(tmp_path / f"{name}.model.npz"),
            h_out=str(tmp_path / f"{name}.H") if name == "chunks" else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the zarr store is chunked by rows
            summary = run_cli(args)
        assert summary["blocks"] == 3 and summary["iterations"] == 15
        summaries[name] = summary
        arrays, meta = load_model(summary["out"], kind="nmf")
        assert meta["engine"] == "dask"
        Ws.append(arrays["W"])
    np.testing.assert_allclose(Ws[1], Ws[0], rtol=1e-12)
    np.testing.assert_allclose(Ws[2], Ws[0], rtol=1e-12)
    H = np.concatenate([np.load(f) for f in sorted((tmp_path / "chunks.H").glob("*.npy"))], 1)
    ref = nmf(X, W=Ws[1], H=H, beta="kl", max_iter=0)  # the stored factors give the objective
    assert ref.fun == pytest.approx(summaries["chunks"]["objective"], rel=1e-9)
