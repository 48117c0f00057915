"""Small data sets embedded in the package, so that ``matfit demo`` needs no download.

``digits.npz``: the 1,797 8x8 handwritten digits (pixel values 0-16, 10 classes) of the UCI
"Optical Recognition of Handwritten Digits" data set (E. Alpaydin and C. Kaynak, 1998; CC BY 4.0),
the same array scikit-learn ships as ``sklearn.datasets.load_digits``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["load_digits"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)``: X (samples, features) = (1797, 64) float64 in [0, 16], y (1797,) int."""
    with np.load(Path(__file__).with_name("digits.npz"), allow_pickle=False) as npz:
        return npz["images"].astype(np.float64), npz["target"].astype(np.intp)
