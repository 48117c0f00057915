"""Reading the user's code without running it: scopes, assignments, shape arguments, returns.

The provenance search (``_provenance``) follows a name back through the code; these helpers
answer its questions of one parsed file: the innermost function (or the module) around a line,
the statements of a scope without entering nested functions, the last statement before a line
that assigns a name (for a free variable, in the enclosing functions and then the module),
whether a name is a parameter, the right-hand side of an assignment, which argument of a
constructor (``np.zeros``, ``rng.normal(size=...)``, ``np.random.rand``, ``np.eye``,
``np.linspace``, ``reshape``) gives an axis its size, whether an expression is derived from data
(``.shape``, ``len``), and the ``return <value>`` statements of a function. Nothing here
evaluates the code.
"""

from __future__ import annotations

import ast
from typing import Any

from ._source import Source

__all__ = ["function_node", "returns_of"]

_SHAPE_AT = {  # function name -> position of its shape/size argument (keyword "size"/"shape")
    "zeros": 0, "ones": 0, "empty": 0, "full": 0, "random": 0, "random_sample": 0,
    "standard_normal": 0, "standard_exponential": 0, "standard_cauchy": 0, "sample": 0,
    "ranf": 0, "normal": 2, "uniform": 2, "integers": 2, "randint": 2, "binomial": 2,
    "poisson": 1, "exponential": 1, "choice": 1, "gamma": 2, "beta": 2, "lognormal": 2,
    "laplace": 2, "logistic": 2, "multivariate_normal": 2,
}
_VARARGS = ("rand", "randn")


def _one_line(src: Source, node: ast.AST) -> str:
    if isinstance(node, (ast.For, ast.AsyncFor)):  # the header only, not the loop's body
        text = f"for {_one_line(src, node.target)} in {_one_line(src, node.iter)}:"
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        text = "with " + ", ".join(_one_line(src, i.context_expr) + (
            f" as {_one_line(src, i.optional_vars)}" if i.optional_vars else "")
            for i in node.items) + ":"
    else:
        text = " ".join(src.segment(node).split())
    return text if len(text) <= 100 else text[:97] + "..."


def _scope_of(tree: ast.AST, line: int) -> ast.AST:
    """The innermost function (or the module) whose body contains ``line``."""
    best: ast.AST = tree
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) and \
                node.lineno <= line <= (node.end_lineno or node.lineno) and \
                node.lineno >= getattr(best, "lineno", 0):
            best = node
    return best


def _walk_scope(scope: ast.AST):
    """Statements of a scope, not entering nested functions or classes."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _assigns(stmt: ast.AST, name: str) -> bool:
    targets: list[ast.AST] = []
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store):
                return True
            if isinstance(n, ast.Attribute) and ast.unparse(n) == name:
                return True
    return False


def _static_assignment(src: Source, name: str, line: int) -> ast.stmt | None:
    """The last assignment to ``name`` before ``line`` in the scope of ``line`` (or, for a
    free variable, in the enclosing functions and then the module)."""
    scope = _scope_of(src.tree, line)
    found = [s for s in _walk_scope(scope) if isinstance(s, ast.stmt) and _assigns(s, name)]
    if not found and scope is not src.tree and "." not in name and not _is_param(scope, name):
        enclosing = sorted((n for n in ast.walk(src.tree) if isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n is not scope and
            n.lineno <= line <= (n.end_lineno or n.lineno)), key=lambda n: -n.lineno)
        for outer in [*enclosing, src.tree]:
            found = [s for s in _walk_scope(outer) if isinstance(s, ast.stmt) and
                     _assigns(s, name)]
            if found or _is_param(outer, name):
                break
    before = [s for s in found if s.lineno < line]
    pool = before or found
    return max(pool, key=lambda s: s.lineno) if pool else None


def _is_param(scope: ast.AST, name: str) -> bool:
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return False
    a = scope.args
    return name in [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]


def _stmt_at(src: Source, line: int) -> ast.stmt | None:
    best = None
    for node in ast.walk(src.tree):
        if isinstance(node, ast.stmt) and node.lineno == line and not isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if best is None or isinstance(best, (ast.For, ast.While, ast.If, ast.With)):
                best = node
    return best


def _rhs(stmt: ast.stmt) -> ast.AST | None:
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return stmt.value
    if isinstance(stmt, ast.AugAssign):
        return stmt
    return None


def _func_name(call: ast.Call) -> str:
    f = call.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _shape_arg(call: ast.Call, ndim: int, axis: int) -> ast.AST | None:
    """The node that gives ``axis`` its size in a constructor or reshape call."""
    name = _func_name(call)
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    node = None
    if name in _VARARGS:
        return call.args[axis] if axis < len(call.args) else None
    if name == "reshape":
        args = call.args
        if isinstance(call.func, ast.Attribute) and not (
                isinstance(call.func.value, ast.Name) and call.func.value.id in ("np", "numpy")):
            if len(args) > 1:
                return args[axis] if axis < len(args) else None
            node = args[0] if args else kw.get("shape", kw.get("newshape"))
        else:
            node = args[1] if len(args) > 1 else kw.get("shape", kw.get("newshape"))
    elif name == "eye":
        if axis == 0:
            return call.args[0] if call.args else kw.get("N")
        return (call.args[1] if len(call.args) > 1 else kw.get("M")) or (
            call.args[0] if call.args else None)
    elif name == "linspace" and ndim == 1:
        return call.args[2] if len(call.args) > 2 else kw.get("num")
    elif name == "arange" and ndim == 1 and len(call.args) == 1:
        return call.args[0]
    elif name in _SHAPE_AT:
        pos = _SHAPE_AT[name]
        node = kw.get("size", kw.get("shape"))
        if node is None and len(call.args) > pos:
            node = call.args[pos]
    if node is None:
        return None
    if isinstance(node, (ast.Tuple, ast.List)):
        if len(node.elts) == ndim and not any(isinstance(e, ast.Starred) for e in node.elts):
            return node.elts[axis]
        return None
    return node if ndim == 1 else None


def returns_of(code: Any) -> list[ast.Return] | None:
    """The ``return <value>`` statements of the function of ``code`` (None: source unknown)."""
    import linecache

    lines = linecache.getlines(code.co_filename)
    if not lines:
        return None
    try:
        tree = ast.parse("".join(lines))
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                node.name == code.co_name and (node.lineno == code.co_firstlineno or any(
                    d.lineno == code.co_firstlineno for d in node.decorator_list)):
            return [r for r in _walk_scope(node) if isinstance(r, ast.Return) and
                    r.value is not None]
    return None


def function_node(code: Any) -> ast.FunctionDef | None:
    import linecache

    try:
        tree = ast.parse("".join(linecache.getlines(code.co_filename)))
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == code.co_name and \
                node.lineno == code.co_firstlineno:
            return node
    return None


def _derived(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and n.attr in ("shape", "size", "ndim"):
            return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "len":
            return True
    return False
