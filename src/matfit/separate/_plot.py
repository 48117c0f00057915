"""One PNG of a separation: the mixture's and each source's spectrogram in dB, and the activations.

matplotlib is optional (the extra ``plot``); the figure is drawn with ``matplotlib.figure.Figure``
directly (no pyplot, so no GUI backend is touched) and written to a temporary name, then renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._errors import MatfitError
from .._io import atomic_write
from .separator import Separation

__all__ = ["plot_separation"]


def _db(S: np.ndarray, ref: float | None = None, floor_db: float = 80.0) -> np.ndarray:
    """20 log10(S / ref) (ref: S's maximum by default), floored ``floor_db`` below 0 dB."""
    ref = max(float(S.max()) if ref is None else ref, np.finfo(np.float64).tiny)
    return 20.0 * np.log10(np.maximum(S, ref * 10 ** (-floor_db / 20)) / ref)


def plot_separation(separation: Separation, path: str | os.PathLike, *,
                    title: str = "") -> Path:
    """Draw the mixture and estimated-source spectrograms (dB) and the activations; save a PNG.

    Parameters
    ----------
    separation : Separation
        From :meth:`Separator.decompose`.
    path : str or path-like
        Where to write the PNG (folders are created).
    title : str
        Figure title.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    MatfitError
        If matplotlib is not installed (``pip install 'matfit[plot]'``).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MatfitError(
            "plotting needs matplotlib: pip install 'matfit[plot]' (or leave out --plot)"
        ) from None
    sep = separation
    Z = sep.mixture_stft
    n_samples = next(iter(sep.signals.values())).size
    t = sep.stft.times(n_samples)
    f = sep.stft.frequencies / 1000.0
    extent = (float(t[0]), float(t[-1]), float(f[0]), float(f[-1]))
    panels = [("mixture", np.abs(Z))] + [(name, np.abs(M * Z)) for name, M in sep.masks.items()]
    rows = len(panels) + 1
    fig = Figure(figsize=(10, 2.2 * rows), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True)
    ref = float(np.abs(Z).max())
    for ax, (name, S) in zip(axes[:-1], panels, strict=True):
        img = ax.imshow(_db(S, ref, 80.0), origin="lower", aspect="auto", extent=extent,
                        cmap="magma", vmin=-80, vmax=0)
        ax.set_ylabel("kHz")
        ax.set_title(f"{name} (dB)", loc="left", fontsize=10)
    fig.colorbar(img, ax=axes[:-1], shrink=0.8, label="dB re mixture max")
    ax = axes[-1]
    H = sep.H
    img = ax.imshow(_db(H, None, 60.0), origin="lower", aspect="auto", cmap="viridis",
                    extent=(float(t[0]), float(t[-1]), -0.5, H.shape[0] - 0.5), vmin=-60, vmax=0)
    for name, sl in sep.atoms.items():
        ax.axhline(sl.start - 0.5, color="w", lw=0.8)
        ax.text(float(t[0]), (sl.start + sl.stop) / 2 - 0.5, f" {name}", color="w",
                va="center", fontsize=8)
    ax.set_ylabel("atom")
    ax.set_xlabel("time (s)")
    ax.set_title("activations H (dB re max)", loc="left", fontsize=10)
    fig.colorbar(img, ax=ax, shrink=0.8)
    if title:
        fig.suptitle(title)
    return atomic_write(path, lambda fh: fig.savefig(fh, dpi=100, format="png"),
                        suffix=".png", what="plot path")
