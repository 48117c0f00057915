"""MLP estimators as scikit-learn drop-ins: batch-invariant predictions, log-softmax
probabilities in float32, partial_fit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.special
from numpy.testing import assert_allclose, assert_array_equal

from matfit.nn import MLPClassifier, MLPRegressor


def _blobs(n=120, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.standard_normal((n, 4)) + 3.0 * np.eye(3, 4)[y]
    return X * scale, y


def _plain_logits(clf, X):
    """A float64 forward pass written out from the fitted weights (Dense, ReLU, Dense)."""
    p = clf.model_.params
    h = np.maximum(X @ p["0.W"].astype(np.float64) + p["0.b"].astype(np.float64), 0.0)
    return h @ p["2.W"].astype(np.float64) + p["2.b"].astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_predictions_do_not_depend_on_the_batch(dtype):
    X, y = _blobs()
    reg = MLPRegressor((16,), max_iter=20, random_state=0, dtype=dtype).fit(X, X[:, 0] ** 2)
    clf = MLPClassifier((16,), max_iter=20, random_state=0, dtype=dtype).fit(X, y)
    whole = [reg.predict(X), clf.predict_proba(X), clf.predict_log_proba(X)]
    one_by_one = [np.concatenate([f(X[i:i + 1]) for i in range(len(X))])
                  for f in (reg.predict, clf.predict_proba, clf.predict_log_proba)]
    for a, b in zip(whole, one_by_one, strict=True):
        assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_log_proba_is_log_softmax_of_the_float32_model():
    # well separated blobs: many probabilities within 1e-8 of 1, where float32 would round
    X, y = _blobs(scale=10.0)
    clf = MLPClassifier((16,), max_iter=100, random_state=0).fit(X, y)
    assert clf.model_.dtype == np.float32
    logp = clf.predict_log_proba(X)
    want = scipy.special.log_softmax(_plain_logits(clf, X), axis=1)
    assert_allclose(logp, want, rtol=1e-12, atol=1e-14)
    proba = clf.predict_proba(X)
    assert np.any((proba < 1) & (proba > 1 - 1e-7)), "test data should have near-1 probabilities"
    # scikit-learn's check_classifiers_train: log(predict_proba) == predict_log_proba
    assert_allclose(logp, np.log(proba), rtol=1e-12, atol=1e-9)
    assert_array_equal(clf.predict(X), clf.classes_[want.argmax(axis=1)])


def test_log_proba_stays_finite_where_proba_underflows():
    X, y = _blobs()
    clf = MLPClassifier((16,), max_iter=30, random_state=0, dtype="float64").fit(X, y)
    far = X[:5] * 1e4          # logits in the tens of thousands: softmax underflows to 0
    logp = clf.predict_log_proba(far)
    assert np.all(np.isfinite(logp))
    assert np.any(clf.predict_proba(far) == 0)
    assert_allclose(logp, scipy.special.log_softmax(_plain_logits(clf, far), axis=1),
                    rtol=1e-10)


def test_float32_inputs_give_float32_outputs():
    X, y = _blobs()
    X32 = X.astype(np.float32)
    clf = MLPClassifier((8,), max_iter=5, random_state=0).fit(X32, y)
    reg = MLPRegressor((8,), max_iter=5, random_state=0).fit(X32, X[:, 0])
    assert clf.predict_proba(X32).dtype == np.float32
    assert clf.predict_log_proba(X32).dtype == np.float32
    assert reg.predict(X32).dtype == np.float32
    assert clf.predict_proba(X).dtype == np.float64
    assert reg.predict(X).dtype == np.float64


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_epochs_equal_fit_epochs(solver):
    # fit(max_iter=n) with no early stop and n partial_fit calls draw the same shuffles and
    # carry the same optimiser state, so they must reach the same weights
    X, y = _blobs()
    kw = dict(hidden_layer_sizes=(8,), solver=solver, random_state=3, tol=0.0,
              n_iter_no_change=100, dtype="float64")
    full = MLPClassifier(max_iter=4, **kw).fit(X, y)
    inc = MLPClassifier(**kw)
    for _ in range(4):
        inc.partial_fit(X, y, classes=[0, 1, 2])
    for name, w in full.model_.params.items():
        assert_allclose(inc.model_.params[name], w, rtol=1e-12, atol=1e-14)
    assert inc.n_iter_ == 4
    assert_allclose(inc.loss_curve_, full.loss_curve_, rtol=1e-12)

    reg_full = MLPRegressor(max_iter=3, **kw).fit(X, X[:, 1])
    reg_inc = MLPRegressor(**kw)
    for _ in range(3):
        reg_inc.partial_fit(X, X[:, 1])
    assert_allclose(reg_inc.predict(X), reg_full.predict(X), rtol=1e-12)


def test_partial_fit_learns_from_batches_and_checks_classes():
    X, y = _blobs(n=300)
    clf = MLPClassifier((16,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    for _ in range(15):
        for lo in range(0, 300, 100):
            clf.partial_fit(X[lo:lo + 100], y[lo:lo + 100], classes=np.arange(3))
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        clf.partial_fit(X[:3], np.array([0, 7, 1]))
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.partial_fit(X[:, :3], y)
    # a batch holding only some classes keeps the output layer of every class
    clf.partial_fit(X[y == 0], y[y == 0])
    assert clf.predict_proba(X).shape == (300, 3)


def test_pickled_estimator_predicts_the_same_and_can_continue():
    X, y = _blobs()
    clf = MLPClassifier((8,), max_iter=10, random_state=0).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    back.partial_fit(X, y)          # a fresh optimiser state, same weights to start from
    assert back.n_iter_ == clf.n_iter_ + 1


def test_prediction_copy_matches_a_full_float64_copy_and_leaves_the_model_alone():
    X, y = _blobs()
    clf = MLPClassifier((16,), max_iter=20, random_state=0, batch_norm=True, dropout=0.2).fit(X, y)
    before = {k: v.copy() for k, v in clf.model_.params.items()}
    running = clf.model_.layers[1].running_mean.copy()
    want = clf.model_.copy(dtype=np.float64).forward(X)     # Dense, BN, ReLU, Dropout, ..., Softmax
    assert_allclose(clf.predict_proba(X), want, rtol=1e-12, atol=1e-15)
    for k, v in clf.model_.params.items():
        assert v.dtype == np.float32
        assert_array_equal(v, before[k])
    assert_array_equal(clf.model_.layers[1].running_mean, running)
