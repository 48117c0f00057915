"""Candidate failing operations: what an AST node computes, and its operands.

A :class:`Op` is one NumPy operation of the user's line (``@``, a broadcasting operator or ufunc,
``np.dot``, a join, a reshape, or any other call), with its operands as :class:`Leaf` objects:
their source text and, when :class:`SafeEvaluator` could evaluate them, their values and shapes.
Nested array operators are also flattened into a tree over leaves (``x @ T @ x`` has the leaves
x, T, x), which the fix search rewrites.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _rules
from ._report import Operand
from ._safe import SafeEvaluator, is_array
from ._source import Source

Shape = tuple[int, ...]

_JOIN = ("concatenate", "stack", "vstack", "hstack", "dstack", "column_stack", "row_stack")
_REDUCTIONS = ("sum", "mean", "std", "var", "max", "min", "prod", "amax", "amin", "median",
               "nansum", "nanmean", "average", "all", "any")


def _category(message: str) -> str:
    """The kind of NumPy shape error, from its message."""
    if "core dimension" in message:
        return "matmul"
    if "remapped shapes" in message:
        return "matmul-batch"
    if "not aligned" in message:
        return "dot"
    if "non-broadcastable output" in message:
        return "inplace"
    if "could not be broadcast" in message:
        return "broadcast"
    if "input array" in message or "need at least one array" in message:
        return "join"
    if "cannot reshape" in message:
        return "reshape"
    return "other"


_KIND_CATEGORIES = {
    "matmul": {"matmul", "matmul-batch"},
    "dot": {"dot"},
    "broadcast": {"broadcast"},
    "inplace": {"inplace", "broadcast"},
    "join": {"join"},
    "reshape": {"reshape"},
    "call": set(),
}


def _shapes_in(message: str) -> list[Shape]:
    """Every "(3,4)"-style tuple in a NumPy message, in order."""
    out = []
    for group in re.findall(r"\(([\d,\s]*)\)", message):
        parts = [p for p in group.replace(" ", "").split(",") if p]
        if all(p.isdigit() for p in parts):
            out.append(tuple(int(p) for p in parts))
    return out


@dataclass
class Leaf:
    """A non-operator sub-expression of the failing expression."""

    node: ast.AST | None
    text: str
    ok: bool
    value: Any
    shape: Shape | None = None
    note: str = ""

    @property
    def is_matrix(self) -> bool:
        return self.ok and isinstance(self.value, np.matrix)


@dataclass
class Op:
    """One candidate failing operation, with its operands."""

    kind: str  # matmul | dot | broadcast | inplace | join | reshape | call
    name: str  # what the report calls it
    node: ast.AST
    operands: list[Leaf]
    op_span: tuple[int, int] | None = None
    tree: _rules.Tree | None = None
    leaves: list[Leaf] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def shapes(self) -> list[Shape | None]:
        return [o.shape for o in self.operands]

    def known(self) -> bool:
        return all(s is not None for s in self.shapes())

    def immediate_tree(self) -> _rules.Tree:
        """The operation over its immediate operands (an in-place one must keep its target)."""
        if isinstance(self.node, ast.AugAssign):
            kind = "imatmul" if self.kind == "matmul" else "inplace"
            return (kind, ("leaf", 0), ("leaf", 1))
        n = len(self.operands)
        kind = self.kind
        tree: _rules.Tree = ("leaf", 0)
        for i in range(1, n):
            tree = (kind, tree, ("leaf", i))
        return tree

    def valid(self) -> bool | None:
        """Whether the operation works on the operands' shapes (None when not all are known)."""
        if not self.known():
            return None
        shapes = self.shapes()
        if self.kind in ("matmul", "dot", "broadcast", "inplace"):
            return _rules.eval_tree(self.immediate_tree(), shapes) is not None  # type: ignore[arg-type]
        if self.kind == "join":
            return _rules.join_shape(self.extra["func"], shapes, self.extra["axis"]) is not None  # type: ignore[arg-type]
        if self.kind == "reshape":
            size = self.extra.get("size")
            target = self.extra.get("target")
            if size is None or target is None:
                return None
            return _rules.reshape_shape(size, target) is not None
        return None


# ---------------------------------------------------------------------------------------------
# building candidate operations from AST nodes


class _Builder:
    def __init__(self, ev: SafeEvaluator, source: Source, np_name: str) -> None:
        self.ev, self.source, self.np = ev, source, np_name

    def leaf(self, node: ast.AST, text: str | None = None) -> Leaf:
        ok, value = self.ev.try_eval(node)
        leaf = Leaf(node, text if text is not None else self.source.segment(node), ok, value)
        _fill_shape(leaf)
        return leaf

    def op(self, node: ast.AST) -> Op | None:
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Compare) and len(node.comparators) == 1:
            left, right = self.leaf(node.left), self.leaf(node.comparators[0])
            if not _maybe_array(left, right):
                return None
            span = self._between(node.left, node.comparators[0])
            return Op("broadcast", "broadcast", node, [left, right], span,
                      ("broadcast", ("leaf", 0), ("leaf", 1)), [left, right])
        if isinstance(node, ast.AugAssign):
            return self._augassign(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        return None

    def _between(self, a: ast.AST, b: ast.AST) -> tuple[int, int] | None:
        """The operator token between two operands (skipping blanks and parentheses)."""
        start = self.source.span_of(a)[1]
        end = self.source.span_of(b)[0]
        text = self.source.text[start:end]
        m = re.search(r"[^\s()\\]+", text)
        if not m:
            return None
        return start + m.start(), start + m.end()

    def _binop_kind(self, node: ast.BinOp, left: Leaf, right: Leaf) -> str:
        if isinstance(node.op, ast.MatMult):
            return "matmul"
        if isinstance(node.op, ast.Mult) and (left.is_matrix or right.is_matrix):
            return "dot"
        return "broadcast"

    def _binop(self, node: ast.BinOp) -> Op | None:
        left, right = self.leaf(node.left), self.leaf(node.right)
        if not _maybe_array(left, right):
            return None
        kind = self._binop_kind(node, left, right)
        leaves: list[Leaf] = []
        tree = self._tree(node, leaves)
        name = {"matmul": "matmul", "dot": "matrix product", "broadcast": "broadcast"}[kind]
        op = Op(kind, name, node, [left, right], self._between(node.left, node.right), tree,
                leaves)
        if kind == "dot":
            op.extra["matrix"] = True
        return op

    def _tree(self, node: ast.AST, leaves: list[Leaf]) -> _rules.Tree:
        """Flatten nested array operators into a tree over leaves."""
        if isinstance(node, ast.BinOp) and len(leaves) < 8:
            left, right = self.leaf(node.left), self.leaf(node.right)
            both = left.ok and right.ok and _is_arrayish(left.value) and _is_arrayish(right.value)
            if both or (not leaves and _maybe_array(left, right)):
                kind = self._binop_kind(node, left, right)
                return (kind, self._tree(node.left, leaves), self._tree(node.right, leaves))
        leaf = self.leaf(node)
        leaves.append(leaf)
        return ("leaf", len(leaves) - 1)

    def _augassign(self, node: ast.AugAssign) -> Op | None:
        target, value = self.leaf(node.target), self.leaf(node.value)
        if not _maybe_array(target, value):
            return None
        span = self._between(node.target, node.value)
        if isinstance(node.op, ast.MatMult):
            return Op("matmul", "matmul", node, [target, value], span,
                      ("imatmul", ("leaf", 0), ("leaf", 1)), [target, value])
        return Op("inplace", "in-place broadcast", node, [target, value], span,
                  ("inplace", ("leaf", 0), ("leaf", 1)), [target, value])

    def _call(self, node: ast.Call) -> Op | None:
        func_ok, func = self.ev.try_eval(node.func)
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        owner = None
        if isinstance(node.func, ast.Attribute):
            owner = self.leaf(node.func.value)
            if not (owner.ok and is_array(owner.value)):
                owner = None
        fspan = self.source.span_of(node.func)
        args = node.args
        if any(isinstance(a, ast.Starred) for a in args):
            return None
        kw = {k.arg: k.value for k in node.keywords if k.arg}

        def is_np(name: str) -> bool:
            return func_ok and getattr(np, name, None) is func

        if owner is not None and method == "dot" and len(args) == 1:
            ops = [owner, self.leaf(args[0])]
            return Op("dot", "dot", node, ops, fspan, ("dot", ("leaf", 0), ("leaf", 1)), ops)
        if owner is not None and method == "reshape":
            return self._reshape(node, owner, args, kw, fspan, method=True)
        if is_np("dot") or is_np("matmul"):
            if len(args) < 2:
                return None
            kind = "dot" if is_np("dot") else "matmul"
            ops = [self.leaf(args[0]), self.leaf(args[1])]
            return Op(kind, kind, node, ops, fspan, (kind, ("leaf", 0), ("leaf", 1)), ops)
        if is_np("reshape") and args:
            return self._reshape(node, self.leaf(args[0]), args[1:], kw, fspan, method=False)
        for name in _JOIN:
            if is_np(name):
                return self._join(node, name, args, kw, fspan)
        if is_np("where") and len(args) == 3:
            ops = [self.leaf(a) for a in args]
            tree = ("broadcast", ("broadcast", ("leaf", 0), ("leaf", 1)), ("leaf", 2))
            return Op("broadcast", "broadcast", node, ops, fspan, tree, ops)
        if func_ok and isinstance(func, np.ufunc) and len(args) >= func.nin >= 2:
            ops = [self.leaf(a) for a in args[: func.nin]]
            tree: _rules.Tree = ("leaf", 0)
            for i in range(1, func.nin):
                tree = ("broadcast", tree, ("leaf", i))
            return Op("broadcast", "broadcast", node, ops, fspan, tree, ops)
        # any other call: show its array arguments
        ops = [self.leaf(a) for a in args]
        ops += [self.leaf(v, f"{k}={self.source.segment(v)}") for k, v in kw.items()]
        ops = [o for o in ops if o.shape is not None and (o.ok and is_array(o.value))]
        if owner is not None:
            ops.insert(0, owner)
        if not ops:
            return None
        return Op("call", "call", node, ops, fspan)

    def _reshape(self, node, owner: Leaf, args, kw, fspan, *, method: bool) -> Op:
        target = None
        shape_nodes = list(args)
        if not shape_nodes:
            key = "shape" if "shape" in kw else "newshape"
            if key in kw:
                shape_nodes = [kw[key]]
        values = [self.ev.try_eval(a) for a in shape_nodes]
        if values and all(ok for ok, _ in values):
            vals = [v for _, v in values]
            if len(vals) == 1 and isinstance(vals[0], (tuple, list)):
                vals = list(vals[0])
            elif len(vals) == 1 and isinstance(vals[0], (int, np.integer)):
                vals = [vals[0]]
            if all(isinstance(v, (int, np.integer)) for v in vals):
                target = tuple(int(v) for v in vals)
        size = None
        if owner.ok and (is_array(owner.value) or owner.shape is not None):
            size = math.prod(owner.shape) if owner.shape is not None else None
        op = Op("reshape", "reshape", node, [owner], fspan)
        form = "varargs" if len(args) > 1 else ("tuple" if not args or isinstance(
            values[0][1], (tuple, list)) else "int")
        op.extra.update(target=target, size=size, method=method, form=form)
        return op

    def _join(self, node, func: str, args, kw, fspan) -> Op | None:
        if not args:
            return None
        seq = args[0]
        axis_node = kw.get("axis", args[1] if len(args) > 1 else None)
        axis: Any = 0
        if axis_node is not None:
            ok, axis = self.ev.try_eval(axis_node)
            if not ok:
                return None
        if isinstance(seq, (ast.List, ast.Tuple)) and not any(
                isinstance(e, ast.Starred) for e in seq.elts):
            ops = [self.leaf(e) for e in seq.elts]
        else:
            ok, value = self.ev.try_eval(seq)
            if not ok or type(value) not in (list, tuple):
                return None
            base = self.source.segment(seq)
            ops = []
            for i, v in enumerate(value):
                leaf = Leaf(None, f"{base}[{i}]", True, v)
                _fill_shape(leaf)
                ops.append(leaf)
        op = Op("join", func if func != "row_stack" else "vstack", node, ops, fspan)
        op.extra.update(func=func, axis=axis, seq=seq, axis_given=axis_node is not None)
        return op


def _is_arrayish(value: Any) -> bool:
    return is_array(value) or isinstance(value, (int, float, complex, np.generic))


def _maybe_array(*leaves: Leaf) -> bool:
    """Some operand is an array, or could be (not evaluated)."""
    if any(leaf.ok and is_array(leaf.value) for leaf in leaves):
        return True
    return any(not leaf.ok for leaf in leaves) and all(
        not leaf.ok or _is_arrayish(leaf.value) or type(leaf.value) in (list, tuple)
        for leaf in leaves)


def _fill_shape(leaf: Leaf) -> None:
    if not leaf.ok:
        return
    v = leaf.value
    if is_array(v):
        leaf.shape = tuple(int(s) for s in v.shape)
    elif isinstance(v, (int, float, complex, bool, np.generic)):
        leaf.shape = ()
    elif type(v) in (list, tuple):
        try:
            leaf.shape = tuple(int(s) for s in np.shape(v))
        except ValueError:  # ragged
            leaf.shape = None
    elif (type(v).__module__ or "").split(".")[0] == "pandas":
        shape = getattr(v, "shape", None)  # pandas' own property, no user code
        if type(shape) is tuple and all(type(s) is int for s in shape):
            leaf.shape = shape


def _operand(leaf: Leaf) -> Operand:
    if leaf.ok:
        v = leaf.value
        if isinstance(v, np.matrix):
            return Operand(leaf.text, leaf.shape, str(v.dtype), "matrix", leaf.note)
        if is_array(v):
            return Operand(leaf.text, leaf.shape, str(v.dtype), "ndarray", leaf.note)
        if type(v) in (list, tuple):
            return Operand(leaf.text, leaf.shape, None, type(v).__name__, leaf.note)
        if (type(v).__module__ or "").split(".")[0] == "pandas":
            return Operand(leaf.text, leaf.shape, None, f"pandas {type(v).__name__}", leaf.note)
        return Operand(leaf.text, leaf.shape, getattr(v, "dtype", None) and str(v.dtype),
                       type(v).__name__, leaf.note)
    note = leaf.note or f"not evaluated: {leaf.value}"
    return Operand(leaf.text, leaf.shape, None, "unknown", note)


# ---------------------------------------------------------------------------------------------
# text helpers shared by the conflict and fix modules


def _q(text: str) -> str:
    return "`" + " ".join(text.split()) + "`"


def _atomic(node: ast.AST | None, text: str) -> str:
    if node is None or isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call,
                                         ast.Constant)):
        return text
    return f"({text})"


def _expr_text(op: Op) -> str:
    return " ".join(op.extra.get("expr_text", "").split())


def _size(shape: Shape) -> int:
    return math.prod(shape)


def _splice(source: Source, node: ast.AST, replacements: list[tuple[ast.AST, str]]) -> str:
    start, end = source.span_of(node)
    text = source.text[start:end]
    for sub, new in sorted(replacements, key=lambda r: source.span_of(r[0])[0], reverse=True):
        s, e = source.span_of(sub)
        text = text[: s - start] + new + text[e - start:]
    return " ".join(text.split())


def _fill_from_message(op: Op, message: str) -> None:
    """Take unknown operand shapes from NumPy's message when it lists them."""
    shapes = _shapes_in(message)
    category = _category(message)
    if category in ("dot", "broadcast") and op.kind in ("dot", "broadcast", "matmul"):
        listed = shapes[: len(op.operands)]
        if len(listed) == len(op.operands):
            for leaf, shape in zip(op.operands, listed, strict=True):
                if leaf.shape is None:
                    leaf.shape = shape
                    leaf.note = "shape from NumPy's message; the expression was not evaluated"
    if category == "inplace" and op.kind == "inplace" and shapes:
        target = op.operands[0]
        if target.shape is None:
            target.shape = shapes[0]
            target.note = "shape from NumPy's message"
