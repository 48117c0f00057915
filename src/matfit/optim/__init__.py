"""Optimisers with PyTorch's exact arithmetic, schedules, clipping, and ``minimize``.

Pure optimisers (``init(params) -> state``, ``update(grads, state, params) -> (params,
state)``) over a dict, list or tuple of arrays, or one array; nothing passed in is modified:

>>> import numpy as np
>>> from matfit.optim import adam
>>> opt = adam(lr=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> params, state = opt.update({"w": 2 * params["w"]}, state, params)
>>> params["w"]
array([ 0.9, -1.9])

Stateful wrappers update the caller's arrays in place, as ``torch.optim`` does:

>>> w = np.array([1.0, -2.0])
>>> opt = Adam([w], lr=0.1)
>>> _ = opt.step([2 * w])
>>> w
array([ 0.9, -1.9])

``lr`` may be a schedule (``cosine_annealing(0.1, T_max=100)``, ...). ``minimize(fun, x0, jac,
method="bb" | "adam" | "sgd" | "lbfgs")`` returns a ``scipy.optimize.OptimizeResult``.
"""

from __future__ import annotations

from ._adam import AdamState, adam, adamw
from ._base import Optimizer, Schedule
from ._clip import clip_grad_norm, clip_grad_norm_, clip_grad_value, clip_grad_value_
from ._minimize import STATUS_MESSAGES, minimize
from ._rmsprop import AdagradState, RMSPropState, adagrad, rmsprop
from ._schedules import cosine_annealing, exponential_decay, linear_warmup, step_decay
from ._sgd import SGDState, sgd
from ._wrappers import SGD, Adagrad, Adam, AdamW, RMSProp, StatefulOptimizer

__all__ = [
    "SGD",
    "STATUS_MESSAGES",
    "Adagrad",
    "AdagradState",
    "Adam",
    "AdamState",
    "AdamW",
    "Optimizer",
    "RMSProp",
    "RMSPropState",
    "SGDState",
    "Schedule",
    "StatefulOptimizer",
    "adagrad",
    "adam",
    "adamw",
    "clip_grad_norm",
    "clip_grad_norm_",
    "clip_grad_value",
    "clip_grad_value_",
    "cosine_annealing",
    "exponential_decay",
    "linear_warmup",
    "minimize",
    "rmsprop",
    "sgd",
    "step_decay",
]
