"""WAV input/output and resampling for :mod:`matfit.separate`.

Implementation notes
--------------------
* Reading uses ``soundfile`` (the optional extra ``audio``) when it is installed and falls back
  to :func:`scipy.io.wavfile.read` for WAV files otherwise. Either way the result is float64 in
  [-1, 1]: integer PCM is divided by its full scale (2**15 for int16, 2**31 for int32, unsigned
  8-bit is centred on 128 first), float WAV is taken as is.
* Several channels are mixed down to mono by their mean (NMF separation here is
  single-channel), or one is picked with ``channel=``; :func:`read_wav_channels` keeps them all.
* Writing goes to a temporary name in the target folder and is renamed into place
  (:func:`matfit._io.atomic_write`), so an interrupted run never leaves half a file. Output is
  32-bit float WAV: separated sources can exceed full scale slightly, and float keeps them
  exact for the metrics.
* Resampling is polyphase (:func:`scipy.signal.resample_poly`) by the reduced ratio of the two
  rates, which is exact for the common 8/16/22.05/44.1/48 kHz family.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._io import atomic_write

__all__ = ["read_wav", "read_wav_channels", "resample", "write_wav"]


def _soundfile():
    try:
        import soundfile
    except (ImportError, OSError):  # OSError: the module exists but libsndfile is missing
        return None
    return soundfile


def _to_float(data: np.ndarray, path: Path) -> np.ndarray:
    """Integer PCM to float64 in [-1, 1]; float stays as is (as float64)."""
    kind, size = data.dtype.kind, data.dtype.itemsize
    if kind == "f":
        return data.astype(np.float64)
    if kind == "u" and size == 1:
        return (data.astype(np.float64) - 128.0) / 128.0
    if kind == "i":
        return data.astype(np.float64) / float(2 ** (8 * size - 1))
    raise DataError(f"{path}: WAV samples of dtype {data.dtype} are not supported "
                    f"(use 8-bit unsigned, 16/32-bit integer or float PCM)")


def read_wav_channels(path: str | os.PathLike, *,
                      what: str = "audio file") -> tuple[np.ndarray, int]:
    """Read a WAV (or any format soundfile reads) as float64, every channel kept.

    Returns
    -------
    signal : ndarray, shape (samples, channels)
        Float64 in [-1, 1] (integer PCM scaled by its full scale).
    sr : int
        Sample rate in Hz.

    Raises
    ------
    FileNotFoundError, DataError
        As :func:`read_wav`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    if path.is_dir():
        raise DataError(f"{what} {str(path)!r} is a folder, not an audio file")
    sf = _soundfile()
    try:
        if sf is not None:
            data, sr = sf.read(str(path), dtype="float64", always_2d=True)
        else:
            from scipy.io import wavfile

            with warnings.catch_warnings():
                # chunks it does not know (e.g. the PEAK chunk of float WAVs) are skipped: fine
                warnings.simplefilter("ignore", wavfile.WavFileWarning)
                sr, raw = wavfile.read(str(path))
            data = _to_float(np.asarray(raw), path)
    except (RuntimeError, ValueError, TypeError, EOFError, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"{what} {str(path)!r} is not a readable WAV file: {detail}") from None
    data = np.asarray(data, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.size == 0:
        raise DataError(f"{what} {str(path)!r} holds no audio samples (zero length)")
    if not np.isfinite(data).all():
        raise DataError(f"{what} {str(path)!r} holds NaN or infinite samples")
    return data, int(sr)


def read_wav(path: str | os.PathLike, *, what: str = "audio file",
             channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read a WAV (or any format soundfile reads) as mono float64.

    Parameters
    ----------
    path : str or path-like
    what : str
        How to name the file in messages ("mixture", "training file for 'noise'", ...).
    channel : int, optional
        Keep only this channel (0-based); default the mean of all channels.

    Returns
    -------
    signal : ndarray, shape (samples,)
        Float64 in [-1, 1] (integer PCM scaled by its full scale).
    sr : int
        Sample rate in Hz.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the file cannot be decoded, holds no samples, or holds NaN/inf.
    InvalidParameterError
        If ``channel`` is not one of the file's channels.
    """
    data, sr = read_wav_channels(path, what=what)
    return mono(data, channel, what=f"{what} {str(path)!r}"), sr


def mono(data: np.ndarray, channel: int | None, *, what: str) -> np.ndarray:
    """One channel of ``data`` (samples, channels), or their mean when ``channel`` is None."""
    n_channels = data.shape[1]
    if channel is None:
        out = data.mean(axis=1) if n_channels > 1 else data[:, 0]
    elif isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) \
            or not 0 <= channel < n_channels:
        raise InvalidParameterError(
            f"channel={channel!r}: {what} has {n_channels} channel(s), numbered 0 to "
            f"{n_channels - 1}")
    else:
        out = data[:, int(channel)]
    return np.ascontiguousarray(out)


def write_wav(path: str | os.PathLike, signal: np.ndarray, sr: int) -> Path:
    """Write a mono signal as 32-bit float WAV, atomically (temporary name, then rename).

    Parameters
    ----------
    path : str or path-like
    signal : ndarray, shape (samples,)
    sr : int
        Sample rate in Hz.

    Returns
    -------
    Path
        The final path.
    """
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim != 1:
        raise InvalidParameterError(f"write_wav needs a 1-D signal, got shape {x.shape}")
    sf = _soundfile()

    def write(fh):
        if sf is not None:
            sf.write(fh, x, int(sr), subtype="FLOAT", format="WAV")
        else:
            from scipy.io import wavfile

            wavfile.write(fh, int(sr), x)

    return atomic_write(path, write, suffix=".wav", what="WAV path")


def resample(signal: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Polyphase resampling from ``sr_from`` to ``sr_to`` Hz (the signal itself if equal).

    Parameters
    ----------
    signal : ndarray, shape (samples,)
    sr_from, sr_to : int
        Sample rates in Hz.

    Returns
    -------
    ndarray, shape (ceil(samples * sr_to / sr_from),)
    """
    sr_from, sr_to = int(sr_from), int(sr_to)
    if sr_from <= 0 or sr_to <= 0:
        raise InvalidParameterError(
            f"sample rates must be positive, got sr_from={sr_from}, sr_to={sr_to}")
    if sr_from == sr_to:
        return np.asarray(signal, dtype=np.float64)
    from scipy.signal import resample_poly

    g = math.gcd(sr_from, sr_to)
    return resample_poly(np.asarray(signal, dtype=np.float64), sr_to // g, sr_from // g)
