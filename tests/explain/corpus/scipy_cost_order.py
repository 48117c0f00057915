"""Logistic regression with scipy.optimize.minimize: the cost function fails."""
import numpy as np
from scipy.optimize import minimize

rng = np.random.default_rng(16)
X = rng.normal(size=(50, 3))
y = (X[:, 0] > 0).astype(float)


def cost(X, y, theta):  # ROOT
    p = 1 / (1 + np.exp(-(X @ theta)))
    return -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))


res = minimize(cost, np.zeros(3), args=(X, y))
