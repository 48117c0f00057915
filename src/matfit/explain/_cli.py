"""``matfit explain [--json] SCRIPT.py [ARGS...]``: run a script and explain its shape error.

The script runs as ``__main__`` with ``sys.argv = [SCRIPT.py, *ARGS]`` and its directory first
on ``sys.path``, as ``python SCRIPT.py ARGS`` would run it. When it raises a NumPy shape error,
the explanation and then the script's own traceback go to stderr and the command exits 1 (a
``SystemExit`` keeps its status). Options for matfit come before the script; everything after
it belongs to the script.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain", parents=parents,
        help="run a Python script and explain the NumPy shape error it raises",
        description="Run SCRIPT.py as __main__ with ARGS. If it raises a NumPy shape error, "
        "print which expressions the sizes belong to, which dimensions disagree, and fixes "
        "checked to work; then the traceback. Exits with the script's status (1 on an error). "
        "matfit's options (--json, --quiet, --debug) go before SCRIPT.py.")
    p.add_argument("script", metavar="SCRIPT.py", help="the script to run")
    p.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="arguments passed to the script")
    p.set_defaults(run=run)


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1  # sys.exit("message") prints the message and exits 1


def run(args: argparse.Namespace) -> dict:
    import os
    import runpy
    import sys
    import traceback

    from . import report

    script = os.path.abspath(args.script)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"no such script: {args.script!r}")
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [args.script, *args.script_args]
    sys.path.insert(0, os.path.dirname(script))
    summary: dict[str, Any] = {"script": args.script}
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        status = _exit_status(exc.code)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
        summary.update(exit_code=status, explained=False)
        return summary
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the script's own failure: explain, show, pass it on
        sys.stdout.flush()
        explanation = report(exc, exc.__traceback__) if isinstance(exc, ValueError) else None
        tb = exc.__traceback__
        # drop matfit's and runpy's frames above the script, as `python SCRIPT.py` shows it
        while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != script:
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__, file=sys.stderr)
        summary.update(exit_code=1, explained=explanation is not None,
                       error=f"{type(exc).__name__}: {exc}")
        if explanation is not None:
            summary.update(explanation.to_dict())
        return summary
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        sys.stdout.flush()
    summary.update(exit_code=0, explained=False)
    return summary
