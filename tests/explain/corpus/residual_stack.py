"""Collecting targets and residuals for a plot: np.stack fails."""
import numpy as np

rng = np.random.default_rng(19)
x = rng.normal(size=(40, 2))
y = x[:, 0] * 2.0
y_hat = x @ np.array([[2.0], [0.0]])
r = y - y_hat  # ROOT
both = np.stack([y, r])
