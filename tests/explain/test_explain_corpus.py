"""A corpus of shape mistakes written like real questions, explained with their root cause.

Each script in ``corpus/`` fails the way NumPy fails, often several lines (or loop iterations,
or a function call) after the line that is wrong; that line carries a ``# ROOT`` comment. Every
script runs in this process under the shape tracer of ``matfit explain``; the explanation must

* name the failing operation, its operands and their real shapes;
* mark the ``# ROOT`` line as the likely root cause, naming the expected name;
* offer only fixes that hold (rule 3 of issue 15): a fix on the failing line is evaluated in the
  script's own frame, on the real objects, and must give the shape the code needs (stated here,
  not taken from matfit); a fix at another line is applied to the script, which must then run
  to its end.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from matfit.explain import explain_exception
from matfit.explain._cli import _run_code
from matfit.explain._source import user_traceback
from matfit.explain._trace import ShapeTracer

CORPUS = Path(__file__).resolve().parent / "corpus"

pytestmark = pytest.mark.filterwarnings(
    "ignore:the matrix subclass is not the recommended:PendingDeprecationWarning",
    "ignore:invalid value encountered:RuntimeWarning",
    "ignore:divide by zero:RuntimeWarning",
    "ignore:overflow encountered:RuntimeWarning")

# script -> (operation, [(operand, shape)], name the root cause must mention, shape the failing
#            statement needs (None: no fix on the failing line may be offered))
EXPECTED = {
    "attention_batched_T": ("matmul", [("q", (4, 10, 16)), ("k.T", (16, 10, 4))], "swapaxes",
                            (4, 10, 10)),
    "attention_no_transpose": ("matmul", [("Q", (2, 5, 8)), ("K", (2, 5, 8))], "transposed",
                               (2, 5, 5)),
    "bias_hstack": ("hstack", [("X", (30, 3)), ("bias", (30,))], "bias", (30, 4)),
    "center_rows": ("broadcast", [("X", (20, 5)), ("X.mean(axis=1)", (20,))],
                    "X.mean(axis=1)", (20, 5)),
    "column_into_slot": ("slice assignment", [("result[:, j]", (6,)), ("v", (6, 1))], "v",
                         (6,)),
    "cov_reshape": ("reshape", [("cov", (3, 3))], "cov", None),
    "dataframe_weights": ("dot", [("df", (40, 3)), ("weights", (4,))], "weights", (40,)),
    "einsum_labels": ("einsum", [("A", (3, 4)), ("B", (5, 4))], "B", None),
    "fill_rows": ("slice assignment", [("table[i]", (4,)), ("features(s)", (3,))], "table",
                  (4,)),
    "gd_column_broadcast": ("in-place broadcast", [("w", (3, 1)), ("lr * grad", (3, 100))],
                            "broadcast", None),
    "grow_in_loop": ("slice assignment", [("trajectory[step]", (3,)), ("state", (3, 3))],
                     "changed", None),
    "image_mask": ("broadcast", [("img", (48, 64, 3)), ("mask", (48, 64))], "mask",
                   (48, 64, 3)),
    "inv_design": ("np.linalg.inv", [("X", (40, 3))], "not square", None),
    "kalman_update": ("matmul", [("K", (4, 2)), ("z - self.H @ self.x", (1, 2))], "z", (4,)),
    "layer_init_typo": ("matmul", [("x", (32, 784)), ("self.W", (748, 128))], "n_in",
                        (32, 128)),
    "linear_layer_transposed": ("matmul", [("x", (10, 3)), ("W.T", (5, 4))], "W", None),
    "list_weights": ("matmul", [("features", (50, 4)), ("weights", (3,))], "weights", (50,)),
    "logistic_column_labels": ("in-place broadcast", [("w", (3,)), ("0.1 * grad", (3, 100))],
                               "broadcast", None),
    "mask_wrong_length": ("boolean index", [("X", (80, 3)), ("positive", (100,))], "positive",
                          None),
    "mlp_backward_transpose": ("matmul", [("grad_out", (32, 3)), ("self.W2", (8, 3))],
                               "transposed", (32, 8)),
    "mf_gradient_transpose": ("in-place broadcast", [("V", (5, 20)), ("lr * E.T @ U", (20, 5))],
                              "lr * E.T @ U", (5, 20)),
    "matmul_three": ("np.matmul (positional out)", [("A", (2, 3)), ("B", (3, 4)),
                                                    ("C", (4, 5))], "out", (2, 5)),
    "matrix_scale": ("matrix product", [("ratings", (2, 3)), ("weights", (2, 3))],
                     "transposed", (2, 3)),
    "nmf_h_transposed": ("matmul", [("W.T @ W", (20, 20)), ("H", (200, 20))], "H", None),
    "nmf_num_components": ("matmul", [("W", (513, 60)), ("H", (131, 129))], "num_components",
                           (513, 129)),
    "predict_in_loop": ("matmul", [("X", (16, 5)), ("w", (4,))], "n_features", (16,)),
    "ridge_eye_size": ("broadcast", [("Phi.T @ Phi", (6, 6)),
                                     ("lam * np.eye(degree)", (5, 5))], "np.eye(degree)",
                       None),
    "residual_stack": ("stack", [("y", (40,)), ("r", (40, 40))], "broadcast", None),
    "rnn_bias_column": ("slice assignment", [("outputs[t]", (2,)), ("y_t", (2, 4))],
                        "broadcast", None),
    "scipy_cost_order": ("matmul", [("X", (3,)), ("theta", (50,))], "parameter vector", None),
    "series_minus_column": ("reshape", [("resid", (24, 24))], "broadcast", None),
    "solve_batched_numpy2": ("np.linalg.solve", [("A", (10, 3, 3)), ("b", (10, 3))],
                             "NumPy 2", (10, 3)),
    "standardize_features": ("broadcast", [("X", (50, 4)), ("mu", (50,))], "axis", (50, 4)),
    "stack_segments": ("stack", [("segments[0]", (256,)), ("segments[1]", (256,)),
                                 ("segments[2]", (256,)), ("segments[3]", (232,))],
                       "segments", None),
    "vstack_none": ("vstack", [("header", (1, 4)), ("normalise(block)", None)], "normalise",
                    None),
    "windows_ragged": ("array from a ragged list", [("windows", None)], "windows", None),
}


def _run(path: Path, text: str | None = None):
    """Run a corpus script under the tracer: (exception or None, tracer)."""
    if text is not None:
        path = path.with_name(f"_fixed_{path.name}")
    code = compile(text if text is not None else path.read_text(), str(path), "exec")
    tracer = ShapeTracer()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with tracer:
                _run_code(code, str(path))
        except Exception as exc:
            return exc, tracer
    return None, tracer


def _root_line(path: Path) -> int:
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if "# ROOT" in line)


def _explain(name: str):
    path = CORPUS / f"{name}.py"
    exc, tracer = _run(path)
    assert exc is not None, f"{name} did not fail"
    e = explain_exception(exc, tracer=tracer)
    assert e is not None, f"{name}: {type(exc).__name__}: {exc} was not explained"
    return e, exc, path


def test_corpus_is_big_enough_and_every_script_is_listed():
    scripts = sorted(p.stem for p in CORPUS.glob("*.py"))
    assert len(scripts) >= 25
    assert scripts == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_operation_operands_and_root_cause(name):
    operation, operands, root_name, _ = EXPECTED[name]
    e, _, path = _explain(name)
    assert e.operation == operation
    assert [(o.expression, o.shape) for o in e.operands] == operands
    assert e.root_cause is not None, e.format()
    assert e.root_cause["line"] == _root_line(path), e.format()
    said = " ".join([e.root_cause["operand"], e.root_cause["why"], e.root_cause["source"]])
    assert root_name in said, e.format()
    text = e.format()
    assert "likely root cause: line" in text and e.root_cause["why"] in text


def _eval_fix(expression: str, namespace: dict):
    tree = ast.parse(expression)
    node = tree.body[0]
    if isinstance(node, ast.Assign):  # a slice assignment: the value that would be stored
        return eval(compile(ast.Expression(node.value), "<fix>", "eval"), namespace)
    if isinstance(node, ast.AugAssign):  # x op= value: what x op value gives
        target = ast.parse(ast.unparse(node.target), mode="eval").body  # as a load
        expr = ast.Expression(ast.BinOp(target, node.op, node.value))
        return eval(compile(ast.fix_missing_locations(expr), "<fix>", "eval"), namespace)
    return eval(expression, namespace)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_offered_fix_gives_the_shape_the_code_needs(name):
    *_, needed = EXPECTED[name]
    e, exc, path = _explain(name)
    frame = user_traceback(exc.__traceback__).tb_frame
    namespace = {**frame.f_globals, **frame.f_locals}
    here = [s for s in e.suggestions if s.line is None]
    elsewhere = [s for s in e.suggestions if s.line is not None]
    if needed is None:
        assert not here, f"{name}: no fix on the failing line holds, got {here}"
    for s in here:
        assert s.expression is not None and s.checked
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = _eval_fix(s.expression, namespace)
        got = np.shape(value)
        if e.operation == "slice assignment":
            assert np.broadcast_shapes(got, needed) == needed, s.text
        else:
            assert got == needed, s.text
        assert got == s.result_shape, s.text
    lines = path.read_text().splitlines(keepends=True)
    for s in elsewhere:  # applied to the script, which must then run to its end
        assert s.expression is not None
        old = lines[s.line - 1]
        indent = old[: len(old) - len(old.lstrip())]
        fixed = [*lines]
        fixed[s.line - 1] = indent + s.expression + "\n"
        exc2, _ = _run(path, "".join(fixed))
        assert exc2 is None, f"{name}: the fix {s.text!r} still fails: {exc2}"


def test_seed_nmf_case_names_the_line_and_num_components():
    e, _, path = _explain("nmf_num_components")
    assert e.root_cause["line"] == _root_line(path)
    h = next(o for o in e.origins if o.operand == "H")
    assert h.size["expr"] == "num_components" and h.size["value"] == 131
    assert h.size["defined"]["source"] == "num_components = 131"
    text = e.format()
    assert "`num_components` = 131, set by hand on line 6" in text
    assert e.suggestions[0].expression == "num_components = 60"


def test_loop_history_says_when_the_shape_changed():
    e, _, _ = _explain("grow_in_loop")
    state = next(o for o in e.origins if o.operand == "state")
    assert re.search(r"\(3,\) from run 1 on \(line 6\), then \(3, 3\) from iteration 1 on "
                     r"\(line 10\)", state.history), state.history


def test_arguments_are_followed_to_the_caller():
    e, _, _ = _explain("predict_in_loop")
    w = next(o for o in e.origins if o.operand == "w")
    assert [s.line for s in w.steps] == [17, 14]
    assert "argument `w`" in w.steps[0].what
    assert w.size["expr"] == "n_features"


def test_silent_broadcast_is_flagged_and_failing_line_fixes_are_withheld():
    e, _, _ = _explain("gd_column_broadcast")
    assert e.root_cause["reason"] == "broadcast"
    assert "(100, 1)" in e.root_cause["why"] and "(100,)" in e.root_cause["why"]
    assert "(100, 100)" in e.root_cause["why"]
    assert not e.suggestions  # `w -= (lr * grad).T`-style fixes would hide the bug


def test_ragged_list_names_the_odd_element():
    e, _, _ = _explain("windows_ragged")
    assert "windows[10] has shape (3,)" in e.conflict
    assert "majority (10 of 11) have shape (10,)" in e.conflict
    assert any("dtype=object" in n for n in e.notes)


def test_boolean_mask_says_where_its_length_came_from():
    e, _, _ = _explain("mask_wrong_length")
    mask = next(o for o in e.origins if o.operand == "positive")
    assert mask.steps[0].text == "positive = labels == 1"
    assert "100 entries" in e.conflict and "80 along axis 0" in e.conflict


def test_list_operand_never_gets_an_attribute_fix():
    e, _, _ = _explain("list_weights")
    assert all(".T" not in (s.expression or "") for s in e.suggestions)


def test_scipy_callback_note_lists_what_each_parameter_received():
    e, _, _ = _explain("scipy_cost_order")
    note = next(n for n in e.notes if "scipy.optimize" in n)
    assert "`X` got (3,)" in note and "`y` got (50, 3)" in note and "`theta` got (50,)" in note


def test_positional_out_fix_multiplies_all_three():
    e, _, _ = _explain("matmul_three")
    assert "`C`, is `out`" in e.conflict
    assert e.suggestions[0].expression == "np.linalg.multi_dot([A, B, C])"


def test_none_element_is_traced_to_the_missing_return():
    e, _, _ = _explain("vstack_none")
    assert "None" in e.conflict and "normalise" in e.root_cause["why"]


@pytest.mark.parametrize("value, fix, ok", [
    ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "__mf0.T", False),  # a list has no .T
    ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "np.asarray(__mf0).T", True),
    ("DataFrame", "__mf0.T", True),
    ("DataFrame", "__mf0[:, None]", False),  # pandas does not index like NumPy
    ("matrix", "__mf0[:, 0]", True),  # still 2-D on np.matrix: (3, 1), not (3,)
    (None, "__mf0.T", False),
])
def test_fixes_run_on_stand_ins_of_the_real_type(value, fix, ok):
    import pandas as pd

    from matfit.explain._honest import run_template
    from matfit.explain._ops import Leaf, _fill_shape

    if value == "DataFrame":
        value = pd.DataFrame(np.ones((3, 2)))
    elif value == "matrix":
        value = np.asmatrix(np.ones((3, 2)))
    leaf = Leaf(None, "w", True, value)
    _fill_shape(leaf)
    shape = leaf.shape if leaf.shape is not None else (3, 2)
    result, kinds = run_template(fix, [leaf], [shape], {"np": np}, "np")
    assert (result is not None) == ok, (fix, kinds)
    if fix == "__mf0[:, 0]":
        assert result == (3, 1)
