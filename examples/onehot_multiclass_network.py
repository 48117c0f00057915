"""A multiclass network with one-hot outputs, and predicting a single example.

Question: my NumPy network for 3 classes with one-hot targets fails with shape errors (or
learns nothing); what shapes should the weights have, and how do I predict one new example?

Answer:
* With samples in rows, X is (samples, features) and the one-hot targets Y are
  (samples, classes). The output layer's weight is then (hidden, classes) -- one column per
  class -- not (hidden, 1), and the bias has one entry per class. A (classes, samples) Y (the
  "columns are samples" convention of many course notes) must be transposed once, at the
  boundary; matfit's ShapeError says so instead of broadcasting silently.
* Train on the logits with softmax cross-entropy: its gradient with respect to the logits is
  simply (softmax(z) - Y) / samples.
* One example is a 1-D array of length features; ``predict`` and ``predict_proba`` accept it
  and return one label and one row of probabilities (internally it is a batch of one,
  x.reshape(1, -1)).

Checked: the hand-written NumPy network (forward, backward, plain gradient descent) and
matfit.nn produce the same weights after training to 1e-10 (float64); test accuracy >= 0.95 on
three Gaussian blobs; the single-example predictions equal the rows of the batch predictions;
a transposed Y raises ShapeError naming the transpose.
Run: ``python examples/onehot_multiclass_network.py`` (about a second).
"""

from __future__ import annotations

import json

import numpy as np

from matfit import ShapeError
from matfit.nn import Dense, ReLU, Sequential, Softmax, fit, predict, predict_proba
from matfit.optim import sgd


def blobs(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 3.0], [3.0, -1.0], [-3.0, -1.0]])
    X = np.concatenate([c + rng.standard_normal((n_per_class, 2)) for c in centres])
    y = np.repeat(np.arange(3), n_per_class)
    return X, y


def by_hand(X, Y, W1, b1, W2, b2, lr, epochs):
    """Full-batch gradient descent for X (samples, features), one-hot Y (samples, classes)."""
    n = X.shape[0]
    for _ in range(epochs):
        H_pre = X @ W1 + b1                 # (samples, hidden)
        H = np.maximum(H_pre, 0)
        Z = H @ W2 + b2                     # (samples, classes): W2 is (hidden, classes)
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        dZ = (P - Y) / n                    # softmax + cross-entropy, fused
        dW2, db2 = H.T @ dZ, dZ.sum(axis=0)
        dH = (dZ @ W2.T) * (H_pre > 0)      # ReLU' at the pre-activation
        dW1, db1 = X.T @ dH, dH.sum(axis=0)
        W1, b1, W2, b2 = W1 - lr * dW1, b1 - lr * db1, W2 - lr * dW2, b2 - lr * db2
    return W1, b1, W2, b2


def main() -> dict:
    X, y = blobs(100, seed=0)
    Xte, yte = blobs(50, seed=1)
    Y = np.eye(3)[y]                        # one-hot, (samples, classes)

    model = Sequential([Dense(8), ReLU(), Dense(3), Softmax()], n_features=2,
                        dtype=np.float64, seed=0)
    start = {k: v.copy() for k, v in model.params.items()}
    fit(model, X, Y, loss="cross_entropy", optimizer=sgd(0.2), epochs=200,
        batch_size=X.shape[0], shuffle=False)
    W1, b1, W2, b2 = by_hand(X, Y, start["0.W"], start["0.b"], start["2.W"], start["2.b"],
                             lr=0.2, epochs=200)
    assert W2.shape == (8, 3) and b2.shape == (3,)          # one column per class
    for name, ours in (("0.W", W1), ("0.b", b1), ("2.W", W2), ("2.b", b2)):
        np.testing.assert_allclose(model.params[name], ours, rtol=1e-10, atol=1e-12)

    accuracy = float(np.mean(predict(model, Xte) == yte))
    assert accuracy >= 0.95, accuracy

    x_new = np.array([2.5, -0.5])           # one example: shape (features,)
    label, proba = predict(model, x_new), predict_proba(model, x_new)
    assert np.ndim(label) == 0 and proba.shape == (3,)
    assert label == predict(model, x_new.reshape(1, -1))[0]
    np.testing.assert_allclose(proba, predict_proba(model, x_new[None, :])[0])
    assert int(label) == 1                  # nearest the (3, -1) centre

    try:
        fit(model, X, Y.T, epochs=1)        # (classes, samples): the classic mix-up
    except ShapeError as err:
        message = str(err)
        assert "y looks transposed" in message
    else:
        raise AssertionError("a transposed Y must raise ShapeError")
    print(f"test accuracy {accuracy:.3f}; one example -> class {int(label)}, "
          f"probabilities {np.round(proba, 3).tolist()}")
    print(f"transposed targets: {message}")
    return {"test_accuracy": accuracy, "single_example_class": int(label),
            "single_example_proba": [round(float(p), 6) for p in proba],
            "matches_hand_written_numpy": True}


if __name__ == "__main__":
    print(json.dumps(main()))
