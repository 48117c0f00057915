"""Hypothesis: the stateful optimisers and the pure update agree bit for bit on any shapes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matfit.optim import SGD, Adam, RMSProp

shapes = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=3)


@settings(max_examples=30, deadline=None)
@given(shapes=shapes, seed=st.integers(0, 2**16), which=st.sampled_from(["sgd", "adam", "rms"]))
def test_stateful_and_pure_optimisers_agree_bit_for_bit(shapes, seed, which):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in shapes]
    make = {"sgd": lambda p: SGD(p, 0.1, momentum=0.9, weight_decay=0.01),
            "adam": lambda p: Adam(p, 0.01, amsgrad=True),
            "rms": lambda p: RMSProp(p, 0.01, centered=True)}[which]
    opt = make(params)
    pure, state = [p.copy() for p in params], opt.optimizer.init(params)
    for _ in range(3):
        grads = [rng.standard_normal(s) for s in shapes]
        opt.step(grads)
        pure, state = opt.optimizer.update(grads, state, pure)
    for a, b in zip(params, pure, strict=True):
        np.testing.assert_array_equal(a, b)
