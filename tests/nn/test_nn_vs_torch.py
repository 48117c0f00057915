"""matfit.nn against PyTorch in float64: forward outputs, gradients and running statistics.

Upstream gradients are random (with all ones, batch norm's input gradient is exactly zero and
a wrong backward pass would go unnoticed). Weights are copied across (PyTorch's Linear weight
is the transpose of matfit's W).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit.nn import (
    BatchNorm,
    BinaryCrossEntropy,
    CrossEntropy,
    Dense,
    LeakyReLU,
    MeanSquaredError,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    fit,
)
from matfit.optim import adam

torch = pytest.importorskip("torch")
TOL = {"rtol": 1e-10, "atol": 1e-12}


def _pair(seed=0, n_features=6, hidden=5, classes=4):
    """A matfit model Dense-BatchNorm-ReLU-Dense and the same model in PyTorch."""
    ours = Sequential([Dense(hidden), BatchNorm(), ReLU(), Dense(classes)],
                      n_features=n_features, dtype=np.float64, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for name, p in ours.params.items():           # non-trivial gamma/beta too
        p[...] = rng.standard_normal(p.shape) * (0.5 if name.endswith("W") else 1.0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(n_features, hidden), torch.nn.BatchNorm1d(hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, classes)).double()
    with torch.no_grad():
        theirs[0].weight.copy_(torch.from_numpy(ours.params["0.W"].T))
        theirs[0].bias.copy_(torch.from_numpy(ours.params["0.b"]))
        theirs[1].weight.copy_(torch.from_numpy(ours.params["1.gamma"]))
        theirs[1].bias.copy_(torch.from_numpy(ours.params["1.beta"]))
        theirs[3].weight.copy_(torch.from_numpy(ours.params["3.W"].T))
        theirs[3].bias.copy_(torch.from_numpy(ours.params["3.b"]))
    return ours, theirs


def _torch_grads(theirs):
    return {"0.W": theirs[0].weight.grad.numpy().T, "0.b": theirs[0].bias.grad.numpy(),
            "1.gamma": theirs[1].weight.grad.numpy(), "1.beta": theirs[1].bias.grad.numpy(),
            "3.W": theirs[3].weight.grad.numpy().T, "3.b": theirs[3].bias.grad.numpy()}


@pytest.mark.parametrize("training", [True, False])
def test_dense_batchnorm_relu_cross_entropy_matches_torch(training):
    ours, theirs = _pair()
    rng = np.random.default_rng(1)
    # a few training-mode batches first, so eval mode uses non-trivial running statistics
    for _ in range(3):
        Xw = rng.standard_normal((7, 6)) * 2 + 1
        ours.forward(Xw, training=True)
        theirs.train()
        theirs(torch.from_numpy(Xw))
    assert_allclose(ours.layers[1].running_mean, theirs[1].running_mean.numpy(), **TOL)
    assert_allclose(ours.layers[1].running_var, theirs[1].running_var.numpy(), **TOL)

    X = rng.standard_normal((9, 6)) * 2 + 1
    y = rng.integers(0, 4, 9)
    theirs.train(training)
    Xt = torch.from_numpy(X.copy()).requires_grad_()
    logits_t = theirs(Xt)
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(y))
    loss_t.backward()

    logits = ours._forward(X, training)
    assert_allclose(logits, logits_t.detach().numpy(), **TOL)
    loss, dz = CrossEntropy().value_and_grad(logits.copy(), y)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    dX = ours.backward(dz, need_input_grad=True)
    assert_allclose(dX, Xt.grad.numpy(), **TOL)
    for name, g in _torch_grads(theirs).items():
        assert_allclose(ours.grads[name], g, **TOL, err_msg=name)
    # the running statistics saw the same batches (and, in training mode, this one too)
    assert_allclose(ours.layers[1].running_mean, theirs[1].running_mean.numpy(), **TOL)
    assert_allclose(ours.layers[1].running_var, theirs[1].running_var.numpy(), **TOL)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_with_random_upstream_gradient(training):
    rng = np.random.default_rng(2)
    bn = BatchNorm(momentum=0.3, eps=1e-3)
    bn.build(5, rng=rng, dtype=np.float64)
    bn.params["gamma"][...] = rng.standard_normal(5)
    bn.params["beta"][...] = rng.standard_normal(5)
    tbn = torch.nn.BatchNorm1d(5, momentum=0.3, eps=1e-3).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.from_numpy(bn.params["gamma"]))
        tbn.bias.copy_(torch.from_numpy(bn.params["beta"]))
    for _ in range(2):
        Xw = rng.standard_normal((6, 5)) * 3 - 2
        bn.forward(Xw, training=True)
        tbn.train()
        tbn(torch.from_numpy(Xw))
    X = rng.standard_normal((8, 5)) * 3 - 2
    G = rng.standard_normal((8, 5))
    tbn.train(training)
    Xt = torch.from_numpy(X.copy()).requires_grad_()
    Yt = tbn(Xt)
    Yt.backward(torch.from_numpy(G))
    Y = bn.forward(X, training=training)
    dX = bn.backward(G)
    assert_allclose(Y, Yt.detach().numpy(), **TOL)
    assert_allclose(dX, Xt.grad.numpy(), **TOL)
    assert np.abs(dX).max() > 1e-3                  # a real gradient, not the all-ones zero
    assert_allclose(bn.grads["gamma"], tbn.weight.grad.numpy(), **TOL)
    assert_allclose(bn.grads["beta"], tbn.bias.grad.numpy(), **TOL)
    assert_allclose(bn.running_var, tbn.running_var.numpy(), **TOL)


def test_training_a_few_adam_steps_tracks_torch():
    ours, theirs = _pair(seed=3)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((32, 6))
    y = rng.integers(0, 4, 32)
    fit(ours, X, y, loss="cross_entropy", optimizer=adam(0.01), epochs=3, batch_size=8,
        shuffle=False)
    opt = torch.optim.Adam(theirs.parameters(), lr=0.01)
    theirs.train()
    for _ in range(3):
        for lo in range(0, 32, 8):
            opt.zero_grad()
            out = theirs(torch.from_numpy(X[lo:lo + 8]))
            torch.nn.functional.cross_entropy(out, torch.from_numpy(y[lo:lo + 8])).backward()
            opt.step()
    assert_allclose(ours.params["0.W"], theirs[0].weight.detach().numpy().T, rtol=1e-9,
                    atol=1e-11)
    assert_allclose(ours.params["3.b"], theirs[3].bias.detach().numpy(), rtol=1e-9, atol=1e-11)
    assert_allclose(ours.layers[1].running_var, theirs[1].running_var.numpy(), rtol=1e-9)
    theirs.eval()
    # 12 Adam steps amplify BLAS summation-order rounding (thread-count dependent) to ~4e-11
    assert_allclose(ours.forward(X), theirs(torch.from_numpy(X)).detach().numpy(), rtol=1e-9,
                    atol=1e-10)


@pytest.mark.parametrize(("layer", "tmod"), [
    (ReLU(), torch.nn.ReLU()),
    (LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    (Tanh(), torch.nn.Tanh()),
    (Sigmoid(), torch.nn.Sigmoid()),
    (Softmax(), torch.nn.Softmax(dim=1)),
], ids=["relu", "leaky_relu", "tanh", "sigmoid", "softmax"])
def test_activations_forward_and_backward_match_torch(layer, tmod):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((6, 7)) * 3
    X[0, :3] = [-800.0, 800.0, 40.0]                 # saturated entries stay finite
    G = rng.standard_normal((6, 7))
    layer.build(7, rng=rng, dtype=np.float64)
    Y = layer.forward(X)
    dX = layer.backward(G)
    Xt = torch.from_numpy(X.copy()).requires_grad_()
    Yt = tmod(Xt)
    Yt.backward(torch.from_numpy(G))
    assert_allclose(Y, Yt.detach().numpy(), **TOL)
    assert_allclose(dX, Xt.grad.numpy(), **TOL)


def test_dense_forward_backward_match_torch_linear():
    rng = np.random.default_rng(6)
    layer = Dense(3, init="torch")
    layer.build(4, rng=rng, dtype=np.float64)
    lin = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.params["W"].T))
        lin.bias.copy_(torch.from_numpy(layer.params["b"]))
    X, G = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    Xt = torch.from_numpy(X.copy()).requires_grad_()
    lin(Xt).backward(torch.from_numpy(G))
    assert_allclose(layer.forward(X), lin(torch.from_numpy(X)).detach().numpy(), **TOL)
    assert_allclose(layer.backward(G), Xt.grad.numpy(), **TOL)
    assert_allclose(layer.grads["W"], lin.weight.grad.numpy().T, **TOL)
    assert_allclose(layer.grads["b"], lin.bias.grad.numpy(), **TOL)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_losses_and_their_gradients_match_torch_even_at_logits_of_1e4(scale):
    rng = np.random.default_rng(7)
    Z = rng.standard_normal((8, 5)) * scale
    labels = rng.integers(0, 5, 8)
    onehot = np.eye(5)[labels]
    soft = rng.dirichlet(np.ones(5), 8)
    # rows that do not sum to one (label smoothing by hand, weighted soft labels): torch's loss is
    # -sum y log softmax, whose gradient is sum(y) * softmax - y, not softmax - y
    unnormalised = soft * rng.uniform(0.2, 3.0, (8, 1))
    B = (rng.random((8, 5)) > 0.5).astype(float)
    F = torch.nn.functional
    cases = [
        (CrossEntropy(), labels, lambda z: F.cross_entropy(z, torch.from_numpy(labels))),
        (CrossEntropy(), onehot, lambda z: F.cross_entropy(z, torch.from_numpy(onehot))),
        (CrossEntropy(), soft, lambda z: F.cross_entropy(z, torch.from_numpy(soft))),
        (CrossEntropy(), unnormalised,
         lambda z: F.cross_entropy(z, torch.from_numpy(unnormalised))),
        (BinaryCrossEntropy(), B,
         lambda z: F.binary_cross_entropy_with_logits(z, torch.from_numpy(B))),
        (MeanSquaredError(), Z / scale, lambda z: F.mse_loss(z, torch.from_numpy(Z / scale))),
    ]
    for loss, target, tloss in cases:
        value, grad = loss.value_and_grad(Z.copy(), loss.check_targets(Z.shape, target))
        Zt = torch.from_numpy(Z.copy()).requires_grad_()
        lt = tloss(Zt)
        lt.backward()
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert value == pytest.approx(lt.item(), rel=1e-12), type(loss).__name__
        assert_allclose(grad, Zt.grad.numpy(), rtol=1e-10, atol=1e-15)
