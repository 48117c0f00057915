"""Demo part: what naive formulas do at extreme logits, and what matfit.numerics does."""

from __future__ import annotations

import numpy as np

from ..numerics import binary_cross_entropy_with_logits, log_softmax, sigmoid


def run(*, plot_dir=None, verbose=0) -> dict:
    z = np.array([-1e4, -30.0, 0.0, 30.0, 1e4])
    with np.errstate(all="ignore"):
        naive_sig = 1 / (1 + np.exp(-z))
        naive_bce = -np.log(1 / (1 + np.exp(-z)))  # loss for target 1
        naive_lsm = np.log(np.exp(z) / np.exp(z).sum())
    ours_bce = binary_cross_entropy_with_logits(z, np.ones_like(z), reduction="none")
    ours_lsm = log_softmax(z)
    n_bad = int((~np.isfinite(naive_bce)).sum() + (~np.isfinite(naive_lsm)).sum())
    assert np.all(np.isfinite(ours_bce)) and np.all(np.isfinite(ours_lsm))
    return {
        "headline": f"naive formulas: {n_bad} inf/NaN at |z| = 1e4; matfit: 0",
        "lines": [
            f"z                  = {z.tolist()}",
            f"naive sigmoid      = {naive_sig.tolist()}",
            f"matfit sigmoid     = {sigmoid(z).tolist()}",
            f"naive -log sigmoid = {naive_bce.tolist()}",
            f"matfit BCE (y=1)   = {ours_bce.tolist()}",
            f"naive log_softmax  = {naive_lsm.tolist()}",
            f"matfit log_softmax = {ours_lsm.tolist()}",
        ],
        "naive_nonfinite": n_bad,
    }
