"""Masking an RGB image with a brightness mask."""
import numpy as np

rng = np.random.default_rng(8)
img = rng.random((48, 64, 3))
mask = img.mean(axis=2) > 0.5
masked = img * mask  # ROOT
