"""Training and prediction: ``fit``, ``evaluate``, ``predict`` and ``predict_proba``.

Implementation notes
--------------------
* One pass over the data per epoch in shuffled mini-batches (a fresh permutation from the
  ``seed``-ed generator each epoch); the batch is gathered with ``np.take(..., out=)`` into a
  reused array, every layer writes into reused arrays, and the optimiser updates the model's
  arrays in place with preallocated work arrays, so an epoch allocates almost nothing.
* A model ending in ``Softmax`` (with ``"cross_entropy"``) or ``Sigmoid`` (with
  ``"binary_cross_entropy"``) is trained on the logits before that layer with the loss's fused
  gradient; ``predict_proba`` runs the full model.
* With ``BatchNorm`` a final batch of a single sample is skipped (its variance is undefined; in
  PyTorch it raises).
* Training loss and accuracy of an epoch are the sample-weighted means over its batches, in
  training mode (as Keras reports them); validation figures are computed in evaluation mode.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._errors import DivergenceError, InvalidParameterError, NotFittedError, ShapeError
from .._progress import progress
from ..optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSProp, StatefulOptimizer
from ..optim import clip_grad_norm_ as _clip_norm
from ..shapes import check
from ._batchnorm import BatchNorm
from ._layers import Sigmoid, Softmax
from ._losses import BinaryCrossEntropy, CrossEntropy, Loss, get_loss
from ._model import Sequential

__all__ = ["History", "evaluate", "fit", "predict", "predict_proba"]

_OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSProp, "adagrad": Adagrad}


class History(dict):
    """Per-epoch figures: ``loss``, ``accuracy`` (classification), ``val_loss``,
    ``val_accuracy`` (with validation data) and ``seconds``, each a list over epochs.

    Attributes
    ----------
    best_epoch : int
        The epoch (0-based) with the best monitored figure (the last one without early stopping).
    stopped_early : bool
        Whether early stopping ended the training.
    """

    best_epoch: int = -1
    stopped_early: bool = False

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _head(model: Sequential, loss: Loss | None) -> int | None:
    """Where the logits are: stop before a final Softmax/Sigmoid paired with its loss."""
    last = model.layers[-1]
    if isinstance(last, Softmax) and (loss is None or isinstance(loss, CrossEntropy)):
        return len(model.layers) - 1
    if isinstance(last, Sigmoid) and (loss is None or isinstance(loss, BinaryCrossEntropy)):
        return len(model.layers) - 1
    return None


def _make_optimizer(optimizer: Any, model: Sequential, lr: Any,
                    weight_decay: float) -> StatefulOptimizer:
    params = model.params
    if isinstance(optimizer, StatefulOptimizer):
        held = optimizer.params
        same = held is params or (isinstance(held, dict) and held.keys() == params.keys()
                                  and all(held[k] is params[k] for k in params))
        if not same:
            raise InvalidParameterError("fit(optimizer=...): this optimizer updates other arrays "
                                        "than the model's; build it on model.params, e.g. "
                                        "Adam(model.params, lr=1e-3).")
        return optimizer
    if isinstance(optimizer, Optimizer):
        return StatefulOptimizer(params, optimizer)
    if isinstance(optimizer, str) and optimizer in _OPTIMIZERS:
        kwargs = {"weight_decay": weight_decay} if weight_decay else {}
        return _OPTIMIZERS[optimizer](params, lr, **kwargs)
    raise InvalidParameterError(
        f"fit(optimizer={optimizer!r}): give one of {sorted(_OPTIMIZERS)}, a pure optimiser "
        f"such as matfit.optim.adam(1e-3), or a stateful one built on model.params."
    )


def _prepare_targets(model: Sequential, loss: Loss, X: np.ndarray, y: Any,
                     name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    n_out = model.n_outputs
    # name the (classes, samples) vs (samples, classes) mix-up before the loss checks values
    if y.ndim == 2:
        check(known={"outputs": (n_out, "the model's output size")},
              X=(X, "samples features"), **{name: (y, "samples outputs")})
    elif y.ndim == 1:
        check(X=(X, "samples features"), **{name: (y, "samples")})
    else:
        raise ShapeError(f"{name} must be 1-D (samples,) or 2-D (samples, {n_out}); got shape "
                         f"{y.shape}.")
    y = loss.check_targets((X.shape[0], n_out), y)
    if y.dtype.kind != "i" or not isinstance(loss, CrossEntropy):
        y = np.ascontiguousarray(y, dtype=model.dtype)
    return y


def _correct(z: np.ndarray, y: np.ndarray, loss: Loss) -> float:
    if isinstance(loss, CrossEntropy):
        labels = y if y.ndim == 1 else y.argmax(axis=1)
        return int(np.count_nonzero(z.argmax(axis=1) == labels))
    if isinstance(loss, BinaryCrossEntropy):
        # multi-label: the fraction of correct outputs per sample (no flooring per batch)
        return np.count_nonzero((z > 0) == (y > 0.5)) / max(z.shape[1], 1)
    return 0


def fit(
    model: Sequential,
    X: Any,
    y: Any,
    *,
    loss: str | Loss = "cross_entropy",
    optimizer: str | Optimizer | StatefulOptimizer = "adam",
    lr: Any = 1e-3,
    epochs: int = 10,
    batch_size: int = 32,
    validation_data: tuple[Any, Any] | None = None,
    early_stopping: int | dict | None = None,
    weight_decay: float = 0.0,
    clip_grad_norm: float | None = None,
    shuffle: bool = True,
    seed: Any = None,
    verbose: int = 0,
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient steps; return the per-epoch history.

    Parameters
    ----------
    model : Sequential
        Built or not (then built for X's features; ``seed`` also seeds the initialisation).
    X : array_like, shape (samples, features)
    y : array_like
        "cross_entropy": integer classes (samples,) in [0, outputs) or one-hot (samples,
        outputs); "binary_cross_entropy": 0/1 (samples,) or (samples, outputs);
        "mean_squared_error": (samples,) or (samples, outputs).
    loss : str or Loss
        "cross_entropy", "binary_cross_entropy" or "mean_squared_error" (from logits).
    optimizer : str, Optimizer or StatefulOptimizer
        "adam" (default), "adamw", "sgd", "rmsprop", "adagrad" with ``lr``; or e.g.
        ``matfit.optim.sgd(0.1, momentum=0.9)``.
    lr : float or schedule
        Learning rate for a named optimizer (a schedule counts batches).
    epochs, batch_size : int
    validation_data : (X_val, y_val), optional
        Evaluated after each epoch in evaluation mode.
    early_stopping : int or dict, optional
        Patience in epochs, or ``{"patience": 5, "min_delta": 0.0, "restore_best": True}``;
        monitors ``val_loss`` (``loss`` without validation data) and restores the best weights.
    weight_decay : float
        L2 penalty passed to a named optimizer.
    clip_grad_norm : float, optional
        Clip the global gradient norm of each batch to this value.
    shuffle : bool
        Shuffle the samples every epoch.
    seed : int or Generator, optional
        Seeds shuffling, initialisation and dropout.
    verbose : int
        0 silent; 1 a progress bar over epochs with loss/accuracy; 2 also one bar per epoch.

    Returns
    -------
    History
        ``history["loss"]``, ``["accuracy"]``, ``["val_loss"]``, ``["val_accuracy"]``,
        ``["seconds"]`` per epoch; ``best_epoch``, ``stopped_early``.

    Raises
    ------
    ShapeError
        If X or y has the wrong shape, naming a transposed (classes, samples) array as such.
    """
    if not isinstance(model, Sequential):
        raise InvalidParameterError(f"fit(model={type(model).__name__}): model must be a "
                                    f"matfit.nn.Sequential.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InvalidParameterError(f"fit({name}={value!r}): {name} must be an integer >= 1.")
    loss = get_loss(loss)
    rng = np.random.default_rng(seed) if seed is not None else model.rng
    if seed is not None and not model.built:
        model.rng = rng
    X = model.check_input(X)
    if not model.built:
        model.build(X.shape[1])
        for layer in model.layers:          # dropout draws from the model's generator
            if hasattr(layer, "rng"):
                layer.rng = model.rng
    y = _prepare_targets(model, loss, X, y)
    val = None
    if validation_data is not None:
        Xv = model.check_input(validation_data[0], "X_val")
        val = (Xv, _prepare_targets(model, loss, Xv, validation_data[1], "y_val"))
    patience, min_delta, restore = _early_stopping(early_stopping)
    opt = _make_optimizer(optimizer, model, lr, weight_decay)
    head = _head(model, loss)
    has_bn = any(isinstance(layer, BatchNorm) for layer in model.layers)
    classify = isinstance(loss, (CrossEntropy, BinaryCrossEntropy))
    n = X.shape[0]
    history = History(loss=[])
    if classify:
        history["accuracy"] = []
    if val is not None:
        history["val_loss"] = []
        if classify:
            history["val_accuracy"] = []
    history["seconds"] = []
    model.loss_ = loss
    best_value, best_params, wait = np.inf, None, 0
    Xb_buf = np.empty((min(batch_size, n), *X.shape[1:]), dtype=X.dtype)
    yb_buf = np.empty((min(batch_size, n), *y.shape[1:]), dtype=y.dtype)
    gz_buf: dict[int, np.ndarray] = {}
    model.reuse_buffers(True)
    # overflow in a diverging step must reach the finite check below as inf/NaN, not as a
    # RuntimeWarning from deep inside a layer
    errstate = np.errstate(over="ignore", invalid="ignore", divide="ignore")
    try:
        errstate.__enter__()
        with progress(range(epochs), desc="fit", verbose=verbose, unit="epoch") as bar:
            for epoch in bar:
                start = time.perf_counter()
                order = rng.permutation(n) if shuffle else None
                total_loss, correct, seen = 0.0, 0, 0
                batches = range(0, n, batch_size)
                inner = progress(batches, desc=f"epoch {epoch + 1}", verbose=verbose >= 2,
                                 unit="batch")
                for lo in inner:
                    hi = min(lo + batch_size, n)
                    m = hi - lo
                    if m == 1 and has_bn:
                        continue
                    if order is None:
                        Xb, yb = X[lo:hi], y[lo:hi]
                    else:
                        idx = order[lo:hi]
                        Xb = np.take(X, idx, axis=0, out=Xb_buf[:m])
                        yb = np.take(y, idx, axis=0, out=yb_buf[:m])
                    z = model._forward(Xb, True, head)
                    gz = gz_buf.get(m)
                    if gz is None or gz.shape != z.shape:
                        gz = gz_buf[m] = np.empty_like(z)
                    if classify:
                        correct += _correct(z, yb, loss)
                    value, gz = loss.value_and_grad(z, yb, out=gz)
                    if not np.isfinite(value):
                        raise DivergenceError(_diverged(value, epoch, lr))
                    total_loss += value * m
                    seen += m
                    model.backward(gz, stop=head)
                    if clip_grad_norm is not None:
                        _clip_norm(model.grads, clip_grad_norm)
                    opt.step(model.grads)
                inner.close()
                epoch_loss = total_loss / max(seen, 1)
                history["loss"].append(epoch_loss)
                if classify:
                    history["accuracy"].append(correct / max(seen, 1))
                if val is not None:
                    vl, va = evaluate(model, val[0], val[1], loss=loss, _checked=True)
                    history["val_loss"].append(vl)
                    if classify:
                        history["val_accuracy"].append(va)
                history["seconds"].append(time.perf_counter() - start)
                bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items()
                                 if k != "seconds"}, refresh=False)
                monitored = history["val_loss" if val is not None else "loss"][-1]
                if monitored < best_value - min_delta:
                    best_value, wait, history.best_epoch = monitored, 0, epoch
                    if patience is not None and restore:
                        best_params = _snapshot(model)
                elif patience is not None:
                    wait += 1
                    if wait >= patience:
                        history.stopped_early = True
                        break
    finally:
        errstate.__exit__(None, None, None)
        model.reuse_buffers(False)
    if history.stopped_early and best_params is not None:
        _restore(model, best_params)
    if patience is None:
        history.best_epoch = len(history["loss"]) - 1
    return history


def _diverged(value: float, epoch: int, lr: Any) -> str:
    return (f"fit: the training loss became {value} in epoch {epoch + 1}: the step is too large "
            f"(lower lr={lr!r}), or the features are on very different scales (standardise X), "
            f"or the targets are not what the loss expects.")


def _early_stopping(spec: Any) -> tuple[int | None, float, bool]:
    if spec is None or spec is False:
        return None, 0.0, True
    if isinstance(spec, bool) or isinstance(spec, int):
        spec = {"patience": 10 if spec is True else spec}
    if not isinstance(spec, dict) or not set(spec) <= {"patience", "min_delta", "restore_best"}:
        raise InvalidParameterError(
            f"fit(early_stopping={spec!r}): give a patience (int) or a dict with keys "
            f"'patience', 'min_delta', 'restore_best'."
        )
    patience = int(spec.get("patience", 10))
    if patience < 1:
        raise InvalidParameterError(f"fit(early_stopping): patience={patience} must be >= 1.")
    return patience, float(spec.get("min_delta", 0.0)), bool(spec.get("restore_best", True))


def _snapshot(model: Sequential) -> list[dict[str, np.ndarray]]:
    return [{k: v.copy() for k, v in {**layer.params, **layer._state()}.items()}
            for layer in model.layers]


def _restore(model: Sequential, snap: list[dict[str, np.ndarray]]) -> None:
    for layer, saved in zip(model.layers, snap, strict=True):
        current = {**layer.params, **layer._state()}
        for k, v in saved.items():
            current[k][...] = v


def _logits(model: Sequential, X: np.ndarray, stop: int | None,
            batch_size: int = 4096) -> np.ndarray:
    outs = [np.array(model._forward(X[lo:lo + batch_size], False, stop), copy=True)
            for lo in range(0, X.shape[0], batch_size)]
    if not outs:
        return np.empty((0, model.n_outputs), dtype=model.dtype)
    return np.concatenate(outs, axis=0)


def _as_batch(model: Sequential, X: Any) -> tuple[np.ndarray, bool]:
    if not isinstance(model, Sequential):
        raise InvalidParameterError(f"model must be a matfit.nn.Sequential, got "
                                    f"{type(model).__name__}.")
    if not model.built:
        raise NotFittedError("this model is not built or fitted yet: call fit(model, X, y) first.")
    X_arr = np.asarray(X)
    single = X_arr.ndim == 1
    if single:
        if X_arr.shape[0] != model.n_features:
            raise ShapeError(
                f"a single example must have {model.n_features} features (the model's input "
                f"size) but has {X_arr.shape[0]}; for several examples pass a 2-D array "
                f"(samples, {model.n_features})."
            )
        X_arr = X_arr[None, :]
    return model.check_input(X_arr), single


def _task(model: Sequential) -> str:
    if model.loss_ is not None:
        return model.loss_.task
    last = model.layers[-1]
    if isinstance(last, Softmax):
        return "multiclass"
    if isinstance(last, Sigmoid):
        return "binary"
    return "regression"


def predict(model: Sequential, X: Any) -> np.ndarray:
    """Predictions for one example (shape (features,)) or many (samples, features).

    Returns class indices for a classifier (argmax of the logits; for a sigmoid output,
    ``logit > 0``), the outputs for a regressor. A single example gives a scalar (or one row).
    """
    X, single = _as_batch(model, X)
    task = _task(model)
    if task == "regression":
        out = _logits(model, X, None)
    else:
        z = _logits(model, X, _head(model, model.loss_))
        out = z.argmax(axis=1) if task == "multiclass" else (z > 0).astype(np.intp)
        if task == "binary" and out.shape[1] == 1:
            out = out[:, 0]
    return out[0] if single else out


def predict_proba(model: Sequential, X: Any) -> np.ndarray:
    """Class probabilities: softmax rows (samples, classes), or sigmoid outputs (samples, outputs).

    One example (shape (features,)) gives one row.
    """
    from ..numerics import sigmoid, softmax

    X, single = _as_batch(model, X)
    task = _task(model)
    if task == "regression":
        raise InvalidParameterError("predict_proba needs a classifier (trained with "
                                    "cross-entropy or binary cross-entropy, or ending in "
                                    "Softmax/Sigmoid); use predict for a regressor.")
    z = _logits(model, X, _head(model, model.loss_))
    p = softmax(z, axis=1) if task == "multiclass" else sigmoid(z)
    return p[0] if single else p


def evaluate(model: Sequential, X: Any, y: Any, *, loss: str | Loss | None = None,
             _checked: bool = False) -> tuple[float, float]:
    """(mean loss, accuracy) in evaluation mode; accuracy is NaN for a regression loss."""
    loss = get_loss(loss if loss is not None else (model.loss_ or "cross_entropy"))
    if not _checked:
        X = model.check_input(X)
        y = _prepare_targets(model, loss, X, y)
    z = _logits(model, X, _head(model, loss))
    value = loss.value(z, y)
    if isinstance(loss, (CrossEntropy, BinaryCrossEntropy)):
        return value, _correct(z, y, loss) / max(X.shape[0], 1)
    return value, float("nan")
