"""Numerically stable building blocks: activations, log-probabilities, losses, divergences.

Implementation notes
--------------------
* Every function works in the input's floating dtype (float32 stays float32; integers become
  float64) and never emits a floating-point warning or a NaN for finite input.
* Exponentials are only ever taken of non-positive numbers (``exp(-|x|)``), so they cannot
  overflow; ``log1p`` carries the small terms. This is the standard rewriting used by
  ``scipy.special.expit``/``log_expit`` and by PyTorch's ``BCEWithLogitsLoss``.
* Log-sum-exp subtracts the maximum first; a slice whose entries are all ``-inf`` gives ``-inf``
  (not NaN), matching ``scipy.special.logsumexp``.
* ``beta_divergence`` follows Févotte & Idier (2011), "Algorithms for nonnegative matrix
  factorization with the beta-divergence", eq. (2); for beta = 2 it is *half* the squared
  Frobenius norm, as in scikit-learn.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ._errors import DataError, InvalidParameterError, ShapeError

__all__ = [
    "beta_divergence",
    "binary_cross_entropy_with_logits",
    "cross_entropy_with_logits",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "resolve_beta",
    "sigmoid",
    "softmax",
    "softplus",
    "xlogy",
]

Reduction = Literal["mean", "sum", "none"]


def _float(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    return x.astype(np.float64)


def sigmoid(x: Any) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-x)), without overflow for any finite x.

    >>> float(sigmoid(-1e4)), float(sigmoid(1e4))
    (0.0, 1.0)
    """
    x = _float(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x: Any) -> np.ndarray:
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``, finite for every finite x."""
    x = _float(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def log_sigmoid(x: Any) -> np.ndarray:
    """log(sigmoid(x)) = -softplus(-x); finite for every finite x (about x for x << 0)."""
    x = _float(x)
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _shift_and_log_sum(a: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(max, a - max, log(sum(exp(a - max)))) along ``axis``, all with keepdims.

    The largest entry contributes exactly exp(0) = 1 to the sum, so the log is taken as
    log1p(sum of the others): this keeps full relative precision when one logit dominates
    (log(1 + 1e-5) computed as log(1.00001) would lose five digits).
    """
    m = np.max(a, axis=axis, keepdims=True)
    finite = np.isfinite(m)
    shifted = a - np.where(finite, m, 0).astype(a.dtype, copy=False)
    e = np.exp(shifted)
    np.put_along_axis(e, np.argmax(a, axis=axis, keepdims=True), 0, axis=axis)
    log_sum = np.log1p(np.sum(e, axis=axis, keepdims=True))
    # a slice of all -inf has no shift to undo: its log-sum is -inf (log of an empty sum)
    log_sum = np.where(finite, log_sum, np.where(m < 0, -np.inf, 0)).astype(a.dtype, copy=False)
    return m, shifted, log_sum


def logsumexp(a: Any, axis: int | None = None, keepdims: bool = False) -> Any:
    """log(sum(exp(a))) along ``axis`` (all entries when None), without overflow.

    A slice whose entries are all ``-inf`` gives ``-inf``, as ``scipy.special.logsumexp``.
    """
    a = _float(a)
    if axis is None:
        # an empty array sums to 0, whose log is -inf (without numpy's divide-by-zero warning)
        out = logsumexp(a.reshape(-1), axis=0, keepdims=False) if a.size else a.dtype.type(-np.inf)
        return np.reshape(out, (1,) * a.ndim) if keepdims else out
    m, _, log_sum = _shift_and_log_sum(a, axis)
    out = np.where(np.isfinite(m), m + log_sum, m)
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(z: Any, axis: int = -1) -> np.ndarray:
    """z - logsumexp(z) along ``axis``, as (z - max) - log(sum(exp(z - max)))."""
    z = _float(z)
    _, shifted, log_sum = _shift_and_log_sum(z, axis)
    return shifted - log_sum


def softmax(z: Any, axis: int = -1) -> np.ndarray:
    """exp(z) / sum(exp(z)) along ``axis``, computed from the maximum-shifted logits."""
    z = _float(z)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def xlogy(x: Any, y: Any) -> np.ndarray:
    """x * log(y), defined as 0 where x == 0 (also for y == 0); -inf where y == 0 < x."""
    x, y = np.broadcast_arrays(_float(x), _float(y))
    dtype = np.result_type(x, y)
    out = np.zeros(x.shape, dtype=dtype)
    nz = x != 0
    with np.errstate(divide="ignore"):  # y == 0 < x: -inf is the limit, by design
        out[nz] = x[nz] * np.log(y[nz])
    return out


def _reduce(loss: np.ndarray, reduction: str) -> Any:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise InvalidParameterError(
        f"reduction must be one of {{'mean', 'sum', 'none'}}, got {reduction!r}"
    )


def binary_cross_entropy_with_logits(
    logits: Any, targets: Any, reduction: Reduction = "mean"
) -> Any:
    """Binary cross-entropy of targets in [0, 1] given logits z.

    ``-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = max(z, 0) - z y + log1p(exp(-|z|))``,
    as ``torch.nn.functional.binary_cross_entropy_with_logits``. Finite for ``|z|`` up to the
    dtype's range.
    """
    z = _float(logits)
    y = np.asarray(targets, dtype=z.dtype)
    if y.shape != z.shape:
        raise ShapeError(
            f"targets has shape {y.shape} but logits has shape {z.shape}; they must match "
            f"(one target per logit)."
        )
    loss = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return _reduce(loss, reduction)


def cross_entropy_with_logits(
    logits: Any, labels: Any, axis: int = -1, reduction: Reduction = "mean"
) -> Any:
    """Cross-entropy of class labels given logits, as ``torch.nn.functional.cross_entropy``.

    Parameters
    ----------
    logits : array, shape (samples, classes)
        Unnormalised scores (classes along ``axis``).
    labels : array of int, shape (samples,), or array of float, shape (samples, classes)
        Integer class indices, or one-hot / probability rows.
    axis : int
        The classes axis of ``logits``.
    reduction : {"mean", "sum", "none"}
    """
    z = _float(logits)
    logp = log_softmax(z, axis=axis)
    labels = np.asarray(labels)
    if labels.ndim == z.ndim:
        if labels.shape != z.shape:
            raise ShapeError(
                f"one-hot labels have shape {labels.shape} but logits have shape {z.shape}; "
                f"they must match (samples, classes)."
            )
        loss = -np.sum(labels.astype(z.dtype, copy=False) * logp, axis=axis)
        return _reduce(loss, reduction)
    if labels.ndim != z.ndim - 1 or labels.dtype.kind not in "iub":
        raise ShapeError(
            f"labels must be integer class indices of shape {np.delete(z.shape, axis).tolist()} "
            f"or one-hot rows of shape {list(z.shape)}; got dtype {labels.dtype} and shape "
            f"{labels.shape}."
        )
    n_classes = z.shape[axis]
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)].ravel()[0]
        raise DataError(
            f"labels must lie in [0, {n_classes - 1}] for {n_classes} classes; found {bad}."
        )
    picked = np.take_along_axis(np.moveaxis(logp, axis, -1), labels[..., None].astype(np.intp), -1)
    return _reduce(-picked[..., 0], reduction)


_BETA_NAMES = {
    "frobenius": 2.0,
    "euclidean": 2.0,
    "kullback-leibler": 1.0,
    "kl": 1.0,
    "itakura-saito": 0.0,
    "is": 0.0,
}


def resolve_beta(beta: Any) -> float:
    """Map a beta name ('frobenius'/'kl'/'is' and their long forms) or number to a float."""
    if isinstance(beta, str):
        key = beta.lower()
        if key not in _BETA_NAMES:
            raise InvalidParameterError(
                f"beta must be a number or one of {sorted(_BETA_NAMES)}, got {beta!r}"
            )
        return _BETA_NAMES[key]
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"beta must be a number or one of {sorted(_BETA_NAMES)}, got {beta!r}"
        ) from None
    if not np.isfinite(value):
        raise InvalidParameterError(f"beta must be finite, got {beta!r}")
    return value


def beta_divergence(X: Any, WH: Any, beta: float | str) -> float:
    """Sum of the elementwise beta-divergence d(X | WH).

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix, shape (features, samples)
        Non-negative data.
    WH : ndarray of shape (features, samples), or a pair (W, H)
        The approximation, or its factors W (features, components) and H (components, samples).
        With a sparse X and factors and beta in {1, 2} nothing of X's dense size is formed.
    beta : float or {"itakura-saito", "kullback-leibler", "frobenius"} (0, 1, 2; "is", "kl")

    Returns
    -------
    float
        sum d(x | y) with d(x|y) = (x^b + (b-1) y^b - b x y^(b-1)) / (b (b-1)), its limits
        x/y - log(x/y) - 1 (b = 0) and x log(x/y) - x + y (b = 1), and half the squared
        Frobenius norm of X - WH when b = 2. The terms are summed in float64, also for float32
        input, so a sum of many terms keeps float64 accuracy.

    Raises
    ------
    ShapeError
        If X and WH differ in a dimension.
    DataError
        If beta <= 0 and X has zeros: the divergence is infinite there.
    """
    b = resolve_beta(beta)
    factored = isinstance(WH, tuple)
    if factored:
        W, H = WH
        from .shapes import check

        check(X=(X, "features samples"), W=(W, "features components"), H=(H, "components samples"))
    else:
        if X.shape != np.shape(WH):
            raise ShapeError(
                f"X has shape {X.shape} but WH has shape {np.shape(WH)}; they must match."
            )
    if sp.issparse(X):
        return _beta_sparse(X.tocoo(), WH, b, factored)
    X = _float(X)
    Y = (WH[0] @ WH[1]) if factored else _float(WH)
    return _beta_dense(X, Y, b)


def _check_zeros(has_zero: bool, b: float) -> None:
    if has_zero and b <= 0:
        raise DataError(
            f"beta={b:g} <= 0 (e.g. Itakura-Saito) is undefined where X has zeros: add a small "
            f"floor (X + 1e-10 * X.max()) or use beta > 0 ('kl' or 'frobenius')."
        )


def _is_terms(R: np.ndarray) -> np.ndarray:
    """Itakura-Saito terms r - log r - 1 of r = x / y; +inf (the limit) where y == 0 < x."""
    D = R - np.log(R) - 1          # inf - inf = nan at r = inf: the limit is +inf
    np.putmask(D, R == np.inf, np.inf)
    return D


def _beta_dense(X: np.ndarray, Y: np.ndarray, b: float) -> float:
    f8 = np.float64
    if b == 2:
        return 0.5 * float(np.sum(np.square(X - Y, dtype=f8), dtype=f8))
    _check_zeros(bool(np.any(X == 0)), b)
    with np.errstate(divide="ignore", invalid="ignore"):  # y == 0 < x gives inf, by design
        if b == 1:
            return float(np.sum(xlogy(X, X) - xlogy(X, Y) - X + Y, dtype=f8))
        if b == 0:
            return float(np.sum(_is_terms(X / Y), dtype=f8))
        D = X**b + (b - 1) * Y**b - b * X * Y ** (b - 1)
        return float(np.sum(D, dtype=f8) / (b * (b - 1)))


def _beta_sparse(X: sp.coo_matrix, WH: Any, b: float, factored: bool) -> float:
    f8 = np.float64
    r, c, x = X.row, X.col, X.data
    if factored:
        W, H = WH
        y = np.einsum("ij,ji->i", W[r], H[:, c]) if len(r) else np.zeros(0, W.dtype)
        if b == 2:  # ||X||^2 - 2 <X, WH> + ||WH||^2 with ||WH||^2 = tr((W'W)(HH'))
            wh2 = float(np.sum((W.T @ W) * (H @ H.T), dtype=f8))
            return 0.5 * max(float(x @ x) - 2 * float(x @ y) + wh2, 0.0)
        if b == 1:
            sum_y = float(W.sum(axis=0, dtype=f8) @ H.sum(axis=1, dtype=f8))
            with np.errstate(divide="ignore"):
                return float(np.sum(xlogy(x, x) - xlogy(x, y) - x, dtype=f8)) + sum_y
        Y = W @ H
    else:
        Y = _float(WH)
    # general beta: dense Y, but only the observed x enter the x-terms
    n_total = X.shape[0] * X.shape[1]
    _check_zeros(len(x) < n_total or bool(np.any(x == 0)), b)
    y = Y[r, c]
    if b == 2:
        return 0.5 * (float(np.sum(np.square(Y, dtype=f8))) - float(np.sum(y * y, dtype=f8))
                      + float(np.sum(np.square(x - y, dtype=f8))))
    with np.errstate(divide="ignore", invalid="ignore"):
        if b == 1:
            return float(np.sum(xlogy(x, x) - xlogy(x, y) - x, dtype=f8) + np.sum(Y, dtype=f8))
        if b == 0:
            return float(np.sum(_is_terms(x / y), dtype=f8))
        total = (np.sum(x**b, dtype=f8) + (b - 1) * np.sum(Y**b, dtype=f8)
                 - b * np.sum(x * y ** (b - 1), dtype=f8))
        return float(total / (b * (b - 1)))
