"""Sigmoid overflow and log(0) in a logistic/neural output, and the stable forms that avoid them.

Question: ``1 / (1 + np.exp(-z))`` warns "overflow encountered in exp" and my cross-entropy
loss becomes inf or NaN after a few epochs; clipping z or adding 1e-15 inside the log changes
the answer. What is the right way?

Answer:
* exp(-z) overflows for z < -709 (float64) or z < -88 (float32). Evaluate the sigmoid with an
  exponential of a non-positive number only: 1 / (1 + exp(-z)) for z >= 0 and
  exp(z) / (1 + exp(z)) for z < 0 (``matfit.numerics.sigmoid``, ``scipy.special.expit``).
* Never take log of a probability that may have rounded to 0 or 1. From the logit z the
  binary cross-entropy is max(z, 0) - z y + log1p(exp(-|z|)) -- exact for every finite z,
  and its gradient with respect to z is just sigmoid(z) - y (``BCEWithLogitsLoss`` in
  PyTorch, ``loss="binary_cross_entropy"`` in matfit.nn, which trains on the logits).
* Clipping probabilities to [eps, 1 - eps] bounds the damage but caps the loss at -log(eps)
  and zeroes the gradient of confidently wrong examples.

Checked: the naive forms produce warnings and inf/NaN at |z| = 1e3..1e4; the stable forms
equal scipy.special.expit / log_expit to 1e-15 and stay finite; a logistic unit trained with
huge inputs (features of order 1e3, so logits reach ~1e6) by matfit.nn keeps a finite loss and
classifies perfectly, while the naive probability-space loss becomes inf.
Run: ``python examples/sigmoid_overflow.py`` (under a second).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
from scipy import special

from matfit.nn import BinaryCrossEntropy, Dense, Sequential, Sigmoid, fit, predict
from matfit.numerics import binary_cross_entropy_with_logits, log_sigmoid, sigmoid
from matfit.optim import sgd


def naive_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def naive_bce(z, y):
    p = naive_sigmoid(z)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def main() -> dict:
    z = np.array([-1e4, -1e3, -40.0, 0.0, 40.0, 1e3, 1e4])
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        naive_p = naive_sigmoid(z)
        naive_loss = naive_bce(z, y)
    n_warnings = len(caught)
    assert n_warnings >= 2 and any("overflow" in str(w.message) for w in caught)
    assert not np.all(np.isfinite(naive_loss))

    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # the stable forms never warn
        p = sigmoid(z)
        loss = binary_cross_entropy_with_logits(z, y, reduction="none")
        logp = log_sigmoid(z)
    np.testing.assert_allclose(p, special.expit(z), rtol=1e-15)
    np.testing.assert_allclose(logp, special.log_expit(z), rtol=1e-15)
    exact = -(y * special.log_expit(z) + (1 - y) * special.log_expit(-z))
    np.testing.assert_allclose(loss, exact, rtol=1e-15)
    assert np.all(np.isfinite(loss)) and loss[0] == 1e4    # confidently wrong by 1e4: loss 1e4
    np.testing.assert_allclose(naive_p, p, rtol=1e-12)      # the values agree; the warnings do not

    # a logistic unit on unscaled features: the logits reach ~1e6 during training
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)) * 1e3
    t = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    model = Sequential([Dense(1, init="zeros"), Sigmoid()], n_features=3, dtype=np.float64,
                       seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = fit(model, X, t, loss="binary_cross_entropy", optimizer=sgd(1.0),
                      epochs=20, batch_size=20, seed=0)
    logits = X @ model.params["0.W"] + model.params["0.b"]
    max_logit = float(np.abs(logits).max())
    assert max_logit > 1e3
    assert all(np.isfinite(history["loss"]))
    accuracy = float(np.mean(predict(model, X) == t))
    assert accuracy >= 0.99
    stable = BinaryCrossEntropy().value(logits, t[:, None])
    with np.errstate(all="ignore"):
        naive = float(np.mean(naive_bce(logits[:, 0], t)))
    assert np.isfinite(stable) and not np.isfinite(naive)
    print(f"naive sigmoid/BCE at |z| up to 1e4: {n_warnings} warnings, loss "
          f"{naive_loss.tolist()}")
    print(f"stable BCE from logits: {loss.tolist()}")
    print(f"trained on features of scale 1e3: |logit| up to {max_logit:.3g}, final loss "
          f"{history['loss'][-1]:.3g} (naive formula: {naive}), accuracy {accuracy:.3f}")
    return {"naive_warnings": n_warnings, "stable_loss_at_1e4": float(loss[0]),
            "max_abs_logit": max_logit, "final_loss": float(history["loss"][-1]),
            "naive_loss_after_training": str(naive), "accuracy": accuracy}


if __name__ == "__main__":
    print(json.dumps(main()))
