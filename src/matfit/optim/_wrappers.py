"""Stateful optimisers in PyTorch's style, thin over the pure ``init``/``update`` pairs.

``SGD(params, lr=0.1, momentum=0.9).step(grads)`` updates the caller's arrays *in place* (the
model keeps references to them) with the same kernel as the pure ``update``, so both give
bit-identical results; the work buffers are allocated once and reused on every step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from ._adam import adam, adamw
from ._base import Optimizer, Schedule, lr_at, tree_keys, tree_leaves
from ._rmsprop import adagrad, rmsprop
from ._sgd import sgd

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "RMSProp", "StatefulOptimizer"]


class StatefulOptimizer:
    """Hold a pure optimiser's state and apply its updates to ``params`` in place.

    Parameters
    ----------
    params : dict, list or tuple of ndarray, or one ndarray
        Writable float32/float64 arrays, updated in place by :meth:`step`.
    optimizer : Optimizer
        A pure optimiser such as ``matfit.optim.adam(1e-3)``.
    """

    def __init__(self, params: Any, optimizer: Optimizer) -> None:
        for key, p in zip(tree_keys(params), tree_leaves(params), strict=True):
            if not (isinstance(p, np.ndarray) and p.dtype.kind == "f" and p.flags.writeable):
                what = (f"dtype {p.dtype}" if isinstance(p, np.ndarray)
                        else type(p).__name__)
                raise InvalidParameterError(
                    f"{type(self).__name__}: params[{key!r}] must be a writable float ndarray "
                    f"(it is updated in place) but is {what}; convert it with "
                    f"np.asarray(p, dtype=float) and keep that array in the model."
                )
        self.params = params
        self.optimizer = optimizer
        self.state = optimizer.init(params)
        self._work: list | None = None

    def step(self, grads: Any) -> Any:
        """Update ``self.params`` in place from ``grads`` (same structure) and return them."""
        if self._work is None:
            self._work = self.optimizer.make_work(self.params)
        self.state = self.optimizer.step_(grads, self.state, self.params, self._work)
        return self.params

    @property
    def lr(self) -> float:
        """The learning rate the next step will use."""
        return lr_at(self.optimizer.hyperparams["lr"], self.state.count)

    @property
    def step_count(self) -> int:
        """Steps taken so far."""
        return int(self.state.count)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.optimizer.hyperparams.items())
        return f"{type(self).__name__}({args})"


class SGD(StatefulOptimizer):
    """``torch.optim.SGD`` on NumPy arrays; see :func:`matfit.optim.sgd` for the formula."""

    def __init__(self, params: Any, lr: float | Schedule = 1e-3, *, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, sgd(lr, momentum=momentum, dampening=dampening,
                                     weight_decay=weight_decay, nesterov=nesterov))


class Adam(StatefulOptimizer):
    """``torch.optim.Adam`` on NumPy arrays; see :func:`matfit.optim.adam`."""

    def __init__(self, params: Any, lr: float | Schedule = 1e-3, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__(params, adam(lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad))


class AdamW(StatefulOptimizer):
    """``torch.optim.AdamW`` on NumPy arrays; see :func:`matfit.optim.adamw`."""

    def __init__(self, params: Any, lr: float | Schedule = 1e-3, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, adamw(lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                       amsgrad=amsgrad))


class RMSProp(StatefulOptimizer):
    """``torch.optim.RMSprop`` on NumPy arrays; see :func:`matfit.optim.rmsprop`."""

    def __init__(self, params: Any, lr: float | Schedule = 1e-2, *, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, rmsprop(lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                         momentum=momentum, centered=centered))


class Adagrad(StatefulOptimizer):
    """``torch.optim.Adagrad`` on NumPy arrays; see :func:`matfit.optim.adagrad`."""

    def __init__(self, params: Any, lr: float | Schedule = 1e-2, *, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, adagrad(lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                         initial_accumulator_value=initial_accumulator_value,
                                         eps=eps))
