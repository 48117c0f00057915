"""SI-SDR and SNR against their closed forms; BSS-Eval against mir_eval's bss_eval_sources."""

from __future__ import annotations

import itertools

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
    with pytest.raises(MatfitError, match=r"^STOI needs pystoi: pip install pystoi$"):
        stoi(s, s, 8000)


# ---- BSS-Eval against a plain least-squares implementation ----------------------------------
def _delays(s, L):
    """The L delayed copies of s as columns, zero-padded to len(s) + L - 1 samples."""
    A = np.zeros((s.size + L - 1, L))
    for a in range(L):
        A[a:a + s.size, a] = s
    return A


def _naive_bss_eval(refs, ests, L, permute):
    """Vincent, Gribonval & Fevotte (2006) by their definitions: each projection an explicit
    least-squares fit onto the delayed references (np.linalg.lstsq, no Gram matrix, no FFT)."""
    n_src = refs.shape[0]
    blocks = [_delays(r, L) for r in refs]
    every = np.hstack(blocks)
    crit = np.zeros((3, n_src, n_src))
    for e in range(n_src):
        est = np.r_[ests[e], np.zeros(L - 1)]
        full = every @ np.linalg.lstsq(every, est, rcond=None)[0]
        for j in range(n_src):
            target = blocks[j] @ np.linalg.lstsq(blocks[j], est, rcond=None)[0]
            interf, artif = full - target, est - full
            with np.errstate(divide="ignore"):
                crit[:, e, j] = 10 * np.log10([
                    target @ target / np.sum((interf + artif) ** 2),
                    target @ target / (interf @ interf),
                    full @ full / (artif @ artif)])
    orders = list(itertools.permutations(range(n_src))) if permute else [tuple(range(n_src))]
    best = max(orders, key=lambda p: np.mean(crit[1, list(p), range(n_src)]))
    return crit[:, list(best), range(n_src)], np.array(best)


# (n, filter_length, sources): an odd FFT length (45), one where n + L - 2 is already a fast
# length (64), a single sample, a one-tap filter, three permuted sources
BSS_CASES = [(40, 6, 2), (57, 9, 2), (1, 3, 2), (50, 1, 3), (30, 4, 3), (200, 16, 1)]


@pytest.mark.parametrize("n, L, n_src", BSS_CASES)
@pytest.mark.parametrize("permute", [False, True])
def test_bss_eval_matches_plain_least_squares(n, L, n_src, permute):
    rng = np.random.default_rng(n + L)
    refs = rng.standard_normal((n_src, n))
    est = (np.eye(n_src) + 0.3 * rng.random((n_src, n_src))) @ refs
    est += 0.2 * rng.standard_normal((n_src, n))
    est = est[::-1].copy()                               # the matching estimate is last
    ours = bss_eval(refs, est, filter_length=L, compute_permutation=permute)
    (sdr, sir, sar), perm = _naive_bss_eval(refs, est, L, permute)
    assert_allclose(ours.perm, perm)
    for got, want in [(ours.sdr, sdr), (ours.sir, sir), (ours.sar, sar)]:
        exact = want > 200               # nothing left over: inf, or ~300 dB after rounding
        assert np.array_equal(got > 200, exact)
        assert_allclose(got[~exact], want[~exact], rtol=0, atol=1e-7)
    if permute and n_src > 1 and n > 1:
        assert list(perm) == list(range(n_src))[::-1]


def test_bss_eval_permutes_by_default_and_computes_in_float64():
    refs, est = _sources(5, 3, 300)
    est = est[[2, 0, 1]]
    default = bss_eval(refs, est, filter_length=8)
    assert list(default.perm) == [1, 2, 0]                # estimate 1 matches reference 0
    (sdr, sir, sar), _ = _naive_bss_eval(refs, est, 8, True)
    assert_allclose(np.c_[default.sdr, default.sir, default.sar], np.c_[sdr, sir, sar],
                    rtol=0, atol=1e-7)
    # float32 signals: the same figures as their float64 values (not float32 arithmetic)
    r32, e32 = refs.astype(np.float32), est.astype(np.float32)
    single = bss_eval(r32, e32, filter_length=8)
    (sdr, sir, sar), _ = _naive_bss_eval(r32.astype(np.float64), e32.astype(np.float64), 8, True)
    assert single.sdr.dtype == np.float64
    assert_allclose(np.c_[single.sdr, single.sir, single.sar], np.c_[sdr, sir, sar],
                    rtol=0, atol=1e-7)


def test_bss_eval_with_a_singular_gram_matrix_falls_back_to_least_squares():
    """References that are delays of one another: the joint Gram matrix is exactly singular
    (scipy's solve refuses it), the projection onto their span is still well defined."""
    n, L = 14, 3                     # FFT length 16: the Gram matrix of impulses comes out exact
    refs = np.zeros((2, n))
    refs[0, 2] = 1.0
    refs[1, 3] = 1.0                                      # reference 0 delayed by one sample
    est = np.random.default_rng(0).standard_normal((2, n))
    ours = bss_eval(refs, est, filter_length=L, compute_permutation=False)
    (sdr, sir, sar), _ = _naive_bss_eval(refs, est, L, False)
    assert_allclose(np.c_[ours.sdr, ours.sir, ours.sar], np.c_[sdr, sir, sar], rtol=0, atol=1e-7)


def test_bss_eval_source_limit_and_argument_errors():
    from matfit import InvalidParameterError

    rng = np.random.default_rng(2)
    refs = rng.standard_normal((8, 20))
    est = refs[::-1] + 0.01 * rng.standard_normal((8, 20))
    eight = bss_eval(refs, est, filter_length=1)          # 8! orderings: still tried
    assert list(eight.perm) == list(range(8))[::-1]
    with pytest.raises(InvalidParameterError, match=r"^compute_permutation with 9 sources would "
                       r"try 9! orderings: pass compute_permutation=False and order the "
                       r"estimates yourself$"):
        bss_eval(np.ones((9, 20)), np.ones((9, 20)), filter_length=1)
    for bad in (0, -3, 2.0, True):
        with pytest.raises(InvalidParameterError,
                           match=rf"^filter_length must be a positive integer, got {bad!r}$"):
            bss_eval(refs[:2], est[:2], filter_length=bad)
    with pytest.raises(ShapeError, match=r"^references and estimates have no samples$"):
        bss_eval(np.ones((2, 0)), np.ones((2, 0)))
    with pytest.raises(DataError, match=r"^references has 1 non-finite entry"):
        bss_eval(np.r_[np.nan, np.ones(19)], np.ones(20))
    with pytest.raises(DataError, match=r"^estimates has 1 non-finite entry"):
        bss_eval(np.ones(20), np.r_[np.nan, np.ones(19)])


# ---- SI-SDR and SNR details -----------------------------------------------------------------
def test_si_sdr_zero_mean_removes_each_signals_own_mean():
    rng = np.random.default_rng(6)
    s = rng.standard_normal((3, 200)) + np.array([[2.0], [-1.0], [0.5]])   # offset references
    e = 0.7 * s + 0.2 * rng.standard_normal((3, 200)) + np.array([[0.3], [1.0], [-2.0]])
    got = si_sdr(e, s, zero_mean=True)
    want = [_naive_si_sdr(ei - ei.mean(), si - si.mean()) for ei, si in zip(e, s, strict=True)]
    assert got.shape == (3,)
    assert_allclose(got, want, rtol=1e-10)
    assert_allclose(si_sdr(e[1], s[1], zero_mean=True), want[1], rtol=1e-10)   # one signal
    assert_allclose(si_sdr(e, s), [_naive_si_sdr(ei, si) for ei, si in zip(e, s, strict=True)],
                    rtol=1e-10)


def test_si_sdr_and_snr_return_a_float_for_one_signal_and_an_array_for_a_batch():
    rng = np.random.default_rng(8)
    s = rng.standard_normal((2, 100))
    e = s + 0.1 * rng.standard_normal((2, 100))
    for fn in (si_sdr, snr):
        assert type(fn(e[0], s[0])) is float
        batch = fn(e, s)
        assert isinstance(batch, np.ndarray) and batch.shape == (2,)
    want = [10 * np.log10(np.sum(si**2) / np.sum((si - ei) ** 2)) for ei, si in zip(e, s,
                                                                                    strict=True)]
    assert_allclose(snr(e, s), want, rtol=1e-12)
    assert_allclose(snr(e[0][None], s[0][None]), want[:1], rtol=1e-12)


def test_si_sdr_of_float32_signals_is_computed_in_float64():
    rng = np.random.default_rng(9)
    s = rng.standard_normal(4000).astype(np.float32)
    e = (s + 1e-4 * rng.standard_normal(4000)).astype(np.float32)   # ~80 dB: float32 rounding shows
    want = _naive_si_sdr(e.astype(np.float64), s.astype(np.float64))
    assert_allclose(si_sdr(e, s), want, rtol=1e-10)
    assert_allclose(si_sdr(e, s.astype(np.float64)), want, rtol=1e-10)
    # means removed in float64 too (in float32 the centring alone costs ~1e-7 of the signal)
    e1, s1 = e + np.float32(0.5), s + np.float32(0.5)             # still float32
    e64, s64 = e1.astype(np.float64), s1.astype(np.float64)
    want = _naive_si_sdr(e64 - e64.mean(), s64 - s64.mean())
    assert_allclose(si_sdr(e1, s1, zero_mean=True), want, rtol=1e-10)
    assert_allclose(snr(e, s), 10 * np.log10(np.sum(s.astype(np.float64) ** 2) /
                                             np.sum((s.astype(np.float64) - e) ** 2)), rtol=1e-10)


def test_one_sample_is_enough_and_none_is_an_error():
    assert si_sdr(np.array([3.0]), np.array([2.0])) == np.inf       # a scaled copy: perfect
    with pytest.raises(ShapeError, match=r"^estimate and reference need at least one sample, "
                                         r"got shape \(\)$"):
        si_sdr(1.0, 2.0)
    with pytest.raises(ShapeError, match=r"^estimate and reference need at least one sample, "
                                         r"got shape \(2, 0\)$"):
        si_sdr(np.ones((2, 0)), np.ones((2, 0)))
    with pytest.raises(DataError, match=r"^a reference signal is all zeros: SI-SDR is undefined "
                                        r"for it$"):
        si_sdr(np.ones((2, 5)), np.r_[[np.ones(5)], [np.zeros(5)]])
    with pytest.raises(DataError, match=r"^estimate has 1 non-finite entry"):
        si_sdr(np.r_[1.0, np.nan], np.ones(2))
    with pytest.raises(DataError, match=r"^reference has 1 non-finite entry"):
        snr(np.ones(2), np.r_[1.0, np.inf])


def test_stoi_is_pystoi_with_the_clean_signal_first():
    pystoi = pytest.importorskip("pystoi")
    from matfit.separate import stoi
    from matfit.separate._synth import noise_like, speech_like

    s = speech_like(1.5, 8000, seed=5)
    n = noise_like(1.5, 8000, seed=6)
    y = s + 0.8 * n * np.linalg.norm(s) / np.linalg.norm(n)
    assert stoi(y, s, 8000) == pytest.approx(pystoi.stoi(s, y, 8000, extended=False), rel=1e-12,
                                             abs=0)
    assert stoi(y, s, 8000, extended=True) == pytest.approx(
        pystoi.stoi(s, y, 8000, extended=True), rel=1e-12, abs=0)
    # the order matters: pystoi's first argument is the clean signal
    assert abs(pystoi.stoi(y, s, 8000) - pystoi.stoi(s, y, 8000)) > 1e-3
    with pytest.raises(ShapeError, match=r"^stoi takes one signal, shape \(n_samples,\), got "
                                         r"shape \(2, 100\)$"):
        stoi(np.ones((2, 100)), np.ones((2, 100)), 8000)
