"""The ``matfit`` command line.

Subcommands live with their capability (``matfit/<package>/_cli.py``); this module only knows
their names and imports each one when the parser is built, so a capability that is not installed
is simply absent. Each ``_cli`` module defines ``add_parser(subparsers, parents)`` that registers
its parser(s) with ``set_defaults(run=function)``; the function takes the parsed arguments,
prints what a person wants to read, and returns a JSON-serialisable summary dict.

Conventions (STYLE.md rule 14): ``--json`` prints the summary as one JSON object on the last line
of stdout; progress goes to stderr and ``--quiet`` silences it; exit status 0 on success, 1 on a
failure (one line on stderr, a traceback only with ``--debug``), 2 on a usage error (argparse).
A summary may carry ``exit_code`` to end with another status (``matfit explain`` passes on the
script's).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from . import __version__
from ._errors import MatfitError

__all__ = ["build_parser", "main"]

# name -> module that registers it; listed in the order `matfit --help` shows them
_COMMANDS = (
    "matfit.demo._cli",
    "matfit.factorize._cli",
    "matfit.separate._cli",
    "matfit.recommend._cli",
    "matfit.explain._cli",
)


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="print the result as one JSON object on the last line")
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    common.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="matfit",
        description="Fit matrix models (NMF, ratings factorisation, linear models, networks) "
        "with named shape checks and stable numerics.",
    )
    parser.add_argument("--version", action="version", version=f"matfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parents = [_common()]
    for module_name in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name and module_name.startswith(err.name):
                continue  # capability not in this build: leave the command out
            raise
        module.add_parser(sub, parents)
    return parser


def _jsonable(obj: Any) -> Any:
    """Make NumPy scalars/arrays and paths JSON-serialisable."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    if hasattr(obj, "__fspath__"):
        return str(obj)
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr if args.command is None else sys.stdout)
        return 2
    args.verbose = 0 if args.quiet else 1
    start = time.perf_counter()
    try:
        summary = args.run(args) or {}
    except KeyboardInterrupt:
        print(f"matfit {args.command}: interrupted", file=sys.stderr)
        return 130
    except (MatfitError, OSError, ValueError, TypeError) as err:
        if args.debug:
            raise
        print(f"matfit {args.command}: error: {err}", file=sys.stderr)
        if args.json:
            print(json.dumps({"command": args.command, "ok": False, "error": str(err)}))
        return 1
    except Exception as err:  # an internal bug: one line, the traceback with --debug
        if args.debug:
            raise
        print(f"matfit {args.command}: internal error: {type(err).__name__}: {err} "
              f"(run with --debug for the traceback)", file=sys.stderr)
        if args.json:
            print(json.dumps({"command": args.command, "ok": False, "error": str(err)}))
        return 1
    code = int(summary.get("exit_code", 0))
    if args.json:
        out = {"command": args.command, "ok": code == 0,
               "seconds": round(time.perf_counter() - start, 4), **summary}
        sys.stdout.flush()
        print(json.dumps(_jsonable(out), sort_keys=True))
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
