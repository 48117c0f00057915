"""The readings of the user's code that root causes and upstream fixes rest on
(:mod:`matfit.explain._evidence`), against hand-written expectations, and the two root-cause
rules they feed, on scripts where the rule must and must not fire."""

from __future__ import annotations

import ast
import contextlib
import io

import pytest

from matfit.explain import explain_exception
from matfit.explain._cli import _run_code
from matfit.explain._evidence import is_product, reduction, used_since
from matfit.explain._trace import ShapeTracer


@pytest.mark.parametrize("text, target, expected", [
    ("m = X.mean(axis=1)", "m", ("X.mean(axis=1)", "X", 1)),
    ("m = X.sum(0)", "m", ("X.sum(0)", "X", 0)),
    ("m = np.mean(X, 1)", "m", ("np.mean(X, 1)", "X", 1)),
    ("m = np.max(data[:, 1:], axis=-1)", "m", ("np.max(data[:, 1:], axis=-1)", "data[:, 1:]", -1)),
    ("m = self.X.std(axis=0)", "m", ("self.X.std(axis=0)", "self.X", 0)),
])
def test_reduction_reads_the_call_the_base_and_the_axis(text, target, expected):
    red = reduction(text, target)
    assert red is not None
    assert (red.call, red.base, red.axis) == expected
    a0, a1 = red.axis_span
    assert text[a0:a1] == str(expected[2])
    assert text[red.close] == ")"


def test_reduction_names_the_variables_it_reads():
    red = reduction("m = np.nanmean(np.where(mask, R, np.nan), axis=1)", "m")
    assert red is not None and red.names == ("mask", "R")
    assert reduction("m = self.X.std(axis=0)", "m").names == ("self",)


@pytest.mark.parametrize("text, target", [
    ("m = X.mean(axis=1, keepdims=True)", "m"),   # keeps the axis: no axis mistake
    ("m = X.mean()", "m"),                        # no axis
    ("m = X.mean(axis=ax)", "m"),                 # an axis the code does not spell
    ("m = X.mean(axis=1)", "other"),              # another target
    ("m = X.reshape(3, 4)", "m"),                 # not a reduction
    ("m, s = X.mean(1), X.std(1)", "m"),          # a tuple target
    ("m = X.mean(axis=1", "m"),                   # not Python
])
def test_reduction_is_none_where_there_is_no_axis_to_blame(text, target):
    assert reduction(text, target) is None


@pytest.mark.parametrize("expr, expected", [
    ("a @ b", True), ("0.1 * a @ b", True), ("np.dot(a, b)", True), ("a.dot(b)", True),
    ("np.matmul(a, b)", True), ("a @ b + c", False), ("0.1 * (a @ b)", False), ("a.T", False),
    ("x.dot", False), ("f(a, b)", False),
])
def test_is_product_looks_at_the_expressions_own_result(expr, expected):
    assert is_product(ast.parse(expr, mode="eval").body) is expected


def test_used_since_finds_the_first_use_in_the_same_scope(tmp_path):
    path = tmp_path / "s.py"
    path.write_text(
        "V = make()\n"            # 1
        "def f(V):\n"             # 2
        "    return V @ V\n"      # 3  another scope
        "print(V)\n"              # 4  not an operator
        "E = R - U @ V.T\n"       # 5  the first use
        "F = V + 1\n"             # 6
        "V += G\n")               # 7  the failing line
    assert used_since(str(path), "V", 1, 7) == (5, "E = R - U @ V.T")
    assert used_since(str(path), "V", 5, 7) == (6, "F = V + 1")
    assert used_since(str(path), "V", 6, 7) is None
    assert used_since(str(path), "W", 1, 7) is None


def _explain(tmp_path, text):
    path = tmp_path / "script.py"
    path.write_text(text)
    tracer = ShapeTracer()
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(ValueError) as info:
        with tracer:
            _run_code(compile(text, str(path), "exec"), str(path))
    return explain_exception(info.value, tracer=tracer)


def test_a_bias_never_used_before_is_still_blamed_at_its_own_line(tmp_path):
    # the product is new on the failing line, but so is every use of b: no evidence that b's
    # shape is right, so the rule of the product computed on this line must not fire
    e = _explain(tmp_path, "import numpy as np\n"
                           "X = np.ones((8, 3)); W = np.ones((3, 4))\n"
                           "b = np.zeros(5)\n"
                           "y = b + X @ W\n")
    assert e.root_cause["line"] == 3 and e.root_cause["reason"] != "expression"


def test_a_reduction_of_another_array_is_not_an_axis_mistake(tmp_path):
    e = _explain(tmp_path, "import numpy as np\n"
                           "A = np.ones((6, 4)); B = np.ones((5, 3))\n"
                           "m = B.mean(axis=1)\n"
                           "y = A - m\n")
    assert e.root_cause["reason"] != "reduction"
    assert not [s for s in e.suggestions if s.line == 3 and "mean" in (s.expression or "")]


def test_a_reduced_array_changed_since_gets_no_upstream_fix(tmp_path):
    # X is (6, 4) when m is taken, then grows: rewriting line 3's axis would not give the
    # shape the report claims, so no fix at line 3 is offered
    e = _explain(tmp_path, "import numpy as np\n"
                           "X = np.ones((6, 4))\n"
                           "m = X.mean(axis=1)\n"
                           "X = np.ones((6, 5))\n"
                           "y = X - m\n")
    assert not [s for s in e.suggestions if s.line == 3]


def test_the_function_form_gets_both_upstream_fixes(tmp_path):
    e = _explain(tmp_path, "import numpy as np\n"
                           "X = np.arange(24.0).reshape(6, 4)\n"
                           "m = np.mean(X, 1)\n"
                           "Z = X - m\n")
    assert e.root_cause["line"] == 3 and e.root_cause["reason"] == "reduction"
    upstream = {s.expression: s.result_shape for s in e.suggestions if s.line == 3}
    assert upstream == {"m = np.mean(X, 0)": (6, 4),
                        "m = np.mean(X, 1, keepdims=True)": (6, 4)}


@pytest.mark.parametrize("name, line", [
    ("logistic_column_labels", 10), ("standardize_features", 7), ("mf_gradient_transpose", 13),
    ("attention_batched_T", 8),
])
def test_the_new_root_causes_hold_without_the_tracer(name, line):
    # explain_exception(exc) in a notebook or with --no-trace reads the code and the failing
    # frame only; the root line must be the same as under the tracer (tests/explain/corpus)
    from pathlib import Path

    path = Path(__file__).resolve().parent / "corpus" / f"{name}.py"
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(ValueError) as info:
        _run_code(compile(path.read_text(), str(path), "exec"), str(path))
    e = explain_exception(info.value)
    assert e.root_cause is not None and e.root_cause["line"] == line, e.format()
