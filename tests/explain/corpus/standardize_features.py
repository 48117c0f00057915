"""Standardising each feature (column) of a design matrix before a regression."""
import numpy as np

rng = np.random.default_rng(3)
n_samples, n_features = 50, 4
X = rng.normal(size=(n_samples, n_features)) * [1.0, 10.0, 0.1, 5.0]
mu = X.mean(axis=1)  # ROOT
sigma = X.std(axis=0)
Z = (X - mu) / sigma
w = np.linalg.lstsq(Z, rng.normal(size=n_samples), rcond=None)[0]
