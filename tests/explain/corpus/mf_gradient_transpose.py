"""Matrix factorisation of a ratings matrix, R ~ U @ V, by plain gradient descent."""
import numpy as np

rng = np.random.default_rng(0)
n_users, n_items, k = 50, 20, 5
R = rng.random((n_users, n_items))
U = rng.random((n_users, k))
V = rng.random((k, n_items))
lr = 0.01
for _epoch in range(10):
    E = R - U @ V
    U += lr * E @ V.T
    V += lr * E.T @ U  # ROOT
