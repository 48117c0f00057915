"""Logistic regression by gradient descent, with the labels kept as a column."""
import numpy as np

rng = np.random.default_rng(0)
X = rng.normal(size=(100, 3))
y = (rng.random(100) > 0.5).astype(float).reshape(-1, 1)
w = np.zeros(3)
for _it in range(100):
    p = 1 / (1 + np.exp(-X @ w))
    grad = X.T @ (p - y) / len(y)  # ROOT
    w -= 0.1 * grad
