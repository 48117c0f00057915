"""Selecting positive labels after dropping rows with missing values."""
import numpy as np

rng = np.random.default_rng(10)
data = rng.normal(size=(100, 3))
data[::5, 0] = np.nan
labels = rng.integers(0, 2, size=100)
keep = ~np.isnan(data).any(axis=1)
X = data[keep]
positive = labels == 1  # ROOT
X_pos = X[positive]
