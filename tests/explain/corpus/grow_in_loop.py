"""Appending states in a loop: the state array gains an axis from the second iteration."""
import numpy as np

rng = np.random.default_rng(22)
A = np.eye(3) * 0.9
state = np.zeros(3)
trajectory = np.zeros((4, 3))
for step in range(4):
    noise = rng.normal(size=(3, 1))
    state = A @ state + noise  # ROOT
    trajectory[step] = state
