"""RMSProp (plain, centred, with momentum) and Adagrad, in ``torch.optim``'s arithmetic.

RMSProp, as ``torch.optim.RMSprop``:

.. code-block:: text

    g    <- grad + weight_decay * p                         (if weight_decay != 0)
    v    <- alpha * v + ((1 - alpha) * g) * g
    gbar <- lerp(gbar, g, 1 - alpha);  avg = sqrt(v - gbar * gbar) + eps     (centered)
                                        avg = sqrt(v) + eps                    (otherwise)
    b    <- momentum * b + g / avg;  p <- p - lr * b        (momentum > 0; b starts at zero)
    p    <- p + (-lr * g) / avg                             (momentum == 0)

Adagrad, as ``torch.optim.Adagrad`` (update number t = 1, 2, ...):

.. code-block:: text

    g    <- grad + weight_decay * p
    clr  = lr / (1 + (t - 1) * lr_decay)
    s    <- s + g * g                                       (s starts at initial_accumulator_value)
    p    <- p + (-clr * g) / (sqrt(s) + eps)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ._base import (
    Optimizer,
    Schedule,
    _iter_pairs,
    check_lr,
    check_range,
    lerp_,
    lr_at,
    make_pure,
    tree_leaves,
    work_buffers,
    zeros_like_tree,
)

__all__ = ["AdagradState", "RMSPropState", "adagrad", "rmsprop"]


class RMSPropState(NamedTuple):
    """``count``; ``square_avg``; ``grad_avg`` (centred) or None; ``momentum_buffer`` or None."""

    count: int
    square_avg: Any
    grad_avg: Any
    momentum_buffer: Any


class AdagradState(NamedTuple):
    """``count`` updates done; ``sum`` of squared gradients (plus the initial value)."""

    count: int
    sum: Any


def rmsprop(lr: float | Schedule = 1e-2, *, alpha: float = 0.99, eps: float = 1e-8,
            weight_decay: float = 0.0, momentum: float = 0.0,
            centered: bool = False) -> Optimizer:
    """RMSProp as ``torch.optim.RMSprop`` (PyTorch's defaults).

    Parameters
    ----------
    lr : float or callable
        Learning rate, or a schedule ``count -> lr``.
    alpha : float
        Decay of the squared-gradient average, in [0, 1).
    eps : float
        Added to the root of the (centred) average.
    weight_decay : float
        L2 penalty, added to the gradient.
    momentum : float
        Momentum on the normalised step (its buffer starts at zero, as in PyTorch).
    centered : bool
        Normalise by the estimated variance ``v - gbar**2`` instead of ``v``.
    """
    check_lr(lr, "rmsprop")
    check_range(alpha, "alpha", "rmsprop", 0.0, 1.0)
    check_range(eps, "eps", "rmsprop", 0.0)
    check_range(weight_decay, "weight_decay", "rmsprop", 0.0)
    check_range(momentum, "momentum", "rmsprop", 0.0)

    def init(params: Any) -> RMSPropState:
        return RMSPropState(0, zeros_like_tree(params),
                            zeros_like_tree(params) if centered else None,
                            zeros_like_tree(params) if momentum > 0 else None)

    def step_(grads: Any, state: RMSPropState, params: Any, work: list) -> RMSPropState:
        rate = lr_at(lr, state.count)
        n = len(work)
        vs = tree_leaves(state.square_avg)
        gbars = tree_leaves(state.grad_avg) if centered else [None] * n
        bufs = tree_leaves(state.momentum_buffer) if momentum > 0 else [None] * n
        for (g, p), v, gbar, buf, (t0, t1) in zip(_iter_pairs(grads, params), vs, gbars, bufs,
                                                  work, strict=True):
            if weight_decay:
                np.multiply(p, weight_decay, out=t0)
                np.add(g, t0, out=t0)
                g = t0
            v *= alpha
            np.multiply(g, 1 - alpha, out=t1)
            t1 *= g
            v += t1
            avg = t1
            if centered:
                lerp_(gbar, g, 1 - alpha, t1)
                np.multiply(gbar, gbar, out=avg)
                np.subtract(v, avg, out=avg)
                np.sqrt(avg, out=avg)
            else:
                np.sqrt(v, out=avg)
            avg += eps
            if momentum > 0:
                buf *= momentum
                np.divide(g, avg, out=avg)
                buf += avg
                np.multiply(buf, -rate, out=avg)
            else:
                np.divide(np.multiply(g, -rate, out=t0), avg, out=avg)
            p += avg
        return state._replace(count=state.count + 1)

    return make_pure(init, step_, work_buffers(2),
                     dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                          momentum=momentum, centered=centered))


def adagrad(lr: float | Schedule = 1e-2, *, lr_decay: float = 0.0, weight_decay: float = 0.0,
            initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> Optimizer:
    """Adagrad as ``torch.optim.Adagrad`` (PyTorch's defaults).

    Parameters
    ----------
    lr : float or callable
        Learning rate, or a schedule ``count -> lr`` (then divided by the lr_decay factor).
    lr_decay : float
        The step is ``lr / (1 + (t - 1) lr_decay)`` at update t.
    weight_decay : float
        L2 penalty, added to the gradient.
    initial_accumulator_value : float
        Starting value of the squared-gradient sum.
    eps : float
        Added to the root of the sum.
    """
    check_lr(lr, "adagrad")
    check_range(lr_decay, "lr_decay", "adagrad", 0.0)
    check_range(weight_decay, "weight_decay", "adagrad", 0.0)
    check_range(initial_accumulator_value, "initial_accumulator_value", "adagrad", 0.0)
    check_range(eps, "eps", "adagrad", 0.0)

    def init(params: Any) -> AdagradState:
        return AdagradState(0, zeros_like_tree(params, fill=initial_accumulator_value))

    def step_(grads: Any, state: AdagradState, params: Any, work: list) -> AdagradState:
        t = state.count + 1
        clr = lr_at(lr, state.count) / (1 + (t - 1) * lr_decay)
        for (g, p), s, (t0, t1) in zip(_iter_pairs(grads, params), tree_leaves(state.sum), work,
                                       strict=True):
            if weight_decay:
                np.multiply(p, weight_decay, out=t0)
                np.add(g, t0, out=t0)
                g = t0
            np.multiply(g, g, out=t1)
            s += t1
            np.sqrt(s, out=t1)
            t1 += eps
            np.multiply(g, -clr, out=t0)
            t0 /= t1
            p += t0
        return state._replace(count=t)

    return make_pure(init, step_, work_buffers(2),
                     dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                          initial_accumulator_value=initial_accumulator_value, eps=eps))
