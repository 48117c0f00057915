"""Losses computed from logits, each with its fused gradient with respect to the logits.

===================================  ===================================  ====================
loss                                 value (mean over samples)            d value / d z
===================================  ===================================  ====================
``CrossEntropy`` (int or one-hot y)  -sum_k y_k log_softmax(z)_k          (softmax(z) - y) / n
``BinaryCrossEntropy``               max(z,0) - z y + log1p(exp(-|z|))    (sigmoid(z) - y) / N
``MeanSquaredError``                 (z - y)**2                           2 (z - y) / N
===================================  ===================================  ====================

n is the number of samples and N the number of entries (samples x outputs), the means
``torch.nn.CrossEntropyLoss``, ``BCEWithLogitsLoss`` and ``MSELoss`` take. Exponentials are
only taken of non-positive numbers, so all three are finite (and their gradients exact) at
logits of +-1e4 and beyond: computing ``log(softmax(z))`` or ``log(sigmoid(z))`` from
probabilities instead gives ``log(0) = -inf`` there.
"""

from __future__ import annotations

import numpy as np

from .._errors import DataError, InvalidParameterError
from ..shapes import check

__all__ = ["BinaryCrossEntropy", "CrossEntropy", "Loss", "MeanSquaredError", "get_loss"]


class Loss:
    """``value(z, y)`` and ``value_and_grad(z, y)`` for logits ``z`` of shape (samples, outputs)."""

    name = "loss"
    task = "regression"

    def value(self, z: np.ndarray, y: np.ndarray) -> float:
        """The mean loss."""
        return self.value_and_grad(z, y, need_grad=False)[0]

    def value_and_grad(self, z: np.ndarray, y: np.ndarray, *, out: np.ndarray | None = None,
                       need_grad: bool = True) -> tuple[float, np.ndarray | None]:
        """The mean loss and dL/dz (written into ``out`` when given; with ``need_grad=False``
        the gradient is None and ``out`` is left as it was)."""
        raise NotImplementedError

    def check_targets(self, z_shape: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        """Validate (and reshape) targets for logits of ``z_shape``; names the mix-up if any."""
        return y

    def __call__(self, z: np.ndarray, y: np.ndarray) -> float:
        return self.value(z, y)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits; ``y`` integer classes (samples,) or one-hot rows.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[1e4, 0.0, -1e4]])
    >>> loss, grad = CrossEntropy().value_and_grad(z, np.array([2]))
    >>> loss, grad.tolist()
    (20000.0, [[1.0, 0.0, -1.0]])
    """

    name = "cross_entropy"
    task = "multiclass"

    def check_targets(self, z_shape: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        n, k = z_shape
        if y.ndim == 1:
            if y.dtype.kind not in "iub":
                if y.dtype.kind == "f" and np.all(y == np.round(y)):
                    y = y.astype(np.intp)
                else:
                    raise DataError(
                        f"cross-entropy labels must be integer class indices in [0, {k - 1}], got "
                        f"dtype {y.dtype}; encode labels first (MLPClassifier does this for any "
                        f"hashable labels)."
                    )
            check(logits=(np.empty((n, k), np.int8), "samples classes"), y=(y, "samples"))
            if y.size and (y.min() < 0 or y.max() >= k):
                bad = y[(y < 0) | (y >= k)][0]
                raise DataError(f"label {bad} is out of range for {k} output units: labels must "
                                f"lie in [0, {k - 1}] (give the last Dense layer one unit per "
                                f"class).")
            return y.astype(np.intp, copy=False)
        check(logits=(np.empty((n, k), np.int8), "samples classes"), y=(y, "samples classes"))
        return y

    def value_and_grad(self, z: np.ndarray, y: np.ndarray, *, out: np.ndarray | None = None,
                       need_grad: bool = True) -> tuple[float, np.ndarray | None]:
        n = z.shape[0]
        e = np.subtract(z, z.max(axis=1, keepdims=True), out=out if need_grad else None)
        shifted_true = (e[np.arange(n), y] if y.ndim == 1 else None)
        if y.ndim != 1:
            # one-hot / probability rows: -sum y * (shifted - log s); 0 * finite stays 0
            dot = np.einsum("ij,ij->i", y, e, dtype=np.float64)
            ysum = y.sum(axis=1, dtype=np.float64)
        np.exp(e, out=e)
        s = e.sum(axis=1, keepdims=True)
        log_s = np.log(s[:, 0], dtype=np.float64)
        if y.ndim == 1:
            loss = float(np.mean(log_s - shifted_true))
        else:
            loss = float(np.mean(ysum * log_s - dot))
        if not need_grad:
            return loss, None
        e /= s
        if y.ndim == 1:
            e[np.arange(n), y] -= 1
        else:
            # d/dz of sum(y) * log s - y . z is sum(y) * softmax - y: rows of y that do not sum
            # to one (hand-made label smoothing, weighted soft labels) scale the softmax term
            e *= ysum[:, None].astype(e.dtype, copy=False)
            e -= y
        e *= 1.0 / n
        return loss, e


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy from logits (``BCEWithLogitsLoss``); ``y`` in [0, 1].

    Logits are (samples, outputs): one output for a binary problem, several for multi-label.
    Targets of shape (samples,) are taken as the single output's.
    """

    name = "binary_cross_entropy"
    task = "binary"

    def check_targets(self, z_shape: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 1 and z_shape[1] == 1:
            y = y[:, None]
        check(logits=(np.empty(z_shape, np.int8), "samples outputs"), y=(y, "samples outputs"))
        if y.dtype.kind not in "biuf":
            raise DataError(f"binary cross-entropy targets must be numbers in [0, 1], got dtype "
                            f"{y.dtype}.")
        if y.size and (y.min() < 0 or y.max() > 1):
            raise DataError(f"binary cross-entropy targets must lie in [0, 1]; found "
                            f"{y.min() if y.min() < 0 else y.max()}.")
        return y

    def value_and_grad(self, z: np.ndarray, y: np.ndarray, *, out: np.ndarray | None = None,
                       need_grad: bool = True) -> tuple[float, np.ndarray | None]:
        N = z.size
        a = np.abs(z)
        np.negative(a, out=a)
        np.exp(a, out=a)                                  # e = exp(-|z|) in (0, 1]
        loss = float((np.maximum(z, 0).sum(dtype=np.float64) - np.sum(z * y, dtype=np.float64)
                      + np.log1p(a).sum(dtype=np.float64)) / N)
        if not need_grad:
            return loss, None
        # sigmoid(z) = 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0
        g = np.add(a, 1, out=out)
        np.divide(np.where(z >= 0, 1, a), g, out=g)
        g -= y
        g *= 1.0 / N
        return loss, g


class MeanSquaredError(Loss):
    """Mean over all entries of ``(z - y)**2`` (``torch.nn.MSELoss``)."""

    name = "mean_squared_error"
    task = "regression"

    def check_targets(self, z_shape: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim == 1 and z_shape[1] == 1:
            y = y[:, None]
        check(outputs=(np.empty(z_shape, np.int8), "samples outputs"), y=(y, "samples outputs"))
        if y.dtype.kind not in "biuf":
            raise DataError(f"regression targets must be numbers, got dtype {y.dtype}.")
        return y

    def value_and_grad(self, z: np.ndarray, y: np.ndarray, *, out: np.ndarray | None = None,
                       need_grad: bool = True) -> tuple[float, np.ndarray | None]:
        # keep z's dtype; without a gradient to return, out is not used as scratch
        r = np.subtract(z, y, out=out if out is not None and need_grad else np.empty_like(z))
        loss = float(np.einsum("ij,ij->", r, r, dtype=np.float64) / z.size)
        if not need_grad:
            return loss, None
        r *= 2.0 / z.size
        return loss, r


_LOSSES = {
    "cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "bce": BinaryCrossEntropy,
    "ce": CrossEntropy,
}


def get_loss(loss: str | Loss) -> Loss:
    """A :class:`Loss` from a name ("cross_entropy", "binary_cross_entropy", "mse", ...)."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _LOSSES:
        return _LOSSES[loss]()
    raise InvalidParameterError(
        f"loss={loss!r}: loss must be a matfit.nn Loss or one of {sorted(_LOSSES)}."
    )

