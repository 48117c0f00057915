"""Gradient clipping by global norm or by value, as ``torch.nn.utils.clip_grad_norm_``/``_value_``.

``clip_grad_norm`` computes the norm of all gradients together, ``total = ||(||g_1||, ...,
||g_k||)||``, and multiplies every gradient by ``min(1, max_norm / (total + 1e-6))`` (PyTorch's
formula, including the 1e-6 and the multiplication by exactly 1 when no clipping is needed).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from ._base import tree_leaves, tree_map

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value", "clip_grad_value_"]


def _norm(g: np.ndarray, p: float) -> float:
    a = np.abs(np.asarray(g, dtype=np.float64)).ravel()
    if p == math.inf:
        return float(a.max(initial=0.0))
    if p == 2:
        return float(np.sqrt(a @ a))
    return float(np.sum(a**p) ** (1 / p))


def _total_norm(grads: Any, norm_type: float) -> float:
    if not (norm_type == math.inf or (isinstance(norm_type, (int, float)) and norm_type > 0)):
        raise InvalidParameterError(f"clip_grad_norm(norm_type={norm_type!r}): norm_type must be "
                                    f"> 0 or inf.")
    norms = np.array([_norm(g, norm_type) for g in tree_leaves(grads)])
    return _norm(norms, norm_type)


def clip_grad_norm_(grads: Any, max_norm: float, *, norm_type: float = 2.0) -> float:
    """Scale the gradient arrays in place so their global norm is at most ``max_norm``.

    Returns the total norm before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
    if not (isinstance(max_norm, (int, float)) and max_norm >= 0):
        raise InvalidParameterError(f"clip_grad_norm(max_norm={max_norm!r}): max_norm must be a "
                                    f"number >= 0.")
    total = _total_norm(grads, norm_type)
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in tree_leaves(grads):
        g *= coef
    return total


def clip_grad_norm(grads: Any, max_norm: float, *, norm_type: float = 2.0) -> tuple[Any, float]:
    """Pure form of :func:`clip_grad_norm_`: ``(clipped copy of grads, total norm)``."""
    out = tree_map(lambda g: np.array(g, dtype=np.result_type(g, np.float32), copy=True), grads)
    return out, clip_grad_norm_(out, max_norm, norm_type=norm_type)


def clip_grad_value_(grads: Any, clip_value: float) -> None:
    """Clip every gradient entry into ``[-clip_value, clip_value]`` in place."""
    if not (isinstance(clip_value, (int, float)) and clip_value >= 0):
        raise InvalidParameterError(f"clip_grad_value(clip_value={clip_value!r}): clip_value "
                                    f"must be a number >= 0.")
    for g in tree_leaves(grads):
        np.clip(g, -clip_value, clip_value, out=g)


def clip_grad_value(grads: Any, clip_value: float) -> Any:
    """Pure form of :func:`clip_grad_value_`: a clipped copy of ``grads``."""
    out = tree_map(lambda g: np.array(g, dtype=np.result_type(g, np.float32), copy=True), grads)
    clip_grad_value_(out, clip_value)
    return out
