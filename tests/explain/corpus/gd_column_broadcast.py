"""Linear regression by gradient descent: "non-broadcastable output operand" on the update."""
import numpy as np

rng = np.random.default_rng(1)
X = rng.normal(size=(100, 3))
y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=100)
w = np.zeros((3, 1))
lr = 0.1
for _ in range(20):
    err = X @ w - y  # ROOT
    grad = X.T @ err / len(y)
    w -= lr * grad
