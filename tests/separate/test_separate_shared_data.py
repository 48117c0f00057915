"""Acceptance figures on ../shared/data/audio (skipped when it is absent), with the defaults.

Regression floors, each the figure measured when the defaults were chosen (issue 18,
benchmarks/separation.py) less a stated tolerance for BLAS/FFT rounding across machines:

* Supervised, 16 kHz, as ``matfit separate`` runs it: 40 NMF speech atoms learned from the
  training file, 100 noise exemplars (the noise is stationary), n_fft 2048, and the Separator's
  defaults for that split: 30 more speech atoms adapted to the mixture, beta 1.5, 150
  iterations, 15-frame smoothing of the noise model, Wiener mask, mixture phase: speech SI-SDR
  improvement measured 11.34 dB, floor 11.0 (tolerance 0.34); and within 1.5 dB of the oracle
  ideal ratio mask on the same STFT (measured 0.98 dB below it: 12.32 dB). (Before the
  adapted atoms and exemplars: 11.54 dB with fixed NMF dictionaries, 3 MISI rounds; the
  defaults traded 0.2 dB here for 2.9 dB on the mismatched case below.)
* Supervised with a speech dictionary from ANOTHER voice (the 16 kHz set's synthetic speech,
  resampled to 8 kHz) on the real 8 kHz speech + real noise (its first 27680 samples, 0 dB,
  noise known from the rest): measured 7.51 dB (4.64 with fixed NMF dictionaries; noisereduce
  4.37), floor 7.2 (tolerance 0.31).
* Semi-supervised, real 8 kHz recording: noise exemplars from real_noise_8k outside the mixed
  stretch [38549, 66249) only, 30 speech atoms learned from the mixture (beta 1.5, sparsity
  0.5, 400 iterations, two starts), n_fft 512, then 20 iterations of the refit against the
  smoothed noise model times a gain per frame, mask power 1.5: speech SI-SDR improvement over
  seeds 0, 1, 2 measured mean 8.39 dB (8.33, 8.53, 8.31; seeds 3-5: 8.57, 8.55, 8.48),
  floors mean 8.2 and min 8.0 (tolerance 0.19 and 0.31). noisereduce gets 5.21 dB here, so
  the floor also keeps the issue's 3 dB lead (8.21). Before the refit and 400 iterations
  8.10 dB (8.06, 8.16, 8.07); before issue 18 7.13 dB.
"""

from __future__ import annotations

import numpy as np

from matfit.separate import STFT, Separator, learn_dictionary, read_wav, si_sdr

MIXED = (38549, 66249)   # the stretch of real_noise_8k that is in real_mixture_8k (README)


def _read(shared_data, name):
    return read_wav(shared_data / "audio" / name)


def test_the_data_is_what_the_readme_says(shared_data):
    mix, sr = _read(shared_data, "mixture_16k.wav")
    speech, _ = _read(shared_data, "speech_test_16k.wav")
    noise, _ = _read(shared_data, "noise_test_16k.wav")
    assert sr == 16000 and mix.size == speech.size == noise.size
    assert np.max(np.abs(mix - speech - noise)) < 1e-4      # int16 rounding
    rmix, sr8 = _read(shared_data, "real_mixture_8k.wav")
    rspeech, _ = _read(shared_data, "real_speech_8k.wav")
    rnoise, _ = _read(shared_data, "real_noise_8k.wav")
    assert sr8 == 8000 and MIXED[1] - MIXED[0] == rmix.size
    assert np.max(np.abs(rmix - rspeech - 1.1713 * rnoise[MIXED[0]:MIXED[1]])) < 1e-4


def _oracle_irm_gain(mixture, speech, noise, stft):
    """SI-SDR improvement of the ideal ratio mask |S|^2 / (|S|^2 + |N|^2), mixture phase."""
    a, b = (np.abs(stft.stft(v)) ** 2 for v in (speech, noise))
    Z = stft.stft(mixture)
    est = stft.istft(a / (a + b) * Z, mixture.size)
    return si_sdr(est, speech) - si_sdr(mixture, speech)


def test_supervised_16k_speech_within_1_5_db_of_the_oracle_mask(shared_data):
    speech_train, sr = _read(shared_data, "speech_train_16k.wav")
    noise_train, _ = _read(shared_data, "noise_train_16k.wav")
    mixture, _ = _read(shared_data, "mixture_16k.wav")
    speech, _ = _read(shared_data, "speech_test_16k.wav")
    d_speech = learn_dictionary(speech_train, sr, 40)
    d_noise = learn_dictionary(noise_train, sr, 100, kind="exemplar", n_fft=2048)
    assert d_speech.W.shape == (1025, 40) and d_noise.W.shape == (1025, 100)
    assert d_noise.stationary and not d_speech.stationary
    out = Separator({"speech": d_speech, "noise": d_noise}).separate(mixture, sr)
    gain = si_sdr(out["speech"], speech) - si_sdr(mixture, speech)
    oracle = _oracle_irm_gain(mixture, speech, mixture - speech, STFT.make(sr))
    print(f"supervised 16 kHz: speech SI-SDR improvement {gain:.2f} dB, oracle {oracle:.2f}")
    assert gain >= 11.0, gain
    assert oracle - gain <= 1.5, (gain, oracle)


def test_supervised_with_another_voice_s_speech_dictionary(shared_data):
    from matfit.separate import resample

    speech, sr = _read(shared_data, "real_speech_8k.wav")
    noise, _ = _read(shared_data, "real_noise_8k.wav")
    other_voice, sr16 = _read(shared_data, "speech_train_16k.wav")
    stretch = noise[:speech.size]
    stretch = stretch * np.linalg.norm(speech) / np.linalg.norm(stretch)      # 0 dB
    mixture = speech + stretch
    d_speech = learn_dictionary(resample(other_voice, sr16, sr), sr)
    d_noise = learn_dictionary([noise[speech.size:]], sr, 100, kind="exemplar",
                               n_fft=d_speech.stft.n_fft)
    out = Separator({"speech": d_speech, "noise": d_noise}).separate(mixture, sr)
    gain = si_sdr(out["speech"], speech) - si_sdr(mixture, speech)
    print(f"supervised, another voice's dictionary: speech SI-SDR improvement {gain:.2f} dB")
    assert gain >= 7.2, gain
    fixed = Separator({"speech": d_speech, "noise": d_noise}, adapt=0).separate(mixture, sr)
    assert si_sdr(fixed["speech"], speech) - si_sdr(mixture, speech) < gain - 0.8


def test_semi_supervised_real_8k_speech_improves_by_8_db(shared_data):
    mixture, sr = _read(shared_data, "real_mixture_8k.wav")
    speech, _ = _read(shared_data, "real_speech_8k.wav")
    noise, _ = _read(shared_data, "real_noise_8k.wav")
    allowed = [noise[:MIXED[0]], noise[MIXED[1]:]]          # never the mixed stretch
    d_noise = learn_dictionary(allowed, sr, kind="exemplar")
    assert d_noise.stft.n_fft == 512
    gains = []
    for seed in (0, 1, 2):
        out = Separator({"noise": d_noise}, unknown={"speech": 30}, seed=seed).separate(
            mixture, sr)
        gains.append(si_sdr(out["speech"], speech) - si_sdr(mixture, speech))
    print(f"semi-supervised real 8 kHz: speech SI-SDR improvement {np.round(gains, 2)} dB")
    assert np.mean(gains) >= 8.2 and min(gains) >= 8.0, gains


def test_semi_supervised_with_learned_noise_atoms_is_worse(shared_data):
    """Why exemplars: learned noise atoms also fit speech (PERF-NOTES: +3 to +4.7 dB)."""
    mixture, sr = _read(shared_data, "real_mixture_8k.wav")
    speech, _ = _read(shared_data, "real_speech_8k.wav")
    noise, _ = _read(shared_data, "real_noise_8k.wav")
    allowed = [noise[:MIXED[0]], noise[MIXED[1]:]]
    exemplar = learn_dictionary(allowed, sr, kind="exemplar")
    learned = learn_dictionary(allowed, sr, 40, n_fft=512)
    base = si_sdr(mixture, speech)
    gain = {}
    for name, d in (("exemplar", exemplar), ("learned", learned)):
        out = Separator({"noise": d}, unknown={"speech": 30}).separate(mixture, sr)
        gain[name] = si_sdr(out["speech"], speech) - base
    assert gain["learned"] < gain["exemplar"] - 1.0, gain
