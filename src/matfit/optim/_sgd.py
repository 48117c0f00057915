"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.

Matches ``torch.optim.SGD`` (its single-tensor code path) operation for operation:

.. code-block:: text

    g   <- grad + weight_decay * p                          (if weight_decay != 0)
    b   <- g                                                (first step)
    b   <- momentum * b + (1 - dampening) * g               (later steps, if momentum != 0)
    g   <- g + momentum * b   (nesterov)   or   g <- b       (if momentum != 0)
    p   <- p - lr * g

The buffer starts as the first gradient, not as zeros: with zeros the first steps would be
(1 - dampening) times too short, the classic "momentum gets stuck at the start" symptom.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .._errors import InvalidParameterError
from ._base import (
    Optimizer,
    Schedule,
    _iter_pairs,
    check_lr,
    check_range,
    lr_at,
    make_pure,
    tree_leaves,
    work_buffers,
    zeros_like_tree,
)

__all__ = ["SGDState", "sgd"]


class SGDState(NamedTuple):
    """``count`` updates done; ``momentum_buffer``: a tree like params (None without momentum)."""

    count: int
    momentum_buffer: Any


def sgd(lr: float | Schedule = 1e-3, *, momentum: float = 0.0, dampening: float = 0.0,
        weight_decay: float = 0.0, nesterov: bool = False) -> Optimizer:
    """SGD as ``torch.optim.SGD``: returns an :class:`Optimizer` (pure ``init``/``update``).

    Parameters
    ----------
    lr : float or callable
        Learning rate, or a schedule ``count -> lr`` (see :mod:`matfit.optim` schedules).
    momentum, dampening, weight_decay : float
        As in PyTorch; weight decay is L2 (added to the gradient).
    nesterov : bool
        Nesterov momentum; needs momentum > 0 and dampening == 0, as in PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> opt = sgd(0.1, momentum=0.9)
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> state = opt.init(params)
    >>> params, state = opt.update({"w": 2 * params["w"]}, state, params)
    >>> params["w"]
    array([ 0.8, -1.6])
    """
    check_lr(lr, "sgd")
    check_range(momentum, "momentum", "sgd", 0.0)
    check_range(dampening, "dampening", "sgd", 0.0)
    check_range(weight_decay, "weight_decay", "sgd", 0.0)
    if nesterov and (momentum <= 0 or dampening != 0):
        raise InvalidParameterError(
            f"sgd(nesterov=True, momentum={momentum!r}, dampening={dampening!r}): Nesterov "
            f"momentum needs momentum > 0 and dampening == 0."
        )

    def init(params: Any) -> SGDState:
        return SGDState(0, zeros_like_tree(params) if momentum else None)

    def step_(grads: Any, state: SGDState, params: Any, work: list) -> SGDState:
        rate = lr_at(lr, state.count)
        bufs = (tree_leaves(state.momentum_buffer) if state.momentum_buffer is not None
                else [None] * len(work))
        for (g, p), buf, (t0, t1) in zip(_iter_pairs(grads, params), bufs, work, strict=True):
            if weight_decay:
                np.multiply(p, weight_decay, out=t0)
                np.add(g, t0, out=t0)
                g = t0
            if momentum:
                if state.count == 0:
                    buf[...] = g
                else:
                    buf *= momentum
                    if dampening:
                        np.multiply(g, 1.0 - dampening, out=t1)
                        buf += t1
                    else:  # (1 - 0) * g is g exactly: skip the multiply
                        buf += g
                if nesterov:
                    np.multiply(buf, momentum, out=t1)
                    np.add(g, t1, out=t1)
                    g = t1
                else:
                    g = buf
            np.multiply(g, -rate, out=t1)
            p += t1
        return state._replace(count=state.count + 1)

    return make_pure(init, step_, work_buffers(2),
                     dict(lr=lr, momentum=momentum, dampening=dampening,
                          weight_decay=weight_decay, nesterov=nesterov))

