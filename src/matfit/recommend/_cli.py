"""``matfit recommend train|evaluate|top``: fit, score and query a ratings model from files."""

from __future__ import annotations

import argparse
import sys
from typing import Any

_SOLVERS = ("sgd", "als", "svdpp")


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "recommend", help="sparse matrix factorisation of ratings (train, evaluate, top)",
        description="Fit explicit-feedback matrix factorisation on the observed ratings only "
        "(memory grows with the ratings, never with users x items), then evaluate it or list "
        "a user's top items.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")

    def usage(args: argparse.Namespace) -> dict:
        p.print_help(sys.stderr)
        return {"exit_code": 2}

    # bare `matfit recommend`: this command's help and the usage-error status
    p.set_defaults(run=usage, json=False, quiet=False, debug=False)

    t = actions.add_parser(
        "train", parents=parents, help="fit a model on a ratings file and save it",
        description="Fit a model on RATINGS (.csv, .tsv, MovieLens .dat or u.data) and save it "
        "as .npz. The defaults (SGD, 64 factors, 15 epochs, seed 0) suit MovieLens-like 1-5 "
        "star data.")
    t.add_argument("ratings", metavar="RATINGS", help="delimited file of user, item, rating")
    t.add_argument("--out", "-o", required=True, metavar="MODEL.npz",
                   help="model file to write (exactly this path, ending in .npz; with --engine "
                   "spark also a Parquet model folder); an existing file is replaced, unless "
                   "it is RATINGS")
    t.add_argument("--solver", choices=_SOLVERS,
                   help="sgd (default, Funk SGD), svdpp (SVD++, implicit feedback) or als "
                   "(alternating least squares; "
                   "the only choice, and the default, with --engine spark)")
    t.add_argument("--factors", type=int, metavar="K", help="latent factors (default 64)")
    t.add_argument("--epochs", type=int, metavar="N",
                   help="passes over the data (default: 15 sgd, 6 als)")
    t.add_argument("--reg", type=float, metavar="L",
                   help="L2 strength of the factors (default: 0.06 sgd, 1.3 als)")
    t.add_argument("--lr", type=float, metavar="ETA", help="SGD learning rate (default 0.05)")
    t.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    t.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    t.add_argument("--validation-fraction", type=float, default=0.0, metavar="F",
                   help="hold out this fraction for early stopping (default 0: use all)")
    _add_reader_options(t)
    _add_engine_options(t)
    t.set_defaults(run=run_train)

    e = actions.add_parser(
        "evaluate", parents=parents, help="RMSE, MAE and top-k metrics of a model on ratings",
        description="Score MODEL on held-out RATINGS: RMSE, MAE, count, unknown users/items, "
        "and precision/recall/NDCG@k over all items not rated in training.")
    e.add_argument("model", metavar="MODEL.npz")
    e.add_argument("ratings", metavar="RATINGS")
    e.add_argument("--k", type=int, default=10, help="cut-off of the ranking metrics; 0 skips")
    e.add_argument("--threshold", type=float,
                   help="ratings >= this are relevant for ranking (default: all held-out)")
    _add_reader_options(e)
    _add_engine_options(e)
    e.set_defaults(run=run_evaluate)

    top = actions.add_parser(
        "top", parents=parents, help="a user's k best items not rated in training",
        description="List the items with the highest predicted rating for one user.")
    top.add_argument("model", metavar="MODEL.npz")
    top.add_argument("--user", metavar="ID", help="the user's ID (required unless "
                     "--ratings-of holds one user)")
    top.add_argument("--ratings-of", metavar="NEW_USER.csv",
                     help="ratings of a user absent from the model (user, item, rating): folded "
                     "in (one ALS step, items fixed; the model file is not changed)")
    top.add_argument("--k", type=int, default=10, help="number of items (default 10)")
    top.add_argument("--include-seen", action="store_true",
                     help="also list items the user rated in training")
    _add_engine_options(top)
    top.set_defaults(run=run_top)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local (default) or spark: fit/score with Apache Spark (matfit[spark]); "
                   "RATINGS may then be Parquet, and MODEL a Parquet model directory")
    p.add_argument("--spark-master", metavar="URL", default=None,
                   help="Spark master with --engine spark (default local[*]; spark://HOST:PORT, "
                   "yarn or k8s://... work the same)")


def _is_parquet_dir(path: str) -> bool:
    from pathlib import Path

    return path.endswith(("/", ".parquet")) or Path(path).is_dir()


def _add_reader_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sep", help="field separator (default: sniffed; '\\t' for tab)")
    p.add_argument("--columns", metavar="USER,ITEM,RATING",
                   help="names (with a header) or 0-based positions of the three columns")
    p.add_argument("--duplicates", choices=("error", "mean", "last"), default="error",
                   help="a (user, item) pair rated twice: fail (default), average, keep last")


def _read(args: argparse.Namespace, path: str) -> Any:
    from ._data import read_ratings

    return read_ratings(path, sep=args.sep, columns=args.columns, duplicates=args.duplicates)


def _claim(args: argparse.Namespace) -> Any:
    """Check --out before any work (exit 2 if it cannot be written or names RATINGS)."""
    from .._io import Outputs

    outputs = Outputs({"RATINGS": args.ratings})
    if args.engine == "spark" and _is_parquet_dir(args.out):
        outputs.folder("--out", args.out, whole=True)
    else:
        outputs.file("--out", args.out, suffix=".npz")
    return outputs


def _load_model(args: argparse.Namespace) -> Any:
    """MODEL as a MatrixFactorization, its errors naming the argument (and a swap, if likely)."""
    from .._errors import DataError
    from .._io import naming
    from .model import MatrixFactorization

    try:
        with naming("MODEL"):
            return MatrixFactorization.load(args.model)
    except DataError as err:
        ratings = getattr(args, "ratings", None)
        if ratings and str(ratings).lower().endswith(".npz"):
            raise DataError(f"{err} (did you swap them? the order is MODEL RATINGS)") from None
        raise


def _positive(value: Any, flag: str) -> None:
    from .._errors import InvalidParameterError

    if value is not None and value < 1:
        raise InvalidParameterError(f"{flag} {value}: must be >= 1")


def run_train(args: argparse.Namespace) -> dict:
    import time

    from ._data import train_test_split
    from .model import MatrixFactorization

    outputs = _claim(args)
    _positive(args.factors, "--factors")
    _positive(args.epochs, "--epochs")
    if not 0 <= args.validation_fraction < 1:
        from .._errors import InvalidParameterError

        raise InvalidParameterError(
            f"--validation-fraction {args.validation_fraction}: must be in [0, 1)")
    if args.engine == "spark":
        with outputs:
            return _run_train_spark(args)
    args.solver = args.solver or "sgd"
    ratings = _read(args, args.ratings)
    print(f"read {len(ratings):,} ratings of {ratings.n_users:,} users and {ratings.n_items:,} "
          f"items from {args.ratings}")
    train, val = ratings, None
    if args.validation_fraction > 0:
        train, val = train_test_split(ratings, args.validation_fraction, seed=args.seed)
    model = MatrixFactorization(args.factors, solver=args.solver, reg=args.reg, epochs=args.epochs,
                                lr=args.lr, dtype=args.dtype, seed=args.seed,
                                verbose=args.verbose)
    start = time.perf_counter()
    model.fit(train, validation=val)
    seconds = time.perf_counter() - start
    with outputs:
        path = model.save(args.out)
    last = model.history_[model.best_epoch_ - 1] if model.history_ else {}
    k = model.user_factors_.shape[1]
    line = (f"fitted {args.solver} with {k} factors on {len(train):,} ratings in {seconds:.2f} s "
            f"({model.n_epochs_} epochs): train RMSE {last.get('train_rmse', float('nan')):.4f}")
    if val is not None:
        line += f", validation RMSE {last['val_rmse']:.4f} (best epoch {model.best_epoch_})"
    print(line)
    print(f"saved {path}")
    return {"model": str(path), "solver": args.solver, "factors": k, "ratings": len(train),
            "users": len(model.user_ids_), "items": len(model.item_ids_),
            "epochs": model.n_epochs_, "best_epoch": model.best_epoch_,
            "train_rmse": last.get("train_rmse"), "val_rmse": last.get("val_rmse"),
            "fit_seconds": round(seconds, 4)}


def _run_train_spark(args: argparse.Namespace) -> dict:
    import time

    from . import _spark
    from .model import MatrixFactorization

    if args.solver not in (None, "als"):
        from .._errors import InvalidParameterError

        raise InvalidParameterError(f"--solver {args.solver}: --engine spark fits ALS only")
    if args.validation_fraction > 0:
        from .._errors import InvalidParameterError

        raise InvalidParameterError("--validation-fraction: not supported with --engine spark "
                                    "(evaluate on a held-out file instead)")
    start = time.perf_counter()
    spark, created = _spark.get_session(args.spark_master)
    try:
        print(f"Spark session on {spark.sparkContext.master} "
              f"({time.perf_counter() - start:.1f} s to start)", file=sys.stderr)
        model = MatrixFactorization(args.factors, solver="als", reg_weighting="count",
                                    reg=args.reg, epochs=args.epochs, dtype="float32",
                                    seed=args.seed, engine="spark",
                                    spark_master=args.spark_master)
        fit = _spark.fit_spark(model, args.ratings, spark=spark, sep=args.sep,
                               columns=args.columns)
        seconds = time.perf_counter() - start
        if _is_parquet_dir(args.out):
            path = _spark.save_parquet(model, args.out, spark=spark)
        else:
            path = model.save(args.out)
    finally:
        if created:
            spark.stop()
    k = model.user_factors_.shape[1]
    last = model.history_[-1]
    print(f"fitted Spark ALS with {k} factors on {fit.count:,} ratings in {seconds:.2f} s "
          f"(session start included, {model.n_epochs_} iterations): train RMSE "
          f"{last['train_rmse']:.4f}")
    print(f"saved {path}")
    return {"model": str(path), "solver": "als", "engine": "spark", "factors": k,
            "ratings": fit.count, "users": len(model.user_ids_), "items": len(model.item_ids_),
            "epochs": model.n_epochs_, "train_rmse": last["train_rmse"],
            "fit_seconds": round(seconds, 4)}


def run_evaluate(args: argparse.Namespace) -> dict:

    if args.k < 0:
        from .._errors import InvalidParameterError

        raise InvalidParameterError(f"--k {args.k}: must be >= 0 (0 skips ranking)")
    if args.engine == "spark":
        return _run_evaluate_spark(args)
    model = _load_model(args)
    ratings = _read(args, args.ratings)
    res = model.evaluate(ratings, k=args.k or None, threshold=args.threshold)
    print(f"RMSE {res['rmse']:.4f}  MAE {res['mae']:.4f}  on {res['count']:,} ratings")
    if res["unknown_pairs"]:
        print(f"{res['unknown_pairs']:,} ratings have a user ({res['unknown_users']:,} distinct) "
              f"or item ({res['unknown_items']:,} distinct) unknown to the model: predicted "
              f"from the global mean and known biases")
    if args.k:
        k = args.k
        print(f"precision@{k} {res[f'precision@{k}']:.4f}  recall@{k} {res[f'recall@{k}']:.4f}  "
              f"NDCG@{k} {res[f'ndcg@{k}']:.4f}  over {res['ranked_users']:,} users")
    return {k: v for k, v in res.items()}


def _run_evaluate_spark(args: argparse.Namespace) -> dict:
    from . import _spark

    spark, created = _spark.get_session(args.spark_master)
    try:
        model: Any = args.model if _is_parquet_dir(args.model) else _load_model(args)
        res = _spark.evaluate_spark(model, args.ratings, spark=spark, sep=args.sep,
                                    columns=args.columns)
    finally:
        if created:
            spark.stop()
    print(f"RMSE {res['rmse']:.4f}  MAE {res['mae']:.4f}  on {res['count']:,} ratings (Spark)")
    if res["unknown_pairs"]:
        print(f"{res['unknown_pairs']:,} ratings have a user ({res['unknown_users']:,} distinct) "
              f"or item ({res['unknown_items']:,} distinct) unknown to the model: predicted "
              f"from the global mean and known biases")
    return res


def run_top(args: argparse.Namespace) -> dict:
    import warnings

    from .model import UnknownIdWarning

    _positive(args.k, "--k")
    if args.engine == "spark":
        from . import _spark

        if args.ratings_of is not None or args.user is None:
            from .._errors import InvalidParameterError

            raise InvalidParameterError("--engine spark: top needs --user ID (--ratings-of "
                                        "folds in with the local engine only)")

        spark, created = _spark.get_session(args.spark_master)
        try:
            model: Any = args.model if _is_parquet_dir(args.model) else _load_model(args)
            items, scores = _spark.recommend_spark(model, args.user, args.k, spark=spark)
        finally:
            if created:
                spark.stop()
        print(f"{'rank':>4}  {'item':<20} {'predicted':>9}")
        for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
            print(f"{rank:>4}  {item!s:<20} {score:>9.3f}")
        return {"user": args.user, "items": [x.item() for x in items],
                "scores": [float(s) for s in scores]}
    model = _load_model(args)
    user: Any = args.user
    if args.ratings_of is not None:
        user = _fold_in_user(model, args.ratings_of, args.user)
    elif user is None:
        from .._errors import InvalidParameterError

        raise InvalidParameterError("top needs --user ID, or --ratings-of FILE of a new user")
    if model.user_ids_.dtype.kind == "i" and isinstance(user, str):
        try:
            user = int(user)
        except ValueError:
            pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownIdWarning)
        items, scores = model.recommend(user, args.k, exclude_seen=not args.include_seen)
    unknown = any(issubclass(w.category, UnknownIdWarning) for w in caught)
    if unknown:
        print(f"matfit recommend top: user {args.user!r} is unknown to the model; listing the "
              f"items with the highest global mean + item bias", file=sys.stderr)
    print(f"{'rank':>4}  {'item':<20} {'predicted':>9}")
    for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
        print(f"{rank:>4}  {item!s:<20} {score:>9.3f}")
    return {"user": user if args.user is None else args.user, "unknown_user": unknown,
            "items": [x.item() if hasattr(x, "item") else x for x in items],
            "scores": [float(s) for s in scores]}


def _fold_in_user(model: Any, path: str, user: Any) -> Any:
    """Fold the ratings in ``path`` into ``model`` (in memory); the user to rank for."""
    import warnings

    from .._errors import DataError
    from ._data import read_ratings
    from ._inputs import UnknownIdWarning

    new = read_ratings(path)
    ids = [x.item() if hasattr(x, "item") else x for x in new.user_ids]
    if user is None and len(ids) != 1:
        raise DataError(f"--ratings-of {path} holds {len(ids)} users: pass --user ID")
    with warnings.catch_warnings():  # the count of skipped ratings is reported below
        warnings.simplefilter("ignore", UnknownIdWarning)
        res = model.fold_in(new)
    print(f"folded in {len(ids)} new user(s) from {len(new) - res.ignored:,} ratings "
          f"({res.ignored} of unknown items skipped)", file=sys.stderr)
    return ids[0] if user is None else user
