"""Signal-processing pieces that SciPy does not provide.

``time_varying_lowpass`` is a first-order low-pass filter whose coefficient changes at every
sample (``scipy.signal.lfilter`` needs constant coefficients).
"""

from __future__ import annotations

from ._filters import time_varying_lowpass

__all__ = ["time_varying_lowpass"]
