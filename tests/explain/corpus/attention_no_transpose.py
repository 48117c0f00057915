"""Batched attention scores: Q @ K fails for a batch of sequences."""
import numpy as np

rng = np.random.default_rng(9)
batch, seq, dim = 2, 5, 8
Q = rng.normal(size=(batch, seq, dim))
K = rng.normal(size=(batch, seq, dim))
causal = np.triu(np.full((seq, seq), -np.inf), 1)
scores = Q @ K / np.sqrt(dim)  # ROOT
scores = scores + causal
