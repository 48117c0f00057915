"""Weighted score of four features: the weights are a plain Python list."""
import numpy as np

rng = np.random.default_rng(3)
features = rng.random((50, 4))
weights = [0.2, 0.3, 0.5]  # ROOT
scores = features @ weights
