"""``matfit nmf INPUT --components K [--beta kl] [--solver mu|hals] ... --out MODEL.npz``."""

from __future__ import annotations

import argparse
from typing import Any

_INPUTS = ".npy, .npz (a dense array or a scipy.sparse matrix), .csv or Matrix Market .mtx"

# what spreadsheets and pandas (its default na_values) write for a missing cell; compared
# lower-cased after stripping spaces. NaN and inf themselves are read by float().
_CSV_MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a",
                          "#na", "-1.#ind", "1.#ind", "-1.#qnan", "1.#qnan"})


def _csv_cell(text: str) -> float:
    """One CSV cell: a number, or NaN for a missing-cell token (an error for anything else)."""
    token = text.strip()
    return float("nan") if token.lower() in _CSV_MISSING else float(token)


def _read_csv(path: Any) -> Any:
    """A CSV of numbers; empty cells and NA/N/A/null are missing (NaN); one header line may
    precede the numbers."""
    import numpy as np

    try:  # the fast path: numbers only
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError:
        pass
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2, converters=_csv_cell)
    except ValueError:
        if not _is_header(path):  # an error in the numbers (or a ragged row): say where
            raise
    return np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1, converters=_csv_cell)


def _is_header(path: Any) -> bool:
    """Whether the first line of a CSV has a cell that is neither a number nor missing (a
    first line of numbers is data, never skipped as a header)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline().rstrip("\r\n")
    for cell in first.split(","):
        try:
            _csv_cell(cell)
        except ValueError:
            return True
    return False


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "nmf", parents=parents, help="non-negative matrix factorisation of a matrix file",
        description="Factorise a non-negative matrix X (features, samples) ~ W @ H and save W, H "
        "and the loss curve to an .npz model file.")
    p.add_argument("input", metavar="INPUT", help=f"the matrix: {_INPUTS}; rows are features, "
                   "columns samples (see --transpose). NaN entries are missing (in a .csv "
                   "also empty cells, NA, N/A and null)")
    from ._cli_missing import add_options, components

    p.add_argument("--components", "-k", type=components, required=True, metavar="K",
                   help="number of components, or 'auto' (chosen from held-out entries)")
    add_options(p)
    p.add_argument("--beta", default="frobenius",
                   help="divergence: frobenius, kl, is, or a number (default frobenius)")
    p.add_argument("--solver", choices=("mu", "hals"), default="mu",
                   help="multiplicative updates (any beta) or HALS (frobenius)")
    p.add_argument("--init", choices=("random", "nndsvd", "nndsvda", "nndsvdar"), default=None,
                   help="initialisation (default nndsvda)")
    p.add_argument("--max-iter", type=int, default=200, metavar="N")
    p.add_argument("--tol", type=float, default=1e-4, metavar="T",
                   help="stop when the objective falls by less than T times its initial "
                   "value in 10 iterations; 0 runs all N")
    p.add_argument("--seed", type=int, default=None, metavar="S")
    p.add_argument("--transpose", action="store_true",
                   help="INPUT is (samples, features): factorise its transpose")
    p.add_argument("--float32", action="store_true", help="compute in float32")
    p.add_argument("--out", required=True, metavar="MODEL.npz",
                   help="the model file to write (exactly this path, ending in .npz); an "
                   "existing file is replaced, unless it is INPUT")
    p.add_argument("--dask", action="store_true",
                   help="factorise chunk by chunk with Dask (matfit[dask]): INPUT may then be a "
                   ".npy file (memory-mapped), a directory of .npy chunks or a Zarr store")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --dask: a Dask scheduler (tcp://host:8786), or 'local' to start "
                   "a LocalCluster of 2 worker processes (its dashboard address is printed); "
                   "default: Dask's local threaded scheduler")
    p.add_argument("--chunk", type=int, default=50_000, metavar="SAMPLES",
                   help="with --dask and a .npy INPUT: samples per block (default 50000)")
    p.add_argument("--h-out", metavar="PATH",
                   help="with --dask: write H block by block to this Zarr store (.zarr) or "
                   "directory of .npy files, instead of into the model file")
    p.set_defaults(run=run)


def _beta(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def load_matrix(path: str, what: str = "INPUT") -> Any:
    """Read a matrix from .npy, .npz (dense or scipy.sparse), .csv or .mtx."""
    import warnings
    from pathlib import Path

    import numpy as np
    import scipy.io
    import scipy.sparse as sp

    from .._errors import DataError
    from .._io import read_npy, read_npz

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no input file at {p} ({what})")
    if p.is_dir():
        raise DataError(f"{what} {p} is a folder: give a matrix file ({_INPUTS}), or use --dask "
                        f"for a folder of .npy chunks")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return read_npy(p, what=what)
    if suffix == ".npz":
        arrays = read_npz(p, what=what)
        keys = set(arrays)
        if {"format", "shape", "data"} <= keys:
            try:
                return sp.load_npz(p)
            except (ValueError, KeyError, OSError) as err:
                raise DataError(f"{what} {p} is not a readable scipy.sparse .npz: {err}") from None
        if len(keys) == 1:
            return arrays[next(iter(keys))]
        if "X" in keys:
            return arrays["X"]
        raise DataError(f"{what} {p} holds arrays {sorted(keys)}: name the matrix 'X' or save one "
                        f"array only (or a scipy.sparse matrix with scipy.sparse.save_npz)")
    if suffix in (".csv", ".mtx"):
        with warnings.catch_warnings():
            # an empty file is numpy's "input contained no data" warning: we say it ourselves
            warnings.simplefilter("ignore", UserWarning)
            try:
                if suffix == ".mtx":
                    M = scipy.io.mmread(p)
                    return sp.csr_matrix(M) if sp.issparse(M) else np.asarray(M)
                X = _read_csv(p)
            except (ValueError, OSError, UnicodeDecodeError, EOFError, IndexError) as err:
                kind = "Matrix Market file" if suffix == ".mtx" else "CSV of numbers"
                detail = " ".join(str(err).split()) or type(err).__name__
                raise DataError(f"{what} {p} is not a readable {kind}: {detail}") from None
        if X.size == 0:
            raise DataError(f"{what} {p} holds no numbers (an empty CSV)")
        return X
    raise DataError(f"{what} {p}: unsupported file type {suffix!r}; use {_INPUTS}")


def _claim(args: argparse.Namespace) -> Any:
    """Check every output path before any work (exit 2 if one cannot or must not be written)."""
    from .._io import Outputs

    inputs = {"INPUT": args.input}
    if getattr(args, "weights", None):
        inputs["--weights"] = args.weights
    outputs = Outputs(inputs)
    outputs.file("--out", args.out, suffix=".npz")
    if getattr(args, "plot", None):
        from pathlib import Path

        from .._io import UsageError

        outputs.file("--plot", args.plot)  # first: never over an input
        if Path(args.plot).suffix.lower() not in (".png", ".pdf", ".svg"):
            raise UsageError(f"--plot {args.plot}: use a .png, .pdf or .svg name")
    if getattr(args, "h_out", None):
        outputs.folder("--h-out", args.h_out, whole=True)
    return outputs


def run(args: argparse.Namespace) -> dict:
    import sys
    import time
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from .._errors import ConvergenceWarning
    from .._io import save_model
    from ._nmf import nmf

    if getattr(args, "dask", False) and (args.weights or args.components == "auto"):
        from .._errors import InvalidParameterError

        raise InvalidParameterError("--weights and --components auto run in memory: "
                                    "drop --dask")
    if not getattr(args, "dask", False) and (getattr(args, "scheduler", None)
                                             or getattr(args, "h_out", None)):
        from .._errors import InvalidParameterError

        raise InvalidParameterError("--scheduler and --h-out need --dask")
    outputs = _claim(args)
    if getattr(args, "dask", False):
        from ._dask import run_cli

        with outputs:
            return run_cli(args)
    X = load_matrix(args.input)
    if args.transpose:
        X = X.T
    if args.float32:
        X = X.astype(np.float32)
    from ._cli_missing import prepare

    # one transaction from the rank search to the model: the --plot is staged with the model
    # and both appear only if the final fit succeeds too (no plot without its model)
    with outputs:
        weights, args.components, missing, notes = prepare(args, X, load_matrix)
        for line in notes:
            print(line)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            res = nmf(X, args.components, beta=_beta(args.beta), solver=args.solver,
                      init=args.init, max_iter=args.max_iter, tol=args.tol, seed=args.seed,
                      verbose=args.verbose, weights=weights)
        seconds = time.perf_counter() - start
        for w in caught:  # one line each, not Python's two-line warning format
            print(f"matfit nmf: warning: {w.message}", file=sys.stderr)
        kind = f"sparse {X.format}" if sp.issparse(X) else "dense"
        meta = {"beta": res.beta, "solver": res.solver, "init": res.init, "nit": int(res.nit),
                "fun": float(res.fun), "status": int(res.status), "message": res.message,
                "input": str(args.input), "transposed": bool(args.transpose),
                "orientation": "X (features, samples) ~ W (features, components) @ H"}
        path = save_model(args.out, {"W": res.W, "H": res.H, "history": res.history,
                                     "history_nit": res.history_nit}, meta, kind="nmf",
                          version=1)
    print(f"X {X.shape[0]} features x {X.shape[1]} samples ({kind}, {res.W.dtype}); "
          f"{args.components} components, beta={res.beta:g}, solver={res.solver}, "
          f"init={res.init}")
    print(f"{res.nit} iterations in {seconds:.3f} s ({1e3 * seconds / max(res.nit, 1):.2f} "
          f"ms/iteration); objective {res.fun:.6g}; {res.message}")
    print(f"saved W {res.W.shape} and H {res.H.shape} to {path}")
    sys.stdout.flush()
    return {"iterations": int(res.nit), "objective": float(res.fun), "seconds": seconds,
            "converged": res.status == 0, "status": int(res.status), "message": res.message,
            "shape": list(X.shape), "n_components": args.components, "beta": res.beta,
            "solver": res.solver, "out": str(path), **missing}
