"""Every docstring example in the package runs and prints what it shows.

The same runner checks the installed wheel in CI (tools/check_wheel.sh); running it here too
means a broken example fails the normal suite, not only the release check after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_docstring_example_passes():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "run_doctests.py")],
                          capture_output=True, text=True, timeout=600, env=env)
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["examples"] > 100, summary
    assert summary["failed"] == 0, proc.stdout[-4000:]
    assert proc.returncode == 0
