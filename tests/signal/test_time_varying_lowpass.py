"""matfit.signal.time_varying_lowpass against the plain loop, scipy.signal.lfilter and pandas."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from matfit import DataError, InvalidParameterError, ShapeError
from matfit.signal import time_varying_lowpass

METHODS = ["lapack", "numba"]


def loop_reference(x, w, y0):
    """The recurrence exactly as a user writes it, one channel."""
    y = np.empty(len(x))
    prev = y0
    for i in range(len(x)):
        prev = prev + w[i] * (x[i] - prev)
        y[i] = prev
    return y


def _method(method):
    if method == "numba":
        pytest.importorskip("numba")
    return method


@pytest.mark.parametrize("method", METHODS)
@given(
    data=st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=st.floats(-1e3, 1e3)),
            arrays(np.float64, n, elements=st.floats(0, 2)),
            st.floats(-1e3, 1e3),
        )
    )
)
def test_lowpass_matches_python_loop(method, data):
    x, w, y0 = data
    got = time_varying_lowpass(x, w, initial=y0, method=_method(method))
    assert_allclose(got, loop_reference(x, w, y0), rtol=0, atol=1e-12 * max(1.0, abs(y0),
                                                                                np.abs(x).max()))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("coef", [0.0, 0.03, 0.5, 1.0, 1.7])
def test_constant_coefficient_is_scipy_lfilter(method, coef):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(500)
    y0 = 0.7
    ref, _ = scipy.signal.lfilter([coef], [1.0, coef - 1.0], x, zi=[(1.0 - coef) * y0])
    got = time_varying_lowpass(x, np.full(500, coef), initial=y0, method=_method(method))
    assert_allclose(got, ref, rtol=1e-12, atol=1e-13)
    assert_array_equal(time_varying_lowpass(x, coef, initial=y0, method=method), got)


@pytest.mark.parametrize("method", METHODS)
def test_default_start_is_pandas_ewm_without_adjust(method):
    pd = pytest.importorskip("pandas")
    x = np.random.default_rng(2).standard_normal(300) + 5.0
    ref = pd.Series(x).ewm(alpha=0.2, adjust=False).mean().to_numpy()
    got = time_varying_lowpass(x, np.full(300, 0.2), method=_method(method))
    assert got[0] == x[0]
    assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_channels_shared_and_own_coefficients_along_any_axis(method):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 40, 3))  # samples along axis 1
    w_shared = rng.uniform(0, 1, 40)
    w_own = rng.uniform(0, 1, x.shape)
    y0 = rng.standard_normal((2, 3))
    shared = time_varying_lowpass(x, w_shared, initial=y0, axis=1, method=_method(method))
    own = time_varying_lowpass(x, w_own, initial=y0, axis=-2, method=method)
    assert shared.shape == own.shape == x.shape
    for i in range(2):
        for j in range(3):
            assert_allclose(shared[i, :, j], loop_reference(x[i, :, j], w_shared, y0[i, j]),
                            rtol=1e-13, atol=1e-14)
            assert_allclose(own[i, :, j], loop_reference(x[i, :, j], w_own[i, :, j], y0[i, j]),
                            rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_float32_stays_float32_and_close_to_float64(method):
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(1000), rng.uniform(0, 1, 1000)
    y32 = time_varying_lowpass(x.astype(np.float32), w, method=_method(method))
    assert y32.dtype == np.float32
    assert_allclose(y32, time_varying_lowpass(x, w), rtol=0, atol=1e-5)


def test_numba_is_the_loop_bit_for_bit():
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(2000), rng.uniform(0, 1, 2000)
    assert_array_equal(time_varying_lowpass(x, w, initial=0.3, method="numba"),
                       loop_reference(x, w, 0.3))


def test_does_not_overflow_where_the_closed_form_does():
    # the closed form divides by prod(1 - w), which underflows to 0 after ~2,600 samples here
    rng = np.random.default_rng(6)
    n = 20_000
    x, w = rng.standard_normal(n), np.full(n, 0.25)
    with np.errstate(all="ignore"):
        prod = np.cumprod(1 - w)
        closed = prod * np.cumsum(w * x / prod)
    assert not np.all(np.isfinite(closed))
    got = time_varying_lowpass(x, w, initial=0.0)
    assert np.all(np.isfinite(got))
    assert_allclose(got, loop_reference(x, w, 0.0), rtol=0, atol=1e-12)


def test_lapack_is_ten_times_faster_than_the_loop():
    rng = np.random.default_rng(7)
    n = 500_000
    x, w = rng.standard_normal(n), rng.uniform(0.01, 0.5, n)
    loop_s, fast_s = [], []
    for _ in range(2):  # interleaved; the best of each, since load from other processes only adds
        t0 = time.perf_counter()
        ref = loop_reference(x, w, 0.0)
        loop_s.append(time.perf_counter() - t0)
        for _ in range(3):
            t0 = time.perf_counter()
            got = time_varying_lowpass(x, w, initial=0.0)
            fast_s.append(time.perf_counter() - t0)
    assert_allclose(got, ref, rtol=0, atol=1e-12)
    assert min(loop_s) / min(fast_s) >= 10, (loop_s, fast_s)


def test_empty_and_single_sample():
    assert time_varying_lowpass(np.zeros((3, 0)), np.zeros(0)).shape == (3, 0)
    assert_allclose(time_varying_lowpass([4.0], [0.25], initial=2.0), [2.5])


def test_integer_input_becomes_float64():
    y = time_varying_lowpass(np.arange(5), np.full(5, 0.5), initial=0)
    assert y.dtype == np.float64
    assert_allclose(y, loop_reference(np.arange(5.0), np.full(5, 0.5), 0.0))


def test_errors_name_the_argument_and_the_fix():
    x = np.ones(10)
    with pytest.raises(DataError, match=r"w must lie in \[0, 2\].*-0.5 at sample 3.*np.clip"):
        time_varying_lowpass(x, np.r_[np.full(3, 0.5), -0.5, np.full(6, 0.5)])
    with pytest.raises(ShapeError, match=r"w has shape \(9,\).*pass w with 10 entries"):
        time_varying_lowpass(x, np.full(9, 0.5))
    with pytest.raises(ShapeError, match=r"initial has shape \(3,\).*shape \(2,\)"):
        time_varying_lowpass(np.ones((2, 10)), np.full(10, 0.5), initial=np.zeros(3))
    with pytest.raises(InvalidParameterError, match=r"method='scan'.*must be one of"):
        time_varying_lowpass(x, np.full(10, 0.5), method="scan")
    with pytest.raises(InvalidParameterError, match=r"axis=2.*pass axis in \[-1, 0\]"):
        time_varying_lowpass(x, np.full(10, 0.5), axis=2)
    with pytest.raises(DataError, match=r"^x has 1 non-finite entry \(NaN or inf\), the first "
                                        r"at x\[1\] = nan\."):
        time_varying_lowpass(np.r_[1.0, np.nan], [0.5, 0.5])
    with pytest.raises(ShapeError, match=r"^x must be at least 1-D \('\.\.\. samples'\) but is "
                                         r"a scalar: pass np\.atleast_1d\(x\)\.$"):
        time_varying_lowpass(1.0, 0.5)


def test_numba_missing_says_how_to_install(monkeypatch):
    import sys

    from matfit.signal import _filters

    monkeypatch.setattr(_filters, "_SCAN", None)
    monkeypatch.setitem(sys.modules, "numba", None)  # makes `import numba` raise ImportError
    with pytest.raises(InvalidParameterError, match=r"matfit\[fast\].*method='lapack'"):
        time_varying_lowpass(np.ones(3), np.full(3, 0.5), method="numba")
