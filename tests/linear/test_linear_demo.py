"""The `matfit demo linear` part: the plain loop diverges, matfit's GD lands on least squares."""

from __future__ import annotations

from matfit.demo import _linear


def test_demo_linear_part(tmp_path):
    res = _linear.run(plot_dir=tmp_path)
    assert res["plain_gd_overflow_iteration"] is not None  # step 0.01 explodes
    assert res["coef_max_abs_error"] < 1e-6
    assert "plain GD" in res["headline"]
    assert (tmp_path / "linear_polynomial_gd.png").exists()
