"""Chaining three matrices with np.matmul."""
import numpy as np

rng = np.random.default_rng(15)
A = rng.normal(size=(2, 3))
B = rng.normal(size=(3, 4))
C = rng.normal(size=(4, 5))
D = np.matmul(A, B, C)  # ROOT
