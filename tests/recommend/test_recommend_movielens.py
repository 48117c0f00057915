"""MovieLens 100K (../shared/data): the acceptance figure of the CLI's defaults."""

from __future__ import annotations

import json

import pytest

from matfit.cli import main
from matfit.recommend import MatrixFactorization, read_ratings, train_test_split

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def split(shared_data):
    path = shared_data / "movielens-100k" / "u.data"
    if not path.is_file():
        pytest.skip(f"MovieLens 100K not found at {path}")
    return train_test_split(read_ratings(path), 0.2, seed=0)


def test_cli_defaults_reach_rmse_0905_on_the_80_20_split(split, tmp_path, capsys):
    train, test = split
    for name, part in (("train.tsv", train), ("test.tsv", test)):
        u, i, v = part.to_arrays()
        (tmp_path / name).write_text(
            "".join(f"{a}\t{b}\t{c:g}\n" for a, b, c in zip(u, i, v, strict=True)))
    model = tmp_path / "ml.npz"
    assert main(["recommend", "train", str(tmp_path / "train.tsv"), "--out", str(model),
                 "-q"]) == 0
    assert main(["recommend", "evaluate", str(model), str(tmp_path / "test.tsv"), "--json",
                 "-q"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["count"] == 20000
    assert res["rmse"] <= 0.905, res
    # and it is a real model: far better than the biases alone
    biases_only = MatrixFactorization(1, solver="als", reg=1e6, seed=0).fit(train)
    assert res["rmse"] < biases_only.evaluate(test, k=None)["rmse"] - 0.02


def test_als_defaults_are_close_behind(split):
    train, test = split
    rmse = MatrixFactorization(solver="als", seed=0).fit(train).evaluate(test, k=None)["rmse"]
    assert rmse <= 0.91
