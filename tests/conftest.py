"""Shared test fixtures: the derandomised hypothesis profile and the ../shared/data finder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# With CI set to anything (CI services set it; .ci/run exports it), every run draws the same
# examples, so a failure in CI reproduces locally with ``CI=1`` and the same pytest command;
# derandomize implies no example database, and print_blob adds the @reproduce_failure blob.
# Both profiles derive from Hypothesis' "default", not from whatever profile Hypothesis loaded
# on import (it loads its own "ci" when it spots a CI service's variable, e.g. GITHUB_ACTIONS).
_BASE = settings.get_profile("default")
settings.register_profile(
    "ci", parent=_BASE, derandomize=True, deadline=None, max_examples=60, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", parent=_BASE, deadline=None, max_examples=60)
PROFILE = "ci" if "CI" in os.environ else "dev"
settings.load_profile(PROFILE)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; skip the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA}: real-data test skipped")
    return SHARED_DATA
