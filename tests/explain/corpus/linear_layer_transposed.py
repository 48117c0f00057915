"""A linear layer applied as x @ W.T, PyTorch style, with W set up by hand."""
import numpy as np

rng = np.random.default_rng(2)
x = rng.normal(size=(10, 3))
W = rng.normal(size=(4, 5))  # ROOT
b = np.zeros(4)
y = x @ W.T + b
