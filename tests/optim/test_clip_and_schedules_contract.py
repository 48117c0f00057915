"""Gradient clipping against ``torch.nn.utils`` for every norm family and the edge values
(max_norm 0 and inf, empty and float32 gradients), and the learning-rate schedules against
``torch.optim.lr_scheduler`` and their closed forms, including the parameter checks' messages."""

from __future__ import annotations

import math
import pickle
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError
from matfit.optim import (
    clip_grad_norm,
    clip_grad_norm_,
    clip_grad_value,
    clip_grad_value_,
    cosine_annealing,
    exponential_decay,
    linear_warmup,
    step_decay,
)

torch = pytest.importorskip("torch")


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


def _torch_clip(grads, max_norm, norm_type):
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(ts, grads, strict=True):
        t.grad = torch.from_numpy(np.array(g, dtype=np.float64))
    total = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type)
    return [t.grad.numpy() for t in ts], float(total)


@pytest.mark.parametrize("norm_type", [0.5, 1, 1.5, 2, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, scale):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal((3, 4)) * scale, rng.standard_normal(5) * scale,
             np.array(-2.5 * scale)]
    # max_norm below, near and above the total norm
    for max_norm in [0.0, 0.3 * scale, 2.0 * scale, 1e3 * scale, math.inf]:
        expected, total_t = _torch_clip(grads, max_norm, norm_type)
        clipped, total = clip_grad_norm(grads, max_norm, norm_type=norm_type)
        assert total == pytest.approx(total_t, rel=1e-13)
        for c, e in zip(clipped, expected, strict=True):
            assert_allclose(c, e, rtol=1e-13, atol=0)
    for g in grads:            # the pure form left its input alone
        assert not np.shares_memory(g, clipped[0])


def test_clip_grad_norm_in_place_forms_and_dtypes():
    g = {"a": np.array([3.0, 4.0]), "b": np.zeros(0)}
    assert clip_grad_norm_(g, 1.0) == 5.0
    assert_allclose(g["a"], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-15)
    # no clipping needed: the arrays are multiplied by exactly 1
    g = [np.array([0.1, -0.2, 0.3])]
    before = g[0].copy()
    assert clip_grad_norm_(g, 10.0, norm_type=math.inf) == pytest.approx(0.3, rel=1e-15)
    np.testing.assert_array_equal(g[0], before)
    # an empty array contributes nothing, also to the max norm
    for p in [1.0, 2.0, math.inf]:
        total = clip_grad_norm_([np.zeros(0), np.array([-0.5, 0.25])], 1.0, norm_type=p)
        assert total == pytest.approx({1.0: 0.75, 2.0: math.sqrt(0.3125), math.inf: 0.5}[p],
                                      rel=1e-15)
    assert clip_grad_norm_([np.zeros(0)], 1.0, norm_type=math.inf) == 0.0
    # pure form: a float copy (float32 stays float32, integers become float64)
    ints = [np.array([3, 4])]
    out, total = clip_grad_norm(ints, 1.0)
    assert total == 5.0 and out[0].dtype == np.float64 and ints[0].tolist() == [3, 4]
    assert_allclose(out[0], [3 / (5 + 1e-6), 4 / (5 + 1e-6)], rtol=1e-15)
    f32 = {"w": np.array([3.0, 4.0], np.float32)}
    out, total = clip_grad_norm(f32, 1.0)
    assert out["w"].dtype == np.float32 and f32["w"].tolist() == [3.0, 4.0]
    out, _ = clip_grad_norm(np.array([6.0, 8.0]), 5.0)
    assert isinstance(out, np.ndarray)
    assert_allclose(out, np.array([6.0, 8.0]) * (5 / (10 + 1e-6)), rtol=1e-15)


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal((4, 3)) * 3, rng.standard_normal(6)]
    for clip in [0.0, 0.5, 2.0, 100.0]:
        ts = [torch.from_numpy(g.copy()).requires_grad_() for g in grads]
        for t, g in zip(ts, grads, strict=True):
            t.grad = torch.from_numpy(g.copy())
        torch.nn.utils.clip_grad_value_(ts, clip)
        before = [g.copy() for g in grads]
        out = clip_grad_value(grads, clip)
        for o, t, g, b in zip(out, ts, grads, before, strict=True):
            np.testing.assert_array_equal(o, t.grad.numpy())
            np.testing.assert_array_equal(g, b)
        inplace = [g.copy() for g in grads]
        assert clip_grad_value_(inplace, clip) is None
        for o, t in zip(inplace, ts, strict=True):
            np.testing.assert_array_equal(o, t.grad.numpy())
    out = clip_grad_value({"i": np.array([-7, 1, 5])}, 2)
    assert out["i"].dtype == np.float64 and out["i"].tolist() == [-2.0, 1.0, 2.0]
    assert clip_grad_value([np.ones(2, np.float32)], 0.5)[0].dtype == np.float32


@pytest.mark.parametrize(("call", "message"), [
    (lambda: clip_grad_norm([np.ones(2)], -1.0),
     "clip_grad_norm(max_norm=-1.0): max_norm must be a number >= 0."),
    (lambda: clip_grad_norm_([np.ones(2)], "1"),
     "clip_grad_norm(max_norm='1'): max_norm must be a number >= 0."),
    (lambda: clip_grad_norm_([np.ones(2)], math.nan),
     "clip_grad_norm(max_norm=nan): max_norm must be a number >= 0."),
    (lambda: clip_grad_norm([np.ones(2)], 1.0, norm_type=0),
     "clip_grad_norm(norm_type=0): norm_type must be > 0 or inf."),
    (lambda: clip_grad_norm_([np.ones(2)], 1.0, norm_type=-2.0),
     "clip_grad_norm(norm_type=-2.0): norm_type must be > 0 or inf."),
    (lambda: clip_grad_norm_([np.ones(2)], 1.0, norm_type="2"),
     "clip_grad_norm(norm_type='2'): norm_type must be > 0 or inf."),
    (lambda: clip_grad_value([np.ones(2)], -0.5),
     "clip_grad_value(clip_value=-0.5): clip_value must be a number >= 0."),
    (lambda: clip_grad_value_([np.ones(2)], None),
     "clip_grad_value(clip_value=None): clip_value must be a number >= 0."),
])
def test_clip_argument_errors(call, message):
    with pytest.raises(InvalidParameterError, match=exactly(message)):
        call()


def test_clip_edges_are_accepted():
    g = [np.array([3.0, 4.0])]
    assert clip_grad_norm_(g, 0) == 5.0 and g[0].tolist() == [0.0, 0.0]
    g = [np.array([3.0, -4.0])]
    assert clip_grad_norm_(g, 1, norm_type=1) == 7.0
    clip_grad_value_(g, 0)
    assert g[0].tolist() == [0.0, 0.0]


# ---------------------------------------------------------------- schedules


def _torch_lrs(make, n, lr):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


LRS = torch.optim.lr_scheduler

SCHEDULE_CASES = [
    ("step1", step_decay(0.3, 1, gamma=0.7), lambda o: LRS.StepLR(o, 1, gamma=0.7), 0.3),
    ("step3", step_decay(0.3, 3), lambda o: LRS.StepLR(o, 3), 0.3),
    ("step_growing", step_decay(0.1, 2, gamma=1.5), lambda o: LRS.StepLR(o, 2, gamma=1.5), 0.1),
    ("exp", exponential_decay(0.2, 0.8), lambda o: LRS.ExponentialLR(o, 0.8), 0.2),
    ("cosine", cosine_annealing(0.5, 7), lambda o: LRS.CosineAnnealingLR(o, 7), 0.5),
    ("cosine_eta", cosine_annealing(0.5, 4, eta_min=0.1),
     lambda o: LRS.CosineAnnealingLR(o, 4, eta_min=0.1), 0.5),
    ("cosine_T1", cosine_annealing(0.5, 1, eta_min=0.2),
     lambda o: LRS.CosineAnnealingLR(o, 1, eta_min=0.2), 0.5),
    ("warmup", linear_warmup(0.4, 5, start_factor=0.25),
     lambda o: LRS.LinearLR(o, 0.25, 1.0, total_iters=5), 0.4),
    ("warmup_default", linear_warmup(0.4, 3), lambda o: LRS.LinearLR(o, total_iters=3), 0.4),
    ("warmup_exp", linear_warmup(0.4, 4, start_factor=0.5, then=exponential_decay(0.4, 0.5)),
     lambda o: LRS.SequentialLR(o, [LRS.LinearLR(o, 0.5, 1.0, total_iters=4),
                                    LRS.ExponentialLR(o, 0.5)], milestones=[4]), 0.4),
]


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=[c[0] for c in SCHEDULE_CASES])
def test_schedules_match_torch(case):
    _, ours, make, lr = case
    n = 25
    expected = _torch_lrs(make, n, lr)
    got = np.array([ours(c) for c in range(n)])
    assert_allclose(got, expected, rtol=1e-9, atol=1e-15)
    assert all(type(ours(c)) is float for c in range(3))


def test_schedule_closed_forms():
    s = step_decay(2.0, 3, gamma=0.5)
    assert [s(c) for c in range(8)] == [2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert step_decay(1.0, 2)(4) == pytest.approx(0.01, rel=1e-15)       # gamma defaults to 0.1
    e = exponential_decay(3.0, 0.5)
    assert [e(c) for c in range(4)] == [3.0, 1.5, 0.75, 0.375]
    c = cosine_annealing(1.0, 4, eta_min=0.2)
    assert [c(k) for k in [0, 2, 4, 6, 8]] == pytest.approx([1.0, 0.6, 0.2, 0.6, 1.0],
                                                             rel=1e-15, abs=1e-15)
    assert cosine_annealing(1.0, 4)(4) == pytest.approx(0.0, abs=1e-16)   # eta_min defaults to 0
    w = linear_warmup(1.0, 4, start_factor=0.2)
    assert [w(k) for k in range(7)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0],
                                                      rel=1e-15)
    assert linear_warmup(0.9, 3)(0) == pytest.approx(0.3, rel=1e-15)   # start_factor 1/3
    # after n warm-up updates the next schedule starts at its own count 0, whatever its lr
    w = linear_warmup(1.0, 2, start_factor=0.5, then=exponential_decay(0.3, 0.5))
    assert [w(k) for k in range(5)] == pytest.approx([0.5, 0.75, 0.3, 0.15, 0.075], rel=1e-15)
    w = linear_warmup(1.0, 2, then=lambda k: np.float32(k + 7))
    assert w(2) == 7.0 and type(w(2)) is float and w(4) == 9.0


def test_schedules_are_comparable_and_picklable():
    s = linear_warmup(0.1, 3, then=cosine_annealing(0.1, 10))
    assert s == pickle.loads(pickle.dumps(s)) and hash(s) == hash(linear_warmup(
        0.1, 3, then=cosine_annealing(0.1, 10)))
    assert step_decay(0.1, 2) != step_decay(0.1, 3)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: step_decay(-1.0, 2), "step_decay(lr=-1.0): lr must be a finite number >= 0."),
    (lambda: step_decay(math.inf, 2), "step_decay(lr=inf): lr must be a finite number >= 0."),
    (lambda: step_decay("1", 2), "step_decay(lr='1'): lr must be a finite number >= 0."),
    (lambda: step_decay(0.1, 0), "step_decay(step_size=0): step_size must be an integer >= 1."),
    (lambda: step_decay(0.1, 2.0),
     "step_decay(step_size=2.0): step_size must be an integer >= 1."),
    (lambda: step_decay(0.1, True),
     "step_decay(step_size=True): step_size must be an integer >= 1."),
    (lambda: step_decay(0.1, 2, gamma=0.0),
     "step_decay(gamma=0.0): gamma must be a finite number > 0."),
    (lambda: step_decay(0.1, 2, gamma=math.nan),
     "step_decay(gamma=nan): gamma must be a finite number > 0."),
    (lambda: exponential_decay(-0.1, 0.5),
     "exponential_decay(lr=-0.1): lr must be a finite number >= 0."),
    (lambda: exponential_decay(0.1, -0.5),
     "exponential_decay(gamma=-0.5): gamma must be a finite number > 0."),
    (lambda: cosine_annealing(-0.1, 5),
     "cosine_annealing(lr=-0.1): lr must be a finite number >= 0."),
    (lambda: cosine_annealing(0.1, -5),
     "cosine_annealing(T_max=-5): T_max must be an integer >= 1."),
    (lambda: cosine_annealing(0.1, 5, eta_min=-1e-3),
     "cosine_annealing(eta_min=-0.001): eta_min must be a finite number >= 0."),
    (lambda: linear_warmup(-0.1, 5),
     "linear_warmup(lr=-0.1): lr must be a finite number >= 0."),
    (lambda: linear_warmup(0.1, 0),
     "linear_warmup(warmup_steps=0): warmup_steps must be an integer >= 1."),
    (lambda: linear_warmup(0.1, 5, start_factor=0),
     "linear_warmup(start_factor=0): start_factor must lie in (0, 1]."),
    (lambda: linear_warmup(0.1, 5, start_factor=1.01),
     "linear_warmup(start_factor=1.01): start_factor must lie in (0, 1]."),
    (lambda: linear_warmup(0.1, 5, start_factor="1"),
     "linear_warmup(start_factor='1'): start_factor must lie in (0, 1]."),
])
def test_schedule_parameter_errors(make, message):
    with pytest.raises(InvalidParameterError, match=exactly(message)):
        make()


def test_schedule_range_edges_are_accepted():
    assert step_decay(0, 1, gamma=1e-300)(0) == 0.0
    assert exponential_decay(0.0, 5.0)(3) == 0.0
    assert cosine_annealing(0, 1, eta_min=0)(0) == 0.0
    # eta_min > lr: torch then anneals upwards, ending at eta_min
    assert cosine_annealing(0.1, 2, eta_min=0.5)(2) == pytest.approx(0.5, rel=1e-15, abs=0)
    assert cosine_annealing(0.1, 2, eta_min=0.5)(1) == pytest.approx(0.3, rel=1e-15, abs=0)
    assert linear_warmup(0, 1, start_factor=1)(0) == 0.0
    assert linear_warmup(2.0, 1, start_factor=1.0)(0) == 2.0
    assert linear_warmup(1.0, 1, start_factor=1e-9)(0) == pytest.approx(1e-9, rel=1e-15, abs=0)


def test_clip_grad_norm_of_float32_gradients_is_computed_in_float64():
    # squares of 3e20 overflow float32; the norm (5e20) does not
    g = [np.array([3e20, 4e20], np.float32)]
    assert clip_grad_norm_(g, 1.0) == pytest.approx(5e20, rel=1e-7)
    assert_allclose(g[0], [0.6, 0.8], rtol=1e-6)
    g = [np.array([3e20, -4e20], np.float32)]
    assert clip_grad_norm_(g, 1.0, norm_type=1.5) == pytest.approx(
        (3.0**1.5 + 4.0**1.5) ** (1 / 1.5) * 1e20, rel=1e-6)
    # and the sum of many float32 entries keeps float64 accuracy
    g = [np.full(10**5, 0.1, np.float32)]
    exact = math.sqrt(10**5 * float(np.float32(0.1)) ** 2)
    assert clip_grad_norm_(g, math.inf) == pytest.approx(exact, rel=1e-12)
