"""``nmf()`` and ``matfit nmf --dask`` hand a dask array to the chunked driver (real Dask)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from matfit.cli import main
from matfit.factorize import nmf

da = pytest.importorskip("dask.array")

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


def test_nmf_dispatches_a_dask_array_and_matches_in_memory():
    rng = np.random.default_rng(8)
    X = rng.random((20, 50)) + 0.1
    W0, H0 = rng.random((20, 3)) + 0.1, rng.random((3, 50)) + 0.1
    ref = nmf(X, beta=1, W=W0, H=H0, max_iter=20, tol=0)
    res = nmf(da.from_array(X, chunks=(20, 20)), beta=1, W=W0, H=H0, max_iter=20, tol=0)
    assert isinstance(res.H, da.Array)
    np.testing.assert_allclose(res.W, ref.W, rtol=1e-10)
    np.testing.assert_allclose(res.H.compute(), ref.H, rtol=1e-10)


def test_nmf_on_dask_refuses_hals_with_the_fix():
    X = da.ones((5, 8), chunks=(5, 4))
    with pytest.raises(ValueError, match="solver='mu'"):
        nmf(X, 2, solver="hals")


def test_cli_nmf_dask_runs_and_an_unreachable_scheduler_is_one_line(tmp_path, capsys):
    X = np.random.default_rng(9).random((15, 40))
    np.save(tmp_path / "X.npy", X)
    rc = main(["nmf", str(tmp_path / "X.npy"), "-k", "3", "--beta", "kl", "--dask", "--chunk",
               "10", "--max-iter", "5", "--out", str(tmp_path / "m.npz"), "--json", "--quiet"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["engine"] == "dask" and out["blocks"] == 4 and out["iterations"] == 5
    start = time.perf_counter()
    rc = main(["nmf", str(tmp_path / "X.npy"), "-k", "3", "--dask", "--scheduler",
               "tcp://127.0.0.1:1", "--out", str(tmp_path / "m2.npz")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and time.perf_counter() - start < 10
    assert len(err) == 1 and "tcp://127.0.0.1:1" in err[0], err
