"""Optional figures for the demo parts: matplotlib when installed, a note in the output when not."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def new_axes(lines: list[str], figsize: tuple[float, float] = (5, 3.5)) -> Any | None:
    """``(fig, ax)`` on the non-interactive Agg backend, or None (noted in ``lines``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        lines.append("matplotlib is not installed: no plot")
        return None
    return plt.subplots(figsize=figsize)


def save(fig: Any, plot_dir: str | Path, name: str, lines: list[str]) -> Path:
    """Write ``fig`` to ``plot_dir/name``, close it, and note the path in ``lines``."""
    import matplotlib.pyplot as plt

    from .._io import atomic_write

    path = Path(plot_dir) / name
    fig.tight_layout()
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, dpi=120, format=path.suffix[1:] or "png"),
                     what="plot path")
    finally:
        plt.close(fig)
    lines.append(f"plot: {path}")
    return path
