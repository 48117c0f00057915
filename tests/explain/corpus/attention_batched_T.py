"""Scaled dot-product attention scores for a batch of sequences."""
import numpy as np

rng = np.random.default_rng(0)
batch, steps, dim = 4, 10, 16
q = rng.normal(size=(batch, steps, dim))
k = rng.normal(size=(batch, steps, dim))
scores = q @ k.T / np.sqrt(dim)  # ROOT
weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
