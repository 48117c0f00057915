"""Evaluate the side-effect-free part of an expression in a stopped frame.

``matfit explain`` needs the shapes of the operands of a failing NumPy operation, after the fact:
their values were on the interpreter's stack and are gone. It re-evaluates the operand
*expressions* in the failing frame, but only those that cannot change anything:

* names (locals, globals, a few builtins), constants, tuples/lists/slices of those;
* attributes: any attribute of an ndarray from a fixed list (``.T``, ``.shape``, ``.mT``, ...),
  and attributes that are plain stored values (an instance's ``__dict__`` entry, a module
  global) — never a property, descriptor or ``__getattr__``, which run code;
* subscripts of ndarrays and builtin containers;
* unary, binary and comparison operators between arrays and numbers (including ``@``);
* calls of a whitelist of pure NumPy functions and ndarray methods, with safe arguments.

Anything else (a call of a user function, a lambda, a comprehension, a subscript of an object
with its own ``__getitem__``) raises :class:`Unsafe` and is shown by its text only.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import operator
import types
from typing import Any

import numpy as np

__all__ = ["SafeEvaluator", "Unsafe", "is_array", "numpy_alias"]


class Unsafe(Exception):
    """An expression that is not evaluated because it might have side effects."""


_BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.MatMult: operator.matmul, ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
          ast.Not: operator.not_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge}

# attributes of an ndarray that compute nothing, or only a cheap view/scalar
_ARRAY_ATTRS = frozenset({
    "T", "mT", "shape", "ndim", "size", "dtype", "real", "imag", "flat", "itemsize", "nbytes",
    "strides", "A", "A1", "H", "base", "flags",
})
# ndarray methods that only read the array
_ARRAY_METHODS = frozenset({
    "reshape", "transpose", "swapaxes", "squeeze", "ravel", "flatten", "copy", "astype", "sum",
    "mean", "std", "var", "max", "min", "prod", "cumsum", "cumprod", "argmax", "argmin", "dot",
    "conj", "conjugate", "round", "clip", "diagonal", "trace", "all", "any", "take", "repeat",
    "getA", "getA1", "getT", "getH", "item", "tolist", "view",
})
_NUMPY_FUNCTIONS = (
    "array asarray asanyarray ascontiguousarray asmatrix matrix zeros ones empty full zeros_like "
    "ones_like empty_like full_like eye identity arange linspace logspace reshape transpose "
    "swapaxes moveaxis expand_dims squeeze ravel atleast_1d atleast_2d atleast_3d dot matmul vdot "
    "inner outer tensordot einsum kron concatenate stack vstack hstack column_stack dstack "
    "broadcast_to broadcast_arrays tile repeat diag diagflat diagonal trace triu tril sum mean "
    "average std var max min amax amin prod cumsum cumprod argmax argmin abs absolute sign sqrt "
    "square exp expm1 log log1p log2 log10 sin cos tan arcsin arccos arctan sinh cosh tanh "
    "maximum minimum clip where add subtract multiply divide true_divide floor_divide power mod "
    "negative reciprocal floor ceil round isnan isfinite isinf nan_to_num fliplr flipud flip "
    "roll sort argsort cross shape ndim size copy real imag conj hypot arctan2 logical_and "
    "logical_or logical_not equal not_equal less less_equal greater greater_equal all any "
    "count_nonzero nonzero unique median percentile quantile cov corrcoef float64 float32 "
    "int64 int32 bool_ newaxis"
).split()
_LINALG_FUNCTIONS = "inv pinv norm det solve cholesky qr svd eigh eig matrix_rank lstsq".split()
_BUILTINS = {name: getattr(builtins, name) for name in (
    "len", "abs", "min", "max", "int", "float", "complex", "bool", "tuple", "list", "range",
    "round", "slice", "True", "False", "None", "Ellipsis",
)}


def _pure_callables() -> set[int]:
    ids = set()
    for name in _NUMPY_FUNCTIONS:
        f = getattr(np, name, None)
        if f is not None and callable(f):
            ids.add(id(f))
    for name in _LINALG_FUNCTIONS:
        ids.add(id(getattr(np.linalg, name)))
    for f in _BUILTINS.values():
        if callable(f):
            ids.add(id(f))
    return ids


_PURE = _pure_callables()
# exact types only: a user subclass of int/str/np.float64 could run its own __add__
_SCALARS = frozenset({bool, int, float, complex, str, bytes, type(None), type(Ellipsis), slice})


def is_array(x: Any) -> bool:
    """An ndarray, or one of NumPy's own subclasses (np.matrix, np.memmap, masked arrays)."""
    return isinstance(x, np.ndarray) and type(x).__module__.startswith("numpy")


def _is_data(x: Any) -> bool:
    """A value that operators and NumPy functions may receive without running user code."""
    if is_array(x) or type(x) in _SCALARS:
        return True
    if isinstance(x, (np.generic, np.dtype)) and type(x).__module__.startswith("numpy"):
        return True
    if type(x) in (tuple, list):
        return len(x) <= 10_000 and all(_is_data(v) for v in x)
    # a dtype given as a type (`np.ones(3, bool)`, `astype(np.float32)`) runs no user code
    return x in (bool, int, float, complex) or (isinstance(x, type) and issubclass(
        x, np.generic) and x.__module__ == "numpy")


def _writes_in_place(func: Any, args: list, kwargs: dict) -> bool:
    """True when the call would write into one of its arguments (an ``out`` array).

    Re-evaluating ``np.multiply(a, 2, out=a)`` while explaining would change the user's data.
    """
    if kwargs.get("out") is not None:
        return True
    if isinstance(func, np.ufunc):
        return len(args) > func.nin  # ufunc outputs may also be passed positionally
    if getattr(func, "__name__", "") == "clip" and len(args) > (2 if hasattr(func, "__self__")
                                                                 else 3):
        return True
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return False
    return bound.arguments.get("out") is not None


def numpy_alias(namespace: dict[str, Any]) -> str:
    """The name under which the frame sees the numpy module ("np" when none is bound)."""
    for name, value in namespace.items():
        if value is np:
            return name
    return "np"


class SafeEvaluator:
    """Evaluate AST nodes in a frame's namespaces, refusing anything that might have effects.

    Parameters
    ----------
    f_globals, f_locals : dict
        The namespaces of the frame where the expression ran.
    """

    def __init__(self, f_globals: dict[str, Any], f_locals: Any) -> None:
        self.globals = f_globals
        self.locals = f_locals
        # id(node) -> (node, ok, value); the node is kept so that its id cannot be reused by a
        # node built later (the fixes build throw-away nodes, e.g. a call with keepdims=True)
        self._cache: dict[int, tuple[ast.AST, bool, Any]] = {}

    def try_eval(self, node: ast.AST) -> tuple[bool, Any]:
        """(True, value), or (False, reason) when the node is unsafe or raises."""
        key = id(node)
        if key not in self._cache:
            try:
                self._cache[key] = (node, True, self._eval(node))
            except Unsafe as why:
                self._cache[key] = (node, False, str(why))
            except Exception as err:  # a safe expression that fails: report, do not propagate
                self._cache[key] = (node, False, f"raised {type(err).__name__}: {err}")
        _, ok, value = self._cache[key]
        return ok, value

    def eval(self, node: ast.AST) -> Any:
        """The node's value; raises :class:`Unsafe` (or the expression's own error)."""
        ok, value = self.try_eval(node)
        if not ok:
            raise Unsafe(value)
        return value

    # -- one method per node type -------------------------------------------------------
    def _eval(self, node: ast.AST) -> Any:
        method = getattr(self, f"_eval_{type(node).__name__}", None)
        if method is None:
            raise Unsafe(f"{type(node).__name__} expressions are not evaluated")
        return method(node)

    def _eval_Expression(self, node: ast.Expression) -> Any:
        return self.eval(node.body)

    def _eval_Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _eval_Name(self, node: ast.Name) -> Any:
        name = node.id
        try:
            return self.locals[name]
        except KeyError:
            pass
        if name in self.globals:
            return self.globals[name]
        if name in _BUILTINS:
            return _BUILTINS[name]
        raise Unsafe(f"name {name!r} is not defined here")

    def _eval_Attribute(self, node: ast.Attribute) -> Any:
        base = self.eval(node.value)
        attr = node.attr
        if is_array(base):
            if attr in _ARRAY_ATTRS:
                return getattr(base, attr)
            if attr in _ARRAY_METHODS:
                return getattr(base, attr)
            raise Unsafe(f"attribute .{attr} of an array is not evaluated")
        if isinstance(base, types.ModuleType):
            try:
                value = inspect.getattr_static(base, attr)
            except AttributeError:
                raise Unsafe(f"module attribute {attr!r} is resolved lazily") from None
            return value
        if isinstance(base, (np.dtype, np.generic)) or type(base) in (tuple, list):
            raise Unsafe(f"attribute .{attr} is not evaluated")
        # a plain attribute stored on an instance or class: no property, no __getattr__
        try:
            static = inspect.getattr_static(base, attr)
        except AttributeError:
            raise Unsafe(f"attribute .{attr} is computed (__getattr__)") from None
        if isinstance(static, types.MemberDescriptorType):  # a __slots__ entry: stored data
            return getattr(base, attr)
        if isinstance(static, types.FunctionType):
            raise Unsafe(f".{attr} is a method")
        if hasattr(type(static), "__get__"):
            raise Unsafe(f"attribute .{attr} is a descriptor or property")
        return static

    def _eval_Subscript(self, node: ast.Subscript) -> Any:
        base = self.eval(node.value)
        index = self.eval(node.slice)
        if is_array(base) or type(base) in (tuple, list, dict, str):
            if not _is_data(index) and not is_array(index):
                raise Unsafe("index is not plain data")
            return base[index]
        raise Unsafe(f"subscript of a {type(base).__name__} is not evaluated")

    def _eval_Slice(self, node: ast.Slice) -> Any:
        parts = [None if p is None else self.eval(p) for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def _eval_Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self._elements(node.elts))

    def _eval_List(self, node: ast.List) -> Any:
        return list(self._elements(node.elts))

    def _elements(self, elts: list[ast.expr]) -> list[Any]:
        out: list[Any] = []
        for e in elts:
            if isinstance(e, ast.Starred):
                value = self.eval(e.value)
                if type(value) not in (tuple, list):
                    raise Unsafe("only tuples and lists are unpacked")
                out.extend(value)
            else:
                out.append(self.eval(e))
        return out

    def _eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if not _is_data(value):
            raise Unsafe("operator on a non-array object")
        return _UNARY[type(node.op)](value)

    def _eval_BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.eval(node.left), self.eval(node.right)
        if not (_is_data(left) and _is_data(right)):
            raise Unsafe("operator between objects that are not arrays or numbers")
        if type(left) in (tuple, list) or type(right) in (tuple, list):
            if isinstance(node.op, (ast.Add, ast.Mult)) and not (is_array(left) or is_array(right)):
                return _BINOPS[type(node.op)](left, right)
            raise Unsafe("operator with a list operand")
        return _BINOPS[type(node.op)](left, right)

    def _eval_Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        result: Any = True
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comp)
            if type(op) not in _COMPARE or not (_is_data(left) and _is_data(right)):
                raise Unsafe("comparison is not evaluated")
            value = _COMPARE[type(op)](left, right)
            result = value if result is True else np.logical_and(result, value)
            left = right
        return result

    def _eval_Call(self, node: ast.Call) -> Any:
        func = self.eval(node.func)
        bound_array = getattr(func, "__self__", None)
        if is_array(bound_array) and getattr(func, "__name__", "") in _ARRAY_METHODS:
            pass
        elif id(func) not in _PURE:
            name = getattr(func, "__name__", type(func).__name__)
            raise Unsafe(f"call of {name}() is not evaluated (not a known pure NumPy function)")
        args = self._elements(node.args)
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise Unsafe("**kwargs are not evaluated")
            kwargs[kw.arg] = self.eval(kw.value)
        if not all(_is_data(a) for a in args) or not all(_is_data(v) for v in kwargs.values()):
            raise Unsafe("a call argument is not an array or number")
        if _writes_in_place(func, args, kwargs):
            raise Unsafe("a call that writes into an argument (out=) is not evaluated")
        return func(*args, **kwargs)
