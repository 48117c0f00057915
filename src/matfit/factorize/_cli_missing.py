"""The missing-entry options of ``matfit nmf``: NaN as missing, ``--weights``,
``--components auto`` (:func:`matfit.factorize.choose_rank`) and ``--plot``.

Kept apart from :mod:`._cli` so that the command's file handling and these options change
independently; ``_cli.run`` calls :func:`prepare` once and passes what it returns to ``nmf``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._errors import InvalidParameterError, ShapeError

__all__ = ["add_options", "components", "prepare"]


def components(text: str) -> int | str:
    """``--components``: a positive int, or ``auto``."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--components {text!r}: give a number of components or 'auto'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"--components {value}: must be >= 1 (or 'auto')")
    return value


def _candidates(text: str) -> list[int]:
    """``1:10`` (inclusive) or ``2,4,8``."""
    try:
        if ":" in text:
            lo, hi = (int(t) for t in text.split(":"))
            values = list(range(lo, hi + 1))
        else:
            values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--candidates {text!r}: write LO:HI (inclusive) or a list such as 2,4,8") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--candidates {text!r}: ranks must be >= 1")
    return values


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", metavar="V.npy",
                   help="non-negative weight per entry of INPUT (same shape; 0 = missing). "
                   "Without it, NaN entries of INPUT are read as missing")
    p.add_argument("--candidates", type=_candidates, default=None, metavar="LO:HI",
                   help="with --components auto: the ranks to try (default 1:10, capped at "
                   "min(features, samples))")
    p.add_argument("--holdout", type=float, default=0.1, metavar="SHARE",
                   help="with --components auto: share of observed entries hidden per fold "
                   "(default 0.1, 3 folds)")
    p.add_argument("--plot", metavar="PATH.png",
                   help="with --components auto: draw the held-out divergence against the "
                   "rank (needs matplotlib)")


def prepare(args: argparse.Namespace, X: Any, load: Any) -> tuple[Any, int, dict, list[str]]:
    """(weights or None, n_components, summary entries, lines to print) for ``matfit nmf``.

    ``load`` is the command's matrix loader (used for ``--weights``).
    """
    from ._rank import choose_rank
    from ._weighted import nan_weights

    lines: list[str] = []
    summary: dict = {}
    auto = args.components == "auto"
    if not auto and (args.candidates is not None or args.plot):
        raise InvalidParameterError("--candidates and --plot go with --components auto")
    if args.weights:
        V = load(args.weights, "--weights")
        if args.transpose:
            V = V.T
        if V.shape != X.shape:  # here, before any note or work, in the files' orientation
            flip = (lambda shape: shape[::-1]) if args.transpose else tuple
            fix = ("it is INPUT's transpose: save the weights laid out as INPUT"
                   if V.shape == X.shape[::-1] else
                   "give one weight per entry of INPUT, laid out as INPUT")
            raise ShapeError(
                f"--weights {args.weights} has shape {flip(V.shape)} but INPUT {args.input} "
                f"has shape {flip(X.shape)}: {fix} (--transpose transposes both files).")
        weights: Any = V
        n_zero = int(V.shape[0] * V.shape[1] - V.nnz) if sp.issparse(V) else int(
            np.count_nonzero(np.asarray(V) == 0))
        summary["n_missing"] = n_zero
        lines.append(f"weights from {args.weights}: {n_zero} entr"
                     f"{'y' if n_zero == 1 else 'ies'} of weight 0 (missing)")
    else:
        weights = nan_weights(X) if not sp.issparse(X) else None
        n_missing = 0 if weights is None else int(X.size - np.count_nonzero(weights))
        summary["n_missing"] = n_missing
        if n_missing:
            lines.append(f"X has {n_missing} missing entr{'y' if n_missing == 1 else 'ies'} "
                         f"(NaN) of {X.size} ({100 * n_missing / X.size:.1f}%): fitted on "
                         f"the observed ones only")
    if not auto:
        return weights, args.components, summary, lines
    cap = min(X.shape)
    cands = [k for k in (args.candidates or range(1, 11)) if k <= cap]
    if not cands:
        raise InvalidParameterError(f"--candidates: every rank exceeds min(features, samples) "
                                    f"= {cap}")
    beta = args.beta
    try:
        beta = float(beta)
    except ValueError:
        pass
    rank = choose_rank(X, cands, holdout=args.holdout, beta=beta, weights=weights,
                       seed=args.seed, solver="hals" if args.solver == "hals" else "auto")
    summary["rank_selection"] = {
        "candidates": [int(k) for k in rank.candidates],
        "heldout_mean": [float(v) for v in rank.heldout_mean],
        "heldout_std": [float(v) for v in rank.heldout_std],
        "chosen": rank.n_components, "holdout": args.holdout, "folds": rank.n_folds}
    table = ", ".join(f"{k}: {m:.4g}±{s:.2g}" for k, m, s in zip(
        rank.candidates, rank.heldout_mean, rank.heldout_std, strict=True))
    lines.append(f"--components auto: held-out divergence per entry by rank ({rank.n_folds} "
                 f"folds of {100 * args.holdout:g}% of the observed entries) {table}; chose "
                 f"{rank.n_components}")
    if args.plot:
        summary["plot"] = _plot(rank, args.plot, beta, lines)
    return weights, rank.n_components, summary, lines


def _plot(rank: Any, path: str, beta: Any, lines: list[str]) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matfit nmf: warning: matplotlib is not installed: no --plot", file=sys.stderr)
        return None
    from .._io import atomic_write

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.errorbar(rank.candidates, rank.heldout_mean, yerr=rank.heldout_std, marker="o",
                capsize=3)
    ax.axvline(rank.n_components, color="0.6", ls="--", label=f"chosen k={rank.n_components}")
    ax.set_xlabel("rank k (components)")
    ax.set_ylabel(f"held-out beta={rank.beta:g} divergence / entry")
    ax.set_title("NMF rank from held-out entries")
    ax.legend()
    fig.tight_layout()
    fmt = Path(path).suffix.lstrip(".").lower()
    try:
        final = atomic_write(path, lambda fh: fig.savefig(fh, dpi=120, format=fmt), what="--plot")
    finally:
        plt.close(fig)
    lines.append(f"plot: {final}")
    return str(final)
