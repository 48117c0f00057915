"""Adam and AdamW, with bias correction and AMSGrad, in ``torch.optim.Adam``'s arithmetic.

For update number t = 1, 2, ... (PyTorch's single-tensor path, operation for operation):

.. code-block:: text

    p   <- p * (1 - lr * weight_decay)                    (AdamW: decoupled decay)
    g   <- grad + weight_decay * p                        (Adam: L2 decay joins the gradient)
    m   <- lerp(m, g, 1 - beta1)          = m + (1 - beta1) (g - m)
    v   <- beta2 * v + ((1 - beta2) * g) * g
    vmax <- max(vmax, v);  v_hat = vmax  (amsgrad)   or   v_hat = v
    denom = sqrt(v_hat) / sqrt(1 - beta2**t) + eps      (eps *after* the bias correction)
    p   <- p + (-(lr / (1 - beta1**t)) * m) / denom

Where eps sits matters: ``sqrt(v_hat / (1 - beta2**t)) + eps`` (the paper's form, used by
PyTorch) and ``sqrt(v_hat) + eps`` with a corrected step (the paper's "efficient" form, used by
some hand-written versions) differ by up to a factor ``sqrt(1 - beta2**t)`` in the effective eps,
which is why hand-written Adam "disagrees with PyTorch" in the first hundred or so steps.
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

__all__ = ["AdamState", "adam", "adamw"]


class AdamState(NamedTuple):
    """``count`` updates done; first/second moment trees; ``max_exp_avg_sq`` (amsgrad) or None."""

    count: int
    exp_avg: Any
    exp_avg_sq: Any
    max_exp_avg_sq: Any


def adam(lr: float | Schedule = 1e-3, *, betas: tuple[float, float] = (0.9, 0.999),
         eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False) -> Optimizer:
    """Adam as ``torch.optim.Adam`` (L2 weight decay added to the gradient).

    Parameters
    ----------
    lr : float or callable
        Learning rate, or a schedule ``count -> lr``.
    betas : (float, float)
        Decay rates of the first and second moment averages, each in [0, 1).
    eps : float
        Added to the bias-corrected root of the second moment.
    weight_decay : float
        L2 penalty coefficient (use :func:`adamw` for decoupled decay).
    amsgrad : bool
        Normalise by the running maximum of the second moment (PyTorch's ``max_exp_avg_sq``).

    Examples
    --------
    >>> import numpy as np
    >>> opt = adam(0.1)
    >>> x = np.array([1.0, -3.0])
    >>> state = opt.init(x)
    >>> x, state = opt.update(2 * x, state, x)
    >>> x                                     # the first Adam step moves each entry by ~lr
    array([ 0.9, -2.9])
    """
    return _adam(lr, betas, eps, weight_decay, amsgrad, decoupled=False, who="adam")


def adamw(lr: float | Schedule = 1e-3, *, betas: tuple[float, float] = (0.9, 0.999),
          eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False) -> Optimizer:
    """AdamW as ``torch.optim.AdamW``: Adam with decoupled decay ``p <- p (1 - lr wd)`` first.

    Parameters are those of :func:`adam`; ``weight_decay`` defaults to 0.01 as in PyTorch.
    """
    return _adam(lr, betas, eps, weight_decay, amsgrad, decoupled=True, who="adamw")


def _adam(lr: Any, betas: Any, eps: float, weight_decay: float, amsgrad: bool, *,
          decoupled: bool, who: str) -> Optimizer:
    check_lr(lr, who)
    b1, b2 = betas
    check_range(b1, "betas[0]", who, 0.0, 1.0)
    check_range(b2, "betas[1]", who, 0.0, 1.0)
    check_range(eps, "eps", who, 0.0)
    check_range(weight_decay, "weight_decay", who, 0.0)

    def init(params: Any) -> AdamState:
        return AdamState(0, zeros_like_tree(params), zeros_like_tree(params),
                         zeros_like_tree(params) if amsgrad else None)

    def step_(grads: Any, state: AdamState, params: Any, work: list) -> AdamState:
        t = state.count + 1
        rate = lr_at(lr, state.count)
        step_size = rate / (1 - b1**t)
        bc2_sqrt = (1 - b2**t) ** 0.5
        ms, vs = tree_leaves(state.exp_avg), tree_leaves(state.exp_avg_sq)
        vmaxs = tree_leaves(state.max_exp_avg_sq) if amsgrad else [None] * len(ms)
        for (g, p), m, v, vmax, (t0, t1) in zip(_iter_pairs(grads, params), ms, vs, vmaxs, work,
                                                strict=True):
            if weight_decay:
                if decoupled:
                    p *= 1 - rate * weight_decay
                else:
                    np.multiply(p, weight_decay, out=t0)
                    np.add(g, t0, out=t0)
                    g = t0
            lerp_(m, g, 1 - b1, t1)
            v *= b2
            np.multiply(g, 1 - b2, out=t1)
            t1 *= g
            v += t1
            if amsgrad:
                np.maximum(vmax, v, out=vmax)
            denom = t1
            np.sqrt(vmax if amsgrad else v, out=denom)
            denom /= bc2_sqrt
            denom += eps
            np.multiply(m, -step_size, out=t0)   # g (if it was t0) is no longer needed
            t0 /= denom
            p += t0
        return state._replace(count=t)

    return make_pure(init, step_, work_buffers(2),
                     dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay,
                          amsgrad=amsgrad, decoupled=decoupled))

