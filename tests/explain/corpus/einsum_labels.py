"""Contracting two tensors with einsum: the second operand is stored transposed."""
import numpy as np

rng = np.random.default_rng(13)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(5, 4))  # ROOT
C = np.einsum("ij,jk->ik", A, B)
