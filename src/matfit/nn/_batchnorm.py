"""Batch normalisation over the samples axis, with PyTorch's running statistics.

Training mode (``torch.nn.BatchNorm1d``, affine, ``track_running_stats=True``):

.. code-block:: text

    mu    = mean(X, axis=samples)
    var   = mean((X - mu)**2, axis=samples)                 biased: used to normalise
    xhat  = (X - mu) / sqrt(var + eps);   Y = gamma * xhat + beta
    running_mean <- (1 - momentum) * running_mean + momentum * mu
    running_var  <- (1 - momentum) * running_var  + momentum * var * n / (n - 1)   (unbiased)

Evaluation mode normalises with ``running_mean`` and ``running_var`` instead. The backward pass
in training mode differentiates through mu and var as well:

.. code-block:: text

    dxhat = dY * gamma
    dX    = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sqrt(var + eps)
    dgamma = sum(dY * xhat);   dbeta = sum(dY)

With an all-ones upstream gradient ``dX`` is exactly zero, so tests use random ones.
The running variance must be the *unbiased* one; a biased running variance is a classic bug
that only shows in evaluation mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import InvalidParameterError, ShapeError
from ._layers import Layer

__all__ = ["BatchNorm"]


class BatchNorm(Layer):
    """Batch normalisation of each feature (``torch.nn.BatchNorm1d`` semantics).

    Parameters
    ----------
    momentum : float
        Weight of the current batch in the running averages (PyTorch's 0.1).
    eps : float
        Added to the variance before the square root (PyTorch's 1e-5).

    Attributes
    ----------
    params : dict
        ``gamma`` and ``beta``, shape (features,).
    running_mean, running_var : ndarray, shape (features,)
        Start at 0 and 1; updated in every training-mode forward pass.
    """

    def __init__(self, *, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        if not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise InvalidParameterError(f"BatchNorm(momentum={momentum!r}): momentum must lie in "
                                        f"[0, 1].")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise InvalidParameterError(f"BatchNorm(eps={eps!r}): eps must be > 0.")
        self.momentum, self.eps = float(momentum), float(eps)

    def _build(self, n_inputs: int, rng: np.random.Generator) -> int:
        self.params = {"gamma": np.ones(n_inputs, self.dtype), "beta": np.zeros(n_inputs,
                                                                                 self.dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.running_mean = np.zeros(n_inputs, self.dtype)
        self.running_var = np.ones(n_inputs, self.dtype)
        self.num_batches_tracked = 0
        return n_inputs

    def _state(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.running_mean = state["running_mean"]
        self.running_var = state["running_var"]

    def _forward(self, X: np.ndarray, training: bool) -> np.ndarray:
        n = X.shape[0]
        self._training = training
        xhat = self._out("xhat", X.shape)
        if training:
            if n < 2:
                raise ShapeError(
                    f"BatchNorm in training mode needs at least 2 samples per batch to estimate "
                    f"a variance, got a batch of shape {X.shape}; use batch_size >= 2 (and drop "
                    f"or merge a last batch of one), or call the model in evaluation mode."
                )
            mu = X.mean(axis=0)
            np.subtract(X, mu, out=xhat)
            var = np.einsum("ij,ij->j", xhat, xhat) / n      # biased: normalises the batch
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mu
            self.running_var *= 1 - m
            self.running_var += (m * n / (n - 1)) * var       # unbiased, as PyTorch stores it
            self.num_batches_tracked += 1
            inv_std = 1.0 / np.sqrt(var + self.eps)
        else:
            np.subtract(X, self.running_mean, out=xhat)
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
        inv_std = inv_std.astype(self.dtype, copy=False)
        xhat *= inv_std
        self._xhat, self._inv_std = xhat, inv_std
        Y = np.multiply(xhat, self.params["gamma"], out=self._out("Y", X.shape))
        Y += self.params["beta"]
        return Y

    def _backward(self, dY: np.ndarray, need_dx: bool) -> np.ndarray | None:
        xhat = self._xhat
        np.sum(dY, axis=0, out=self.grads["beta"])
        self.grads["gamma"][...] = np.einsum("ij,ij->j", dY, xhat)
        if not need_dx:
            return None
        scale = self.params["gamma"] * self._inv_std
        dX = self._out("dX", dY.shape)
        if not self._training:           # mu and var are constants in evaluation mode
            return np.multiply(dY, scale, out=dX)
        n = dY.shape[0]
        mean_dy = self.grads["beta"] / n
        mean_dy_xhat = self.grads["gamma"] / n
        np.multiply(xhat, mean_dy_xhat, out=dX)
        np.subtract(dY, dX, out=dX)
        dX -= mean_dy
        dX *= scale
        return dX

    def config(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "eps": self.eps}
