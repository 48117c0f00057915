"""Learning-rate schedules: callables ``count -> lr`` accepted wherever an optimiser takes lr.

``count`` is the number of updates already made, so update number ``count + 1`` uses
``schedule(count)``; this is PyTorch's convention when ``scheduler.step()`` is called once
after every ``optimizer.step()``. Each schedule is the closed form of the matching
``torch.optim.lr_scheduler`` class (PyTorch updates most of them recursively, which agrees to
rounding, about 1e-15 relative):

==========================  ========================================================
``step_decay``              ``StepLR``:  lr * gamma ** (count // step_size)
``exponential_decay``       ``ExponentialLR``:  lr * gamma ** count
``cosine_annealing``        ``CosineAnnealingLR``:
                            eta_min + (lr - eta_min) (1 + cos(pi count / T_max)) / 2
``linear_warmup``           ``LinearLR`` (and, with ``then``, ``SequentialLR``):
                            lr * (start_factor + (1 - start_factor) min(count, n) / n),
                            then ``then(count - n)`` after n warm-up updates
==========================  ========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._errors import InvalidParameterError
from ._base import Schedule

__all__ = ["cosine_annealing", "exponential_decay", "linear_warmup", "step_decay"]


def _positive_int(value: object, name: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(f"{who}({name}={value!r}): {name} must be an integer >= 1.")
    return value


def _positive(value: object, name: str, who: str, *, zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and math.isfinite(value) and (
        value >= 0 if zero else value > 0)
    if not ok:
        raise InvalidParameterError(f"{who}({name}={value!r}): {name} must be a finite number "
                                    f"{'>=' if zero else '>'} 0.")
    return float(value)


@dataclass(frozen=True)
class step_decay:  # lower case: used like a function (frozen, so picklable and comparable)
    """``lr * gamma ** (count // step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive(self.lr, "lr", "step_decay", zero=True)
        _positive_int(self.step_size, "step_size", "step_decay")
        _positive(self.gamma, "gamma", "step_decay")

    def __call__(self, count: int) -> float:
        return self.lr * self.gamma ** (count // self.step_size)


@dataclass(frozen=True)
class exponential_decay:
    """``lr * gamma ** count`` (``torch.optim.lr_scheduler.ExponentialLR``)."""

    lr: float
    gamma: float

    def __post_init__(self) -> None:
        _positive(self.lr, "lr", "exponential_decay", zero=True)
        _positive(self.gamma, "gamma", "exponential_decay")

    def __call__(self, count: int) -> float:
        return self.lr * self.gamma**count


@dataclass(frozen=True)
class cosine_annealing:
    """``eta_min + (lr - eta_min)(1 + cos(pi count / T_max)) / 2`` (``CosineAnnealingLR``).

    Past ``T_max`` it rises again (period ``2 T_max``), as PyTorch's does.
    """

    lr: float
    T_max: int
    eta_min: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.lr, "lr", "cosine_annealing", zero=True)
        _positive_int(self.T_max, "T_max", "cosine_annealing")
        _positive(self.eta_min, "eta_min", "cosine_annealing", zero=True)

    def __call__(self, count: int) -> float:
        return self.eta_min + (self.lr - self.eta_min) * (
            1 + math.cos(math.pi * count / self.T_max)) / 2


@dataclass(frozen=True)
class linear_warmup:
    """Linear warm-up from ``start_factor * lr`` to ``lr`` over ``warmup_steps`` updates.

    Then ``then(count - warmup_steps)`` if a schedule is given (e.g. ``cosine_annealing``),
    else ``lr``: ``torch.optim.lr_scheduler.LinearLR`` followed by ``SequentialLR``.
    """

    lr: float
    warmup_steps: int
    start_factor: float = 1 / 3
    then: Schedule | None = None

    def __post_init__(self) -> None:
        _positive(self.lr, "lr", "linear_warmup", zero=True)
        _positive_int(self.warmup_steps, "warmup_steps", "linear_warmup")
        if not (isinstance(self.start_factor, (int, float)) and 0 < self.start_factor <= 1):
            raise InvalidParameterError(f"linear_warmup(start_factor={self.start_factor!r}): "
                                        f"start_factor must lie in (0, 1].")

    def __call__(self, count: int) -> float:
        n = self.warmup_steps
        if count >= n and self.then is not None:
            return float(self.then(count - n))
        return self.lr * (self.start_factor + (1 - self.start_factor) * min(count, n) / n)
