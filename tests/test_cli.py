import json
import subprocess
import sys

import pytest

from matfit import __version__
from matfit.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_unknown_option_exits_2():
    with pytest.raises(SystemExit) as info:
        main(["demo", "--no-such-flag"])
    assert info.value.code == 2


def test_demo_json_is_last_line(capsys):
    assert main(["demo", "numerics", "shapes", "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["ok"] is True
    assert set(summary["parts"]) == {"numerics", "shapes"}
    # z = (-1e4, -30, 0, 30, 1e4): the naive -log(sigmoid) is inf at -1e4 only (1); the naive
    # log(exp(z) / sum exp(z)) divides by inf: -inf four times and inf / inf = NaN once (5)
    assert summary["parts"]["numerics"]["naive_nonfinite"] == 6


def test_demo_list(capsys):
    assert main(["demo", "--list"]) == 0
    assert "shapes" in capsys.readouterr().out


def test_failure_is_one_line_and_exit_1(capsys):
    assert main(["demo", "no-such-part"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown demo part" in err[0]


def test_console_script_runs_demo():
    out = subprocess.run([sys.executable, "-m", "matfit.cli", "demo", "--json", "-q"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["ok"] is True
