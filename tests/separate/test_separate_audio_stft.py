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
