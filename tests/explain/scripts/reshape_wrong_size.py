"""Mistake: reshaping 24 samples into 5 batches of 4."""

import numpy as np

data = np.arange(24.0)
batches = data.reshape(5, 4)
print(batches.mean(axis=1))
