"""Dictionaries and the Separator: invariants, a naive reference fit, smoothing, MISI, errors.

Every Separator option against a plain float64 re-implementation of the whole model is in
``test_separate_separator.py``; the checks here use the 4-second dictionaries.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError, ShapeError
from matfit.separate import STFT, Dictionary, Separator, learn_dictionary, si_sdr
from matfit.separate._synth import noise_like, speech_like

SR = 8000


@pytest.fixture(scope="module")
def signals():
    s_tr, n_tr = speech_like(4, SR, seed=10), noise_like(4, SR, seed=11)
    s, n = speech_like(2, SR, seed=20), noise_like(2, SR, seed=21)
    n *= np.linalg.norm(s) / np.linalg.norm(n)
    return s_tr, n_tr, s, n


@pytest.fixture(scope="module")
def dicts(signals):
    s_tr, n_tr, _, _ = signals
    return (learn_dictionary(s_tr, SR, 10, n_fft=512, seed=0),
            learn_dictionary(n_tr, SR, 10, n_fft=512, seed=0))


# ---- dictionaries ---------------------------------------------------------------------------
def test_learned_dictionary_shape_units_and_read_only(dicts):
    d, _ = dicts
    assert d.W.shape == (257, 10) and d.kind == "nmf" and d.stft == STFT(SR, 512, 128)
    assert_allclose(d.W.sum(axis=0), 1.0, rtol=1e-12)
    assert d.W.min() >= 0 and not d.W.flags.writeable
    assert d.info["training_frames"] == STFT(SR, 512, 128).n_frames(4 * SR)


def test_dictionary_is_nmf_of_the_training_spectrogram(signals):
    """The atoms are matfit.factorize.nmf's W, scaled to unit sum; more iterations fit better."""
    from matfit.factorize import nmf
    from matfit.separate.dictionary import training_spectrogram

    s_tr = signals[0]
    V = training_spectrogram(s_tr, STFT(SR, 512, 128))
    d = learn_dictionary(s_tr, SR, 8, n_fft=512, max_iter=30, seed=4)
    res = nmf(V.astype(np.float32), 8, beta="kl", init="random", normalize_W="l1", max_iter=30,
              tol=0, seed=4)                                  # learned in float32
    assert_allclose(d.W, res.W / res.W.sum(axis=0, dtype=np.float64), rtol=1e-6)
    fits = [learn_dictionary(s_tr, SR, 8, n_fft=512, max_iter=it, seed=0) for it in (5, 60)]
    assert fits[0].info["divergence"] > fits[1].info["divergence"]


def test_segments_are_transformed_separately(signals):
    from matfit.separate.dictionary import training_spectrogram

    n_tr = signals[1]
    stft = STFT(SR, 512, 128)
    a, b = n_tr[:10000], n_tr[14000:]
    V = training_spectrogram([a, b], stft)
    assert_allclose(V, np.hstack([np.abs(stft.stft(a)), np.abs(stft.stft(b))]))
    d = learn_dictionary([a, b], SR, kind="exemplar", n_fft=512)
    assert d.n_components == V.shape[1]   # noise has no silent frames: all of them are atoms
    assert_allclose(d.W, V / V.sum(axis=0), rtol=1e-12)


def test_exemplars_are_subsampled_evenly_and_silence_dropped(signals):
    x = np.concatenate([np.zeros(4000), signals[1][:8000]])
    full = learn_dictionary(x, SR, kind="exemplar", n_fft=512)
    stft = STFT(SR, 512, 128)
    energy = np.abs(stft.stft(x)).sum(axis=0)
    assert full.n_components == int(np.sum(energy > 1e-6 * energy.max())) < energy.size
    some = learn_dictionary(x, SR, 7, kind="exemplar", n_fft=512)
    assert some.n_components == 7
    assert_allclose(some.W[:, 0], full.W[:, 0]) and assert_allclose(some.W[:, -1], full.W[:, -1])


def test_dictionary_save_load_round_trip_without_pickle(tmp_path, dicts):
    d = dicts[0]
    path = d.save(tmp_path / "speech")
    assert path.name == "speech.npz"
    with np.load(path, allow_pickle=False) as npz:   # plain NumPy can read it
        assert_allclose(npz["W"], d.W)
    back = Dictionary.load(path)
    assert back.stft == d.stft and back.kind == d.kind and back.info == d.info
    assert np.array_equal(back.W, d.W)


def test_dictionary_errors(tmp_path, signals):
    with pytest.raises(DataError, match=r"100 samples, shorter than one STFT frame \(n_fft=512"):
        learn_dictionary(np.ones(100), SR, 4, n_fft=512, name="noise")
    with pytest.raises(DataError, match="silent"):
        learn_dictionary(np.zeros(2000), SR, 4, n_fft=512)
    with pytest.raises(InvalidParameterError, match="cannot be learned from 11 frames"):
        learn_dictionary(signals[1][:1024], SR, 20, n_fft=512)
    with pytest.raises(InvalidParameterError, match="kind must be 'nmf'"):
        learn_dictionary(signals[1], SR, 4, kind="kmeans")
    with pytest.raises(InvalidParameterError, match="1-D array of samples"):
        learn_dictionary(np.ones((2000, 2)), SR, 4)
    with pytest.raises(InvalidParameterError, match="n_fft=1024 gives 513 frequency bins"):
        Dictionary(np.ones((257, 3)), STFT(SR, 1024, 256))
    np.savez(tmp_path / "other.npz", W=np.ones(3))
    with pytest.raises(DataError, match="not a matfit model"):
        Dictionary.load(tmp_path / "other.npz")


# ---- the separator --------------------------------------------------------------------------
def _naive_fit(V, W, H, lam, n_free, n_iter, beta=1.0):
    """Beta-divergence (1 <= beta <= 2) multiplicative updates with a per-row L1 weight,
    written out in float64 (Fevotte & Idier 2011: the MM exponent is 1 on that range)."""
    W, H = W.copy(), H.copy()
    k = W.shape[1]
    for _ in range(n_iter):
        Y = W @ H
        H *= (W.T @ (V * Y ** (beta - 2))) / (W.T @ Y ** (beta - 1) + lam[:, None])
        if n_free:
            f = slice(k - n_free, k)
            Y = W @ H
            W[:, f] *= ((V * Y ** (beta - 2)) @ H[f].T) / (Y ** (beta - 1) @ H[f].T)
            s = W[:, f].sum(axis=0)
            W[:, f] /= s
            H[f] *= s[:, None]
    return W, H


@pytest.mark.parametrize("beta", [1.0, None])   # None: 1.5, the semi-supervised default
def test_fit_matches_a_naive_loop_with_per_source_sparsity(signals, dicts, beta):
    s, n = signals[2], signals[3]
    x = s + n
    sep = Separator({"noise": dicts[1]}, unknown={"speech": 6}, sparsity={"speech": 0.4},
                    max_iter=30, seed=3, beta=beta)
    res = sep.decompose(x, SR)
    # replay the same start in float64
    Z = res.stft.stft(x)
    V = np.abs(Z)
    scale = V.mean()
    Vn = V / scale
    rng = np.random.default_rng(3)
    Wu = rng.random((257, 6)).astype(np.float32) + np.float32(0.1)
    W0 = np.hstack([dicts[1].W, (Wu / Wu.sum(axis=0)).astype(np.float64)])
    H0 = np.tile(Vn.astype(np.float32).sum(axis=0) / 16 + np.float32(1e-3), (16, 1))
    lam = np.r_[np.zeros(10), np.full(6, 0.4)]
    W, H = _naive_fit(Vn, W0, H0.astype(np.float64), lam, 6, 30, beta or 1.5)
    assert_allclose(res.W, W, rtol=2e-3, atol=1e-6)
    assert_allclose(res.H, H * scale, rtol=2e-3, atol=1e-5 * scale)
    assert np.array_equal(res.W[:, :10], dicts[1].W.astype(np.float32))  # fixed bitwise


def test_objective_never_rises(signals, dicts):
    x = signals[2] + signals[3]
    objs = [Separator({"noise": dicts[1]}, unknown={"speech": 5}, max_iter=it)
            .decompose(x, SR).objective for it in (1, 2, 5, 10, 30)]
    assert np.all(np.diff(objs) <= 1e-6 * abs(objs[0])), objs


def test_equal_sparsity_on_every_source_only_rescales_kl(signals, dicts):
    """With KL and unit-sum atoms a uniform L1 weight scales H by 1/(1 + lambda): same masks."""
    x = signals[2] + signals[3]
    src = {"speech": dicts[0], "noise": dicts[1]}
    plain = Separator(src, adapt=0, max_iter=40).decompose(x, SR)       # fixed dictionaries
    sparse = Separator(src, adapt=0, sparsity=0.5, max_iter=40).decompose(x, SR)
    assert_allclose(sparse.H * 1.5, plain.H, rtol=1e-3, atol=1e-6 * plain.H.max())
    assert_allclose(sparse.masks["speech"], plain.masks["speech"], atol=1e-4)


@pytest.mark.parametrize("kw", [{}, {"mask": "binary"}, {"unknown": {"speech": 6}}])
def test_residual_never_changes_the_other_sources(signals, dicts, kw):
    """Issue 13: --residual took 5 dB off the supervised speech estimate; now bit for bit."""
    x = signals[2] + signals[3]
    src = {"noise": dicts[1]} if "unknown" in kw else {"speech": dicts[0], "noise": dicts[1]}
    plain = Separator(src, max_iter=20, **kw).decompose(x, SR)
    extra = Separator(src, max_iter=20, residual=True, **kw).decompose(x, SR)
    assert list(extra.signals) == [*plain.signals, "residual"]
    for name, signal in plain.signals.items():
        assert np.array_equal(extra.signals[name], signal), name
        assert np.array_equal(extra.masks[name], plain.masks[name]), name
    # the residual is the unexplained part of each bin's magnitude, by a plain formula (with
    # two starts it uses both starts' models, and W, H hold the first start's only; with the
    # semi-supervised refit, the refitted models: checked in test_separate_separator.py)
    one_start = Separator(src, max_iter=20, residual=True,
                          **{"n_starts": 1, "refit_iterations": 0, **kw}).decompose(x, SR)
    V = np.abs(one_start.mixture_stft)
    explained = sum(one_start.W[:, sl] @ one_start.H[sl] for sl in one_start.atoms.values())
    expected = np.clip(1 - explained / V, 0, 1)
    assert_allclose(one_start.masks["residual"], expected, atol=1e-12)
    assert 0 < expected.mean() < 1


def test_supervised_separation_of_generated_speech(signals, dicts):
    s, n = signals[2], signals[3]
    x = s + n
    out = Separator({"speech": dicts[0], "noise": dicts[1]}).separate(x, SR)
    gain = si_sdr(out["speech"], s) - si_sdr(x, s)
    assert gain > 9, gain
    assert si_sdr(out["noise"], n) - si_sdr(x, n) > 9


def test_two_tones_are_separated_almost_perfectly():
    t = np.arange(2 * SR) / SR
    low, high = np.sin(2 * np.pi * 250 * t), 0.5 * np.sin(2 * np.pi * 2000 * t)
    d_low, d_high = learn_dictionary(low, SR, 1), learn_dictionary(high, SR, 1)
    out = Separator({"low": d_low, "high": d_high}).separate(low + high, SR)
    assert si_sdr(out["low"], low) > 40 and si_sdr(out["high"], high) > 40


def test_int_unknown_is_named_unknown(signals, dicts):
    sep = Separator({"noise": dicts[1]}, unknown=4, residual=True)
    assert sep.source_names == ["noise", "unknown", "residual"]
    res = sep.decompose(signals[2] + signals[3], SR)
    assert res.atoms == {"noise": slice(0, 10), "unknown": slice(10, 14)}


def test_separator_errors(signals, dicts):
    d_s, d_n = dicts
    x = signals[2] + signals[3]
    with pytest.raises(InvalidParameterError, match="'speech' is named twice"):
        Separator({"speech": d_s}, unknown={"speech": 5})
    with pytest.raises(InvalidParameterError, match="at least one source needs a dictionary"):
        Separator({}, unknown={"speech": 5})
    other = learn_dictionary(signals[1], SR, 4, n_fft=1024)
    with pytest.raises(InvalidParameterError,
                       match="'speech' has sr=8000, n_fft=512, hop=128 but 'noise' has sr=8000, "
                             "n_fft=1024"):
        Separator({"speech": d_s, "noise": other})
    sep = Separator({"speech": d_s, "noise": d_n})
    with pytest.raises(InvalidParameterError, match="mixture is at sr=16000 Hz but the "
                                                    "dictionaries were learned at 8000 Hz"):
        sep.separate(x, 16000)
    with pytest.raises(DataError, match="zero length"):
        sep.separate(np.zeros(0), SR)
    with pytest.raises(DataError, match="silent"):
        sep.separate(np.zeros(1000), SR)
    with pytest.raises(ShapeError, match="mixture must be 1-D"):
        sep.separate(np.ones((100, 2)), SR)
    with pytest.raises(DataError, match="non-finite"):
        sep.separate(np.r_[x[:10], np.nan], SR)
    with pytest.raises(InvalidParameterError, match="mask must be 'wiener' or 'binary'"):
        Separator({"speech": d_s}, mask="ideal")
    with pytest.raises(InvalidParameterError, match=r"sparsity names \['music'\]"):
        Separator({"speech": d_s}, sparsity={"music": 1.0})
    with pytest.raises(InvalidParameterError, match="must be a Dictionary"):
        Separator({"speech": d_s.W})
    for bad in (-1, 2.0, True):
        with pytest.raises(InvalidParameterError,
                           match=rf"refit_iterations must be an integer >= 0 \(0: no refit\), "
                                 rf"got {bad!r}"):
            Separator({"noise": d_n}, unknown={"speech": 5}, refit_iterations=bad)


def test_short_mixtures_keep_their_length(dicts):
    sep = Separator({"speech": dicts[0], "noise": dicts[1]}, max_iter=5)
    for n in (1, 100, 300):
        x = np.random.default_rng(n).standard_normal(n)
        res = sep.decompose(x, SR)
        assert res.signals["speech"].shape == res.signals["noise"].shape == (n,)
        assert res.mixture_stft.shape[1] == res.stft.n_frames(n) == res.H.shape[1]


def test_five_seconds_at_16k_separate_in_under_a_second():
    """Acceptance: < 1 s for a 5 s, 16 kHz mixture with given dictionaries (40 + 40 atoms)."""
    sr = 16000
    rng = np.random.default_rng(0)
    stft = STFT.make(sr)
    d_s = Dictionary(rng.random((stft.n_bins, 40)), stft)
    d_n = Dictionary(rng.random((stft.n_bins, 40)), stft)
    x = speech_like(5, sr, seed=1) + 0.3 * noise_like(5, sr, seed=2)
    sep = Separator({"speech": d_s, "noise": d_n})
    best = np.inf
    for _ in range(3):
        # CPU seconds, not wall: on the shared 2-core machine the load average reaches 20+,
        # and the separation runs on one thread, so its CPU time is what it costs
        t0 = time.process_time()
        sep.separate(x, sr)
        best = min(best, time.process_time() - t0)
    assert best < 1.0, f"best of 3: {best:.3f} CPU s"


def test_plot_needs_matplotlib(monkeypatch, tmp_path, signals, dicts):
    import sys

    from matfit import MatfitError
    from matfit.separate import plot_separation

    res = Separator({"speech": dicts[0], "noise": dicts[1]}, max_iter=2).decompose(
        signals[2] + signals[3], SR)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(MatfitError, match=r"pip install 'matfit\[plot\]'"):
        plot_separation(res, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ---- temporal smoothing, phase refinement, saved-file compatibility ------------------------
def test_level_spread_tells_noise_from_speech(dicts):
    d_speech, d_noise = dicts
    assert d_speech.info["level_spread_db"] > 6 > d_noise.info["level_spread_db"]
    assert d_speech.stationary is False and d_noise.stationary is True
    assert Dictionary(d_noise.W, d_noise.stft).stationary is None      # built by hand


def test_default_smoothing_is_15_frames_on_stationary_sources_only(signals, dicts):
    x = signals[2] + signals[3]
    src = {"speech": dicts[0], "noise": dicts[1]}
    kw = {"max_iter": 20, "phase_iterations": 0}
    auto = Separator(src, **kw).decompose(x, SR)
    explicit = Separator(src, smoothing={"noise": 15}, **kw).decompose(x, SR)
    none = Separator(src, smoothing=0, **kw).decompose(x, SR)
    assert np.array_equal(auto.signals["speech"], explicit.signals["speech"])
    assert np.array_equal(none.H, auto.H)              # smoothing acts after the fit only
    # the masks from a plain centred moving average of the noise model, edges repeated
    W, H, a = auto.W, auto.H, auto.atoms
    S = W[:, a["speech"]] @ H[a["speech"]]
    N0 = W[:, a["noise"]] @ H[a["noise"]]
    P = np.pad(N0, ((0, 0), (7, 7)), mode="edge")
    N = sum(P[:, i:i + N0.shape[1]] for i in range(15)) / 15
    assert_allclose(auto.masks["speech"], S**2 / (S**2 + N**2), rtol=1e-7, atol=1e-12)
    assert_allclose(none.masks["speech"], S**2 / (S**2 + N0**2), rtol=1e-7, atol=1e-12)
    assert np.abs(N - N0).max() > 0.05 * N0.max()      # and the average is not the model
    with pytest.raises(InvalidParameterError, match="smoothing names"):
        Separator(src, smoothing={"music": 3})
    with pytest.raises(InvalidParameterError, match="number of frames >= 0"):
        Separator(src, smoothing=-1)


def _naive_misi(Z, mags, stft, n, rounds):
    """MISI as written in Gunawan & Sen (2010), with the final mixture-consistency step."""
    J = len(mags)
    Y = [A * np.exp(1j * np.angle(Z)) for A in mags]
    for _ in range(rounds):
        Zs = [stft.stft(stft.istft(Yj, n)) for Yj in Y]
        E = Z - sum(Zs)
        Y = [A * np.exp(1j * np.angle(Zj + E / J)) for A, Zj in zip(mags, Zs, strict=True)]
    ys = [stft.istft(Yj, n) for Yj in Y]
    return [y + (stft.istft(Z, n) - sum(ys)) / J for y in ys]


def test_phase_iterations_match_a_naive_misi_and_add_up(signals, dicts):
    x = signals[2] + signals[3]
    src = {"speech": dicts[0], "noise": dicts[1]}
    plain = Separator(src, adapt=0, max_iter=20, phase_iterations=0).decompose(x, SR)
    misi = Separator(src, adapt=0, max_iter=20, phase_iterations=3).decompose(x, SR)
    assert Separator(src, adapt=0, max_iter=20).decompose(x, SR).signals["speech"].tobytes() \
        == misi.signals["speech"].tobytes()   # 3 rounds: the default with fixed dictionaries
    Z = plain.mixture_stft
    for name in src:      # 0 rounds: the masked mixture, mixture phase
        assert_allclose(plain.signals[name], plain.stft.istft(plain.masks[name] * Z, x.size),
                        atol=1e-12)
    ref = _naive_misi(Z, [plain.masks[k] * np.abs(Z) for k in src], plain.stft, x.size, 3)
    for name, y in zip(src, ref, strict=True):
        assert_allclose(misi.signals[name], y, atol=1e-9)
    # what MISI is for: each estimate's own STFT magnitude gets closer to its target |M_j X|
    for name in src:
        A = plain.masks[name] * np.abs(Z)
        gap = [np.linalg.norm(np.abs(plain.stft.stft(r.signals[name])) - A) for r in (plain, misi)]
        assert gap[1] < 0.97 * gap[0], (name, gap)
    # semi-supervised default: no rounds
    semi = Separator({"noise": dicts[1]}, unknown={"speech": 5}, max_iter=10).decompose(x, SR)
    assert_allclose(semi.signals["speech"], semi.stft.istft(semi.masks["speech"] * Z, x.size),
                    atol=1e-12)
    with pytest.raises(InvalidParameterError, match="phase_iterations must be an integer"):
        Separator(src, phase_iterations=-2)


def test_a_dictionary_saved_before_level_spread_still_loads(tmp_path, dicts):
    """A format-1 file as matfit wrote it before ``level_spread_db`` existed, written by hand."""
    import json

    d = dicts[1]
    record = {"kind": "matfit.separate.Dictionary", "format_version": 1,
              "stft": {"sr": SR, "n_fft": 512, "hop": 128, "window": "hann"},
              "dictionary_kind": "nmf", "beta": 1.0,
              "info": {"training_seconds": 4.0, "training_frames": 254, "nit": 100,
                       "divergence": 1.5}}
    path = tmp_path / "old.npz"
    np.savez(path, W=d.W, __matfit__=np.str_(json.dumps(record)))
    old = Dictionary.load(path)
    assert np.array_equal(old.W, d.W) and old.stft == d.stft and old.stationary is None
    assert old.info["nit"] == 100
    # no level record: no smoothing by default, as before
    x = np.random.default_rng(0).standard_normal(4000)
    a = Separator({"speech": dicts[0], "noise": old}, max_iter=5).decompose(x, SR)
    b = Separator({"speech": dicts[0], "noise": old}, max_iter=5, smoothing=0).decompose(x, SR)
    assert np.array_equal(a.signals["speech"], b.signals["speech"])
    # and a new save keeps the record
    again = Dictionary.load(d.save(tmp_path / "new.npz"))
    assert again.info["level_spread_db"] == d.info["level_spread_db"] and again.stationary


def test_several_starts_average_the_masks_of_the_first_and_more(signals, dicts):
    x = signals[2] + signals[3]
    kw = {"unknown": {"speech": 6}, "max_iter": 20}
    one = Separator({"noise": dicts[1]}, n_starts=1, **kw).decompose(x, SR)
    two = Separator({"noise": dicts[1]}, **kw).decompose(x, SR)          # default: 2 starts
    assert np.array_equal(one.W, two.W) and np.array_equal(one.H, two.H)  # first start kept
    # (the mean itself is checked against a float64 replay of both starts in
    # test_separate_separator.py)
    # the second start's mask, recovered from the mean, is a mask of its own
    second = 2 * two.masks["speech"] - one.masks["speech"]
    assert second.min() > -1e-12 and second.max() < 1 + 1e-12
    with pytest.raises(InvalidParameterError, match="n_starts must be an integer >= 1"):
        Separator({"noise": dicts[1]}, n_starts=0, **kw)


def test_supervised_speech_gets_adapted_atoms_fitted_like_a_naive_loop(signals, dicts):
    """Default with a stationary noise: 30 free speech atoms beside the speech dictionary."""
    x = signals[2] + signals[3]
    src = {"speech": dicts[0], "noise": dicts[1]}
    res = Separator(src, max_iter=30, seed=3).decompose(x, SR)
    assert res.atoms == {"speech": slice(0, 40), "noise": slice(40, 50)}
    # replay in float64: the naive loop learns its LAST columns, so reorder to
    # [speech dictionary, noise dictionary, adapted speech atoms]
    Vn = np.abs(res.stft.stft(x))
    scale = Vn.mean()
    Vn = Vn / scale
    rng = np.random.default_rng(3)
    Wu = rng.random((257, 30)).astype(np.float32) + np.float32(0.1)
    W0 = np.hstack([dicts[0].W, dicts[1].W, (Wu / Wu.sum(axis=0)).astype(np.float64)])
    H0 = np.tile(Vn.astype(np.float32).sum(axis=0) / 50 + np.float32(1e-3), (50, 1))
    lam = np.r_[np.full(10, 0.1), np.zeros(10), np.full(30, 0.8)]   # the default weights
    W, H = _naive_fit(Vn, W0, H0.astype(np.float64), lam, 30, 30, 1.5)   # beta 1.5
    order = np.r_[0:10, 40:50, 10:40]
    assert_allclose(res.W[:, order], W, rtol=2e-3, atol=1e-6)
    assert_allclose(res.H[order], H * scale, rtol=2e-3, atol=1e-5 * scale)
    assert np.array_equal(res.W[:, :10], dicts[0].W.astype(np.float32))   # fixed bitwise
    assert np.array_equal(res.W[:, 40:], dicts[1].W.astype(np.float32))
    # the default has 150 iterations and keeps the mixture's phase (no MISI rounds)
    full = Separator(src).decompose(x, SR)
    assert full.nit == 150
    assert_allclose(full.signals["speech"],
                    full.stft.istft(full.masks["speech"] * full.mixture_stft, x.size), atol=1e-12)


def test_adaptation_needs_a_clear_stationary_split_and_can_be_named(signals, dicts):
    x = signals[2] + signals[3]
    d_s, d_n = dicts
    bare = Dictionary(d_s.W, d_s.stft)              # built by hand: stationarity unknown
    assert bare.stationary is None
    cases = [({"speech": d_s, "noise": d_n}, {"adapt": 0}, {"speech": 10, "noise": 10}),
             ({"speech": bare, "noise": d_n}, {}, {"speech": 10, "noise": 10}),
             ({"a": d_s, "b": d_s}, {}, {"a": 10, "b": 10}),            # no stationary source
             ({"speech": d_s, "noise": d_n}, {"adapt": 5}, {"speech": 15, "noise": 10}),
             ({"speech": d_s, "noise": d_n}, {"adapt": {"noise": 4}}, {"speech": 10,
                                                                       "noise": 14})]
    for src, kw, sizes in cases:
        res = Separator(src, max_iter=3, **kw).decompose(x, SR)
        assert {k: sl.stop - sl.start for k, sl in res.atoms.items()} == sizes, kw
    with pytest.raises(InvalidParameterError, match="adapt names 'music', which has no dict"):
        Separator({"speech": d_s}, adapt={"music": 5})
    with pytest.raises(InvalidParameterError, match=r"adapt\['speech'\] must be a number"):
        Separator({"speech": d_s}, adapt={"speech": -1})
    with pytest.raises(InvalidParameterError, match="adapt must be a number of atoms or a"):
        Separator({"speech": d_s}, adapt="speech")
