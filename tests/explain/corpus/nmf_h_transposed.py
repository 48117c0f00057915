"""Multiplicative-update NMF of a magnitude spectrogram, V ~ W @ H."""
import numpy as np

rng = np.random.default_rng(0)
V = np.abs(rng.normal(size=(513, 200)))
k = 20
W = rng.random((513, k))
H = rng.random((200, k))  # ROOT
for _it in range(50):
    H *= (W.T @ V) / (W.T @ W @ H + 1e-9)
    W *= (V @ H.T) / (W @ H @ H.T + 1e-9)
