"""Back-propagation with momentum on XOR, written out by hand and checked against matfit.nn.

Question: my 2-2-1 (or 2-4-1) sigmoid network for XOR does not learn, or learns only with some
seeds; is my derivative wrong, and why does momentum "get stuck"?

Answer:
* The usual bug is applying the derivative to the wrong quantity. With h = sigmoid(a),
  dh/da = h (1 - h): it takes the *output* h. Writing sigmoid'(h) = sigmoid(h)(1 - sigmoid(h))
  applies the sigmoid twice; gradients are then wrong by a factor that depends on h, and
  finite differences disagree (checked below with matfit.nn.gradcheck).
* With a sigmoid output trained by cross-entropy the output delta is simply (p - y): no
  sigmoid' at the output at all. Using squared error with sigmoid' there gives tiny gradients
  where the output saturates, one of the ways training "gets stuck".
* Momentum as PyTorch defines it: b <- mu b + g (b starts as the first gradient, not 0), then
  w <- w - lr b. Starting the buffer at zero and writing b <- mu b + (1 - mu) g quietly divides
  the step size by 1/(1 - mu) = 10 -- training looks stuck unless lr is raised to match.

Checked: the hand-written loop and ``fit(..., optimizer=sgd(lr, momentum=0.9))`` give the same
weights to 1e-12 (float64); every seed solves XOR; gradcheck passes for the correct derivative
and fails for the wrong one.
Run: ``python examples/xor_momentum.py`` (under a second).
"""

from __future__ import annotations

import json

import numpy as np

from matfit.nn import Dense, Sequential, Sigmoid, Tanh, fit, gradcheck, predict
from matfit.numerics import sigmoid
from matfit.optim import sgd

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
y = np.array([0, 1, 1, 0], dtype=float)
LR, MU, EPOCHS = 0.5, 0.9, 300


def by_hand(W1, b1, W2, b2):
    """Full-batch backprop with PyTorch-style momentum for tanh hidden, sigmoid output."""
    params = [W1, b1, W2, b2]
    buffers = [None] * 4
    n = X.shape[0]
    for _ in range(EPOCHS):
        W1, b1, W2, b2 = params
        H = np.tanh(X @ W1 + b1)                       # (4, hidden)
        z = H @ W2 + b2                                # (4, 1) logits
        p = sigmoid(z)
        dz = (p - y[:, None]) / n                      # BCE from logits: no sigmoid' here
        dW2, db2 = H.T @ dz, dz.sum(axis=0)
        dH = (dz @ W2.T) * (1 - H * H)                 # tanh' taken at the OUTPUT H
        dW1, db1 = X.T @ dH, dH.sum(axis=0)
        for i, g in enumerate((dW1, db1, dW2, db2)):
            buffers[i] = g.copy() if buffers[i] is None else MU * buffers[i] + g
            params[i] = params[i] - LR * buffers[i]
    return params


class WrongSigmoid(Sigmoid):
    """The classic bug: the derivative applied to the output instead of the input."""

    def _backward(self, dY, need_dx):
        s = sigmoid(self._Y)                           # sigmoid(sigmoid(a)): wrong quantity
        return dY * s * (1 - s)


def main() -> dict:
    solved, losses = 0, []
    for seed in range(5):
        model = Sequential([Dense(4, init="xavier"), Tanh(), Dense(1), Sigmoid()],
                           n_features=2, dtype=np.float64, seed=seed)
        start = [model.params[k].copy() for k in ("0.W", "0.b", "2.W", "2.b")]
        history = fit(model, X, y, loss="binary_cross_entropy",
                      optimizer=sgd(LR, momentum=MU), epochs=EPOCHS, batch_size=4,
                      shuffle=False)
        for ours, name in zip(by_hand(*start), ("0.W", "0.b", "2.W", "2.b"), strict=True):
            np.testing.assert_allclose(model.params[name], ours, rtol=1e-12, atol=1e-14)
        solved += int(np.array_equal(predict(model, X), y.astype(int)))
        losses.append(history["loss"][-1])
    assert solved == 5, solved

    rng = np.random.default_rng(0)
    Xc = rng.standard_normal((6, 3))
    right = gradcheck(Sigmoid(), Xc).worst
    wrong = gradcheck(WrongSigmoid(), Xc).worst
    assert right < 1e-6 < 1e-2 < wrong, (right, wrong)
    print(f"XOR solved for {solved}/5 seeds; final losses {np.round(losses, 5).tolist()}")
    print(f"gradcheck worst relative error: correct derivative {right:.1e}, "
          f"derivative of the wrong quantity {wrong:.1e}")
    return {"seeds_solved": solved, "final_losses": [float(v) for v in losses],
            "gradcheck_correct": right, "gradcheck_wrong_quantity": wrong}


if __name__ == "__main__":
    print(json.dumps(main()))
