"""A two-layer network with a hand-written backward pass."""
import numpy as np


class MLP:
    def __init__(self, n_in, n_hidden, n_out, seed=0):
        rng = np.random.default_rng(seed)
        self.W1 = rng.normal(size=(n_in, n_hidden)) * 0.1
        self.b1 = np.zeros(n_hidden)
        self.W2 = rng.normal(size=(n_hidden, n_out)) * 0.1
        self.b2 = np.zeros(n_out)

    def forward(self, X):
        self.h = np.maximum(0, X @ self.W1 + self.b1)
        return self.h @ self.W2 + self.b2

    def backward(self, X, grad_out, lr=0.1):
        gW2 = self.h.T @ grad_out
        gh = grad_out @ self.W2 * (self.h > 0)  # ROOT
        gW1 = X.T @ gh
        self.W2 -= lr * gW2
        self.W1 -= lr * gW1


net = MLP(4, 8, 3)
X = np.random.default_rng(1).random((32, 4))
Y = np.random.default_rng(2).random((32, 3))
out = net.forward(X)
net.backward(X, out - Y)
