"""``matfit nmf`` on every input format, and the initialisations against scikit-learn's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from numpy.testing import assert_allclose

from matfit._io import load_model
from matfit.cli import main
from matfit.factorize import nmf
from matfit.factorize._init import initialize, randomized_svd


def _X(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((12, 3)) @ rng.random((3, 20)) + 0.01


def _write(fmt: str, X: np.ndarray, path) -> str:
    if fmt == "npy":
        np.save(path / "x.npy", X)
        return str(path / "x.npy")
    if fmt == "npz":
        np.savez(path / "x.npz", X=X, labels=np.arange(3))
        return str(path / "x.npz")
    if fmt == "sparse-npz":
        sp.save_npz(path / "xs.npz", sp.csr_matrix(X))
        return str(path / "xs.npz")
    if fmt == "csv":
        np.savetxt(path / "x.csv", X, delimiter=",", header=",".join("abc"), comments="")
        return str(path / "x.csv")
    scipy.io.mmwrite(path / "x.mtx", sp.coo_matrix(X))
    return str(path / "x.mtx")


@pytest.mark.parametrize("fmt", ["npy", "npz", "sparse-npz", "csv", "mtx"])
def test_cli_fits_every_format_and_saves_a_loadable_model(fmt, tmp_path, capsys):
    X = _X()
    src = _write(fmt, X, tmp_path)
    out = tmp_path / "model.npz"
    code = main(["nmf", src, "--components", "3", "--beta", "kl", "--max-iter", "40",
                 "--tol", "0", "--seed", "1", "--out", str(out), "--json", "-q"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ok"] and summary["iterations"] == 40 and summary["seconds"] > 0
    arrays, meta = load_model(out, kind="nmf")
    ref = nmf(X, 3, beta="kl", max_iter=40, tol=0, seed=1)
    assert_allclose(arrays["W"] @ arrays["H"], ref.W @ ref.H, rtol=1e-8)
    assert_allclose(summary["objective"], ref.fun, rtol=1e-8)
    assert meta["nit"] == 40 and meta["beta"] == 1.0


def test_cli_transpose_float32_and_hals(tmp_path, capsys):
    X = _X(1)
    np.save(tmp_path / "x.npy", X.T)
    code = main(["nmf", str(tmp_path / "x.npy"), "-k", "3", "--solver", "hals", "--transpose",
                 "--float32", "--max-iter", "30", "--tol", "0", "--out", str(tmp_path / "m.npz"),
                 "-q"])
    assert code == 0
    arrays, _ = load_model(tmp_path / "m.npz", kind="nmf")
    assert arrays["W"].shape == (12, 3) and arrays["W"].dtype == np.float32
    assert "saved W (12, 3)" in capsys.readouterr().out


@pytest.mark.parametrize("argv,msg", [
    (["nmf", "missing.npy", "-k", "2", "--out", "m.npz"], "no input file"),
    (["nmf", "{x}", "-k", "99", "--out", "m.npz"], "n_components=99"),
    (["nmf", "{x}", "-k", "2", "--beta", "kl", "--solver", "hals", "--out", "m.npz"],
     "Frobenius"),
])
def test_cli_errors_are_one_line_and_exit_1(argv, msg, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", _X())
    argv = [a.replace("{x}", str(tmp_path / "x.npy")) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]


def test_cli_usage_error_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["nmf", "x.npy", "--out", "m.npz"])        # --components missing
    assert info.value.code == 2


def test_cli_reports_non_convergence_in_one_line(tmp_path, capsys):
    np.save(tmp_path / "x.npy", _X())
    assert main(["nmf", str(tmp_path / "x.npy"), "-k", "2", "--max-iter", "3", "--tol", "1e-12",
                 "--out", str(tmp_path / "m.npz"), "-q"]) == 0
    assert "matfit nmf: warning: nmf: max_iter=3" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["nndsvd", "nndsvda", "nndsvdar", "random"])
def test_initialisations_match_sklearn(method):
    sk = pytest.importorskip("sklearn.decomposition._nmf")
    X = np.random.default_rng(2).random((15, 25))
    W, H = initialize(X, 4, method, rng=np.random.default_rng(0))
    # scikit-learn initialises X.T: its W is our H.T, its H our W.T
    Wsk, Hsk = sk._initialize_nmf(X.T, 4, init=method, random_state=0)
    if method in ("nndsvd", "nndsvda"):
        # deterministic given the SVD (NNDSVD does not depend on singular vector signs)
        assert_allclose(W, Hsk.T, rtol=1e-6, atol=1e-9)
        assert_allclose(H, Wsk.T, rtol=1e-6, atol=1e-9)
    else:
        # random draws differ; the pattern (zeros kept / filled) and the scale agree
        assert_allclose((W @ H).mean(), (Wsk @ Hsk).mean(), rtol=0.5)
    if method == "nndsvd":
        assert (W == 0).any() and np.array_equal(W == 0, Hsk.T == 0)
    else:
        assert (W > 0).all() and (H > 0).all()


def test_randomized_svd_matches_lapack_on_a_low_rank_matrix():
    rng = np.random.default_rng(3)
    X = rng.random((300, 8)) @ rng.random((8, 400))
    U, s, _ = randomized_svd(X, 5, rng=np.random.default_rng(0))
    s_ref = np.linalg.svd(X, compute_uv=False)[:5]
    assert_allclose(s, s_ref, rtol=1e-10)
    assert_allclose(np.abs(U.T @ np.linalg.svd(X, full_matrices=False)[0][:, :5]),
                    np.eye(5), atol=1e-8)
    _, ss, _ = randomized_svd(sp.csr_matrix(X), 5, rng=np.random.default_rng(0))
    assert_allclose(ss, s_ref, rtol=1e-10)


@pytest.mark.parametrize("shape", [(20, 250_000), (250_000, 20)])
def test_thin_large_sparse_svd_uses_the_gram_matrix(shape):
    X = sp.random(*shape, density=1e-3, random_state=0, format="csr")
    U, s, Vt = randomized_svd(X, 3, rng=np.random.default_rng(0))
    s_ref = np.linalg.svd((X @ X.T if shape[0] < shape[1] else X.T @ X).toarray(),
                          compute_uv=False)[:3] ** 0.5
    assert_allclose(s, s_ref, rtol=1e-8)
    # a rank-3 SVD: U orthonormal, and U s Vt is X projected on U's span
    assert_allclose(U.T @ U, np.eye(3), atol=1e-8)
    assert_allclose((U * s) @ Vt, U @ np.asarray((X.T @ U).T), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("module", ["_nmf", "estimator", "_mu", "_loop", "_hals", "_init"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"matfit.factorize.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
