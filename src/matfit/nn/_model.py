"""``Sequential``: a stack of layers, with the shape checks at its boundary and save/load."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import InvalidParameterError, NotFittedError
from .._io import load_model, save_model
from ..shapes import as_float_array, check
from ._batchnorm import BatchNorm
from ._layers import Dense, Dropout, Layer, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

__all__ = ["Sequential"]

_LAYER_TYPES = {cls.__name__: cls for cls in
                (Dense, ReLU, LeakyReLU, Tanh, Sigmoid, Softmax, BatchNorm, Dropout)}


class Sequential:
    """Layers applied in order to a batch of shape (samples, features).

    Parameters
    ----------
    layers : list of Layer
        E.g. ``[Dense(64), ReLU(), Dense(10), Softmax()]``. Each layer's input size is taken
        from the previous one, the first from ``n_features`` or the first data seen.
    n_features : int, optional
        Build now for this many input features (otherwise ``fit`` builds from X).
    dtype : {np.float32, np.float64}
        Dtype of parameters and computation (float32 by default, as in PyTorch).
    seed : int or numpy.random.Generator, optional
        Seeds initialisation (and dropout masks).

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.nn import Dense, ReLU, Sequential
    >>> model = Sequential([Dense(4), ReLU(), Dense(1)], n_features=2, seed=0)
    >>> model.forward(np.ones((3, 2))).shape
    (3, 1)
    >>> sorted(model.params)
    ['0.W', '0.b', '2.W', '2.b']
    """

    def __init__(self, layers: list[Layer], *, n_features: int | None = None,
                 dtype: Any = np.float32, seed: Any = None) -> None:
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise InvalidParameterError(
                    f"Sequential(layers[{i}]={layer!r}): every layer must be a matfit.nn Layer "
                    f"instance (did you pass the class, e.g. ReLU instead of ReLU()?)."
                )
        if not layers:
            raise InvalidParameterError("Sequential(layers=[]): give at least one layer.")
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise InvalidParameterError(f"Sequential(dtype={dtype!r}): dtype must be float32 or "
                                        f"float64.")
        self.layers, self.dtype, self.seed = layers, dt, seed
        self.rng = np.random.default_rng(seed)
        self.loss_: Any = None          # set by fit: decides what predict returns
        if n_features is not None:
            self.build(n_features)

    # -- construction ---------------------------------------------------------------------
    def build(self, n_features: int) -> Sequential:
        """Create every layer's parameters for ``n_features`` inputs."""
        n = int(n_features)
        for layer in self.layers:
            n = layer.build(n, rng=self.rng, dtype=self.dtype)
        self._params = {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                        for k, v in layer.params.items()}
        self._grads = {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                       for k, v in layer.grads.items()}
        return self

    @property
    def built(self) -> bool:
        """Whether the parameters exist."""
        return self.layers[0].built

    @property
    def n_features(self) -> int:
        """Input size."""
        self._require_built()
        return int(self.layers[0].n_inputs)

    @property
    def n_outputs(self) -> int:
        """Output size."""
        self._require_built()
        return int(self.layers[-1].n_outputs)

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Trainable arrays by name ``"<layer index>.<name>"`` (the layers' own arrays)."""
        self._require_built()
        return self._params

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the last backward pass, same names and shapes as ``params``."""
        self._require_built()
        return self._grads

    def _require_built(self) -> None:
        if not self.built:
            raise NotFittedError("this Sequential is not built yet: pass n_features=..., call "
                                 "build(n_features), or fit it.")

    def copy(self, dtype: Any = None) -> Sequential:
        """A deep copy, optionally converted to another dtype (gradcheck uses float64)."""
        new = copy.deepcopy(self)
        if dtype is not None and np.dtype(dtype) != new.dtype:
            new.dtype = np.dtype(dtype)
            for layer in new.layers:
                if layer.built:
                    layer.astype(dtype)
            if new.built:
                new.build_views()
        return new

    def inference_copy(self, dtype: Any) -> Sequential:
        """A copy for prediction in ``dtype`` (parameters and running statistics cast; no
        gradients or training caches), much cheaper than :meth:`copy`."""
        self._require_built()
        new = copy.copy(self)
        new.dtype = np.dtype(dtype)
        new.layers = [layer._inference_copy(dtype) for layer in self.layers]
        new._params = {f"{i}.{k}": v for i, layer in enumerate(new.layers)
                       for k, v in layer.params.items()}
        new._grads = {}
        return new

    def build_views(self) -> None:
        """Refresh the ``params``/``grads`` name maps after layers replaced their arrays."""
        self._params = {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                        for k, v in layer.params.items()}
        self._grads = {f"{i}.{k}": v for i, layer in enumerate(self.layers)
                       for k, v in layer.grads.items()}

    # -- passes ---------------------------------------------------------------------------
    def check_input(self, X: Any, name: str = "X") -> np.ndarray:
        """Convert X to the model's dtype and check it is (samples, n_features), by name."""
        X = as_float_array(X, name, dtype=self.dtype)
        if self.built:
            check(known={"features": (self.n_features, "the model's input size")},
                  **{name: (X, "samples features")})
        else:
            check(**{name: (X, "samples features")})
        return X

    def forward(self, X: Any, *, training: bool = False) -> np.ndarray:
        """The output for X of shape (samples, features), as a fresh array."""
        X = self.check_input(X)
        if not self.built:
            self.build(X.shape[1])
        return np.array(self._forward(X, training), copy=True)

    def _forward(self, X: np.ndarray, training: bool, stop: int | None = None) -> np.ndarray:
        for layer in self.layers[:stop]:
            X = layer._forward(X, training)
        return X

    def backward(self, dY: np.ndarray, *, stop: int | None = None,
                 need_input_grad: bool = False) -> np.ndarray | None:
        """Back-propagate dL/d(output of layer ``stop - 1``) and fill ``grads``.

        Returns dL/dX when ``need_input_grad`` (skipped otherwise: it is the most expensive
        product of the first layer and nothing needs it in training).
        """
        layers = self.layers[:stop]
        for i in range(len(layers) - 1, -1, -1):
            dY = layers[i]._backward(dY, need_input_grad or i > 0)
        return dY

    def reuse_buffers(self, on: bool) -> None:
        """Let the layers write into per-shape work arrays (``fit`` turns this on)."""
        for layer in self.layers:
            layer.reuse_buffers = on
            if not on:
                layer._buffers.clear()

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the architecture, parameters and running statistics to one ``.npz`` file."""
        self._require_built()
        arrays = dict(self.params)
        for i, layer in enumerate(self.layers):
            arrays.update({f"{i}.{k}": v for k, v in layer._state().items()})
        meta = {"layers": [{"type": type(layer).__name__, **layer.config()}
                           for layer in self.layers],
                "n_features": self.n_features, "dtype": self.dtype.name,
                "loss": None if self.loss_ is None else self.loss_.name}
        return save_model(path, arrays, meta, kind="matfit.nn.Sequential", version=1)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sequential:
        """Read a model written by :meth:`save`."""
        from ._losses import get_loss

        arrays, meta = load_model(path, kind="matfit.nn.Sequential")
        layers = [_LAYER_TYPES[spec.pop("type")](**spec) for spec in meta["layers"]]
        model = cls(layers, n_features=meta["n_features"], dtype=meta["dtype"])
        for i, layer in enumerate(model.layers):
            for k in layer.params:
                layer.params[k][...] = arrays[f"{i}.{k}"]
            state = layer._state()
            for k in state:
                state[k][...] = arrays[f"{i}.{k}"]
        model.loss_ = None if meta.get("loss") is None else get_loss(meta["loss"])
        return model

    def summary(self) -> str:
        """One line per layer: type, output size and parameter count."""
        lines = []
        total = 0
        for i, layer in enumerate(self.layers):
            count = sum(v.size for v in layer.params.values())
            total += count
            lines.append(f"{i:>3}  {layer!r:<40} outputs={layer.n_outputs}  params={count}")
        lines.append(f"total parameters: {total}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}])"
