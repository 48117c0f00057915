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


# ------------------------------------------------- the upstream reduction fixes, one by one
def _upstream(tmp_path, text, trace=True):
    e = _explain(tmp_path, text) if trace else _explain_untraced(tmp_path, text)
    return [(s.expression, s.result_shape, s.line, s.checked, s.text) for s in e.suggestions
            if s.line is not None and s.line != e.lineno]


def _explain_untraced(tmp_path, text):
    path = tmp_path / "script.py"
    path.write_text(text)
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(ValueError) as info:
        _run_code(compile(text, str(path), "exec"), str(path))
    return explain_exception(info.value)


def test_an_in_place_update_gets_fixes_that_keep_its_target(tmp_path):
    got = _upstream(tmp_path, "import numpy as np\n"
                              "X = np.ones((6, 4))\n"
                              "m = X.mean(axis=1 )\n"
                              "X -= m\n")
    keeps = "shape rules; an in-place operator keeps `X`'s shape (6, 4)"
    assert got == [
        ("m = X.mean(axis=0 )", (6, 4), 3, keeps,
         "`m = X.mean(axis=0 )` (instead of `m = X.mean(axis=1 )`): then `m` has shape (4,) "
         "and `X -= m` gives shape (6, 4)"),
        ("m = X.mean(axis=1, keepdims=True)", (6, 4), 3, keeps,
         "`m = X.mean(axis=1, keepdims=True)` (instead of `m = X.mean(axis=1 )`): then `m` "
         "has shape (6, 1) and `X -= m` gives shape (6, 4)"),
    ]


@pytest.mark.parametrize("line, expr", [("y = A.T @ s", "A.T @ s"),
                                        ("y = np.dot(A.T, s)", "np.dot(A.T, s)")])
def test_a_product_gets_the_other_axis_only(tmp_path, line, expr):
    # keepdims would give s shape (1, 3), which no product with A.T (3, 5) takes
    got = _upstream(tmp_path, "import numpy as np\n"
                              "A = np.ones((5, 3))\n"
                              "s = A.sum(axis=0)\n"
                              f"{line}\n")
    assert [(g[0], g[1], g[2], g[3]) for g in got] == [("s = A.sum(axis=1)", (3,), 3,
                                                         "shape rules")]
    assert got[0][4].endswith(f"then `s` has shape (5,) and `{expr}` gives shape (3,)")


def test_every_other_axis_and_keepdims_are_tried_in_order(tmp_path):
    # a (2, 3, 4) array reduced along axis 2: axis 0 works, axis 1 does not, keepdims works
    got = _upstream(tmp_path, "import numpy as np\n"
                              "X = np.ones((2, 3, 4))\n"
                              "m = np.mean(X, axis=-1)\n"
                              "Z = X - m\n")
    assert [(g[0], g[1]) for g in got] == [("m = np.mean(X, axis=0)", (2, 3, 4)),
                                           ("m = np.mean(X, axis=-1, keepdims=True)",
                                            (2, 3, 4))]
    assert "then `m` has shape (3, 4)" in got[0][4]
    assert "then `m` has shape (2, 3, 1)" in got[1][4]


def test_a_negative_axis_of_a_matrix(tmp_path):
    got = _upstream(tmp_path, "import numpy as np\n"
                              "X = np.ones((6, 4))\n"
                              "m = X.max(axis=-2)\n"
                              "Z = X.T - m\n")
    # (keepdims would leave m (1, 4), which X.T (4, 6) does not take)
    assert [g[0] for g in got] == ["m = X.max(axis=1)"]


def test_a_fix_that_breaks_the_rest_of_the_statement_is_not_offered(tmp_path):
    got = _upstream(tmp_path, "import numpy as np\n"
                              "X = np.ones((6, 4))\n"
                              "m = X.mean(axis=1)\n"
                              "Z = (X - m) @ np.ones(3)\n")
    assert got == []
    # the name keeps its new shape everywhere in the statement: `+ m` then fits too
    got = _upstream(tmp_path, "import numpy as np\n"
                              "X = np.ones((6, 4))\n"
                              "m = X.mean(axis=1)\n"
                              "Z = (X - m) + m\n")
    assert [g[0] for g in got] == ["m = X.mean(axis=0)", "m = X.mean(axis=1, keepdims=True)"]


def test_an_operand_whose_reduction_does_not_apply_is_passed_over(tmp_path):
    # `a` was reduced from an A that has changed since (so its line is left alone); `m`
    # after it still gets its fix (read from the failing frame, without the tracer); m's
    # keepdims would make `a - m` an outer product (6, 4), so it is not offered
    got = _upstream(tmp_path, "import numpy as np\n"
                              "A = np.ones((4, 6))\n"
                              "a = A.sum(axis=1)\n"
                              "A = np.ones((5, 6))\n"
                              "X = np.ones((6, 4))\n"
                              "m = X.mean(axis=1)\n"
                              "Z = a - m\n", trace=False)
    assert [(g[0], g[1], g[2]) for g in got if "mean" in g[0] or "sum" in g[0]] == [
        ("m = X.mean(axis=0)", (4,), 6)]


@pytest.mark.parametrize("shape, result", [((4, 10, 16), (4, 10, 10)),
                                           ((2, 3, 5, 8), (2, 3, 5, 5))])
def test_T_of_a_stack_is_blamed_and_swapaxes_offered(tmp_path, shape, result):
    e = _explain(tmp_path, "import numpy as np\n"
                           f"q = np.ones({shape}); k = np.ones({shape})\n"
                           "s = q @ k.T\n")
    assert e.root_cause["line"] == 3 and e.root_cause["reason"] == "expression"
    assert f"`.T` reverses all {len(shape)} axes of `k`" in e.root_cause["why"]
    offered = [(s.expression, s.result_shape) for s in e.suggestions if s.line is None]
    assert ("q @ np.swapaxes(k, -1, -2)", result) in offered
