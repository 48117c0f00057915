"""The ratings part of `matfit demo` and the sparse-factorisation example's claims."""

from __future__ import annotations

import pytest

from matfit.demo import PARTS, run_part


def test_ratings_demo_part_beats_its_baselines(tmp_path):
    part = next(p for p in PARTS if p.name == "ratings")
    res = run_part(part, plot_dir=tmp_path)
    assert res["rmse_true_model"] < res["rmse"] < 0.8 * res["rmse_biases_only"]
    assert res["rmse_biases_only"] < res["rmse_global_mean"]
    assert "RMSE" in res["headline"] and res["seconds"] < 30
    pytest.importorskip("matplotlib")
    assert (tmp_path / "ratings_rmse.png").stat().st_size > 1000
