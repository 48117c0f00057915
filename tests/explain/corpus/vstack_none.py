"""Stacking normalised blocks: a helper that forgot to return."""
import numpy as np


def normalise(block):
    block = block / np.linalg.norm(block, axis=1, keepdims=True)  # ROOT


rng = np.random.default_rng(14)
header = rng.normal(size=(1, 4))
block = rng.normal(size=(3, 4))
table = np.vstack([header, normalise(block)])
