"""From a NumPy ``ValueError`` and its traceback to an :class:`Explanation`.

Implementation notes
--------------------
* The failing expression is located by its PEP 657 span (see ``_source``); its operands are
  re-evaluated with :class:`SafeEvaluator`, so only side-effect-free expressions run again.
* Among the candidate operations on the line, the one that *reproduces* the error is chosen: its
  shape rule (``_rules``, checked by NumPy on stand-in arrays) says the operands are incompatible
  and NumPy's message is of the same kind (core dimension, alignment, broadcast, join, reshape).
* An expression of array operators (``@``, ``+``, ``*``, ...) is seen as a tree whose leaves are
  the non-operator sub-expressions (``x @ T @ x`` has leaves x, T, x). Fixes are searched by
  rewriting at most two leaves (a transpose, an added axis, ``keepdims=True``) and keeping the
  rewrites that NumPy accepts; the smallest results come first (a batched quadratic form gives
  one number per sample, not a cube). Requirements ("`H` must have 60 rows") are also checked.
* When an operand cannot be evaluated safely, its shape is taken from NumPy's message where the
  message gives it (``np.dot`` and broadcasting errors list every shape).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from types import TracebackType

from . import _rules
from ._conflicts import (
    _broadcast_conflict,
    _inplace_conflict,
    _join_conflict,
    _matmul_conflict,
    _reshape_conflict,
)
from ._fixes import (
    _einsum_suggestion,
    _join_suggestions,
    _multiply_suggestion,
    _requirements,
    _reshape_suggestions,
    _swap_suggestion,
    _tree_suggestions,
)
from ._ops import (
    _KIND_CATEGORIES,
    Op,
    _atomic,
    _Builder,
    _category,
    _fill_from_message,
    _operand,
    _q,
)
from ._report import Explanation, Suggestion, shape_text
from ._safe import SafeEvaluator, numpy_alias
from ._source import (
    Source,
    failing_node_candidates,
    instruction_span,
    load_source,
    user_traceback,
)

__all__ = ["explain_exception"]

_MAX_SUGGESTIONS = 4


def _choose(candidates: Iterable[tuple[Op, bool]], message: str) -> Op | None:
    """The operation that reproduces the error; candidates are built lazily, best first, so
    that the operands of expressions after the failing one (which never ran) are not evaluated
    once the failing one is found."""
    category = _category(message)
    ops = []
    for op, exact in candidates:
        ops.append((op, exact))
        if category in _KIND_CATEGORIES.get(op.kind, set()) and op.valid() is False:
            return op
    for op, exact in ops:
        if exact and (op.valid() is not True):
            return op
    for op, _exact in ops:
        if op.valid() is False:
            return op
    for op, _exact in ops:
        if op.kind == "call":
            return op
    return None


def _marks(source: Source, node: ast.AST, op_span: tuple[int, int] | None,
           first: int, last: int) -> list[str]:
    start, end = source.span_of(node)
    marks = []
    for lineno in range(first, last + 1):
        lo = source._starts[lineno - 1]
        line = source.lines[lineno - 1].rstrip("\n")
        hi = lo + len(line)
        row = [" "] * len(line)
        for pos in range(max(start, lo), min(end, hi)):
            if not line[pos - lo].isspace():
                row[pos - lo] = "~"
        if op_span:
            for pos in range(max(op_span[0], lo), min(op_span[1], hi)):
                row[pos - lo] = "^"
        marks.append("".join(row).rstrip())
    return marks


def _statement_lines(source: Source, node: ast.AST) -> tuple[int, int]:
    for stmt in ast.walk(source.tree):
        if isinstance(stmt, ast.stmt) and stmt.lineno <= node.lineno <= stmt.end_lineno:  # type: ignore[attr-defined,operator]
            inner = [s for s in ast.walk(stmt) if isinstance(s, ast.stmt)
                     and s.lineno <= node.lineno and node.end_lineno <= s.end_lineno]  # type: ignore[attr-defined,operator]
            best = min(inner, key=lambda s: s.end_lineno - s.lineno)  # type: ignore[operator]
            if isinstance(best, (ast.If, ast.For, ast.While, ast.With, ast.FunctionDef)):
                return node.lineno, node.end_lineno  # type: ignore[attr-defined,return-value]
            return best.lineno, best.end_lineno  # type: ignore[return-value]
    return node.lineno, node.end_lineno  # type: ignore[attr-defined,return-value]


def explain_exception(exc: BaseException,
                      tb: TracebackType | None = None) -> Explanation | None:
    """Explain a NumPy shape error raised in the user's code.

    Parameters
    ----------
    exc : BaseException
        The exception (only ``ValueError`` is explained; matfit's own errors, which explain
        themselves, are not).
    tb : traceback, optional
        Its traceback (``exc.__traceback__`` when None).

    Returns
    -------
    Explanation or None
        None when the exception is not a shape error of an expression that can be located.
    """
    from .._errors import MatfitError

    if not isinstance(exc, ValueError) or isinstance(exc, MatfitError):
        return None
    tb = tb if tb is not None else exc.__traceback__
    utb = user_traceback(tb)
    if utb is None:
        return None
    frame, lineno = utb.tb_frame, utb.tb_lineno
    source = load_source(frame, lineno)
    if source is None:
        return None
    span = instruction_span(utb)
    ev = SafeEvaluator(frame.f_globals, frame.f_locals)
    np_name = numpy_alias(frame.f_globals)
    builder = _Builder(ev, source, np_name)
    message = str(exc)

    def candidates() -> Iterator[tuple[Op, bool]]:
        for node, exact in failing_node_candidates(source, span, lineno):
            op = builder.op(node)
            if op is not None:
                op.extra["expr_text"] = source.segment(node)
                _fill_from_message(op, message)
                yield op, exact

    op = _choose(candidates(), message)
    if op is None:
        return None
    return _build(op, exc, frame, source, ev, np_name)


def _build(op: Op, exc: BaseException, frame, source: Source, ev: SafeEvaluator,
           np_name: str) -> Explanation:
    conflict, dims, suggestions = "", [], []
    ranked: list = []
    valid = op.valid()
    if op.kind in ("matmul", "dot") and op.known() and valid is False:
        conflict, dims = _matmul_conflict(op)
    elif op.kind == "broadcast" and op.known() and valid is False:
        conflict, dims = _broadcast_conflict([o.text for o in op.operands],
                                             op.shapes())  # type: ignore[arg-type]
    elif op.kind == "inplace" and op.known() and valid is False:
        conflict, dims = _inplace_conflict(op)
    elif op.kind == "join" and op.known() and valid is False:
        conflict, dims = _join_conflict(op)
    elif op.kind == "reshape" and valid is False:
        conflict, dims = _reshape_conflict(op)
    if not conflict:
        conflict = f"NumPy says: {exc}"
    if op.kind in ("matmul", "dot", "broadcast", "inplace") and valid is False:
        ranked += _tree_suggestions(op, ev, source, np_name)
        ranked += _einsum_suggestion(op, np_name)
        ranked += _swap_suggestion(op, source)
        ranked += _multiply_suggestion(op, np_name)
        if op.kind == "inplace" and op.known():
            t, v = op.operands
            full = _rules.broadcast_shape(op.shapes())  # type: ignore[arg-type]
            if full is not None:
                sym = source.text[op.op_span[0]:op.op_span[1]].rstrip("=") if op.op_span else "+"
                expr = f"{' '.join(t.text.split())} = {' '.join(t.text.split())} {sym} " \
                       f"{_atomic(v.node, ' '.join(v.text.split()))}"
                ranked.append(((-1, 0, 0), Suggestion(
                    f"{_q(expr)} makes a new array of shape {shape_text(full)} (if that shape "
                    f"is what you want)", expr, full)))
        ranked.sort(key=lambda r: r[0])
        seen = set()
        for _, s in ranked:
            if s.expression not in seen:
                seen.add(s.expression)
                suggestions.append(s)
        suggestions = suggestions[:3] + _requirements(op, dims)[:2]
    elif op.kind == "join" and valid is False:
        suggestions = _join_suggestions(op, source, np_name)[:_MAX_SUGGESTIONS]
    elif op.kind == "reshape" and valid is False:
        suggestions = _reshape_suggestions(op, source)[:_MAX_SUGGESTIONS]
    first, last = _statement_lines(source, op.node)
    file_first = first + source.first_line - 1
    lines = [source.lines[i - 1] for i in range(first, last + 1)]
    if source.col_shift:
        marks: list[str] = []
    else:
        marks = _marks(source, op.node, op.op_span, first, last)
    return Explanation(
        error=f"{type(exc).__name__}: {exc}",
        filename=frame.f_code.co_filename,
        lineno=file_first + (op.node.lineno - first),  # type: ignore[attr-defined]
        function=frame.f_code.co_name,
        source_lines=lines,
        first_line=file_first,
        marks=marks,
        operation=op.name,
        expression=" ".join(op.extra.get("expr_text", "").split()),
        operands=[_operand(o) for o in op.operands],
        conflict=conflict,
        dimensions=dims,
        suggestions=suggestions,
    )
