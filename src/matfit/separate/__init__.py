"""Single-channel source separation with supervised and semi-supervised NMF.

Learn a spectral dictionary per source from its training audio (:func:`learn_dictionary`), put
them side by side in a :class:`Separator`, fit only the activations on a mixture's magnitude
spectrogram, and rebuild each source with a Wiener-like mask. A source with no training data
(``unknown={"speech": 20}``) gets atoms learned from the mixture itself, beside the fixed ones.

.. code-block:: python

    from matfit.separate import Separator, learn_dictionary

    d_s = learn_dictionary(speech, sr, 40)      # W (1025, 40) at 16 kHz, n_fft 2048
    d_n = learn_dictionary(noise, sr, 40)
    est = Separator({"speech": d_s, "noise": d_n}).separate(mixture, sr)   # name -> signal

Audio I/O (:func:`read_wav`, :func:`write_wav`, :func:`resample`), the STFT (:class:`STFT`) and
the metrics (:mod:`matfit.separate.metrics`) are here too; ``matfit separate`` is the command.
"""

from __future__ import annotations

from ._audio import read_wav, read_wav_channels, resample, write_wav
from ._plot import plot_separation
from ._stft import STFT, default_n_fft
from .dictionary import Dictionary, learn_dictionary
from .metrics import bss_eval, si_sdr, snr, stoi
from .separator import Separation, Separator

__all__ = [
    "STFT",
    "Dictionary",
    "Separation",
    "Separator",
    "bss_eval",
    "default_n_fft",
    "learn_dictionary",
    "plot_separation",
    "read_wav",
    "read_wav_channels",
    "resample",
    "si_sdr",
    "snr",
    "stoi",
    "write_wav",
]
