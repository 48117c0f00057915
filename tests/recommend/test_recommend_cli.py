"""`matfit recommend train|evaluate|top`, run in process through matfit.cli.main."""

from __future__ import annotations

import json

import numpy as np
import pytest

from matfit._io import save_model
from matfit.cli import main
from matfit.recommend import MatrixFactorization, Ratings, synthetic_ratings, train_test_split


def _write_ratings(path, ratings, sep="\t", header=None):
    u, i, v = ratings.to_arrays()
    lines = [header] if header else []
    lines += [f"{a}{sep}{b}{sep}{c:g}" for a, b, c in zip(u, i, v, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    r = synthetic_ratings(200, 150, 5000, seed=0, step=1.0)
    train, test = train_test_split(r, 0.2, seed=0)
    return (_write_ratings(tmp / "train.csv", train, sep=",", header="userId,movieId,rating"),
            _write_ratings(tmp / "test.tsv", test), tmp, train, test)


def _last_json(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_train_evaluate_top_round_trip(files, capsys):
    train_file, test_file, tmp, train, test = files
    model = tmp / "model.npz"
    assert main(["recommend", "train", str(train_file), "--out", str(model), "--factors", "6",
                 "--epochs", "30", "--json", "-q"]) == 0
    s = _last_json(capsys)
    assert s["ok"] and s["factors"] == 6 and s["epochs"] == 30 and s["ratings"] == len(train)
    # the CLI's model is the API's model with the same settings (seed 0 by default)
    api = MatrixFactorization(6, epochs=30, seed=0).fit(train)
    cli = MatrixFactorization.load(model)
    users, items, _ = train.to_arrays()
    np.testing.assert_allclose(cli.predict(users[:50], items[:50]),
                               api.predict(users[:50], items[:50]), rtol=1e-6)

    assert main(["recommend", "evaluate", str(model), str(test_file), "--json", "-q"]) == 0
    e = _last_json(capsys)
    expect = api.evaluate(test)
    assert e["count"] == len(test)
    assert e["rmse"] == pytest.approx(expect["rmse"], rel=1e-5)
    assert e["ndcg@10"] == pytest.approx(expect["ndcg@10"], rel=1e-4)

    user = str(users[0])
    assert main(["recommend", "top", str(model), "--user", user, "--k", "4", "--json"]) == 0
    t = _last_json(capsys)
    assert t["items"] == api.recommend(users[0], 4)[0].tolist() and not t["unknown_user"]


def test_validation_fraction_and_solver(files, capsys):
    train_file, _, tmp, _, _ = files
    assert main(["recommend", "train", str(train_file), "--out", str(tmp / "v.npz"),
                 "--solver", "als", "--epochs", "5", "--validation-fraction", "0.2",
                 "--reg", "0.5", "--json", "-q"]) == 0
    s = _last_json(capsys)
    assert s["solver"] == "als" and s["val_rmse"] is not None and 1 <= s["best_epoch"] <= 5


def test_top_for_an_unknown_user_says_so(files, capsys):
    train_file, _, tmp, _, _ = files
    model = tmp / "u.npz"
    main(["recommend", "train", str(train_file), "--out", str(model), "--epochs", "2", "-q"])
    capsys.readouterr()
    assert main(["recommend", "top", str(model), "--user", "nobody", "--json"]) == 0
    captured = capsys.readouterr()
    assert "unknown to the model" in captured.err
    assert json.loads(captured.out.strip().splitlines()[-1])["unknown_user"] is True


@pytest.mark.parametrize("text, match", [
    ("1,2,3\n1,3,nan\n", "line|:2: rating 'nan' is not a finite number"),
    ("1,2,3\n1,3,x\n", ":2: rating 'x' is not a number"),
    ("", "empty"),
    ("1,2,3\n1,3\n", ":2: expected at least 3 fields"),
    ("1,2,3\n1,2,4\n", "--duplicates mean|last"),
])
def test_bad_ratings_files_are_one_line_and_exit_1(tmp_path, capsys, text, match):
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    assert main(["recommend", "train", str(bad), "--out", str(tmp_path / "m.npz")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("matfit recommend: error:")
    assert any(m in err[0] for m in match.split("|"))


def test_duplicates_option(tmp_path, capsys):
    f = tmp_path / "dup.csv"
    f.write_text("1,2,3\n1,2,5\n2,2,1\n")
    assert main(["recommend", "train", str(f), "--out", str(tmp_path / "m.npz"), "--duplicates",
                 "mean", "--epochs", "1", "--json", "-q"]) == 0
    assert _last_json(capsys)["ratings"] == 2


def test_model_of_another_version_is_refused(tmp_path, files, capsys):
    _, test_file, _, _, _ = files
    p = save_model(tmp_path / "old.npz", {"x": np.zeros(1)}, {}, kind="ratings-mf", version=7)
    assert main(["recommend", "evaluate", str(p), str(test_file)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "format version 7" in err[0]
    assert main(["recommend", "top", str(tmp_path / "missing.npz"), "--user", "1"]) == 1
    assert "no model file" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["recommend"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["recommend", "train", "x.csv"])  # --out is required
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["recommend", "train", "x.csv", "--out", "m", "--solver", "adam"])
    assert info.value.code == 2


def test_bad_option_values_exit_1(files, tmp_path, capsys):
    train_file = files[0]
    assert main(["recommend", "train", str(train_file), "--out", str(tmp_path / "m.npz"),
                 "--factors", "0"]) == 1
    assert "--factors 0" in capsys.readouterr().err
    assert main(["recommend", "train", str(train_file), "--out", str(tmp_path / "m.npz"),
                 "--validation-fraction", "1.5"]) == 1
    assert "--validation-fraction" in capsys.readouterr().err


def test_top_ratings_of_a_new_user_folds_it_in(files, tmp_path, capsys):
    train_file, _, _, train, _ = files
    model = tmp_path / "m.npz"
    assert main(["recommend", "train", str(train_file), "--out", str(model), "--solver", "als",
                 "--epochs", "4", "-q"]) == 0
    capsys.readouterr()
    items = train.item_ids[:12]
    new = tmp_path / "new_user.csv"
    new.write_text("user,item,rating\n" + "".join(
        f"99999,{item},{1 + n % 5}\n" for n, item in enumerate(items)))
    before = model.read_bytes()
    assert main(["recommend", "top", str(model), "--ratings-of", str(new), "--k", "5",
                 "--json"]) == 0
    out = capsys.readouterr()
    got = json.loads(out.out.strip().splitlines()[-1])
    assert "folded in 1 new user" in out.err and not got["unknown_user"]
    assert model.read_bytes() == before  # the model file is not changed
    # the API's fold-in gives the same list, and none of the user's rated items
    api = MatrixFactorization.load(model)
    api.fold_in(Ratings.read(new))
    want = api.recommend(99999, 5)[0]
    assert got["items"] == want.tolist() and got["user"] == 99999
    assert not set(got["items"]) & set(items.tolist())
    assert main(["recommend", "top", str(model)]) == 1
    assert "--user" in capsys.readouterr().err
    new.write_text("user,item,rating\nabc,1,4\n")  # IDs of another kind than the model's
    assert main(["recommend", "top", str(model), "--ratings-of", str(new)]) == 1
    assert "IDs of the model's kind" in capsys.readouterr().err
