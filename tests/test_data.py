import numpy as np
from sklearn.datasets import load_digits as sklearn_digits

from matfit.data import load_digits


def test_embedded_digits_equal_scikit_learns():
    X, y = load_digits()
    X_ref, y_ref = sklearn_digits(return_X_y=True)
    assert X.dtype == np.float64 and X.shape == (1797, 64)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
