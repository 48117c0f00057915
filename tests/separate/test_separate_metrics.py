"""SI-SDR and SNR against their closed forms; BSS-Eval against mir_eval's bss_eval_sources."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from matfit import DataError, ShapeError
from matfit.separate import bss_eval, si_sdr, snr

# mir_eval 0.8 marks bss_eval_sources deprecated (removal in 0.9); it is still the reference.
MIR_EVAL_DEPRECATION = pytest.mark.filterwarnings(
    r"ignore:mir_eval\.separation\.[_a-z]+\s+Deprecated as of mir_eval version 0\.8:FutureWarning"
)


@pytest.fixture
def one_thread():
    """mir_eval's 1024 x 1024 solves crawl with two BLAS threads on a busy 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield


def _naive_si_sdr(e, s):
    """The definition by least squares: the best scaled copy of s, and the rest."""
    alpha = np.linalg.lstsq(s[:, None], e, rcond=None)[0][0]
    target = alpha * s
    return 10 * np.log10(np.sum(target**2) / np.sum((e - target) ** 2))


@given(seed=st.integers(0, 2**16), gain=st.floats(0.01, 100), n=st.integers(8, 500))
def test_si_sdr_matches_least_squares_and_is_scale_invariant(seed, gain, n):
    rng = np.random.default_rng(seed)
    s, e = rng.standard_normal(n), rng.standard_normal(n)
    e = s + 0.3 * e
    assert_allclose(si_sdr(e, s), _naive_si_sdr(e, s), rtol=1e-9, atol=1e-9)
    assert_allclose(si_sdr(gain * e, s), si_sdr(e, s), rtol=1e-9, atol=1e-9)
    assert_allclose(si_sdr(e, gain * s), si_sdr(e, s), rtol=1e-9, atol=1e-9)


def test_si_sdr_batched_zero_mean_and_snr_closed_forms():
    phase = 2 * np.pi * 5 * np.arange(400) / 400
    s, err = np.sin(phase), np.cos(phase)                       # orthogonal
    assert_allclose(si_sdr(2.0 * s + 0.1 * err, s), 10 * np.log10(4 / 0.01))
    assert_allclose(snr(s + 0.1 * err, s), 20.0)                # |s|^2 / |0.1 err|^2 = 100
    batch = si_sdr(np.stack([s + 0.1 * err, s + 0.01 * err]), np.stack([s, s]))
    assert_allclose(batch, [20.0, 40.0])
    # an offset is distortion unless zero_mean removes it
    assert si_sdr(s + 1.0, s) < 0 and si_sdr(s + 1.0, s, zero_mean=True) > 200
    assert si_sdr(s, s) > 250


def test_metric_errors():
    with pytest.raises(ShapeError, match=r"estimate has shape .* but reference has shape"):
        si_sdr(np.ones(5), np.ones(6))
    with pytest.raises(DataError, match="reference signal is all zeros"):
        si_sdr(np.ones(5), np.zeros(5))
    with pytest.raises(DataError, match="reference source 1 is all zeros"):
        bss_eval(np.stack([np.ones(600), np.zeros(600)]), np.ones((2, 600)))
    with pytest.raises(ShapeError, match="same shape"):
        bss_eval(np.ones((2, 600)), np.ones((2, 601)))


def _sources(seed, n_src, n):
    rng = np.random.default_rng(seed)
    refs = rng.standard_normal((n_src, n))
    refs[0] = np.convolve(refs[0], [1, 0.5, 0.25], mode="same")    # coloured, not white
    mix = rng.uniform(0.1, 0.5, (n_src, n_src)) + np.eye(n_src)
    est = mix @ refs + 0.1 * rng.standard_normal((n_src, n))
    est[0] = np.convolve(est[0], [0.9, 0.2], mode="same")          # filtering distortion
    return refs, est


@MIR_EVAL_DEPRECATION
@pytest.mark.parametrize("n_src, permute", [(1, False), (2, False), (2, True), (3, True)])
def test_bss_eval_matches_mir_eval(n_src, permute, one_thread):
    import mir_eval.separation

    refs, est = _sources(n_src, n_src, 2000)
    if permute:
        est = est[::-1].copy()
    ours = bss_eval(refs, est, compute_permutation=permute)
    sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(refs, est,
                                                               compute_permutation=permute)
    assert_allclose(ours.sdr, sdr, rtol=1e-6, atol=1e-6)
    assert_allclose(ours.sar, sar, rtol=1e-6, atol=1e-6)
    if n_src > 1:   # one source: no interference, SIR is +inf for both
        assert_allclose(ours.sir, sir, rtol=1e-6, atol=1e-6)
    else:
        assert np.isinf(ours.sir[0]) and np.isinf(sir[0])
    assert_allclose(ours.perm, perm)
    if permute:
        assert list(ours.perm) == list(range(n_src))[::-1]


@MIR_EVAL_DEPRECATION
def test_bss_eval_on_a_separation_result_matches_mir_eval(one_thread):
    """Masked speech-like estimates (the real use), not only random signals."""
    import mir_eval.separation

    from matfit.separate import STFT
    from matfit.separate._synth import noise_like, speech_like

    s, n = speech_like(0.5, 8000, seed=3), noise_like(0.5, 8000, seed=4)
    stft = STFT.make(8000, 256)
    S, N, X = stft.stft(s), stft.stft(n), stft.stft(s + n)
    mask = np.abs(S) ** 2 / (np.abs(S) ** 2 + np.abs(N) ** 2 + 1e-12)
    mask = np.round(mask * 4) / 4                  # a coarse mask leaves artifacts
    est = np.stack([stft.istft(mask * X, s.size), stft.istft((1 - mask) * X, s.size)])
    ours = bss_eval(np.stack([s, n]), est)
    sdr, sir, sar, _ = mir_eval.separation.bss_eval_sources(np.stack([s, n]), est)
    assert_allclose(np.c_[ours.sdr, ours.sir, ours.sar], np.c_[sdr, sir, sar], rtol=1e-6,
                    atol=1e-6)


def test_bss_eval_invariants():
    refs, _ = _sources(7, 2, 2000)
    # an estimate that is a short filter of its own source is (almost) perfect
    filtered = np.stack([np.convolve(refs[0], [1.0, -0.3, 0.1])[:2000],
                         np.convolve(refs[1], [0.5, 0.2])[:2000]])
    res = bss_eval(refs, filtered)
    assert np.all(res.sdr > 40) and np.all(res.sir > 40)
    # adding the other source lowers SIR, not SAR
    leaky = filtered + 0.3 * refs[::-1]
    res2 = bss_eval(refs, leaky)
    assert np.all(res2.sir < 15) and np.all(res2.sar > 40)


def test_stoi_orders_estimates_and_needs_pystoi(monkeypatch):
    pytest.importorskip("pystoi")
    import sys

    from matfit import MatfitError
    from matfit.separate import stoi
    from matfit.separate._synth import noise_like, speech_like

    s = speech_like(3, 8000, seed=1)
    n = noise_like(3, 8000, seed=2)
    n *= np.linalg.norm(s) / np.linalg.norm(n)
    scores = [stoi(s + g * n, s, 8000) for g in (0.0, 0.3, 1.0, 3.0)]
    assert scores[0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(scores) < 0)                            # more noise, lower STOI
    assert np.isnan(stoi(s[:2000], s[:2000], 8000))               # 0.25 s: too short
    with pytest.raises(ShapeError, match="must match"):
        stoi(s[:100], s, 8000)
    monkeypatch.setitem(sys.modules, "pystoi", None)
    with pytest.raises(MatfitError, match="pip install pystoi"):
        stoi(s, s, 8000)
