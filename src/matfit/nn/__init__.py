"""Small neural networks in NumPy with explicit forward/backward passes, checked against PyTorch.

>>> import numpy as np
>>> from matfit.nn import Dense, ReLU, Sequential, Softmax, fit, predict
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((300, 2)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
>>> model = Sequential([Dense(16), ReLU(), Dense(2), Softmax()], seed=0)
>>> history = fit(model, X, y, loss="cross_entropy", lr=0.01, epochs=60, batch_size=32, seed=0)
>>> history["accuracy"][-1] > 0.9
True
>>> bool(predict(model, X[0]) == y[0])             # one example: shape (features,)
True

Layers: ``Dense`` (He/Xavier/LeCun/torch init), ``ReLU``, ``LeakyReLU``, ``Tanh``,
``Sigmoid``, ``Softmax`` (an output paired with its loss), ``BatchNorm``, ``Dropout``;
``Sequential``; losses from logits ``CrossEntropy``, ``BinaryCrossEntropy``,
``MeanSquaredError``; ``fit``/``evaluate``/``predict``/``predict_proba``; ``gradcheck``;
scikit-learn estimators ``MLPClassifier`` and ``MLPRegressor``.
"""

from __future__ import annotations

from ._batchnorm import BatchNorm
from ._gradcheck import GradcheckReport, gradcheck
from ._layers import Dense, Dropout, Layer, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from ._losses import BinaryCrossEntropy, CrossEntropy, Loss, MeanSquaredError, get_loss
from ._model import Sequential
from ._train import History, evaluate, fit, predict, predict_proba
from .estimator import MLPClassifier, MLPRegressor

__all__ = [
    "BatchNorm",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Dense",
    "Dropout",
    "GradcheckReport",
    "History",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MLPClassifier",
    "MLPRegressor",
    "MeanSquaredError",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "evaluate",
    "fit",
    "get_loss",
    "gradcheck",
    "predict",
    "predict_proba",
]
