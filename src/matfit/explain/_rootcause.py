"""Which line is the root cause: the origins of the operands, weighed, strongest reason first.

:func:`root_cause` reads the :class:`~matfit.explain._provenance.Origin` of each operand of the
failing operation and picks the line the report believes is wrong, with a reason:

* on the failing line itself, first: ``.T`` of a stack of matrices (it reverses every axis);
  an operand built there by a call or a subscript; a product built there against a name that an
  earlier line of the scope already used with its shape (``V += lr * E.T @ U`` after
  ``E = R - U @ V``) (``expression``);
* an upstream silent broadcast (``broadcast``); a shape that changed between loop iterations or
  calls (``changed``);
* an operand reduced along an axis of the other operand (``m = X.mean(axis=1)``, then
  ``X - m``): the reduction's line (``reduction``);
* on the failing line: both operands of one shape where a transpose is needed, operands built
  from the same names, whose sizes agree by construction, or a product with a layer's weight
  that another method multiplies with its shape (``operation``);
* a size chosen by hand (a literal, or a name bound to one) against one derived from data
  (``size``); an axis of size 1 where a 1-D array was probably meant (``singleton``);
* otherwise the operand whose shape was set last, saying that the report cannot tell which size
  is the intended one (``latest``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ._evidence import is_product, product_elsewhere, reduction, used_since
from ._provenance import Origin, Step
from ._report import shape_text

__all__ = ["root_cause"]


def root_cause(origins: list[Origin], dims: list[dict[str, Any]],
               here: Step | None = None, operands: list[Any] | None = None) -> \
        dict[str, Any] | None:
    """The line the report believes is wrong, and why (None without any origin)."""
    with_steps = [o for o in origins if o.steps]
    upstream = [o for o in with_steps if o.broadcast or o.history]
    conflicting_texts = {d["operand"] for d in dims}
    if here is not None and operands and not upstream:
        by_text = {leaf.text: leaf for leaf in operands}
        for leaf in operands:
            node = leaf.node
            if leaf.text in conflicting_texts and isinstance(node, ast.Attribute) and \
                    node.attr == "T" and leaf.shape is not None and len(leaf.shape) >= 3:
                base = leaf.text[:-2]
                return _rc(here, leaf.text, f"`.T` reverses all {len(leaf.shape)} axes of "
                           f"`{base}` {shape_text(leaf.shape[::-1])}, giving "
                           f"{shape_text(leaf.shape)}; a stack of matrices is transposed with "
                           f"`np.swapaxes({base}, -1, -2)`", "expression")
        for o in origins:
            leaf = by_text.get(o.operand)
            if o.operand in conflicting_texts and not o.steps and leaf is not None and \
                    isinstance(leaf.node, (ast.Call, ast.Subscript)):
                return _rc(here, o.operand, f"the expression `{o.operand}` gets its shape "
                           f"{shape_text(o.shape)} on this line", "expression")
        used = _used_elsewhere(origins, by_text, conflicting_texts, here)
        if used is not None:
            return used
        shapes = [o.shape for o in origins if o.operand in conflicting_texts]
        if len(shapes) == 2 and shapes[0] == shapes[1] and shapes[0] is not None and \
                len(shapes[0]) >= 2 and shapes[0][-1] != shapes[0][-2]:
            return _rc(here, origins[0].operand, f"both operands have shape "
                       f"{shape_text(shapes[0])}: the product needs one of them transposed "
                       f"here", "operation")
    if not with_steps:
        return _built_here(origins, dims, here, operands)
    for o in with_steps:
        if o.broadcast and o.broadcast_step is not None:
            return _rc(o.broadcast_step, o.operand,
                       f"silent broadcast upstream: {o.broadcast}; `{o.operand}` then has "
                       f"shape {shape_text(o.shape)}", "broadcast")
    for o in with_steps:
        if o.history and o.changed_at is not None and o.changed_at.text:
            return _rc(o.changed_at, o.operand,
                       f"the shape of `{o.operand}` changed while the program ran: "
                       f"{o.history}", "changed")
    in_conflict = [o for o in with_steps if o.operand in conflicting_texts]
    if len(in_conflict) == 2:
        for x, y in (in_conflict, in_conflict[::-1]):
            step = next((st for st in x.steps if "got shape" in st.what), None)
            red = None if step is None else reduction(step.text, x.operand)
            if red is not None and any(re.search(rf"(?<![\w.]){re.escape(n)}(?!\w)", y.operand)
                                       for n in red.names):
                return _rc(step, x.operand,  # type: ignore[arg-type]
                           f"`{x.operand}` is `{red.call}`: the reduction removes axis "
                           f"{red.axis} of `{red.base}`, and the {shape_text(x.shape)} left "
                           f"does not line up with `{y.operand}` {shape_text(y.shape)}: reduce "
                           f"along the axis you mean, or keep the reduced axis "
                           f"(keepdims=True)", "reduction")
    if here is not None and operands and len(conflicting_texts) == 2:
        names = []
        for leaf in operands:
            if leaf.text in conflicting_texts and leaf.node is not None:
                names.append({n.id for n in ast.walk(leaf.node) if isinstance(n, ast.Name)})
        if len(names) == 2 and names[0] & names[1]:
            shared = ", ".join(f"`{n}`" for n in sorted(names[0] & names[1]))
            return _rc(here, operands[0].text, f"both operands are built from {shared} on this "
                       f"line: the sizes come from the same data, the operation does not line "
                       f"them up", "operation")
    if here is not None and len(in_conflict) == 2:
        a, b = in_conflict
        for x, y in ((a, b), (b, a)):
            base = y.operand.split(".")[0].split("[")[0]
            assigns = [st for st in x.steps if "got shape" in st.what][:1]
            if base.isidentifier() and any(
                    re.search(rf"(?<![\w.]){re.escape(base)}(?!\w)", st.text.split("=", 1)[-1])
                    for st in assigns):
                return _rc(here, x.operand, f"`{x.operand}` is computed from `{y.operand}` "
                           f"(line {assigns[0].line}), so their sizes agree by construction: "
                           f"the axes are not lined up in this operation", "operation")
    conflicting = [o for o in with_steps if o.size is not None]
    free = [o for o in conflicting if o.size.get("free")]  # type: ignore[union-attr]
    others = [o for o in in_conflict if o not in free]
    if len(free) == 1 and others:
        o = free[0]
        other = others[0]
        s = o.size
        tail = ""
        if other.size is not None:
            tail = (f", while the {other.size['size']} of `{other.operand}` is "
                    f"{other.size.get('how', 'derived')} (`{other.size['expr']}`)")
        else:
            tail = f", while `{other.operand}` {shape_text(other.shape)} comes from the data"
        return _rc(o.steps[-1] if s.get("line") is None else _step_at(o, s["line"]), o.operand,  # type: ignore[union-attr]
                   f"the {s['size']} of `{o.operand}` (axis {s['axis']}) is `{s['expr']}`, "  # type: ignore[index]
                   f"{s.get('how', 'chosen by hand')}{tail}", "size", s)  # type: ignore[union-attr]
    ones = [o for o in in_conflict if any(d["operand"] == o.operand and d.get("size") == 1
                                          for d in dims)]
    if len(ones) == 1 and len(in_conflict) == 2:
        o = ones[0]
        return _rc(o.steps[-1], o.operand, f"`{o.operand}` has an axis of size 1 where the other "
                   f"operand has a real size: shape {shape_text(o.shape)} is a row or column "
                   f"where a 1-D array was probably meant", "singleton")
    pool = conflicting or with_steps
    o = max(pool, key=lambda x: x.set_order)
    s = o.size
    why = (f"`{o.operand}` got its shape {shape_text(o.shape)} last" if o.shape is not None
           else f"`{o.operand}` was set last"
           + (f"; its size {s['size']} (axis {s['axis']}) is `{s['expr']}`" if s else "")
           + "; the report cannot tell which size is the intended one")
    step = _step_at(o, s["line"]) if s and s.get("line") else o.steps[-1]
    return _rc(step, o.operand, why, "latest", s)


def _built_here(origins: list[Origin], dims: list[dict[str, Any]], here: Step | None,
                operands: list[Any] | None) -> dict | None:
    """The failing line, when every disagreeing operand is an expression built on it (none
    is a name with a recorded origin): ``Phi.T @ Phi + lam * np.eye(degree)``. Which sizes
    disagree is all the report can say; the operand named is the one with a call in it (a
    constructor such as ``np.eye(degree)`` is where a size is written)."""
    if here is None or not operands or len(dims) < 2:
        return None
    texts = [d["operand"] for d in dims]
    by_text = {leaf.text: leaf for leaf in operands}
    leaves = [by_text[t] for t in texts if t in by_text]
    if len(leaves) != len(texts) or any(isinstance(leaf.node, ast.Name) for leaf in leaves):
        return None
    sizes = ", ".join(f"`{d['operand']}` has {d['size']}" for d in dims)
    called = [leaf for leaf in leaves
              if any(isinstance(n, ast.Call) for n in ast.walk(leaf.node))]
    name = (called or leaves)[-1].text
    return _rc(here, name, f"every operand is built on this line ({sizes}), so the sizes "
               f"were set here: check the size written in `{name}`", "expression")


def _used_elsewhere(origins: list[Origin], by_text: dict[str, Any], conflicting: set[str],
                    here: Step) -> dict | None:
    """The failing line as the root cause when one operand is a product computed on it and the
    other a name that an earlier statement of the scope already used with its shape (see
    :func:`._evidence.used_since`): the name's shape was accepted there, the product is new."""
    pair = [o for o in origins if o.operand in conflicting]
    if len(pair) != 2:
        return None
    for x, y in (pair, pair[::-1]):
        leaf = by_text.get(x.operand)
        step = next((st for st in y.steps if "got shape" in st.what), None)
        if x.steps or leaf is None or not is_product(leaf.node) or step is None or \
                step.filename != here.filename or not y.operand.isidentifier():
            continue
        use = used_since(here.filename, y.operand, step.line, here.line)
        if use is not None:
            return _rc(here, x.operand, f"`{y.operand}` {shape_text(y.shape)} was already used "
                       f"with that shape on line {use[0]} (`{use[1]}`); the product "
                       f"`{x.operand}`, {shape_text(x.shape)}, is computed on this line",
                       "expression")
    text = " ".join(here.text.split())
    for x, y in (pair, pair[::-1]):
        if not re.fullmatch(r"self(\.\w+)+", y.operand) or (
                f"{x.operand} @ {y.operand}" not in text and
                f"{y.operand} @ {x.operand}" not in text):
            continue
        use = product_elsewhere(here.filename, y.operand, here.line)
        if use is not None:
            return _rc(here, y.operand, f"`{y.operand}` {shape_text(y.shape)} is a factor of "
                       f"a product with that shape on line {use[0]} (`{use[1]}`); here it "
                       f"meets `{x.operand}` {shape_text(x.shape)}: this product needs one of "
                       f"them transposed", "operation")
    return None


def _step_at(o: Origin, line: int) -> Step:
    for s in o.steps:
        if s.line == line:
            return s
    return o.steps[-1]


def _rc(step: Step, name: str, why: str, reason: str, size: dict | None = None) -> dict:
    return {"file": step.filename, "line": step.line, "function": step.function,
            "source": step.text, "operand": name, "why": why, "reason": reason,
            "size": size}
