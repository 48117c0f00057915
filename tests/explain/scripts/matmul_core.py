"""Mistake: W @ H where H was built for another number of components (matmul core dimension)."""

import numpy as np

rng = np.random.default_rng(0)
V = rng.random((513, 129))  # magnitude spectrogram: (features, samples)
W = rng.random((513, 60))  # 60 spectral templates
H = rng.random((131, 129))  # activations with the wrong number of components
V_hat = W @ H
print("reconstruction error", np.linalg.norm(V - V_hat))
