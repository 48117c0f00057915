"""The ``matfit`` command line.

Subcommands live with their capability (``matfit/<package>/_cli.py``). This module knows only
their names and one-line help, and imports the one module that the command line names, so
``matfit --help`` imports no subpackage at all (it stays well under 0.3 s). Each ``_cli`` module
defines ``add_parser(subparsers, parents)`` that registers its parser(s) with
``set_defaults(run=function)``; the function takes the parsed arguments, prints what a person
wants to read, and returns a JSON-serialisable summary dict.

Conventions (STYLE.md rule 14): ``--json`` prints the summary as one JSON object on the last line
of stdout; progress bars go to stderr, only when it is a terminal (``--progress`` forces them,
``--quiet`` silences them). Exit status 0 on success; 1 on a failure; 2 on a usage error (a bad
option, or a path that cannot or must not be written, found before any work); 130 when
interrupted. Every failure is one line on stderr (a traceback only with ``--debug``): Python
warnings raised during the work become one-line notes on success and are dropped when the error
they announce follows, a missing optional dependency names the ``pip install`` line. A summary
may carry ``exit_code`` to end with another status (``matfit explain`` passes on the script's).
"""

from __future__ import annotations

# Only the standard library's lightest modules are imported at start-up: everything else is
# imported inside main(), where a Ctrl-C is caught and reported in one line.
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "main"]

# command -> (module that registers it, the one-line help `matfit --help` shows); in this order
_COMMANDS = {
    "demo": ("matfit.demo._cli", "a short tour of matfit on embedded data"),
    "nmf": ("matfit.factorize._cli", "non-negative matrix factorisation of a matrix file"),
    "separate": ("matfit.separate._cli",
                 "separate a single-channel recording into sources by supervised/semi-"
                 "supervised NMF"),
    "recommend": ("matfit.recommend._cli",
                  "sparse matrix factorisation of ratings (train, evaluate, top)"),
    "explain": ("matfit.explain._cli",
                "run a Python script and explain the NumPy shape error it raises"),
}
# commands that run the user's own code: their warnings are the user's, left as Python shows them
_OWN_WARNINGS = {"explain"}
# top-level module of an optional dependency -> the extra that installs it
_EXTRAS = {"distributed": "dask", "dask": "dask", "pyspark": "spark", "matplotlib": "plot",
           "soundfile": "audio", "numba": "fast", "threadpoolctl": "fast", "torch": "torch"}

_EPILOG = """\
files: every output is written to a temporary file beside it and renamed into place, with the
permissions a plain write would give; all outputs are checked before any work starts. An
existing output file is replaced (as cp does), but never one of the command's inputs.
exit status: 0 ok, 1 failure (one line on stderr), 2 usage error, 130 interrupted."""

_parser_class: Any = None


def _parser_type() -> Any:
    """An ArgumentParser whose usage errors are one line (``prog: error: ...``), exit 2."""
    global _parser_class
    if _parser_class is None:
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message: str) -> Any:
                self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

        _parser_class = Parser
    return _parser_class


def _common() -> Any:
    common = _parser_type()(add_help=False)
    common.add_argument("--json", action="store_true",
                        help="print the result as one JSON object on the last line")
    common.add_argument("--quiet", "-q", action="store_true",
                        help="no progress bars and no notes on stderr")
    common.add_argument("--progress", action="store_true",
                        help="show progress bars even when stderr is not a terminal")
    common.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    return common


def _available(module_name: str) -> bool:
    """Whether the command's package is in this build (found without importing it)."""
    import importlib.util

    package = module_name.rpartition(".")[0]
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _command_in(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: Sequence[str] | None = None) -> Any:
    """The top-level parser.

    With ``argv``, only the subcommand it names is imported and registered in full; the others
    are listed by name and help only. Without, every available subcommand is registered.
    """
    import argparse
    import importlib

    from . import __version__

    parser = _parser_type()(
        prog="matfit",
        description="Fit matrix models (NMF, ratings factorisation, linear models, networks)\n"
        "with named shape checks and stable numerics.", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"matfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None if argv is None else _command_in(argv)
    parents = [_common()]
    for name, (module_name, help_text) in _COMMANDS.items():
        if not _available(module_name):
            continue  # capability not in this build: leave the command out
        if argv is None or name == wanted:
            importlib.import_module(module_name).add_parser(sub, parents)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _jsonable(obj: Any) -> Any:
    """Make NumPy scalars/arrays and paths JSON-serialisable."""
    np = sys.modules.get("numpy")
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if np is not None and isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if np is not None and isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    if hasattr(obj, "__fspath__"):
        return str(obj)
    return obj


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) if str(err).strip() else type(err).__name__
    return text


def _missing_extra(err: ImportError) -> str | None:
    """The one-line message for a missing optional dependency, or None for anything else."""
    if "pip install" in str(err):  # matfit's own message for it already names the fix
        return _one_line(err)
    root = (err.name or "").partition(".")[0]
    if not root or root == "matfit":
        return None
    extra = _EXTRAS.get(root)
    fix = f"pip install 'matfit[{extra}]'" if extra else f"pip install {root}"
    return f"this needs the optional dependency {root!r}, which is not installed: {fix}"


def _notes(command: str, caught: list) -> None:
    """Each distinct warning once, as one line."""
    counts: dict[tuple[str, str], int] = {}
    for w in caught:
        key = (w.category.__name__, " ".join(str(w.message).split()))
        counts[key] = counts.get(key, 0) + 1
    for (category, message), n in counts.items():
        label = "warning" if category in ("ConvergenceWarning", "UserWarning") else "note"
        times = f" ({n} times)" if n > 1 else ""
        print(f"matfit {command}: {label}: {message} [{category}]{times}", file=sys.stderr)


def _run(args: Any) -> Any:
    """``args.run(args)`` with warnings recorded (unless the command runs the user's code)."""
    import warnings

    from . import _progress

    with _progress.terminal_only(force=getattr(args, "progress", False)):
        if args.command in _OWN_WARNINGS:
            return args.run(args) or {}, []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            summary = args.run(args) or {}
        return summary, caught


def _fail(args: Any, message: str, code: int) -> int:
    import json

    print(f"matfit {args.command}: error: {message}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"command": args.command, "ok": False, "error": message}))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (`matfit ... | head`): stop quietly, as cat does
        import os

        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except KeyboardInterrupt:
        name = _command_in(argv)
        where = f"matfit {name}" if name in _COMMANDS else "matfit"
        print(f"{where}: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str]) -> int:
    import json
    import time

    from ._errors import MatfitError

    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr if args.command is None else sys.stdout)
        return 2
    args.verbose = 0 if args.quiet else 1
    start = time.perf_counter()
    try:
        summary, caught = _run(args)
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except ImportError as err:
        message = _missing_extra(err)
        if args.debug:
            raise
        if message is None:  # one of matfit's own modules: a broken installation
            return _fail(args, f"internal error: {type(err).__name__}: {_one_line(err)} "
                         f"(run with --debug for the traceback)", 1)
        return _fail(args, message, 1)
    except (MatfitError, OSError, ValueError, TypeError, MemoryError) as err:
        if args.debug:
            raise
        if isinstance(err, MemoryError):
            return _fail(args, "out of memory: try a smaller problem or float32", 1)
        return _fail(args, _one_line(err), int(getattr(err, "exit_code", 1)))
    except Exception as err:  # an internal bug: one line, the traceback with --debug
        if args.debug:
            raise
        return _fail(args, f"internal error: {type(err).__name__}: {_one_line(err)} "
                     f"(run with --debug for the traceback)", 1)
    _notes(args.command, caught)
    code = int(summary.get("exit_code", 0))
    if args.json:
        out = {"command": args.command, "ok": code == 0,
               "seconds": round(time.perf_counter() - start, 4), **summary}
        sys.stdout.flush()
        print(json.dumps(_jsonable(out), sort_keys=True))
    sys.stdout.flush()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
