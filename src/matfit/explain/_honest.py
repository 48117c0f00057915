"""Keep only the fixes that give the shape the code needs, on stand-ins of the real types.

Implementation notes
--------------------
* A fix is *run*: its expression, with every operand replaced by a stand-in of the operand's
  real type (a list stays a list, an ``np.matrix`` a matrix, a pandas object a pandas object, a
  scalar itself) and of its shrunk shape (``_rules.shrink``), is evaluated, and the result's shape
  mapped back. ``weights.T`` on a Python list raises here as it would for real, so it is dropped.
* What the code needs (``needed_constraint``): for ``x = <expr>`` when ``x`` already exists
  (an update such as ``x = x - g``, or an earlier loop iteration), ``x``'s shape; for a slice
  assignment, the slot's shape; for an in-place operator, the target's; otherwise, when the next
  statement combines the new name elementwise with an array, a shape that broadcasts into that
  array's shape without growing it.
* Never offered: a broadcasting fix whose result is larger than every operand (an outer product
  where an elementwise operation was written), and a product that contracts over an axis of
  size 1 the fix itself introduced (``a[:, None] @ b[None, :]``).
"""

from __future__ import annotations

import ast
import math
import types
from typing import Any

import numpy as np

from . import _rules
from ._ops import Leaf, Op, _splice
from ._report import Suggestion, shape_text
from ._safe import SafeEvaluator, is_array
from ._source import Source

__all__ = ["filter_fixes", "needed_constraint", "standin"]

Shape = tuple[int, ...]


def standin(value: Any, ok: bool, shape: Shape) -> tuple[bool, Any, str]:
    """(True, a stand-in of ``value``'s type with ``shape``, type name) or (False, None, why)."""
    # random entries, not zeros: np.linalg.solve/inv must not meet a singular stand-in
    zeros = np.random.default_rng(0).standard_normal(shape) + 2.0
    if not ok:  # not evaluated; NumPy's message gave the shape of an array
        return True, zeros, "ndarray"
    if isinstance(value, np.matrix):
        return (True, np.asmatrix(zeros), "np.matrix") if len(shape) == 2 else (
            False, None, "np.matrix")
    if is_array(value):
        return True, zeros.astype(value.dtype, copy=False) if value.dtype.kind in "biufc" \
            else zeros, "ndarray"
    if type(value) is list:
        return True, zeros.tolist(), "list"
    if type(value) is tuple:
        return True, tuple(zeros.tolist()) if shape else zeros.item(), "tuple"
    if value is None or isinstance(value, (int, float, complex, np.generic)):
        return True, value, type(value).__name__
    mod = type(value).__module__ or ""
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(value, pd.DataFrame) and len(shape) == 2:
            return True, pd.DataFrame(zeros), "DataFrame"
        if isinstance(value, pd.Series) and len(shape) == 1:
            return True, pd.Series(zeros), "Series"
    return False, None, type(value).__name__


def _namespace(frame_globals: dict[str, Any], np_name: str) -> dict[str, Any]:
    ns = {k: v for k, v in frame_globals.items() if isinstance(v, types.ModuleType)}
    ns[np_name] = np
    ns["__builtins__"] = {}
    return ns


def run_template(template: str, leaves: list[Leaf], shapes: list[Shape],
                 frame_globals: dict[str, Any], np_name: str) -> tuple[Shape | None, str]:
    """Evaluate ``template`` (operands written ``__mf0``, ``__mf1``, ...) on stand-ins of the
    leaves' real types with ``shapes``; (result shape, types used), None when it fails."""
    small, back = _rules.shrink([*shapes])
    ns = _namespace(frame_globals, np_name)
    kinds = []
    for i, (leaf, shape) in enumerate(zip(leaves, small, strict=True)):
        ok, value, kind = standin(leaf.value, leaf.ok, shape)
        if not ok:
            return None, kind
        ns[f"__mf{i}"] = value
        kinds.append(kind)
    try:
        with np.errstate(all="ignore"):
            result = eval(template, ns)
        out = tuple(int(s) for s in np.shape(result))
        return tuple(back.get(s, s) for s in out), ", ".join(sorted(set(kinds)))
    except Exception:
        return None, ", ".join(sorted(set(kinds)))


def _innermost_stmt(source: Source, node: ast.AST) -> ast.stmt | None:
    best = None
    for s in ast.walk(source.tree):
        if isinstance(s, ast.stmt) and s.lineno <= node.lineno <= (s.end_lineno or 0) and \
                (node.end_lineno or 0) <= (s.end_lineno or 0):  # type: ignore[attr-defined]
            if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For,
                                  ast.While, ast.If, ast.With, ast.Try)) or best is None:
                best = s
    return best


def _is_elementwise_path(stmt_value: ast.AST, node: ast.AST) -> bool:
    """``node`` sits inside ``stmt_value`` under elementwise operators only."""
    if stmt_value is node:
        return True
    if isinstance(stmt_value, ast.BinOp) and not isinstance(stmt_value.op, ast.MatMult):
        return _is_elementwise_path(stmt_value.left, node) or \
            _is_elementwise_path(stmt_value.right, node)
    if isinstance(stmt_value, ast.UnaryOp):
        return _is_elementwise_path(stmt_value.operand, node)
    return False


def needed_constraint(op: Op, source: Source, ev: SafeEvaluator) -> tuple[str, Shape, str] | None:
    """("equal" | "fits", shape, why) the failing expression's result must satisfy, if known."""
    node = op.node
    if isinstance(node, ast.AugAssign):
        target = op.operands[0]
        if target.shape is not None:
            return ("equal", target.shape, f"an in-place operator keeps `{target.text}`'s shape "
                    f"{shape_text(target.shape)}")
        return None
    stmt = _innermost_stmt(source, node)
    if not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
        return None
    tgt = stmt.targets[0]
    tgt_text = " ".join(source.segment(tgt).split())
    ok, prev = ev.try_eval(tgt)
    if ok and (is_array(prev) or isinstance(prev, (float, int, np.generic))) and \
            _is_elementwise_path(stmt.value, node):
        shape = tuple(int(s) for s in np.shape(prev))
        if isinstance(tgt, ast.Subscript):
            return ("fits", shape, f"the slot `{tgt_text}` has shape {shape_text(shape)}")
        how = "equal" if stmt.value is node else "fits"
        return (how, shape, f"`{tgt_text}` had shape {shape_text(shape)} before this line "
                f"(an update keeps it)")
    if isinstance(tgt, ast.Name) and _is_elementwise_path(stmt.value, node):
        return _next_use(source, stmt, tgt.id, ev)
    return None


def _next_use(source: Source, stmt: ast.stmt, name: str,
              ev: SafeEvaluator) -> tuple[str, Shape, str] | None:
    body = _enclosing_body(source.tree, stmt)
    if body is None:
        return None
    after = body[body.index(stmt) + 1:]
    for s in after[:4]:
        for n in ast.walk(s):
            if isinstance(n, ast.BinOp) and not isinstance(n.op, ast.MatMult):
                sides = (n.left, n.right)
                for me, other in (sides, sides[::-1]):
                    if isinstance(me, ast.Name) and me.id == name:
                        if any(isinstance(x, ast.Name) and x.id == name
                               for x in ast.walk(other)):
                            continue
                        ok, v = ev.try_eval(other)
                        if ok and is_array(v) and v.ndim:
                            shape = tuple(int(x) for x in v.shape)
                            return ("joins", shape, f"the next use, line {s.lineno} "
                                    f"`{' '.join(source.segment(n).split())}`, combines it "
                                    f"with shape {shape_text(shape)}")
        if any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               for n in ast.walk(s)):
            return None
    return None


def _enclosing_body(tree: ast.AST, stmt: ast.stmt) -> list[ast.stmt] | None:
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if isinstance(body, list) and stmt in body:
                return body
    return None


def satisfies(result: Shape, need: tuple[str, Shape, str] | None) -> bool:
    if need is None:
        return True
    how, shape, _ = need
    if how == "equal":
        return tuple(result) == tuple(shape)
    both = _rules.broadcast_shape([tuple(result), tuple(shape)])
    if how == "joins":  # combined elementwise with it, without growing into an outer product
        return both is not None and both in (tuple(result), tuple(shape))
    return both == tuple(shape)


def _outer(op: Op, leaves: list[Leaf], trial: list[Shape], result: Shape) -> bool:
    """The fix turns the operation into an outer product."""
    shapes = [leaf.shape for leaf in leaves]
    if op.kind in ("broadcast", "inplace"):
        biggest = max((math.prod(s) for s in shapes if s is not None), default=0)
        return math.prod(result) > biggest
    ones_before = sum(s.count(1) for s in shapes if s is not None)
    ones_after = sum(tuple(s).count(1) for s in trial)
    return ones_after > ones_before and math.prod(result) > max(
        math.prod(s) for s in shapes if s is not None)


def template_of(op: Op, source: Source, leaves: list[Leaf], fmts: list[str]) -> str | None:
    """The failing expression with leaf ``i`` written as ``fmts[i]`` of ``__mf<i>``."""
    if any(leaf.node is None for leaf in leaves):
        return None
    reps = [(leaf.node, fmt.format(f"__mf{i}")) for i, (leaf, fmt) in
            enumerate(zip(leaves, fmts, strict=True))]
    node = op.node
    if isinstance(node, ast.AugAssign):
        value_reps = reps[1:]
        value = _splice(source, node.value, value_reps)  # type: ignore[arg-type]
        sym = "@" if isinstance(node.op, ast.MatMult) else "+"
        return f"__mf0 {sym} ({value})"
    return _splice(source, node, reps)  # type: ignore[arg-type]


def filter_fixes(op: Op, suggestions: list[Suggestion], source: Source,
                 frame_globals: dict[str, Any], np_name: str,
                 need: tuple[str, Shape, str] | None) -> list[Suggestion]:
    """The suggestions that pass rule 3 (see the module notes), each marked with its check."""
    out = []
    for s in suggestions:
        check = getattr(s, "_check", None)
        if check is None:
            continue
        leaves, fmts, trial = check[:3]
        template = check[3] if len(check) > 3 else template_of(op, source, leaves, fmts)
        if template is None:
            continue
        shapes = [tuple(t) if f == "{}" else tuple(leaf.shape)  # type: ignore[arg-type]
                  for leaf, f, t in zip(leaves, fmts, trial, strict=True)]
        result, kinds = run_template(template, leaves, shapes, frame_globals, np_name)
        if result is None:
            continue
        if isinstance(op.node, ast.AugAssign) and op.operands[0].shape is not None and \
                tuple(result) != tuple(op.operands[0].shape):
            continue
        if _outer(op, leaves, trial, result) or not satisfies(result, need):
            continue
        if op.kind in ("broadcast", "inplace") and tuple(result) not in {
                tuple(leaf.shape) for leaf in op.operands if leaf.shape is not None}:
            continue  # an elementwise result keeps the shape of its larger operand
        s.result_shape = result
        s.checked = f"run on {kinds} stand-ins" + (f"; {need[2]}" if need else "")
        out.append(s)
    return out


def statement_holds(op: Op, source: Source, leaf_of: Any, result: Shape | None,
                    names: dict[str, Shape] | None = None) -> bool:
    """Whether the statement around a nested failing operation still works when the operation
    gives ``result`` (and each name in ``names`` has that shape everywhere in the statement):
    a fix of ``W.T @ W @ H`` in ``H *= (W.T @ V) / (W.T @ W @ H + eps)`` must also fit the
    division and the in-place update. ``leaf_of(node)`` is the :class:`Leaf` of a node. True
    where the statement cannot be checked (a part whose shape is unknown, a call around the
    operation, np.matrix operands)."""
    stmt = _innermost_stmt(source, op.node)
    if result is None or not isinstance(stmt, (ast.Assign, ast.AugAssign)) or \
            stmt is op.node or stmt.value is op.node:
        return True
    names = names or {}
    leaves: list[Shape] = []

    def tree(node: ast.AST) -> Any:
        if node is op.node:
            leaves.append(tuple(result))
        elif isinstance(node, ast.BinOp):
            kind = "matmul" if isinstance(node.op, ast.MatMult) else "broadcast"
            return (kind, tree(node.left), tree(node.right))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return tree(node.operand)
        elif isinstance(node, ast.Name) and node.id in names:
            leaves.append(tuple(names[node.id]))
        else:
            if any(n is op.node for n in ast.walk(node)):
                raise LookupError  # the operation inside a call: its result is not ours to know
            leaf = leaf_of(node)
            if leaf.shape is None or leaf.is_matrix:
                raise LookupError
            leaves.append(tuple(leaf.shape))
        return ("leaf", len(leaves) - 1)

    try:
        t = tree(stmt.value)
        if isinstance(stmt, ast.AugAssign):
            kind = "imatmul" if isinstance(stmt.op, ast.MatMult) else "inplace"
            t = (kind, tree(stmt.target), t)
    except LookupError:
        return True
    return _rules.eval_tree(t, leaves) is not None
