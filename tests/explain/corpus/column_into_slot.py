"""Storing a column vector into one column of a result matrix."""
import numpy as np

rng = np.random.default_rng(18)
A = rng.normal(size=(6, 6))
result = np.zeros((6, 3))
for j in range(3):
    v = A @ rng.normal(size=(6, 1))  # ROOT
    result[:, j] = v
