"""Separation quality: SI-SDR, SNR and BSS-Eval SDR/SIR/SAR.

Implementation notes
--------------------
* SI-SDR (Le Roux, Wisdom, Erdogan & Hershey, "SDR - half-baked or well done?", ICASSP 2019):
  the estimate is split into ``alpha * s`` (alpha the least-squares gain onto the reference s)
  and the rest; SI-SDR = 10 log10(|alpha s|^2 / |estimate - alpha s|^2). ``zero_mean=True``
  removes both means first, as the paper recommends; the default keeps them (as
  ``torchmetrics``' default does), which makes no difference for zero-mean audio.
* BSS-Eval (Vincent, Gribonval & Févotte, IEEE TASLP 14(4), 2006), single-channel,
  time-invariant case, as ``bss_eval_sources`` of the BSS_EVAL toolbox and of ``mir_eval``:
  the estimate of source j is projected onto the span of the delays 0..L-1 (L = 512 taps) of
  reference j (``s_target``) and of all references (``s_target + e_interf``); the rest is
  ``e_artif``. SDR = |s_target|^2 / |e_interf + e_artif|^2, SIR = |s_target|^2 / |e_interf|^2,
  SAR = |s_target + e_interf|^2 / |e_artif|^2, in dB. The Gram matrix of the delayed references
  is block Toeplitz and is built once from FFT cross-correlations (zero-padded, so they are
  linear, not circular); each estimate then costs one solve. The permutation of estimates that
  maximises the mean SIR is chosen unless ``compute_permutation=False``.
* STOI (Taal, Hendriks, Heusdens & Jensen, IEEE TASLP 19(7), 2011), the intelligibility score
  speech people read next to SDR, comes from ``pystoi`` (optional: ``pip install pystoi``);
  :func:`stoi` only checks the inputs and turns pystoi's too-short warning into NaN.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
import scipy.fft
import scipy.linalg

from .._errors import DataError, InvalidParameterError, MatfitError, ShapeError
from ..shapes import as_float_array
from ._threads import one_blas_thread

__all__ = ["BSSEval", "bss_eval", "si_sdr", "snr", "stoi"]


def _pair(estimate: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    e = as_float_array(estimate, "estimate", dtype=np.float64)
    r = as_float_array(reference, "reference", dtype=np.float64)
    if e.shape != r.shape:
        raise ShapeError(
            f"estimate has shape {e.shape} but reference has shape {r.shape}: they must match "
            f"(cut both to the shorter length, e.g. n = min(len(a), len(b)))")
    if e.ndim == 0 or e.shape[-1] == 0:
        raise ShapeError(f"estimate and reference need at least one sample, got shape {e.shape}")
    return e, r


def _db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * (np.log10(num) - np.log10(den))


def si_sdr(estimate: Any, reference: Any, *, zero_mean: bool = False) -> Any:
    """Scale-invariant signal-to-distortion ratio in dB.

    Parameters
    ----------
    estimate, reference : array_like, shape (..., n_samples)
        Leading axes are batched.
    zero_mean : bool
        Subtract each signal's mean first.

    Returns
    -------
    float or ndarray, shape (...)
        ``inf`` for a perfect estimate (up to scale).

    Raises
    ------
    ShapeError
        If the shapes differ. DataError if a reference is all zeros (SI-SDR is undefined).

    Examples
    --------
    >>> import numpy as np
    >>> phase = 2 * np.pi * 10 * np.arange(1000) / 1000        # 10 whole periods
    >>> s, error = np.sin(phase), 0.05 * np.cos(phase)           # error orthogonal to s
    >>> round(float(si_sdr(0.5 * s + error, s)), 6)              # 10 log10(0.5**2 / 0.05**2)
    20.0
    """
    e, r = _pair(estimate, reference)
    if zero_mean:
        e = e - e.mean(axis=-1, keepdims=True)
        r = r - r.mean(axis=-1, keepdims=True)
    rr = np.einsum("...t,...t->...", r, r)
    if np.any(rr == 0):
        raise DataError("a reference signal is all zeros: SI-SDR is undefined for it")
    alpha = np.einsum("...t,...t->...", e, r) / rr
    target = alpha[..., None] * r
    noise = e - target
    out = _db(np.einsum("...t,...t->...", target, target),
              np.einsum("...t,...t->...", noise, noise))
    return float(out) if np.ndim(out) == 0 else out


def snr(estimate: Any, reference: Any) -> Any:
    """Signal-to-noise ratio of an estimate in dB: ``10 log10(|s|^2 / |s - estimate|^2)``.

    Parameters
    ----------
    estimate, reference : array_like, shape (..., n_samples)

    Returns
    -------
    float or ndarray, shape (...)
    """
    e, r = _pair(estimate, reference)
    out = _db(np.einsum("...t,...t->...", r, r),
              np.einsum("...t,...t->...", r - e, r - e))
    return float(out) if np.ndim(out) == 0 else out


def stoi(estimate: Any, reference: Any, sr: int, *, extended: bool = False) -> float:
    """Short-time objective intelligibility of a speech estimate, in [0, 1] (pystoi).

    Parameters
    ----------
    estimate, reference : array_like, shape (n_samples,)
    sr : int
        Sample rate in Hz (pystoi resamples to 10 kHz).
    extended : bool
        Extended STOI (Jensen & Taal 2016) instead of the original.

    Returns
    -------
    float
        NaN when the signal is too short for STOI (under about 0.4 s of speech).

    Raises
    ------
    MatfitError
        If pystoi is not installed.
    """
    e, r = _pair(estimate, reference)
    if e.ndim != 1:
        raise ShapeError(f"stoi takes one signal, shape (n_samples,), got shape {e.shape}")
    try:
        from pystoi import stoi as _stoi
    except ImportError:
        raise MatfitError("STOI needs pystoi: pip install pystoi") from None
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(_stoi(r, e, int(sr), extended=bool(extended)))
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return float("nan")
    return value


class BSSEval(NamedTuple):
    """BSS-Eval figures, one entry per reference source (in dB)."""

    sdr: np.ndarray
    sir: np.ndarray
    sar: np.ndarray
    perm: np.ndarray
    """``perm[j]`` is the estimate matched to reference j."""


class _Projector:
    """Least-squares projections onto delayed references, sharing one Gram matrix."""

    def __init__(self, refs: np.ndarray, L: int) -> None:
        self.refs, self.L = refs, L
        n_src, n = refs.shape
        self.n_out = n + L - 1
        self.nfft = scipy.fft.next_fast_len(n + L - 1, real=True)
        self.R = scipy.fft.rfft(refs, n=self.nfft, axis=1)
        G = np.empty((n_src * L, n_src * L))
        for i in range(n_src):
            for j in range(i, n_src):
                # c[tau] = sum_t s_i(t + tau) s_j(t): G[a, b] = <s_i delayed a, s_j delayed b>
                c = scipy.fft.irfft(self.R[i] * np.conj(self.R[j]), n=self.nfft)
                col = np.concatenate(([c[0]], c[-1:-L:-1]))
                block = scipy.linalg.toeplitz(col, c[:L])
                G[i * L:(i + 1) * L, j * L:(j + 1) * L] = block
                G[j * L:(j + 1) * L, i * L:(i + 1) * L] = block.T
        self.G = G

    def correlations(self, est: np.ndarray) -> np.ndarray:
        """D[i, a] = <s_i delayed a, estimate>, shape (n_src, L)."""
        E = scipy.fft.rfft(est, n=self.nfft)
        d = scipy.fft.irfft(self.R * np.conj(E)[None, :], n=self.nfft, axis=1)
        return np.concatenate((d[:, :1], d[:, -1:-self.L:-1]), axis=1)

    def project(self, D: np.ndarray, sources: list[int]) -> np.ndarray:
        """Projection onto the delays of the given references, length n + L - 1."""
        L = self.L
        idx = np.concatenate([np.arange(i * L, (i + 1) * L) for i in sources])
        G = self.G[np.ix_(idx, idx)]
        rhs = D[sources].ravel()
        try:
            C = scipy.linalg.solve(G, rhs, assume_a="sym", check_finite=False)
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            C = scipy.linalg.lstsq(G, rhs, check_finite=False)[0]
        C = C.reshape(len(sources), L)
        F = scipy.fft.rfft(C, n=self.nfft, axis=1) * self.R[sources]
        return scipy.fft.irfft(F.sum(axis=0), n=self.nfft)[: self.n_out]


def _criteria(est: np.ndarray, j: int, proj: _Projector, D: np.ndarray, full: np.ndarray):
    n = est.size
    s_target = proj.project(D, [j])
    e_interf = full - s_target
    e_artif = -full
    e_artif[:n] += est
    tt = float(s_target @ s_target)
    ii = float(e_interf @ e_interf)
    aa = float(e_artif @ e_artif)
    dist = e_interf + e_artif
    sdr = _db(np.float64(tt), np.float64(dist @ dist))
    sir = _db(np.float64(tt), np.float64(ii))
    sar = _db(np.float64(float(full @ full)), np.float64(aa))
    return float(sdr), float(sir), float(sar)


def bss_eval(
    references: Any,
    estimates: Any,
    *,
    filter_length: int = 512,
    compute_permutation: bool = True,
) -> BSSEval:
    """BSS-Eval SDR, SIR and SAR of estimated sources (single channel, time-invariant filters).

    Parameters
    ----------
    references : array_like, shape (sources, n_samples) or (n_samples,)
        The true sources.
    estimates : array_like, shape (sources, n_samples) or (n_samples,)
        The separated sources, same shape.
    filter_length : int
        Taps of the allowed distortion filter (512 as in BSS_EVAL and ``mir_eval``).
    compute_permutation : bool
        Match estimates to references by the best mean SIR (as ``mir_eval``'s default);
        False pairs them in order.

    Returns
    -------
    BSSEval
        ``sdr``, ``sir``, ``sar`` (dB, shape (sources,)) and ``perm``.

    Raises
    ------
    ShapeError
        If the shapes differ. DataError if a reference is all zeros.
    """
    refs = np.atleast_2d(as_float_array(references, "references", dtype=np.float64))
    ests = np.atleast_2d(as_float_array(estimates, "estimates", dtype=np.float64))
    if refs.ndim != 2 or refs.shape != ests.shape:
        raise ShapeError(
            f"references has shape {refs.shape} and estimates {ests.shape}: both must be "
            f"(sources, n_samples) with the same shape")
    if isinstance(filter_length, bool) or not isinstance(filter_length, (int, np.integer)) \
            or filter_length < 1:
        raise InvalidParameterError(
            f"filter_length must be a positive integer, got {filter_length!r}")
    n_src, n = refs.shape
    if n == 0:
        raise ShapeError("references and estimates have no samples")
    silent = np.flatnonzero(~refs.any(axis=1))
    if silent.size:
        raise DataError(f"reference source {int(silent[0])} is all zeros: BSS-Eval is undefined")
    if compute_permutation and n_src > 8:
        raise InvalidParameterError(
            f"compute_permutation with {n_src} sources would try {n_src}! orderings: pass "
            f"compute_permutation=False and order the estimates yourself")
    pairs = range(n_src) if compute_permutation else None
    sdr = np.full((n_src, n_src), np.nan)
    sir, sar = sdr.copy(), sdr.copy()
    with one_blas_thread():  # 1024 x 1024 solves: threads only contend on a busy machine
        proj = _Projector(refs, int(filter_length))
        for e in range(n_src):
            D = proj.correlations(ests[e])
            full = proj.project(D, list(range(n_src)))
            for j in (pairs if pairs is not None else [e]):
                sdr[e, j], sir[e, j], sar[e, j] = _criteria(ests[e], j, proj, D, full)
    ref_idx = np.arange(n_src)
    if compute_permutation:
        best = max(itertools.permutations(range(n_src)),
                   key=lambda p: float(np.mean(sir[list(p), ref_idx])))
        perm = np.asarray(best)
    else:
        perm = ref_idx.copy()
    return BSSEval(sdr[perm, ref_idx], sir[perm, ref_idx], sar[perm, ref_idx], perm)
