"""SGD, RMSProp and Adagrad on several parameter arrays at once (dict, list, tuple, one array),
each with a learning-rate schedule, against ``torch.optim`` stepping the same tensors with the
matching ``torch.optim.lr_scheduler`` (float64 and float32), and the state each optimiser keeps
(PyTorch keeps a buffer only for what it uses)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit.optim import adagrad, rmsprop, sgd, step_decay

torch = pytest.importorskip("torch")

SHAPES = {"W": (3, 4), "b": (4,), "s": ()}

# (id, matfit factory given an lr (float or schedule), torch class, torch kwargs)
CASES = [
    ("sgd", lambda lr: sgd(lr), "SGD", {}),
    ("sgd_wd", lambda lr: sgd(lr, weight_decay=0.3), "SGD", {"weight_decay": 0.3}),
    ("sgd_momentum", lambda lr: sgd(lr, momentum=0.7), "SGD", {"momentum": 0.7}),
    ("sgd_dampening", lambda lr: sgd(lr, momentum=0.7, dampening=0.4, weight_decay=0.1),
     "SGD", {"momentum": 0.7, "dampening": 0.4, "weight_decay": 0.1}),
    ("sgd_full_dampening", lambda lr: sgd(lr, momentum=0.5, dampening=1.0), "SGD",
     {"momentum": 0.5, "dampening": 1.0}),
    ("sgd_nesterov_wd", lambda lr: sgd(lr, momentum=0.6, nesterov=True, weight_decay=0.2),
     "SGD", {"momentum": 0.6, "nesterov": True, "weight_decay": 0.2}),
    ("rmsprop", lambda lr: rmsprop(lr, alpha=0.8), "RMSprop", {"alpha": 0.8}),
    # a large eps shows where it is added (to the root, not under it)
    ("rmsprop_eps_wd", lambda lr: rmsprop(lr, alpha=0.6, eps=0.5, weight_decay=0.2), "RMSprop",
     {"alpha": 0.6, "eps": 0.5, "weight_decay": 0.2}),
    # alpha < 0.5 and > 0.5 take the two branches of torch's lerp for the centred average
    ("rmsprop_centered_low_alpha", lambda lr: rmsprop(lr, alpha=0.3, centered=True, eps=0.1),
     "RMSprop", {"alpha": 0.3, "centered": True, "eps": 0.1}),
    ("rmsprop_centered", lambda lr: rmsprop(lr, alpha=0.9, centered=True, eps=0.1),
     "RMSprop", {"alpha": 0.9, "centered": True, "eps": 0.1}),
    ("rmsprop_momentum", lambda lr: rmsprop(lr, alpha=0.7, momentum=0.6, eps=0.3), "RMSprop",
     {"alpha": 0.7, "momentum": 0.6, "eps": 0.3}),
    ("rmsprop_centered_momentum_wd",
     lambda lr: rmsprop(lr, alpha=0.5, momentum=0.4, centered=True, weight_decay=0.1, eps=0.2),
     "RMSprop", {"alpha": 0.5, "momentum": 0.4, "centered": True, "weight_decay": 0.1,
                 "eps": 0.2}),
    ("adagrad", lambda lr: adagrad(lr), "Adagrad", {}),
    ("adagrad_all", lambda lr: adagrad(lr, lr_decay=0.3, weight_decay=0.2,
                                       initial_accumulator_value=0.5, eps=0.4),
     "Adagrad", {"lr_decay": 0.3, "weight_decay": 0.2, "initial_accumulator_value": 0.5,
                 "eps": 0.4}),
]

STEPS = 7


def _grads(rng, dtype):
    return [{k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
            for _ in range(STEPS)]


def _torch_run(cls_name, kwargs, start, grads, lr, gamma):
    ps = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
    opt = getattr(torch.optim, cls_name)(list(ps.values()), lr=lr, **kwargs)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=gamma)
    for g in grads:
        for k, p in ps.items():
            p.grad = torch.from_numpy(g[k].copy())
        opt.step()
        sched.step()
    return {k: p.detach().numpy() for k, p in ps.items()}


def _as(kind, tree):
    if kind == "dict":
        return tree
    if kind == "list":
        return list(tree.values())
    return tuple(tree.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_multi_array_trees_with_a_schedule_match_torch(case, dtype):
    _, factory, cls_name, kwargs = case
    rng = np.random.default_rng(5)
    start = {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
    grads = _grads(rng, dtype)
    expected = _torch_run(cls_name, kwargs, start, grads, 0.05, 0.5)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for kind in ["dict", "list", "tuple"]:
        opt = factory(step_decay(0.05, 2, gamma=0.5))
        params = _as(kind, {k: v.copy() for k, v in start.items()})
        state = opt.init(params)
        for g in grads:
            params, state = opt.update(_as(kind, g), state, params)
        assert state.count == STEPS
        got = dict(zip(SHAPES, params.values() if kind == "dict" else params, strict=True))
        for k in SHAPES:
            assert got[k].dtype == dtype and got[k].shape == SHAPES[k]
            assert_allclose(got[k], expected[k], rtol=tol, atol=tol, err_msg=f"{kind} {k}")
            assert np.max(np.abs(got[k] - start[k])) > 1e-6       # it moved
    # a single array as the whole tree
    opt = factory(0.05)
    x = start["W"].copy()
    state = opt.init(x)
    for g in grads:
        x, state = opt.update(g["W"], state, x)
    ref = _torch_run(cls_name, kwargs, {"W": start["W"]}, [{"W": g["W"]} for g in grads],
                     0.05, 1.0)
    assert_allclose(x, ref["W"], rtol=tol, atol=tol)


def test_sgd_keeps_a_momentum_buffer_only_with_momentum():
    p = {"a": np.ones(3), "b": np.ones(2, np.float32)}
    assert sgd(0.1).init(p).momentum_buffer is None
    assert sgd(0.1, weight_decay=0.5, dampening=0.5).init(p).momentum_buffer is None
    buf = sgd(0.1, momentum=0.9).init(p).momentum_buffer
    assert buf.keys() == p.keys() and buf["b"].dtype == np.float32
    assert_allclose(buf["a"], 0.0) and assert_allclose(buf["b"], 0.0)
    # after one step, torch's buffer is the first gradient
    opt = sgd(0.1, momentum=0.9, dampening=0.3)
    _, state = opt.update({"a": np.full(3, 2.0), "b": np.ones(2, np.float32)}, opt.init(p), p)
    assert_allclose(state.momentum_buffer["a"], 2.0)
    _, state = opt.update({"a": np.full(3, 1.0), "b": np.ones(2, np.float32)}, state, p)
    assert_allclose(state.momentum_buffer["a"], 0.9 * 2.0 + 0.7 * 1.0)


def test_rmsprop_and_adagrad_keep_only_the_buffers_torch_keeps():
    p = {"a": np.ones(3), "b": np.ones(2, np.float32)}
    plain = rmsprop(0.1).init(p)
    assert plain.grad_avg is None and plain.momentum_buffer is None
    assert plain.square_avg["b"].dtype == np.float32 and plain.count == 0
    full = rmsprop(0.1, centered=True, momentum=0.5).init(p)
    for tree in (full.square_avg, full.grad_avg, full.momentum_buffer):
        assert tree.keys() == p.keys()
        assert_allclose(tree["a"], 0.0) and assert_allclose(tree["b"], 0.0)
    assert rmsprop(0.1, centered=True).init(p).momentum_buffer is None
    assert rmsprop(0.1, momentum=0.5).init(p).grad_avg is None
    s = adagrad(0.1, initial_accumulator_value=0.25).init(p).sum
    assert_allclose(s["a"], 0.25) and s["b"].dtype == np.float32
