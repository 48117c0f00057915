"""Mistake: np.dot of a design matrix without its bias column and a 4-coefficient theta.

Usage: python dot_misaligned.py [N_SAMPLES]
"""

import sys

import numpy as np

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
rng = np.random.default_rng(1)
x = rng.normal(size=(n, 3))
xbp = x  # forgot np.column_stack([np.ones(n), x])
theta = np.zeros((4, 1))
prediction = np.dot(xbp, theta)
print(prediction.shape)
