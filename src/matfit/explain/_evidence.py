"""What the code around a failing line says about where a shape bug sits.

Small readings of the user's source that the root-cause rules (:mod:`._provenance`) and the
fixes (:mod:`._fixes`) share:

* :func:`reduction`: a line ``m = x.mean(axis=1)`` (or ``np.sum(x, 1)``, any reduction in
  ``_REDUCTIONS``) without ``keepdims``: the reduced expression, its axis, and where they stand
  in the line, so that a fix can rewrite them. Combining ``m`` with ``x`` again is the classic
  axis mistake: the reduction removed the axis the other operand still has.
* :func:`used_since`: the first statement after a name's assignment, in the same scope and
  before the failing line, that uses the name as an operand of an arithmetic operator or a
  product (``E = R - U @ V``). That statement accepted the name's shape, which is evidence that
  the shape is the intended one and the failing line's other operand is not.
* :func:`product_elsewhere`: another line of the file where an attribute (``self.W2``) is an
  operand of ``@``, in any method: ``self.h @ self.W2`` in ``forward`` accepted the shape that
  ``grad @ self.W2`` in ``backward`` rejects.
* :func:`is_product`: whether an expression's own result is a matrix product (``a @ b``,
  ``np.dot(a, b)``, ``a.dot(b)``, ``np.matmul``), the operand whose shape a transposed factor
  gets wrong.
"""

from __future__ import annotations

import ast
import linecache
from typing import NamedTuple

from ._ops import _REDUCTIONS
from ._static import _scope_of

__all__ = ["Reduction", "is_product", "product_elsewhere", "reduction", "used_since"]

_MODULES = ("np", "numpy", "jnp", "torch")


class Reduction(NamedTuple):
    """``target = <call>`` reducing ``base`` along ``axis``; offsets are into the line's text."""

    call: str
    base: str
    axis: int
    axis_span: tuple[int, int]  # the axis argument's characters
    close: int  # the call's closing parenthesis
    names: tuple[str, ...] = ()  # the variables the reduced expression reads


def _int(node: ast.AST | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and type(node.operand.value) is int:
        return -node.operand.value
    return None


def reduction(text: str, target: str) -> Reduction | None:
    """The reduction that line ``text`` assigns to ``target``, or None (see the module notes).

    ``x.mean(1)`` is read as a method of ``x`` and ``np.mean(x, 1)`` as a function, by the
    name in front of the dot.
    """
    try:
        body = ast.parse(text).body
    except SyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], ast.Assign):
        return None
    stmt = body[0]
    if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name) or \
            stmt.targets[0].id != target or not isinstance(stmt.value, ast.Call):
        return None
    call = stmt.value
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else (
        func.id if isinstance(func, ast.Name) else "")
    if name not in _REDUCTIONS or any(k.arg == "keepdims" for k in call.keywords):
        return None
    method = isinstance(func, ast.Attribute) and not (
        isinstance(func.value, ast.Name) and func.value.id in _MODULES)
    base = func.value if method else (call.args[0] if call.args else None)
    axis_node = next((k.value for k in call.keywords if k.arg == "axis"), None)
    if axis_node is None:
        pos = 0 if method else 1
        axis_node = call.args[pos] if len(call.args) > pos else None
    axis = _int(axis_node)
    if base is None or axis is None or axis_node is None:
        return None
    segment = ast.get_source_segment(text, call)
    names = tuple(dict.fromkeys(n.id for n in ast.walk(base) if isinstance(n, ast.Name) and
                                n.id not in _MODULES))
    return Reduction(segment or ast.unparse(call), ast.get_source_segment(text, base) or
                     ast.unparse(base), axis,
                     (axis_node.col_offset, axis_node.end_col_offset or axis_node.col_offset),
                     (call.end_col_offset or 1) - 1, names)


def is_product(node: ast.AST | None) -> bool:
    """Whether ``node``'s own result is a matrix product (see the module notes)."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, ast.MatMult)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute):
            return func.attr in ("dot", "matmul") and (
                len(node.args) == 1 or (isinstance(func.value, ast.Name) and
                                        func.value.id in _MODULES))
    return False


def _tree(filename: str) -> ast.Module | None:
    try:
        return ast.parse("".join(linecache.getlines(filename)), filename)
    except (SyntaxError, ValueError):
        return None


def _operand_is(node: ast.AST, name: str) -> bool:
    while isinstance(node, ast.Attribute) and node.attr in ("T", "mT"):
        node = node.value
    return isinstance(node, ast.Name) and node.id == name


def used_since(filename: str, name: str, after: int, before: int) -> tuple[int, str] | None:
    """(line, its text) of the first statement of lines ``(after, before)`` in the scope of
    line ``before`` that uses ``name`` (or its transpose) as an operand of a binary operator,
    or None (see the module notes)."""
    tree = _tree(filename)
    if tree is None or after >= before:
        return None
    scope = _scope_of(tree, before)
    for node in sorted((n for n in ast.walk(scope) if isinstance(n, ast.BinOp) and
                        after < n.lineno < before), key=lambda n: (n.lineno, n.col_offset)):
        if (_operand_is(node.left, name) or _operand_is(node.right, name)) and \
                _scope_of(tree, node.lineno) is scope:
            return node.lineno, " ".join(linecache.getline(filename, node.lineno).split())
    return None


def product_elsewhere(filename: str, text: str, line: int) -> tuple[int, str] | None:
    """(line, its text) of the first ``@`` in the file, outside ``line``, that has the
    attribute ``text`` (``self.W2``) as an operand, or None (see the module notes)."""
    tree = _tree(filename)
    if tree is None:
        return None
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and
                        isinstance(n.op, ast.MatMult) and n.lineno != line),
                       key=lambda n: (n.lineno, n.col_offset)):
        if text in (ast.unparse(node.left), ast.unparse(node.right)):
            return node.lineno, " ".join(linecache.getline(filename, node.lineno).split())
    return None
