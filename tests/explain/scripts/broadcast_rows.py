"""Mistake: adding a (1, 4) row to a (3, 3) matrix (broadcast along the last axis fails)."""

import numpy as np

a = np.eye(3)
b = np.arange(4.0).reshape(1, 4)
c = a + b
print(c)
