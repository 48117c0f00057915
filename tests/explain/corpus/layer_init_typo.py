"""A tiny dense layer for MNIST: forward() fails with a matmul error."""
import numpy as np

rng = np.random.default_rng(2)


class Dense:
    def __init__(self, n_in, n_out):
        self.W = rng.normal(scale=0.01, size=(n_in, n_out))  # ROOT
        self.b = np.zeros(n_out)

    def forward(self, x):
        return x @ self.W + self.b


images = rng.random((32, 28, 28))
layer = Dense(748, 128)
out = layer.forward(images.reshape(32, -1))
