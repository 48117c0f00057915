"""Demo part: a NumPy shape error in "user code", explained by matfit with a checked fix.

The user code is a per-sample quadratic form written as ``x @ T @ x`` with a stacked ``T`` (one
(d, d) matrix per sample): NumPy says only "size 6 is different from 3". matfit names the
operands, the disagreeing dimension, and rewrites that NumPy was shown to accept; the demo then
runs the first fix on the real arrays and compares it with a plain loop.
"""

from __future__ import annotations

import linecache

import numpy as np

from ..explain import explain_exception

_FILENAME = "<matfit demo: energies.py>"
_CODE = '''\
def energies(x, T):
    """One energy per sample: x is (samples, d), T is (samples, d, d)."""
    return x @ T @ x
'''


def run(*, plot_dir=None, verbose=0) -> dict:
    # register the snippet as a source file, so the explainer reads it as it reads user code
    linecache.cache[_FILENAME] = (len(_CODE), None, _CODE.splitlines(keepends=True), _FILENAME)
    namespace: dict = {}
    exec(compile(_CODE, _FILENAME, "exec"), namespace)
    rng = np.random.default_rng(0)
    x, T = rng.normal(size=(6, 3)), rng.normal(size=(6, 3, 3))
    try:
        namespace["energies"](x, T)
    except ValueError as err:
        numpy_msg = str(err)
        explanation = explain_exception(err)
    if explanation is None:  # pragma: no cover - would be a bug in matfit.explain
        raise RuntimeError("matfit.explain could not explain the demo's shape error")
    fix = next(s for s in explanation.suggestions if s.expression)
    value = eval(fix.expression, {"np": np, "x": x, "T": T})  # the checked fix, on real data
    reference = np.array([x[i] @ T[i] @ x[i] for i in range(len(x))])
    max_err = float(np.max(np.abs(value - reference)))
    operands = ", ".join(f"{o.expression} {o.shape}" for o in explanation.operands)
    return {
        "headline": f"`{explanation.expression}`: operands {operands}; fix `{fix.expression}` "
                    f"matches a loop to {max_err:.1e}",
        "lines": [f"NumPy : {numpy_msg}", *explanation.format().splitlines()],
        "operation": explanation.operation,
        "operands": [o.to_dict() for o in explanation.operands],
        "fix": fix.expression,
        "fix_max_abs_error": max_err,
    }
