"""Run every script in examples/ as a user would, and check what it asserted and printed.

Each example checks its own answer with ``assert`` statements against a reference (an analytic
solution, SciPy, scikit-learn, ...) and prints a JSON object of its key figures as its last line;
this test runs it in a subprocess and requires exit status 0 and that JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_readme_indexes_every_example() -> None:
    readme = (Path(__file__).resolve().parents[1] / "examples" / "README.md").read_text("utf-8")
    missing = [p.name for p in EXAMPLES if f"({p.name})" not in readme]
    assert not missing, f"examples/README.md does not index: {missing}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_checks_itself(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "MATFIT_EXAMPLE_OUT": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env)
    if proc.returncode == 77:  # the example's documented "cannot run here" status
        pytest.skip(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "skipped")
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{script.name} printed nothing"
    summary = json.loads(lines[-1])
    assert isinstance(summary, dict) and summary, f"{script.name}: last line is not a JSON object"
