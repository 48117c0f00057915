"""Adding a bias column to a design matrix with np.hstack."""
import numpy as np

rng = np.random.default_rng(6)
X = rng.normal(size=(30, 3))
bias = np.ones(30)  # ROOT
Xb = np.hstack([X, bias])
