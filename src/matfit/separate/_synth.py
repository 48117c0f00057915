"""Generated "speech-like" and noise signals for the demo and the tests (no recordings shipped).

The speech stand-in is a train of voiced syllables: a glottal-like harmonic series on a gliding
pitch (90-220 Hz), shaped by the formants of a vowel drawn per syllable, with a raised-cosine
envelope and pauses between syllables. The noise is mains-like hum (a fundamental and odd
harmonics) plus pink noise whose level wanders slowly. Both are deterministic given the seed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["noise_like", "speech_like"]

# (F1, F2, F3) in Hz of a few vowels (Peterson & Barney 1952, adult male averages)
_VOWELS = np.array([
    (730, 1090, 2440),   # a
    (270, 2290, 3010),   # i
    (300, 870, 2240),    # u
    (530, 1840, 2480),   # e
    (570, 840, 2410),    # o
], dtype=np.float64)
_BANDWIDTHS = np.array([90.0, 110.0, 170.0])


def _formant_gain(freqs: np.ndarray, formants: np.ndarray) -> np.ndarray:
    """Magnitude of a cascade of three resonances at ``freqs`` (any shape)."""
    g = np.ones_like(freqs)
    for f, b in zip(formants, _BANDWIDTHS, strict=True):
        g *= 1.0 / np.sqrt(1.0 + ((freqs - f) / (b / 2)) ** 2)
    return g


def speech_like(seconds: float, sr: int = 8000, *, seed: int = 0) -> np.ndarray:
    """A voiced, syllabic, formant-shaped harmonic signal, peak 0.5, shape (samples,)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    out = np.zeros(n)
    pos = int(0.05 * sr)
    while pos < n:
        length = int(rng.uniform(0.12, 0.3) * sr)
        seg = min(length, n - pos)
        if seg < 16:
            break
        t = np.arange(seg) / sr
        f0_start, f0_end = rng.uniform(90, 220), rng.uniform(90, 220)
        f0 = f0_start + (f0_end - f0_start) * t / max(t[-1], 1e-9)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        formants = _VOWELS[rng.integers(len(_VOWELS))] * rng.uniform(0.9, 1.1)
        n_harm = int((sr / 2) // f0.max())
        h = np.arange(1, n_harm + 1)[:, None]
        amp = _formant_gain(h * f0[None, :], formants) / h  # source falls ~6 dB/octave
        voiced = np.sum(amp * np.sin(h * phase[None, :]), axis=0)
        env = np.sin(np.pi * np.arange(seg) / seg) ** 0.7
        out[pos:pos + seg] += voiced * env * rng.uniform(0.5, 1.0)
        pos += seg + int(rng.uniform(0.02, 0.15) * sr)
    peak = np.abs(out).max()
    return out * (0.5 / peak) if peak > 0 else out


def noise_like(seconds: float, sr: int = 8000, *, seed: int = 1, hum: float = 60.0) -> np.ndarray:
    """Hum (``hum`` Hz and its odd harmonics) plus slowly wandering pink noise, shape (samples,)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    t = np.arange(n) / sr
    phase0 = rng.uniform(0, 2 * np.pi, 3)
    tones = sum(a * np.sin(2 * np.pi * k * hum * t + p)
                for a, k, p in zip((1.0, 0.5, 0.3), (1, 3, 5), phase0, strict=True))
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.fft.rfftfreq(n, 1 / sr)
    spec[1:] /= np.sqrt(f[1:])  # 1/f power: pink
    spec[0] = 0
    pink = np.fft.irfft(spec, n)
    pink /= pink.std()
    level = 1.0 + 0.5 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi))
    x = 0.3 * tones + 0.5 * pink * level
    return x * (0.5 / np.abs(x).max())
