"""The hypothesis profile: derandomised whenever ``CI`` is set, so a CI failure reproduces locally.

Each check runs tests/conftest.py in a fresh interpreter with a chosen environment, so it holds
whatever environment this test session itself runs in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

CONFTEST = Path(__file__).with_name("conftest.py")

PROBE = f"""
import importlib.util, json
spec = importlib.util.spec_from_file_location("conftest_probe", {str(CONFTEST)!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
from hypothesis import given, settings, strategies as st
drawn = []

@given(st.floats(-1e6, 1e6), st.integers(0, 2**40))
def probe(x, n):
    drawn.append([x, n])

probe()
s = settings()
print(json.dumps({{"profile": settings._current_profile, "derandomize": s.derandomize,
                  "database": repr(s.database), "max_examples": s.max_examples,
                  "deadline": repr(s.deadline), "drawn": drawn}}))
"""


def run_probe(ci: str | None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("HYPOTHESIS")}
    env.update(extra)
    if ci is not None:
        env["CI"] = ci
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("ci", ["1", "true", ""])
def test_ci_set_loads_the_derandomised_profile_and_repeats_its_draws(ci):
    first, second = run_probe(ci), run_probe(ci)
    assert first["profile"] == "ci" and first["derandomize"] is True
    assert first["database"] == "None" and first["deadline"] == "None"
    assert first["max_examples"] == 60 and len(first["drawn"]) == 60
    assert second["drawn"] == first["drawn"]     # the same examples in a new process


@pytest.mark.parametrize("extra", [{}, {"GITHUB_ACTIONS": "true"}])
def test_without_ci_the_dev_profile_draws_at_random(extra):
    # GITHUB_ACTIONS alone makes Hypothesis load its own "ci" profile on import: the project's
    # "dev" profile must not inherit derandomize from it
    got = run_probe(None, **extra)
    assert got["profile"] == "dev" and got["derandomize"] is False
    assert got["max_examples"] == 60 and got["deadline"] == "None"


def test_this_session_uses_the_profile_its_environment_asks_for():
    want = "ci" if "CI" in os.environ else "dev"
    assert settings._current_profile == want
    assert settings().derandomize is (want == "ci")
