"""Where each operand of the failing operation got its shape: the chain of lines behind it.

Implementation notes
--------------------
* An operand's name is followed back: to the assignment that last gave it its current shape (the
  recorded shape history of ``_trace`` when the script ran under ``matfit explain``; otherwise
  the last assignment before the failing line in the same scope, read from the code), through a
  function parameter to the argument of the call in the caller's frame (the traceback keeps the
  caller alive), through ``y = x`` and ``y = x.T``, and into a user function's ``return``.
* For the disagreeing axis, the expression that set its size is read from the assignment: the
  shape argument of a constructor (``np.zeros``, ``rng.random``, ``rng.normal(size=...)``,
  ``np.random.rand``, ``np.eye``, ``np.linspace``) or of ``reshape``, or the operand of ``@``/
  ``.T`` that carries the axis. A size is *chosen by hand* when it is a literal or a name bound
  to a literal (``num_components = 131``), and *derived* when it comes from data (``S.shape[1]``,
  ``len(x)``).
* The code is read with the helpers of ``_static`` (scopes, assignments, shape arguments,
  returns); the origins found here are weighed into a root cause by ``_rootcause``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np

from ._report import shape_text
from ._safe import SafeEvaluator, is_array
from ._source import Source, load_source
from ._static import (
    _assigns,
    _derived,
    _func_name,
    _is_param,
    _one_line,
    _rhs,
    _scope_of,
    _shape_arg,
    _static_assignment,
    _stmt_at,
    _walk_scope,
    returns_of,
)
from ._trace import Event, ShapeTracer, nested_pairs, outer_broadcast, sig_shape, sig_text

__all__ = ["Origin", "find_origins"]


@dataclass
class Step:
    """One link of an operand's origin: a line of the user's code and what it did."""
    # (a plain dataclass; ``to_dict`` is what JSON shows)

    filename: str
    line: int
    function: str
    text: str
    what: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.filename, "line": self.line, "function": self.function,
                "source": self.text, "what": self.what}


@dataclass
class Origin:
    """Where one operand got its shape."""

    operand: str
    shape: tuple[int, ...] | None
    steps: list[Step] = field(default_factory=list)
    size: dict[str, Any] | None = None  # the disagreeing axis: axis, size, expr, value, free, ...
    history: str = ""
    changed_at: Step | None = None
    broadcast: str = ""
    broadcast_step: Step | None = None
    set_order: int = -1  # position of the setting line in execution order (later = larger)

    def to_dict(self) -> dict[str, Any]:
        return {"operand": self.operand,
                "shape": None if self.shape is None else list(self.shape),
                "steps": [s.to_dict() for s in self.steps], "size": self.size,
                "history": self.history, "broadcast": self.broadcast}


class _Ctx:
    def __init__(self, frames: list[tuple[FrameType, int]], tracer: ShapeTracer | None) -> None:
        self.frames = frames
        self.tracer = tracer
        self._sources: dict[str, Source | None] = {}

    def source(self, i: int) -> Source | None:
        frame, lineno = self.frames[i]
        name = frame.f_code.co_filename
        if name not in self._sources:
            src = load_source(frame, lineno)
            self._sources[name] = src if src is not None and not src.col_shift and \
                src.first_line == 1 else None
        return self._sources[name]


class _Finder:
    def __init__(self, ctx: _Ctx) -> None:
        self.ctx = ctx

    # -- the size of one axis ------------------------------------------------------------
    def size_source(self, fi: int, stmt: ast.stmt, rhs: ast.AST, axis: int, ndim: int,
                    size: int, ints: dict[str, int], depth: int = 0) -> dict[str, Any] | None:
        src = self.ctx.source(fi)
        if src is None or depth > 3:
            return None
        node: ast.AST | None = rhs
        if isinstance(node, ast.Attribute) and node.attr == "T" and ndim >= 1:
            inner = node.value
            return self._follow_axis(fi, stmt, inner, ndim - 1 - axis, ndim, size, ints, depth,
                                     via=f"transposed from `{_one_line(src, inner)}`")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) and ndim == 2:
            side = node.left if axis == 0 else node.right
            return self._follow_axis(fi, stmt, side, axis, 2, size, ints, depth,
                                     via=f"{'rows' if axis == 0 else 'columns'} of "
                                     f"`{_one_line(src, side)}`")
        if isinstance(node, ast.Name):
            return self._follow_axis(fi, stmt, node, axis, ndim, size, ints, depth,
                                     via=f"copied from `{node.id}`")
        if isinstance(node, (ast.List, ast.Tuple)) and axis == 0:
            out = {"axis": 0, "size": size, "expr": _one_line(src, node), "line": stmt.lineno,
                   "value": len(node.elts), "free": True, "defined": None,
                   "how": f"a list of {len(node.elts)} elements written by hand"}
            return out
        if not isinstance(node, ast.Call):
            return None
        el = _shape_arg(node, ndim, axis)
        if el is None:
            return None
        return self._classify(fi, stmt, el, axis, size, ints)

    def _follow_axis(self, fi, stmt, node, axis, ndim, size, ints, depth, via):
        src = self.ctx.source(fi)
        if not isinstance(node, ast.Name) or src is None:
            return None
        prev = _static_assignment(src, node.id, stmt.lineno)
        if prev is None or _rhs(prev) is None:
            return None
        found = self.size_source(fi, prev, _rhs(prev), axis, ndim, size, ints, depth + 1)  # type: ignore[arg-type]
        if found is not None:
            found.setdefault("via", via)
        return found

    def _classify(self, fi: int, stmt: ast.stmt, el: ast.AST, axis: int, size: int,
                  ints: dict[str, int]) -> dict[str, Any]:
        src = self.ctx.source(fi)
        assert src is not None
        frame = self.ctx.frames[fi][0]
        text = _one_line(src, el)
        out: dict[str, Any] = {"axis": axis, "size": size, "expr": text, "line": stmt.lineno,
                               "value": None, "free": False, "defined": None}
        if isinstance(el, ast.Constant) and type(el.value) is int:
            out.update(value=el.value, free=True, how="a literal")
            return out
        if isinstance(el, ast.Name):
            value = ints.get(el.id)
            if value is None:
                ok, v = SafeEvaluator(frame.f_globals, frame.f_locals).try_eval(el)
                value = int(v) if ok and type(v) is int else None
            out["value"] = value
            where = _static_assignment(src, el.id, stmt.lineno)
            if where is not None:
                out["defined"] = {"line": where.lineno, "source": _one_line(src, where)}
                rhs = _rhs(where)
                if isinstance(rhs, ast.Constant) or (isinstance(rhs, ast.UnaryOp) and
                                                     isinstance(rhs.operand, ast.Constant)):
                    out.update(free=True, how=f"set by hand on line {where.lineno}")
                elif rhs is not None and _derived(rhs):
                    out["how"] = f"derived from the data on line {where.lineno}"
                else:
                    out["how"] = f"computed on line {where.lineno}"
            elif _is_param(scope := _scope_of(src.tree, stmt.lineno), el.id):
                out.update(how=f"a parameter of `{getattr(scope, 'name', '?')}`")
                caller = None
                if getattr(scope, "name", None) == frame.f_code.co_name:
                    caller = self._caller_arg(fi, el.id)
                else:
                    self._param_from_history(out, scope, el.id, frame.f_code.co_filename)
                if caller is not None:
                    cnode, cfi = caller
                    csrc = self.ctx.source(cfi)
                    if isinstance(cnode, ast.Constant) and csrc is not None:
                        out.update(free=True, how=f"passed as {_one_line(csrc, cnode)} on line "
                                   f"{self.ctx.frames[cfi][1]}")
            return out
        out["how"] = "derived from the data" if _derived(el) else "computed"
        return out

    def _param_from_history(self, out: dict, scope: ast.AST, param: str, filename: str) -> None:
        """A parameter of a function that has returned (``__init__``): its recorded value and
        the call that passed it."""
        tracer = self.ctx.tracer
        if tracer is None:
            return
        for code in list(tracer.codes):
            if code.co_filename == filename and code.co_firstlineno == getattr(
                    scope, "lineno", -1) and code.co_name == getattr(scope, "name", None):
                events = tracer.history((code, param))
                if not events:
                    return
                e = events[-1]
                if e.sig and e.sig[0] == "int":
                    out["value"] = e.sig[1]
                if e.caller is not None:
                    import linecache

                    cfile, cline, _ = e.caller
                    text = linecache.getline(cfile, cline).strip()
                    out["defined"] = {"line": cline, "source": text}
                    out["how"] = f"passed to `{code.co_name}` on line {cline}"
                    try:
                        call = ast.parse(text).body[0]
                    except (SyntaxError, IndexError):
                        return
                    consts = [n for n in ast.walk(call) if isinstance(n, ast.Constant) and
                              n.value == out.get("value")]
                    if consts:
                        out.update(free=True, how=f"passed as {out['value']} to "
                                   f"`{code.co_name}` on line {cline}")
                return

    def _caller_arg(self, fi: int, param: str) -> tuple[ast.AST, int] | None:
        """The argument expression bound to ``param`` in the caller's call, and its frame."""
        if fi == 0:
            return None
        frame = self.ctx.frames[fi][0]
        code = frame.f_code
        cfi = fi - 1
        cframe, cline = self.ctx.frames[cfi]
        if frame.f_back is not cframe:
            return None
        csrc = self.ctx.source(cfi)
        if csrc is None:
            return None
        params = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        if param not in params:
            return None
        idx = params.index(param)
        for node in ast.walk(csrc.tree):
            if not (isinstance(node, ast.Call) and node.lineno <= cline <= (
                    node.end_lineno or node.lineno)):
                continue
            name = _func_name(node)
            if name != code.co_name and not (code.co_name == "__init__" and name):
                continue
            if code.co_name == "__init__" and not (name[:1].isupper()):
                continue
            pos = idx
            if params and params[0] in ("self", "cls") and (
                    isinstance(node.func, ast.Attribute) or code.co_name == "__init__"):
                pos -= 1
            for kw in node.keywords:
                if kw.arg == param:
                    return kw.value, cfi
            if 0 <= pos < len(node.args) and not any(
                    isinstance(a, ast.Starred) for a in node.args[: pos + 1]):
                return node.args[pos], cfi
        return None

    # -- the chain of one operand ----------------------------------------------------------
    def origin(self, fi: int, node: ast.AST | None, text: str, shape: tuple[int, ...] | None,
               axis: int | None, size: int | None) -> Origin:
        o = Origin(text, shape)
        self._chain(o, fi, node, axis, size, depth=0)
        return o

    def _key(self, fi: int, node: ast.AST) -> tuple[Any, str] | None:
        frame = self.ctx.frames[fi][0]
        if isinstance(node, ast.Name):
            return (frame.f_code, node.id), node.id
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = frame.f_locals.get(node.value.id, frame.f_globals.get(node.value.id))
            if base is not None and not isinstance(base, type(ast)):
                return ("attr", type(base), node.attr), ast.unparse(node)
        return None

    def _chain(self, o: Origin, fi: int, node: ast.AST | None, axis: int | None,
               size: int | None, depth: int) -> None:
        if node is None or depth > 5:
            return
        src = self.ctx.source(fi)
        if src is None:
            return
        frame, lineno = self.ctx.frames[fi]
        if isinstance(node, ast.Attribute) and node.attr == "T" and o.shape is not None:
            nd = len(o.shape)
            shape, o.shape = o.shape, o.shape[::-1]  # the base's own shape, while following it
            try:
                self._chain(o, fi, node.value, None if axis is None else nd - 1 - axis, size,
                            depth + 1)
            finally:
                o.shape = shape
            return
        if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult) and \
                o.shape is not None:
            ev0 = SafeEvaluator(frame.f_globals, frame.f_locals)
            for side in (node.left, node.right):
                ok, v = ev0.try_eval(side)
                if ok and is_array(v) and tuple(v.shape) == tuple(o.shape):
                    self._chain(o, fi, side, axis, size, depth + 1)
                    return
            return
        if isinstance(node, ast.Call):
            if self._same_shape_base(o, fi, node, axis, size, depth):
                return
            if isinstance(node.func, ast.Name):
                self._into_return(o, fi, node, axis, size)
                return
        keyed = self._key(fi, node)
        if keyed is None:
            return
        key, name = keyed
        tracer = self.ctx.tracer
        events = tracer.history(key) if tracer is not None else []
        shape = o.shape
        ev: Event | None = None
        if events:
            matching = [e for e in events if shape is None or sig_shape(e.sig) == shape]
            # no recorded change to the current shape (a quiet function is no longer traced
            # line by line): read the code instead of citing an older shape
            ev = matching[-1] if matching else None
            arrays = [e for e in events if sig_shape(e.sig) is not None or e.sig is None]
            if len({repr(e.sig) for e in arrays}) >= 2 and not o.history and ev is not None:
                o.history = _history_text(name, arrays)
                o.changed_at = Step(ev.filename, ev.line, ev.function, "", "")
            if ev is not None and ev.broadcast is not None and not o.broadcast:
                result, parts = ev.broadcast
                o.broadcast = _broadcast_text(ev.line, parts, result)
        stmt: ast.stmt | None = None
        if ev is not None and ev.kind == "assign" and ev.filename == frame.f_code.co_filename:
            stmt = _stmt_at(src, ev.line)
        elif ev is None or ev.kind != "arg":
            stmt = _static_assignment(src, name, lineno)
            if stmt is not None and isinstance(node, ast.Name) and _is_param(
                    _scope_of(src.tree, lineno), name) and not any(
                    s for s in _walk_scope(_scope_of(src.tree, lineno))
                    if isinstance(s, ast.stmt) and _assigns(s, name) and s.lineno < lineno):
                stmt = None
            if stmt is None and frame.f_code.co_name == "<module>" and isinstance(node, ast.Name):
                if self._earlier_cell(o, frame, name, shape):
                    return
        if stmt is not None:
            what = f"`{name}` got shape {shape_text(shape) if shape is not None else '?'}"
            if ev is not None and ev.in_loop and ev.hit > 1:
                what += f" (from run {ev.hit} of this line on)"
            step = Step(frame.f_code.co_filename, stmt.lineno, frame.f_code.co_name,
                        _one_line(src, stmt), what)
            o.steps.append(step)
            if o.broadcast and o.broadcast_step is None and ev is not None and \
                    ev.broadcast is not None:
                o.broadcast_step = step
            if o.changed_at is not None and not o.changed_at.text:
                o.changed_at = step
            if o.set_order < 0:
                o.set_order = stmt.lineno + 10**6 * fi
            rhs = _rhs(stmt)
            if axis is not None and size is not None and shape is not None and \
                    rhs is not None and o.size is None:
                o.size = self.size_source(fi, stmt, rhs, axis, len(shape), size,
                                          ev.ints if ev is not None else {})
            if isinstance(rhs, ast.Name):
                self._chain(o, fi, rhs, axis, size, depth + 1)
                return
            if isinstance(rhs, ast.BinOp) and not o.broadcast:
                self._elementwise_check(o, fi, stmt, rhs)
            if rhs is not None and not o.broadcast and self.ctx.tracer is None:
                self._inner_check(o, fi, stmt, rhs)
            if rhs is not None and not o.broadcast:
                self._upstream(o, fi, rhs, name, depth)
            elif isinstance(rhs, ast.Call) and isinstance(rhs.func, ast.Name):
                self._into_return(o, fi, rhs, axis, size)
            return
        # a parameter: follow it to the caller
        caller = self._caller_arg(fi, name)
        if caller is not None:
            cnode, cfi = caller
            csrc = self.ctx.source(cfi)
            cframe, cline = self.ctx.frames[cfi]
            if csrc is not None:
                cstmt = _stmt_at(csrc, cline) or None
                text = _one_line(csrc, cstmt) if cstmt is not None else csrc.lines[
                    cline - 1].strip()
                o.steps.append(Step(cframe.f_code.co_filename, cline, cframe.f_code.co_name,
                                    text, f"`{name}` is the argument `{_one_line(csrc, cnode)}` "
                                    f"of this call"))
                self._chain(o, cfi, cnode, axis, size, depth + 1)
                return
        from ._source import is_user_file

        if ev is not None and ev.kind == "arg" and ev.caller is not None and \
                is_user_file(ev.caller[0]):
            cfile, cline, cfunc = ev.caller
            o.steps.append(Step(cfile, cline, cfunc, "", f"`{name}` was passed in by the "
                                f"call on this line"))

    def _same_shape_base(self, o: Origin, fi: int, node: ast.Call, axis, size,
                         depth: int) -> bool:
        """``A.tolist()``, ``A.astype(...)``, ``np.asarray(A)``: a call that keeps the shape
        of one name; follow that name."""
        frame = self.ctx.frames[fi][0]
        cands: list[ast.AST] = []
        if isinstance(node.func, ast.Attribute):
            cands.append(node.func.value)
        if len(node.args) == 1:
            cands.append(node.args[0])
        ev = SafeEvaluator(frame.f_globals, frame.f_locals)
        for base in cands:
            if not isinstance(base, (ast.Name, ast.Attribute)):
                continue
            ok, v = ev.try_eval(base)
            if not ok or o.shape is None or not (is_array(v) or type(v) in (list, tuple)):
                continue
            try:
                same = tuple(np.shape(v)) == tuple(o.shape)
            except ValueError:  # a ragged list
                same = False
            if same:
                self._chain(o, fi, base, axis, size, depth + 1)
                return True
        return False

    def _earlier_cell(self, o: Origin, frame: FrameType, name: str,
                      shape: tuple[int, ...] | None) -> bool:
        """In IPython, a global set by an earlier cell: the last cell that assigns it."""
        get_ipython = frame.f_globals.get("get_ipython")
        shell = get_ipython() if callable(get_ipython) else None
        cells = getattr(getattr(shell, "compile", None), "_filename_map", None)
        if not isinstance(cells, dict):
            return False
        import linecache

        here = frame.f_code.co_filename
        for filename, _n in sorted(cells.items(), key=lambda kv: kv[1], reverse=True):
            if filename == here or cells.get(here, 1 << 30) < _n:
                continue
            text = "".join(linecache.getlines(filename))
            try:
                tree = ast.parse(text)
            except (SyntaxError, ValueError):
                continue
            src = Source(text, tree, 1)
            found = [st for st in _walk_scope(tree) if isinstance(st, ast.stmt) and
                     _assigns(st, name)]
            if found:
                stmt = max(found, key=lambda st: st.lineno)
                o.steps.append(Step(filename, stmt.lineno, "<module>", _one_line(src, stmt),
                                    f"`{name}` got shape "
                                    f"{shape_text(shape) if shape is not None else '?'}"))
                return True
        return False

    def _upstream(self, o: Origin, fi: int, rhs: ast.AST, name: str, depth: int) -> None:
        """Names on the right-hand side whose recorded shape changed or broadcast silently:
        they are on the path to the failing operand."""
        tracer = self.ctx.tracer
        if tracer is None or depth > 3:
            return
        frame = self.ctx.frames[fi][0]
        for n in ast.walk(rhs):
            if not isinstance(n, ast.Name) or n.id == name:
                continue
            events = tracer.history((frame.f_code, n.id))
            arrays = [e for e in events if sig_shape(e.sig) is not None]
            if any(e.broadcast for e in arrays) or (len({e.sig for e in arrays}) >= 2 and
                                                    not o.history):
                sub = Origin(n.id, sig_shape(arrays[-1].sig))
                self._chain(sub, fi, n, None, None, depth + 1)
                o.steps += sub.steps
                o.history = o.history or sub.history
                o.changed_at = o.changed_at or sub.changed_at
                o.broadcast = o.broadcast or sub.broadcast
                o.broadcast_step = o.broadcast_step or sub.broadcast_step
                return

    def _elementwise_check(self, o: Origin, fi: int, stmt: ast.stmt, rhs: ast.BinOp) -> None:
        """Without a recorded history: does ``x - y`` on this line broadcast into a bigger
        array, judging by the operands' current shapes?"""
        if o.shape is None or len(o.shape) < 2:
            return
        frame = self.ctx.frames[fi][0]
        ev = SafeEvaluator(frame.f_globals, frame.f_locals)
        parts = []
        for side in (rhs.left, rhs.right):
            if not isinstance(side, ast.Name):
                return
            ok, v = ev.try_eval(side)
            if not ok or not is_array(v):
                return
            parts.append((side.id, tuple(v.shape)))
        import math

        size = math.prod(o.shape)
        if all(size > math.prod(s) for _, s in parts) and all(len(s) for _, s in parts):
            o.broadcast = _broadcast_text(stmt.lineno, parts, o.shape)
            o.broadcast_step = o.steps[-1]

    def _inner_check(self, o: Origin, fi: int, stmt: ast.stmt, rhs: ast.AST) -> None:
        """Without a recorded history: does an elementwise operation inside the assignment
        (``p - y`` in ``X.T @ (p - y) / n``) broadcast its operands, as they are now, into a
        bigger array (the tracer's check, read from the failing frame)?"""
        frame = self.ctx.frames[fi][0]
        found = outer_broadcast(SafeEvaluator(frame.f_globals, frame.f_locals),
                                nested_pairs(rhs), _target_names(stmt))
        if found is not None and o.steps:
            result, parts = found
            o.broadcast = _broadcast_text(stmt.lineno, parts, result)
            o.broadcast_step = o.steps[-1]

    def _into_return(self, o: Origin, fi: int, call: ast.Call, axis, size) -> None:
        tracer = self.ctx.tracer
        frame = self.ctx.frames[fi][0]
        func = frame.f_locals.get(call.func.id, frame.f_globals.get(call.func.id))  # type: ignore[attr-defined]
        code = getattr(func, "__code__", None)
        if code is None:
            return
        if tracer is None:
            returns = returns_of(code)
            if returns is not None and not returns:
                o.steps.append(Step(code.co_filename, code.co_firstlineno, code.co_name, "",
                                    f"`{code.co_name}()` has no `return <value>`: it returns "
                                    f"None"))
            return
        events = tracer.history((code, "<return>"))
        if not events:
            return
        ev = events[-1]
        import linecache

        text = linecache.getline(ev.filename, ev.line).strip()
        o.steps.append(Step(ev.filename, ev.line, ev.function, text,
                            f"`{call.func.id}()` returned {sig_text(ev.sig)}"))  # type: ignore[attr-defined]


def _history_text(name: str, events: list[Event]) -> str:
    parts = []
    for i, e in enumerate(events[-4:]):
        word = "iteration" if e.in_loop else "call" if e.kind == "arg" else "run"
        when = (f"in {word} {e.hit}" if i < len(events[-4:]) - 1 and (
            events[-4:][i + 1].hit == e.hit + 1) else f"from {word} {e.hit} on")
        parts.append(f"{sig_text(e.sig)} {when} (line {e.line})")
    return f"`{name}` was " + ", then ".join(parts)


def find_origins(frames: list[tuple[FrameType, int]], operands: list[Any],
                 dims: list[dict[str, Any]], tracer: ShapeTracer | None) -> list[Origin]:
    """Origins of the operands (``Leaf`` objects) of the failing operation in ``frames[-1]``."""
    ctx = _Ctx(frames, tracer)
    finder = _Finder(ctx)
    fi = len(frames) - 1
    out = []
    by_text = {d["operand"]: d for d in dims if d.get("axis") is not None}
    for leaf in operands:
        d = by_text.get(leaf.text)
        node = leaf.node
        o = finder.origin(fi, node, leaf.text, leaf.shape,
                          d["axis"] if d else None, d["size"] if d else None)
        out.append(o)
    return out


def _broadcast_text(line: int, parts: list, result: tuple[int, ...]) -> str:
    """What an origin says of a silent broadcast: the line, its operands, the shape made."""
    ops = " and ".join(f"`{t}` {shape_text(s)}" for t, s in parts)
    return (f"line {line} broadcast {ops} into {shape_text(result)}, "
            f"larger than both (usually a column meeting a 1-D array)")


def _target_names(stmt: ast.stmt) -> set[str]:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t)
            if isinstance(n, ast.Name)}
