"""Reshaping a covariance matrix per sample."""
import numpy as np

rng = np.random.default_rng(21)
samples = rng.normal(size=(5, 3))
cov = np.cov(samples.T)
per_sample = cov.reshape(len(samples), -1)  # ROOT
