"""Filling a feature table row by row."""
import numpy as np


def features(signal):
    return np.array([signal.mean(), signal.std(), signal.max()])


rng = np.random.default_rng(17)
signals = rng.normal(size=(8, 100))
table = np.zeros((len(signals), 4))  # ROOT
for i, s in enumerate(signals):
    table[i] = features(s)
