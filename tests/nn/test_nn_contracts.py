"""Layer and loss contracts pinned against independent references: PyTorch (float64), SciPy,
finite differences and plain NumPy written here. Written from the survivors of the mutation runs
(``python tools/mutation.py nn/_batchnorm nn/_losses nn/_layers``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError, ShapeError
from matfit.nn import (
    BatchNorm,
    BinaryCrossEntropy,
    CrossEntropy,
    Dense,
    MeanSquaredError,
    ReLU,
    Sequential,
    gradcheck,
)

torch = pytest.importorskip("torch")
TOL = {"rtol": 1e-10, "atol": 1e-12}


# -- BatchNorm ------------------------------------------------------------------------------

def _bn_pair(n_features, momentum=0.1, eps=1e-5, seed=0):
    rng = np.random.default_rng(seed)
    bn = BatchNorm(momentum=momentum, eps=eps)
    bn.build(n_features, rng=rng, dtype=np.float64)
    bn.params["gamma"][...] = rng.standard_normal(n_features)
    bn.params["beta"][...] = rng.standard_normal(n_features)
    tbn = torch.nn.BatchNorm1d(n_features, momentum=momentum, eps=eps).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.from_numpy(bn.params["gamma"]))
        tbn.bias.copy_(torch.from_numpy(bn.params["beta"]))
    return bn, tbn, rng


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_batchnorm_momentum_at_both_ends_of_its_range_matches_torch(momentum):
    # momentum 0: the running statistics never move; 1: they are the last batch's (unbiased)
    bn, tbn, rng = _bn_pair(4, momentum=momentum)
    tbn.train()
    for k in range(3):
        X = rng.standard_normal((5, 4)) * 3 + 2
        Y = bn.forward(X, training=True)
        Yt = tbn(torch.from_numpy(X)).detach().numpy()
        assert_allclose(Y, Yt, **TOL)
        assert bn.num_batches_tracked == int(tbn.num_batches_tracked) == k + 1
    assert_allclose(bn.running_mean, tbn.running_mean.numpy(), **TOL)
    assert_allclose(bn.running_var, tbn.running_var.numpy(), **TOL)
    if momentum == 1.0:
        assert_allclose(bn.running_var, X.var(axis=0, ddof=1), rtol=1e-12)
    else:
        assert_allclose(bn.running_mean, 0.0, atol=0)
        assert_allclose(bn.running_var, 1.0, rtol=0)


def test_batchnorm_counts_batches_from_zero_as_torch():
    bn, tbn, rng = _bn_pair(3)
    assert bn.num_batches_tracked == 0 == int(tbn.num_batches_tracked)
    bn.forward(rng.standard_normal((4, 3)), training=False)     # evaluation does not count
    assert bn.num_batches_tracked == 0


def test_batchnorm_trains_on_a_batch_of_two_like_torch():
    bn, tbn, rng = _bn_pair(3, momentum=0.3)
    X, G = rng.standard_normal((2, 3)) * 2, rng.standard_normal((2, 3))
    tbn.train()
    Xt = torch.from_numpy(X.copy()).requires_grad_()
    tbn(Xt).backward(torch.from_numpy(G))
    Y = bn.forward(X, training=True)
    assert_allclose(Y, tbn(torch.from_numpy(X)).detach().numpy(), **TOL)
    assert_allclose(bn.backward(G), Xt.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"eps": 0.0}, r"BatchNorm\(eps=0.0\): eps must be > 0"),
    ({"eps": -1e-5}, r"BatchNorm\(eps=-1e-05\): eps must be > 0"),
    ({"eps": "1e-5"}, r"BatchNorm\(eps='1e-5'\): eps must be > 0"),
    ({"momentum": -0.1}, r"BatchNorm\(momentum=-0.1\): momentum must lie in \[0, 1\]"),
    ({"momentum": 1.5}, r"BatchNorm\(momentum=1.5\): momentum must lie in \[0, 1\]"),
    ({"momentum": "0.1"}, r"momentum must lie in \[0, 1\]"),
])
def test_batchnorm_rejects_bad_eps_and_momentum_by_name(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        BatchNorm(**kwargs)


def test_float32_batchnorm_keeps_float32_and_agrees_with_float64():
    rng = np.random.default_rng(3)
    X, G = rng.standard_normal((6, 4)) * 2 + 1, rng.standard_normal((6, 4))
    layers = {}
    for dtype in (np.float32, np.float64):
        bn = BatchNorm()
        bn.build(4, rng=rng, dtype=dtype)
        for arr in (*bn.params.values(), *bn.grads.values(), bn.running_mean, bn.running_var):
            assert arr.dtype == dtype
        layers[dtype] = bn
    for training in (True, False):
        out = {}
        for dtype, bn in layers.items():
            Y = bn.forward(X.astype(dtype), training=training)
            # a float64 upstream gradient still gives the layer's dtype (as in training mode)
            dX = bn.backward(G)
            assert Y.dtype == dX.dtype == dtype, (training, dtype)
            assert bn.running_var.dtype == bn.running_mean.dtype == dtype
            out[dtype] = (Y, dX, bn.grads["gamma"].copy())
        for a, b in zip(out[np.float32], out[np.float64], strict=True):
            assert_allclose(a, b, rtol=2e-5, atol=2e-5)


def test_batchnorm_running_statistics_survive_astype_and_inference_copies():
    bn, _, rng = _bn_pair(3)
    for _ in range(2):
        bn.forward(rng.standard_normal((5, 3)) + 4, training=True)
    mean, var = bn.running_mean.copy(), bn.running_var.copy()
    copy32 = bn._inference_copy(np.float32)
    assert copy32.running_mean.dtype == copy32.running_var.dtype == np.float32
    assert_allclose(copy32.running_mean, mean, rtol=1e-7)
    assert_allclose(copy32.running_var, var, rtol=1e-7)
    assert bn.running_mean.dtype == np.float64                  # the original is untouched
    X = rng.standard_normal((4, 3))
    assert_allclose(copy32.forward(X.astype(np.float32)),
                    (X - mean) / np.sqrt(var + 1e-5) * bn.params["gamma"] + bn.params["beta"],
                    rtol=1e-5, atol=1e-5)
    bn.astype(np.float32)
    assert bn.running_var.dtype == np.float32
    assert_allclose(bn.running_var, var, rtol=1e-7)


def test_saved_file_keeps_running_statistics_under_documented_names(tmp_path):
    model = Sequential([Dense(3), BatchNorm(), ReLU(), Dense(2)], n_features=4,
                       dtype=np.float64, seed=0)
    rng = np.random.default_rng(4)
    for _ in range(3):
        model.forward(rng.standard_normal((6, 4)) * 2, training=True)
    path = model.save(tmp_path / "bn")
    with np.load(path) as stored:           # the file format other versions read
        assert_allclose(stored["1.running_mean"], model.layers[1].running_mean, rtol=0)
        assert_allclose(stored["1.running_var"], model.layers[1].running_var, rtol=0)


# -- losses ---------------------------------------------------------------------------------

def _unnormalised_soft_targets(n, k, seed):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(k), n) * rng.uniform(0.2, 3.0, (n, 1))   # rows sum != 1


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_cross_entropy_with_rows_not_summing_to_one_passes_gradcheck(scale):
    # hand-made label smoothing / weighted soft labels: the loss -sum y log softmax(z) has the
    # gradient sum(y) softmax - y, not softmax - y
    Z = np.random.default_rng(5).standard_normal((6, 4)) * scale
    Y = _unnormalised_soft_targets(6, 4, 6)
    assert np.ptp(Y.sum(axis=1)) > 0.5
    report = gradcheck("cross_entropy", Z, Y, max_entries=None)
    assert report.passed(1e-6 * scale), report
    value, grad = CrossEntropy().value_and_grad(Z.copy(), Y)
    want = -np.mean(np.sum(Y * scipy.special.log_softmax(Z, axis=1), axis=1))
    assert value == pytest.approx(want, rel=1e-12, abs=0)
    want_grad = (Y.sum(axis=1, keepdims=True) * scipy.special.softmax(Z, axis=1) - Y) / 6
    assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("z", [-20.0, -40.0, -700.0, 20.0, 40.0])
def test_binary_cross_entropy_keeps_full_precision_where_log1p_matters(z):
    # log(1 + e) loses e entirely below ~1e-16 (and half its digits at 1e-8); log1p does not.
    # the target that makes the loss tiny: y = 0 for z << 0, y = 1 for z >> 0
    y = 0.0 if z < 0 else 1.0
    value, grad = BinaryCrossEntropy().value_and_grad(np.array([[z]]), np.array([[y]]))
    want = -scipy.special.log_expit(-z) if y == 0 else -scipy.special.log_expit(z)
    assert want > 0
    assert value == pytest.approx(want, rel=1e-14, abs=0)
    assert grad[0, 0] == pytest.approx(scipy.special.expit(z) - y, rel=1e-14, abs=0)


def test_binary_cross_entropy_at_zero_logits_and_soft_targets():
    z = np.array([[0.0, 0.0, 2.0], [-3.0, 0.0, 1.0]])
    y = np.array([[0.0, 1.0, 0.25], [0.5, 0.3, 1.0]])
    value, grad = BinaryCrossEntropy().value_and_grad(z.copy(), y)
    want = np.mean(-y * scipy.special.log_expit(z) - (1 - y) * scipy.special.log_expit(-z))
    assert value == pytest.approx(want, rel=1e-14, abs=0)
    assert_allclose(grad, (scipy.special.expit(z) - y) / z.size, rtol=1e-14, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_gradients_go_into_out_when_it_is_given(dtype):
    rng = np.random.default_rng(7)
    Z = (rng.standard_normal((5, 3)) * 3).astype(dtype)
    cases = [(CrossEntropy(), rng.integers(0, 3, 5)),
             (CrossEntropy(), _unnormalised_soft_targets(5, 3, 8).astype(dtype)),
             (BinaryCrossEntropy(), (rng.random((5, 3)) > 0.5).astype(dtype)),
             (MeanSquaredError(), rng.standard_normal((5, 3)).astype(dtype))]
    for loss, y in cases:
        want_value, want = loss.value_and_grad(Z.copy(), y)
        out = np.full_like(Z, np.nan)
        value, grad = loss.value_and_grad(Z.copy(), y, out=out)
        assert grad is out and grad.dtype == dtype, loss
        assert_allclose(out, want, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)
        assert value == want_value
        # value() is the same number without a gradient
        assert loss.value(Z.copy(), y) == pytest.approx(want_value, rel=1e-15, abs=0)
        assert loss(Z.copy(), y) == pytest.approx(want_value, rel=1e-15, abs=0)


def test_float32_losses_agree_with_float64_references():
    rng = np.random.default_rng(9)
    Z = (rng.standard_normal((64, 5)) * 4).astype(np.float32)
    Z64 = Z.astype(np.float64)
    labels = rng.integers(0, 5, 64)
    soft = _unnormalised_soft_targets(64, 5, 10)
    B = (rng.random((64, 5)) > 0.5).astype(np.float64)
    refs = [
        (CrossEntropy(), labels, -np.mean(scipy.special.log_softmax(Z64, axis=1)
                                          [np.arange(64), labels])),
        (CrossEntropy(), soft, -np.mean(np.sum(soft * scipy.special.log_softmax(Z64, axis=1),
                                               axis=1))),
        (BinaryCrossEntropy(), B, np.mean(-B * scipy.special.log_expit(Z64)
                                          - (1 - B) * scipy.special.log_expit(-Z64))),
        (MeanSquaredError(), B, np.mean((Z64 - B) ** 2)),
    ]
    for loss, y, want in refs:
        value, grad = loss.value_and_grad(Z.copy(), y.astype(np.float32)
                                          if y.dtype.kind == "f" else y)
        assert grad.dtype == np.float32, loss
        assert value == pytest.approx(want, rel=2e-6, abs=0), loss


def test_mean_squared_error_of_logits_of_1e4():
    Z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    value, grad = MeanSquaredError().value_and_grad(Z.copy(), np.zeros((2, 3)))
    assert value == pytest.approx(5 * 1e8 / 6, rel=1e-15, abs=0)   # five entries of 1e4 squared
    assert_allclose(grad, 2 * Z / 6, rtol=1e-15, atol=0)


def test_cross_entropy_targets_are_checked_at_the_range_edges():
    ce = CrossEntropy()
    assert ce.check_targets((3, 4), np.array([0, 3, 2])).tolist() == [0, 3, 2]
    # integral floats are class indices; their dtype becomes an index dtype
    y = ce.check_targets((3, 4), np.array([0.0, 3.0, 1.0]))
    assert y.dtype == np.intp and y.tolist() == [0, 3, 1]
    assert ce.check_targets((2, 2), np.array([True, False])).tolist() == [1, 0]
    with pytest.raises(DataError, match=r"label 4 is out of range for 4 output units: labels "
                                        r"must lie in \[0, 3\]"):
        ce.check_targets((3, 4), np.array([0, 4, 1]))
    with pytest.raises(DataError, match=r"label -1 is out of range for 4 output units"):
        ce.check_targets((3, 4), np.array([0, -1, 1]))
    with pytest.raises(DataError, match=r"integer class indices in \[0, 3\], got dtype float64"):
        ce.check_targets((3, 4), np.array([0.0, 0.5, 1.0]))
    with pytest.raises(DataError, match=r"integer class indices in \[0, 3\], got dtype <U1"):
        ce.check_targets((3, 4), np.array(["a", "b", "c"]))
    with pytest.raises(ShapeError, match="samples"):
        ce.check_targets((3, 4), np.array([0, 1]))
    with pytest.raises(ShapeError, match="classes"):
        ce.check_targets((3, 4), np.eye(5)[:3])
    assert ce.check_targets((0, 4), np.array([], dtype=int)).shape == (0,)


def test_binary_and_regression_targets_are_checked_at_the_range_edges():
    bce, mse = BinaryCrossEntropy(), MeanSquaredError()
    assert bce.check_targets((3, 1), np.array([0.0, 1.0, 0.5])).shape == (3, 1)
    assert mse.check_targets((3, 1), np.array([0.0, 7.0, -2.0])).shape == (3, 1)
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]; found -0.5"):
        bce.check_targets((3, 1), np.array([0.0, -0.5, 1.0]))
    with pytest.raises(DataError, match=r"must lie in \[0, 1\]; found 1.5"):
        bce.check_targets((3, 1), np.array([0.0, 1.5, 1.0]))
    with pytest.raises(DataError, match="targets must be numbers in \\[0, 1\\], got dtype <U1"):
        bce.check_targets((2, 1), np.array(["0", "1"]))
    with pytest.raises(DataError, match="regression targets must be numbers, got dtype <U1"):
        mse.check_targets((2, 1), np.array(["0", "1"]))
    for loss in (bce, mse):
        with pytest.raises(ShapeError, match="outputs"):
            loss.check_targets((3, 2), np.zeros((3, 3)))
        with pytest.raises(ShapeError, match="samples"):
            loss.check_targets((3, 1), np.zeros(4))
    assert bce.check_targets((0, 2), np.zeros((0, 2))).shape == (0, 2)


def test_get_loss_knows_every_name_and_alias():
    from matfit.nn import get_loss

    for name, cls in [("cross_entropy", CrossEntropy), ("ce", CrossEntropy),
                      ("binary_cross_entropy", BinaryCrossEntropy), ("bce", BinaryCrossEntropy),
                      ("mean_squared_error", MeanSquaredError), ("mse", MeanSquaredError)]:
        loss = get_loss(name)
        assert type(loss) is cls and repr(loss) == f"{cls.__name__}()"
    assert [get_loss(n).name for n in ("ce", "bce", "mse")] == \
        ["cross_entropy", "binary_cross_entropy", "mean_squared_error"]
    assert [get_loss(n).task for n in ("ce", "bce", "mse")] == \
        ["multiclass", "binary", "regression"]
    ce = CrossEntropy()
    assert get_loss(ce) is ce
    for bad in ("hinge", ["ce"], 3):
        with pytest.raises(InvalidParameterError, match=r"loss must be a matfit.nn Loss or one "
                                                        r"of \['bce', 'binary_cross_entropy'"):
            get_loss(bad)


def test_value_and_grad_without_a_gradient_leaves_out_alone():
    rng = np.random.default_rng(11)
    Z = rng.standard_normal((4, 3)) * 2
    cases = [(CrossEntropy(), rng.integers(0, 3, 4)),
             (CrossEntropy(), _unnormalised_soft_targets(4, 3, 12)),
             (BinaryCrossEntropy(), (rng.random((4, 3)) > 0.5).astype(float)),
             (MeanSquaredError(), rng.standard_normal((4, 3)))]
    for loss, y in cases:
        out = np.full_like(Z, 7.0)
        value, grad = loss.value_and_grad(Z.copy(), y, out=out, need_grad=False)
        assert grad is None and np.all(out == 7.0), loss
        assert value == loss.value_and_grad(Z.copy(), y)[0]


def test_single_output_targets_may_be_a_column_or_a_vector():
    for loss in (BinaryCrossEntropy(), MeanSquaredError()):
        y = np.array([[0.0], [1.0], [0.25]])
        assert loss.check_targets((3, 1), y).shape == (3, 1)
        assert_allclose(loss.check_targets((3, 1), y[:, 0]), y, rtol=0)
        with pytest.raises(ShapeError, match="outputs"):
            loss.check_targets((3, 2), y[:, 0])


def test_float32_losses_accumulate_in_float64():
    # confident, correct logits in [20, 30] with y = 1: max(z, 0) - z y cancels exactly when
    # summed in float64 and leaves mean(log1p(exp(-z))) ~ 1e-10; a float32 running sum of
    # ~25 000 keeps only ~1e-3 of it (BCE). MSE: a float32 sum of 2**18 squares drifts ~1e-4.
    rng = np.random.default_rng(13)
    z = rng.uniform(20, 30, (1000, 1)).astype(np.float32)
    value = BinaryCrossEntropy().value(z.copy(), np.ones((1000, 1), np.float32))
    assert value == pytest.approx(np.mean(-scipy.special.log_expit(z.astype(np.float64))),
                                  rel=1e-6, abs=0)
    Z = (rng.standard_normal((512, 512)) + 3).astype(np.float32)
    value = MeanSquaredError().value(Z.copy(), np.zeros_like(Z))
    assert value == pytest.approx(np.mean(Z.astype(np.float64) ** 2), rel=1e-7, abs=0)


def test_float32_cross_entropy_over_many_classes_sums_in_float64():
    # y . shifted over 2**16 classes: float64 sums keep the float32 inputs' value to ~2e-9;
    # a float32 running sum drifts ~1e-7
    rng = np.random.default_rng(14)
    Z = (rng.standard_normal((4, 2**16)) * 4).astype(np.float32)
    Y = (rng.dirichlet(np.ones(2**16), 4) * rng.uniform(0.5, 3, (4, 1))).astype(np.float32)
    want = -np.mean(np.sum(Y.astype(np.float64)
                           * scipy.special.log_softmax(Z.astype(np.float64), axis=1), axis=1))
    assert CrossEntropy().value(Z.copy(), Y) == pytest.approx(want, rel=2e-8, abs=0)
