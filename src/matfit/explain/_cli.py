"""``matfit explain [--json] [--no-trace] SCRIPT.py [ARGS...]``: run a script, explain its error.

The script runs as ``__main__`` with ``sys.argv = [SCRIPT.py, *ARGS]`` and its directory first
on ``sys.path``, as ``python SCRIPT.py ARGS`` would run it. While it runs, a shape history of the
user's own frames is recorded (``_trace``; ``--no-trace`` turns it off), so that the explanation
can say where each operand got its shape. When it raises a NumPy shape error, the explanation
and then the script's own traceback go to stderr and the command exits 1 (a ``SystemExit`` keeps
its status). A script that cannot be run (missing, a syntax error, not Python) is reported as
``python SCRIPT.py`` reports it, with no frame of matfit's. Options for matfit come before the
script; everything after it belongs to the script.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "explain", parents=parents,
        help="run a Python script and explain the NumPy shape error it raises",
        description="Run SCRIPT.py as __main__ with ARGS. If it raises a NumPy shape error, "
        "print which expressions the sizes belong to, where each operand got its shape (the "
        "likely root-cause line), which dimensions disagree, and fixes checked to give the "
        "shape the code needs; then the traceback. Exits with the script's status (1 on an "
        "error). matfit's options (--json, --quiet, --debug, --no-trace) go before SCRIPT.py.")
    p.add_argument("--no-trace", action="store_true",
                   help="do not record the shape history while the script runs (faster; the "
                   "explanation then finds where shapes came from by reading the code only)")
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


def _compile_like_python(path: str) -> tuple[Any, str | None]:
    """(code object, None), or (None, the text ``python SCRIPT.py`` would print)."""
    import io
    import re
    import tokenize
    import traceback

    with open(path, "rb") as f:
        data = f.read()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        if "invalid or missing encoding" not in str(err):
            return None, f"SyntaxError: {err}\n"
        encoding = "utf-8"  # a first line that is not UTF-8: reported below as python does
    try:
        data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        byte = data[err.start: err.start + 1]
        return None, (f"SyntaxError: Non-UTF-8 code starting with '\\x{byte[0]:02x}' in file "
                      f"{path} on line {line}, but no encoding declared; see "
                      f"https://peps.python.org/pep-0263/ for details\n")
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        text = data.decode(encoding, errors="replace").splitlines()[line - 1].replace("\0", "")
        return None, (f'  File "{path}", line {line}\n    {text.strip()}\n'
                      f"SyntaxError: source code cannot contain null bytes\n")
    try:
        return compile(data, path, "exec", dont_inherit=True), None
    except (SyntaxError, ValueError) as err:
        text = "".join(traceback.format_exception(type(err), err, None))
        return None, re.sub(r"^Traceback \(most recent call last\):\n", "", text)


def _run_code(code: Any, script: str) -> None:
    """Run ``code`` as ``__main__``, as ``python SCRIPT.py`` does (not through runpy)."""
    import builtins
    import sys
    import types

    main = types.ModuleType("__main__")
    main.__dict__.update(__file__=script, __builtins__=builtins, __loader__=None,
                         __spec__=None, __package__=None, __cached__=None)
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def run(args: argparse.Namespace) -> dict:
    import os
    import runpy
    import sys
    import traceback
    import zipfile

    from . import report
    from ._trace import ShapeTracer

    script = os.path.abspath(args.script)
    summary: dict[str, Any] = {"script": args.script}
    if not os.path.exists(script):
        print(f"matfit explain: can't open file {script!r}: [Errno 2] No such file or "
              f"directory", file=sys.stderr)
        summary.update(exit_code=2, explained=False, error="no such file")
        return summary
    package = os.path.isdir(script) or zipfile.is_zipfile(script)
    code = None
    if not package:
        code, problem = _compile_like_python(script)
        if code is None:
            sys.stderr.write(problem or "")
            summary.update(exit_code=1, explained=False,
                           error=(problem or "").strip().splitlines()[-1])
            return summary
    saved_argv, saved_path = sys.argv, sys.path[:]
    sys.argv = [args.script, *args.script_args]
    sys.path.insert(0, script if package else os.path.dirname(script))
    tracer = None if getattr(args, "no_trace", False) or package else ShapeTracer()
    try:
        if package:
            runpy.run_path(script, run_name="__main__")
        elif tracer is not None:
            with tracer:
                _run_code(code, script)
        else:
            _run_code(code, script)
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
        tb = exc.__traceback__
        if package and isinstance(exc, ImportError) and "__main__" in str(exc):
            print(f"matfit explain: {exc}", file=sys.stderr)
            summary.update(exit_code=1, explained=False, error=str(exc))
            return summary
        explanation = report(exc, tb, tracer=tracer)
        # drop matfit's frames above the script, as `python SCRIPT.py` shows it
        here = os.path.abspath(__file__)
        while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) in (
                here, os.path.abspath(runpy.__file__)):
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb, file=sys.stderr)
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
