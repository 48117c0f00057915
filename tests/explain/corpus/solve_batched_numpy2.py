"""Solving one 3x3 system per sample (worked with NumPy 1.x)."""
import numpy as np

rng = np.random.default_rng(12)
A = rng.normal(size=(10, 3, 3)) + 3 * np.eye(3)
b = rng.normal(size=(10, 3))
x = np.linalg.solve(A, b)  # ROOT
