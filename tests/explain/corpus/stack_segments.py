"""Stacking audio segments into a batch: the last segment is shorter."""
import numpy as np


def segment(signal, start, length=256):
    return signal[start:start + length]


rng = np.random.default_rng(20)
signal = rng.normal(size=1000)
starts = range(0, len(signal), 256)
segments = [segment(signal, s) for s in starts]  # ROOT
batch = np.stack(segments)
