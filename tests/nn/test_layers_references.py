"""The layers of ``matfit.nn._layers`` one by one, against independent references.

References: ``torch.nn.Linear`` / ``torch.nn.Dropout`` / the activations in float64, the exact
initialisation formulas (He std sqrt(2 / fan_in), Glorot bound sqrt(6 / (fan_in + fan_out)),
LeCun std sqrt(1 / fan_in), PyTorch's Linear bound 1 / sqrt(fan_in)) checked with
Kolmogorov-Smirnov tests against SciPy's distributions, and plain NumPy written here.
Every upstream gradient is random, and fan_in != fan_out wherever a swap could hide.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats

from matfit import InvalidParameterError, ShapeError
from matfit.nn import (
    BatchNorm,
    Dense,
    Dropout,
    Layer,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)

torch = pytest.importorskip("torch")
TOL = {"rtol": 1e-12, "atol": 1e-13}


def _built(layer, n_inputs, *, dtype=np.float64, seed=0):
    layer.build(n_inputs, rng=np.random.default_rng(seed), dtype=dtype)
    return layer


# -- Dense initialisation: the exact distributions --------------------------------------------
FAN_IN, FAN_OUT = 300, 200          # 60,000 weights: a KS test tells std apart by well under 2%


@pytest.mark.parametrize(("init", "reference"), [
    ("he", stats.norm(scale=np.sqrt(2.0 / FAN_IN))),
    ("lecun", stats.norm(scale=np.sqrt(1.0 / FAN_IN))),
    ("xavier", stats.uniform(loc=-np.sqrt(6.0 / (FAN_IN + FAN_OUT)),
                             scale=2 * np.sqrt(6.0 / (FAN_IN + FAN_OUT)))),
    ("torch", stats.uniform(loc=-1 / np.sqrt(FAN_IN), scale=2 / np.sqrt(FAN_IN))),
])
def test_dense_kernel_follows_its_documented_distribution(init, reference):
    layer = _built(Dense(FAN_OUT, init=init), FAN_IN, seed=3)
    W = layer.params["W"]
    assert W.shape == (FAN_IN, FAN_OUT) and W.dtype == np.float64
    assert W.flags.c_contiguous
    # a std 5% off (sqrt(2.2/n) for sqrt(2/n)) gives a KS statistic of 0.014 here, p ~ 4e-10;
    # the right distribution gives p ~ U(0, 1), fixed by the seed
    assert stats.kstest(W.ravel(), reference.cdf).pvalue > 1e-3
    if reference.dist.name == "uniform":     # the bound itself, not only the spread
        lo, hi = reference.support()
        assert lo <= W.min() < lo * 0.999 and hi * 0.999 < W.max() <= hi


def test_dense_torch_init_matches_torch_nn_linear_reset_parameters():
    """matfit's "torch" init and nn.Linear's own draws come from the same distribution."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(FAN_IN, FAN_OUT).double()
    layer = _built(Dense(FAN_OUT, init="torch"), FAN_IN, seed=4)
    theirs_W = lin.weight.detach().numpy().ravel()
    assert stats.ks_2samp(layer.params["W"].ravel(), theirs_W).pvalue > 1e-3
    # biases: 200 draws each, uniform on +-1/sqrt(fan_in) on both sides
    bound = 1 / np.sqrt(FAN_IN)
    for b in (layer.params["b"], lin.bias.detach().numpy()):
        assert b.shape == (FAN_OUT,)
        assert np.all(np.abs(b) <= bound) and np.abs(b).max() > 0.95 * bound
        assert stats.kstest(b, stats.uniform(loc=-bound, scale=2 * bound).cdf).pvalue > 1e-3


@pytest.mark.parametrize("init", ["he", "xavier", "lecun", "zeros"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_biases_start_at_zero_except_with_torch_init(init, dtype):
    layer = _built(Dense(5, init=init), 7, dtype=dtype)
    assert set(layer.params) == {"W", "b"}
    assert layer.params["b"].dtype == dtype and layer.params["W"].dtype == dtype
    assert_array_equal(layer.params["b"], np.zeros(5))
    if init == "zeros":
        assert_array_equal(layer.params["W"], np.zeros((7, 5)))
    else:                                     # a random kernel has no zero entry
        assert np.all(layer.params["W"] != 0)
    for k, v in layer.params.items():         # zeroed gradients of the same shapes and dtypes
        assert layer.grads[k].shape == v.shape and layer.grads[k].dtype == dtype
        assert_array_equal(layer.grads[k], 0)


def test_dense_torch_init_in_float32_and_without_bias():
    layer = _built(Dense(4, init="torch"), 9, dtype=np.float32)
    assert layer.params["b"].dtype == np.float32 and layer.params["W"].dtype == np.float32
    assert np.all(layer.params["b"] != 0) and np.all(np.abs(layer.params["b"]) <= 1 / 3)
    nobias = _built(Dense(4, init="torch", bias=False), 9)
    assert set(nobias.params) == {"W"} and set(nobias.grads) == {"W"}


def test_build_returns_the_output_size_and_records_the_sizes():
    layer = Dense(3)
    assert not layer.built and layer.n_inputs is None and layer.n_outputs is None
    assert layer.dtype == np.float32 and layer.reuse_buffers is False     # the defaults
    assert layer.build(np.int64(5), rng=np.random.default_rng(0), dtype="float64") == 3
    assert layer.built and layer.n_inputs == 5 and type(layer.n_inputs) is int
    assert layer.n_outputs == 3 and layer.dtype == np.float64
    relu = ReLU()
    assert relu.build(6, rng=np.random.default_rng(0), dtype=np.float32) == 6
    assert relu.n_outputs == 6 and relu.dtype == np.float32 and relu.params == {}


# -- Dense passes against torch.nn.Linear -----------------------------------------------------
def _linear_pair(n_in, n_out, bias, seed=0):
    layer = _built(Dense(n_out, init="torch", bias=bias), n_in, seed=seed)
    lin = torch.nn.Linear(n_in, n_out, bias=bias).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.params["W"].T))
        if bias:
            lin.bias.copy_(torch.from_numpy(layer.params["b"]))
    return layer, lin


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("reuse", [True, False])
def test_dense_matches_torch_linear_and_overwrites_its_gradients(bias, reuse):
    layer, lin = _linear_pair(4, 3, bias)
    layer.reuse_buffers = reuse
    rng = np.random.default_rng(1)
    for step in range(2):                      # the second pass overwrites, never accumulates
        X, G = rng.standard_normal((5, 4)) * 10 ** step, rng.standard_normal((5, 3))
        Xt = torch.from_numpy(X.copy()).requires_grad_()
        lin.zero_grad()
        Yt = lin(Xt)
        Yt.backward(torch.from_numpy(G))
        Y = layer.forward(X)
        assert_allclose(Y, Yt.detach().numpy(), **TOL)
        dX = layer.backward(G)
        assert_allclose(dX, Xt.grad.numpy(), **TOL)
        assert_allclose(layer.grads["W"], lin.weight.grad.numpy().T, **TOL)
        if bias:
            assert_allclose(layer.grads["b"], lin.bias.grad.numpy(), **TOL)
        else:
            assert "b" not in layer.grads


def test_dense_backward_without_dx_still_fills_the_gradients():
    layer, lin = _linear_pair(4, 3, True)
    rng = np.random.default_rng(2)
    X, G = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    lin(torch.from_numpy(X)).backward(torch.from_numpy(G))
    layer.forward(X, training=True)
    assert layer.backward(G, need_dx=False) is None
    assert_allclose(layer.grads["W"], lin.weight.grad.numpy().T, **TOL)
    assert_allclose(layer.grads["b"], lin.bias.grad.numpy(), **TOL)


def test_dense_in_float32_agrees_with_a_float64_numpy_product():
    layer = _built(Dense(6, init="xavier"), 5, dtype=np.float32)
    layer.params["b"][...] = np.arange(6, dtype=np.float32) - 2.5
    X = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    Y = layer.forward(X)
    assert Y.dtype == np.float32
    ref = X.astype(np.float64) @ layer.params["W"].astype(np.float64) + layer.params["b"]
    assert_allclose(Y, ref, rtol=1e-5, atol=1e-5)


# -- Layer: validation, buffers, copies, repr --------------------------------------------------
def test_forward_of_an_unbuilt_layer_names_the_layer_and_the_fix():
    with pytest.raises(InvalidParameterError, match=r"^Tanh is not built: call build\(n_inputs"):
        Tanh().forward(np.ones((2, 3)))


@pytest.mark.parametrize("shape", [(4,), (2, 4), (2, 3, 1), (3, 2)])
def test_forward_checks_the_input_shape_by_name(shape):
    layer = _built(Dense(2), 3)
    with pytest.raises(ShapeError, match=(r"^Dense expects input of shape \(samples, 3\) but got "
                                          + r"\(" + r", ".join(map(str, shape)))):
        layer.forward(np.ones(shape))


def test_work_arrays_are_fresh_without_reuse_and_kept_per_name_and_shape_with_it():
    layer = _built(Tanh(), 3, dtype=np.float32)
    X = np.random.default_rng(4).standard_normal((2, 3)).astype(np.float32)
    Y1, Y2 = layer.forward(X), layer.forward(X)
    assert not np.shares_memory(Y1, Y2)
    assert_array_equal(Y1, np.tanh(X))
    a = layer._out("Y", (2, 3))
    assert a.dtype == np.float32 and a.shape == (2, 3)
    assert not np.shares_memory(a, layer._out("Y", (2, 3)))
    layer.reuse_buffers = True
    Y3 = layer.forward(X)
    assert np.shares_memory(Y3, layer.forward(X))
    assert layer._out("Y", (2, 3)) is layer._out("Y", (2, 3))
    assert layer._out("Y", (2, 3)) is not layer._out("dX", (2, 3))
    assert layer._out("Y", (2, 3)) is not layer._out("Y", (3, 3))
    assert layer._out("Y", (5, 3)).dtype == np.float32


def test_buffers_survive_seventeen_shapes_and_start_over_at_the_eighteenth():
    layer = _built(ReLU(), 1)
    layer.reuse_buffers = True
    first = [layer._out("Y", (n, 1)) for n in range(1, 18)]       # 17 shapes: all kept
    assert all(layer._out("Y", (n, 1)) is a for n, a in zip(range(1, 18), first, strict=True))
    layer._out("Y", (18, 1))                                        # one too many: start over
    assert layer._out("Y", (1, 1)) is not first[0]
    assert layer._out("Y", (18, 1)) is layer._out("Y", (18, 1))


def test_astype_converts_params_grads_and_state_and_drops_buffers():
    bn = _built(BatchNorm(), 3, dtype=np.float32)
    bn.running_mean[...] = [1.5, -2.0, 0.25]
    bn.reuse_buffers = True
    bn.forward(np.ones((4, 3), np.float32), training=False)
    assert bn._buffers
    bn.astype(np.float64)
    assert bn.dtype == np.float64 and not bn._buffers
    for d in (bn.params, bn.grads, bn._state()):
        assert {v.dtype for v in d.values()} == {np.dtype(np.float64)}
    assert_array_equal(bn.running_mean, [1.5, -2.0, 0.25])
    dense = _built(Dense(2), 3, dtype=np.float64)
    W = dense.params["W"].copy()
    dense.astype("float32")
    assert dense.params["W"].dtype == np.float32 and dense.grads["W"].dtype == np.float32
    assert dense.grads["b"].dtype == np.float32
    assert_allclose(dense.params["W"], W, rtol=1e-7)
    assert dense.dtype == np.float32
    dense.reuse_buffers = True
    X = np.random.default_rng(9).standard_normal((4, 3)).astype(np.float32)
    Y = dense.forward(X)
    assert Y.dtype == np.float32 and dense.backward(X[:, :2] * 3).dtype == np.float32
    assert_allclose(Y, X.astype(np.float64) @ W, rtol=1e-5, atol=1e-6)


def test_inference_copy_owns_cast_arrays_and_leaves_the_original_alone():
    bn = _built(BatchNorm(), 3, dtype=np.float64)
    bn.running_mean[...] = [1.0, 2.0, 3.0]
    bn.running_var[...] = [4.0, 0.5, 2.0]
    bn.params["gamma"][...] = [2.0, -1.0, 0.5]
    bn.reuse_buffers = True
    X = np.random.default_rng(5).standard_normal((4, 3))
    expected = bn.forward(X).copy()
    new = bn._inference_copy(np.float32)
    assert new is not bn and type(new) is BatchNorm
    assert new.dtype == np.float32 and new.grads == {} and new._buffers == {}
    assert new.reuse_buffers is False and bn.reuse_buffers is True and bn._buffers
    assert {v.dtype for v in (*new.params.values(), *new._state().values())} == {
        np.dtype(np.float32)}
    for k in bn.params:
        assert not np.shares_memory(new.params[k], bn.params[k])
    assert not np.shares_memory(new.running_mean, bn.running_mean)
    assert_allclose(new.forward(X.astype(np.float32)), expected, rtol=1e-6)
    new.params["gamma"][...] = 0                     # the original keeps its own arrays
    new.running_mean[...] = 0
    assert_array_equal(bn.params["gamma"], [2.0, -1.0, 0.5])
    assert_array_equal(bn.running_mean, [1.0, 2.0, 3.0])
    assert bn.dtype == np.float64 and bn.grads["gamma"].dtype == np.float64
    # a same-dtype copy owns its arrays too
    same = bn._inference_copy(np.float64)
    assert not np.shares_memory(same.params["gamma"], bn.params["gamma"])
    # and an inference copy's buffers are fresh per call (reuse is off)
    Y1, Y2 = new.forward(X.astype(np.float32)), new.forward(X.astype(np.float32))
    assert not np.shares_memory(Y1, Y2)


def test_inference_copy_of_a_dense_layer_predicts_in_the_new_dtype():
    dense = _built(Dense(3, init="torch"), 4, dtype=np.float64)
    X = np.random.default_rng(6).standard_normal((5, 4))
    ref = X @ dense.params["W"] + dense.params["b"]
    new = dense._inference_copy(np.float32)
    Y = new.forward(X.astype(np.float32))
    assert Y.dtype == np.float32
    assert_allclose(Y, ref, rtol=1e-5, atol=1e-6)
    assert dense.params["W"].dtype == np.float64 and set(dense.grads) == {"W", "b"}


def test_base_layer_passes_are_abstract():
    layer = _built(Layer(), 2)
    with pytest.raises(NotImplementedError):
        layer.forward(np.ones((1, 2)))
    with pytest.raises(NotImplementedError):
        layer.backward(np.ones((1, 2)))
    assert layer._state() == {} and layer.config() == {}


@pytest.mark.parametrize(("make", "text"), [
    (lambda: Dense(3), "Dense(units=3, init='he', bias=True)"),
    (lambda: Dense(np.int32(2), init="zeros", bias=0), "Dense(units=2, init='zeros', bias=False)"),
    (lambda: LeakyReLU(1), "LeakyReLU(negative_slope=1.0)"),
    (lambda: Dropout(0), "Dropout(p=0.0)"),
    (ReLU, "ReLU()"),
])
def test_repr_shows_the_constructor_arguments(make, text):
    assert repr(make()) == text


def test_default_slope_and_drop_probability_are_torchs():
    assert LeakyReLU().negative_slope == torch.nn.LeakyReLU().negative_slope == 0.01
    assert Dropout().p == torch.nn.Dropout().p == 0.5
    assert repr(LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(Dropout()) == "Dropout(p=0.5)"


# -- constructor validation --------------------------------------------------------------------
@pytest.mark.parametrize("units", [0, -1, True, 2.0, "3", None])
def test_dense_rejects_a_bad_unit_count_by_name(units):
    with pytest.raises(InvalidParameterError,
                       match=rf"^Dense\(units={units!r}\): units must be an integer >= 1\.$"):
        Dense(units)


def test_dense_accepts_numpy_integers_and_one_unit():
    assert Dense(np.int64(1)).units == 1 and type(Dense(np.int64(1)).units) is int


def test_dense_rejects_an_unknown_init_naming_the_choices():
    with pytest.raises(InvalidParameterError, match=r"^Dense\(init='glorot'\): init must be one "
                                                    r"of \('he', 'xavier', 'lecun', 'torch', "
                                                    r"'zeros'\)\.$"):
        Dense(3, init="glorot")


@pytest.mark.parametrize("slope", [np.nan, np.inf, -np.inf, "0.1", None])
def test_leaky_relu_rejects_a_non_finite_or_non_numeric_slope(slope):
    with pytest.raises(InvalidParameterError,
                       match=rf"^LeakyReLU\(negative_slope={slope!r}\): must be a finite number"):
        LeakyReLU(slope)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1, 1.5, "0.5", None])
def test_dropout_rejects_p_outside_zero_to_one(p):
    with pytest.raises(InvalidParameterError,
                       match=rf"^Dropout\(p={p!r}\): p must lie in \[0, 1\)\.$"):
        Dropout(p)


# -- activations at the kink and in float32 ----------------------------------------------------
@pytest.mark.parametrize(("layer", "tmod"), [
    (ReLU(), torch.nn.ReLU()),
    (LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)),
    (LeakyReLU(-2.0), torch.nn.LeakyReLU(-2.0)),
    (Tanh(), torch.nn.Tanh()),
    (Sigmoid(), torch.nn.Sigmoid()),
    (Softmax(), torch.nn.Softmax(dim=1)),
], ids=["relu", "leaky_relu", "leaky_relu_negative", "tanh", "sigmoid", "softmax"])
@pytest.mark.parametrize("reuse", [False, True])
def test_activations_match_torch_at_exact_zeros_with_and_without_buffers(layer, tmod, reuse):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((5, 4)) * 3
    X[0] = 0.0                                   # the kink: torch takes the derivative from x <= 0
    X[1, :2] = [1e-300, -1e-300]
    layer = _built(type(layer)(**layer.config()), 4)
    layer.reuse_buffers = reuse
    for _ in range(2):                           # a second pass through the same buffers
        G = rng.standard_normal((5, 4))
        Xt = torch.from_numpy(X.copy()).requires_grad_()
        Yt = tmod(Xt)
        Yt.backward(torch.from_numpy(G))
        assert_allclose(layer.forward(X, training=True), Yt.detach().numpy(), **TOL)
        assert_allclose(layer.backward(G), Xt.grad.numpy(), **TOL)


@pytest.mark.parametrize("cls", [ReLU, LeakyReLU, Tanh, Sigmoid, Softmax])
def test_float32_activations_stay_float32_and_agree_with_float64(cls):
    rng = np.random.default_rng(8)
    X, G = rng.standard_normal((6, 5)) * 2, rng.standard_normal((6, 5))
    ref, low = _built(cls(), 5), _built(cls(), 5, dtype=np.float32)
    Y64, dX64 = ref.forward(X), ref.backward(G)
    Y32 = low.forward(X.astype(np.float32))
    dX32 = low.backward(G.astype(np.float32))
    assert Y32.dtype == np.float32 and dX32.dtype == np.float32
    assert_allclose(Y32, Y64, rtol=1e-5, atol=1e-6)
    assert_allclose(dX32, dX64, rtol=1e-4, atol=1e-6)


# -- Dropout against its definition and torch.nn.Dropout --------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_entries_with_probability_1_minus_p_scaled_like_torch(p, dtype):
    n = 40_000
    layer = _built(Dropout(p), 200, dtype=dtype, seed=11)
    X = np.random.default_rng(12).uniform(0.5, 2.0, (n // 200, 200)).astype(dtype)
    Y = layer.forward(X, training=True)
    assert Y.dtype == dtype and Y.shape == X.shape
    kept = Y != 0
    # torch.nn.Dropout's kept entries are x / (1 - p), in the same arithmetic
    t = torch.nn.Dropout(p).train()
    Yt = t(torch.from_numpy(X)).numpy()
    assert_allclose(Y[kept], X[kept] * dtype(1.0 / (1.0 - p)), rtol=2e-7 if dtype == np.float32
                    else 1e-15)
    assert_allclose(Yt[Yt != 0], X[Yt != 0] / (1 - p), rtol=2e-7 if dtype == np.float32
                    else 1e-15)
    # the number kept is Binomial(n, 1 - p): within 5 standard deviations
    sd = np.sqrt(n * p * (1 - p))
    assert abs(kept.sum() - n * (1 - p)) < 5 * sd
    assert abs((Yt != 0).sum() - n * (1 - p)) < 5 * sd
    # and the entries are independent: the kept fraction per column is Binomial(200, 1 - p)
    per_col = kept.mean(axis=0)
    assert stats.kstest(kept.sum(axis=0), stats.binom(n // 200, 1 - p).cdf).statistic < 0.2
    assert per_col.std() < 3 * np.sqrt(p * (1 - p) / (n // 200))
    # backward multiplies by the same mask: a random upstream gradient, torch as reference
    G = np.random.default_rng(13).standard_normal(X.shape).astype(dtype)
    dX = layer.backward(G)
    assert dX.dtype == dtype
    assert_array_equal(dX == 0, ~kept)
    assert_allclose(dX[kept], G[kept] * dtype(1.0 / (1.0 - p)), rtol=2e-7 if dtype == np.float32
                    else 1e-15)


@pytest.mark.parametrize("p", [0.0, 0.3])
def test_dropout_in_evaluation_and_with_p_zero_is_the_identity_like_torch(p):
    layer = _built(Dropout(p), 50)
    X = np.random.default_rng(14).standard_normal((20, 50))
    G = np.random.default_rng(15).standard_normal((20, 50))
    modes = [False] + ([True] if p == 0 else [])
    for training in modes:
        t = torch.nn.Dropout(p).train(training)
        assert_array_equal(layer.forward(X, training=training), t(torch.from_numpy(X)).numpy())
        assert_array_equal(layer.backward(G), G)
    if p > 0:
        layer.forward(X, training=True)              # a training pass caches a mask ...
        assert np.any(layer.backward(G) == 0)
        layer.forward(X, training=False)             # ... an evaluation pass forgets it
        assert_array_equal(layer.backward(G), G)


def test_dropout_draws_its_mask_from_the_generator_it_was_built_with():
    """Two layers built with equal generators drop the same entries; the mask changes per call."""
    a, b = _built(Dropout(0.5), 30, seed=21), _built(Dropout(0.5), 30, seed=21)
    c = _built(Dropout(0.5), 30, seed=22)
    X = np.ones((10, 30))
    Ya1, Ya2 = a.forward(X, training=True).copy(), a.forward(X, training=True).copy()
    assert_array_equal(b.forward(X, training=True), Ya1)
    assert np.mean(Ya1 != Ya2) > 0.3 and np.mean(c.forward(X, training=True) != Ya1) > 0.3
    model = Sequential([Dense(4), Dropout(0.5)], n_features=3, dtype=np.float64, seed=5)
    assert model.layers[1].rng is model.rng


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_uses_a_fixed_mask_of_the_right_shape_and_draws_otherwise(dtype):
    layer = _built(Dropout(0.25), 4, dtype=dtype)
    rng = np.random.default_rng(16)
    fixed = (rng.random((3, 4)) >= 0.25) / 0.75
    layer.fixed_mask = fixed
    X, G = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert_allclose(layer.forward(X.astype(dtype), training=True), X * fixed, rtol=1e-6)
    assert_allclose(layer.backward(G.astype(dtype)), G * fixed, rtol=1e-6)
    # another batch size: a fresh mask of that shape, entries 0 or 1/(1 - p)
    X5 = np.ones((500, 4), dtype)
    Y5 = layer.forward(X5, training=True)
    assert set(np.unique(Y5)) == {0.0, dtype(1 / 0.75)}
    assert abs(np.mean(Y5 == 0) - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 2000)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.3, "a draw"])
def test_dropout_mask_is_uniform_draws_in_the_layer_dtype_kept_where_at_least_p(p, dtype):
    """The documented draw, in plain NumPy: u ~ U[0, 1) from the layer's generator, in the
    layer's dtype (float32 models draw float32), and an entry is kept where u >= p, so that
    P(keep) is exactly 1 - p on the grid of representable u (u > p would lose one grid step)."""
    shape = (40, 25)
    u = np.random.default_rng(31).random(shape, dtype=dtype)
    if p == "a draw":                        # a p that some u equals exactly: that entry stays
        p = float(u[3, 7])
    layer = _built(Dropout(p), 25, dtype=dtype, seed=31)
    X = np.random.default_rng(32).uniform(1.0, 2.0, shape).astype(dtype)
    Y = layer.forward(X, training=True)
    keep = u >= p
    assert_array_equal(Y != 0, keep)
    assert keep[3, 7] or p == 0.3
    assert_allclose(Y[keep], X[keep] / (1 - p), rtol=4e-7 if dtype == np.float32 else 1e-15)
    # the next batch continues the same stream
    Y2 = layer.forward(X, training=True)
    u2 = np.random.default_rng(31)
    u2.random(shape, dtype=dtype)
    assert_array_equal(Y2 != 0, u2.random(shape, dtype=dtype) >= p)


def test_dropout_of_zero_in_training_returns_its_input_and_draws_nothing():
    """Dropout(0.0) is the identity in training too, and leaves the generator alone: the layers
    after it see the same random stream as without it."""
    layer = _built(Dropout(0.0), 6, seed=33)
    before = layer.rng.bit_generator.state
    X = np.random.default_rng(34).standard_normal((5, 6))
    G = np.random.default_rng(35).standard_normal((5, 6))
    assert layer.forward(X, training=True) is X
    assert layer.backward(G) is G
    assert layer.rng.bit_generator.state == before
    with_zero = Sequential([Dense(6), Dropout(0.0), Dropout(0.5)], n_features=4,
                           dtype=np.float64, seed=9)
    without = Sequential([Dense(6), Dropout(0.5)], n_features=4, dtype=np.float64, seed=9)
    Xm = np.random.default_rng(36).standard_normal((8, 4))
    assert_array_equal(with_zero.forward(Xm, training=True) == 0,
                       without.forward(Xm, training=True) == 0)


def test_a_dropout_layer_has_a_generator_before_it_is_built():
    assert isinstance(Dropout(0.2).rng, np.random.Generator)


def _reference(layer, X):
    """Plain NumPy outputs (Dropout: X / (1 - p) where the layer kept the entry)."""
    if isinstance(layer, Dense):
        return X @ layer.params["W"] + (layer.params["b"] if layer.bias else 0)
    if isinstance(layer, LeakyReLU):
        return np.where(X > 0, X, layer.negative_slope * X)
    return {ReLU: lambda: np.maximum(X, 0), Tanh: lambda: np.tanh(X),
            Sigmoid: lambda: 1 / (1 + np.exp(-X)),
            Softmax: lambda: np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)}[type(layer)]()


@pytest.mark.parametrize("make", [
    lambda: Dense(3, init="torch"), lambda: Dense(3, bias=False), ReLU,
    lambda: LeakyReLU(0.2), Tanh, Sigmoid, Softmax, lambda: Dropout(0.3),
], ids=["dense", "dense_nobias", "relu", "leaky_relu", "tanh", "sigmoid", "softmax", "dropout"])
def test_every_layer_writes_into_kept_buffers_only_when_reuse_is_on(make):
    """fit turns reuse_buffers on so an epoch allocates almost nothing: the second pass of a
    batch shape writes into the first pass's arrays; public calls without it get fresh ones."""
    rng = np.random.default_rng(37)
    for reuse in (True, False):
        layer = _built(make(), 4, seed=38)
        layer.reuse_buffers = reuse
        outs, grads = [], []
        for _ in range(2):
            X, G = rng.standard_normal((5, 4)), rng.standard_normal((5, layer.n_outputs))
            Y = layer.forward(X, training=True)
            if isinstance(layer, Dropout):
                kept = Y != 0
                assert_allclose(Y[kept], X[kept] / 0.7, rtol=1e-15)
                assert 0 < kept.sum() < kept.size
            else:
                assert_allclose(Y, _reference(layer, X), **TOL)
            outs.append(Y)
            dX = layer.backward(G)
            assert dX.shape == X.shape
            grads.append(dX)
        assert np.shares_memory(*outs) == reuse
        assert np.shares_memory(*grads) == reuse
