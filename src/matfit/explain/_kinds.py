"""Shape errors that are not one array operator, each explained in its own words.

* slice assignment: ``out[i] = row`` ("could not broadcast input array from shape");
* a ragged list given to ``np.array`` ("inhomogeneous shape"): the odd element against the
  majority's shape;
* a boolean index of the wrong length (an ``IndexError``): where the mask's length came from;
* ``np.linalg``: a non-square matrix, and ``solve`` with NumPy 2's rule for ``b`` (a stack of
  vectors must be written ``b[..., None]``);
* ``np.einsum``: each subscript letter against the sizes the operands give it;
* ``np.stack``/``vstack``/``hstack``/``concatenate`` with a ``None`` element;
* a third positional argument of a ufunc or ``np.dot`` taken as ``out`` (``np.matmul(a, b, c)``);
* a callback of ``scipy.optimize`` whose parameters are not in the order SciPy passes them.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._ops import Leaf, _fill_shape, _operand
from ._report import Explanation, Suggestion, shape_text
from ._safe import is_array
from ._static import function_node, returns_of

__all__ = ["Context", "explain_special"]


@dataclass
class Context:
    exc: BaseException
    tb: Any
    frames: list
    frame: Any
    source: Any
    span: Any
    lineno: int
    ev: Any
    np_name: str
    builder: Any
    tracer: Any


def _q(text: str) -> str:
    return "`" + " ".join(text.split()) + "`"


def _stmt(ctx: Context) -> ast.stmt | None:
    line = ctx.lineno - ctx.source.first_line + 1
    best = None
    for node in ast.walk(ctx.source.tree):
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or 0):
            if best is None or (node.lineno >= best.lineno and
                                (node.end_lineno or 0) <= (best.end_lineno or 0)):
                best = node
    return best


def _calls(ctx: Context) -> list[ast.Call]:
    from ._source import failing_node_candidates

    return [n for n, _ in failing_node_candidates(ctx.source, ctx.span, ctx.lineno)
            if isinstance(n, ast.Call)]


def _func(ctx: Context, call: ast.Call) -> Any:
    ok, f = ctx.ev.try_eval(call.func)
    return f if ok else None


def _leaf(ctx: Context, node: ast.AST, text: str | None = None) -> Leaf:
    return ctx.builder.leaf(node, text)


def _make(ctx: Context, node: ast.AST, operation: str, operands: list[Leaf], conflict: str,
          dims: list[dict] | None = None, suggestions: list[Suggestion] | None = None,
          notes: list[str] | None = None, needed: list[str] | None = None,
          origin_leaves: list[Leaf] | None = None, here_why: str | None = None,
          root: dict | None = None) -> Explanation:
    from . import _provenance, _rootcause
    from ._source import _marks, _statement_lines

    src = ctx.source
    first, last = _statement_lines(src, node)
    lines = [src.lines[i - 1] for i in range(first, last + 1)]
    marks = [] if src.col_shift else _marks(src, node, None, first, last)
    dims = dims or []
    origins = _provenance.find_origins(ctx.frames, origin_leaves or operands, dims, ctx.tracer)
    here = _provenance.Step(ctx.frame.f_code.co_filename, node.lineno + src.first_line - 1,  # type: ignore[attr-defined]
                            ctx.frame.f_code.co_name, " ".join(src.segment(node).split()),
                            "the failing line")
    if root is None:
        root = _rootcause.root_cause(origins, dims, here, origin_leaves or operands)
    if here_why is not None and not (root and root["reason"] in ("broadcast", "changed")):
        root = {"file": here.filename, "line": here.line, "function": here.function,
                "source": here.text, "operand": operands[0].text if operands else "",
                "reason": "this line", "size": None, "why": here_why}
    return Explanation(
        error=f"{type(ctx.exc).__name__}: {ctx.exc}", filename=ctx.frame.f_code.co_filename,
        lineno=node.lineno + src.first_line - 1,  # type: ignore[attr-defined]
        function=ctx.frame.f_code.co_name, source_lines=lines,
        first_line=first + src.first_line - 1, marks=marks, operation=operation,
        expression=" ".join(src.segment(node).split()),
        operands=[_operand(o) for o in operands], conflict=conflict, dimensions=dims,
        suggestions=suggestions or [], origins=origins, root_cause=root, notes=notes or [],
        needed=needed or [])


def explain_special(ctx: Context) -> Explanation | None:
    """The explanation of one of the kinds above, or None to fall back to the operators."""
    msg = str(ctx.exc)
    if isinstance(ctx.exc, IndexError):
        return _boolean_index(ctx) if "boolean index did not match" in msg else None
    out = _positional_out(ctx)
    if out is not None:
        return _with_callback_note(ctx, out)
    if isinstance(ctx.exc, TypeError):
        return None
    if "could not broadcast input array from shape" in msg:
        result = _setitem(ctx)
    elif "inhomogeneous" in msg:
        result = _ragged(ctx)
    elif isinstance(ctx.exc, np.linalg.LinAlgError) or re.match(r"solve1?:", msg):
        result = _linalg(ctx)
    elif "einstein" in msg or "einsum" in msg or "remapped shapes" in msg or \
            "size of label" in msg:
        result = _einsum(ctx)
    else:
        result = _join_none(ctx)
    if result is None:
        return None
    return _with_callback_note(ctx, result)


# -- slice assignment -------------------------------------------------------------------------

def _setitem(ctx: Context) -> Explanation | None:
    from . import _honest
    from ._fixes import _variants

    stmt = _stmt(ctx)
    if not isinstance(stmt, ast.Assign) or not isinstance(stmt.targets[-1], ast.Subscript):
        return None
    target = stmt.targets[-1]
    slot = _leaf(ctx, target)
    value = _leaf(ctx, stmt.value)
    shapes = re.findall(r"from shape \(([\d, ]*)\) into shape \(([\d, ]*)\)", str(ctx.exc))
    if shapes:
        v_shape, s_shape = (tuple(int(x) for x in g.replace(" ", "").split(",") if x)
                            for g in shapes[0])
        if slot.shape is None:
            slot.shape, slot.note = s_shape, "shape from NumPy's message"
        if value.shape is None:
            value.shape, value.note = v_shape, "shape from NumPy's message"
    base = _leaf(ctx, target.value)
    conflict = (f"assigning into {_q(slot.text)} (shape {shape_text(slot.shape)}) needs a value "
                f"that broadcasts to {shape_text(slot.shape)}, but {_q(value.text)} has shape "
                f"{shape_text(value.shape)}")
    if base.shape is not None:
        conflict += f"; {_q(base.text)} itself has shape {shape_text(base.shape)}"
    dims = []
    if slot.shape is not None and value.shape is not None:
        for i in range(1, max(len(slot.shape), len(value.shape)) + 1):
            a = slot.shape[-i] if i <= len(slot.shape) else 1
            b = value.shape[-i] if i <= len(value.shape) else 1
            if a != b and b != 1:
                dims = [{"operand": slot.text, "axis": len(slot.shape) - i, "size": a},
                        {"operand": value.text, "axis": len(value.shape) - i, "size": b}]
                break
        if len(value.shape) > len(slot.shape) and not dims:
            dims = [{"operand": value.text, "axis": None, "size": len(value.shape)}]
    fixes: list[Suggestion] = []
    need = ("fits", slot.shape, f"the slot {_q(slot.text)} has shape "
            f"{shape_text(slot.shape)}") if slot.shape is not None else None
    if value.ok and value.shape is not None and need is not None:
        for text, new, _cost, fmt in _variants(value, False, "broadcast", ctx.np_name, ctx.ev,
                                                ctx.source):
            tmpl = fmt.format("__mf0")
            shp = tuple(new) if fmt == "{}" else tuple(value.shape)
            result, kinds = _honest.run_template(tmpl, [value], [shp], ctx.frame.f_globals,
                                                 ctx.np_name)
            if result is None or not _honest.satisfies(result, need):
                continue
            if len(result) == len(slot.shape) and tuple(result) != tuple(slot.shape):
                continue  # broadcasting a smaller block into a bigger slot repeats it
            expr = f"{' '.join(ctx.source.segment(target).split())} = {text}"
            fixes.append(Suggestion(f"{_q(expr)} assigns shape {shape_text(result)}", expr,
                                    result, checked=f"run on {kinds} stand-ins; {need[2]}"))
    needed = [f"{_q(value.text)} must have shape {shape_text(slot.shape)} (or one that "
              f"broadcasts to it), or the slot must be {shape_text(value.shape)}"]
    return _make(ctx, stmt, "slice assignment", [slot, value], conflict, dims, fixes[:2],
                 needed=needed, origin_leaves=[base, value])


# -- ragged lists -------------------------------------------------------------------------------

def _element_shape(x: Any) -> tuple[int, ...] | None:
    try:
        return tuple(np.shape(x))
    except ValueError:
        return None


def _ragged(ctx: Context) -> Explanation | None:
    m = re.search(r"after (\d+) dimensions", str(ctx.exc))
    depth = int(m.group(1)) if m else 1
    for call in _calls(ctx):
        func = _func(ctx, call)
        if func not in (np.array, np.asarray, np.asanyarray, np.vstack, np.stack) or \
                not call.args:
            continue
        arg = _leaf(ctx, call.args[0])
        if not arg.ok or type(arg.value) not in (list, tuple):
            continue
        items: list[tuple[str, Any]] = [("", arg.value)]
        for _ in range(depth - 1):  # descend to the level that is ragged
            nxt = []
            for path, v in items:
                nxt += [(f"{path}[{i}]", e) for i, e in enumerate(v)]
            items = nxt
        cells = []
        for path, v in items:
            try:
                cells += [(f"{path}[{i}]", _element_shape(e), e) for i, e in enumerate(v)]
            except TypeError:
                continue
        shapes = [s for _, s, _ in cells]
        common, count = Counter(shapes).most_common(1)[0]
        odd = [(p, s, e) for p, s, e in cells if s != common]
        if not odd:
            continue
        text = " ".join(ctx.source.segment(call.args[0]).split())
        parts = [f"{text}{p} has shape {shape_text(s)}" + (f" ({type(e).__name__} of "
                 f"{len(e)})" if type(e) in (list, tuple) else "") for p, s, e in odd[:3]]
        conflict = (f"`{ctx.source.segment(call.func)}` needs every element of {_q(text)} to "
                    f"have one shape, but {'; '.join(parts)}, while the majority ({count} of "
                    f"{len(cells)}) have shape {shape_text(common)}")
        notes = ["`dtype=object` would hide this: it keeps the ragged rows as Python objects, "
                 "and every later array operation on them fails or is slow"]
        needed = [f"every element must have shape {shape_text(common)}: fix "
                  f"{', '.join(p for p, _, _ in odd[:3])} (or pad/trim them to "
                  f"{shape_text(common)})"]
        arg.shape = None
        return _make(ctx, call, "array from a ragged list", [arg], conflict, notes=notes,
                     needed=needed, dims=[{"operand": text, "axis": None, "size": len(cells),
                                           "odd": [p for p, _, _ in odd]}])
    return None


# -- boolean index --------------------------------------------------------------------------------

def _boolean_index(ctx: Context) -> Explanation | None:
    m = re.search(r"along axis (\d+); size of axis is (\d+) but size of corresponding boolean "
                  r"axis is (\d+)", str(ctx.exc))
    stmt = _stmt(ctx)
    if stmt is None or m is None:
        return None
    axis, n_axis, n_mask = (int(g) for g in m.groups())
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Subscript):
            continue
        base, index = _leaf(ctx, node.value), None
        idx_nodes = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for inode in idx_nodes:
            leaf = _leaf(ctx, inode)
            if leaf.ok and is_array(leaf.value) and leaf.value.dtype == bool and \
                    leaf.value.shape[:1] == (n_mask,):
                index = leaf
                break
            if not leaf.ok and index is None:  # not evaluated: its length is in the message
                leaf.shape, leaf.note = (n_mask,), "length from NumPy's message"
                index = leaf
        if index is None or base.shape is None or base.shape[axis:axis + 1] != (n_axis,):
            continue
        conflict = (f"the boolean mask {_q(index.text)} has {n_mask} entries but "
                    f"{_q(base.text)} has {n_axis} along axis {axis} (shape "
                    f"{shape_text(base.shape)}): a mask selects along an axis and must be as "
                    f"long as it")
        dims = [{"operand": base.text, "axis": axis, "size": n_axis},
                {"operand": index.text, "axis": 0, "size": n_mask}]
        needed = [f"{_q(index.text)} must be computed from the same {n_axis} rows as "
                  f"{_q(base.text)} (a mask built from another array, or before a filter, has "
                  f"another length)"]
        return _make(ctx, node, "boolean index", [base, index], conflict, dims, needed=needed)
    return None


# -- np.linalg ------------------------------------------------------------------------------------

def _linalg(ctx: Context) -> Explanation | None:
    from . import _honest

    msg = str(ctx.exc)
    for call in _calls(ctx):
        func = _func(ctx, call)
        if getattr(func, "__module__", "") not in ("numpy.linalg", "numpy.linalg._linalg",
                                                    "numpy.linalg.linalg"):
            continue
        name = func.__name__
        leaves = [_leaf(ctx, a) for a in call.args]
        a = leaves[0] if leaves else None
        if a is None:
            continue
        fixes: list[Suggestion] = []
        notes: list[str] = []
        needed: list[str] = []
        if "square" in msg and a.shape is not None:
            conflict = (f"np.linalg.{name} needs square matrices (shape (..., M, M)), but "
                        f"{_q(a.text)} has shape {shape_text(a.shape)}")
            if name == "solve" and len(leaves) > 1 and len(a.shape) == 2:
                notes.append(f"{_q(a.text)} has {a.shape[0]} equations in {a.shape[1]} "
                             f"unknowns: for a least-squares solution use "
                             f"`np.linalg.lstsq({a.text}, {leaves[1].text}, rcond=None)[0]`")
            if name == "inv" and len(a.shape) == 2:
                notes.append(f"a {a.shape[0]} x {a.shape[1]} matrix has no inverse; "
                             f"`np.linalg.pinv` gives the least-squares pseudo-inverse, which "
                             f"is another computation: check which matrix you meant to invert "
                             f"(a Gram matrix `{a.text}.T @ {a.text}` is square)")
            needed.append(f"{_q(a.text)} must have as many rows as columns")
            dims = [{"operand": a.text, "axis": len(a.shape) - 1, "size": a.shape[-1]},
                    {"operand": a.text, "axis": len(a.shape) - 2, "size": a.shape[-2]}]
            return _make(ctx, call, f"np.linalg.{name}", leaves, conflict, dims, notes=notes,
                         needed=needed, here_why=f"np.linalg.{name} is given {_q(a.text)} of "
                         f"shape {shape_text(a.shape)}, which is not square")
        if name == "solve" and len(leaves) >= 2 and a.shape is not None and \
                leaves[1].shape is not None:
            b = leaves[1]
            A, B = a.shape, b.shape
            conflict = (f"np.linalg.solve(a, b) with `a` {shape_text(A)} reads `b` "
                        f"{shape_text(B)} as ")
            if len(B) == 1:
                conflict += (f"one right-hand side of {B[0]} entries, but `a` has {A[-1]} "
                             f"unknowns")
                dims = [{"operand": a.text, "axis": len(A) - 1, "size": A[-1]},
                        {"operand": b.text, "axis": 0, "size": B[0]}]
            else:
                conflict += (f"a stack of {B[-2]} x {B[-1]} matrices (NumPy 2: `b` is one "
                             f"vector per system only when it is 1-D; otherwise its shape "
                             f"must be (..., M, K)), so its axis -2 ({B[-2]}) must equal "
                             f"a's M = {A[-1]}")
                dims = [{"operand": a.text, "axis": len(A) - 1, "size": A[-1]},
                        {"operand": b.text, "axis": len(B) - 2, "size": B[-2]}]
            if len(A) >= 3 and len(B) == len(A) - 1 and B[-1] == A[-1]:
                tmpl = f"{ctx.np_name}.linalg.solve(__mf0, __mf1[..., None])[..., 0]"
                result, kinds = _honest.run_template(tmpl, [a, b], [A, B], ctx.frame.f_globals,
                                                     ctx.np_name)
                if result is not None and tuple(result) == tuple(B):
                    expr = (f"{ctx.np_name}.linalg.solve({a.text}, {b.text}[..., None])"
                            f"[..., 0]")
                    fixes.append(Suggestion(
                        f"{_q(expr)} solves one system per row of `{b.text}` and gives shape "
                        f"{shape_text(result)} (NumPy 1.x read a (..., M) `b` this way)", expr,
                        result, checked=f"run on {kinds} stand-ins; the solution has b's "
                        f"shape"))
            if not fixes:
                needed.append(f"`{b.text}` must have {A[-1]} rows (shape ({A[-1]},) or "
                              f"(..., {A[-1]}, K))")
            why = None
            if len(A) >= 3 and len(B) == len(A) - 1 and B[-1] == A[-1]:
                why = ("this call relies on NumPy 1.x reading a (..., M) `b` as one vector per "
                       "system; NumPy 2 reads it as a stack of matrices")
            return _make(ctx, call, "np.linalg.solve", leaves, conflict, dims, fixes,
                         needed=needed, here_why=why)
    return None


# -- einsum -------------------------------------------------------------------------------------

def _einsum(ctx: Context) -> Explanation | None:
    for call in _calls(ctx):
        if _func(ctx, call) is not np.einsum or not call.args:
            continue
        ok, spec = ctx.ev.try_eval(call.args[0])
        if not ok or not isinstance(spec, str):
            continue
        leaves = [_leaf(ctx, a) for a in call.args[1:]]
        if any(leaf.shape is None for leaf in leaves):
            continue
        inputs = spec.replace(" ", "").split("->")[0].split(",")
        problems = []
        sizes: dict[str, list[tuple[str, int]]] = {}
        for sub, leaf in zip(inputs, leaves, strict=False):
            if "..." not in sub and len(sub) != len(leaf.shape):  # type: ignore[arg-type]
                problems.append(f"{_q(leaf.text)} has {len(leaf.shape)} axes "  # type: ignore[arg-type]
                                f"{shape_text(leaf.shape)} but its subscripts '{sub}' name "
                                f"{len(sub)}")
                continue
            if "..." in sub:
                continue
            for letter, n in zip(sub, leaf.shape, strict=True):  # type: ignore[arg-type]
                sizes.setdefault(letter, []).append((leaf.text, n))
        dims = []
        for letter, seen in sizes.items():
            distinct = {n for _, n in seen if n != 1}
            if len(distinct) > 1:
                problems.append(f"label '{letter}' is " + " but ".join(
                    f"{n} in {_q(t)}" for t, n in seen))
                dims += [{"operand": t, "axis": None, "size": n, "label": letter}
                         for t, n in seen]
        if len(inputs) != len(leaves):
            problems.append(f"the subscripts name {len(inputs)} operands but "
                            f"{len(leaves)} are given")
        if not problems:
            continue
        table = "; ".join(f"'{sub}' -> {_q(leaf.text)} {shape_text(leaf.shape)}"
                          for sub, leaf in zip(inputs, leaves, strict=False))
        conflict = (f"np.einsum('{spec}') gives each letter one size across all operands "
                    f"({table}): " + "; ".join(problems))
        return _make(ctx, call, "einsum", leaves, conflict, dims,
                     needed=["each subscript letter must have one size in every operand that "
                             "uses it, and each operand one letter per axis"])
    return None


# -- joins with None ----------------------------------------------------------------------------

def _join_none(ctx: Context) -> Explanation | None:
    from ._ops import _JOIN

    for call in _calls(ctx):
        func = _func(ctx, call)
        name = getattr(func, "__name__", "")
        if func is not getattr(np, name, None) or name not in _JOIN or not call.args:
            continue
        seq = call.args[0]
        if isinstance(seq, (ast.List, ast.Tuple)):
            leaves = [_leaf(ctx, e) for e in seq.elts]
        else:
            ok, value = ctx.ev.try_eval(seq)
            if not ok or type(value) not in (list, tuple):
                continue
            base = " ".join(ctx.source.segment(seq).split())
            leaves = []
            for i, v in enumerate(value):
                leaf = Leaf(None, f"{base}[{i}]", True, v)
                _fill_shape(leaf)
                leaves.append(leaf)
        nones = [i for i, leaf in enumerate(leaves) if leaf.ok and leaf.value is None]
        root = None
        for i, leaf in enumerate(leaves):
            if leaf.ok or not isinstance(leaf.node, ast.Call) or \
                    not isinstance(leaf.node.func, ast.Name):
                continue
            fn = ctx.frame.f_locals.get(leaf.node.func.id,
                                        ctx.frame.f_globals.get(leaf.node.func.id))
            code = getattr(fn, "__code__", None)
            if code is None or returns_of(code) != []:
                continue
            nones.append(i)
            leaf.note = f"{leaf.node.func.id}() has no `return <value>`: it returns None"
            fnode = function_node(code)
            if fnode is not None and root is None:
                last = fnode.body[-1]
                root = {"file": code.co_filename, "line": last.lineno, "function": code.co_name,
                        "source": " ".join(ast.unparse(last).split())[:100],
                        "operand": leaf.text, "reason": "returns None", "size": None,
                        "why": f"`{code.co_name}()` ends here without returning its result, so "
                               f"{_q(leaf.text)} is None"}
        if not nones:
            continue
        which = ", ".join(_q(leaves[i].text) for i in nones)
        conflict = (f"np.{name} got None as element {', '.join(map(str, nones))} ({which}); "
                    f"NumPy turns None into a 0-d object array, so the error speaks of a size "
                    f"1 or of a dimension count that no array of yours has")
        notes = ["None usually comes from a function that returns nothing (a missing "
                 "`return`), or from an in-place method such as `list.append`/`ndarray.sort`, "
                 "which return None"]
        return _make(ctx, call, name, leaves, conflict, notes=notes,
                     needed=[f"{which} must be an array"],
                     origin_leaves=[leaves[i] for i in nones], root=root)
    return None


# -- a positional out ---------------------------------------------------------------------------

def _positional_out(ctx: Context) -> Explanation | None:
    from . import _honest

    for call in _calls(ctx):
        func = _func(ctx, call)
        if isinstance(func, np.ufunc):
            nin = func.nin
        elif func is np.dot:
            nin = 2
        else:
            continue
        if len(call.args) <= nin or any(isinstance(a, ast.Starred) for a in call.args):
            continue
        leaves = [_leaf(ctx, a) for a in call.args]
        name = func.__name__
        extra = leaves[nin]
        conflict = (f"np.{name} takes {nin} inputs; its argument number {nin + 1}, "
                    f"{_q(extra.text)}, is `out`, the array the result is written into, not "
                    f"another operand")
        fixes = []
        if name in ("matmul", "dot") and all(leaf.shape is not None for leaf in leaves):
            tmpl = " @ ".join(f"__mf{i}" for i in range(len(leaves)))
            result, kinds = _honest.run_template(tmpl, leaves, [leaf.shape for leaf in leaves],  # type: ignore[misc]
                                                 ctx.frame.f_globals, ctx.np_name)
            if result is not None:
                texts = ", ".join(" ".join(leaf.text.split()) for leaf in leaves)
                expr = f"{ctx.np_name}.linalg.multi_dot([{texts}])"
                fixes.append(Suggestion(f"{_q(expr)} multiplies all {len(leaves)} and gives "
                                        f"shape {shape_text(result)}", expr, result,
                                        checked=f"run on {kinds} stand-ins"))
        dims = [{"operand": extra.text, "axis": None, "size": None}]
        return _make(ctx, call, f"np.{name} (positional out)", leaves, conflict, dims, fixes,
                     needed=[f"pass at most {nin} inputs to np.{name}; write `out=` by name "
                             f"when you do mean an output array"],
                     here_why=f"{_q(extra.text)} is passed to np.{name} as a third positional "
                     f"argument, which NumPy takes as `out`")
    return None


# -- scipy.optimize callbacks -----------------------------------------------------------------

def _scipy_callback_note(ctx: Context) -> str | None:
    """When the failing user function was called by scipy.optimize: what it received."""
    from ._source import is_user_file

    tb, via_optimize = ctx.tb, False
    target = ctx.frame
    while tb is not None:
        if tb.tb_frame is target:
            break
        if is_user_file(tb.tb_frame.f_code.co_filename):
            via_optimize = False
        elif tb.tb_frame.f_globals.get("__name__", "").startswith("scipy.optimize"):
            via_optimize = True
        tb = tb.tb_next
    if not via_optimize:
        return None
    code = target.f_code
    params = code.co_varnames[: code.co_argcount]
    if not params:
        return None
    got = []
    for p in params:
        v = target.f_locals.get(p)
        got.append(f"`{p}` got {shape_text(np.shape(v)) if is_array(v) else type(v).__name__}")
    return (f"`{code.co_name}` is called by scipy.optimize as `{code.co_name}(x, *args)`: the "
            f"parameter vector being optimised comes first, then `args` in order; here "
            f"{', '.join(got)}. If `{params[0]}` is not your parameter vector, reorder the "
            f"parameters as `def {code.co_name}(x, ...)` (x with the shape of x0)")


def _with_callback_note(ctx: Context, e: Explanation) -> Explanation:
    note = _scipy_callback_note(ctx)
    if note:
        e.notes.append(note)
    return e


def callback_note(ctx: Context) -> str | None:
    """Public for the operator path: the scipy.optimize note, if the error is in a callback."""
    return _scipy_callback_note(ctx)
