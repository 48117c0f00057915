"""Spectral dictionaries for separation: :class:`Dictionary` and :func:`learn_dictionary`.

Implementation notes
--------------------
* A dictionary is W, shape (features, components) = (frequency bins, atoms), of magnitude
  spectra, each atom (column) scaled to unit sum, together with the STFT settings it was learned
  with (sample rate, ``n_fft``, hop): a separator refuses to mix dictionaries or a mixture whose
  settings differ, so the W (513, 60) / H (131, 129) kind of mistake cannot happen silently.
* ``kind="nmf"`` learns atoms with :func:`matfit.factorize.nmf` (multiplicative updates for the
  beta-divergence, random start, atoms normalised to unit sum after every update).
  ``kind="exemplar"`` uses the training frames themselves as atoms (silent frames dropped,
  evenly subsampled to ``n_components`` when given). Exemplars cannot fit anything that is not
  in the training audio, which matters when a source with no training data is learned from the
  mixture beside them: learned noise atoms also fit speech, exemplar noise atoms much less
  (semi-supervised speech SI-SDR improvement on the real 8 kHz set: about +3 to +4.7 dB with
  learned noise atoms, +8 dB with exemplars and the Separator's defaults; see
  ``tests/separate`` and ``benchmarks/separation.py``).
* The training signal may be a list of segments (e.g. the parts of a noise recording around a
  stretch that must not be used): each is transformed on its own and the frames are pooled, so
  no frame straddles a cut.
* ``info["level_spread_db"]``: the standard deviation over the training frames of each frame's
  level (10 log10 of its energy, in dB). It tells a stationary source (hum, fans, traffic, the
  real noise in ../shared: 1 to 3.6 dB) from speech (16 to 23 dB on every speech recording
  measured, at 8 and 16 kHz); :attr:`Dictionary.stationary` is ``spread < 6 dB``, and a
  :class:`~matfit.separate.Separator` smooths a stationary source's model over time.
* Saved as one ``.npz`` with a JSON metadata record (:func:`matfit._io.save_model`), never pickle.
  Format version 1 throughout: ``level_spread_db`` is one more key in the free-form ``info``
  record, so files written before it load unchanged (``stationary`` is then None: no smoothing).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._io import load_model, save_model
from ..numerics import resolve_beta
from ..shapes import as_float_array
from ._stft import STFT
from ._threads import one_blas_thread

__all__ = ["Dictionary", "learn_dictionary"]

_KIND = "matfit.separate.Dictionary"
_VERSION = 1
STATIONARY_SPREAD_DB = 6.0
# exemplars of a stationary source in SUPERVISED separation (``matfit separate`` with every
# source trained): evenly spaced frames, at most this many. Measured (issue 18), speech SI-SDR
# improvement with 40 learned speech atoms: real 8 kHz speech + real noise, speech dictionary
# from another voice, 40 learned noise atoms +4.64 dB, 100 exemplars +6.21 (40: 6.12, 400:
# 6.09; 100 or 200 learned atoms: 2.35, 0.67 — learned noise atoms fit that speech); 16 kHz
# set at -5 dB 14.05 -> 14.12. 100 keeps 5 s at 16 kHz separated in under 0.5 s.
SUPERVISED_EXEMPLARS = 100
Kind = Literal["nmf", "exemplar"]


@dataclass(frozen=True, eq=False)
class Dictionary:
    """Magnitude-spectrum atoms and the STFT settings they were learned with.

    Parameters
    ----------
    W : ndarray, shape (features, components)
        Non-negative atoms (frequency bins x atoms), each scaled to unit sum. Stored read-only.
    stft : STFT
        Sample rate, ``n_fft`` and hop of the spectrograms the atoms describe;
        ``features == stft.n_fft // 2 + 1``.
    kind : {"nmf", "exemplar"}
        How the atoms were made.
    beta : float
        The beta-divergence NMF atoms were learned under (recorded for exemplars too).
    info : dict
        JSON-serialisable facts about the training (seconds of audio, frames, iterations).
    """

    W: np.ndarray
    stft: STFT
    kind: str = "nmf"
    beta: float = 1.0
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        W = as_float_array(self.W, "W", dims="features components", nonnegative=True,
                           dtype=np.float64, copy=True,
                           purpose="Dictionary atoms are magnitude spectra.")
        if W.shape[0] != self.stft.n_bins:
            raise InvalidParameterError(
                f"W has {W.shape[0]} rows (features) but n_fft={self.stft.n_fft} gives "
                f"{self.stft.n_bins} frequency bins: pass the STFT the atoms were learned with."
            )
        if W.shape[1] == 0:
            raise InvalidParameterError("W has no columns: a dictionary needs at least one atom")
        sums = W.sum(axis=0)
        if np.any(sums <= 0):
            raise DataError(f"W has an all-zero atom (column {int(np.argmin(sums))}): drop it")
        if np.any(np.abs(sums - 1) > 1e-12):  # already unit-sum (e.g. loaded): keep it bitwise
            W /= sums
        W.flags.writeable = False
        object.__setattr__(self, "W", W)
        if self.kind not in ("nmf", "exemplar"):
            raise InvalidParameterError(
                f"kind must be 'nmf' or 'exemplar', got {self.kind!r}")
        object.__setattr__(self, "beta", resolve_beta(self.beta))

    @property
    def n_components(self) -> int:
        """Number of atoms."""
        return int(self.W.shape[1])

    @property
    def stationary(self) -> bool | None:
        """Whether the training audio's frame level varied by less than 6 dB (std over frames).

        None when unknown (a dictionary built by hand, or saved before matfit recorded it).
        """
        spread = self.info.get("level_spread_db")
        return None if spread is None else bool(spread < STATIONARY_SPREAD_DB)

    @property
    def sr(self) -> int:
        """Sample rate in Hz."""
        return self.stft.sr

    def __repr__(self) -> str:
        return (f"Dictionary(kind={self.kind!r}, W.shape={self.W.shape}, sr={self.stft.sr}, "
                f"n_fft={self.stft.n_fft}, hop={self.stft.hop})")

    def save(self, path: str | os.PathLike) -> Path:
        """Write to ``path`` (``.npz`` added if missing): the atoms and JSON metadata, no pickle."""
        meta = {"stft": self.stft.to_dict(), "dictionary_kind": self.kind, "beta": self.beta,
                "info": self.info}
        return save_model(path, {"W": self.W}, meta, kind=_KIND, version=_VERSION)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Dictionary:
        """Read a dictionary written by :meth:`save`."""
        arrays, meta = load_model(path, kind=_KIND, versions=(_VERSION,))
        s = meta["stft"]
        return cls(arrays["W"], STFT(int(s["sr"]), int(s["n_fft"]), int(s["hop"])),
                   kind=meta["dictionary_kind"], beta=float(meta["beta"]),
                   info=dict(meta.get("info", {})))


def _segments(signal: Any) -> list[np.ndarray]:
    """A 1-D signal, or a sequence of 1-D segments, as a list of float64 arrays."""
    if isinstance(signal, np.ndarray) and signal.ndim == 1:
        parts = [signal]
    elif isinstance(signal, Sequence) and not isinstance(signal, (str, bytes)) and signal and all(
        np.ndim(s) == 1 for s in signal
    ):
        parts = list(signal)
    else:
        arr = np.asarray(signal)
        if arr.ndim != 1:
            raise InvalidParameterError(
                f"signal must be a 1-D array of samples (or a list of 1-D segments), got shape "
                f"{arr.shape}. For several channels pass signal.mean(axis=1); for one channel "
                f"of a 2-D array pass signal[:, 0]."
            )
        parts = [arr]
    return [as_float_array(p, f"signal segment {i}" if len(parts) > 1 else "signal",
                           dtype=np.float64) for i, p in enumerate(parts)]


def training_spectrogram(signal: Any, stft: STFT, *, what: str = "signal") -> np.ndarray:
    """Pooled magnitude frames of a signal or of its segments, shape (features, samples).

    Raises
    ------
    DataError
        If a segment is shorter than one STFT frame (``n_fft`` samples) or all are silent.
    """
    parts = _segments(signal)
    frames = []
    for i, part in enumerate(parts):
        label = what if len(parts) == 1 else f"{what} (segment {i})"
        if part.size < stft.n_fft:
            raise DataError(
                f"{label} has {part.size} samples, shorter than one STFT frame (n_fft="
                f"{stft.n_fft} samples = {stft.n_fft / stft.sr:.3f} s at {stft.sr} Hz): give "
                f"more training audio or a smaller n_fft."
            )
        frames.append(np.abs(stft.stft(part)))
    V = np.hstack(frames)
    if not V.any():
        raise DataError(f"{what} is silent (all samples are zero): nothing to learn from")
    return V


def level_spread_db(V: np.ndarray) -> float:
    """Standard deviation over frames of the frame level in dB (floored 100 dB below the peak).

    ``V`` is a magnitude spectrogram, shape (features, samples).
    """
    energy = np.einsum("ft,ft->t", V, V)
    level = 10.0 * np.log10(np.maximum(energy, 1e-10 * energy.max()))
    return float(level.std())


def learn_dictionary(
    signal: Any,
    sr: int,
    n_components: int | None = None,
    *,
    kind: Kind = "nmf",
    beta: float | str = "kl",
    n_fft: int | None = None,
    hop: int | None = None,
    max_iter: int = 100,
    tol: float = 0.0,
    init: str = "random",
    seed: int | None = 0,
    verbose: int = 0,
    name: str = "signal",
) -> Dictionary:
    """Learn magnitude-spectrum atoms of one source from its training audio.

    Parameters
    ----------
    signal : ndarray, shape (samples,), or sequence of such arrays
        Training audio at ``sr`` Hz. Segments of a sequence are transformed separately and
        their frames pooled (use it to leave out a stretch, e.g. the part of a noise recording
        that is in the test mixture).
    sr : int
        Sample rate in Hz.
    n_components : int, optional
        Number of atoms: default 40 for ``kind="nmf"``; for ``kind="exemplar"`` the frames are
        evenly subsampled to at most this many (default: all non-silent frames).
    kind : {"nmf", "exemplar"}
        Learn atoms by NMF, or use the (non-silent) training frames themselves as atoms.
    beta : float or {"kl", "frobenius", "is"}
        Divergence for ``kind="nmf"`` (1 = generalised Kullback-Leibler, the usual choice for
        magnitude spectrograms).
    n_fft : int, optional
        Frame length in samples; default the power of two nearest 128 ms for ``kind="nmf"``
        (2048 at 16 kHz) and 64 ms for ``kind="exemplar"`` (512 at 8 kHz).
    hop : int, optional
        Samples between frames; default ``n_fft // 4``.
    max_iter, tol, init, seed : int, float, str, int
        Passed to :func:`matfit.factorize.nmf` (``kind="nmf"`` only). ``tol=0`` runs exactly
        ``max_iter`` iterations: more iterations on the training audio do not separate better.
        A random start separated 0.2-0.3 dB better than NNDSVDa on the 16 kHz speech set.
    verbose : int
        1 shows a progress bar on stderr while atoms are learned.
    name : str
        How to name the source in messages and the progress bar.

    Returns
    -------
    Dictionary
        ``W`` of shape (features, components) = (n_fft // 2 + 1, atoms), unit-sum atoms.

    Raises
    ------
    DataError
        The signal (or a segment) is shorter than one frame, silent, or not finite.
    InvalidParameterError
        An option is outside its allowed set, or ``n_components`` is more than the training
        frames allow.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.separate import learn_dictionary
    >>> t = np.arange(16000) / 8000
    >>> hum = np.sin(2 * np.pi * 100 * t) + 0.5 * np.sin(2 * np.pi * 300 * t)
    >>> d = learn_dictionary(hum, 8000, 4, seed=0)
    >>> d.W.shape, d.stft.n_fft, d.stft.hop
    ((513, 4), 1024, 256)
    """
    if kind not in ("nmf", "exemplar"):
        raise InvalidParameterError(
            f"learn_dictionary(kind={kind!r}): kind must be 'nmf' (learned atoms) or "
            f"'exemplar' (training frames as atoms)."
        )
    stft = STFT.make(sr, n_fft, hop, kind=kind)
    b = resolve_beta(beta)
    if n_components is not None and (isinstance(n_components, bool) or not isinstance(
            n_components, (int, np.integer)) or n_components < 1):
        raise InvalidParameterError(
            f"n_components must be a positive integer, got {n_components!r}")
    V = training_spectrogram(signal, stft, what=name)
    seconds = sum(p.size for p in _segments(signal)) / stft.sr
    info: dict[str, Any] = {"training_seconds": round(seconds, 4), "training_frames": V.shape[1],
                            "level_spread_db": round(level_spread_db(V), 3)}
    if kind == "exemplar":
        energy = V.sum(axis=0)
        V = V[:, energy > 1e-6 * energy.max()]
        if n_components is not None and n_components < V.shape[1]:
            V = V[:, np.linspace(0, V.shape[1] - 1, int(n_components)).round().astype(np.intp)]
        return Dictionary(V, stft, kind="exemplar", beta=b, info=info)

    from ..factorize import nmf

    k = 40 if n_components is None else int(n_components)
    if k > min(V.shape):
        raise InvalidParameterError(
            f"n_components={k} atoms cannot be learned from {V.shape[1]} frames of {name} "
            f"(at most min(bins, frames) = {min(V.shape)}): give more training audio or ask "
            f"for fewer atoms."
        )
    # float32 halves the time (1.3 s instead of 3.1 s for 26 s of 16 kHz audio, 40 atoms) and
    # gave the same separation to 0.01 dB; the atoms are stored as float64 anyway
    with one_blas_thread():
        res = nmf(V.astype(np.float32), k, beta=b, solver="mu", init=init, normalize_W="l1",
                  max_iter=max_iter, tol=tol, seed=seed, verbose=verbose)
    info.update(nit=int(res.nit), divergence=float(res.divergence))
    return Dictionary(res.W, stft, kind="nmf", beta=b, info=info)
