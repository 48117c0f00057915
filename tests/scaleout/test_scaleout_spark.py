"""Ratings on a real Spark engine (local[2]): recovery, load parity with transform, cold start."""

from __future__ import annotations

import time

import numpy as np
import pytest

from matfit.recommend import MatrixFactorization, _spark, synthetic_ratings, train_test_split

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore:.*pyarrow.*:UserWarning"),
]


def _write_csv(path, ratings):
    users = np.char.add("user-", ratings.user_ids[ratings.users].astype(str))
    items = np.char.add("item-", ratings.item_ids[ratings.items].astype(str))
    with open(path, "w") as fh:
        fh.write("user,item,rating\n")
        for u, i, v in zip(users, items, ratings.values, strict=True):
            fh.write(f"{u},{i},{float(v)!r}\n")
    return path


@pytest.fixture(scope="module")
def fitted(spark, tmp_path_factory):
    """A noise-free rank-3 problem with string IDs, fitted once on Spark from a CSV file."""
    ratings = synthetic_ratings(300, 200, 15000, factors=3, noise=0.0, rating_scale=None,
                                activity="uniform", dtype=np.float64, seed=0)
    train, test = train_test_split(ratings, 0.1, seed=0)
    root = tmp_path_factory.mktemp("spark")
    train_csv = _write_csv(root / "train.csv", train)
    test_csv = _write_csv(root / "test.csv", test)
    model = MatrixFactorization(5, solver="als", reg_weighting="count", reg=1e-3, reg_bias=0.0,
                                epochs=15, seed=0, engine="spark")
    model.fit(str(train_csv), spark=spark)
    return model, train, test, train_csv, test_csv, root


def test_spark_recovers_noise_free_low_rank_ratings_with_string_ids(spark, fitted):
    model, train, test, _, test_csv, _ = fitted
    assert model.user_ids_.dtype.kind == "U" and model.user_ids_[0].startswith("user-")
    assert len(model.user_ids_) == train.n_users and len(model.item_ids_) == train.n_items
    res = _spark.evaluate_spark(model, str(test_csv), spark=spark)
    assert res["count"] == len(test)
    assert res["rmse"] < 0.05, res
    # the same held-out file scored by the local engine, from the local arrays
    local = model.evaluate(str(test_csv), k=None)
    assert local["count"] == res["count"]
    assert local["unknown_pairs"] == res["unknown_pairs"]
    np.testing.assert_allclose(local["rmse"], res["rmse"], rtol=1e-4)


def test_spark_model_saved_loads_locally_and_predicts_as_spark_transform(spark, fitted, tmp_path):
    from pyspark.sql import functions as F

    model, _, _, _, test_csv, _ = fitted
    path = model.save(tmp_path / "spark-model")
    loaded = MatrixFactorization.load(path)
    fit = model.spark_fit_
    test_df = _spark.to_frame(spark, str(test_csv))
    pairs = (test_df.join(fit.users.select("user", "u", F.col("bias").alias("bu")), "user")
             .join(fit.items.select("item", "i", F.col("bias").alias("bi")), "item"))
    rows = fit.als_model.transform(pairs).select("user", "item", "prediction", "bu", "bi") \
        .collect()
    assert len(rows) > 100
    spark_pred = np.array([fit.global_mean + r["bu"] + r["bi"] + r["prediction"] for r in rows])
    local_pred = loaded.predict([r["user"] for r in rows], [r["item"] for r in rows], clip=False)
    np.testing.assert_allclose(local_pred, spark_pred, atol=1e-5, rtol=0)
    # and a top-k list from the loaded model excludes what the user rated on Spark
    user = loaded.user_ids_[0]
    seen = set(loaded.item_ids_[loaded.seen_[0].indices])
    assert seen and not seen & set(loaded.recommend(user, 20)[0])


def test_spark_counts_cold_start_users_and_items_like_the_local_engine(spark, fitted, tmp_path):
    model = fitted[0]
    rows = [("user-0", "item-nobody", 3.0), ("user-new-a", "item-0", 4.0),
            ("user-new-a", "item-nobody", 2.0), ("user-new-b", "item-1", 1.0),
            (str(model.user_ids_[1]), str(model.item_ids_[2]), 3.5)]
    df = spark.createDataFrame(rows, ["user", "item", "rating"])
    res = _spark.evaluate_spark(model, df, spark=spark)
    assert (res["unknown_users"], res["unknown_items"], res["unknown_pairs"]) == (2, 1, 4)
    users, items, values = (np.array(c) for c in zip(*rows, strict=True))
    local = model.evaluate((users, items, values.astype(float)), k=None)
    assert (local["unknown_users"], local["unknown_items"], local["unknown_pairs"]) == (2, 1, 4)
    np.testing.assert_allclose(res["rmse"], local["rmse"], rtol=1e-5)
    np.testing.assert_allclose(res["mae"], local["mae"], rtol=1e-5)


def test_spark_parquet_model_directory_scores_like_the_npz(spark, fitted, tmp_path):
    model, _, _, _, test_csv, _ = fitted
    out = _spark.save_parquet(model, tmp_path / "model.parquet", spark=spark)
    from_dir = _spark.evaluate_spark(str(out), str(test_csv), spark=spark)
    from_model = _spark.evaluate_spark(model, str(test_csv), spark=spark)
    assert from_dir == pytest.approx(from_model, rel=1e-9)
    user = model.user_ids_[3]
    items, scores = _spark.recommend_spark(str(out), user, 5, spark=spark)
    local_items, local_scores = model.recommend(user, 5, exclude_seen=False)
    np.testing.assert_allclose(scores, local_scores, rtol=1e-5)
    assert list(items) == list(local_items)


def test_spark_engine_refuses_options_it_cannot_honour():
    with pytest.raises(ValueError, match="reg_weighting='count'"):
        MatrixFactorization(solver="als", engine="spark").fit(None)
    with pytest.raises(ValueError, match="solver='als'"):
        MatrixFactorization(engine="spark").fit(None)
    with pytest.raises(ValueError, match="engine='hadoop'"):
        MatrixFactorization(engine="hadoop").fit(None)


def test_unreachable_spark_master_fails_in_seconds_naming_it():
    model = MatrixFactorization(solver="als", reg_weighting="count", engine="spark",
                                spark_master="spark://127.0.0.1:1")
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"spark://127\.0\.0\.1:1") as err:
        model.fit((["a"], ["b"], [1.0]))
    assert time.perf_counter() - start < 10
    assert "\n" not in str(err.value)


def test_cli_trains_on_spark_and_local_cli_evaluates_the_model(spark, fitted, tmp_path, capsys):
    from matfit.cli import main

    _, _, _, train_csv, test_csv, _ = fitted
    out = tmp_path / "cli-model.npz"
    rc = main(["recommend", "train", str(train_csv), "--engine", "spark", "--spark-master",
               "local[2]", "--factors", "5", "--reg", "0.001", "--epochs", "5", "--out",
               str(out), "--json", "--quiet"])
    assert rc == 0
    capsys.readouterr()
    assert main(["recommend", "evaluate", str(out), str(test_csv), "--k", "0", "--json"]) == 0
    local = capsys.readouterr().out
    assert main(["recommend", "evaluate", str(out), str(test_csv), "--engine", "spark",
                 "--spark-master", "local[2]", "--json"]) == 0
    remote = capsys.readouterr().out
    import json

    a, b = json.loads(local.splitlines()[-1]), json.loads(remote.splitlines()[-1])
    assert a["rmse"] < 0.3
    assert a["rmse"] == pytest.approx(b["rmse"], rel=1e-4)


def test_spark_reads_parquet_and_tab_separated_ratings_like_the_local_reader(spark, tmp_path):
    from matfit.recommend import read_ratings

    rows = [(10, 7, 4.0), (10, 8, 3.0), (11, 7, 5.0), (12, 9, 1.5)]
    spark.createDataFrame(rows, ["u", "i", "score"]).write.parquet(str(tmp_path / "r.parquet"))
    df = _spark.to_frame(spark, str(tmp_path / "r.parquet"), columns="u,i,score")
    got = sorted((r["user"], r["item"], r["rating"]) for r in df.collect())
    assert got == sorted(rows)
    tsv = tmp_path / "u.data"
    tsv.write_text("".join(f"{u}\t{i}\t{v}\t881250949\n" for u, i, v in rows))
    local = read_ratings(tsv)
    df = _spark.to_frame(spark, str(tsv))
    got = sorted((r["user"], r["item"], r["rating"]) for r in df.collect())
    want = sorted(zip(local.user_ids[local.users].tolist(), local.item_ids[local.items].tolist(),
                      local.values.tolist(), strict=True))
    assert got == want


def test_cli_unreachable_spark_master_is_one_line_and_exit_1(tmp_path, capsys):
    from matfit.cli import main

    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\na,b,1\n")
    start = time.perf_counter()
    rc = main(["recommend", "train", str(path), "--engine", "spark", "--spark-master",
               "spark://127.0.0.1:1", "--out", str(tmp_path / "m.npz")])
    assert rc == 1 and time.perf_counter() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spark://127.0.0.1:1" in err[0], err


def test_spark_joint_biases_reach_the_local_engines_rmse(spark):
    """Biases alternated with ALS fits minimise the local objective: held-out RMSEs agree."""
    ratings = synthetic_ratings(300, 200, 12000, factors=3, noise=0.4, seed=5, step=0.5)
    train, test = train_test_split(ratings, 0.2, seed=0)
    kw = dict(solver="als", reg_weighting="count", reg=0.05, reg_bias=0.1, epochs=8, seed=0)
    remote = MatrixFactorization(4, engine="spark", **kw).fit(train, spark=spark)
    local = MatrixFactorization(4, **kw).fit(train)
    a = remote.evaluate(test, k=None)["rmse"]
    b = local.evaluate(test, k=None)["rmse"]
    assert abs(a - b) <= 0.005, (a, b)
    # the biases are the local ones, not the biases-only estimate they start from
    both = np.intersect1d(remote.user_ids_, local.user_ids_)
    bu_r = remote.user_bias_[remote.user_map_.lookup(both)]
    bu_l = local.user_bias_[local.user_map_.lookup(both)]
    assert np.corrcoef(bu_r, bu_l)[0, 1] > 0.95


def test_native_blas_for_spark_is_detected():
    """Spark's netlib dlopens libblas.so.3; without it ALS falls back to Java arithmetic."""
    path = _spark.native_blas()
    if path is None:
        pytest.skip("no libblas.so.3: Spark ALS runs on Java arithmetic; on Debian/Ubuntu "
                    "apt-get install libopenblas0 (see matfit.recommend._spark)")
    import ctypes

    assert hasattr(ctypes.CDLL("libblas.so.3"), "ddot_")  # a real BLAS, with Fortran names
