"""Fixes for a failing operation, each checked by NumPy on stand-ins before it is shown.

Rewrites change at most two leaves of the failing expression (a transpose, an added axis,
``keepdims=True``), or the whole expression (``np.einsum`` for a batched product, the other
order, ``np.multiply`` for ``*`` on np.matrix, another join axis or function, a leading ``-1``
(batch) axis in a reshape); requirements change one disagreeing size of one operand. Only those
for which :mod:`._rules` says NumPy accepts the new shapes are returned, smallest result first.
"""

from __future__ import annotations

import ast
import itertools
from typing import Any

from . import _evidence, _rules
from ._ops import _REDUCTIONS, Leaf, Op, Shape, _atomic, _expr_text, _q, _size, _splice
from ._report import Suggestion, shape_text
from ._safe import SafeEvaluator, is_array
from ._source import Source


def _variants(leaf: Leaf, batched: bool, kind: str, np_name: str,
              ev: SafeEvaluator, source: Source) -> list[tuple[str, Shape, float, str]]:
    """Rewrites of one leaf: (text, shape, cost, template); the template writes the leaf as
    ``{}`` so that the rewrite can be run on a stand-in of the leaf's real type."""
    shape = leaf.shape
    if shape is None or not leaf.ok:
        return []
    t = _atomic(leaf.node, " ".join(leaf.text.split()))
    out: list[tuple[str, Shape, float, str]] = []
    nd = len(shape)
    tcost = 1.2 if kind == "broadcast" else 1.0

    def add(fmt: str, new: Shape, cost: float) -> None:
        out.append((fmt.format(t), new, cost, fmt))

    if leaf.is_matrix:
        if shape[0] != shape[1]:
            add("{}.T", shape[::-1], tcost)
        return out
    if kind == "broadcast":
        out.extend((text, new, cost, "{}") for text, new, cost in
                   _keepdims_variant(leaf, ev, source))
    if nd == 1:
        add("{}[:, None]", (shape[0], 1), 1.0)
        add("{}[None, :]", (1, shape[0]), 1.1)
    elif nd == 2:
        if shape[0] != shape[1]:
            add("{}.T", shape[::-1], tcost)
        if shape[1] == 1 and shape[0] != 1:  # drop a singleton axis: same numbers, no copy
            add("{}[:, 0]", (shape[0],), 0.9)
        if shape[0] == 1 and shape[1] != 1:
            add("{}[0]", (shape[1],), 0.9)
        if batched:
            add("{}[:, None, :]", (shape[0], 1, shape[1]), 1.0)
            add("{}[:, :, None]", (shape[0], shape[1], 1), 1.0)
    elif nd >= 3 and isinstance(leaf.node, ast.Attribute) and leaf.node.attr == "T":
        # `.T` of a stack reversed every axis: transpose the base's last two instead
        base = shape[::-1]
        out.append((f"{np_name}.swapaxes({t[:-2]}, -1, -2)",
                    (*base[:-2], base[-1], base[-2]), tcost, "{}"))
    elif nd >= 3 and shape[-1] != shape[-2]:
        out.append((f"{np_name}.swapaxes({leaf.text}, -1, -2)",
                    (*shape[:-2], shape[-1], shape[-2]), tcost,
                    f"{np_name}.swapaxes({{}}, -1, -2)"))
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
                for i, (_, shape, _, _) in zip(idx, choice, strict=True):
                    trial[i] = shape
                result = _rules.eval_tree(tree, trial)  # type: ignore[arg-type]
                if result is None:
                    continue
                reps = [(leaves[i].node, text) for i, (text, _, _, _) in
                        zip(idx, choice, strict=True)]
                expr = _splice(source, op.node, reps)  # type: ignore[arg-type]
                cost = sum(c for _, _, c, _ in choice)
                sug = Suggestion(f"{_q(expr)} gives shape {shape_text(result)}", expr, result)
                fmts = {i: f for i, (_, _, _, f) in zip(idx, choice, strict=True)}
                sug._check = (leaves, [fmts.get(i, "{}") for i in range(n)],  # type: ignore[attr-defined]
                              trial)
                found.append(((_size(result), k, cost), sug))
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
    sug = Suggestion(
        f"{_q(expr)} gives shape {shape_text(result)} ({what} along the shared first axis)",
        expr, result)
    places = ", ".join(f"__mf{i}" for i in range(len(leaves)))
    sug._check = (leaves, ["{}"] * len(leaves), shapes,  # type: ignore[attr-defined]
                  f'{np_name}.einsum("{spec}", {places})')
    return [((_size(result), 1, 0.5), sug)]


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
    sug = Suggestion(f"{_q(expr)} (the other order) gives shape {shape_text(result)}", expr,
                     result)
    sug._check = (op.operands, ["{}", "{}"], [a.shape, b.shape],  # type: ignore[attr-defined]
                  f"__mf1 {sym} __mf0")
    return [((_size(result), 2, 2.0), sug)]


def _multiply_suggestion(op: Op, np_name: str) -> list:
    if not op.extra.get("matrix") or not op.known():
        return []
    result = _rules.broadcast_shape(op.shapes())  # type: ignore[arg-type]
    if result is None:
        return []
    a, b = op.operands
    expr = f"{np_name}.multiply({' '.join(a.text.split())}, {' '.join(b.text.split())})"
    sug = Suggestion(
        f"{_q(expr)} gives shape {shape_text(result)} if you meant the elementwise product",
        expr, result)
    sug._check = (op.operands, ["{}", "{}"], [a.shape, b.shape],  # type: ignore[attr-defined]
                  f"{np_name}.multiply(__mf0, __mf1)")
    return [((0, 0, 0.0), sug)]  # `*` on np.matrix usually meant elementwise: first


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
            from ..shapes import _axis_word  # scipy.sparse: only when explaining

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
        # np.stack <-> np.concatenate changes the number of axes (a batch axis appears or
        # disappears): that is another result, not a fix
    else:
        tries += [(f, None) for f in ("vstack", "hstack", "column_stack", "dstack") if f != func]
    for rank, (f, ax) in enumerate(tries):
        result = _rules.join_shape(f, shapes, 0 if ax is None else ax)
        if result is None:
            continue
        call = f"{np_name}.{f}({seq_text}" + (f", axis={ax})" if ax is not None else ")")
        out.append(((0, rank), Suggestion(f"{_q(call)} gives shape {shape_text(result)}", call,
                                          result, checked="NumPy's join rules")))
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
                                               expr, result, checked="NumPy's join rules")))
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


def _reshape_suggestions(op: Op, source: Source) -> list[Suggestion]:
    """Only a reshape that keeps the requested shape and keeps leading (batch) axes as they are:
    ``x.reshape(28, 28)`` on a (2, 784) ``x`` becomes ``x.reshape(-1, 28, 28)``. Replacing a
    size by -1 or by a divisor would give another shape than the code asks for."""
    size, target = op.extra.get("size"), op.extra.get("target")
    leaf = op.operands[0]
    if size is None or target is None or leaf.shape is None or -1 in target:
        return []
    want = _size(tuple(target))
    if want == 0 or size % want:
        return []
    batch = size // want
    lead = 1
    for k, s in enumerate(leaf.shape):
        lead *= s
        if lead == batch and k + 1 < len(leaf.shape):
            trial = [-1, *target]
            result = _rules.reshape_shape(size, trial)
            if result is None:
                return []
            call = _reshape_call(op, source, trial)
            return [Suggestion(f"{_q(call)} gives shape {shape_text(result)} (keeps the "
                               f"leading {'axis' if k == 0 else 'axes'} "
                               f"{shape_text(tuple(leaf.shape[:k + 1]))} as a batch)", call,
                               result, checked="reshape arithmetic")]
        if lead > batch:
            break
    return []



def _upstream_reduction_fixes(op: Op, origins: list, need: Any, ev: SafeEvaluator,
                              holds: Any = None) -> list[Suggestion]:
    """Fixes on the line where an operand was reduced along an axis (``m = x.mean(axis=1)``,
    :func:`._evidence.reduction`): another axis, or ``keepdims=True``, when the failing
    operation (and what the code needs) then works. The reduced array is read from the failing
    frame and must still reduce to the operand's shape, so a name changed since is left alone."""
    from . import _honest

    if op.kind not in ("matmul", "dot", "broadcast", "inplace") or not op.known():
        return []
    shapes = [tuple(s) for s in op.shapes()]  # type: ignore[union-attr]
    out: list[Suggestion] = []
    for idx, leaf in enumerate(op.operands):
        if not isinstance(leaf.node, ast.Name) or leaf.shape is None:
            continue
        origin = next((o for o in origins if o.operand == leaf.text and o.steps), None)
        step = None if origin is None else next(
            (s for s in origin.steps if "got shape" in s.what), None)
        red = None if step is None else _evidence.reduction(step.text, leaf.text)
        if red is None:
            continue
        try:
            base_node = ast.parse(red.base, mode="eval").body
        except SyntaxError:
            continue
        ok, base = ev.try_eval(base_node)
        if not ok or not is_array(base) or not -base.ndim <= red.axis < base.ndim:
            continue
        axis = red.axis % base.ndim
        full = tuple(base.shape)
        if full[:axis] + full[axis + 1:] != tuple(leaf.shape):
            continue  # the reduced array is not what it was then
        text, (a0, a1) = step.text, red.axis_span  # type: ignore[union-attr]
        trials = [(text[:a0] + str(other) + text[a1:], full[:other] + full[other + 1:])
                  for other in range(base.ndim) if other != axis]
        trials.append((text[:red.close].rstrip() + ", keepdims=True" + text[red.close:],
                       (*full[:axis], 1, *full[axis + 1:])))
        for new_text, new_shape in trials:
            trial = list(shapes)
            trial[idx] = new_shape
            result = _rules.eval_tree(op.immediate_tree(), trial)
            if result is None or not _honest.satisfies(result, need) or (
                    holds is not None and not holds(result, {leaf.text: new_shape})):
                continue
            if op.kind in ("broadcast", "inplace") and tuple(result) not in set(trial):
                continue  # an outer product where an elementwise operation was written
            out.append(Suggestion(
                f"`{new_text}` (instead of `{text}`): then `{leaf.text}` has shape "
                f"{shape_text(new_shape)} and `{_expr_text(op)}` gives shape "
                f"{shape_text(result)}", new_text, result, line=step.line,  # type: ignore[union-attr]
                checked="shape rules" + (f"; {need[2]}" if need else "")))
    return out
