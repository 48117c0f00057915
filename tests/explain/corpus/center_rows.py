"""Centering each sample (row) of a data matrix."""
import numpy as np

rng = np.random.default_rng(7)
X = rng.normal(size=(20, 5))
X_centered = X - X.mean(axis=1)  # ROOT
cov = X_centered.T @ X_centered
