"""Batch normalisation: forward pass, backward pass and running statistics, checked three ways.

Question: how do I write batch norm's backward pass, and why does my model do well in
training mode but badly in evaluation mode?

Answer (features in columns, n samples per batch):
* Forward (training): mu = mean(X), var = mean((X - mu)^2) -- the *biased* variance
  normalises the batch -- xhat = (X - mu) / sqrt(var + eps), Y = gamma xhat + beta.
* Backward: with dxhat = dY gamma,
  dX = (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) / sqrt(var + eps),
  dgamma = sum(dY xhat), dbeta = sum(dY). The two mean terms are the paths through mu and var.
* Running statistics (PyTorch's BatchNorm1d, momentum 0.1): running_mean <- 0.9 running_mean
  + 0.1 mu and running_var <- 0.9 running_var + 0.1 var n / (n - 1): the running variance is
  the *unbiased* one. Evaluation mode normalises with the running statistics. Storing the
  biased variance, or forgetting to switch to evaluation mode (normalising a single example by
  its own statistics gives 0 for every feature), is what makes evaluation look broken.
* Test the backward pass with a random upstream gradient: with dY = ones, dxhat is constant
  per column, the bracket above is exactly 0, and any backward formula "passes".

Checked: matfit.nn.BatchNorm against the formulas above written out in NumPy, against
central finite differences (gradcheck) and, when PyTorch is installed, against
torch.nn.BatchNorm1d in float64 (outputs, gradients and running statistics to 1e-10).
Run: ``python examples/batchnorm_forward_backward.py`` (about a second).
"""

from __future__ import annotations

import json

import numpy as np

from matfit.nn import BatchNorm, gradcheck


def by_hand_forward(X, gamma, beta, eps=1e-5):
    mu = X.mean(axis=0)
    var = ((X - mu) ** 2).mean(axis=0)
    xhat = (X - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, var)


def by_hand_backward(dY, gamma, xhat, var, eps=1e-5):
    dxhat = dY * gamma
    dX = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / np.sqrt(var + eps)
    return dX, (dY * xhat).sum(axis=0), dY.sum(axis=0)


def torch_check(bn_state, batches, X, dY) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    gamma, beta = bn_state
    tbn = torch.nn.BatchNorm1d(X.shape[1]).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.from_numpy(gamma))
        tbn.bias.copy_(torch.from_numpy(beta))
    for B in batches:
        tbn(torch.from_numpy(B))
    Xt = torch.from_numpy(X.copy()).requires_grad_()
    out = tbn(Xt)
    out.backward(torch.from_numpy(dY))
    return tbn, out.detach().numpy(), Xt.grad.numpy()


def main() -> dict:
    rng = np.random.default_rng(0)
    n, features = 16, 5
    bn = BatchNorm()
    bn.build(features, rng=rng, dtype=np.float64)
    bn.params["gamma"][...] = rng.uniform(0.5, 2.0, features)
    bn.params["beta"][...] = rng.standard_normal(features)
    gamma, beta = bn.params["gamma"].copy(), bn.params["beta"].copy()
    batches = [rng.standard_normal((n, features)) * 3 + 2 for _ in range(4)]
    for B in batches[:-1]:
        bn.forward(B, training=True)
    X, dY = batches[-1], rng.standard_normal((n, features))

    Y = bn.forward(X, training=True)
    dX = bn.backward(dY)
    Y_ref, (xhat, var) = by_hand_forward(X, gamma, beta)
    dX_ref, dgamma_ref, dbeta_ref = by_hand_backward(dY, gamma, xhat, var)
    np.testing.assert_allclose(Y, Y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dX, dX_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.grads["gamma"], dgamma_ref, rtol=1e-12)
    np.testing.assert_allclose(bn.grads["beta"], dbeta_ref, rtol=1e-12)

    # running statistics: exponential averages of the batch mean and the UNBIASED variance
    rm, rv = np.zeros(features), np.ones(features)
    for B in batches:
        rm = 0.9 * rm + 0.1 * B.mean(axis=0)
        rv = 0.9 * rv + 0.1 * B.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, rv, rtol=1e-12)

    # all-ones upstream gradient: dX is exactly zero, whatever the formula -- use random ones
    bn.forward(X, training=True)
    ones_dx = bn.backward(np.ones_like(dY))
    assert np.abs(ones_dx).max() < 1e-12

    # one example in evaluation mode uses the running statistics (training mode would need 2+)
    x_one = X[:1]
    y_eval = bn.forward(x_one, training=False)
    np.testing.assert_allclose(y_eval, gamma * (x_one - bn.running_mean)
                               / np.sqrt(bn.running_var + 1e-5) + beta, rtol=1e-12)

    report = gradcheck(BatchNorm(), X, max_entries=None)
    assert report.passed(1e-6), report

    torch_err = None
    res = torch_check((gamma, beta), batches[:-1], X, dY)
    if res is not None:
        tbn, tY, tdX = res
        bn2 = BatchNorm()
        bn2.build(features, rng=rng, dtype=np.float64)
        bn2.params["gamma"][...], bn2.params["beta"][...] = gamma, beta
        for B in batches[:-1]:
            bn2.forward(B, training=True)
        Y2 = bn2.forward(X, training=True)
        dX2 = bn2.backward(dY)
        torch_err = float(max(np.abs(Y2 - tY).max(), np.abs(dX2 - tdX).max(),
                              np.abs(bn2.running_var - tbn.running_var.numpy()).max()))
        assert torch_err < 1e-10, torch_err
    print(f"backward vs hand-written formula: max |diff| {np.abs(dX - dX_ref).max():.1e}; "
          f"gradcheck worst {report.worst:.1e}; "
          f"vs PyTorch: {'not installed' if torch_err is None else f'{torch_err:.1e}'}")
    print(f"running_var (unbiased) {np.round(bn.running_var, 4).tolist()}")
    return {"max_diff_hand_written": float(np.abs(dX - dX_ref).max()),
            "gradcheck_worst": report.worst, "torch_max_diff": torch_err,
            "ones_upstream_dx_max": float(np.abs(ones_dx).max())}


if __name__ == "__main__":
    print(json.dumps(main()))
