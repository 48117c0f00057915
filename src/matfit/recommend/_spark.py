r"""``MatrixFactorization(engine="spark")``: the biased ratings model fitted on Apache Spark.

Implementation notes
--------------------
* IDs of any type are indexed in Spark: the distinct IDs of each side get dense indices with
  ``RDD.zipWithIndex`` (distributed; nothing but the final factor tables reaches the driver).
  ``StringIndexer`` was not used because it collects every distinct label to the driver.
* Joint biases by alternation. ``pyspark.ml.recommendation.ALS`` fits :math:`p_u \cdot q_i`
  only, so the biased model :math:`\mu + b_u + b_i + p_u \cdot q_i` is fitted by block
  coordinate descent on the local engine's objective: ``BIAS_PASSES`` alternating ridge passes
  for the biases alone (grouped sums, each the exact minimiser in one side given the other),
  then ``BIAS_ROUNDS`` times an ALS fit on the residuals :math:`r - \mu - b_u - b_i` followed
  (but for the last) by one exact bias pass per side given the factor part
  :math:`p_u \cdot q_i` (``ALSModel.transform``). The local solver re-solves each bias with
  its factor vector in every half-step; both now minimise the same J. On MovieLens 100K
  (80/20, seed 0; k=16, reg=0.08, reg_bias=0.1, 10 iterations) the test RMSEs were 0.9340
  (Spark local[2]) and 0.9323 (local), a gap of 0.0017 (``benchmarks/spark_vs_local.py``);
  biases fitted first and never again, as before, left 0.007--0.017. Each round refits ALS
  from a fresh start, so a Spark fit costs ``BIAS_ROUNDS`` ALS fits.
* Native BLAS. Spark's ALS solves through ``dev.ludovic.netlib``, which ``dlopen``\ s
  ``libblas.so.3``/``liblapack.so.3`` and otherwise falls back to Java arithmetic (the log
  says ``netlib-blas: dlopen(libblas.so.3) failed``). On Debian/Ubuntu
  ``apt-get install libopenblas0`` (or ``libblas3 liblapack3``) provides them
  (:func:`native_blas` detects it). Give it one thread per task (``OPENBLAS_NUM_THREADS=1``,
  which the sessions started here set, as Spark's MLlib guide advises): on MovieLens 100K
  (k=16, local[2], 3 rounds, a machine under load ~17) the ALS fits took 36.4 s with
  OpenBLAS at one thread, 39.5 s on the Java fallback, and 112 s with OpenBLAS's default
  threads (load ~24). At such small ranks the JNI calls gain little over netlib's vectorised
  Java; the native library pays at larger ranks.
* Regularisation means the same as in the local engine with ``reg_weighting="count"``: Spark's
  ALS adds :math:`\lambda n_u` to the diagonal of user u's normal equations (Zhou et al.'s
  weighted-λ), which is the local solver's ``"count"`` weighting; the biases are penalised by
  :math:`\lambda_b n_u b_u^2` likewise. Spark cannot weight by ``sqrt(n_u)`` or not at all, so
  the Spark engine asks for ``reg_weighting="count"``.
* Spark's factors are float32; the local model built from them keeps float32 factors, and its
  predictions equal Spark's ``transform`` plus the biases to about 1e-6.
* An unreachable ``spark://`` or ``k8s://`` master fails in seconds: its TCP port is tried with
  a short timeout before a session is built (Spark's own retries take minutes).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import numpy as np

from .._errors import DataError, InvalidParameterError

__all__ = [
    "BIAS_ROUNDS",
    "SPARK_DEFAULTS",
    "SparkFit",
    "evaluate_spark",
    "fit_spark",
    "get_session",
    "native_blas",
    "read_parquet_model",
    "recommend_spark",
    "save_parquet",
    "to_frame",
]

# Defaults of the Spark engine where the local ALS defaults are tuned for "sqrt" weighting.
SPARK_DEFAULTS: dict[str, Any] = {"reg": 0.08, "reg_bias": 0.1}
BIAS_PASSES = 3
# alternations of exact bias updates (DataFrame aggregations) with Spark ALS fits on the
# residuals; each ALS fit starts afresh (pyspark's ALS takes no initial factors)
BIAS_ROUNDS = 3
CONNECT_TIMEOUT = 3.0
# Above this many training ratings the (user, item) structure is not collected to the driver,
# so a model saved as .npz from a very large fit recommends without excluding seen items.
SEEN_LIMIT = 50_000_000
PARQUET_KIND = "ratings-mf-parquet"


class SparkFit(NamedTuple):
    """What a Spark fit leaves behind besides the local arrays."""

    als_model: Any          # pyspark.ml.recommendation.ALSModel on dense indices
    users: Any              # DataFrame: user (original ID), u (index), bias, features
    items: Any              # DataFrame: item (original ID), i (index), bias, features
    global_mean: float
    rating_range: tuple[float, float]
    count: int


# ---------------------------------------------------------------------------------- session
def native_blas() -> str | None:
    """Name of the BLAS Spark's netlib would ``dlopen`` (``libblas.so.3``), or None.

    None means Spark's ALS falls back to Java arithmetic; ``apt-get install libopenblas0``
    (Debian/Ubuntu) provides the library.
    """
    import ctypes

    try:
        ctypes.CDLL("libblas.so.3")
    except OSError:
        return None
    return "libblas.so.3"


def _check_reachable(master: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail fast, in one line naming the address, if a cluster master's port is closed."""
    if master.startswith("spark://"):
        hosts = [h for h in master[len("spark://"):].split(",") if h]
        targets = []
        for h in hosts:
            host, _, port = h.rpartition(":")
            targets.append((host or h, int(port) if port.isdigit() else 7077))
    elif master.startswith("k8s://"):
        url = urlsplit(master[len("k8s://"):])
        if not url.hostname:
            return
        targets = [(url.hostname, url.port or (443 if url.scheme == "https" else 80))]
    else:
        return  # local[...] needs no network; yarn reads its address from the Hadoop config
    errors = []
    for host, port in targets:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as err:
            errors.append(f"{host}:{port} ({err.strerror or err})")
    raise ConnectionError(
        f"cannot reach the Spark master {master}: {', '.join(errors)} within {timeout:g} s; "
        f"start the master or pass --spark-master 'local[*]'"
    )


def get_session(master: str | None = None, spark: Any = None, *, app_name: str = "matfit"
                ) -> tuple[Any, bool]:
    """A SparkSession: ``spark`` if given, else one built (or reused) for ``master``.

    Returns
    -------
    (session, created)
        ``created`` is True when this call started the session (the caller may stop it).
    """
    if spark is not None:
        return spark, False
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("engine='spark' needs pyspark: pip install 'matfit[spark]'") from None
    master = master or "local[*]"
    _check_reachable(master)
    active = SparkSession.getActiveSession()
    if active is not None and active.sparkContext.master == master:
        return active, False
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no "resolves to loopback" note
        # the JVM inherits it: a multi-threaded native BLAS inside each task oversubscribes
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.executorEnv.OPENBLAS_NUM_THREADS", "1")
               )
    if master.startswith("local"):
        builder = builder.config("spark.ui.enabled", "false")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session, True


# ------------------------------------------------------------------------------------ input
def to_frame(spark: Any, data: Any, *, sep: str | None = None, columns: Any = None,
             name: str = "ratings") -> Any:
    """A Spark DataFrame with columns ``user``, ``item``, ``rating`` (double) from any input.

    Parameters
    ----------
    spark : SparkSession
    data : pyspark DataFrame, path or local ratings
        A DataFrame (columns user/item/rating, else the first three); a Parquet file or
        directory; a delimited text file read by Spark (separator sniffed as by
        :func:`~matfit.recommend.read_ratings`, header detected); or anything
        :func:`~matfit.recommend.as_ratings` accepts (sent from the driver: small data only).
    sep : str, optional
    columns : three names or positions, or "user,item,rating", optional
    """
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    if isinstance(data, DataFrame):
        df = data
    elif isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists() and "://" not in str(data):
            raise FileNotFoundError(f"{name} file {str(data)!r} does not exist")
        if path.is_dir() or path.suffix.lower() == ".parquet":
            df = spark.read.parquet(str(data))
        else:
            df = _read_delimited(spark, path, sep)
    else:
        from ._inputs import as_ratings

        r = as_ratings(data, name)
        users, items = r.user_ids[r.users], r.item_ids[r.items]
        rows = list(zip(users.tolist(), items.tolist(), r.values.astype(float).tolist(),
                        strict=True))
        df = spark.createDataFrame(rows, ["user", "item", "rating"])
    names = list(df.columns)
    picked = _pick(names, columns, name)
    out = df.select(F.col(picked[0]).alias("user"), F.col(picked[1]).alias("item"),
                    F.col(picked[2]).cast("double").alias("rating"))
    return out


def _pick(names: list[str], columns: Any, name: str) -> list[str]:
    if columns is None:
        lower = [n.lower() for n in names]
        if {"user", "item", "rating"} <= set(lower):
            return [names[lower.index(c)] for c in ("user", "item", "rating")]
        if len(names) < 3:
            raise DataError(f"{name} has {len(names)} columns {names}; need user, item, rating")
        return names[:3]
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",")]
    if len(columns) != 3:
        raise InvalidParameterError(f"columns={columns!r}: give three names or positions")
    out = []
    for c in columns:
        if isinstance(c, int) or (isinstance(c, str) and c.isdigit()):
            out.append(names[int(c)])
        elif c in names:
            out.append(c)
        else:
            raise DataError(f"{name} has no column {c!r}; it has {names}")
    return out


def _read_delimited(spark: Any, path: Path, sep: str | None) -> Any:
    from ._delimited import _is_number, _sniff_sep

    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().rstrip("\r\n")
    if sep is None:
        sep = _sniff_sep(path, first)
    elif sep == "\\t":
        sep = "\t"
    fields = first.split() if sep == " " else first.split(sep)
    header = not any(_is_number(f.strip()) for f in fields)
    if sep == " ":
        # whitespace-separated: let Spark split on runs of blanks
        from pyspark.sql import functions as F

        text = spark.read.text(str(path))
        if header:
            text = text.filter(F.col("value") != first)
        parts = F.split(F.trim(F.col("value")), r"\s+")
        return text.select(*(parts.getItem(j).alias(f"_c{j}") for j in range(len(fields))))
    return spark.read.csv(str(path), sep=sep, header=header, inferSchema=True)


def _index(df: Any, col: str, idx: str) -> Any:
    """Distinct values of ``col`` with dense indices 0..n-1 in ``idx``, computed in Spark."""
    distinct = df.select(col).distinct()
    schema = distinct.schema
    from pyspark.sql.types import IntegerType, StructField, StructType

    pairs = distinct.rdd.zipWithIndex().map(lambda t: (t[0][0], int(t[1])))
    return pairs.toDF(StructType([schema.fields[0], StructField(idx, IntegerType(), False)]))


# -------------------------------------------------------------------------------------- fit
def fit_spark(model: Any, ratings: Any, validation: Any = None, *, spark: Any = None,
              sep: str | None = None, columns: Any = None) -> SparkFit:
    """Fit ``model`` (a MatrixFactorization with engine="spark") on Spark; set its arrays.

    Returns the :class:`SparkFit` (also kept as ``model.spark_fit_``).
    """
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    p = _resolve(model)
    session, _ = get_session(model.spark_master, spark)
    start = time.perf_counter()
    df = to_frame(session, ratings, sep=sep, columns=columns).dropna()
    users = _index(df, "user", "u").cache()
    items = _index(df, "item", "i").cache()
    data = (df.join(users, "user").join(items, "item")
            .select("u", "i", "rating").cache())
    stats = data.agg(F.count("rating").alias("n"), F.mean("rating").alias("mu"),
                     F.min("rating").alias("lo"), F.max("rating").alias("hi")).first()
    if not stats["n"]:
        raise DataError("fit() needs at least one rating, got none")
    mu = float(stats["mu"]) if model.biases else 0.0
    ub = data.select("u").distinct().withColumn("bu", F.lit(0.0))
    ib = data.select("i").distinct().withColumn("bi", F.lit(0.0))
    blocks = max(1, session.sparkContext.defaultParallelism)
    als = ALS(rank=p["factors"], maxIter=p["epochs"], regParam=p["reg"], userCol="u",
              itemCol="i", ratingCol="r", implicitPrefs=False, nonnegative=False,
              coldStartStrategy="nan", seed=0 if model.seed is None else int(model.seed),
              numUserBlocks=blocks, numItemBlocks=blocks)
    shrink = 1.0 + p["reg_bias"]  # λ_b n b² with count weighting: b = mean(residual)/(1+λ_b)
    factor_part = None  # (u, i, f = p_u . q_i) of the last ALS fit
    als_seconds = 0.0
    rounds = BIAS_ROUNDS if model.biases else 1
    for rnd in range(rounds):
        if model.biases:
            # exact bias minimisers given the factors (and the other side's biases)
            base = data if factor_part is None else data.join(factor_part, ["u", "i"])
            f = F.lit(0.0) if factor_part is None else F.col("f")
            for _ in range(BIAS_PASSES if rnd == 0 else 1):
                ib = (base.join(ub, "u").groupBy("i")
                      .agg((F.sum(F.col("rating") - mu - F.col("bu") - f)
                            / (F.count("*") * shrink)).alias("bi")).localCheckpoint())
                ub = (base.join(ib, "i").groupBy("u")
                      .agg((F.sum(F.col("rating") - mu - F.col("bi") - f)
                            / (F.count("*") * shrink)).alias("bu")).localCheckpoint())
        resid = (data.join(ub, "u").join(ib, "i")
                 .select("u", "i", (F.col("rating") - mu - F.col("bu") - F.col("bi"))
                         .alias("r")))
        als_start = time.perf_counter()
        als_model = als.fit(resid)
        als_seconds += time.perf_counter() - als_start
        if rnd + 1 < rounds:
            factor_part = (als_model.transform(data.select("u", "i"))
                           .select("u", "i", F.col("prediction").cast("double").alias("f"))
                           .localCheckpoint())
    seconds = time.perf_counter() - start
    user_tab = (users.join(ub, "u").join(als_model.userFactors.withColumnRenamed("id", "u"), "u")
                .select("user", "u", F.col("bu").alias("bias"), "features"))
    item_tab = (items.join(ib, "i").join(als_model.itemFactors.withColumnRenamed("id", "i"), "i")
                .select("item", "i", F.col("bi").alias("bias"), "features"))
    fit = SparkFit(als_model, user_tab, item_tab, mu, (float(stats["lo"]), float(stats["hi"])),
                   int(stats["n"]))
    _to_local(model, fit, data, p)
    model.spark_fit_ = fit
    train_rmse = evaluate_spark(model, data.join(users, "u").join(items, "i")
                                .select("user", "item", "rating"), spark=session)["rmse"]
    # one record for the whole fit: Spark runs the iterations inside one ALS.fit call
    record: dict[str, Any] = {"epoch": p["epochs"], "train_rmse": train_rmse, "val_rmse": None,
                              "seconds": seconds, "als_seconds": als_seconds}
    if validation is not None:
        record["val_rmse"] = evaluate_spark(model, validation, spark=session, sep=sep,
                                            columns=columns)["rmse"]
    model.history_ = [record]
    model.n_epochs_ = model.best_epoch_ = p["epochs"]
    data.unpersist()
    return fit


def _resolve(model: Any) -> dict[str, Any]:
    if model.solver != "als":
        raise InvalidParameterError(
            f"MatrixFactorization(engine='spark', solver={model.solver!r}): the Spark engine "
            f"fits with Spark's ALS; pass solver='als'")
    if model.reg_weighting != "count":
        raise InvalidParameterError(
            f"MatrixFactorization(engine='spark', reg_weighting={model.reg_weighting!r}): "
            f"Spark's ALS scales reg by each user's and item's rating count; pass "
            f"reg_weighting='count' (reg then means the same as in the local engine)")
    p = model._resolved()
    for name, value in SPARK_DEFAULTS.items():
        if getattr(model, name) is None:
            p[name] = value
    return p


def _ids(values: list) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    return arr.astype(str)


def _collect_side(tab: Any, idx: str, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = tab.orderBy(idx).select(key, "bias", "features").collect()
    ids = _ids([r[0] for r in rows])
    bias = np.array([r[1] for r in rows], dtype=np.float64)
    factors = np.array([r[2] for r in rows], dtype=np.float32).reshape(len(rows), -1)
    return ids, bias, factors


def _to_local(model: Any, fit: SparkFit, data: Any, p: dict) -> None:
    import scipy.sparse as sp

    uids, bu, P = _collect_side(fit.users, "u", "user")
    iids, bi, Q = _collect_side(fit.items, "i", "item")
    seen = None
    if fit.count <= SEEN_LIMIT:
        from pyspark.sql import functions as F

        # one row per user (not per rating): far fewer Python objects on the driver
        rows = data.groupBy("u").agg(F.collect_list("i").alias("items")).collect()
        counts = np.zeros(len(uids) + 1, dtype=np.int64)
        for r in rows:
            counts[r[0] + 1] = len(r[1])
        indptr = np.cumsum(counts)
        indices = np.empty(int(indptr[-1]), dtype=np.int32)
        for r in rows:
            indices[indptr[r[0]]:indptr[r[0] + 1]] = np.sort(np.asarray(r[1], dtype=np.int32))
        seen = sp.csr_matrix((np.ones(len(indices), bool), indices, indptr),
                             shape=(len(uids), len(iids)))
    model._set_fitted(np.float32(fit.global_mean), bu.astype(np.float32), bi.astype(np.float32),
                      P, Q, uids, iids, seen=seen, rating_range=fit.rating_range)


# ------------------------------------------------------------------------- parquet models
def save_parquet(model: Any, out: str | os.PathLike, *, spark: Any = None) -> Path:
    """Write the factor tables of a Spark fit as Parquet under ``out`` plus ``matfit.json``.

    ``out/users`` holds ``user, bias, features``; ``out/items`` holds ``item, bias,
    features``; ``out/matfit.json`` the global mean, rating range and parameters.
    """
    out = Path(out)
    fit = getattr(model, "spark_fit_", None)
    if fit is None:
        session, _ = get_session(model.spark_master, spark)
        users, items = _tables_from_arrays(session, model)
    else:
        users = fit.users.select("user", "bias", "features")
        items = fit.items.select("item", "bias", "features")
    out.mkdir(parents=True, exist_ok=True)
    users.write.mode("overwrite").parquet(str(out / "users"))
    items.write.mode("overwrite").parquet(str(out / "items"))
    params = model.get_params()
    params["dtype"] = str(np.dtype(params["dtype"]))
    meta = {"kind": PARQUET_KIND, "format_version": 1,
            "global_mean": float(model.global_mean_),
            "rating_range": list(model.rating_range_), "params": params,
            "history": getattr(model, "history_", [])}
    from .._io import atomic_write

    text = json.dumps(meta, sort_keys=True).encode()
    atomic_write(out / "matfit.json", lambda fh: fh.write(text), what="model metadata")
    return out


def read_parquet_model(spark: Any, path: str | os.PathLike) -> tuple[Any, Any, dict]:
    """(users, items, meta) of a model directory written by :func:`save_parquet`."""
    path = Path(path)
    meta_path = path / "matfit.json"
    if not meta_path.is_file():
        raise DataError(f"{path} is not a matfit Parquet model (no matfit.json in it)")
    meta = json.loads(meta_path.read_text())
    if meta.get("kind") != PARQUET_KIND:
        raise DataError(f"{meta_path} is a {meta.get('kind')!r}, not a {PARQUET_KIND!r}")
    return spark.read.parquet(str(path / "users")), spark.read.parquet(str(path / "items")), meta


def _tables_from_arrays(spark: Any, model: Any) -> tuple[Any, Any]:
    def side(ids: np.ndarray, bias: np.ndarray, factors: np.ndarray, key: str) -> Any:
        rows = [(i, float(b), f) for i, b, f in zip(ids.tolist(), bias.tolist(),
                                                    factors.astype(float).tolist(), strict=True)]
        return spark.createDataFrame(rows, [key, "bias", "features"])

    return (side(model.user_ids_, model.user_bias_, model.user_factors_, "user"),
            side(model.item_ids_, model.item_bias_, model.item_factors_, "item"))


def _tables(spark: Any, model: Any) -> tuple[Any, Any, float, tuple[float, float]]:
    if isinstance(model, (str, os.PathLike)):
        users, items, meta = read_parquet_model(spark, model)
        return users, items, float(meta["global_mean"]), tuple(meta["rating_range"])
    fit = getattr(model, "spark_fit_", None)
    if fit is not None:
        users, items = fit.users, fit.items
    else:
        users, items = _tables_from_arrays(spark, model)
    return users, items, float(model.global_mean_), model.rating_range_


# -------------------------------------------------------------------- evaluate / recommend
def evaluate_spark(model: Any, ratings: Any, *, spark: Any = None, clip: bool = True,
                   sep: str | None = None, columns: Any = None) -> dict[str, Any]:
    """RMSE and MAE of a model on ratings, computed with a distributed join.

    Parameters
    ----------
    model : MatrixFactorization (fitted) or path of a Parquet model directory
    ratings : anything :func:`to_frame` accepts
    clip : bool
        Clip predictions to the training range, as the local ``evaluate`` does.

    Returns
    -------
    dict
        ``rmse``, ``mae``, ``count``, ``unknown_users``, ``unknown_items`` (distinct IDs) and
        ``unknown_pairs``; an unknown user or item gets μ plus the known bias, as locally.
    """
    from pyspark.sql import functions as F

    session, _ = get_session(getattr(model, "spark_master", None), spark)
    users, items, mu, (lo, hi) = _tables(session, model)
    df = to_frame(session, ratings, sep=sep, columns=columns).dropna()
    ut = users.select(F.col("user").cast("string").alias("_uk"), F.col("bias").alias("bu"),
                      F.col("features").alias("pf"))
    it = items.select(F.col("item").cast("string").alias("_ik"), F.col("bias").alias("bi"),
                      F.col("features").alias("qf"))
    j = (df.withColumn("_uk", F.col("user").cast("string"))
         .withColumn("_ik", F.col("item").cast("string"))
         .join(ut, "_uk", "left").join(it, "_ik", "left"))
    dot = F.expr("aggregate(zip_with(pf, qf, (x, y) -> double(x) * double(y)), 0D, "
                 "(acc, v) -> acc + v)")
    pred = (F.lit(mu) + F.coalesce(F.col("bu"), F.lit(0.0)) + F.coalesce(F.col("bi"), F.lit(0.0))
            + F.when(F.col("pf").isNotNull() & F.col("qf").isNotNull(), dot).otherwise(0.0))
    if clip:
        pred = F.least(F.greatest(pred, F.lit(lo)), F.lit(hi))
    err = F.col("rating") - pred
    s = j.agg(F.count("*").alias("n"), F.sum(err * err).alias("sq"), F.sum(F.abs(err)).alias("ab"),
              F.sum(F.when(F.col("pf").isNull() | F.col("qf").isNull(), 1).otherwise(0))
              .alias("pairs"),
              F.countDistinct(F.when(F.col("pf").isNull(), F.col("_uk"))).alias("users"),
              F.countDistinct(F.when(F.col("qf").isNull(), F.col("_ik"))).alias("items")).first()
    n = int(s["n"])
    return {"rmse": float(np.sqrt(s["sq"] / n)) if n else float("nan"),
            "mae": float(s["ab"] / n) if n else float("nan"), "count": n,
            "unknown_users": int(s["users"]), "unknown_items": int(s["items"]),
            "unknown_pairs": int(s["pairs"] or 0)}


def recommend_spark(model: Any, user: Any, k: int = 10, *, spark: Any = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items with the highest predicted rating for ``user``, scored in Spark.

    Seen items are not excluded (a Parquet model does not store the training pairs). An
    unknown user gets the items with the highest μ + b_i, as locally.
    """
    from pyspark.sql import functions as F

    session, _ = get_session(getattr(model, "spark_master", None), spark)
    users, items, mu, _ = _tables(session, model)
    row = users.filter(F.col("user").cast("string") == str(user)).select(
        F.col("bias").alias("bu"), F.col("features").alias("pf")).limit(1)
    if row.count() == 0:
        scored = items.withColumn("score", F.lit(mu) + F.col("bias"))
    else:
        dot = F.expr("aggregate(zip_with(pf, features, (x, y) -> double(x) * double(y)), 0D, "
                     "(acc, v) -> acc + v)")
        scored = items.crossJoin(row).withColumn("score", F.lit(mu) + F.col("bu")
                                                 + F.col("bias") + dot)
    top = scored.orderBy(F.col("score").desc()).limit(k).select("item", "score").collect()
    return _ids([r[0] for r in top]), np.array([r[1] for r in top], dtype=np.float64)
