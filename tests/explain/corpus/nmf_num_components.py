"""NMF by multiplicative updates: why does W @ H fail on the first iteration?"""
import numpy as np

rng = np.random.default_rng(0)
S = np.abs(rng.standard_normal((513, 129)))  # magnitude spectrogram
num_components = 131
W = np.abs(rng.standard_normal((S.shape[0], 60)))  # 60 templates learned earlier
H = rng.random((num_components, S.shape[1]))  # ROOT
for _ in range(10):
    V = W @ H
    H *= (W.T @ (S / V)) / W.sum(axis=0)[:, None]
