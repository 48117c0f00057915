"""``matfit demo [NAME ...] [--list] [--plot DIR]``."""

from __future__ import annotations

import argparse
from typing import Any


def _part(text: str) -> str:
    from .._io import plain_name

    try:  # a part's name is part of its figures' file names
        return plain_name(text, "demo part")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", parents=parents, help="a short tour of matfit on embedded data",
                       description="Run a short tour of matfit on data embedded in the package.")
    p.add_argument("parts", nargs="*", metavar="NAME", type=_part,
                   help="run only these parts (see --list)")
    p.add_argument("--list", action="store_true", help="name the parts and exit")
    p.add_argument("--plot", metavar="DIR",
                   help="save the figures (needs matplotlib) in DIR (created if missing; "
                   "existing figures of the same name are replaced)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> dict:
    from . import PARTS, available_parts

    parts = available_parts()
    if args.list:
        for part in parts:
            print(f"{part.name:<11} {part.description}")
        return {"parts": [p.name for p in parts]}
    if args.parts:
        known = {p.name: p for p in PARTS}
        unknown = [n for n in args.parts if n not in known]
        if unknown:
            raise ValueError(f"unknown demo part(s) {unknown}; choose from {list(known)}")
        missing = [n for n in args.parts if known[n] not in parts]
        if missing:
            raise ValueError(f"demo part(s) {missing} are not available in this build")
        parts = [known[n] for n in args.parts]
    from .._io import Outputs

    outputs = Outputs()
    if args.plot:
        outputs.folder("--plot", args.plot)
    results = {}
    with outputs:
        for part in parts:
            results[part.name] = _run_one(part, args)
    return _summary(results)


def _run_one(part: Any, args: argparse.Namespace) -> dict:
    from . import run_part

    print(f"== {part.name}: {part.description}", flush=True)
    res = run_part(part, plot_dir=args.plot, verbose=args.verbose)
    for line in res.get("lines", []):
        print(f"   {line}")
    print(f"   -> {res['headline']}  ({res['seconds']:.2f} s)", flush=True)
    return res


def _summary(results: dict) -> dict:
    print()
    print(f"{'part':<11} {'seconds':>8}  result")
    print(f"{'-' * 11} {'-' * 8}  {'-' * 50}")
    for name, res in results.items():
        print(f"{name:<11} {res['seconds']:>8.2f}  {res['headline']}")
    total = sum(r["seconds"] for r in results.values())
    print(f"{'total':<11} {total:>8.2f}")
    return {"parts": {n: {k: v for k, v in r.items() if k != "lines"} for n, r in results.items()},
            "total_seconds": round(total, 3)}
