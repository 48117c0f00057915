"""Where a supervised separation loses against the oracle mask (a diagnostic script, not a test).

For one case of ``benchmarks/separation.py`` (default: ``sup16 realnoise 0dB``, the 16 kHz
test speech with the REAL noise recording), the speech SI-SDR improvement of masks in which one
side of matfit's model is replaced by the truth:

* matfit's default separation, and the oracle ideal ratio mask on the same STFT;
* matfit's speech model against the TRUE noise magnitudes (the noise model's share of the loss);
* the TRUE speech magnitudes against matfit's smoothed noise model (the speech model's share);
* the TRUE speech against the true noise's long-term spectrum (the best any stationary noise
  model can do, even with the speech known exactly);
* matfit with the noise exemplars taken from the TEST noise itself (an oracle noise
  dictionary) or the speech dictionary learned from the TEST speech (an oracle speech one);
* the oracle mask put into the bins of local SNR below -10 dB only (the noise that matfit's
  mask lets through).

    python benchmarks/separation_bounds.py [--data ../shared/data] [--case "sup16 realnoise 0dB"]

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

from matfit.separate import Separator, learn_dictionary, si_sdr
from matfit.separate.dictionary import SUPERVISED_EXEMPLARS
from matfit.separate.separator import STATIONARY_SMOOTHING, _smooth

HERE = Path(__file__).resolve().parent


def _benchmark():
    spec = importlib.util.spec_from_file_location("separation_bench", HERE / "separation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bounds(c: dict) -> dict[str, float]:
    """SI-SDR improvements of the masks listed in the module docstring, for case ``c``."""
    sr, x, n = c["sr"], c["mixture"], c["mixture"].size
    ds = learn_dictionary(c["speech_train"], sr)
    dn = learn_dictionary(c["noise_train"], sr, SUPERVISED_EXEMPLARS, kind="exemplar",
                          n_fft=ds.stft.n_fft)
    stft = ds.stft
    S, N = (np.abs(stft.stft(v)) for v in (c["speech"], c["noise"]))
    Z = stft.stft(x)
    base = si_sdr(x, c["speech"])

    def gain(est):
        return float(si_sdr(est, c["speech"]) - base)

    def mask(s, m):
        return s**2 / np.maximum(s**2 + m**2, np.finfo(float).tiny)

    def masked(M):
        return gain(stft.istft(M * Z, n))

    r = Separator({"speech": ds, "noise": dn}).decompose(x, sr)
    speech = r.W[:, r.atoms["speech"]] @ r.H[r.atoms["speech"]]
    noise = _smooth(r.W[:, r.atoms["noise"]] @ r.H[r.atoms["noise"]], STATIONARY_SMOOTHING)
    oracle = mask(S, N)
    lsnr = 10 * np.log10(np.maximum(S, 1e-30) ** 2 / np.maximum(N, 1e-30) ** 2)
    psd = np.sqrt((N**2).mean(axis=1, keepdims=True)) * np.ones_like(N)
    dn_or = learn_dictionary(c["noise"], sr, SUPERVISED_EXEMPLARS, kind="exemplar",
                             n_fft=stft.n_fft)
    ds_or = learn_dictionary(c["speech"], sr)
    return {
        "matfit": gain(r.signals["speech"]),
        "oracle_irm": masked(oracle),
        "model_speech_true_noise": masked(mask(speech, N)),
        "true_speech_model_noise": masked(mask(S, noise)),
        "true_speech_stationary_noise": masked(mask(S, psd)),
        "oracle_noise_dictionary": gain(
            Separator({"speech": ds, "noise": dn_or}).separate(x, sr)["speech"]),
        "oracle_speech_dictionary": gain(
            Separator({"speech": ds_or, "noise": dn}).separate(x, sr)["speech"]),
        "oracle_in_bins_below_-10dB": masked(np.where(lsnr < -10, oracle, r.masks["speech"])),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--case", default="sup16 realnoise 0dB")
    args = ap.parse_args()
    if not (args.data / "audio").is_dir():
        print(f"no audio under {args.data}: pass --data", file=sys.stderr)
        return 1
    found = [c for c in _benchmark().cases(args.data, quick=False) if c["name"] == args.case]
    if not found or found[0]["mode"] != "supervised":
        print(f"{args.case!r} is not a supervised case of benchmarks/separation.py",
              file=sys.stderr)
        return 1
    res = bounds(found[0])
    for k, v in res.items():
        print(f"{k:<32} {v:+7.2f} dB")
    print(json.dumps({"bench": "separation_bounds", "case": args.case,
                      "si_sdr_i": {k: round(v, 3) for k, v in res.items()},
                      "cores": os.cpu_count()}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
