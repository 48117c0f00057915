"""A first-order low-pass filter whose coefficient changes at every sample.

Implementation notes
--------------------
* The recurrence ``y[i] = y[i-1] + w[i] * (x[i] - y[i-1])`` is ``y[i] - (1 - w[i]) y[i-1] =
  w[i] x[i]``: a unit lower-bidiagonal system ``L y = w * x`` (the first right-hand side also
  carries ``(1 - w[0]) * y[-1]``). Nothing in SciPy filters with a coefficient that changes per
  sample (``scipy.signal.lfilter`` and ``sosfilt`` take constant coefficients), so matfit solves
  the system directly.
* ``method="lapack"`` (the default) hands it to LAPACK's triangular banded solver ``?tbtrs``
  (``scipy.linalg.lapack``) with a unit diagonal: one O(n) forward substitution, no pivoting and
  no factorisation. ``scipy.linalg.solve_banded((1, 0), ...)`` solves the same system but goes
  through the general banded LU ``?gbsv`` (pivoting, a 4 x n work array) and was about 5x slower.
  Measured on 1e6 samples, 2 shared cores: Python loop 0.25-0.36 s; ``solve_banded`` 59 ms (4-6x
  the loop); ``?tbtrs`` 11 ms (30x); a Numba scan 6 ms (45-57x) after a 0.6 s compilation.
* ``method="numba"`` runs the loop itself, compiled (numba is the optional extra ``fast``). It is
  bit-for-bit the loop's arithmetic and about twice as fast as LAPACK, but costs 0.6 s to compile
  in every new process, so it is not the default.
* The closed form ``y[n] = P[n] (y[-1] + sum_k w[k] x[k] / P[k])`` with ``P[n] = prod (1 - w)``
  is not used: ``P`` underflows to 0 after a few thousand samples and ``1 / P`` overflows.
* Forward substitution is backward stable here: for 0 <= w <= 2, ``|1 - w| <= 1``, so a rounding
  error made at one sample is never amplified later; every method agrees with the loop to a few
  units in the last place of ``max |x|``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from scipy.linalg import get_lapack_funcs

from .._errors import DataError, InvalidParameterError, ShapeError
from ..shapes import as_float_array

__all__ = ["time_varying_lowpass"]

Method = Literal["auto", "lapack", "numba"]
_METHODS = ("auto", "lapack", "numba")


def time_varying_lowpass(
    x: Any,
    w: Any,
    *,
    initial: Any = None,
    axis: int = -1,
    method: Method = "auto",
) -> np.ndarray:
    r"""Low-pass filter with a per-sample coefficient: y[i] = y[i-1] + w[i] (x[i] - y[i-1]).

    Parameters
    ----------
    x : array_like, shape (..., samples)
        The signal; ``samples`` runs along ``axis`` (the last one by default), every other axis
        is a separate channel.
    w : float or array_like, shape (samples,) or the shape of x
        The coefficient of each sample, in [0, 2] (0 holds the previous output, 1 copies the
        input; values in (1, 2] over-relax but stay bounded). A 1-D ``w`` is shared by every
        channel; a scalar is the same coefficient at every sample.
    initial : float or array_like, shape (...), optional
        The output before the first sample, ``y[-1]``. None (the default) starts at the first
        sample, ``y[-1] = x[0]``, so ``y[0] = x[0]`` (as ``pandas.Series.ewm(adjust=False)``);
        pass ``0.0`` for the zero initial state of ``scipy.signal.lfilter``.
    axis : int
        The axis of ``x`` along which the samples run.
    method : {"auto", "lapack", "numba"}
        "lapack" (the default behind "auto") solves the bidiagonal system with LAPACK ``?tbtrs``;
        "numba" runs the compiled loop and needs the optional extra ``fast``.

    Returns
    -------
    y : ndarray, shape of x
        Same floating dtype as ``x`` (float32 stays float32; integers become float64).

    Raises
    ------
    ShapeError
        If ``w`` is neither 1-D with ``samples`` entries nor the shape of ``x``, or ``initial``
        does not have the shape of one sample of every channel.
    DataError
        If ``x``, ``w`` or ``initial`` holds NaN or inf, or ``w`` has an entry outside [0, 2]
        (the recurrence would grow without bound).
    InvalidParameterError
        If ``method`` is unknown, or "numba" is asked for without numba installed.

    Notes
    -----
    The recurrence is the unit lower-bidiagonal system

    .. math:: y_i - (1 - w_i)\, y_{i-1} = w_i x_i, \qquad i = 0, \dots, n - 1,

    with :math:`y_{-1}` = ``initial``. For a constant ``w`` it is
    ``scipy.signal.lfilter([w], [1, w - 1], x, zi=[(1 - w) * initial])``.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.signal import time_varying_lowpass
    >>> time_varying_lowpass([1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 1.0, 0.0], initial=0.0)
    array([0.5 , 0.75, 1.  , 1.  ])
    """
    if method not in _METHODS:
        raise InvalidParameterError(
            f"time_varying_lowpass(method={method!r}): method must be one of {set(_METHODS)}."
        )
    if np.ndim(x) == 0:
        raise ShapeError(
            "x must be at least 1-D ('... samples') but is a scalar: pass np.atleast_1d(x)."
        )
    x = as_float_array(x, "x")
    if not -x.ndim <= axis < x.ndim:
        raise InvalidParameterError(
            f"time_varying_lowpass(axis={axis}): x has {x.ndim} dimension(s) (shape {x.shape}); "
            f"pass axis in [{-x.ndim}, {x.ndim - 1}]."
        )
    axis %= x.ndim
    xs = np.moveaxis(x, axis, -1)
    n_samples = xs.shape[-1]
    channels = xs.shape[:-1]
    w = _coefficients(w, x.shape, axis, x.dtype)
    y0 = _initial(initial, xs, x.dtype)
    if n_samples == 0:
        return np.empty_like(x)

    x2 = xs.reshape(-1, n_samples)
    w2 = w.reshape(-1, n_samples)
    y02 = y0.reshape(-1)
    if method == "numba":
        y2 = _numba_scan()(x2, w2, y02)
    else:
        y2 = _lapack_solve(x2, w2, y02)
    return np.moveaxis(y2.reshape((*channels, n_samples)), -1, axis)


def _coefficients(w: Any, x_shape: tuple[int, ...], axis: int, dtype: np.dtype) -> np.ndarray:
    """``w`` as (1, samples) or (..., samples) with samples last, checked to lie in [0, 2]."""
    n_samples = x_shape[axis]
    if np.ndim(w) == 0:  # one coefficient for every sample: the constant-coefficient filter
        w = np.full(n_samples, w)
    w = as_float_array(w, "w", dtype=dtype)
    if w.shape == (n_samples,):
        w = w.reshape(1, n_samples)
    elif w.shape == x_shape:
        w = np.moveaxis(w, axis, -1)
    else:
        raise ShapeError(
            f"w has shape {w.shape} but x has shape {x_shape} with {n_samples} samples along "
            f"axis {axis}: pass w with {n_samples} entries (shared by every channel) or with "
            f"the shape of x."
        )
    bad = (w < 0) | (w > 2)
    if bad.any():
        flat = np.flatnonzero(bad.ravel())
        idx = np.unravel_index(flat[0], w.shape)
        raise DataError(
            f"w must lie in [0, 2] (|1 - w| <= 1 keeps the filter bounded), but {flat.size} "
            f"entries do not; the first is {float(w[idx])!r} at sample {int(idx[-1])}. "
            f"For a smoothing factor use w in [0, 1]; clip with np.clip(w, 0, 1)."
        )
    return w


def _initial(initial: Any, xs: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``y[-1]`` for every channel, shape ``xs.shape[:-1]``."""
    channels = xs.shape[:-1]
    if initial is None:
        if xs.shape[-1] == 0:
            return np.zeros(channels, dtype=dtype)
        return np.ascontiguousarray(xs[..., 0])
    # as_float_array returns at least 1-D (np.ascontiguousarray does): keep a scalar a scalar
    y0 = as_float_array(initial, "initial", dtype=dtype).reshape(np.shape(initial))
    try:
        return np.ascontiguousarray(np.broadcast_to(y0, channels))
    except ValueError:
        raise ShapeError(
            f"initial has shape {y0.shape} but x has {channels or 'no'} channel axes "
            f"{channels}: pass a scalar or an array of shape {channels} (one value per channel)."
        ) from None


def _lapack_solve(x2: np.ndarray, w2: np.ndarray, y02: np.ndarray) -> np.ndarray:
    """Solve ``L y = w x`` with ``?tbtrs``; x2 (channels, samples), w2 (1 or channels, samples)."""
    n_channels, n_samples = x2.shape
    # right-hand sides as the columns of a Fortran-ordered (samples, channels) array (the
    # transpose of the C-ordered product, so no copy), which ?tbtrs overwrites with the solution
    rhs = np.asfortranarray((w2 * x2).T)
    rhs[0] += (1 - w2[:, 0]) * y02
    # LAPACK band storage (row 0 the diagonal, row 1 the subdiagonal); with diag="U" the diagonal
    # and the last subdiagonal slot are never read, so they are left uninitialised
    band = np.empty((2, n_samples), dtype=x2.dtype, order="F")
    tbtrs = get_lapack_funcs("tbtrs", (band, rhs))
    if w2.shape[0] == 1:  # one matrix for every channel: one call with many right-hand sides
        band[1, :-1] = w2[0, 1:] - 1
        y, info = tbtrs(band, rhs, uplo="L", diag="U", overwrite_b=1)
        _check_info(info)
        return np.ascontiguousarray(y.T)
    y = np.empty_like(x2)
    for c in range(n_channels):
        band[1, :-1] = w2[c, 1:] - 1
        yc, info = tbtrs(band, rhs[:, c : c + 1], uplo="L", diag="U", overwrite_b=1)
        _check_info(info)
        y[c] = yc[:, 0]
    return y


def _check_info(info: int) -> None:
    if info != 0:  # pragma: no cover - a unit diagonal is never singular; only a bad argument
        raise RuntimeError(f"LAPACK ?tbtrs failed with info={info}")


_SCAN = None


def _numba_scan():
    """Compile (once per process) and return the Numba scan over (channels, samples)."""
    global _SCAN
    if _SCAN is None:
        try:
            import numba
        except ImportError:
            raise InvalidParameterError(
                "time_varying_lowpass(method='numba') needs numba: pip install 'matfit[fast]', "
                "or use method='lapack' (the default), which needs nothing extra."
            ) from None

        @numba.njit(cache=False, nogil=True)
        def scan(x2, w2, y02):  # pragma: no cover - compiled; covered through the tests
            n_channels, n_samples = x2.shape
            shared = w2.shape[0] == 1
            y = np.empty_like(x2)
            for c in range(n_channels):
                wc = 0 if shared else c
                prev = y02[c]
                for i in range(n_samples):
                    prev = prev + w2[wc, i] * (x2[c, i] - prev)
                    y[c, i] = prev
            return y

        _SCAN = scan
    return _SCAN
