"""Mistake: `*` on np.matrix is the matrix product, not the elementwise one."""

import numpy as np

A = np.matrix([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
B = np.matrix([[0.5, 0.5, 0.5], [2.0, 2.0, 2.0]])
scaled = A * B  # meant elementwise scaling
print(scaled)
