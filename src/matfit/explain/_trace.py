"""A shape history of the user's own frames, recorded while a script runs.

Implementation notes
--------------------
* Mechanism: ``sys.settrace`` (Python 3.11 has no ``sys.monitoring``). The global trace function
  returns a local one only for code in the user's files (``_source.is_user_file``), so NumPy,
  SciPy and the standard library run untraced apart from one cheap ``call`` event each.
* A statement's effect is read when the frame *leaves* it: the ``line`` event of the next
  statement (or ``return``) compares the shape signature of each name it assigns with the last
  one recorded for that name; only changes are stored, so a loop that keeps shapes costs one
  comparison per assignment and stores nothing.
* Function arguments are recorded at ``call`` (with the caller's line), array return values at
  ``return``; attributes assigned as ``self.W = ...`` are keyed by the instance's class, so
  ``__init__`` and ``forward`` share them.
* Signatures are ``(type, shape)`` for arrays and pandas objects, ``("list", len)``, ``None``,
  and the value of small ints (so that ``num_components = 131`` is known after its frame has
  gone). At most ``_MAX_EVENTS`` changes are kept per name (the first half and the latest).
* At an elementwise statement whose result is larger than every operand (``(n,)`` against
  ``(n, 1)`` giving ``(n, n)``), the event is marked as a silent broadcast; so is one with such
  an operation inside (``X.T @ (p - y) / n``) when its operands are plain names, attributes or
  subscripts, read again after the statement ran.
"""

from __future__ import annotations

import ast
import linecache
import sys
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

import numpy as np

from ._source import is_user_file

__all__ = ["Event", "ShapeTracer", "active_tracer"]

_MAX_EVENTS = 16
_MISSING = object()
_NDARRAY = np.ndarray
_QUIET_CALLS = 200
_COUNTER_RUNS = 4


@dataclass
class Event:
    """One change of a name's shape signature."""

    kind: str  # "assign" | "arg" | "return"
    filename: str
    line: int
    end_line: int
    function: str
    hit: int  # how many times the statement (or function) had run, this one included
    sig: Any
    in_loop: bool = False
    caller: tuple[str, int, str] | None = None  # (file, line, function) of the call
    ints: dict[str, int] = field(default_factory=dict)  # int names of the right-hand side
    broadcast: tuple | None = None  # (result shape, [(operand text, shape), ...])


@dataclass(eq=False)
class _Stmt:
    first: int
    last: int
    names: tuple[str, ...]
    attrs: tuple[tuple[str, str], ...]
    rhs: ast.AST | None
    rhs_names: tuple[str, ...]
    elementwise: tuple[ast.AST, ...]
    in_loop: bool
    hits: int = 0
    is_for: bool = False
    counter: int = 0  # consecutive runs of a for-header that only assigned ints
    nested: tuple[tuple[ast.AST, ast.AST], ...] = ()  # inner elementwise pairs


def _target_parts(target: ast.AST, names: list[str], attrs: list[tuple[str, str]]) -> None:
    if isinstance(target, ast.Name):
        names.append(target.id)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for t in target.elts:
            _target_parts(t, names, attrs)
    elif isinstance(target, ast.Starred):
        _target_parts(target.value, names, attrs)
    elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
        attrs.append((target.value.id, target.attr))


_ELEMENTWISE = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod)


def _elementwise_operands(rhs: ast.AST | None) -> tuple[ast.AST, ...]:
    if isinstance(rhs, ast.BinOp) and isinstance(rhs.op, _ELEMENTWISE):
        return (rhs.left, rhs.right)
    return ()


def _plain(node: ast.AST) -> bool:
    """A name, attribute or subscript of names and constants: cheap to read again, no call."""
    return all(isinstance(n, (ast.Name, ast.Attribute, ast.Subscript, ast.Slice, ast.Tuple,
                              ast.Constant, ast.Load, ast.UnaryOp, ast.USub))
               for n in ast.walk(node))


def nested_pairs(rhs: ast.AST | None) -> tuple[tuple[ast.AST, ast.AST], ...]:
    """The elementwise operations inside the right-hand side (not its top one) whose two
    operands are plain (:func:`_plain`): ``p - y`` in ``X.T @ (p - y) / n``."""
    if rhs is None:
        return ()
    return tuple((n.left, n.right) for n in ast.walk(rhs)
                 if n is not rhs and isinstance(n, ast.BinOp) and isinstance(n.op, _ELEMENTWISE)
                 and _plain(n.left) and _plain(n.right))


class _FileInfo:
    """Assignment statements of one file, indexed by every line they span."""

    def __init__(self, tree: ast.Module) -> None:
        self.by_line: dict[int, _Stmt] = {}
        self._visit(tree.body, in_loop=False)

    def _add(self, node: ast.stmt, first: int, last: int, targets: list[ast.AST],
             rhs: ast.AST | None, in_loop: bool) -> None:
        names: list[str] = []
        attrs: list[tuple[str, str]] = []
        for t in targets:
            _target_parts(t, names, attrs)
        if not names and not attrs:
            return
        rhs_names = tuple(dict.fromkeys(
            n.id for n in ast.walk(rhs) if isinstance(n, ast.Name))) if rhs is not None else ()
        stmt = _Stmt(first, last, tuple(names), tuple(attrs), rhs, rhs_names,
                     _elementwise_operands(rhs), in_loop, nested=nested_pairs(rhs))
        for line in range(first, last + 1):
            self.by_line.setdefault(line, stmt)

    def _visit(self, body: list[ast.stmt], in_loop: bool) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._visit(node.body, in_loop=False)
            elif isinstance(node, ast.ClassDef):
                self._visit(node.body, in_loop=False)
            elif isinstance(node, ast.Assign):
                self._add(node, node.lineno, node.end_lineno, node.targets, node.value,  # type: ignore[arg-type]
                          in_loop)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                self._add(node, node.lineno, node.end_lineno, [node.target], node,  # type: ignore[arg-type]
                          in_loop)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                head_end = max(node.lineno, node.iter.end_lineno or node.lineno)  # type: ignore[attr-defined]
                self._add(node, node.lineno, head_end, [node.target], None, True)
                if head_end in self.by_line and self.by_line[head_end].first == node.lineno:
                    self.by_line[head_end].is_for = True
                self._visit(node.body, True)
                self._visit(node.orelse, in_loop)
            elif isinstance(node, ast.While):
                self._visit(node.body, True)
                self._visit(node.orelse, in_loop)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
                if targets:
                    self._add(node, node.lineno, node.lineno, targets, None, in_loop)
                self._visit(node.body, in_loop)
            elif isinstance(node, ast.If):
                self._visit(node.body, in_loop)
                self._visit(node.orelse, in_loop)
            elif isinstance(node, ast.Try):
                self._visit(node.body, in_loop)
                for h in node.handlers:
                    self._visit(h.body, in_loop)
                self._visit(node.orelse, in_loop)
                self._visit(node.finalbody, in_loop)


def _sig(value: Any) -> Any:
    t = type(value)
    if t is np.ndarray:
        return (np.ndarray, value.shape)
    if value is None:
        return None
    if t is int:
        return ("int", value) if -(1 << 40) < value < (1 << 40) else ("int", None)
    if t is list or t is tuple:
        return (t, len(value))
    if t is float or t is bool or t is str:
        return (t,)
    if isinstance(value, np.ndarray):  # np.matrix, masked arrays
        return (t, value.shape)
    mod = getattr(t, "__module__", "") or ""
    if mod.startswith("pandas"):
        shape = getattr(value, "shape", None)
        return (t, shape if type(shape) is tuple else None)
    return (t,)


def sig_shape(sig: Any) -> tuple[int, ...] | None:
    """The shape of an array signature (None for anything else)."""
    if type(sig) is tuple and len(sig) == 2 and isinstance(sig[0], type) and \
            type(sig[1]) is tuple:
        return sig[1]
    return None


def sig_text(sig: Any) -> str:
    from ._report import shape_text

    if sig is None:
        return "None"
    shape = sig_shape(sig)
    if shape is not None:
        name = sig[0].__name__
        prefix = "" if name == "ndarray" else f"{name} "
        return prefix + shape_text(shape)
    if sig[0] == "int":
        return f"int {sig[1]}"
    if sig[0] in (list, tuple):
        return f"{sig[0].__name__} of {sig[1]} elements"
    return sig[0].__name__ if isinstance(sig[0], type) else str(sig[0])


class ShapeTracer:
    """Record the shape changes of names in the user's frames (see the module notes)."""

    def __init__(self) -> None:
        self.files: dict[str, _FileInfo | None] = {}
        self.codes: dict[CodeType, _FileInfo | None] = {}
        self.last: dict[Any, Any] = {}
        self.events: dict[Any, list[Event]] = {}
        self.calls: dict[CodeType, int] = {}
        self.assigns: dict[CodeType, bool] = {}
        self.last_by_code: dict[CodeType, dict[str, Any]] = {}
        self.changed_in: dict[CodeType, int] = {}  # the call in which a local last changed
        self._previous: Any = None
        self.active = False
        self.broken = False  # the recorder failed and stopped; the history is partial

    # -- starting and stopping -----------------------------------------------------------
    def start(self) -> bool:
        """Install the tracer (not when another tracer, e.g. a debugger, is installed)."""
        if sys.gettrace() is not None:
            return False
        self.active = True
        sys.settrace(self._global)
        return True

    def stop(self) -> None:
        if self.active:
            sys.settrace(None)
            self.active = False

    def __enter__(self) -> ShapeTracer:
        global _ACTIVE
        self.start()
        self._previous, _ACTIVE = _ACTIVE, self
        return self

    def __exit__(self, *exc: Any) -> None:
        global _ACTIVE
        self.stop()
        _ACTIVE = self._previous

    # -- look-ups for the explainer ------------------------------------------------------
    def history(self, key: Any) -> list[Event]:
        return self.events.get(key, [])

    # -- the trace functions -------------------------------------------------------------
    def _info(self, code: CodeType) -> _FileInfo | None:
        try:
            return self.codes[code]
        except KeyError:
            pass
        filename = code.co_filename
        if filename not in self.files:
            info = None
            if is_user_file(filename) and not filename.startswith("<frozen"):
                lines = linecache.getlines(filename)
                if lines:
                    try:
                        info = _FileInfo(ast.parse("".join(lines)))
                    except (SyntaxError, ValueError):
                        info = None
            self.files[filename] = info
        self.codes[code] = info = self.files[filename]
        return info

    def _global(self, frame: FrameType, event: str, arg: Any) -> Any:
        try:
            return self._global_unsafe(frame, event, arg)
        except Exception:  # never let the recorder break the user's program
            self._give_up()
            return None

    def _give_up(self) -> None:
        sys.settrace(None)
        self.active = False
        self.broken = True

    def _global_unsafe(self, frame: FrameType, event: str, arg: Any) -> Any:
        code = frame.f_code
        info = self.codes.get(code, _MISSING)
        if info is _MISSING:
            info = self._info(code)
        if info is None:
            return None
        n = self.calls.get(code, 0) + 1
        self.calls[code] = n
        nargs = code.co_argcount + code.co_kwonlyargcount
        if nargs and code.co_name != "<module>":
            self._record_args(frame, code, nargs, n)
        assigns = self.assigns.get(code)
        if assigns is None:
            lines = {line for _, _, line in code.co_lines() if line is not None}
            self.assigns[code] = assigns = any(line in info.by_line for line in lines)
        if not assigns or n - self.changed_in.get(code, 0) > _QUIET_CALLS:
            # nothing to record line by line (no assignment, or a function called many times
            # without a new shape): arguments and return values are still recorded
            frame.f_trace_lines = False
        return self._local_for(info)

    def _local_for(self, info: _FileInfo) -> Any:
        by_line = info.by_line
        state: list[Any] = [None]
        check = self._check

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            try:
                if event == "line":
                    stmt = by_line.get(frame.f_lineno)
                    cur = state[0]
                    if cur is not None and cur is not stmt and cur.counter < _COUNTER_RUNS:
                        check(frame, cur)
                    state[0] = stmt
                elif event == "return":
                    cur = state[0]
                    if cur is not None and cur.counter < _COUNTER_RUNS:
                        check(frame, cur)
                    state[0] = None
                    if arg is not None and isinstance(arg, np.ndarray):
                        self._record_return(frame, arg)
                elif event == "exception":
                    state[0] = None
            except Exception:  # never let the recorder break the user's program
                self._give_up()
                return None
            return local

        return local

        return local

    def _store(self, key: Any, ev: Event) -> None:
        lst = self.events.get(key)
        if lst is None:
            self.events[key] = [ev]
            return
        if len(lst) >= _MAX_EVENTS:
            del lst[_MAX_EVENTS // 2]  # keep the first changes and the latest ones
        lst.append(ev)

    def _check(self, frame: FrameType, stmt: _Stmt) -> None:
        # the hot path: one call per executed assignment; keep it to dict look-ups
        stmt.hits += 1
        loc = frame.f_locals
        code = frame.f_code
        last = self.last_by_code.get(code)
        if last is None:
            last = self.last_by_code[code] = {}
        if stmt.is_for:
            # `for i in range(n)`: after a few ints, the loop counter is not checked again
            if all(type(loc.get(name)) is int for name in stmt.names):
                stmt.counter += 1
            else:
                stmt.counter = 0
        for name in stmt.names:
            value = loc.get(name, _MISSING)
            if value is _MISSING:
                continue
            sig = (_NDARRAY, value.shape) if type(value) is _NDARRAY else _sig(value)
            old = last.get(name, _MISSING)
            if sig != old:
                last[name] = sig
                key = (code, name)
                if type(old) is tuple and old[0] == "int" and sig[0] == "int" and \
                        len(self.events.get(key, ())) >= 2:
                    continue  # a counter: its first values are kept, not every step
                self._store(key, self._event(frame, stmt, sig, loc, value, old))
                self.changed_in[code] = self.calls.get(code, 0)
        for base, attr in stmt.attrs:
            obj = loc.get(base, _MISSING)
            d = getattr(obj, "__dict__", None)
            if type(d) is not dict or attr not in d:
                continue
            value = d[attr]
            sig = _sig(value)
            key = ("attr", type(obj), attr)
            last = self.last.get(key, _MISSING)
            if sig != last:
                self.last[key] = sig
                self._store(key, self._event(frame, stmt, sig, loc, value, last))

    def _event(self, frame: FrameType, stmt: _Stmt, sig: Any, loc: Any, value: Any,
               previous: Any) -> Event:
        glb = frame.f_globals
        ints = {}
        for n in stmt.rhs_names:
            v = loc.get(n, _MISSING)
            if v is _MISSING:
                v = glb.get(n, _MISSING)
            if type(v) is int:
                ints[n] = v
        ev = Event("assign", frame.f_code.co_filename, stmt.first, stmt.last,
                   frame.f_code.co_name, stmt.hits, sig, stmt.in_loop, ints=ints)
        if stmt.elementwise and isinstance(value, np.ndarray) and value.ndim >= 2:
            ev.broadcast = _silent_broadcast(frame, stmt, value, previous)
        if ev.broadcast is None and stmt.nested and isinstance(value, np.ndarray):
            ev.broadcast = _inner_broadcast(frame, stmt)
        return ev

    def _record_args(self, frame: FrameType, code: CodeType, nargs: int, n: int) -> None:
        loc = frame.f_locals
        last = self.last_by_code.get(code)
        if last is None:
            last = self.last_by_code[code] = {}
        for name in code.co_varnames[:nargs]:
            value = loc.get(name, _MISSING)
            if value is _MISSING:
                continue
            sig = (_NDARRAY, value.shape) if type(value) is _NDARRAY else _sig(value)
            if sig != last.get(name, _MISSING):
                last[name] = sig
                back = frame.f_back
                caller = None if back is None else (back.f_code.co_filename, back.f_lineno,
                                                    back.f_code.co_name)
                self._store((code, name), Event("arg", code.co_filename, code.co_firstlineno,
                                                code.co_firstlineno, code.co_name, n, sig,
                                                caller=caller))

    def _record_return(self, frame: FrameType, value: np.ndarray) -> None:
        code = frame.f_code
        key = (code, "<return>")
        sig = _sig(value)
        if sig != self.last.get(key, _MISSING):
            self.last[key] = sig
            line = frame.f_lineno
            self._store(key, Event("return", code.co_filename, line, line, code.co_name,
                                   self.calls.get(code, 0), sig))


def _silent_broadcast(frame: FrameType, stmt: _Stmt, value: np.ndarray,
                      previous: Any) -> tuple | None:
    """(result shape, operands) when an elementwise result outgrew every operand."""
    from ._safe import SafeEvaluator

    ev = SafeEvaluator(frame.f_globals, frame.f_locals)
    size = value.size
    shapes = []
    for node in stmt.elementwise:
        if isinstance(node, ast.Name) and node.id in stmt.names:
            shape = sig_shape(previous) if previous is not _MISSING else None
            if shape is None:
                return None
        else:
            ok, v = ev.try_eval(node)
            if not ok:
                return None
            shape = tuple(np.shape(v)) if isinstance(v, (np.ndarray, int, float)) else None
            if shape is None:
                return None
        shapes.append((ast.unparse(node), shape))
    if len(shapes) != 2:
        return None
    sizes = [int(np.prod(s)) for _, s in shapes]
    if size <= max(sizes) or any(len(s) == 0 for _, s in shapes):
        return None
    return (tuple(value.shape), shapes)


def _inner_broadcast(frame: FrameType, stmt: _Stmt) -> tuple | None:
    """(result shape, operands) for the first inner elementwise operation of the statement
    whose result outgrew both operands, read again after the statement ran (a name the
    statement itself assigns is skipped: its value is no longer the operand's)."""
    from ._safe import SafeEvaluator

    return outer_broadcast(SafeEvaluator(frame.f_globals, frame.f_locals), stmt.nested,
                           stmt.names)


def outer_broadcast(ev: Any, pairs: Any, skip: Any = ()) -> tuple | None:
    """(result shape, operands) of the first of the ``(left, right)`` node pairs whose operands,
    evaluated by ``ev``, broadcast into more elements than either has (``(n,)`` with ``(n, 1)``);
    a pair that reads a name in ``skip`` (assigned by the statement itself) is passed over."""
    for left, right in pairs:
        shapes = []
        for node in (left, right):
            if any(isinstance(n, ast.Name) and n.id in skip for n in ast.walk(node)):
                break
            ok, v = ev.try_eval(node)
            if not ok or not isinstance(v, np.ndarray) or v.ndim == 0:
                break
            shapes.append((ast.unparse(node), tuple(v.shape)))
        if len(shapes) != 2:
            continue
        try:
            out = np.broadcast_shapes(shapes[0][1], shapes[1][1])
        except ValueError:
            continue
        if int(np.prod(out)) > max(int(np.prod(s)) for _, s in shapes):
            return (tuple(out), shapes)
    return None


_ACTIVE: ShapeTracer | None = None


def active_tracer() -> ShapeTracer | None:
    """The tracer of the script being run by ``matfit explain`` (None when not tracing)."""
    return _ACTIVE
