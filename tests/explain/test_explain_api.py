"""The entry points of matfit.explain (context manager, decorator, IPython) and its safety rules."""

from __future__ import annotations

import importlib
import io
import textwrap
from pathlib import Path

import numpy as np
import pytest

import matfit.explain
from matfit.explain import Explainer, explain, explain_exception, load_ipython_extension


def _run_file(tmp_path: Path, code: str, name: str = "user_code.py",
              namespace: dict | None = None) -> dict:
    """Write ``code`` to a real file (explain reads source through linecache) and run it."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    namespace = {} if namespace is None else namespace
    namespace.update(__name__="__main__", __file__=str(path))
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def _explain_code(tmp_path: Path, code: str):
    """(explanation, the namespace the code ran in)."""
    namespace: dict = {}
    try:
        _run_file(tmp_path, code, namespace=namespace)
    except ValueError as exc:
        return explain_exception(exc), namespace
    raise AssertionError("the code did not raise")


# ---- entry points ------------------------------------------------------------------------

def test_with_matfit_explain_call_prints_and_reraises(tmp_path):
    buf = io.StringIO()
    ns = _run_file(tmp_path, """
        import numpy as np
        def f(W, H):
            return W @ H
    """)
    W, H = np.ones((5, 2)), np.ones((3, 4))
    with pytest.raises(ValueError, match="core dimension") as info:
        with matfit.explain(file=buf):
            ns["f"](W, H)
    text = buf.getvalue()
    assert "W  shape (5, 2)" in text and "H  shape (3, 4)" in text
    assert info.value._matfit_explained is True


def test_module_is_the_same_object_as_the_callable_package():
    mod = importlib.import_module("matfit.explain")
    assert mod is matfit.explain
    assert callable(matfit.explain)
    assert isinstance(matfit.explain(), Explainer)
    assert hasattr(matfit.explain, "load_ipython_extension")  # still the %load_ext module


def test_module_itself_is_a_context_manager(tmp_path, capsys):
    ns = _run_file(tmp_path, "def add(a, b):\n    return a + b\n")
    with pytest.raises(ValueError, match="could not be broadcast together"):
        with matfit.explain:
            ns["add"](np.ones((3, 3)), np.ones((1, 4)))
    assert "a  shape (3, 3)" in capsys.readouterr().err


@pytest.mark.parametrize("form", ["bare", "called", "function"])
def test_decorator_forms(tmp_path, form):
    buf = io.StringIO()
    ns = _run_file(tmp_path, "def f(x, y):\n    return x @ y\n")
    if form == "bare":
        wrapped = matfit.explain(ns["f"], file=buf)
    elif form == "called":
        wrapped = matfit.explain(file=buf)(ns["f"])
    else:
        wrapped = explain(file=buf)(ns["f"])
    assert wrapped.__name__ == "f"
    np.testing.assert_array_equal(wrapped(np.eye(2), np.ones((2, 1))), np.ones((2, 1)))
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        wrapped(np.ones((2, 3)), np.ones((2, 3)))
    assert "x  shape (2, 3)" in buf.getvalue()
    assert "`x @ y.T` gives shape (2, 2)" in buf.getvalue()


def test_at_matfit_explain_decorator_without_parentheses(tmp_path, capsys):
    ns = _run_file(tmp_path, "def f(x, y):\n    return x @ y\n")

    @matfit.explain
    def outer(x, y):
        return ns["f"](x, y)

    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        outer(np.ones((2, 3)), np.ones((2, 3)))
    assert "x  shape (2, 3)" in capsys.readouterr().err


def test_nested_entry_points_print_once(tmp_path):
    buf = io.StringIO()
    ns = _run_file(tmp_path, "def f(x, y):\n    return x @ y\n")
    inner = explain(ns["f"], file=buf)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        with explain(file=buf):
            inner(np.ones((2, 3)), np.ones((2, 3)))
    assert buf.getvalue().count("matfit explain:") == 1


def test_no_work_without_an_exception(monkeypatch):
    import matfit.explain as mod

    def boom(*args, **kwargs):
        raise AssertionError("the explainer ran without an exception")

    monkeypatch.setattr(mod, "explain_exception", boom)
    with matfit.explain():
        y = np.ones((2, 3)) @ np.ones((3, 4))
    assert y.shape == (2, 4)
    assert explain(lambda: 5)() == 5


def test_other_errors_pass_through_unexplained(tmp_path):
    buf = io.StringIO()
    with pytest.raises(ValueError, match="invalid literal"):
        with explain(file=buf):
            int("x")
    with pytest.raises(KeyError):
        with explain(file=buf):
            {}["k"]
    assert "matfit explain" not in buf.getvalue()


def test_ipython_extension_with_a_fake_shell(tmp_path):
    class FakeShell:
        def __init__(self):
            self.handlers = None
            self.shown = []

        def set_custom_exc(self, exc_tuple, handler):
            self.handlers = (exc_tuple, handler)

        def showtraceback(self, exc_tuple=None, tb_offset=None):
            self.shown.append(exc_tuple)

    shell = FakeShell()
    load_ipython_extension(shell)
    exc_types, handler = shell.handlers
    assert exc_types == (ValueError, IndexError, TypeError)
    ns = _run_file(tmp_path, "def f(a, b):\n    return np.concatenate([a, b])\n")
    ns["np"] = np
    try:
        ns["f"](np.ones((2, 3)), np.ones((2, 4)))
    except ValueError as exc:
        err = io.StringIO()
        import contextlib

        with contextlib.redirect_stderr(err):
            handler(shell, type(exc), exc, exc.__traceback__, tb_offset=None)
    assert "np.concatenate([a, b], axis=1)" in err.getvalue()
    assert len(shell.shown) == 1 and shell.shown[0][0] is ValueError
    matfit.explain.unload_ipython_extension(shell)
    assert shell.handlers == ((), None)


# ---- safety: only side-effect-free expressions are evaluated -------------------------------

def test_calls_of_user_functions_are_not_repeated(tmp_path):
    e, ns = _explain_code(tmp_path, """
        import numpy as np
        calls = []
        def load():
            calls.append(1)
            return np.ones((4, 2))
        X = np.ones((5, 3))
        y = np.dot(X, load())
    """)
    assert e.operands[1].expression == "load()"
    assert "not evaluated" in e.operands[1].note
    # np.dot's message lists both shapes, so the unevaluated operand still gets its shape
    assert e.operands[1].shape == (4, 2)
    assert ns["calls"] == [1]  # only the user's own call


def test_properties_are_not_evaluated(tmp_path):
    e, ns = _explain_code(tmp_path, """
        import numpy as np
        class Model:
            reads = 0
            def __init__(self):
                self.H = np.ones((7, 2))   # plain attribute: evaluated
            @property
            def W(self):
                Model.reads += 1
                return np.ones((3, 5))
        m = Model()
        V = m.W @ m.H
    """)
    ops = {o.expression: o for o in e.operands}
    assert ops["m.H"].shape == (7, 2)
    assert ops["m.W"].shape is None and "property" in ops["m.W"].note
    assert ns["Model"].reads == 1  # only the user's own read


def test_safe_numpy_calls_and_methods_are_evaluated(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        X = np.ones((10, 4))
        Z = np.exp(X[:, :3]) - X.mean(axis=1)
    """)
    shapes = {o.expression: o.shape for o in e.operands}
    assert shapes == {"np.exp(X[:, :3])": (10, 3), "X.mean(axis=1)": (10,)}
    assert any(s.expression == "np.exp(X[:, :3]) - X.mean(axis=1, keepdims=True)"
               for s in e.suggestions)


def test_in_place_operator_cannot_grow_its_target(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        total = np.zeros((3, 1))
        total += np.ones((1, 4))
    """)
    assert e.operation == "in-place broadcast"
    assert "cannot change the shape of its target" in e.conflict
    # growing (3, 1) into (3, 4) is an outer product, not an update: said, never offered
    assert not e.suggestions
    assert any("keeps its shape (3, 1); the result has shape (3, 4)" in n for n in e.needed)


def test_multiline_expression_and_unicode_names(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        α = np.ones((2, 3))
        β = np.ones((4, 5))
        γ = (α
             @ β)
    """)
    assert [o.expression for o in e.operands] == ["α", "β"]
    assert e.source_lines[0].strip() == "γ = (α"
    assert e.marks[1].strip() == "^ ~"


def test_stack_and_join_functions(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        rows = [np.ones(3), np.ones(4)]
        M = np.stack(rows)
    """)
    assert e.operation == "stack"
    assert [o.expression for o in e.operands] == ["rows[0]", "rows[1]"]
    assert "np.stack needs arrays of one shape" in e.conflict
    # np.concatenate would give one (7,) row instead of a batch of rows: not a fix
    assert not any("concatenate" in (s.expression or "") for s in e.suggestions)
    assert any("`rows[1]` has (4,)" in n for n in e.needed)


def test_dimension_count_mismatch_in_concatenate(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        A = np.ones((2, 3))
        b = np.ones(3)
        C = np.concatenate((A, b))
    """)
    assert "same number of dimensions" in e.conflict
    assert any(s.expression == "np.concatenate((A, b[None, :]))" for s in e.suggestions)


def test_code_without_source_is_left_alone():
    namespace: dict = {"np": np}
    with pytest.raises(ValueError, match="mismatch in its core dimension") as info:
        exec("np.ones((2, 3)) @ np.ones((2, 3))", namespace)
    assert explain_exception(info.value) is None


def test_matfit_errors_are_not_re_explained():
    from matfit import ShapeError

    assert explain_exception(ShapeError("already explained")) is None


def test_demo_part_runs_its_fix_on_real_data():
    from matfit.demo import _explain

    res = _explain.run()
    assert res["operation"] == "matmul"
    assert [o["shape"] for o in res["operands"]] == [[6, 6, 3], [6, 3]]
    assert res["fix_max_abs_error"] < 1e-12  # the fix equals a per-sample loop
    assert "x @ T @ x" in res["headline"]


def test_reshape_never_offers_another_row_length(tmp_path):
    e, ns = _explain_code(tmp_path, """
        import numpy as np
        v = np.arange(12.0)
        M = v.reshape(-1, 5)
    """)
    # rows of 4 or 6 instead of the 5 asked for would change what a row is
    assert e.suggestions == []
    assert e.needed == ["`v` must have a multiple of 5 elements for (-1, 5) (it has 12); "
                        "reshaping to other sizes would change what each axis means"]
    e, ns = _explain_code(tmp_path, """
        import numpy as np
        images = np.zeros((2, 784))
        img = images.reshape(28, 28)
    """)
    assert [s.expression for s in e.suggestions] == ["images.reshape(-1, 28, 28)"]
    assert eval(e.suggestions[0].expression, ns).shape == (2, 28, 28)


def test_comprehension_frames_and_attribute_targets(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        pairs = [(np.ones((2, 3)), np.ones((2, 3)))]
        out = [a @ b for a, b in pairs]
    """)
    assert e.function == "<listcomp>"
    assert [o.shape for o in e.operands] == [(2, 3), (2, 3)]
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        class Layer:
            def __init__(self):
                self.W = np.ones((3, 4))
        layer = Layer()
        grad = np.ones((4, 3))
        layer.W -= 0.1 * grad
    """)
    assert e.operation == "in-place broadcast"
    assert e.operands[0].expression == "layer.W"
    assert e.suggestions[0].expression == "layer.W -= (0.1 * grad).T"


def test_update_is_never_turned_into_an_outer_product(tmp_path):
    e, _ = _explain_code(tmp_path, """
        import numpy as np
        x = np.ones(3)
        g = np.ones((4, 1))
        x = x - 0.1 * g.T
    """)
    # `x - 0.1 * g` and `x[:, None] - 0.1 * g.T` run, but give (4, 3) / (3, 4): not an update
    assert e.suggestions == []
    assert any("the result must have shape (3,)" in n and "`x` had shape (3,)" in n
               for n in e.needed)
