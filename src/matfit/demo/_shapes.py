"""Demo part: the W (513, 60) / H (131, 129) mismatch, as NumPy and as matfit report it."""

from __future__ import annotations

import numpy as np

from .._errors import ShapeError
from ..shapes import check


def run(*, plot_dir=None, verbose=0) -> dict:
    W, H = np.ones((513, 60)), np.ones((131, 129))
    try:
        W @ H
    except ValueError as err:
        numpy_msg = str(err)
    try:
        check(W=(W, "features components"), H=(H, "components samples"))
    except ShapeError as err:
        ours = str(err)
    return {
        "headline": "ShapeError names 'components': W has 60 columns but H has 131 rows",
        "lines": [f"NumPy : {numpy_msg}", f"matfit: {ours}"],
    }
