"""``matfit separate``: outputs, metrics, resampling note, plots, and one-line failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from numpy.testing import assert_allclose

from matfit.cli import main
from matfit.separate import learn_dictionary, read_wav, si_sdr
from matfit.separate._synth import noise_like, speech_like

SR = 8000


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    d = tmp_path_factory.mktemp("wavs")
    speech, noise = speech_like(2.5, SR, seed=20), noise_like(2.5, SR, seed=21)
    noise *= np.linalg.norm(speech) / np.linalg.norm(noise)
    sf.write(d / "speech_train.wav", speech_like(5, SR, seed=10), SR, subtype="PCM_16")
    # the noise training file is at 16 kHz: it must be resampled to the mixture's 8 kHz
    sf.write(d / "noise_train_16k.wav", noise_like(5, 16000, seed=11), 16000, subtype="PCM_16")
    sf.write(d / "mix.wav", speech + noise, SR, subtype="FLOAT")
    sf.write(d / "speech.wav", speech, SR, subtype="FLOAT")
    sf.write(d / "noise.wav", noise, SR, subtype="FLOAT")
    sf.write(d / "silent.wav", np.zeros(4000), SR, subtype="PCM_16")
    sf.write(d / "short.wav", speech[:300], SR, subtype="PCM_16")
    (d / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    from scipy.io import wavfile

    wavfile.write(d / "empty.wav", SR, np.zeros(0, np.int16))
    return d


def _json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_supervised_run_writes_every_source_and_reports(wavs, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code = main(["separate", str(wavs / "mix.wav"),
                 "--source", f"speech={wavs / 'speech_train.wav'}",
                 "--source", f"noise={wavs / 'noise_train_16k.wav'}",
                 "--components", "20", "--iterations", "60",
                 "--reference", f"speech={wavs / 'speech.wav'}",
                 "--reference", f"noise={wavs / 'noise.wav'}",
                 "--out-dir", str(out_dir), "--plot", "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = _json(cap.out)
    assert summary["ok"] and summary["n_fft"] == 1024 and summary["dictionary"] == "nmf"
    mix, _ = read_wav(wavs / "mix.wav")
    speech, _ = read_wav(wavs / "speech.wav")
    for name in ("speech", "noise"):
        x, sr = read_wav(summary["outputs"][name])
        assert sr == SR and x.size == mix.size
    est, _ = read_wav(summary["outputs"]["speech"])
    gain = si_sdr(est, speech) - si_sdr(mix, speech)
    assert summary["metrics"]["speech"]["si_sdr_improvement"] == pytest.approx(gain, abs=1e-2)
    assert gain > 8 and summary["metrics"]["speech"]["sdr_improvement"] > 8
    assert summary["metrics"]["noise"]["sir"] is not None
    assert "resampling" in cap.err and "16000 Hz" in cap.err        # said so, on stderr
    assert "learning 20 NMF atoms for 'speech'" in cap.err          # progress while learning
    assert (out_dir / "separation.png").stat().st_size > 10_000
    assert sorted(p.name for p in out_dir.iterdir()) == ["noise.wav", "separation.png",
                                                         "speech.wav"]
    assert "SI-SDR" in cap.out and "improve" in cap.out


def test_semi_supervised_run_with_an_excluded_span_and_a_saved_dictionary(wavs, tmp_path,
                                                                          capsys):
    noise16, _ = read_wav(wavs / "noise_train_16k.wav")
    code = main(["separate", str(wavs / "mix.wav"),
                 "--source", f"noise={wavs / 'noise_train_16k.wav'}",
                 "--exclude", "noise=1s:2s", "--exclude", "noise=50000:60000",
                 "--unknown", "speech=20", "--residual", "-q",
                 "--reference", f"speech={wavs / 'speech.wav'}",
                 "--out-dir", str(tmp_path / "semi"), "--json"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = _json(cap.out)
    assert summary["dictionary"] == "exemplar" and summary["n_fft"] == 512
    assert set(summary["outputs"]) == {"noise", "speech", "residual"}
    assert summary["metrics"]["speech"]["sir"] is None          # one reference: no SIR
    assert summary["metrics"]["speech"]["si_sdr_improvement"] > 5
    assert cap.err == ""                                          # --quiet
    # exemplars come only from the kept spans: 0-1 s, 2-3.125 s and 3.75-5 s at 16 kHz
    kept = 16000 + (50000 - 32000) + (noise16.size - 60000)
    assert summary["atoms"]["noise"] < kept / 64 + 30 and summary["atoms"]["speech"] == 20

    d = learn_dictionary(read_wav(wavs / "speech_train.wav")[0], SR, 10)
    path = d.save(tmp_path / "speech_dict.npz")
    code = main(["separate", str(wavs / "mix.wav"), "--source", f"speech={path}",
                 "--source", f"noise={wavs / 'noise_train_16k.wav'}", "--components", "10",
                 "--out-dir", str(tmp_path / "npz"), "--json", "-q"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = _json(cap.out)
    # the stationary noise: 10 of its frames; speech: the saved 10 atoms + 30 adapted ones
    assert summary["kinds"] == {"speech": "nmf", "noise": "exemplar"}
    assert summary["atoms"] == {"speech": 10 + 30, "noise": 10}


def _fails(args, capsys, match):
    code = main(["separate", *args])
    cap = capsys.readouterr()
    assert code == 1, cap
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], lines
    return lines[0]


def test_bad_input_is_one_line_exit_1_and_nothing_written(wavs, tmp_path, capsys):
    out = tmp_path / "never"
    mix, tr = str(wavs / "mix.wav"), str(wavs / "speech_train.wav")
    common = ["--out-dir", str(out)]
    _fails([str(wavs / "nope.wav"), "--source", f"a={tr}", *common], capsys, "does not exist")
    _fails([str(wavs / "empty.wav"), "--source", f"a={tr}", *common], capsys, "zero length")
    _fails([str(wavs / "broken.wav"), "--source", f"a={tr}", *common], capsys,
           "not a readable WAV file")
    _fails([str(wavs / "silent.wav"), "--source", f"a={tr}", *common], capsys, "silent")
    _fails([mix, "--source", f"a={tr}", "--source", f"a={tr}", *common], capsys,
           "'a' is named twice")
    _fails([mix, "--source", f"a={tr}", "--unknown", "a=5", *common], capsys,
           "'a' is named twice")
    _fails([mix, "--source", f"a={wavs / 'short.wav'}", *common], capsys,
           "shorter than one STFT frame")
    _fails([mix, "--source", f"a={wavs / 'missing_train.wav'}", *common], capsys,
           "training file for 'a'")
    _fails([mix, "--source", f"a={tr}", "--exclude", "a=9:3", *common], capsys,
           "START < END")
    _fails([mix, "--source", f"a={tr}", "--reference", f"b={tr}", *common], capsys,
           "no source 'b'")
    _fails([mix, "--unknown", "a=5", *common], capsys, "no --source given")
    # an unreadable reference fails before any dictionary is learned (-q: no resampling note)
    _fails([mix, "--source", f"a={tr}", "--source", f"b={wavs / 'noise_train_16k.wav'}",
            "--reference", f"a={wavs / 'broken.wav'}", "-q", *common], capsys,
           "reference for 'a'")
    _fails([mix, "--source", f"a={tr}", "--beta", "nonsense", *common], capsys, "beta must be")
    _fails([mix, "--source", f"a={tr}", "--mask-power", "0", *common], capsys, "--mask-power")
    assert not out.exists()


def test_usage_errors_exit_2(wavs):
    with pytest.raises(SystemExit) as info:
        main(["separate", str(wavs / "mix.wav"), "--source", "no-equals-sign", "--out-dir", "x"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["separate", str(wavs / "mix.wav"), "--source", "a=b.wav"])   # no --out-dir
    assert info.value.code == 2


def test_cli_semi_supervised_on_the_real_recording(shared_data, tmp_path, capsys):
    audio = shared_data / "audio"
    code = main(["separate", str(audio / "real_mixture_8k.wav"),
                 "--source", f"noise={audio / 'real_noise_8k.wav'}",
                 "--exclude", "noise=38549:66249", "--unknown", "speech",
                 "--reference", f"speech={audio / 'real_speech_8k.wav'}",
                 "--out-dir", str(tmp_path), "--json", "-q"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    summary = _json(cap.out)
    assert summary["atoms"]["speech"] == 30
    # seed 0 measured 8.33 dB (8.06 before the refit; the library floor test covers seeds 0-2)
    assert summary["metrics"]["speech"]["si_sdr_improvement"] >= 8.0


def test_residual_leaves_every_other_output_bit_for_bit_the_same(wavs, tmp_path, capsys):
    """Issue 13 item 9: --residual only adds residual.wav."""
    args = [str(wavs / "mix.wav"), "--source", f"speech={wavs / 'speech_train.wav'}",
            "--source", f"noise={wavs / 'noise_train_16k.wav'}", "--components", "10",
            "--iterations", "30", "-q", "--json"]
    assert main(["separate", *args, "--out-dir", str(tmp_path / "a")]) == 0
    assert main(["separate", *args, "--residual", "--out-dir", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["noise.wav", "residual.wav",
                                                                  "speech.wav"]
    for name in ("speech.wav", "noise.wav"):   # samples, not bytes: the PEAK chunk has a clock
        a, _ = sf.read(tmp_path / "a" / name, dtype="float32")
        b, _ = sf.read(tmp_path / "b" / name, dtype="float32")
        assert a.tobytes() == b.tobytes(), name


def test_exclude_spans_are_checked_against_the_file_and_the_source(wavs, tmp_path, capsys):
    mix, tr = str(wavs / "mix.wav"), str(wavs / "speech_train.wav")   # 5 s = 40000 samples
    common = ["--out-dir", str(tmp_path / "never")]
    line = _fails([mix, "--source", f"a={tr}", "--exclude", "a=30000:40001", *common], capsys,
                  "END is sample 40001")
    assert "40000 samples" in line
    _fails([mix, "--source", f"a={tr}", "--exclude", "a=4s:6s", *common], capsys,
           "has 40000 samples")
    _fails([mix, "--source", f"a={tr}", "--unknown", "b", "--exclude", "b=0:100", *common],
           capsys, "'b' is an --unknown source")
    d = learn_dictionary(read_wav(wavs / "speech_train.wav")[0], SR, 4)
    path = d.save(tmp_path / "d.npz")
    _fails([mix, "--source", f"a={path}", "--exclude", "a=0:100", *common], capsys,
           "saved dictionary")
    assert not (tmp_path / "never").exists()
    # a span that ends exactly at the end of the file is fine
    code = main(["separate", mix, "--source", f"a={tr}", "--exclude", "a=30000:40000",
                 "--unknown", "b=4", "--iterations", "5", "-q", "--json",
                 "--out-dir", str(tmp_path / "ok")])
    assert code == 0, capsys.readouterr().err


def test_a_stereo_mixture_gets_a_note_or_a_chosen_channel(wavs, tmp_path, capsys):
    mix, _ = read_wav(wavs / "mix.wav")
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([mix, 0.5 * mix[::-1]], axis=1), SR, subtype="FLOAT")
    args = ["separate", str(stereo), "--source", f"speech={wavs / 'speech_train.wav'}",
            "--source", f"noise={wavs / 'noise_train_16k.wav'}", "--components", "6",
            "--iterations", "5", "--json"]
    assert main([*args, "--out-dir", str(tmp_path / "mean")]) == 0
    cap = capsys.readouterr()
    notes = [ln for ln in cap.err.splitlines() if "2 channels" in ln]
    assert len(notes) == 1 and "mean" in notes[0] and "--channel" in notes[0], cap.err
    assert main([*args, "--channel", "0", "--out-dir", str(tmp_path / "left")]) == 0
    cap = capsys.readouterr()
    assert "separating channel 0" in cap.err
    summary = _json(cap.out)
    left = read_wav(summary["outputs"]["speech"])[0] + read_wav(summary["outputs"]["noise"])[0]
    assert_allclose(left, mix, atol=1e-6)          # channel 0 is the mono mixture itself
    _fails([*args[1:], "--channel", "2", "--out-dir", str(tmp_path / "x")], capsys,
           "has 2 channel(s), numbered 0 to 1")


def test_reference_output_reports_stoi(wavs, tmp_path, capsys, monkeypatch):
    pytest.importorskip("pystoi")
    from matfit.separate import stoi

    args = ["separate", str(wavs / "mix.wav"), "--source", f"speech={wavs / 'speech_train.wav'}",
            "--source", f"noise={wavs / 'noise_train_16k.wav'}", "--components", "8",
            "--iterations", "20", "--reference", f"speech={wavs / 'speech.wav'}", "--json"]
    assert main([*args, "--out-dir", str(tmp_path / "a")]) == 0
    cap = capsys.readouterr()
    m = _json(cap.out)["metrics"]["speech"]
    speech, _ = read_wav(wavs / "speech.wav")
    est, _ = read_wav(tmp_path / "a" / "speech.wav")
    assert m["stoi"] == pytest.approx(stoi(est, speech, SR), abs=2e-3)
    assert m["stoi_mixture"] < m["stoi"] <= 1 and "STOI est" in cap.out
    # without pystoi: the same run, STOI null, one note
    import sys

    monkeypatch.setitem(sys.modules, "pystoi", None)
    assert main([*args, "--out-dir", str(tmp_path / "b")]) == 0
    cap = capsys.readouterr()
    m = _json(cap.out)["metrics"]["speech"]
    assert m["stoi"] is None and m["si_sdr_improvement"] is not None
    assert "STOI left out: it needs pystoi (pip install pystoi)" in cap.err
