"""A fork server for CLI tests: each case runs ``matfit.cli.main`` in its own forked process.

Started once (a fresh interpreter, warnings at Python's defaults, one BLAS thread so forking is
safe), it imports matfit's command modules and warms their compiled kernels, then reads one JSON
request per line on stdin: ``{"cwd": DIR, "argv": [...], "stdout": FILE, "stderr": FILE}``.
For each it forks; the child changes to ``cwd``, sends fd 1 and 2 to the files and exits with
``main(argv)``'s status (an escaped exception prints its traceback, as ``python -m`` would, and
exits 1). The parent answers ``{"rc": N}``. A real subprocess per case, at a few ms each
instead of a second of imports.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def _warm() -> None:
    import matfit.cli
    import matfit.demo._cli
    import matfit.factorize._cli
    import matfit.recommend._cli
    import matfit.separate._cli  # noqa: F401
    from matfit.separate import _audio  # noqa: F401

    try:  # compile numba kernels once, here, not in every child
        import numpy as np

        from matfit.recommend.model import MatrixFactorization

        rng = np.random.default_rng(0)
        users, items = rng.integers(0, 5, 40), rng.integers(0, 5, 40)
        for solver in ("sgd", "als"):
            MatrixFactorization(2, solver=solver, epochs=1, seed=0).fit(
                (users, items, rng.integers(1, 6, 40).astype(float)))
    except Exception:  # warming is an optimisation only
        pass


def _child(req: dict) -> int:
    out = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    os.chdir(req["cwd"])
    os.umask(req.get("umask", 0o022))
    from matfit.cli import main

    try:
        code = main(req["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def serve() -> None:
    _warm()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(req)
            except BaseException:
                traceback.print_exc()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        print(json.dumps({"rc": rc}), flush=True)


if __name__ == "__main__":
    serve()
