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
from types import FrameType, TracebackType
from typing import Any

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
    _upstream_reduction_fixes,
)
from ._ops import (
    _KIND_CATEGORIES,
    Op,
    _Builder,
    _category,
    _expr_text,
    _fill_from_message,
    _operand,
)
from ._report import Explanation, Suggestion, shape_text
from ._safe import SafeEvaluator, numpy_alias
from ._source import (
    Source,
    _marks,
    _statement_lines,
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


def _user_frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    """The traceback's frames of the user's code, outermost first."""
    from ._source import is_user_file

    out = []
    while tb is not None:
        if is_user_file(tb.tb_frame.f_code.co_filename):
            out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


def explain_exception(exc: BaseException, tb: TracebackType | None = None, *,
                      tracer: Any = None) -> Explanation | None:
    """Explain a NumPy shape error raised in the user's code.

    Parameters
    ----------
    exc : BaseException
        The exception (``ValueError``, and the ``IndexError``/``TypeError`` of a boolean index
        or a misplaced ``out``; matfit's own errors, which explain themselves, are not).
    tb : traceback, optional
        Its traceback (``exc.__traceback__`` when None).
    tracer : ShapeTracer, optional
        The shape history recorded while the code ran (``matfit explain`` records one); without
        it, origins are found by reading the code.

    Returns
    -------
    Explanation or None
        None when the exception is not a shape error of an expression that can be located.
    """
    from .._errors import MatfitError
    from . import _kinds

    if not isinstance(exc, (ValueError, IndexError, TypeError)) or isinstance(exc, MatfitError):
        return None
    tb = tb if tb is not None else exc.__traceback__
    utb = user_traceback(tb)
    if utb is None:
        return None
    frames = _user_frames(tb)
    frame, lineno = utb.tb_frame, utb.tb_lineno
    source = load_source(frame, lineno)
    if source is None:
        return None
    span = instruction_span(utb)
    ev = SafeEvaluator(frame.f_globals, frame.f_locals)
    np_name = numpy_alias(frame.f_globals)
    builder = _Builder(ev, source, np_name)
    message = str(exc)
    ctx = _kinds.Context(exc, tb, frames, frame, source, span, lineno, ev, np_name, builder,
                         tracer)
    special = _kinds.explain_special(ctx)
    if special is not None:
        return special
    if not isinstance(exc, ValueError):
        return None

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
    explanation = _build(op, exc, frame, source, ev, np_name, frames, tracer)
    note = _kinds.callback_note(ctx)
    if note:
        explanation.notes.append(note)
        code = frame.f_code
        first = code.co_varnames[0] if code.co_argcount else None
        names = {n.id for o in op.operands if o.node is not None for n in ast.walk(o.node)
                 if isinstance(n, ast.Name)}
        if first in names:
            line = code.co_firstlineno
            explanation.root_cause = {
                "file": code.co_filename, "line": line, "function": code.co_name,
                "source": source.lines[line - source.first_line].strip()
                if 0 <= line - source.first_line < len(source.lines) else "",
                "operand": first, "reason": "argument order", "size": None,
                "why": f"scipy.optimize passes the parameter vector first, so `{first}` "
                       f"received it; the parameters of `{code.co_name}` are in another order "
                       f"than the call `{code.co_name}(x, *args)`"}
            explanation.suggestions = [s for s in explanation.suggestions if s.line is not None]
    return explanation


def _build(op: Op, exc: BaseException, frame, source: Source, ev: SafeEvaluator,
           np_name: str, frames: list | None = None, tracer: Any = None) -> Explanation:
    from . import _honest, _provenance, _rootcause

    conflict, dims, suggestions = "", [], []
    ranked: list = []
    needed: list[str] = []
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
    frames = frames or [(frame, op.node.lineno)]  # type: ignore[attr-defined]
    origin_leaves = op.operands
    seq = op.extra.get("seq")
    if op.kind == "join" and seq is not None and not isinstance(seq, (ast.List, ast.Tuple)):
        from ._ops import Leaf

        origin_leaves = [*op.operands, Leaf(seq, " ".join(source.segment(seq).split()), True,
                                            None)]
    origins = _provenance.find_origins(frames, origin_leaves, dims, tracer)
    here = _provenance.Step(frame.f_code.co_filename, op.node.lineno + source.first_line - 1,  # type: ignore[attr-defined]
                            frame.f_code.co_name,
                            " ".join(source.segment(_stmt_node(source, op.node)).split()),
                            "the failing line")
    root = _rootcause.root_cause(origins, dims, here, op.operands)
    upstream = root is not None and root["reason"] in ("broadcast", "changed")
    if op.kind == "reshape" and not upstream and op.operands:
        leaf = op.operands[0]
        root = {**here.to_dict(), "file": here.filename, "source": here.text,
                "operand": leaf.text, "reason": "target shape", "size": None,
                "why": f"`{leaf.text}` has {op.extra.get('size')} elements (shape "
                       f"{shape_text(leaf.shape)}) and the shape asked for on this line cannot "
                       f"hold them"}
    need = _honest.needed_constraint(op, source, ev)
    if op.kind in ("matmul", "dot", "broadcast", "inplace") and valid is False:
        ranked += _tree_suggestions(op, ev, source, np_name)
        ranked += _einsum_suggestion(op, np_name)
        ranked += _swap_suggestion(op, source)
        ranked += _multiply_suggestion(op, np_name)
        ranked.sort(key=lambda r: r[0])
        seen = set()
        for _, s in ranked:
            if s.expression not in seen:
                seen.add(s.expression)
                suggestions.append(s)
        suggestions = [s for s in _honest.filter_fixes(op, suggestions, source, frame.f_globals,
                                                       np_name, need)
                       if _honest.statement_holds(op, source, _Builder(ev, source,
                                                                        np_name).leaf,
                                                  s.result_shape)][:3]
        needed += [s.text for s in _requirements(op, dims)[:2]]
        if op.kind == "inplace" and op.known():
            t = op.operands[0]
            full = _rules.broadcast_shape(op.shapes())  # type: ignore[arg-type]
            if full is not None:
                needed.append(f"`{' '.join(t.text.split())}` keeps its shape "
                              f"{shape_text(t.shape)}; the result has shape {shape_text(full)}: "
                              f"if that shape is what you want, assign a new array instead of "
                              f"updating in place")
    elif op.kind == "join" and valid is False:
        suggestions = _join_suggestions(op, source, np_name)[:_MAX_SUGGESTIONS]
        needed += _join_needed(op)
    elif op.kind == "reshape" and valid is False:
        suggestions = _reshape_suggestions(op, source)[:_MAX_SUGGESTIONS]
        needed += _reshape_needed(op)
    leaf_of = _Builder(ev, source, np_name).leaf

    def holds(result: Any, names: dict | None = None) -> bool:
        return _honest.statement_holds(op, source, leaf_of, result, names)

    root_fixes = _root_fixes(op, root, dims, need, holds)
    needed += [f"line {s.line}: {s.text}" for s in root_fixes if s.expression is None]
    root_fixes = [s for s in root_fixes if s.expression is not None]
    notes: list[str] = []
    if upstream and root is not None:
        if suggestions:
            notes.append(f"fixes on the failing line would hide the bug upstream (line "
                         f"{root['line']}), so none is offered")
        suggestions = []
        needed = []  # what the failing line would need is beside the point: the cause is earlier
        if root["reason"] == "broadcast":
            needed.append(f"line {root['line']}: give both operands the same layout (both 1-D, "
                          f"e.g. with `[:, 0]` on the column, or both columns with "
                          f"`[:, None]`), so that the result keeps the size of its operands")
    if not upstream:  # the line that reduced an operand along the wrong axis
        suggestions += _upstream_reduction_fixes(op, origins, need, ev, holds)[:2]
    suggestions = root_fixes + suggestions
    first, last = _statement_lines(source, op.node)
    file_first = first + source.first_line - 1
    lines = [source.lines[i - 1] for i in range(first, last + 1)]
    if source.col_shift:
        marks: list[str] = []
    else:
        marks = _marks(source, op.node, op.op_span, first, last)
    if need is not None and not suggestions:
        needed.append(f"the result must have shape {shape_text(need[1])}"
                      f"{'' if need[0] == 'equal' else ' (or broadcast into it)'}: {need[2]}")
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
        origins=origins,
        root_cause=root,
        needed=needed,
        notes=notes,
    )


def _stmt_node(source: Source, node: ast.AST) -> ast.AST:
    best: ast.AST = node
    for s in ast.walk(source.tree):
        if isinstance(s, ast.stmt) and not isinstance(s, (ast.FunctionDef, ast.ClassDef,
                                                          ast.For, ast.While, ast.If, ast.With,
                                                          ast.Try)) and \
                s.lineno <= node.lineno <= (s.end_lineno or 0):  # type: ignore[attr-defined]
            best = s
    return best


def _root_fixes(op: Op, root: dict | None, dims: list[dict], need: Any,
                holds: Any = None) -> list[Suggestion]:
    """Change the size chosen by hand at the root-cause line to the one the other operand has
    (or, when no such change works, swap the two sizes of a 2-D shape written there), when the
    operation, what the code needs and (``holds(result, {name: shape})``) the statement around
    it then work."""
    from . import _honest

    if root is None or not root.get("size") or not op.known() or \
            op.kind not in ("matmul", "dot", "broadcast"):
        return []
    size = root["size"]
    if not size.get("free"):
        return []
    idx = next((i for i, o in enumerate(op.operands) if o.text == root["operand"]), None)
    if idx is None:
        return []
    others = [d["size"] for d in dims if d["operand"] != root["operand"] and
              d["size"] != size["size"]]
    name = root["operand"] if root["operand"].isidentifier() else None
    out: list[Suggestion] = []
    for new in dict.fromkeys(others):
        trial = [tuple(s) for s in op.shapes()]  # type: ignore[arg-type]
        changed = list(trial[idx])
        # the size is an axis of the name; the operand may be its transpose (`W.T`)
        transposed = root["operand"].endswith(".T") and root["operand"][:-2].isidentifier()
        changed[len(changed) - 1 - size["axis"] if transposed else size["axis"]] = new
        trial[idx] = tuple(changed)
        result = _rules.eval_tree(op.immediate_tree(), trial)
        if result is None or not _honest.satisfies(result, need) or (
                holds is not None and not holds(result, {name: tuple(changed)} if name else None)):
            continue
        import linecache
        import re

        old = str(size["size"]) if size.get("value") is None else str(size["value"])
        if size.get("defined"):
            line = size["defined"]["line"]
        else:
            line = size["line"]
        src_line = linecache.getline(root["file"], line).rstrip("\n")
        code = src_line.partition("#")[0]
        pattern = rf"(?<![\w.]){re.escape(old)}(?![\w.])"
        # only an unambiguous literal: in `np.ones((6, 3, 3))` the first 3 may not be the axis
        new_code, n = re.subn(pattern, str(new), code) if len(re.findall(pattern, code)) == 1 \
            else (code, 0)
        expr = new_code.strip() if n else None
        if expr is not None:
            text = (f"`{expr}` (instead of `{code.strip()}`): then `{root['operand']}` has "
                    f"shape {shape_text(tuple(changed))} and `{_expr_text(op)}` gives shape "
                    f"{shape_text(result)}")
        else:
            text = (f"make axis {size['axis']} of `{root['operand']}` {new} instead of "
                    f"`{size['expr']}` ({size['size']}): then `{_expr_text(op)}` gives shape "
                    f"{shape_text(result)}")
        out.append(Suggestion(text, expr, result, line=line,
                              checked="shape rules" + (f"; {need[2]}" if need else "")))
    return out or _swap_fix(op, root, idx, need, holds, name)


def _swap_fix(op: Op, root: dict, idx: int, need: Any, holds: Any,
              name: str | None) -> list[Suggestion]:
    """``rng.random((200, k))`` -> ``rng.random((k, 200))`` at the root-cause line, when the
    operand is 2-D, its line writes its shape as one pair (a tuple, or ``rand``'s two
    arguments) and the transposed shape works where the failing one does not."""
    import linecache

    from . import _honest

    shape = op.operands[idx].shape
    if name is None or shape is None or len(shape) != 2 or shape[0] == shape[1]:
        return []
    trial = [tuple(s) for s in op.shapes()]  # type: ignore[arg-type]
    trial[idx] = (shape[1], shape[0])
    result = _rules.eval_tree(op.immediate_tree(), trial)
    if result is None or not _honest.satisfies(result, need) or (
            holds is not None and not holds(result, {name: trial[idx]})):
        return []
    code = linecache.getline(root["file"], root["line"]).partition("#")[0].strip()
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return []
    values = [st.value for st in body if isinstance(st, ast.Assign) and len(st.targets) == 1
              and isinstance(st.targets[0], ast.Name) and st.targets[0].id == name]
    if len(values) != 1 or not isinstance(values[0], ast.Call):
        return []
    call = values[0]
    pairs = [a.elts for a in [*call.args, *(k.value for k in call.keywords)]
             if isinstance(a, ast.Tuple) and len(a.elts) == 2]
    if not pairs and len(call.args) == 2 and not call.keywords:
        pairs = [call.args]
    if len(pairs) != 1:
        return []
    a, b = pairs[0]
    ta, tb = ast.get_source_segment(code, a), ast.get_source_segment(code, b)
    if ta is None or tb is None:
        return []
    new = code[:a.col_offset] + tb + code[a.end_col_offset:b.col_offset] + ta + \
        code[b.end_col_offset:]  # type: ignore[misc]
    return [Suggestion(f"`{new}` (instead of `{code}`): then `{name}` has shape "
                       f"{shape_text(trial[idx])} and `{_expr_text(op)}` gives shape "
                       f"{shape_text(result)}", new, result, line=root["line"],
                       checked="shape rules" + (f"; {need[2]}" if need else ""))]


def _join_needed(op: Op) -> list[str]:
    if not op.known():
        return []
    shapes = [tuple(s) for s in op.shapes()]  # type: ignore[arg-type]
    if op.extra["func"] == "stack" and len(set(shapes)) > 1:
        from collections import Counter

        common, _ = Counter(shapes).most_common(1)[0]
        odd = [f"`{o.text}` has {shape_text(s)}" for o, s in zip(op.operands, shapes,
                                                                  strict=True) if s != common]
        return [f"np.stack needs every array to have one shape, e.g. {shape_text(common)} "
                f"like most of them; " + ", ".join(odd)]
    return []


def _reshape_needed(op: Op) -> list[str]:
    size, target = op.extra.get("size"), op.extra.get("target")
    if size is None or target is None:
        return []
    known = 1
    for t in target:
        if t != -1:
            known *= t
    leaf = op.operands[0]
    if -1 in target:
        return [f"`{leaf.text}` must have a multiple of {known} elements for "
                f"{shape_text(tuple(target))} (it has {size}); reshaping to other sizes would "
                f"change what each axis means"]
    return [f"`{leaf.text}` must have {known} elements for {shape_text(tuple(target))} (it "
            f"has {size}); reshaping to other sizes would change what each axis means"]
