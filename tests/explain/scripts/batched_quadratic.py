"""Mistake: a per-sample quadratic form x_i^T T_i x_i written as x @ T @ x with a stacked T."""

import numpy as np


def energies(x, T):
    """One energy per sample: x has shape (samples, d), T (samples, d, d)."""
    return x @ T @ x


rng = np.random.default_rng(2)
x = rng.normal(size=(6, 3))
T = rng.normal(size=(6, 3, 3))
print(energies(x, T))
