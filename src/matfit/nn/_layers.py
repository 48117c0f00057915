"""Layers with an explicit forward and backward pass and cached activations.

Implementation notes
--------------------
* Arrays are ``(samples, features)``, as in PyTorch and scikit-learn. ``Dense`` stores its
  kernel as ``W`` of shape ``(inputs, units)`` and computes ``X @ W + b``; PyTorch's
  ``nn.Linear.weight`` is the transpose, ``(units, inputs)``.
* ``forward(X, training)`` caches what ``backward`` needs (the input for ``Dense``, the output
  for ``Tanh``/``Sigmoid``/``Softmax``, the mask for ``ReLU``/``Dropout``) and ``backward(dY)``
  returns dL/dX and writes dL/dparam into the preallocated ``grads`` arrays (overwritten, not
  accumulated). A backward pass is valid only right after its forward pass.
* When ``reuse_buffers`` is on (``fit`` turns it on), outputs and gradients are written into
  arrays kept per batch shape, so an epoch allocates almost nothing; an output is then only
  valid until the next call. Public ``forward`` calls without it return fresh arrays.
* Activations are applied in place where the cached quantity allows it (ReLU's backward needs
  only the sign of its output, Tanh's and Sigmoid's only their outputs).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._errors import InvalidParameterError, ShapeError
from ..numerics import sigmoid

__all__ = [
    "Dense",
    "Dropout",
    "Layer",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]

_INITS = ("he", "xavier", "lecun", "torch", "zeros")


class Layer:
    """Base class: ``build``, ``forward``, ``backward``, ``params`` and ``grads``.

    Subclasses set ``self.params`` / ``self.grads`` (dicts of same-shaped arrays) in ``build``
    and implement ``_forward(X, training)`` and ``_backward(dY, need_dx)``.
    """

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.n_inputs: int | None = None
        self.n_outputs: int | None = None
        self.dtype: np.dtype = np.dtype(np.float32)
        self.reuse_buffers = False
        self._buffers: dict[tuple, np.ndarray] = {}

    # -- construction ---------------------------------------------------------------------
    def build(self, n_inputs: int, *, rng: np.random.Generator, dtype: Any) -> int:
        """Create parameters for ``n_inputs`` input features; return the number of outputs."""
        self.n_inputs, self.dtype = int(n_inputs), np.dtype(dtype)
        self.n_outputs = self._build(self.n_inputs, rng)
        return self.n_outputs

    def _build(self, n_inputs: int, rng: np.random.Generator) -> int:
        return n_inputs

    @property
    def built(self) -> bool:
        """Whether :meth:`build` has run."""
        return self.n_inputs is not None

    def astype(self, dtype: Any) -> None:
        """Convert parameters, gradients and state to ``dtype`` in place (on this object)."""
        self.dtype = np.dtype(dtype)
        for d in (self.params, self.grads):
            for k, v in d.items():
                d[k] = v.astype(dtype)
        self._set_state({k: v.astype(dtype) for k, v in self._state().items()})
        self._buffers.clear()

    def _inference_copy(self, dtype: Any) -> Layer:
        """A shallow copy for evaluation in ``dtype``: its own parameter and state arrays, no
        gradients, caches or buffers (the original is untouched)."""
        new = copy.copy(self)
        new.dtype = np.dtype(dtype)
        new.params = {k: v.astype(dtype) for k, v in self.params.items()}
        new.grads = {}
        new._buffers = {}
        new.reuse_buffers = False
        new._set_state({k: v.astype(dtype) for k, v in self._state().items()})
        return new

    def _state(self) -> dict[str, np.ndarray]:
        """Non-trainable arrays that are part of the model (e.g. running statistics)."""
        return {}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        pass

    # -- passes ---------------------------------------------------------------------------
    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        """The layer's output for a batch ``X`` of shape (samples, inputs)."""
        if not self.built:
            raise InvalidParameterError(f"{type(self).__name__} is not built: call "
                                        f"build(n_inputs, ...) or use it inside a Sequential.")
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ShapeError(f"{type(self).__name__} expects input of shape (samples, "
                             f"{self.n_inputs}) but got {X.shape}.")
        return self._forward(X, training)

    def backward(self, dY: np.ndarray, need_dx: bool = True) -> np.ndarray | None:
        """dL/dX from dL/dY; fills ``self.grads``. ``need_dx=False`` skips dL/dX (first layer)."""
        return self._backward(dY, need_dx)

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray | None:
        raise NotImplementedError

    def _out(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A work array: cached per (name, shape) when reuse_buffers is on, else fresh."""
        if not self.reuse_buffers:
            return np.empty(shape, dtype=self.dtype)
        key = (name, shape)
        buf = self._buffers.get(key)
        if buf is None:
            if len(self._buffers) > 16:  # many batch shapes (predict on odd sizes): start over
                self._buffers.clear()
            buf = self._buffers[key] = np.empty(shape, dtype=self.dtype)
        return buf

    def config(self) -> dict[str, Any]:
        """Constructor arguments, for saving and repr."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer ``Y = X @ W + b``.

    Parameters
    ----------
    units : int
        Number of outputs.
    init : {"he", "xavier", "lecun", "torch", "zeros"}
        Kernel initialisation: He (normal, std sqrt(2 / inputs); for ReLU), Xavier/Glorot
        (uniform, limit sqrt(6 / (inputs + units)); for tanh/sigmoid), LeCun (normal, std
        sqrt(1 / inputs)), "torch" (``nn.Linear``'s default: W and b uniform in
        ±1/sqrt(inputs)) or zeros. Biases start at zero except with "torch".
    bias : bool
        Whether to add a bias.

    Attributes
    ----------
    params : dict
        ``W`` (inputs, units) and ``b`` (units,).
    """

    def __init__(self, units: int, *, init: str = "he", bias: bool = True) -> None:
        super().__init__()
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise InvalidParameterError(f"Dense(units={units!r}): units must be an integer >= 1.")
        if init not in _INITS:
            raise InvalidParameterError(f"Dense(init={init!r}): init must be one of {_INITS}.")
        self.units, self.init, self.bias = int(units), init, bool(bias)

    def _build(self, n_inputs: int, rng: np.random.Generator) -> int:
        fan_in, fan_out = n_inputs, self.units
        shape = (fan_in, fan_out)
        if self.init == "he":
            W = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif self.init == "lecun":
            W = rng.standard_normal(shape) * np.sqrt(1.0 / fan_in)
        elif self.init == "xavier":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            W = rng.uniform(-limit, limit, shape)
        elif self.init == "torch":
            W = rng.uniform(-1.0, 1.0, shape) / np.sqrt(fan_in)
        else:
            W = np.zeros(shape)
        self.params = {"W": np.ascontiguousarray(W, dtype=self.dtype)}
        if self.bias:
            b = (rng.uniform(-1.0, 1.0, fan_out) / np.sqrt(fan_in) if self.init == "torch"
                 else np.zeros(fan_out))
            self.params["b"] = b.astype(self.dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return self.units

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        self._X = X
        Y = np.matmul(X, self.params["W"], out=self._out("Y", (X.shape[0], self.units)))
        if self.bias:
            Y += self.params["b"]
        return Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray | None:
        np.matmul(self._X.T, dY, out=self.grads["W"])
        if self.bias:
            np.sum(dY, axis=0, out=self.grads["b"])
        if not need_dx:
            return None
        return np.matmul(dY, self.params["W"].T, out=self._out("dX", self._X.shape))

    def config(self) -> dict[str, Any]:
        return {"units": self.units, "init": self.init, "bias": self.bias}


class ReLU(Layer):
    """``max(x, 0)``; the backward pass passes the gradient where the output is positive."""

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        Y = np.maximum(X, 0, out=self._out("Y", X.shape))
        self._Y = Y
        return Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray:
        # d/dx max(x, 0) is taken as 0 at x = 0, as PyTorch does
        return np.multiply(dY, self._Y > 0, out=self._out("dX", dY.shape))


class LeakyReLU(Layer):
    """``x`` for x > 0, ``negative_slope * x`` otherwise (PyTorch's default slope 0.01)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not (isinstance(negative_slope, (int, float)) and np.isfinite(negative_slope)):
            raise InvalidParameterError(f"LeakyReLU(negative_slope={negative_slope!r}): must be "
                                        f"a finite number.")
        self.negative_slope = float(negative_slope)

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        self._pos = X > 0
        Y = np.multiply(X, self.negative_slope, out=self._out("Y", X.shape))
        np.copyto(Y, X, where=self._pos)
        return Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray:
        dX = np.multiply(dY, self.negative_slope, out=self._out("dX", dY.shape))
        np.copyto(dX, dY, where=self._pos)
        return dX

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class Tanh(Layer):
    """``tanh(x)``; backward ``dY * (1 - Y**2)`` from the cached output."""

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        self._Y = np.tanh(X, out=self._out("Y", X.shape))
        return self._Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray:
        dX = np.multiply(self._Y, self._Y, out=self._out("dX", dY.shape))
        np.subtract(1, dX, out=dX)
        dX *= dY
        return dX


class Sigmoid(Layer):
    """Logistic ``1 / (1 + exp(-x))`` without overflow; backward ``dY * Y * (1 - Y)``.

    As the last layer of a model trained with ``loss="binary_cross_entropy"``, ``fit`` hands
    the loss the logits (this layer's input) and the fused gradient ``sigmoid(z) - y``: the
    loss never takes ``log`` of a probability that rounded to 0 or 1.
    """

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        Y = self._out("Y", X.shape)
        Y[...] = sigmoid(X)
        self._Y = Y
        return Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray:
        dX = np.subtract(1, self._Y, out=self._out("dX", dY.shape))
        dX *= self._Y
        dX *= dY
        return dX


class Softmax(Layer):
    """Softmax over the features (classes) axis, from max-shifted logits.

    Meant as the *output* of a classifier, paired with ``loss="cross_entropy"``: ``fit`` then
    gives the loss this layer's input (the logits) and uses the fused gradient
    ``softmax(z) - onehot(y)``, which is exact and cannot overflow. Its own backward pass
    (``Y * (dY - sum(dY * Y))``) is used only when another loss follows it.
    """

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        Y = np.subtract(X, X.max(axis=1, keepdims=True), out=self._out("Y", X.shape))
        np.exp(Y, out=Y)
        Y /= Y.sum(axis=1, keepdims=True)
        self._Y = Y
        return Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray:
        dX = np.multiply(dY, self._Y, out=self._out("dX", dY.shape))
        s = dX.sum(axis=1, keepdims=True)
        np.subtract(dY, s, out=dX)
        dX *= self._Y
        return dX


class Dropout(Layer):
    """Inverted dropout: in training, zero each entry with probability ``p`` and scale by 1/(1-p).

    In evaluation it is the identity (as ``torch.nn.Dropout``). The mask comes from the
    model's random generator (``seed`` of ``fit``/``Sequential``), so runs are reproducible.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not (isinstance(p, (int, float)) and 0 <= p < 1):
            raise InvalidParameterError(f"Dropout(p={p!r}): p must lie in [0, 1).")
        self.p = float(p)
        self.rng: np.random.Generator = np.random.default_rng()
        self.fixed_mask: np.ndarray | None = None   # set by gradcheck to freeze the mask

    def _build(self, n_inputs: int, rng: np.random.Generator) -> int:
        self.rng = rng
        return n_inputs

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        if not training or self.p == 0:
            self._mask = None
            return X
        if self.fixed_mask is not None and self.fixed_mask.shape == X.shape:
            mask = self.fixed_mask
        else:
            mask = self._out("mask", X.shape)
            mask[...] = self.rng.random(X.shape, dtype=np.float64 if self.dtype == np.float64
                                        else np.float32) >= self.p
            mask *= 1.0 / (1.0 - self.p)
        self._mask = mask
        return np.multiply(X, mask, out=self._out("Y", X.shape))

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray:
        if self._mask is None:
            return dY
        return np.multiply(dY, self._mask, out=self._out("dX", dY.shape))

    def config(self) -> dict[str, Any]:
        return {"p": self.p}
