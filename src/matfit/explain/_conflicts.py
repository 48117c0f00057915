"""Which dimensions disagree, and under which rule: one function per kind of operation.

Each returns ``(sentence, dimensions)``: the sentence names the operands by their source text
and says the rule (matmul's core dimension, right-aligned broadcasting, the join axis, the
element count of a reshape); ``dimensions`` lists ``{"operand", "axis", "size"}`` of the
disagreeing axes.
"""

from __future__ import annotations

import math

from . import _rules
from ._ops import Op, Shape, _expr_text, _q
from ._report import shape_text


def _axis_phrase(axis: int, ndim: int, size: int) -> str:
    # matfit.shapes imports scipy.sparse: only when an error is explained, not at start-up
    from ..shapes import _axis_word

    return _axis_word(axis, ndim, size)


def _matmul_conflict(op: Op) -> tuple[str, list[dict]]:
    (a, b), (A, B) = op.shapes(), (op.operands[0].text, op.operands[1].text)
    assert a is not None and b is not None
    sym = _q(_expr_text(op))
    if len(a) == 0 or len(b) == 0:
        if op.kind == "dot":  # np.dot multiplies by a 0-d operand: it never fails on one
            return "", []
        zero = A if len(a) == 0 else B
        return (f"{_q(zero)} is 0-d (a scalar), but {sym} needs at least one axis on each "
                f"operand: multiply by a scalar with `*`."), []
    ax_a = len(a) - 1
    ax_b = len(b) - 2 if len(b) >= 2 else 0
    ka, kb = a[ax_a], b[ax_b]
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
