"""The optimiser contract of matfit.optim._base: parameter trees (dict, list, tuple, one array),
how grads are matched to params (by key, by position) and the messages when they are not, the
parameter checks' messages and edges, and ``lerp_`` bit for bit against ``torch.lerp``."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from matfit import InvalidParameterError, ShapeError
from matfit.optim import sgd
from matfit.optim._base import (
    check_lr,
    check_range,
    lerp_,
    tree_keys,
    tree_leaves,
    tree_map,
    tree_unflatten,
)


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


def test_tree_helpers():
    a, b = np.zeros(2), np.ones(3)
    assert tree_keys({"x": a, "y": b}) == ["x", "y"]
    assert tree_keys([a, b]) == [0, 1] and tree_keys((a,)) == [0] and tree_keys(a) == [None]
    assert tree_leaves({"y": b, "x": a})[0] is b
    assert tree_leaves((a, b))[1] is b and tree_leaves(a)[0] is a
    assert tree_unflatten({"p": 0, "q": 0}, [1, 2]) == {"p": 1, "q": 2}
    assert tree_unflatten((0, 0), [1, 2]) == (1, 2)
    assert tree_unflatten([0], [5]) == [5] and tree_unflatten(a, [7]) == 7
    assert tree_map(lambda u, v: u + v, {"k": 1, "m": 2}, {"k": 10, "m": 20}) == {"k": 11, "m": 22}
    assert tree_map(lambda u: -u, (1, 2)) == (-1, -2)
    with pytest.raises(ValueError, match="zip"):
        tree_map(lambda u, v: u, [1, 2], [1])
    with pytest.raises(ValueError, match="zip"):
        tree_map(lambda u, v: u, {"k": 1}, [1, 2])
    with pytest.raises(ValueError, match="zip"):
        tree_unflatten({"p": 0, "q": 0}, [1])


def _one_sgd_step(grads, params, lr=0.5):
    opt = sgd(lr)
    return opt.update(grads, opt.init(params), params)[0]


def test_grads_are_matched_to_params_by_key_not_by_order():
    params = {"a": np.array([1.0, 2.0]), "b": np.array([3.0])}
    out = _one_sgd_step({"b": np.array([2.0]), "a": np.array([4.0, 6.0])}, params)
    assert list(out) == ["a", "b"]
    assert_allclose(out["a"], [-1.0, -1.0]) and assert_allclose(out["b"], [2.0])
    out = _one_sgd_step((np.array([2.0, 2.0]), np.array([4.0])), [params["a"], params["b"]])
    assert isinstance(out, list)
    assert_allclose(out[0], [0.0, 1.0]) and assert_allclose(out[1], [1.0])


def test_integer_parameters_become_float64_and_the_inputs_stay_untouched():
    params = {"w": np.array([1, 2]), "v": np.array([1.0, 2.0], np.float32)}
    grads = {"w": np.array([1, 1]), "v": np.array([1.0, 1.0], np.float32)}
    opt = sgd(0.25, momentum=0.5)
    state = opt.init(params)
    assert state.momentum_buffer["w"].dtype == np.float64
    assert state.momentum_buffer["v"].dtype == np.float32
    out, new_state = opt.update(grads, state, params)
    assert out["w"].dtype == np.float64 and out["v"].dtype == np.float32
    assert_allclose(out["w"], [0.75, 1.75])
    assert params["w"].tolist() == [1, 2] and params["v"].tolist() == [1.0, 2.0]
    assert_allclose(state.momentum_buffer["w"], 0.0)            # the old state is not modified
    assert_allclose(new_state.momentum_buffer["w"], 1.0)
    assert new_state.momentum_buffer["w"] is not state.momentum_buffer["w"]
    out2, _ = opt.update(grads, new_state, out)                 # buffer: 0.5 * 1 + 1
    assert_allclose(out2["w"], [0.75 - 0.25 * 1.5, 1.75 - 0.25 * 1.5])
    assert_allclose(new_state.momentum_buffer["w"], 1.0)
    work = opt.make_work(params)
    assert len(work) == 2 and all(len(w) == 2 for w in work)
    assert work[0][0].shape == (2,) and work[0][0].dtype == np.float64
    assert work[1][1].dtype == np.float32


@pytest.mark.parametrize(("grads", "params", "message"), [
    ({"a": np.ones(2)}, {"a": np.ones(2), "b": np.ones(1)},
     "grads must be a dict with the same keys as params; missing ['b']; got dict."),
    ({"a": np.ones(2)}, {"c": np.ones(1), "a": np.ones(2), "b": np.ones(1)},
     "grads must be a dict with the same keys as params; missing ['b', 'c']; got dict."),
    ({"a": np.ones(2), "z": np.ones(1)}, {"a": np.ones(2)},
     "grads must be a dict with the same keys as params; got dict."),
    ([np.ones(2)], {"a": np.ones(2)},
     "grads must be a dict with the same keys as params; got list."),
    ([np.ones(2)], [np.ones(2), np.ones(1)],
     "grads has 1 arrays but params has 2; pass one gradient per parameter, in the same order."),
    ((np.ones(2), np.ones(1), np.ones(1)), [np.ones(2), np.ones(1)],
     "grads has 3 arrays but params has 2; pass one gradient per parameter, in the same order."),
    ([np.ones(2), np.ones(3)], [np.ones(2), np.ones(1)],
     "grads[1] has shape (3,) but params[1] has shape (1,); each gradient must match its "
     "parameter."),
    ({"k": np.ones((2, 1))}, {"k": np.ones(2)},
     "grads['k'] has shape (2, 1) but params['k'] has shape (2,); each gradient must match its "
     "parameter."),
    (np.ones(3), np.ones((3, 1)),
     "grads[None] has shape (3,) but params[None] has shape (3, 1); each gradient must match "
     "its parameter."),
])
def test_mismatched_grads_are_named(grads, params, message):
    with pytest.raises(ShapeError, match=exactly(message)):
        _one_sgd_step(grads, params)


@pytest.mark.parametrize("lr", [-1e-9, math.inf, -math.inf, math.nan, "0.1", None, [0.1]])
def test_check_lr_rejects(lr):
    with pytest.raises(InvalidParameterError, match=exactly(
            f"opt(lr={lr!r}): lr must be a finite number >= 0 or a schedule (a callable step "
            f"-> lr).")):
        check_lr(lr, "opt")


@pytest.mark.parametrize("lr", [0, 0.0, 1e300, np.float32(0.1), np.int64(2), 3, lambda c: -1.0])
def test_check_lr_accepts(lr):
    assert check_lr(lr, "opt") is None


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (-0.1, {}, "f(x=-0.1): x must lie in [0.0, inf)."),
    (math.inf, {}, "f(x=inf): x must lie in [0.0, inf)."),
    (math.nan, {}, "f(x=nan): x must lie in [0.0, inf)."),
    ("1", {}, "f(x='1'): x must lie in [0.0, inf)."),
    (1.0, {"hi": 1.0}, "f(x=1.0): x must lie in [0.0, 1.0)."),
    (0.0, {"lo_open": True}, "f(x=0.0): x must lie in (0.0, inf)."),
    (1.5, {"hi": 1.0, "hi_open": False}, "f(x=1.5): x must lie in [0.0, 1.0]."),
    (0.0, {"hi": 2.0, "lo_open": True, "hi_open": False}, "f(x=0.0): x must lie in (0.0, 2.0]."),
    (-1, {"hi": 2.0, "lo_open": True, "hi_open": False}, "f(x=-1): x must lie in (0.0, 2.0]."),
])
def test_check_range_rejects_with_the_interval(value, kwargs, message):
    with pytest.raises(InvalidParameterError, match=exactly(message)):
        check_range(value, "x", "f", 0.0, **kwargs)


@pytest.mark.parametrize(("value", "kwargs"), [
    (0.0, {}), (0, {}), (1e300, {}), (np.float32(0.5), {"hi": 1.0}), (np.int64(0), {"hi": 1.0}),
    (0.999, {"hi": 1.0}), (1.0, {"hi": 1.0, "hi_open": False}), (1e-300, {"lo_open": True}),
    (2.0, {"hi": 2.0, "lo_open": True, "hi_open": False}),
])
def test_check_range_accepts_the_edges(value, kwargs):
    assert check_range(value, "x", "f", 0.0, **kwargs) is None


def test_schedule_is_called_with_the_number_of_updates_done():
    seen = []

    def schedule(count):
        seen.append(count)
        return np.float32(0.5)

    opt = sgd(schedule)
    params = [np.array([1.0])]
    state = opt.init(params)
    for _ in range(3):
        params, state = opt.update([np.array([1.0])], state, params)
    assert seen == [0, 1, 2]
    assert_allclose(params[0], [1.0 - 3 * 0.5])


def plain_lerp(a, b, w):
    """torch.lerp's scalar formula (aten/src/ATen/native/Lerp.h): exact at both ends."""
    return a + w * (b - a) if abs(w) < 0.5 else b - (b - a) * (1 - w)


@pytest.mark.parametrize("weight", [0.0, 0.1, 0.3, 0.4999, 0.5, 0.5001, 0.7, 0.99, 1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lerp_is_torchs_two_formula_lerp(weight, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a = (rng.standard_normal(200) * 10.0 ** rng.integers(-3, 4, 200)).astype(dtype)
    b = (rng.standard_normal(200) * 10.0 ** rng.integers(-3, 4, 200)).astype(dtype)
    ours, tmp = a.copy(), np.empty_like(a)
    assert lerp_(ours, b, weight, tmp) is None
    # the same two roundings as torch's scalar kernel (its vector kernel fuses them with FMA)
    assert_array_equal(ours, plain_lerp(a, b, weight))
    expected = torch.lerp(torch.from_numpy(a.copy()), torch.from_numpy(b.copy()),
                          float(weight)).numpy()
    # FMA or not: within a few roundings of the operands' magnitude
    bound = 4 * np.finfo(dtype).eps * (np.abs(a).astype(float) + np.abs(b))
    assert np.all(np.abs(ours.astype(float) - expected) <= bound)
    if weight == 0.0:
        assert_array_equal(ours, a)
    if weight == 1.0:
        assert_array_equal(ours, b)
