"""Every optimiser against torch.optim on the Rosenbrock function, float64, 100 steps.

Both sides receive the same gradient arrays (computed once in NumPy from the current point), so
any difference comes from the optimisers' arithmetic alone; trajectories must agree to 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError, ShapeError
from matfit.optim import (
    SGD,
    Adagrad,
    Adam,
    AdamW,
    RMSProp,
    adagrad,
    adam,
    adamw,
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value,
    cosine_annealing,
    exponential_decay,
    linear_warmup,
    rmsprop,
    sgd,
    step_decay,
)


def rosenbrock_grad(xy: np.ndarray, a: float, b: float) -> np.ndarray:
    x, y = xy
    return np.array([-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)])


# (name, matfit factory, torch class name, torch kwargs, lr for b=100, lr for b=2)
CASES = [
    ("sgd", lambda lr: sgd(lr), "SGD", {}, 1e-4, 1e-2),
    ("sgd_momentum", lambda lr: sgd(lr, momentum=0.9), "SGD", {"momentum": 0.9}, 1e-4, 1e-2),
    ("sgd_dampening_wd", lambda lr: sgd(lr, momentum=0.8, dampening=0.3, weight_decay=0.05),
     "SGD", {"momentum": 0.8, "dampening": 0.3, "weight_decay": 0.05}, 1e-4, 1e-2),
    ("sgd_nesterov", lambda lr: sgd(lr, momentum=0.9, nesterov=True), "SGD",
     {"momentum": 0.9, "nesterov": True}, 1e-4, 1e-2),
    ("adam", lambda lr: adam(lr, betas=(0.9, 0.999)), "Adam", {"betas": (0.9, 0.999)},
     0.02, 0.02),
    ("adam_amsgrad_wd", lambda lr: adam(lr, amsgrad=True, weight_decay=0.1), "Adam",
     {"amsgrad": True, "weight_decay": 0.1}, 0.02, 0.02),
    ("adam_low_beta1", lambda lr: adam(lr, betas=(0.3, 0.9), eps=1e-6), "Adam",
     {"betas": (0.3, 0.9), "eps": 1e-6}, 0.02, 0.02),
    # a large eps makes where eps sits (after the bias correction) visible in the trajectory
    ("adam_large_eps", lambda lr: adam(lr, eps=10.0), "Adam", {"eps": 10.0}, 0.02, 0.02),
    ("adamw", lambda lr: adamw(lr, weight_decay=0.1), "AdamW", {"weight_decay": 0.1},
     0.02, 0.02),
    ("adamw_amsgrad", lambda lr: adamw(lr, amsgrad=True), "AdamW", {"amsgrad": True},
     0.02, 0.02),
    ("rmsprop", lambda lr: rmsprop(lr), "RMSprop", {}, 1e-2, 1e-2),
    ("rmsprop_centered_momentum", lambda lr: rmsprop(lr, centered=True, momentum=0.5,
                                                     weight_decay=0.01),
     "RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.01}, 1e-3, 1e-2),
    ("adagrad", lambda lr: adagrad(lr), "Adagrad", {}, 0.1, 0.1),
    ("adagrad_decay", lambda lr: adagrad(lr, lr_decay=0.01, initial_accumulator_value=0.1,
                                         weight_decay=0.01),
     "Adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
     0.1, 0.1),
]


def _matfit_trajectory(opt, a, b, steps=100):
    x = np.array([3.0, 3.0])
    state = opt.init({"xy": x})
    path = [x]
    for _ in range(steps):
        params, state = opt.update({"xy": rosenbrock_grad(x, a, b)}, state, {"xy": x})
        x = params["xy"]
        path.append(x)
    return np.array(path)


def _torch_trajectory(cls_name, kwargs, lr, a, b, steps=100, scheduler=None):
    torch = pytest.importorskip("torch")
    p = torch.tensor([3.0, 3.0], dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls_name)([p], lr=lr, **kwargs)
    sched = scheduler(opt) if scheduler else None
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        p.grad = torch.from_numpy(rosenbrock_grad(p.detach().numpy().copy(), a, b))
        opt.step()
        if sched is not None:
            sched.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


@pytest.mark.parametrize(("a", "b"), [(1.0, 100.0), (1.0, 2.0)])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_trajectory_matches_torch_optim_on_rosenbrock(case, a, b):
    _, factory, cls_name, kwargs, lr100, lr2 = case
    lr = lr100 if b == 100 else lr2
    ours = _matfit_trajectory(factory(lr), a, b)
    theirs = _torch_trajectory(cls_name, kwargs, lr, a, b)
    assert np.all(np.isfinite(theirs))
    assert np.max(np.abs(theirs[-1] - theirs[0])) > 1e-2     # it moved: the test can fail
    assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


SCHEDULES = [
    ("step", lambda: step_decay(0.02, 30, gamma=0.5),
     lambda torch: lambda o: torch.optim.lr_scheduler.StepLR(o, 30, gamma=0.5)),
    ("exponential", lambda: exponential_decay(0.02, 0.97),
     lambda torch: lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97)),
    ("cosine", lambda: cosine_annealing(0.02, 40, eta_min=1e-3),
     lambda torch: lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 40, eta_min=1e-3)),
    ("warmup_cosine", lambda: linear_warmup(0.02, 10, start_factor=0.1,
                                            then=cosine_annealing(0.02, 90)),
     lambda torch: lambda o: torch.optim.lr_scheduler.SequentialLR(
         o, [torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, total_iters=10),
             torch.optim.lr_scheduler.CosineAnnealingLR(o, 90)], milestones=[10])),
]


@pytest.mark.parametrize("case", SCHEDULES, ids=[c[0] for c in SCHEDULES])
def test_schedules_match_torch_lr_schedulers_inside_adam(case):
    torch = pytest.importorskip("torch")
    _, ours_factory, torch_factory = case
    schedule = ours_factory()
    ours = _matfit_trajectory(adam(schedule), 1.0, 100.0)
    theirs = _torch_trajectory("Adam", {}, 0.02, 1.0, 100.0, scheduler=torch_factory(torch))
    assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    # and the learning rates themselves, step by step
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.02)
    sched = torch_factory(torch)(opt)
    for count in range(100):
        assert schedule(count) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12, abs=1e-18)
        opt.step()
        sched.step()


@pytest.mark.parametrize("wrapper", [
    lambda ps: SGD(ps, 1e-2, momentum=0.9, nesterov=True),
    lambda ps: Adam(ps, 0.02, amsgrad=True),
    lambda ps: AdamW(ps, 0.02),
    lambda ps: RMSProp(ps, 1e-2, centered=True, momentum=0.3),
    lambda ps: Adagrad(ps, 0.1, lr_decay=0.01),
])
def test_stateful_wrappers_are_bit_identical_to_the_pure_update(wrapper):
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal(4)}
    pure_params = {k: v.copy() for k, v in params.items()}
    opt = wrapper(params)
    ids = {k: id(v) for k, v in params.items()}
    state = opt.optimizer.init(pure_params)
    for _ in range(20):
        grads = {k: np.sin(3 * v) + rng.standard_normal(v.shape) for k, v in params.items()}
        opt.step(grads)
        pure_params, state = opt.optimizer.update(grads, state, pure_params)
    for k in params:
        assert id(params[k]) == ids[k]              # updated in place
        np.testing.assert_array_equal(params[k], pure_params[k])
    assert opt.step_count == 20


def test_pure_update_modifies_nothing_and_accepts_lists_and_arrays():
    g = [np.ones(3), np.full(2, -2.0)]
    p = [np.zeros(3), np.ones(2)]
    opt = adam(0.1)
    state = opt.init(p)
    new, state2 = opt.update(g, state, p)
    assert isinstance(new, list)
    assert_allclose(new[0], -0.1) and assert_allclose(new[1], 1.1)
    assert_allclose(p[0], 0.0) and assert_allclose(state.exp_avg[0], 0.0)
    assert state.count == 0 and state2.count == 1
    x = np.array([1.0, 2.0])
    y, _ = sgd(0.5).update(np.array([2.0, 2.0]), sgd(0.5).init(x), x)
    assert_allclose(y, [0.0, 1.0]) and assert_allclose(x, [1.0, 2.0])


def test_float32_parameters_stay_float32():
    p = {"w": np.ones(5, np.float32)}
    opt = Adam(p, 1e-3)
    opt.step({"w": np.ones(5, np.float32)})
    assert p["w"].dtype == np.float32 and opt.state.exp_avg["w"].dtype == np.float32


def test_clipping_matches_torch_utils():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((4, 3)) * 10, rng.standard_normal(5)]
    for norm_type, max_norm in [(2.0, 1.0), (1.0, 3.0), (math.inf, 0.5), (2.0, 1e6)]:
        ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for t, g in zip(ts, grads, strict=True):
            t.grad = torch.from_numpy(g.copy())
        total_t = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
        clipped, total = clip_grad_norm(grads, max_norm, norm_type=norm_type)
        assert total == pytest.approx(float(total_t), rel=1e-12)
        for c, t in zip(clipped, ts, strict=True):
            assert_allclose(c, t.grad.numpy(), rtol=1e-12)
    ts = [torch.from_numpy(g.copy()).requires_grad_() for g in grads]
    for t, g in zip(ts, grads, strict=True):
        t.grad = torch.from_numpy(g.copy())
    torch.nn.utils.clip_grad_value_(ts, 0.7)
    for c, t in zip(clip_grad_value(grads, 0.7), ts, strict=True):
        assert_allclose(c, t.grad.numpy())


def test_clip_grad_norm_in_place_scales_to_max_norm():
    g = {"a": np.array([3.0, 4.0])}
    total = clip_grad_norm_(g, 1.0)
    assert total == 5.0
    assert np.linalg.norm(g["a"]) == pytest.approx(1.0, rel=1e-6)


def test_errors_name_the_parameter():
    with pytest.raises(InvalidParameterError, match=r"adam\(betas\[1\]=1.0\)"):
        adam(betas=(0.9, 1.0))
    with pytest.raises(InvalidParameterError, match="Nesterov"):
        sgd(0.1, nesterov=True)
    with pytest.raises(InvalidParameterError, match="lr must be"):
        rmsprop(-1.0)
    with pytest.raises(InvalidParameterError, match="writable float ndarray"):
        SGD({"w": np.arange(3)}, 0.1)
    with pytest.raises(InvalidParameterError, match="T_max"):
        cosine_annealing(0.1, 0)
    opt = sgd(0.1)
    with pytest.raises(ShapeError, match=r"grads\['w'\] has shape \(2,\)"):
        opt.update({"w": np.ones(2)}, opt.init({"w": np.ones(3)}), {"w": np.ones(3)})
    with pytest.raises(ShapeError, match="same keys"):
        opt.update({"v": np.ones(3)}, opt.init({"w": np.ones(3)}), {"w": np.ones(3)})
