"""The optimiser contract and the parameter containers ("trees") the optimisers walk over.

An optimiser is a pair of pure functions, as in optax, except that ``update`` returns the new
parameters rather than an additive update:

    state = opt.init(params)
    params, state = opt.update(grads, state, params)

``params`` (and ``grads``, and every array container inside a state) is a *tree*: a dict of
arrays, a list or tuple of arrays, or a single array. Neither argument is modified.

Each algorithm is written once, as an in-place kernel over one array and its state buffers in
PyTorch's order of operations. ``update`` runs that kernel on copies; the stateful wrappers of
:mod:`matfit.optim._wrappers` run it on the caller's arrays with preallocated work buffers.
Both therefore give bit-identical results.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .._errors import InvalidParameterError, ShapeError

__all__ = ["Optimizer", "Schedule", "tree_keys", "tree_leaves", "tree_map", "tree_unflatten"]

Tree = Any
Schedule = Callable[[int], float]


class Optimizer(NamedTuple):
    """A pure optimiser: ``init(params) -> state`` and ``update(grads, state, params)``.

    ``update`` returns ``(new_params, new_state)`` and modifies nothing it is given.
    ``step_`` is the in-place form used by the stateful wrappers: ``step_(grads, state, params,
    work)`` updates ``params`` and the state's buffers in place and returns the new state;
    ``work`` is a list of scratch-array lists from ``make_work(params)``.
    """

    init: Callable[[Tree], Any]
    update: Callable[[Tree, Any, Tree], tuple[Tree, Any]]
    step_: Callable[..., Any]
    make_work: Callable[[Tree], list]
    hyperparams: dict


def tree_keys(tree: Tree) -> list:
    """The keys (dict) or positions (list, tuple, single array) of a tree's leaves."""
    if isinstance(tree, dict):
        return list(tree.keys())
    if isinstance(tree, (list, tuple)):
        return list(range(len(tree)))
    return [None]


def tree_leaves(tree: Tree) -> list:
    """The leaves in key order."""
    if isinstance(tree, dict):
        return list(tree.values())
    if isinstance(tree, (list, tuple)):
        return list(tree)
    return [tree]


def tree_unflatten(like: Tree, leaves: list) -> Tree:
    """A tree with the structure of ``like`` holding ``leaves``."""
    if isinstance(like, dict):
        return dict(zip(like.keys(), leaves, strict=True))
    if isinstance(like, tuple):
        return tuple(leaves)
    if isinstance(like, list):
        return list(leaves)
    return leaves[0]


def tree_map(fn: Callable, tree: Tree, *rest: Tree) -> Tree:
    """Apply ``fn`` leaf by leaf over trees of the same structure."""
    others = [tree_leaves(r) for r in rest]
    return tree_unflatten(tree, [fn(x, *ys) for x, *ys in zip(tree_leaves(tree), *others,
                                                              strict=True)])


def _iter_pairs(grads: Tree, params: Tree) -> Iterator[tuple[Any, Any]]:
    gl, pl = tree_leaves(grads), tree_leaves(params)
    if isinstance(params, dict):
        if not isinstance(grads, dict) or grads.keys() != params.keys():
            missing = sorted(map(str, set(params) - set(grads))) if isinstance(grads, dict) else []
            raise ShapeError(
                "grads must be a dict with the same keys as params"
                + (f"; missing {missing}" if missing else "")
                + f"; got {type(grads).__name__}."
            )
        gl = [grads[k] for k in params]
    if len(gl) != len(pl):
        raise ShapeError(f"grads has {len(gl)} arrays but params has {len(pl)}; pass one gradient "
                         f"per parameter, in the same order.")
    for i, (g, p) in enumerate(zip(gl, pl, strict=True)):
        if np.shape(g) != np.shape(p):
            key = tree_keys(params)[i]
            raise ShapeError(f"grads[{key!r}] has shape {np.shape(g)} but params[{key!r}] has "
                             f"shape {np.shape(p)}; each gradient must match its parameter.")
    return zip(gl, pl, strict=True)


def check_lr(lr: float | Schedule, who: str) -> None:
    """Reject a negative or non-finite constant learning rate (schedules are checked on use)."""
    if callable(lr):
        return
    if not isinstance(lr, (int, float, np.floating, np.integer)) or not math.isfinite(lr) or lr < 0:
        raise InvalidParameterError(f"{who}(lr={lr!r}): lr must be a finite number >= 0 or a "
                                    f"schedule (a callable step -> lr).")


def check_range(value: Any, name: str, who: str, lo: float, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = True) -> None:
    """Raise InvalidParameterError naming ``who(name=value)`` unless lo <= value (< hi)."""
    ok = isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (
            hi is None or (value < hi if hi_open else value <= hi))
    if not ok:
        left = "(" if lo_open else "["
        right = "inf)" if hi is None else (f"{hi})" if hi_open else f"{hi}]")
        raise InvalidParameterError(f"{who}({name}={value!r}): {name} must lie in "
                                    f"{left}{lo}, {right}.")


def lr_at(lr: float | Schedule, count: int) -> float:
    """The learning rate of update number ``count`` (0 for the first update)."""
    return float(lr(count)) if callable(lr) else float(lr)


def copy_tree(tree: Tree) -> Tree:
    """A tree of fresh copies (None leaves stay None)."""
    return tree_map(lambda a: None if a is None else np.array(a, copy=True), tree)


def zeros_like_tree(tree: Tree, fill: float = 0.0) -> Tree:
    """A tree of arrays shaped like ``tree``'s leaves, filled with ``fill``."""
    return tree_map(lambda a: np.full(np.shape(a), fill, dtype=_dtype(a)), tree)


def _dtype(a: Any) -> np.dtype:
    dt = np.asarray(a).dtype
    return dt if dt.kind == "f" else np.dtype(np.float64)


def make_pure(init: Callable, step_: Callable, make_work: Callable, hyperparams: dict) -> Optimizer:
    """Build an :class:`Optimizer` whose pure ``update`` runs ``step_`` on copies."""

    def update(grads: Tree, state: Any, params: Tree) -> tuple[Tree, Any]:
        new_params = tree_map(lambda p: np.array(p, dtype=_dtype(p), copy=True), params)
        new_state = state._replace(**{f: copy_tree(getattr(state, f))
                                      for f in state._fields if f != "count"})
        new_state = step_(grads, new_state, new_params, make_work(new_params))
        return new_params, new_state

    return Optimizer(init, update, step_, make_work, hyperparams)


def work_buffers(n: int) -> Callable[[Tree], list]:
    """A ``make_work`` giving ``n`` scratch arrays per leaf."""

    def make_work(params: Tree) -> list:
        return [[np.empty(np.shape(p), dtype=_dtype(p)) for _ in range(n)]
                for p in tree_leaves(params)]

    return make_work


def lerp_(a: np.ndarray, b: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """a <- torch.lerp(a, b, weight), with PyTorch's two formulas (exact at both ends)."""
    np.subtract(b, a, out=tmp)
    if weight < 0.5:          # a + w (b - a)
        tmp *= weight
        a += tmp
    else:                     # b - (b - a)(1 - w)
        tmp *= 1.0 - weight
        np.subtract(b, tmp, out=a)
