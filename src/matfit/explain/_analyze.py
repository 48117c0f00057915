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
import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

from ..shapes import _axis_word
from . import _rules
from ._report import Explanation, Operand, Suggestion, shape_text
from ._safe import SafeEvaluator, is_array, numpy_alias
from ._source import (
    Source,
    failing_node_candidates,
    instruction_span,
    load_source,
    user_traceback,
)

__all__ = ["explain_exception"]

Shape = tuple[int, ...]

_JOIN = ("concatenate", "stack", "vstack", "hstack", "dstack", "column_stack", "row_stack")
_REDUCTIONS = ("sum", "mean", "std", "var", "max", "min", "prod", "amax", "amin", "median",
               "nansum", "nanmean", "average", "all", "any")
_MAX_SUGGESTIONS = 4


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


def _operand(leaf: Leaf) -> Operand:
    if leaf.ok:
        v = leaf.value
        if isinstance(v, np.matrix):
            return Operand(leaf.text, leaf.shape, str(v.dtype), "matrix", leaf.note)
        if is_array(v):
            return Operand(leaf.text, leaf.shape, str(v.dtype), "ndarray", leaf.note)
        if type(v) in (list, tuple):
            return Operand(leaf.text, leaf.shape, None, type(v).__name__, leaf.note)
        return Operand(leaf.text, leaf.shape, getattr(v, "dtype", None) and str(v.dtype),
                       type(v).__name__, leaf.note)
    note = leaf.note or f"not evaluated: {leaf.value}"
    return Operand(leaf.text, leaf.shape, None, "unknown", note)


# ---------------------------------------------------------------------------------------------
# conflicts


def _q(text: str) -> str:
    return "`" + " ".join(text.split()) + "`"


def _axis_phrase(axis: int, ndim: int, size: int) -> str:
    return _axis_word(axis, ndim, size)


def _matmul_conflict(op: Op) -> tuple[str, list[dict]]:
    (a, b), (A, B) = op.shapes(), (op.operands[0].text, op.operands[1].text)
    assert a is not None and b is not None
    if op.kind == "dot" and (len(a) == 0 or len(b) == 0):
        return "", []
    ax_a = len(a) - 1
    ax_b = len(b) - 2 if len(b) >= 2 else 0
    ka, kb = a[ax_a], b[ax_b]
    sym = _q(_expr_text(op))
    if op.kind == "dot":
        rule = (f"{'`*` on np.matrix is the matrix product (np.dot), not elementwise: ' if op.extra.get('matrix') else ''}"  # noqa: E501
                f"np.dot contracts the last axis of {_q(A)} with the "
                f"{'only' if len(b) == 1 else 'second-to-last'} axis of {_q(B)}")
    else:
        rule = (f"{sym} contracts the last axis of {_q(A)} with the "
                f"{'only' if len(b) == 1 else 'second-to-last'} axis of {_q(B)} "
                f"(matmul core dimension k)")
    dims = [{"operand": A, "axis": ax_a, "size": ka}, {"operand": B, "axis": ax_b, "size": kb}]
    if ka != kb:
        what_a = _axis_phrase(ax_a, len(a), ka) + (f" (dim {ax_a})" if len(a) <= 2 else "")
        what_b = _axis_phrase(ax_b, len(b), kb) + (f" (dim {ax_b})" if len(b) <= 2 else "")
        return (f"{_q(A)} has {what_a} but {_q(B)} has {what_b}; "
                f"{rule}, so the two must be equal."), dims
    # core agrees: the batch (leading) axes do not broadcast
    ba, bb = a[:-2], b[:-2]
    bad = []
    for i in range(1, max(len(ba), len(bb)) + 1):
        sa = ba[-i] if i <= len(ba) else 1
        sb = bb[-i] if i <= len(bb) else 1
        if sa != sb and 1 not in (sa, sb):
            bad.append((len(ba) - i, sa, len(bb) - i, sb))
    if not bad:
        return "", []
    ia, sa, ib, sb = bad[0]
    dims = [{"operand": A, "axis": ia, "size": sa}, {"operand": B, "axis": ib, "size": sb}]
    return (f"the core dimensions agree (k = {ka}), but the batch axes (all but the last two) do "
            f"not broadcast: {_q(A)} has batch shape {shape_text(ba)} and {_q(B)} has "
            f"{shape_text(bb)}; {_q(A)} has {sa} along axis {ia} and {_q(B)} has {sb} along "
            f"axis {ib}: sizes must be equal or 1."), dims


def _broadcast_conflict(texts: list[str], shapes: list[Shape]) -> tuple[str, list[dict]]:
    ndim = max(len(s) for s in shapes)
    for i in range(1, ndim + 1):
        sizes = [(t, len(s) - i, s[-i]) for t, s in zip(texts, shapes, strict=True) if i <= len(s)]
        distinct = {z for _, _, z in sizes if z != 1}
        if len(distinct) > 1:
            sizes = [x for x in sizes if x[2] != 1]
            parts = [f"{_q(t)} has {z} (its axis {ax})" for t, ax, z in sizes]
            described = " and ".join(parts)
            all_shapes = " and ".join(shape_text(s) for s in shapes)
            dims = [{"operand": t, "axis": ax, "size": z} for t, ax, z in sizes]
            return (f"broadcasting aligns the shapes {all_shapes} from the right; at axis -{i} "
                    f"{described}: sizes there must be equal, or 1."), dims
    return "", []


def _inplace_conflict(op: Op) -> tuple[str, list[dict]]:
    (t, v), (T, V) = op.shapes(), (op.operands[0].text, op.operands[1].text)
    assert t is not None and v is not None
    full = _rules.broadcast_shape([t, v])
    if full is None:
        return _broadcast_conflict([T, V], [t, v])
    dims = [{"operand": T, "axis": len(t) - i, "size": t[-i]}
            for i in range(1, len(full) + 1) if i <= len(t) and t[-i] != full[-i]]
    return (f"the in-place operator writes its result into {_q(T)} of shape {shape_text(t)}, "
            f"but {_q(T)} and {_q(V)} broadcast to {shape_text(full)}: an in-place operator "
            f"cannot change the shape of its target."), dims


def _join_conflict(op: Op) -> tuple[str, list[dict]]:
    func, axis = op.extra["func"], op.extra["axis"]
    shapes = op.shapes()
    prepared, ax, mode = _rules.join_prepare(func, shapes, axis)  # type: ignore[arg-type]
    texts = [o.text for o in op.operands]
    if not prepared:
        return "no arrays to join.", []
    first = prepared[0]
    for t, s in zip(texts[1:], prepared[1:], strict=True):
        if len(s) != len(first):
            return (f"all arrays must have the same number of dimensions{' after ' + func + ' promotes 1-D inputs' if func not in ('concatenate', 'stack') else ''}, "  # noqa: E501
                    f"but {_q(texts[0])} is {len(first)}-D {shape_text(first)} and {_q(t)} is "
                    f"{len(s)}-D {shape_text(s)}."), [
                {"operand": texts[0], "axis": None, "size": len(first)},
                {"operand": t, "axis": None, "size": len(s)}]
    if mode == "stack":
        for t, s in zip(texts[1:], prepared[1:], strict=True):
            if s != first:
                axes = [i for i in range(len(s)) if s[i] != first[i]]
                i = axes[0]
                return (f"np.stack needs arrays of one shape, but {_q(texts[0])} has shape "
                        f"{shape_text(first)} and {_q(t)} has {shape_text(s)} (axis {i}: "
                        f"{first[i]} vs {s[i]})."), [
                    {"operand": texts[0], "axis": i, "size": first[i]},
                    {"operand": t, "axis": i, "size": s[i]}]
        return "", []
    if ax is None:
        return "", []
    try:
        cax = ax % len(first)
    except ZeroDivisionError:
        return f"{func} cannot join 0-d arrays.", []
    for t, s in zip(texts[1:], prepared[1:], strict=True):
        for i in range(len(s)):
            if i != cax and s[i] != first[i]:
                return (f"{func} joins along axis {cax}, so every other axis must match, but "
                        f"along axis {i} {_q(texts[0])} has {first[i]} and {_q(t)} has "
                        f"{s[i]} (shapes {shape_text(first)} and {shape_text(s)})."), [
                    {"operand": texts[0], "axis": i, "size": first[i]},
                    {"operand": t, "axis": i, "size": s[i]}]
    return "", []


def _reshape_conflict(op: Op) -> tuple[str, list[dict]]:
    size, target = op.extra.get("size"), op.extra.get("target")
    leaf = op.operands[0]
    if size is None or target is None:
        return "", []
    known = math.prod(t for t in target if t != -1)
    if -1 in target:
        why = (f"with -1 the other axes hold {known} elements, which does not divide {size}"
               if known else "the other axes hold 0 elements")
    else:
        why = f"shape {shape_text(target)} holds {known}"
    return (f"{_q(leaf.text)} has {size} elements (shape {shape_text(leaf.shape)}) but {why}: "
            f"reshape keeps the number of elements."), [
        {"operand": leaf.text, "axis": None, "size": size}]


# ---------------------------------------------------------------------------------------------
# suggestions


def _atomic(node: ast.AST | None, text: str) -> str:
    if node is None or isinstance(node, (ast.Name, ast.Attribute, ast.Subscript, ast.Call,
                                         ast.Constant)):
        return text
    return f"({text})"


def _variants(leaf: Leaf, batched: bool, kind: str, np_name: str,
              ev: SafeEvaluator, source: Source) -> list[tuple[str, Shape, float]]:
    """Rewrites of one leaf: (text, shape, cost)."""
    shape = leaf.shape
    if shape is None or not leaf.ok:
        return []
    t = _atomic(leaf.node, " ".join(leaf.text.split()))
    out: list[tuple[str, Shape, float]] = []
    nd = len(shape)
    tcost = 1.2 if kind == "broadcast" else 1.0
    if leaf.is_matrix:
        if shape[0] != shape[1]:
            out.append((f"{t}.T", shape[::-1], tcost))
        return out
    if kind == "broadcast":
        out.extend(_keepdims_variant(leaf, ev, source))
    if nd == 1:
        out += [(f"{t}[:, None]", (shape[0], 1), 1.0), (f"{t}[None, :]", (1, shape[0]), 1.1)]
    elif nd == 2:
        if shape[0] != shape[1]:
            out.append((f"{t}.T", shape[::-1], tcost))
        if batched:
            out += [(f"{t}[:, None, :]", (shape[0], 1, shape[1]), 1.0),
                    (f"{t}[:, :, None]", (shape[0], shape[1], 1), 1.0)]
    elif nd >= 3 and shape[-1] != shape[-2]:
        out.append((f"{np_name}.swapaxes({leaf.text}, -1, -2)",
                    (*shape[:-2], shape[-1], shape[-2]), tcost))
    return [v for v in out if v[1] != shape or "keepdims" in v[0]]


def _keepdims_variant(leaf: Leaf, ev: SafeEvaluator, source: Source) -> list:
    node = leaf.node
    if not isinstance(node, ast.Call) or any(k.arg == "keepdims" for k in node.keywords):
        return []
    name = node.func.attr if isinstance(node.func, ast.Attribute) else (
        node.func.id if isinstance(node.func, ast.Name) else "")
    if name not in _REDUCTIONS:
        return []
    has_axis = any(k.arg == "axis" for k in node.keywords) or (
        len(node.args) >= (1 if isinstance(node.func, ast.Attribute) and _is_method(node, ev)
                           else 2))
    if not has_axis:
        return []
    new = ast.Call(func=node.func, args=node.args,
                   keywords=[*node.keywords, ast.keyword(arg="keepdims",
                                                         value=ast.Constant(True))])
    ok, value = ev.try_eval(new)
    if not ok or not is_array(value):
        return []
    text = source.segment(node)
    text = " ".join(text.split())
    new_text = text[:-1].rstrip() + ", keepdims=True)"
    return [(new_text, tuple(value.shape), 0.5)]


def _is_method(node: ast.Call, ev: SafeEvaluator) -> bool:
    assert isinstance(node.func, ast.Attribute)
    ok, value = ev.try_eval(node.func.value)
    return ok and is_array(value)


def _splice(source: Source, node: ast.AST, replacements: list[tuple[ast.AST, str]]) -> str:
    start, end = source.span_of(node)
    text = source.text[start:end]
    for sub, new in sorted(replacements, key=lambda r: source.span_of(r[0])[0], reverse=True):
        s, e = source.span_of(sub)
        text = text[: s - start] + new + text[e - start:]
    return " ".join(text.split())


def _expr_text(op: Op) -> str:
    return " ".join(op.extra.get("expr_text", "").split())


def _size(shape: Shape) -> int:
    return math.prod(shape)


def _tree_suggestions(op: Op, ev: SafeEvaluator, source: Source, np_name: str) -> list:
    """Rewrites of up to two leaves that make the expression valid: (rank, Suggestion)."""
    leaves, tree = op.leaves, op.tree
    if tree is None or not leaves or any(leaf.shape is None or leaf.node is None
                                         for leaf in leaves):
        leaves = op.operands
        tree = op.immediate_tree()
        if any(leaf.shape is None or leaf.node is None for leaf in leaves):
            return []
    shapes = [leaf.shape for leaf in leaves]
    batched = any(len(s) >= 3 for s in shapes)  # type: ignore[arg-type]
    kind = "broadcast" if op.kind in ("broadcast", "inplace") else "matmul"
    variants = [_variants(leaf, batched, kind, np_name, ev, source) for leaf in leaves]
    if isinstance(op.node, ast.AugAssign):
        variants[0] = []  # the target of an in-place operator cannot be rewritten
    found = []
    n = len(leaves)
    for k in (1, 2):
        for idx in itertools.combinations(range(n), k):
            for choice in itertools.product(*[variants[i] for i in idx]):
                trial = list(shapes)
                for i, (_, shape, _) in zip(idx, choice, strict=True):
                    trial[i] = shape
                result = _rules.eval_tree(tree, trial)  # type: ignore[arg-type]
                if result is None:
                    continue
                reps = [(leaves[i].node, text) for i, (text, _, _) in zip(idx, choice, strict=True)]
                expr = _splice(source, op.node, reps)  # type: ignore[arg-type]
                cost = sum(c for _, _, c in choice)
                found.append(((_size(result), k, cost), Suggestion(
                    f"{_q(expr)} gives shape {shape_text(result)}", expr, result)))
    return found


def _einsum_suggestion(op: Op, np_name: str) -> list:
    """A batched product x_i^T M_i y_i written as np.einsum, when the leaves fit that pattern."""
    leaves, tree = op.leaves, op.tree
    if op.kind != "matmul" or tree is None or not (2 <= len(leaves) <= 3):
        return []
    if any(leaf.shape is None or leaf.is_matrix for leaf in leaves):
        return []
    if "broadcast" in repr(tree) or "dot" in repr(tree):
        return []
    shapes = [leaf.shape for leaf in leaves]
    nds = [len(s) for s in shapes]  # type: ignore[arg-type]
    if 3 not in nds or any(d not in (2, 3) for d in nds):
        return []
    letters = iter("ijklm")
    subs = []
    prev = next(letters)
    for pos, d in enumerate(nds):
        if d == 3:
            nxt = next(letters)
            subs.append(f"n{prev}{nxt}")
            prev = nxt
        elif pos == 0:
            subs.append(f"n{prev}")
        elif pos == len(nds) - 1:
            subs.append(f"n{prev}")
        else:
            return []
    last = "" if nds[-1] == 2 else prev
    first = "" if nds[0] == 2 else "i"
    out_subs = "n" + (first if nds[0] == 3 else "") + last
    spec = ",".join(subs) + "->" + out_subs
    result = _rules.einsum_shape(spec, shapes)  # type: ignore[arg-type]
    if result is None:
        return []
    args = ", ".join(" ".join(leaf.text.split()) for leaf in leaves)
    expr = f'{np_name}.einsum("{spec}", {args})'
    what = "one value per sample" if len(result) == 1 else "per-sample products"
    return [((_size(result), 1, 0.5), Suggestion(
        f"{_q(expr)} gives shape {shape_text(result)} ({what} along the shared first axis)",
        expr, result))]


def _swap_suggestion(op: Op, source: Source) -> list:
    if op.kind not in ("matmul", "dot") or not isinstance(op.node, ast.BinOp) or not op.known():
        return []
    a, b = op.operands
    result = _rules.eval_tree((op.kind, ("leaf", 0), ("leaf", 1)), [b.shape, a.shape])  # type: ignore[list-item]
    if result is None:
        return []
    sym = source.text[op.op_span[0]:op.op_span[1]] if op.op_span else "@"
    expr = f"{_atomic(b.node, b.text)} {sym} {_atomic(a.node, a.text)}"
    expr = " ".join(expr.split())
    return [((_size(result), 2, 2.0), Suggestion(
        f"{_q(expr)} (the other order) gives shape {shape_text(result)}", expr, result))]


def _multiply_suggestion(op: Op, np_name: str) -> list:
    if not op.extra.get("matrix") or not op.known():
        return []
    result = _rules.broadcast_shape(op.shapes())  # type: ignore[arg-type]
    if result is None:
        return []
    a, b = op.operands
    expr = f"{np_name}.multiply({' '.join(a.text.split())}, {' '.join(b.text.split())})"
    return [((_size(result), 1, 1.0), Suggestion(
        f"{_q(expr)} gives shape {shape_text(result)} if you meant the elementwise product",
        expr, result))]


def _requirements(op: Op, dims: list[dict]) -> list[Suggestion]:
    """'`H` must have 60 rows': change one conflicting size of one operand, checked."""
    if not op.known() or op.kind not in ("matmul", "dot", "broadcast", "inplace"):
        return []
    shapes = [tuple(s) for s in op.shapes()]  # type: ignore[arg-type]
    tree = op.immediate_tree()
    out = []
    by_text = {}
    for i, o in enumerate(op.operands):
        by_text.setdefault(o.text, i)
    sizes = [d["size"] for d in dims]
    for d in reversed(dims):
        i = by_text.get(d["operand"])
        if i is None or d["axis"] is None or (isinstance(op.node, ast.AugAssign) and i == 0):
            continue
        if _atomic(op.operands[i].node, "x") != "x":
            continue  # "`x @ T` must have ..." is not a change anyone can make directly
        shape = shapes[i]
        others = [s for s in sizes if s != d["size"]]
        for new in dict.fromkeys(others + ([1] if op.kind in ("broadcast", "inplace") else [])):
            trial = list(shapes)
            changed = list(shape)
            changed[d["axis"]] = new
            trial[i] = tuple(changed)
            result = _rules.eval_tree(tree, trial)  # type: ignore[arg-type]
            if result is None:
                continue
            leaf = op.operands[i]
            need = _axis_word(d["axis"], len(shape), new)
            text = (f"{_q(leaf.text)} must have {need} (it has {d['size']}): with shape "
                    f"{shape_text(tuple(changed))}, {_q(_expr_text(op))} gives shape "
                    f"{shape_text(result)}")
            out.append(Suggestion(text, None, result))
            break
    return out


def _join_suggestions(op: Op, source: Source, np_name: str) -> list[Suggestion]:
    if not op.known():
        return []
    func, axis = op.extra["func"], op.extra["axis"]
    shapes = [tuple(s) for s in op.shapes()]  # type: ignore[arg-type]
    seq = op.extra["seq"]
    seq_text = " ".join(source.segment(seq).split())
    out: list[tuple[tuple, Suggestion]] = []
    # another axis, or another joining function
    ndim = max(len(s) for s in shapes) if shapes else 0
    tries: list[tuple[str, Any]] = []
    if func in ("concatenate", "stack"):
        n_axes = ndim + (1 if func == "stack" else 0)
        tries += [(func, ax) for ax in range(n_axes) if ax != (axis % n_axes if isinstance(
            axis, int) and n_axes else axis)]
        other = "stack" if func == "concatenate" else "concatenate"
        tries += [(other, ax) for ax in range(ndim + (1 if other == "stack" else 0))]
    else:
        tries += [(f, None) for f in ("vstack", "hstack", "column_stack", "dstack") if f != func]
    for rank, (f, ax) in enumerate(tries):
        result = _rules.join_shape(f, shapes, 0 if ax is None else ax)
        if result is None:
            continue
        call = f"{np_name}.{f}({seq_text}" + (f", axis={ax})" if ax is not None else ")")
        out.append(((0, rank), Suggestion(f"{_q(call)} gives shape {shape_text(result)}", call,
                                          result)))
    # rewrite one operand (a transpose, or an added axis for a dimension mismatch)
    if isinstance(seq, (ast.List, ast.Tuple)):
        for i, leaf in enumerate(op.operands):
            if leaf.shape is None or leaf.node is None:
                continue
            t = _atomic(leaf.node, " ".join(leaf.text.split()))
            cands = []
            if len(leaf.shape) == 2 and leaf.shape[0] != leaf.shape[1]:
                cands.append((f"{t}.T", leaf.shape[::-1]))
            if len(leaf.shape) == 1:
                cands += [(f"{t}[None, :]", (1, leaf.shape[0])),
                          (f"{t}[:, None]", (leaf.shape[0], 1))]
            for text, shape in cands:
                trial = list(shapes)
                trial[i] = shape
                result = _rules.join_shape(func, trial, axis)
                if result is None:
                    continue
                expr = _splice(source, op.node, [(leaf.node, text)])
                out.append(((1, i), Suggestion(f"{_q(expr)} gives shape {shape_text(result)}",
                                               expr, result)))
    out.sort(key=lambda r: r[0])
    return [s for _, s in out]


def _reshape_call(op: Op, source: Source, shape: list[int]) -> str:
    """The failing reshape call, rewritten with ``shape`` in the form the user wrote."""
    func_text = " ".join(source.segment(op.node.func).split())  # type: ignore[attr-defined]
    args = ", ".join(str(t) for t in shape)
    as_tuple = f"({args}{',' if len(shape) == 1 else ''})"
    if not op.extra.get("method"):
        return f"{func_text}({' '.join(op.operands[0].text.split())}, {as_tuple})"
    if op.extra.get("form") == "varargs" or (op.extra.get("form") == "int" and len(shape) == 1):
        return f"{func_text}({args})"
    return f"{func_text}({as_tuple})"


def _divisors_near(size: int, target: int) -> list[int]:
    """The divisors of ``size`` just below and just above ``target``."""
    if size <= 0 or size > 10**12:
        return []
    divs = set()
    i = 1
    while i * i <= size:
        if size % i == 0:
            divs.update((i, size // i))
        i += 1
    below = [d for d in divs if d < target]
    above = [d for d in divs if d > target]
    return ([max(below)] if below else []) + ([min(above)] if above else [])


def _reshape_suggestions(op: Op, source: Source) -> list[Suggestion]:
    size, target = op.extra.get("size"), op.extra.get("target")
    if size is None or target is None:
        return []
    out = []
    if -1 not in target:  # let NumPy work out one axis
        for i in range(len(target)):
            trial = list(target)
            trial[i] = -1
            result = _rules.reshape_shape(size, trial)
            if result is not None:
                call = _reshape_call(op, source, trial)
                out.append(Suggestion(f"{_q(call)} gives shape {shape_text(result)} (-1 lets "
                                      f"NumPy work out axis {i})", call, result))
    if not out:  # change one size to a divisor of the number of elements
        for i, t in enumerate(target):
            if t == -1:
                continue
            for d in _divisors_near(size, t):
                trial = list(target)
                trial[i] = d
                result = _rules.reshape_shape(size, trial)
                if result is not None:
                    call = _reshape_call(op, source, trial)
                    out.append(Suggestion(f"{_q(call)} gives shape {shape_text(result)} ({d} "
                                          f"divides {size}; {t} does not)", call, result))
    return out


# ---------------------------------------------------------------------------------------------
# the entry point


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
