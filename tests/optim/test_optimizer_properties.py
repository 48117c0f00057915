"""Hypothesis: the stateful optimisers and the pure update agree with each other bit for bit, and
both agree with a plain re-implementation of PyTorch's documented algorithms written below.

The plain versions are the reference that could disagree: they share no code with matfit.optim
(``stateful == pure`` alone would pass any mutation of the shared ``step_``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfit.optim import SGD, Adam, RMSProp


def plain_sgd(p, grads, lr, momentum, weight_decay):
    """torch.optim.SGD (dampening 0): the buffer starts as the first gradient."""
    buf = None
    for g in grads:
        g = g + weight_decay * p
        buf = g.copy() if buf is None else momentum * buf + g
        p = p - lr * buf
    return p


def plain_adam(p, grads, lr, b1, b2, eps, amsgrad):
    """torch.optim.Adam's documented algorithm: eps after the bias-corrected root."""
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v_hat) + eps)
    return p


def plain_rmsprop(p, grads, lr, alpha, eps, centered):
    """torch.optim.RMSprop without momentum."""
    v, gbar = np.zeros_like(p), np.zeros_like(p)
    for g in grads:
        v = alpha * v + (1 - alpha) * g * g
        gbar = alpha * gbar + (1 - alpha) * g
        avg = np.sqrt(v - gbar * gbar if centered else v) + eps
        p = p - lr * g / avg
    return p


shapes = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=3)


@settings(max_examples=30, deadline=None)
@given(shapes=shapes, seed=st.integers(0, 2**16), which=st.sampled_from(["sgd", "adam", "rms"]))
def test_stateful_and_pure_optimisers_agree_and_match_plain_torch_algorithms(shapes, seed, which):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in shapes]
    make = {"sgd": lambda p: SGD(p, 0.1, momentum=0.9, weight_decay=0.01),
            "adam": lambda p: Adam(p, 0.01, amsgrad=True),
            "rms": lambda p: RMSProp(p, 0.01, centered=True)}[which]
    start = [p.copy() for p in params]
    opt = make(params)
    pure, state = [p.copy() for p in params], opt.optimizer.init(params)
    history = []
    for _ in range(3):
        grads = [rng.standard_normal(s) for s in shapes]
        history.append(grads)
        opt.step(grads)
        pure, state = opt.optimizer.update(grads, state, pure)
    for a, b in zip(params, pure, strict=True):
        np.testing.assert_array_equal(a, b)
    plain = {"sgd": lambda p0, gs: plain_sgd(p0, gs, 0.1, 0.9, 0.01),
             "adam": lambda p0, gs: plain_adam(p0, gs, 0.01, 0.9, 0.999, 1e-8, True),
             "rms": lambda p0, gs: plain_rmsprop(p0, gs, 0.01, 0.99, 1e-8, True)}[which]
    for i, p0 in enumerate(start):
        ref = plain(p0, [h[i] for h in history])
        np.testing.assert_allclose(params[i], ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_plain_reference_where_eps_and_bias_correction_matter(amsgrad):
    # a large eps and unusual betas over 12 steps: moving eps inside the root, dropping either
    # bias correction or swapping the betas changes the result far beyond rtol
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) * 10.0**rng.uniform(-3, 1) for _ in range(12)]
    x = p0.copy()
    opt = Adam([x], 0.05, betas=(0.7, 0.95), eps=1e-2, amsgrad=amsgrad)
    for g in grads:
        opt.step([g])
    np.testing.assert_allclose(x, plain_adam(p0, grads, 0.05, 0.7, 0.95, 1e-2, amsgrad),
                               rtol=1e-12, atol=1e-14)
