"""``matfit demo separation``: a generated mixture, separated in a few seconds."""

from __future__ import annotations

import json

from matfit.cli import main
from matfit.demo import PARTS, run_part


def test_demo_part_separates_the_generated_mixture(tmp_path):
    part = next(p for p in PARTS if p.name == "separation")
    res = run_part(part, plot_dir=tmp_path)
    assert res["si_sdr_improvement"] > 9, res            # about +12.6 dB
    assert res["si_sdr_improvement_semi_supervised"] > 7, res   # about +11.3 dB
    assert "dB" in res["headline"] and res["seconds"] < 30
    assert (tmp_path / "separation.png").stat().st_size > 10_000


def test_demo_separation_from_the_command_line(capsys):
    assert main(["demo", "separation", "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["parts"]["separation"]["si_sdr_improvement"] > 9
