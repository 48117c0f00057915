"""Run the docstring examples of every module of the *installed* matfit package.

    python tools/run_doctests.py [--require-prefix DIR]

Walks ``matfit`` and all its submodules (private ones included: most examples live beside the
code, in modules such as ``matfit.factorize._nmf``), runs ``doctest`` on each with ELLIPSIS and
NORMALIZE_WHITESPACE, and prints one JSON object as its last line. Exit status 1 when an example
fails, when no example ran, or when ``matfit`` was imported from outside ``--require-prefix``
(so a check of an installed wheel cannot silently test a source checkout instead).

A module that cannot be imported because an *optional* dependency is missing (``pyspark``,
``dask``, ``matplotlib``, ...) is reported as skipped, with the missing name; any other import
error is a failure.
"""

from __future__ import annotations

import argparse
import doctest
import importlib
import json
import os
import pkgutil
import sys
import warnings

OPTIONAL = {"pyspark", "dask", "distributed", "zarr", "matplotlib", "soundfile", "numba",
            "threadpoolctl", "sklearn", "torch", "IPython", "pandas", "mir_eval"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require-prefix", default=None,
                        help="fail unless matfit is imported from under this directory")
    args = parser.parse_args(argv)
    warnings.simplefilter("error")  # as the test suite: a warning in an example is a failure
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="dateutil")

    import matfit

    where = os.path.dirname(os.path.abspath(matfit.__file__))
    if args.require_prefix and not where.startswith(os.path.abspath(args.require_prefix)):
        print(f"matfit was imported from {where}, not from under {args.require_prefix}")
        return 1

    names = ["matfit"] + [m.name for m in pkgutil.walk_packages(matfit.__path__, "matfit.")]
    attempted = failed = 0
    skipped: dict[str, str] = {}
    failures: list[str] = []
    finder = doctest.DocTestFinder(exclude_empty=True)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            missing = (getattr(err, "name", None) or "").split(".")[0]
            if missing in OPTIONAL:
                skipped[name] = f"needs {missing}"
                continue
            failures.append(f"{name}: import failed: {err}")
            continue
        runner = doctest.DocTestRunner(optionflags=flags)
        # the finder keeps only objects defined in this module, so re-exports run once
        for test in finder.find(module, name, module=module):
            result = runner.run(test)
            attempted += result.attempted
            if result.failed:
                failed += result.failed
                failures.append(test.name)
    summary = {"modules": len(names), "examples": attempted, "failed": failed,
               "skipped_modules": skipped, "failures": failures, "matfit": where}
    print(json.dumps(summary, sort_keys=True))
    return 1 if failures or attempted == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
