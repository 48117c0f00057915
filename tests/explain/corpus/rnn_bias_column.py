"""A hand-written RNN cell: the output assignment fails after a few steps."""
import numpy as np

rng = np.random.default_rng(4)
T, n_in, n_h, n_out = 6, 3, 4, 2
x = rng.normal(size=(T, n_in))
W = rng.normal(size=(n_h, n_h)) * 0.1
U = rng.normal(size=(n_h, n_in))
b = np.zeros((n_h, 1))
V = rng.normal(size=(n_out, n_h))
h = np.zeros(n_h)
outputs = np.zeros((T, n_out))
for t in range(T):
    pre = W @ h + U @ x[t] + b  # ROOT
    h = np.tanh(pre)
    y_t = V @ h
    outputs[t] = y_t
