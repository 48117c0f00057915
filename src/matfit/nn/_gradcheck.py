"""``gradcheck``: compare back-propagated gradients with central finite differences in float64.

For each parameter entry (and each input entry) the derivative is estimated as
``(L(theta + h) - L(theta - h)) / (2 h)`` with ``h = 1e-6 * max(1, |theta|)``, whose error is
O(h^2) plus rounding O(eps / h), about 1e-10 relative in float64. The report gives, per
parameter, the worst ``|analytic - numeric| / max(|analytic|, |numeric|, floor)`` where
``floor = 1e-3 * (largest |numeric| of the whole check)`` keeps entries whose true derivative
is ~0 (a bias before batch norm) from dividing rounding noise by zero.

The model is copied and converted to float64 first; the caller's model is not touched. Dropout
masks are frozen for the check; BatchNorm is checked in the mode requested (its running
statistics change while checking in training mode, which does not affect the outputs).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from .._errors import InvalidParameterError
from ._layers import Dropout, Layer
from ._losses import Loss, get_loss
from ._model import Sequential

__all__ = ["GradcheckReport", "gradcheck"]


class GradcheckReport(dict):
    """Name -> worst relative error; ``worst`` is the largest; ``passed(tol)`` checks all."""

    @property
    def worst(self) -> float:
        """The largest error over all checked arrays."""
        return max(self.values()) if self else 0.0

    def passed(self, tol: float = 1e-6) -> bool:
        """Whether every worst error is at most ``tol``."""
        return self.worst <= tol

    def __repr__(self) -> str:
        items = ", ".join(f"{k}: {v:.2e}" for k, v in self.items())
        return f"GradcheckReport({{{items}}})"


def _report(pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> GradcheckReport:
    """Worst error per array; the floor is FLOOR times the largest derivative of the call."""
    scale = max((float(np.max(np.abs(n), initial=0.0)) for _, n in pairs.values()), default=0.0)
    floor = max(FLOOR * scale, 1e-300)
    report = GradcheckReport()
    for name, (a, n) in pairs.items():
        a, n = np.ravel(a), np.ravel(n)
        report[name] = float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)),
                                                                 floor), initial=0.0))
    return report


#: entries whose derivative is below FLOOR x the largest one are judged on absolute error
#: (a bias followed by batch norm has an exactly zero gradient: its "relative" error is noise)
FLOOR = 1e-3


def _pick(size: int, max_entries: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_entries is None or size <= max_entries:
        return np.arange(size)
    return np.sort(rng.choice(size, max_entries, replace=False))


def gradcheck(
    model_or_fn: Sequential | Layer | Loss | str | Callable[[np.ndarray], tuple[float, Any]],
    X: Any,
    y: Any = None,
    *,
    loss: str | Loss | None = None,
    training: bool = True,
    check_input: bool = True,
    max_entries: int | None = 200,
    seed: int = 0,
) -> GradcheckReport:
    """Worst relative error of the analytic gradient, per parameter, against finite differences.

    Parameters
    ----------
    model_or_fn : Sequential, Layer, Loss (or loss name), or callable
        * Sequential or Layer: the scalar checked is ``loss(output, y)`` when ``loss`` is
          given, else ``sum(output * R)`` with a fixed random ``R`` (a random upstream
          gradient: with all ones, batch norm's input gradient would be exactly zero).
        * Loss or a loss name: ``X`` are the logits and ``y`` the targets.
        * callable ``f(X) -> (value, dvalue/dX)``: checks the returned gradient.
    X : array_like, shape (samples, features)
    y : array_like, optional
        Targets, for a loss.
    loss : str or Loss, optional
        Loss applied to a model's output (from logits).
    training : bool
        Run layers in training mode (batch statistics, dropout with a frozen mask).
    check_input : bool
        Also check dL/dX (reported as ``"X"``).
    max_entries : int or None
        Check at most this many randomly chosen entries per array (None: all).
    seed : int
        Seeds R, the entry choice and dropout masks.

    Returns
    -------
    GradcheckReport
        ``{"X": err, "0.W": err, ...}``; ``report.passed(1e-6)``.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.nn import BatchNorm, Dense, ReLU, Sequential
    >>> model = Sequential([Dense(5), BatchNorm(), ReLU(), Dense(3)], n_features=4, seed=0)
    >>> X, y = np.random.default_rng(0).standard_normal((8, 4)), np.arange(8) % 3
    >>> gradcheck(model, X, y, loss="cross_entropy").passed(1e-6)
    True
    """
    rng = np.random.default_rng(seed)
    X = np.array(X, dtype=np.float64, copy=True)
    if isinstance(model_or_fn, (Loss, str)):
        lossf = get_loss(model_or_fn)
        yy = lossf.check_targets(X.shape, np.asarray(y))
        yy = yy if yy.dtype.kind == "i" else yy.astype(np.float64)

        def fn(Z: np.ndarray) -> tuple[float, np.ndarray]:
            value, g = lossf.value_and_grad(Z.copy(), yy)
            return value, g

        return _report({"X": _check_fn(fn, X, max_entries, rng)})
    if isinstance(model_or_fn, (Sequential, Layer)):
        return _check_model(model_or_fn, X, y, loss, training, check_input, max_entries, rng,
                            seed)
    if callable(model_or_fn):
        return _report({"X": _check_fn(model_or_fn, X, max_entries, rng)})
    raise InvalidParameterError(f"gradcheck(model_or_fn={type(model_or_fn).__name__}): give a "
                                f"Sequential, a Layer, a Loss or a callable f(X) -> (value, "
                                f"grad).")


def _check_fn(fn: Callable, X: np.ndarray, max_entries: int | None,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    _, grad = fn(X.copy())
    grad = np.asarray(grad, dtype=np.float64)
    idx = _pick(X.size, max_entries, rng)
    flat = X.ravel()
    numeric = np.empty(idx.size)
    for j, i in enumerate(idx):
        h = 1e-6 * max(1.0, abs(flat[i]))
        old = flat[i]
        flat[i] = old + h
        fp = fn(X.copy())[0]
        flat[i] = old - h
        fm = fn(X.copy())[0]
        flat[i] = old
        numeric[j] = (fp - fm) / (2 * h)
    return grad.ravel()[idx], numeric


def _check_model(target: Sequential | Layer, X: np.ndarray, y: Any, loss: Any, training: bool,
                 check_input: bool, max_entries: int | None, rng: np.random.Generator,
                 seed: int) -> GradcheckReport:
    if isinstance(target, Layer):
        layer = copy.deepcopy(target)
        if layer.built:
            layer.astype(np.float64)
        else:
            layer.build(X.shape[1], rng=np.random.default_rng(0), dtype=np.float64)
        model = Sequential([layer], dtype=np.float64)
        model.build_views()
    else:
        if not target.built:
            target.build(X.shape[1])
        model = target.copy(np.float64)
    out_shape = (X.shape[0], model.n_outputs)
    lossf = get_loss(loss) if loss is not None else None
    if lossf is not None:
        yy = lossf.check_targets(out_shape, np.asarray(y))
        yy = yy if yy.dtype.kind == "i" else yy.astype(np.float64)
    # R from a stream of its own: drawn from default_rng(seed) it would equal an X drawn the
    # same way, and batch norm maps an upstream gradient in the span of (1, X) to dX = 0
    R = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]).standard_normal(out_shape)
    for layer in model.layers:
        if isinstance(layer, Dropout):
            keep = rng.random((*X.shape[:1], layer.n_inputs)) >= layer.p
            layer.fixed_mask = keep / (1.0 - layer.p)

    def value(Xc: np.ndarray) -> float:
        out = model._forward(Xc, training)
        if lossf is not None:
            return lossf.value(out, yy)
        return float(np.sum(out * R))

    out = model._forward(X, training)
    if lossf is not None:
        _, dout = lossf.value_and_grad(out, yy)
    else:
        dout = R.copy()
    dX = model.backward(dout, need_input_grad=True)
    analytic = {k: v.copy() for k, v in model.grads.items()}
    pairs = {}
    if check_input:
        pairs["X"] = _fd_compare(value, X, dX, max_entries, rng)
    for name, p in model.params.items():
        pairs[name] = _fd_compare(value, p, analytic[name], max_entries, rng, X=X)
    return _report(pairs)


def _fd_compare(value: Callable, arr: np.ndarray, analytic: np.ndarray,
                max_entries: int | None, rng: np.random.Generator,
                X: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Perturb ``arr`` in place entry by entry; ``value`` is evaluated at X (or at arr = X)."""
    idx = _pick(arr.size, max_entries, rng)
    flat = arr.reshape(-1)
    numeric = np.empty(idx.size)
    at = arr if X is None else X
    for j, i in enumerate(idx):
        h = 1e-6 * max(1.0, abs(flat[i]))
        old = flat[i]
        flat[i] = old + h
        fp = value(at)
        flat[i] = old - h
        fm = value(at)
        flat[i] = old
        numeric[j] = (fp - fm) / (2 * h)
    return np.asarray(analytic).reshape(-1)[idx], numeric
