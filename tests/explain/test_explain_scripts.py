"""`matfit explain` on small scripts that reproduce common NumPy shape mistakes.

Each script in ``scripts/`` fails with NumPy's own ValueError. The explanation must name every
operand with its real shape, say which dimension disagrees, and offer at least one fix; every
fix that is an expression is then evaluated in the script's own frame and must give the shape
the explanation promised (the fixes are checked by matfit; here they are checked again on the
real arrays).
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matfit.cli import main
from matfit.explain import explain_exception
from matfit.explain._source import user_traceback

SCRIPTS = Path(__file__).resolve().parent / "scripts"

# matrix_operands.py builds np.matrix on purpose (a mistake people make); NumPy warns about it
pytestmark = pytest.mark.filterwarnings(
    "ignore:the matrix subclass is not the recommended:PendingDeprecationWarning")

# script -> (operation, [(operand text, shape)], text that a suggestion must contain)
EXPECTED = {
    "matmul_core": ("matmul", [("W", (513, 60)), ("H", (131, 129))], "`H` must have 60 rows"),
    "broadcast_rows": ("broadcast", [("a", (3, 3)), ("b", (1, 4))], "`b` must have 3 columns"),
    "dot_misaligned": ("dot", [("xbp", (20, 3)), ("theta", (4, 1))],
                       "`theta` must have 3 rows"),
    "batched_quadratic": ("matmul", [("x @ T", (6, 6, 3)), ("x", (6, 3))],
                          'np.einsum("ni,nij,nj->n", x, T, x)'),
    "matrix_operands": ("matrix product", [("A", (2, 3)), ("B", (2, 3))], "np.multiply(A, B)"),
    "concatenate_mismatch": ("concatenate", [("numeric", (100, 5)), ("one_hot", (100, 3))],
                             "np.concatenate([numeric, one_hot], axis=1)"),
    "reshape_wrong_size": ("reshape", [("data", (24,))], "`data` must have 20 elements"),
}


def _run_and_catch(script: Path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(script)])
    try:
        runpy.run_path(str(script), run_name="__main__")
    except ValueError as exc:
        return exc
    raise AssertionError(f"{script.name} did not raise")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_json_names_operands_shapes_and_a_fix(name, capsys):
    operation, operands, fix = EXPECTED[name]
    code = main(["explain", "--json", str(SCRIPTS / f"{name}.py")])
    out, err = capsys.readouterr()
    assert code == 1
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is False and summary["explained"] is True
    assert summary["operation"] == operation
    got = [(o["expression"], tuple(o["shape"])) for o in summary["operands"]]
    assert got == operands
    assert all(o["dtype"] == "float64" for o in summary["operands"])
    assert summary["conflict"]["description"]
    said = [s["text"] for s in summary["suggestions"]] + summary["needed"]
    assert any(fix in t for t in said), said
    # the text report on stderr shows both operands with their shapes, then the traceback
    for text, shape in operands:
        assert f"{text}  " in err or f"{text} " in err
        assert "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")" in err
    assert "Traceback (most recent call last)" in err
    assert err.index("matfit explain:") < err.index("Traceback")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_rewrite_fix_works_on_the_real_arrays(name, monkeypatch):
    exc = _run_and_catch(SCRIPTS / f"{name}.py", monkeypatch)
    explanation = explain_exception(exc)
    assert explanation is not None
    frame = user_traceback(exc.__traceback__).tb_frame
    namespace = {**frame.f_globals, **frame.f_locals}
    rewrites = [s for s in explanation.suggestions if s.expression is not None and s.line is None]
    for s in rewrites:
        value = eval(s.expression, namespace)  # the user's arrays, the suggested expression
        assert np.shape(value) == s.result_shape, s.text
    # requirements ("`H` must have 60 rows") are checked too: NumPy accepts the new shape
    for s in explanation.suggestions:
        assert s.result_shape is not None


def test_dimension_conflict_names_the_core_dimension(monkeypatch):
    exc = _run_and_catch(SCRIPTS / "matmul_core.py", monkeypatch)
    e = explain_exception(exc)
    assert e.dimensions == [{"operand": "W", "axis": 1, "size": 60},
                            {"operand": "H", "axis": 0, "size": 131}]
    assert "`W` has 60 columns" in e.conflict and "`H` has 131 rows" in e.conflict
    assert "core dimension" in e.conflict
    assert e.lineno == 9 and e.function == "<module>"
    assert e.marks == ["        ~ ^ ~"]


def test_batched_quadratic_form_fixes_are_per_sample(monkeypatch):
    exc = _run_and_catch(SCRIPTS / "batched_quadratic.py", monkeypatch)
    e = explain_exception(exc)
    assert e.function == "energies"  # the failing frame is the function, not the caller
    first, second = e.suggestions[:2]
    assert first.result_shape == (6,)
    assert second.expression == "x[:, None, :] @ T @ x[:, :, None]"
    frame = user_traceback(exc.__traceback__).tb_frame
    x, T = frame.f_locals["x"], frame.f_locals["T"]
    expected = np.array([x[i] @ T[i] @ x[i] for i in range(len(x))])
    got = eval(first.expression, {"np": np, "x": x, "T": T})
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_script_arguments_reach_the_script(capsys):
    before = list(sys.argv)
    code = main(["explain", "--json", str(SCRIPTS / "dot_misaligned.py"), "7"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 1
    assert summary["operands"][0]["shape"] == [7, 3]
    assert sys.argv == before  # the script saw its own argv; ours is restored afterwards


def test_console_command_exits_nonzero_with_both_operands():
    proc = subprocess.run(
        [sys.executable, "-m", "matfit.cli", "explain", str(SCRIPTS / "matmul_core.py")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "W  shape (513, 60)" in proc.stderr and "H  shape (131, 129)" in proc.stderr
    assert proc.stderr.rstrip().endswith("(size 131 is different from 60)")


def test_script_status_is_passed_on(tmp_path, capsys):
    ok = tmp_path / "ok.py"
    ok.write_text("import numpy as np\nprint(np.ones(3) @ np.ones(3))\n")
    assert main(["explain", str(ok)]) == 0
    assert "3.0" in capsys.readouterr().out
    bye = tmp_path / "bye.py"
    bye.write_text("import sys\nsys.exit(3)\n")
    assert main(["explain", str(bye)]) == 3
    other = tmp_path / "other.py"
    other.write_text("raise KeyError('k')\n")
    assert main(["explain", "--json", str(other)]) == 1
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["explained"] is False and "KeyError" in summary["error"]
    assert "KeyError: 'k'" in err


def test_missing_script_is_reported_as_python_does(capsys):
    assert main(["explain", "no/such/script.py"]) == 2  # python's own status for this
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert re.fullmatch(r"matfit explain: can't open file '.*no/such/script\.py': \[Errno 2\] "
                        r"No such file or directory", err[0]), err


def test_no_trace_still_finds_origins_by_reading_the_code(capsys):
    corpus = SCRIPTS.parent / "corpus"
    code = main(["explain", "--json", "--no-trace", str(corpus / "nmf_num_components.py")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 1
    assert summary["root_cause"]["line"] == 8
    h = next(o for o in summary["origins"] if o["operand"] == "H")
    assert h["size"]["expr"] == "num_components" and h["size"]["value"] == 131
    # the loop history needs the trace: without it there is none
    code = main(["explain", "--json", "--no-trace", str(corpus / "grow_in_loop.py")])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert all(not o["history"] for o in summary["origins"])


def test_a_function_no_longer_traced_line_by_line_is_read_from_the_code(tmp_path, capsys):
    # `feature` runs 300 times with the same shapes (its lines are then no longer traced),
    # and only then assigns a (4,) vector: the report must cite that line, not the old shape
    path = tmp_path / "quiet.py"
    path.write_text("import numpy as np\n\n\ndef feature(x, k):\n    v = np.ones(3) * x\n"
                    "    if k == 300:\n        v = np.ones(4)\n"
                    "    return np.ones((3, 2)).T @ v\n\n\nfor k in range(400):\n"
                    "    feature(1.0, k)\n")
    assert main(["explain", "--json", str(path)]) == 1
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    v = next(o for o in summary["origins"] if o["operand"] == "v")
    assert [s["line"] for s in v["steps"]] == [7]
    assert summary["root_cause"]["line"] == 7


def test_a_failing_recorder_never_breaks_the_script(tmp_path, monkeypatch):
    from matfit.explain import _trace

    def boom(self, frame, stmt):
        raise RuntimeError("recorder bug")

    monkeypatch.setattr(_trace.ShapeTracer, "_check", boom)
    path = tmp_path / "fine.py"
    path.write_text("import numpy as np\nx = np.ones(3)\ny = x + 1\nprint(y.sum())\n")
    tracer = _trace.ShapeTracer()
    ns: dict = {}
    with tracer:
        exec(compile(path.read_text(), str(path), "exec"), ns)
    assert ns["y"].sum() == 6.0 and tracer.broken and sys.gettrace() is None
