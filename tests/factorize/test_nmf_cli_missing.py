"""``matfit nmf`` with missing entries: NaN in the file, --weights, --components auto, --plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit._io import load_model
from matfit.cli import main
from matfit.factorize import choose_rank, nmf


def _X(seed=0, k=3, hide=0.15, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.random((20, k)) @ rng.random((k, 30)) + 0.01
    X = np.maximum(X + noise * X.std() * rng.standard_normal(X.shape), 0)
    X[rng.random(X.shape) < hide] = np.nan
    return X


def _summary(capsys):
    out = capsys.readouterr().out
    return json.loads(out.strip().splitlines()[-1]), out


@pytest.mark.parametrize("fmt", ["npy", "csv"])
def test_nan_in_the_file_is_missing_and_counted(fmt, tmp_path, capsys):
    X = _X()
    src = tmp_path / f"x.{fmt}"
    np.save(src, X) if fmt == "npy" else np.savetxt(src, X, delimiter=",")
    out = tmp_path / "m.npz"
    assert main(["nmf", str(src), "-k", "3", "--beta", "kl", "--max-iter", "30", "--tol", "0",
                 "--seed", "0", "--out", str(out), "--json"]) == 0
    summary, text = _summary(capsys)
    n = int(np.isnan(X).sum())
    assert summary["n_missing"] == n and f"X has {n} missing entries (NaN)" in text
    arrays, _ = load_model(out, kind="nmf")
    ref = nmf(X, 3, beta="kl", weights=(~np.isnan(X)).astype(float), max_iter=30, tol=0,
              seed=0)
    assert_allclose(arrays["W"], ref.W, rtol=1e-10)


def test_weights_file_and_transpose(tmp_path, capsys):
    X = np.nan_to_num(_X(1))
    V = np.random.default_rng(1).random(X.shape)
    V[V < 0.2] = 0
    np.save(tmp_path / "x.npy", X.T)
    np.save(tmp_path / "v.npy", V.T)
    assert main(["nmf", str(tmp_path / "x.npy"), "-k", "2", "--transpose", "--weights",
                 str(tmp_path / "v.npy"), "--max-iter", "20", "--tol", "0", "--seed", "3",
                 "--out", str(tmp_path / "m.npz"), "--json"]) == 0
    summary, _ = _summary(capsys)
    assert summary["n_missing"] == int((V == 0).sum())
    arrays, _ = load_model(tmp_path / "m.npz", kind="nmf")
    ref = nmf(X, 2, weights=V, max_iter=20, tol=0, seed=3)
    assert_allclose(arrays["W"], ref.W, rtol=1e-10)


def test_components_auto_uses_choose_rank_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    X = _X(2, k=4, hide=0.1, noise=0.1)  # with noise, a larger rank predicts worse
    np.save(tmp_path / "x.npy", X)
    plot = tmp_path / "rank.png"
    assert main(["nmf", str(tmp_path / "x.npy"), "-k", "auto", "--candidates", "2:6",
                 "--seed", "0", "--plot", str(plot), "--out", str(tmp_path / "m.npz"),
                 "--json"]) == 0
    summary, text = _summary(capsys)
    ref = choose_rank(X, range(2, 7), seed=0)
    sel = summary["rank_selection"]
    assert sel["chosen"] == ref.n_components == summary["n_components"] == 4
    assert_allclose(sel["heldout_mean"], ref.heldout_mean, rtol=1e-10)
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"
    assert "chose 4" in text


@pytest.mark.parametrize("extra,msg", [
    (["-k", "2", "--plot", "p.png"], "--candidates and --plot go with --components auto"),
    (["-k", "auto", "--candidates", "50:60"], "every rank exceeds"),
    (["-k", "auto", "--dask"], "drop --dask"),
])
def test_missing_options_errors_are_one_line(extra, msg, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", _X())
    argv = ["nmf", str(tmp_path / "x.npy"), *extra, "--out", "m.npz"]
    argv = [a.replace("{x}", str(tmp_path / "x.npy")) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err


@pytest.mark.parametrize("target,msg", [
    ("{x}", "--plot {x} is the input INPUT"),
    ("{w}", "--plot {w} is the input --weights"),
    ("m.npz", "--plot m.npz is also the output of --out"),
    ("p.jpg", "use a .png, .pdf or .svg name"),
])
def test_plot_path_is_checked_before_any_work(target, msg, tmp_path, capsys, monkeypatch):
    # a usage error (exit 2) naming both arguments, before the rank search runs
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "x.npy", _X())
    np.save(tmp_path / "w.npy", np.ones_like(_X()))
    sub = {"{x}": str(tmp_path / "x.npy"), "{w}": str(tmp_path / "w.npy")}
    target, msg = sub.get(target, target), msg.format(x=sub["{x}"], w=sub["{w}"])
    argv = ["nmf", sub["{x}"], "-k", "auto", "--weights", sub["{w}"], "--plot", target,
            "--out", "m.npz"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err
    assert not (tmp_path / "m.npz").exists()


def test_components_usage_error_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["nmf", "x.npy", "-k", "many", "--out", "m.npz"])
    assert info.value.code == 2


# ---- files nobody here wrote: spreadsheet CSVs, wrong --weights, a failure after --plot ------
@pytest.mark.parametrize("token", ["", "NA", "N/A", "nan", "NaN", "null", " NA "])
def test_csv_missing_cell_tokens_are_missing(token, tmp_path, capsys):
    # what spreadsheets and pandas write for a missing cell; the reference is the same data
    # with NaN, fitted by nmf() with weight 0 there
    X = np.nan_to_num(_X(2, hide=0.0))
    hide = np.zeros(X.shape, dtype=bool)
    hide[1, 2] = hide[5, 0] = hide[7, -1] = True   # inside, first and last columns
    cells = [[token if h else repr(float(v)) for v, h in zip(row, hrow, strict=True)]
             for row, hrow in zip(X, hide, strict=True)]
    src = tmp_path / "x.csv"
    src.write_text("".join(",".join(r) + "\n" for r in cells))
    out = tmp_path / "m.npz"
    assert main(["nmf", str(src), "-k", "3", "--max-iter", "20", "--tol", "0", "--seed", "0",
                 "--out", str(out), "--json"]) == 0
    summary, _ = _summary(capsys)
    assert summary["n_missing"] == 3
    arrays, _ = load_model(out, kind="nmf")
    ref = nmf(np.where(hide, np.nan, X), 3, weights=(~hide).astype(float), max_iter=20,
              tol=0, seed=0)
    assert_allclose(arrays["W"], ref.W, rtol=1e-10)


@pytest.mark.parametrize("text,msg", [
    ("1,2\n3,x\n", "could not convert string 'x'"),   # not a missing token: an error
    ("a,b\n1,2\n3,x\n", "could not convert string 'x'"),  # after a header too
    ("1,2\n3\n", "number of columns changed"),         # not read as a header plus one row
])
def test_csv_errors_name_the_bad_cell(text, msg, tmp_path, capsys):
    (tmp_path / "x.csv").write_text(text)
    assert main(["nmf", str(tmp_path / "x.csv"), "-k", "1", "--out",
                 str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("shape,fix", [((3, 3), "give one weight per entry of INPUT"),
                                       ((30, 20), "it is INPUT's transpose")])
def test_weights_of_the_wrong_shape_name_both_files_before_any_work(
        shape, fix, transpose, tmp_path, capsys):
    X = _X(3)   # (20, 30)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "v.npy", np.ones(shape))
    argv = ["nmf", str(tmp_path / "x.npy"), "-k", "2", "--weights", str(tmp_path / "v.npy"),
            "--out", str(tmp_path / "m.npz")] + (["--transpose"] if transpose else [])
    assert main(argv) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert f"--weights {tmp_path / 'v.npy'} has shape {shape}" in err[0]
    assert f"INPUT {tmp_path / 'x.npy'} has shape (20, 30)" in err[0] and fix in err[0]
    assert captured.out == ""   # no note about the weights before the error
    assert not (tmp_path / "m.npz").exists()


def test_a_missing_weights_file_is_named_as_weights(tmp_path, capsys):
    np.save(tmp_path / "x.npy", _X())
    assert main(["nmf", str(tmp_path / "x.npy"), "-k", "2", "--weights",
                 str(tmp_path / "nope.npy"), "--out", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert "nope.npy (--weights)" in err and "(INPUT)" not in err


def test_no_plot_is_left_when_the_final_fit_fails(tmp_path, capsys):
    # the rank search succeeds and draws its plot; the final fit then refuses max_iter=-1:
    # neither output may appear (the plot is staged with the model, in one transaction)
    np.save(tmp_path / "x.npy", _X())
    assert main(["nmf", str(tmp_path / "x.npy"), "-k", "auto", "--candidates", "1:3",
                 "--plot", str(tmp_path / "p.png"), "--max-iter", "-1", "--seed", "0",
                 "--out", str(tmp_path / "m.npz")]) == 1
    assert "max_iter" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]   # no temporary file either


def test_components_auto_on_a_single_entry_says_what_to_do(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.array([[1.0]]))
    assert main(["nmf", str(tmp_path / "x.npy"), "-k", "auto", "--out",
                 str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least 2 observed entries" in err[0], err
