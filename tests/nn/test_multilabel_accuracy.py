import numpy as np

from matfit.nn._losses import BinaryCrossEntropy
from matfit.nn._train import _correct


def test_multilabel_accuracy_counts_fractions_per_batch():
    z = np.array([[1.0, -1.0], [1.0, 1.0]])   # predictions: [1, 0], [1, 1]
    y = np.array([[1.0, 1.0], [1.0, 0.0]])    # 1 + 1 of 4 outputs right -> 2 / 2 outputs = 1.0
    assert _correct(z, y, BinaryCrossEntropy()) == 1.0
    z3 = np.array([[1.0, -1.0], [1.0, 1.0], [1.0, 1.0]])
    y3 = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]])  # 1 + 2 + 0 = 3 outputs right
    assert _correct(z3, y3, BinaryCrossEntropy()) == 1.5
