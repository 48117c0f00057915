"""Mini-batch predictions: predict() fails inside the loop over batches."""
import numpy as np

rng = np.random.default_rng(5)


def predict(X, w):
    return X @ w


data = rng.normal(size=(64, 5))
batches = np.split(data, 4)
n_features = 4
w = np.zeros(n_features)  # ROOT
preds = []
for k in range(len(batches)):
    preds.append(predict(batches[k], w))
