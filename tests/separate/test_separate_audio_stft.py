"""WAV I/O (soundfile and the scipy fallback agree), resampling, and the STFT pair."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.io import wavfile

from matfit import DataError, InvalidParameterError
from matfit.separate import STFT, _audio, default_n_fft, read_wav, resample, write_wav


@pytest.fixture
def no_soundfile(monkeypatch):
    """Force the scipy.io.wavfile fallback."""
    monkeypatch.setattr(_audio, "_soundfile", lambda: None)


SUBTYPES = [("PCM_16", np.int16), ("PCM_32", np.int32), ("FLOAT", np.float32),
            ("PCM_U8", np.uint8)]


@pytest.mark.parametrize("subtype, dtype", SUBTYPES, ids=[s for s, _ in SUBTYPES])
@pytest.mark.parametrize("channels", [1, 2])
def test_scipy_fallback_reads_what_soundfile_reads(tmp_path, monkeypatch, subtype, dtype,
                                                   channels):
    rng = np.random.default_rng(0)
    x = np.clip(rng.standard_normal((800, channels)) * 0.3, -1, 0.99)
    path = tmp_path / "x.wav"
    sf.write(path, x, 8000, subtype=subtype)
    ours, sr = read_wav(path)
    monkeypatch.setattr(_audio, "_soundfile", lambda: None)
    fallback, sr2 = read_wav(path)
    peer = sf.read(path, dtype="float64", always_2d=True)[0].mean(axis=1)
    assert sr == sr2 == 8000
    assert ours.shape == fallback.shape == (800,)
    assert_allclose(ours, peer, rtol=0, atol=1e-12)
    assert_allclose(fallback, peer, rtol=0, atol=1e-12)


def test_stereo_is_mixed_down_by_the_mean(tmp_path):
    left, right = np.full(100, 0.5), np.full(100, -0.25)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    x, _ = read_wav(tmp_path / "s.wav")
    assert_allclose(x, 0.125)


def test_int16_is_scaled_by_full_scale(tmp_path, no_soundfile):
    wavfile.write(tmp_path / "i.wav", 8000, np.array([-32768, 0, 16384, 32767], np.int16))
    x, _ = read_wav(tmp_path / "i.wav")
    assert_allclose(x, [-1.0, 0.0, 0.5, 32767 / 32768])


@pytest.mark.parametrize("fallback", [False, True])
def test_write_then_read_round_trip_leaves_no_temporary(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(_audio, "_soundfile", lambda: None)
    x = np.random.default_rng(1).uniform(-1.2, 1.2, 999)   # above full scale: float keeps it
    path = write_wav(tmp_path / "sub" / "y.wav", x, 22050)
    back, sr = read_wav(path)
    assert sr == 22050
    assert_allclose(back, x.astype(np.float32), rtol=0, atol=0)
    assert sorted(p.name for p in path.parent.iterdir()) == ["y.wav"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import soundfile

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(soundfile, "write", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_wav(tmp_path / "z.wav", np.zeros(10), 8000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fallback", [False, True])
def test_bad_files_raise_one_clear_error(tmp_path, monkeypatch, fallback):
    if fallback:
        monkeypatch.setattr(_audio, "_soundfile", lambda: None)
    with pytest.raises(FileNotFoundError, match=r"mixture .*does not exist"):
        read_wav(tmp_path / "missing.wav", what="mixture")
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(DataError, match="not a readable WAV file"):
        read_wav(tmp_path / "text.wav")
    wavfile.write(tmp_path / "empty.wav", 8000, np.zeros(0, np.int16))
    with pytest.raises(DataError, match="zero length"):
        read_wav(tmp_path / "empty.wav")
    with pytest.raises(DataError, match="is a folder"):
        read_wav(tmp_path)


def test_resample_matches_the_analytic_sine():
    f, n = 440.0, 44100
    x = np.sin(2 * np.pi * f * np.arange(n) / 44100)
    y = resample(x, 44100, 16000)
    assert y.size == 16000
    expect = np.sin(2 * np.pi * f * np.arange(16000) / 16000)
    inner = slice(200, -200)  # the polyphase filter's edges see zeros beyond the signal
    assert np.max(np.abs(y[inner] - expect[inner])) < 2e-3
    assert resample(x, 8000, 8000) is not None and np.array_equal(resample(x, 8000, 8000), x)


@given(n=st.integers(1, 3000), n_fft=st.sampled_from([16, 64, 256, 1024]),
       hop_div=st.sampled_from([2, 4, 8]), seed=st.integers(0, 2**16))
def test_stft_reconstructs_exactly_and_keeps_the_length(n, n_fft, hop_div, seed):
    x = np.random.default_rng(seed).standard_normal(n)
    s = STFT(8000, n_fft, n_fft // hop_div)
    Z = s.stft(x)
    assert Z.shape == (n_fft // 2 + 1, s.n_frames(n))
    y = s.istft(Z, n)
    assert y.shape == (n,)
    assert_allclose(y, x, rtol=0, atol=1e-10 * max(1.0, np.abs(x).max()))


def test_stft_of_a_bin_centred_sine_has_the_analytic_peak():
    s = STFT.make(16000, 1024)                       # hop 256, periodic Hann
    k, A = 64, 0.7                                   # bin 64 = 1000 Hz
    x = A * np.cos(2 * np.pi * k * np.arange(16000) / 1024)
    Z = s.stft(x)
    mid = Z[:, Z.shape[1] // 2]
    assert s.n_bins == 513 and s.hop == 256
    assert int(np.argmax(np.abs(mid))) == k
    assert_allclose(np.abs(mid[k]), A * 1024 / 4, rtol=1e-9)   # A * sum(window) / 2
    assert_allclose(s.frequencies[k], 1000.0)


def test_default_frame_lengths_and_bad_settings():
    assert default_n_fft(16000) == 2048 and default_n_fft(16000, "exemplar") == 1024
    assert default_n_fft(8000) == 1024 and default_n_fft(8000, "exemplar") == 512
    assert STFT.make(8000).hop == 256
    with pytest.raises(InvalidParameterError, match=r"hop=600 is more than n_fft // 2 = 512"):
        STFT(16000, 1024, 600)
    with pytest.raises(InvalidParameterError, match="n_fft must be a positive integer"):
        STFT(16000, 0, 1)
    with pytest.raises(InvalidParameterError, match="kind must be one of"):
        default_n_fft(8000, "wavelet")


# ---- the STFT pair against plain references ------------------------------------------------
def _hann(n_fft):
    """Periodic Hann window by its formula (not scipy's)."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)


def _frames(n, n_fft, hop):
    """Every frame p whose window, centred on sample p * hop, overlaps the signal with its
    non-zero part (samples 1 .. n_fft - 1 of a periodic Hann window); a signal shorter than half
    a window counts as zero-padded to that length."""
    mid = n_fft // 2
    n = max(n, n_fft - mid)
    return [p for p in range(-n_fft, n + 1)
            if p * hop - mid + 1 < n and p * hop - mid + n_fft > 0]


def _naive_stft(x, n_fft, hop):
    """Frame by frame: the windowed, zero-padded slice around p * hop, its phase referred to the
    window centre (ShortTimeFFT's convention: no phase shift on the frame centred at t = 0)."""
    w, mid, n = _hann(n_fft), n_fft // 2, len(x)       # x[t] = 0 outside 0 <= t < n
    shift = np.exp(2j * np.pi * np.arange(n_fft // 2 + 1) * mid / n_fft)
    cols = []
    for p in _frames(n, n_fft, hop):
        seg = np.zeros(n_fft)
        for m in range(n_fft):
            if 0 <= p * hop - mid + m < n:
                seg[m] = x[p * hop - mid + m]
        cols.append(np.fft.rfft(seg * w) * shift)
    return np.array(cols).T


def _naive_istft(Z, n_fft, hop, n):
    """The least-squares inverse (Griffin & Lim 1984): window each frame's inverse FFT again,
    overlap-add, divide by the overlap-added squared window."""
    w, mid = _hann(n_fft), n_fft // 2
    unshift = np.exp(-2j * np.pi * np.arange(n_fft // 2 + 1) * mid / n_fft)
    num, den = np.zeros(n), np.zeros(n)
    for j, p in enumerate(_frames(n, n_fft, hop)):
        seg = np.fft.irfft(Z[:, j] * unshift, n_fft)
        for m in range(n_fft):
            t = p * hop - mid + m
            if 0 <= t < n:
                num[t] += w[m] * seg[m]
                den[t] += w[m] ** 2
    return num / den


# odd n_fft and signals shorter than half a window included
CASES = [(100, 64, 16), (1, 16, 8), (5, 17, 8), (300, 17, 5), (1000, 256, 128), (37, 33, 16),
         (2, 20, 3)]


@pytest.mark.parametrize("n, n_fft, hop", CASES)
def test_stft_matches_a_frame_by_frame_transform(n, n_fft, hop):
    x = np.random.default_rng(n).standard_normal(n)
    s = STFT(8000, n_fft, hop)
    Z = s.stft(x)
    ref = _naive_stft(x, n_fft, hop)
    assert Z.shape == ref.shape and Z.dtype == np.complex128
    assert s.n_frames(n) == ref.shape[1]
    assert_allclose(Z, ref, rtol=0, atol=1e-12 * n_fft)
    assert_allclose(s.times(n), np.array(_frames(n, n_fft, hop)) * hop / 8000, rtol=1e-14)
    assert_allclose(s.frequencies, np.arange(n_fft // 2 + 1) * 8000 / n_fft, rtol=1e-14)


@pytest.mark.parametrize("n, n_fft, hop", CASES)
def test_istft_of_a_masked_stft_is_the_least_squares_overlap_add(n, n_fft, hop):
    """A mask makes the STFT inconsistent (no signal has it): the inverse is then the
    least-squares signal, not a plain overlap-add; the separator relies on that."""
    rng = np.random.default_rng(n + 1)
    s = STFT(8000, n_fft, hop)
    Z = s.stft(rng.standard_normal(n))
    M = rng.uniform(0, 1, Z.shape)
    y = s.istft(M * Z, n)
    assert y.shape == (n,) and y.dtype == np.float64
    assert_allclose(y, _naive_istft(M * Z, n_fft, hop, n), rtol=0, atol=1e-12)


def test_stft_agrees_with_scipy_signal_stft_on_the_frames_both_have():
    """scipy.signal.stft pads half a window (boundary='zeros') and scales by 1 / sum(window);
    its frame j is centred on sample j * hop, ours on p * hop with p from -1 here."""
    from scipy.signal import check_COLA, check_NOLA
    from scipy.signal import stft as scipy_stft

    n, n_fft, hop = 1000, 256, 64
    x = np.random.default_rng(3).standard_normal(n)
    s = STFT(8000, n_fft, hop)
    _, t, ref = scipy_stft(x, 8000, window="hann", nperseg=n_fft, noverlap=n_fft - hop,
                           boundary="zeros", padded=True)
    Z = s.stft(x)
    first = int(np.argmin(np.abs(s.times(n))))          # our frame centred on t = 0
    both = min(Z.shape[1] - first, ref.shape[1])
    shift = np.exp(2j * np.pi * np.arange(n_fft // 2 + 1) * (n_fft // 2) / n_fft)
    assert_allclose(Z[:, first:first + both], ref[:, :both] * _hann(n_fft).sum() * shift[:, None],
                    rtol=0, atol=1e-10)
    assert_allclose(s.times(n)[first:first + both], t[:both])
    # hop = n_fft // 4 (the default) and the largest hop allowed both satisfy NOLA and COLA
    for h in (n_fft // 4, n_fft // 2):
        assert check_NOLA("hann", n_fft, n_fft - h) and check_COLA("hann", n_fft, n_fft - h)


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.float16, "list"])
def test_stft_computes_in_float64_whatever_the_input(dtype):
    rng = np.random.default_rng(4)
    x64 = np.round(rng.uniform(-2000, 2000, 500))     # integers exact in every dtype above
    x = x64.tolist() if dtype == "list" else x64.astype(dtype)
    s = STFT(8000, 64, 16)
    Z = s.stft(x)
    assert Z.dtype == np.complex128
    assert_allclose(Z, _naive_stft(x64, 64, 16), rtol=0, atol=1e-9)
    y = s.istft(Z.astype(np.complex64), 500)
    assert y.dtype == np.float64
    assert_allclose(y, x64, rtol=0, atol=1e-2)      # complex64 Z: float32 rounding


def test_make_fills_in_the_defaults_and_keeps_what_is_given():
    assert STFT.make(8000) == STFT(8000, 1024, 256)
    assert STFT.make(8000, kind="exemplar") == STFT(8000, 512, 128)
    assert STFT.make(16000, 512) == STFT(16000, 512, 128)
    assert STFT.make(16000, 512, 100) == STFT(16000, 512, 100)
    assert STFT.make(16000, hop=10) == STFT(16000, 2048, 10)
    assert STFT.make(100) == STFT(100, 64, 16)            # 12.8 ms rounds to 16: at least 64
    assert default_n_fft(100) == 64 and default_n_fft(1000, "exemplar") == 64
    assert default_n_fft(1500) == 256                     # 192 samples: nearest power 256


def test_numpy_integer_settings_become_plain_ints_for_json():
    import json

    s = STFT(np.int64(16000), np.int32(1024), np.int16(256))
    assert s == STFT(16000, 1024, 256)
    assert all(type(v) is int for v in (s.sr, s.n_fft, s.hop))
    record = json.loads(json.dumps(s.to_dict()))          # np.int64 would not serialise
    assert record == {"sr": 16000, "n_fft": 1024, "hop": 256, "window": "hann"}
    assert STFT(record["sr"], record["n_fft"], record["hop"]) == s


def test_each_bad_setting_is_named_in_its_error():
    for args, message in [
        ((0, 1024, 256), "sr must be a positive integer, got 0"),
        ((8000.0, 1024, 256), "sr must be a positive integer, got 8000.0"),
        ((True, 1024, 256), "sr must be a positive integer, got True"),
        ((8000, 1024.0, 256), "n_fft must be a positive integer, got 1024.0"),
        ((8000, -4, 256), "n_fft must be a positive integer, got -4"),
        ((8000, 1024, 0), "hop must be a positive integer, got 0"),
        ((8000, 1024, 2.0), "hop must be a positive integer, got 2.0"),
        ((8000, 8, 2), r"n_fft must be >= 16, got n_fft=8"),
    ]:
        with pytest.raises(InvalidParameterError, match=f"^{message}$"):
            STFT(*args)
    with pytest.raises(InvalidParameterError, match=r"^hop=9 is more than n_fft // 2 = 8: the "
                       r"Hann-window STFT is not invertible then\. Use hop <= 8 \(the default "
                       r"is n_fft // 4 = 4\)\.$"):
        STFT(8000, 17, 9)
    # the smallest settings are accepted (a bound of 1 instead of 0 would refuse them)
    assert STFT(1, 16, 1).n_bins == 9
    with pytest.raises(InvalidParameterError, match=r"^sr must be a positive integer, got -1$"):
        STFT.make(-1)
    with pytest.raises(InvalidParameterError,
                       match=r"^n_fft must be a positive integer, got 1\.5$"):
        STFT.make(8000, 1.5)


def test_istft_refuses_an_stft_too_short_for_the_length_asked():
    from matfit import ShapeError

    s = STFT(8000, 64, 16)
    Z = s.stft(np.ones(100))
    assert s.istft(Z, 60).shape == (60,)                  # fewer samples than Z covers: cut
    with pytest.raises(ShapeError, match=r"^Z has shape \(33, 10\) but the STFT of 200 samples "
                                         r"with n_fft=64, hop=16 has shape \(33, 16\)"):
        s.istft(Z, 200)
    with pytest.raises(ShapeError, match=r"Z has shape \(32, 10\)"):
        s.istft(Z[:-1], 100)
    with pytest.raises(ShapeError, match=r"Z has shape \(330,\)"):
        s.istft(Z.ravel(), 100)
