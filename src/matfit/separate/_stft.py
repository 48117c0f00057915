"""Short-time Fourier transform with perfect reconstruction, on :class:`scipy.signal.ShortTimeFFT`.

Implementation notes
--------------------
* Periodic Hann window of ``n_fft`` samples, hop ``n_fft // 4`` by default, one-sided spectrum:
  ``n_fft // 2 + 1`` frequency bins (513 for ``n_fft = 1024``).
* ``ShortTimeFFT`` pads the signal so that the first and last samples are covered by whole
  windows (frames from ``p_min`` to ``p_max(n)``), and its ``istft`` uses the canonical dual
  window, so ``istft(stft(x), n=len(x))`` returns ``x`` to rounding error for any hop up to
  ``n_fft // 2`` and the output is cut to exactly the input length.
* Default frame lengths (:func:`default_n_fft`): the power of two nearest 128 ms for learned
  (NMF) dictionaries, 2048 samples at 16 kHz; the power of two nearest 64 ms for exemplar
  dictionaries, 512 samples at 8 kHz. Long frames resolve the harmonics of speech and the
  lines of hum: in supervised speech/noise separation at 16 kHz, 2048-point frames gained about
  1.3 dB SI-SDR over 1024-point ones. Exemplar dictionaries go with semi-supervised separation,
  where the unknown source's atoms are learned from the mixture alone: shorter frames give
  twice the frames to learn them from and twice the exemplars, and on the real 8 kHz set
  512-point frames beat 1024-point ones by about 0.5 dB (see ``tests/separate``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .._errors import InvalidParameterError, ShapeError

__all__ = ["STFT", "default_n_fft"]


FRAME_SECONDS = {"nmf": 0.128, "exemplar": 0.064}


def default_n_fft(sr: int, kind: str = "nmf") -> int:
    """The power of two nearest 128 ms (``kind="nmf"``) or 64 ms (``"exemplar"``), at least 64.

    >>> default_n_fft(16000), default_n_fft(8000), default_n_fft(8000, "exemplar")
    (2048, 1024, 512)
    """
    if kind not in FRAME_SECONDS:
        raise InvalidParameterError(f"kind must be one of {sorted(FRAME_SECONDS)}, got {kind!r}")
    return max(64, 2 ** round(math.log2(FRAME_SECONDS[kind] * sr)))


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class STFT:
    """STFT settings and the transform pair.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    n_fft : int
        Window and FFT length in samples (>= 16).
    hop : int
        Samples between frames, 1 <= hop <= n_fft // 2.
    """

    sr: int
    n_fft: int
    hop: int

    def __post_init__(self) -> None:
        sr = _positive_int(self.sr, "sr")
        n_fft = _positive_int(self.n_fft, "n_fft")
        hop = _positive_int(self.hop, "hop")
        if n_fft < 16:
            raise InvalidParameterError(f"n_fft must be >= 16, got n_fft={n_fft}")
        if hop > n_fft // 2:
            raise InvalidParameterError(
                f"hop={hop} is more than n_fft // 2 = {n_fft // 2}: the Hann-window STFT is "
                f"not invertible then. Use hop <= {n_fft // 2} (the default is n_fft // 4 = "
                f"{n_fft // 4})."
            )
        object.__setattr__(self, "sr", sr)
        object.__setattr__(self, "n_fft", n_fft)
        object.__setattr__(self, "hop", hop)

    @classmethod
    def make(cls, sr: int, n_fft: int | None = None, hop: int | None = None, *,
             kind: str = "nmf") -> STFT:
        """Settings with defaults: ``n_fft = default_n_fft(sr, kind)``, ``hop = n_fft // 4``."""
        sr = _positive_int(sr, "sr")
        n_fft = default_n_fft(sr, kind) if n_fft is None else n_fft
        hop = max(1, _positive_int(n_fft, "n_fft") // 4) if hop is None else hop
        return cls(sr, n_fft, hop)

    @cached_property
    def _sft(self):
        from scipy.signal import ShortTimeFFT
        from scipy.signal.windows import hann

        return ShortTimeFFT(hann(self.n_fft, sym=False), hop=self.hop, fs=self.sr,
                            fft_mode="onesided")

    @property
    def n_bins(self) -> int:
        """Frequency bins of the one-sided spectrum: ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def frequencies(self) -> np.ndarray:
        """Bin centre frequencies in Hz, shape (features,)."""
        return np.asarray(self._sft.f)

    def n_frames(self, n_samples: int) -> int:
        """Frames the STFT of ``n_samples`` samples has."""
        n = max(int(n_samples), self.n_fft - self.n_fft // 2)
        return int(self._sft.p_max(n) - self._sft.p_min)

    def times(self, n_samples: int) -> np.ndarray:
        """Frame centre times in seconds, shape (samples,) in matfit's (features, samples) sense."""
        # as in n_frames: a signal shorter than half a window is padded to it by stft
        return np.asarray(self._sft.t(max(int(n_samples), self.n_fft - self.n_fft // 2)))

    def stft(self, signal: np.ndarray) -> np.ndarray:
        """Complex STFT, shape (features, samples) = (n_fft // 2 + 1, frames)."""
        x = np.asarray(signal, dtype=np.float64)
        shortest = self.n_fft - self.n_fft // 2  # ShortTimeFFT needs half a window of input
        if x.size < shortest:
            x = np.concatenate([x, np.zeros(shortest - x.size)])  # istft cuts it off again
        return self._sft.stft(x)

    def istft(self, Z: np.ndarray, n_samples: int) -> np.ndarray:
        """Inverse STFT, cut to exactly ``n_samples`` samples, shape (n_samples,).

        Raises
        ------
        ShapeError
            If ``Z`` is not (n_fft // 2 + 1, frames) with at least ``n_frames(n_samples)``
            frames (fewer cannot cover ``n_samples`` samples).
        """
        n = int(n_samples)
        shape = np.shape(Z)
        if len(shape) != 2 or shape[0] != self.n_bins or shape[1] < self.n_frames(n):
            raise ShapeError(
                f"Z has shape {shape} but the STFT of {n} samples with n_fft={self.n_fft}, "
                f"hop={self.hop} has shape ({self.n_bins}, {self.n_frames(n)}): pass the STFT "
                f"of the signal (or a mask of it) and that signal's length")
        y = self._sft.istft(Z, k1=max(n, self.n_fft - self.n_fft // 2))
        return np.asarray(y[:n], dtype=np.float64)

    def to_dict(self) -> dict:
        """JSON-serialisable settings."""
        return {"sr": self.sr, "n_fft": self.n_fft, "hop": self.hop, "window": "hann"}
