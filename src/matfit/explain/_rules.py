"""Shape rules, checked by NumPy itself on tiny stand-in arrays.

Every fix that ``matfit explain`` prints is first *run*: the operation is applied by NumPy to
stand-in arrays with the proposed shapes. The stand-ins are shrunk so that the check costs
microseconds whatever the real sizes: each distinct size is mapped to a small distinct size
(0 -> 0, 1 -> 1, the others to 2, 3, 4, ... in order). Matmul, dot, broadcasting, einsum and
joining only ever compare sizes for equality and for being 1, so the shrunk problem is valid
exactly when the real one is, and every size of the result comes from an input size, so mapping
the result back gives the real result shape. (Joining sums sizes along its axis: that one size is
computed from the rule, after NumPy has said the join is valid.) Reshape depends on products, so
it is checked by arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Tree", "eval_tree", "join_shape", "reshape_shape", "shrink"]

Shape = tuple[int, ...]
# ("leaf", i) | (kind, left, right), kind in {"matmul", "dot", "broadcast", "inplace", "imatmul"}
Tree = tuple  # ("leaf", i) or (kind, Tree, Tree)


def shrink(shapes: Sequence[Shape]) -> tuple[list[Shape], dict[int, int]]:
    """Map every size to a small one that keeps equality and 1-ness; return the inverse map."""
    sizes = sorted({s for shape in shapes for s in shape} - {0, 1})
    fwd = {0: 0, 1: 1, **{s: i + 2 for i, s in enumerate(sizes)}}
    back = {v: k for k, v in fwd.items()}
    return [tuple(fwd[s] for s in shape) for shape in shapes], back


def _dummy(shape: Shape) -> np.ndarray:
    return np.zeros(shape, dtype=np.float64)


def _apply(tree: Tree, arrays: list[np.ndarray]) -> np.ndarray:
    kind = tree[0]
    if kind == "leaf":
        return arrays[tree[1]]  # type: ignore[index]
    left, right = _apply(tree[1], arrays), _apply(tree[2], arrays)  # type: ignore[arg-type]
    if kind == "matmul":
        return np.matmul(left, right)
    if kind == "dot":
        return np.dot(left, right)
    if kind == "broadcast":
        return np.add(left, right)
    if kind == "inplace":
        out = left.copy()
        out += right
        return out
    if kind == "imatmul":  # a @= b keeps a's shape
        out = np.matmul(left, right)
        if out.shape != left.shape:
            raise ValueError("a @= b would change the shape of a")
        return out
    raise ValueError(f"unknown tree node {kind!r}")


def eval_tree(tree: Tree, shapes: Sequence[Shape]) -> Shape | None:
    """The result shape of the expression ``tree`` on operands of ``shapes``; None if invalid."""
    small, back = shrink(shapes)
    try:
        with np.errstate(all="ignore"):
            out = _apply(tree, [_dummy(s) for s in small])
    except ValueError:
        return None
    return tuple(back[s] for s in out.shape)


def einsum_shape(subscripts: str, shapes: Sequence[Shape]) -> Shape | None:
    """The result shape of ``np.einsum(subscripts, *operands)``; None if invalid."""
    small, back = shrink(shapes)
    try:
        out = np.einsum(subscripts, *[_dummy(s) for s in small])
    except ValueError:
        return None
    return tuple(back[s] for s in out.shape)


def broadcast_shape(shapes: Sequence[Shape]) -> Shape | None:
    """``np.broadcast_shapes``, or None when the shapes do not broadcast."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


# how each joining function prepares its inputs before concatenating or stacking them
def _at_least(shape: Shape, ndim: int) -> Shape:
    if len(shape) >= ndim:
        return shape
    if ndim == 2:
        return (1, *shape) if shape else (1, 1)
    # atleast_3d: (n,) -> (1, n, 1), (m, n) -> (m, n, 1)
    if len(shape) == 0:
        return (1, 1, 1)
    if len(shape) == 1:
        return (1, shape[0], 1)
    return (*shape, 1)


def join_prepare(func: str, shapes: Sequence[Shape], axis: Any) -> tuple[list[Shape], Any, str]:
    """(shapes after the function's own promotion, axis, "concatenate" or "stack")."""
    shapes = [tuple(s) for s in shapes]
    if func == "vstack" or func == "row_stack":
        return [_at_least(s, 2) for s in shapes], 0, "concatenate"
    if func == "hstack":
        shapes = [s if s else (1,) for s in shapes]
        return shapes, 0 if shapes and len(shapes[0]) == 1 else 1, "concatenate"
    if func == "dstack":
        return [_at_least(s, 3) for s in shapes], 2, "concatenate"
    if func == "column_stack":
        return [(s[0], 1) if len(s) == 1 else s for s in shapes], 1, "concatenate"
    if func == "stack":
        return shapes, axis, "stack"
    return shapes, axis, "concatenate"


def join_shape(func: str, shapes: Sequence[Shape], axis: Any = 0) -> Shape | None:
    """Result shape of ``np.<func>(arrays[, axis])`` for arrays of ``shapes``; None if invalid."""
    if not shapes:
        return None
    prepared, axis, mode = join_prepare(func, shapes, axis)
    small, _ = shrink(prepared)
    dummies = [_dummy(s) for s in small]
    try:
        if mode == "stack":
            np.stack(dummies, axis=axis)
        else:
            np.concatenate(dummies, axis=axis)
    except (ValueError, TypeError, np.exceptions.AxisError):
        return None
    if mode == "stack":
        ax = axis % (len(prepared[0]) + 1)
        out = list(prepared[0])
        out.insert(ax, len(prepared))
        return tuple(out)
    if axis is None:
        return (sum(math.prod(s) for s in prepared),)
    ax = axis % len(prepared[0])
    out = list(prepared[0])
    out[ax] = sum(s[ax] for s in prepared)
    return tuple(out)


def reshape_shape(size: int, target: Sequence[int]) -> Shape | None:
    """The shape ``reshape(target)`` gives an array of ``size`` elements; None if impossible."""
    target = [int(t) for t in target]
    unknown = [i for i, t in enumerate(target) if t == -1]
    if len(unknown) > 1 or any(t < -1 for t in target):
        return None
    known = math.prod(t for t in target if t != -1)
    if unknown:
        if known == 0 or size % known:
            return None
        target[unknown[0]] = size // known
        return tuple(target)
    return tuple(target) if known == size else None
