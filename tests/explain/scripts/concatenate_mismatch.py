"""Mistake: joining two feature blocks of the same samples along the default axis 0."""

import numpy as np

rng = np.random.default_rng(3)
numeric = rng.normal(size=(100, 5))
one_hot = np.eye(3)[rng.integers(0, 3, size=100)]
features = np.concatenate([numeric, one_hot])  # should be axis=1
print(features.shape)
