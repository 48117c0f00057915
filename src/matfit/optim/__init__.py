"""Optimisers with PyTorch's exact arithmetic, and ``minimize`` by name of method.

Pure optimisers (``init(params) -> state``, ``update(grads, state, params) -> (params,
state)``) over a dict, list or tuple of arrays, or one array:

>>> import numpy as np
>>> from matfit.optim import adam
>>> opt = adam(lr=0.1)
>>> params = {"w": np.array([1.0, -2.0])}
>>> state = opt.init(params)
>>> params, state = opt.update({"w": 2 * params["w"]}, state, params)

``minimize(fun, x0, jac, method="bb" | "adam" | "sgd" | "lbfgs")`` returns a
``scipy.optimize.OptimizeResult``.
"""

from __future__ import annotations

from ._adam import AdamState, adam, adamw
from ._base import Optimizer, Schedule
from ._minimize import STATUS_MESSAGES, minimize
from ._sgd import SGDState, sgd

__all__ = [
    "STATUS_MESSAGES",
    "AdamState",
    "Optimizer",
    "SGDState",
    "Schedule",
    "adam",
    "adamw",
    "minimize",
    "sgd",
]
