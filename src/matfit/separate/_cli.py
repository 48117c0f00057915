"""``matfit separate MIXTURE.wav --source NAME=TRAIN.wav ... --out-dir DIR``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

HELP = "separate a single-channel recording into sources by supervised/semi-supervised NMF"

EPILOG = """\
examples:
  matfit separate mix.wav --source speech=speech.wav --source noise=noise.wav --out-dir out
  matfit separate mix.wav --source noise=noise.wav --unknown speech=30 --out-dir out \\
      --reference speech=clean.wav
  (a TRAIN file ending in .npz is a dictionary saved with Dictionary.save)

Every source gets DIR/NAME.wav (32-bit float, the mixture's rate and length). Dictionaries are
learned NMF atoms when every source has training audio (a stationary source, such as a noise,
gets at most 100 of its training frames as atoms instead, and a non-stationary one, such as
speech, 30 more atoms adapted to the mixture), and the training frames themselves (exemplars)
when a source is unknown (--dictionary overrides). Training audio at another rate is
resampled to the mixture's, with a note on stderr.
"""


def _pair(text: str, what: str) -> tuple[str, str]:
    from .._io import plain_name

    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    try:  # NAME becomes the file name DIR/NAME.wav: never a path
        plain_name(name, "source name")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return name, value


def _source(text: str) -> tuple[str, str]:
    return _pair(text, "NAME=FILE (e.g. speech=speech_train.wav)")


def _unknown(text: str) -> tuple[str, int]:
    if "=" not in text and text:
        from .._io import plain_name

        try:
            return plain_name(text, "source name"), 30
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    name, value = _pair(text, "NAME or NAME=K (e.g. speech=30)")
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"K in NAME=K must be an integer, got {text!r}") from None
    if k < 1:
        raise argparse.ArgumentTypeError(f"K in NAME=K must be >= 1, got {text!r}")
    return name, k


def _exclude(text: str) -> tuple[str, str]:
    return _pair(text, "NAME=START:END (samples, or seconds with an 's' suffix)")


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("separate", parents=parents, help=HELP,
                       description=HELP[0].upper() + HELP[1:] + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mixture", metavar="MIXTURE.wav", help="the recording to separate")
    p.add_argument("--source", action="append", type=_source, default=[], metavar="NAME=TRAIN",
                   help="a source and its training audio (or saved .npz dictionary); repeat")
    p.add_argument("--unknown", action="append", type=_unknown, default=[],
                   metavar="NAME[=K]",
                   help="a source with no training audio: K atoms (default 30) learned from "
                        "the mixture (semi-supervised)")
    p.add_argument("--exclude", action="append", type=_exclude, default=[],
                   metavar="NAME=START:END",
                   help="leave this span of NAME's training file out (samples, or seconds "
                        "with an 's' suffix, e.g. 2.4s:4.1s); repeat")
    p.add_argument("--components", type=int, default=None, metavar="N",
                   help="atoms per learned dictionary (default 40; for exemplars: at most N "
                        "frames, default all)")
    p.add_argument("--dictionary", choices=("auto", "nmf", "exemplar"), default="auto",
                   help="learned NMF atoms or training frames as atoms (default auto: nmf "
                        "when every source has training audio, except that a stationary "
                        "source's (noise) are its frames, at most 100; exemplar otherwise)")
    p.add_argument("--beta", default=None,
                   help="divergence: kl, frobenius, is, or a number (default: kl, and 1.5 "
                        "for separating when a source is --unknown)")
    p.add_argument("--n-fft", type=int, default=None, metavar="N",
                   help="frame length in samples (default: the power of two nearest 128 ms "
                        "for nmf dictionaries, 2048 at 16 kHz; 64 ms for exemplars, 512 at "
                        "8 kHz)")
    p.add_argument("--hop", type=int, default=None, metavar="H",
                   help="samples between frames (default n_fft / 4)")
    p.add_argument("--iterations", type=int, default=None, metavar="N",
                   help="NMF iterations, for learning and for separating (default 100; for "
                        "separating 150 when speech atoms adapt to the mixture, 400 when a "
                        "source is --unknown, then 20 of a refit against the smoothed noise)")
    p.add_argument("--sparsity", type=float, default=None, metavar="L",
                   help="L1 weight on the unknown sources' activations (default 0.5)")
    p.add_argument("--mask-power", type=float, default=None, metavar="P",
                   help="Wiener-like mask exponent on magnitudes: 2 = Wiener (the default), "
                        "1 = magnitude ratio; 1.5 by default when a source is --unknown")
    p.add_argument("--residual", action="store_true",
                   help="also write residual.wav: the part of the mixture no source's atoms "
                        "explain (a diagnostic; the other outputs are the same without it)")
    p.add_argument("--channel", type=int, default=None, metavar="C",
                   help="separate channel C (0-based) of a multi-channel mixture (default: "
                        "the mean of its channels, with a note)")
    p.add_argument("--reference", action="append", type=_source, default=[],
                   metavar="NAME=CLEAN.wav",
                   help="the true source, to report SI-SDR/SDR/STOI improvements; repeat")
    p.add_argument("--out-dir", required=True, metavar="DIR",
                   help="where NAME.wav are written (created if missing; existing NAME.wav "
                   "files are replaced, but never an input)")
    p.add_argument("--plot", action="store_true",
                   help="write DIR/separation.png (spectrograms and activations; matplotlib)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=run)


def _note(text: str, verbose: int) -> None:
    if verbose:
        print(text, file=sys.stderr, flush=True)


def _span(text: str, sr: int, name: str, n_samples: int | None = None) -> tuple[int, int]:
    from .._errors import InvalidParameterError

    def one(part: str) -> int:
        part = part.strip()
        try:
            return round(float(part[:-1]) * sr) if part.endswith("s") else int(part)
        except ValueError:
            raise InvalidParameterError(
                f"--exclude {name}={text}: START and END must be sample numbers or seconds "
                f"with an 's' suffix (e.g. 38549:66249 or 4.8s:8.3s)") from None

    start, sep, end = text.partition(":")
    if not sep:
        raise InvalidParameterError(f"--exclude {name}={text}: expected START:END")
    lo, hi = one(start), one(end)
    if not 0 <= lo < hi:
        raise InvalidParameterError(
            f"--exclude {name}={text}: need 0 <= START < END, got {lo} and {hi}")
    if n_samples is not None and hi > n_samples:
        raise InvalidParameterError(
            f"--exclude {name}={text}: END is sample {hi} but the training file for {name!r} "
            f"has {n_samples} samples ({n_samples / sr:.3f} s at {sr} Hz): give a span inside "
            f"the file")
    return lo, hi


def _check_names(args: argparse.Namespace) -> None:
    from .._errors import InvalidParameterError

    seen: dict[str, str] = {}
    for name, _ in args.source:
        if name in seen:
            raise InvalidParameterError(f"source {name!r} is named twice (--source {name}=...)")
        seen[name] = "--source"
    for name, _ in args.unknown:
        if name in seen:
            raise InvalidParameterError(
                f"source {name!r} is named twice ({seen[name]} and --unknown): give it either "
                f"training audio or a number of atoms to learn")
        seen[name] = "--unknown"
    if not args.source:
        raise InvalidParameterError(
            "no --source given: at least one source needs training audio, e.g. "
            "--source noise=noise.wav")
    for flag, items in (("--exclude", args.exclude), ("--reference", args.reference)):
        for name, _ in items:
            if name not in seen and not (flag == "--reference" and name == "residual"):
                raise InvalidParameterError(
                    f"{flag} {name}=...: there is no source {name!r}; sources: {list(seen)}")
    for name, text in args.exclude:
        if seen.get(name) == "--unknown":
            raise InvalidParameterError(
                f"--exclude {name}={text}: {name!r} is an --unknown source, learned from the "
                f"mixture, so it has no training file to leave a span out of (--exclude "
                f"applies to --source NAME=TRAIN.wav)")
    refs = [n for n, _ in args.reference]
    if len(set(refs)) != len(refs):
        raise InvalidParameterError("--reference names a source twice")
    if args.residual and "residual" in seen:
        raise InvalidParameterError("--residual adds a source 'residual': rename yours")


def _claim(args: argparse.Namespace) -> Any:
    """Check DIR and every DIR/NAME.wav before any work: none may be an input (exit 2)."""
    from .._io import Outputs

    outputs = Outputs({"MIXTURE": args.mixture,
                       **{f"--source {n}": p for n, p in args.source},
                       **{f"--reference {n}": p for n, p in args.reference}})
    out_dir = outputs.folder("--out-dir", args.out_dir)
    names = [n for n, _ in args.source] + [n for n, _ in args.unknown]
    names += ["residual"] if args.residual else []
    for name in names:
        outputs.file("--out-dir", out_dir / f"{name}.wav", suffix=".wav", within=args.out_dir)
    if args.plot:
        outputs.file("--plot", out_dir / "separation.png", suffix=".png", within=args.out_dir)
    return outputs


def _read(path: str, what: str, verbose: int, channel: int | None = None):
    """A WAV file as mono, with a note when its channels are mixed down (or one is picked)."""
    from ._audio import mono, read_wav_channels

    data, sr = read_wav_channels(path, what=what)
    n_channels = data.shape[1]
    if channel is not None:
        x = mono(data, channel, what=f"{what} {path!r} (--channel)")
        if n_channels > 1:
            _note(f"{path}: {n_channels} channels, separating channel {channel}", verbose)
        return x, sr
    if n_channels > 1:
        _note(f"{path}: {n_channels} channels, mixed down to mono by their mean (NMF separation "
              f"here is single-channel" + ("; --channel C picks one)" if what == "mixture"
                                             else ")"), verbose)
    return mono(data, None, what=what), sr


def _training_audio(name: str, path: str, sr: int, spans: list[str], verbose: int):
    """The training signal at the mixture's rate, as segments around the excluded spans."""
    import numpy as np

    from .._errors import DataError
    from ._audio import resample

    x, sr_file = _read(path, f"training file for {name!r}", verbose)
    cuts = sorted(_span(s, sr_file, name, x.size) for s in spans)
    segments, pos = [], 0
    for lo, hi in cuts:
        if lo > pos:
            segments.append(x[pos:min(lo, x.size)])
        pos = max(pos, hi)
    if pos < x.size:
        segments.append(x[pos:])
    segments = [s for s in segments if s.size]
    if not segments:
        raise DataError(f"--exclude leaves nothing of the training file for {name!r} ({path})")
    if sr_file != sr:
        _note(f"resampling {path} from {sr_file} Hz to the mixture's {sr} Hz "
              f"(scipy.signal.resample_poly)", verbose)
        segments = [resample(s, sr_file, sr) for s in segments]
    return segments if len(segments) > 1 else segments[0], float(
        sum(np.size(s) for s in segments) / sr)


def run(args: argparse.Namespace) -> dict:
    import numpy as np

    from .._errors import DataError, InvalidParameterError
    from ..numerics import resolve_beta
    from ._audio import resample, write_wav
    from ._stft import STFT
    from .dictionary import (
        STATIONARY_SPREAD_DB,
        SUPERVISED_EXEMPLARS,
        Dictionary,
        learn_dictionary,
        level_spread_db,
        training_spectrogram,
    )
    from .metrics import bss_eval, si_sdr, stoi
    from .separator import Separator

    verbose = getattr(args, "verbose", 1)
    _check_names(args)
    for flag, value in (("--iterations", args.iterations), ("--n-fft", args.n_fft),
                        ("--hop", args.hop), ("--components", args.components)):
        if value is not None and value < 1:
            raise InvalidParameterError(f"{flag} must be >= 1, got {value}")
    beta = None
    if args.beta is not None:
        try:
            beta = resolve_beta(float(args.beta))
        except ValueError:
            beta = resolve_beta(args.beta)
    if args.mask_power is not None and not args.mask_power > 0:
        raise InvalidParameterError(f"--mask-power must be > 0, got {args.mask_power}")
    if args.sparsity is not None and not args.sparsity >= 0:
        raise InvalidParameterError(f"--sparsity must be >= 0, got {args.sparsity}")
    claimed = _claim(args)
    start = time.perf_counter()
    mixture, sr = _read(args.mixture, "mixture", verbose, getattr(args, "channel", None))
    if not np.any(mixture):
        raise DataError(
            f"the mixture {args.mixture!r} is silent (all samples are zero): nothing to separate")
    kind = args.dictionary
    if kind == "auto":
        kind = "exemplar" if args.unknown else "nmf"
    stft = STFT.make(sr, args.n_fft, args.hop, kind=kind)
    excludes: dict[str, list[str]] = {}
    for name, text in args.exclude:
        excludes.setdefault(name, []).append(text)

    # read and check every input before any work, so a bad file fails in one line, at once
    training: dict[str, Any] = {}
    for name, path in args.source:
        if path.endswith(".npz"):
            if name in excludes:
                raise InvalidParameterError(
                    f"--exclude {name}=...: the source {name!r} is a saved dictionary ({path}), "
                    f"not training audio, so there is no span to leave out")
            from .._io import naming

            with naming(f"--source {name}"):
                d = Dictionary.load(path)
            if d.stft.sr != sr:
                raise InvalidParameterError(
                    f"dictionary {path} for {name!r} was learned at {d.stft.sr} Hz but the "
                    f"mixture is at {sr} Hz: learn it again from audio at {sr} Hz")
            training[name] = d
        else:
            signal, seconds = _training_audio(name, path, sr, excludes.get(name, []), verbose)
            training_spectrogram(signal, stft, what=f"training file for {name!r} ({path})")
            training[name] = (signal, seconds)
    references = {}
    for name, path in args.reference:
        ref, sr_ref = _read(path, f"reference for {name!r}", verbose)
        if sr_ref != sr:
            _note(f"resampling reference {path} from {sr_ref} Hz to {sr} Hz", verbose)
            ref = resample(ref, sr_ref, sr)
        if ref.size != mixture.size:
            _note(f"reference {path} has {ref.size} samples, the mixture {mixture.size}: "
                  f"comparing the first {min(ref.size, mixture.size)}", verbose)
        references[name] = ref

    dictionaries: dict[str, Dictionary] = {}
    learn_seconds = 0.0
    for (name, path), item in zip(args.source, training.values(), strict=True):
        t0 = time.perf_counter()
        if isinstance(item, Dictionary):
            d = item
            _note(f"loaded {d!r} for {name!r} from {path}", verbose)
        else:
            signal, seconds = item
            kind_s, n_atoms = kind, args.components
            if args.dictionary == "auto" and kind == "nmf" and level_spread_db(
                    training_spectrogram(signal, stft)) < STATIONARY_SPREAD_DB:
                # a stationary source (noise) beside sources with training audio: its frames
                # as atoms fit less of the speech than learned atoms do (see Separator)
                kind_s, n_atoms = "exemplar", args.components or SUPERVISED_EXEMPLARS
            what = (f"{n_atoms or 40} NMF atoms" if kind_s == "nmf" else
                    "exemplar atoms (training frames)")
            _note(f"learning {what} for {name!r} from {path} ({seconds:.2f} s)", verbose)
            d = learn_dictionary(signal, sr, n_atoms, kind=kind_s,
                                 beta="kl" if beta is None else beta,
                                 n_fft=stft.n_fft, hop=stft.hop,
                                 max_iter=args.iterations or 100,
                                 seed=args.seed, verbose=verbose, name=name)
        dictionaries[name] = d
        learn_seconds += time.perf_counter() - t0

    separator = Separator(dictionaries, unknown=dict(args.unknown), beta=beta,
                          mask_power=args.mask_power,
                          sparsity=None if args.sparsity is None else {
                              n: args.sparsity for n, _ in args.unknown},
                          residual=args.residual, max_iter=args.iterations, seed=args.seed,
                          verbose=verbose)
    t0 = time.perf_counter()
    result = separator.decompose(mixture, sr)
    separate_seconds = time.perf_counter() - t0

    out_dir = Path(args.out_dir)
    outputs = {}
    plot_path = None
    with claimed:  # every file is renamed into place only once all are written
        for name, signal in result.signals.items():
            outputs[name] = str(write_wav(out_dir / f"{name}.wav", signal, sr))
        if args.plot:
            from ._plot import plot_separation

            plot_path = str(plot_separation(result, out_dir / "separation.png",
                                            title=Path(args.mixture).name))

    print(f"{Path(args.mixture).name}: {mixture.size / sr:.2f} s at {sr} Hz, n_fft {stft.n_fft},"
          f" hop {stft.hop}, {result.W.shape[1]} atoms ({kind} dictionaries), "
          f"{result.nit} iterations")
    for name, path in outputs.items():
        print(f"  {name:<10} -> {path}")
    metrics: dict[str, dict[str, float]] = {}
    if references:
        n = min(mixture.size, *(r.size for r in references.values()))
        names = list(references)
        refs = np.stack([references[k][:n] for k in names])
        ests = np.stack([result.signals[k][:n] for k in names])
        mix = np.broadcast_to(mixture[:n], refs.shape)
        bss_est = bss_eval(refs, ests, compute_permutation=False)
        bss_mix = bss_eval(refs, mix, compute_permutation=False)
        try:
            import pystoi  # noqa: F401
            has_stoi = True
        except ImportError:
            has_stoi = False
            _note("STOI left out: it needs pystoi (pip install pystoi)", verbose)
        print(f"  {'source':<10} {'SI-SDR mix':>10} {'SI-SDR est':>10} {'improve':>8} "
              f"{'SDR mix':>8} {'SDR est':>8} {'improve':>8} {'SIR':>6} {'SAR':>6} "
              f"{'STOI mix':>8} {'STOI est':>8}")
        for i, name in enumerate(names):
            a, b = si_sdr(mixture[:n], refs[i]), si_sdr(ests[i], refs[i])
            m = {"si_sdr_mixture": a, "si_sdr": b, "si_sdr_improvement": b - a,
                 "sdr_mixture": float(bss_mix.sdr[i]), "sdr": float(bss_est.sdr[i]),
                 "sdr_improvement": float(bss_est.sdr[i] - bss_mix.sdr[i]),
                 "sir": float(bss_est.sir[i]), "sar": float(bss_est.sar[i]),
                 "stoi_mixture": stoi(mixture[:n], refs[i], sr) if has_stoi else np.nan,
                 "stoi": stoi(ests[i], refs[i], sr) if has_stoi else np.nan}
            m["stoi_improvement"] = m["stoi"] - m["stoi_mixture"]
            # with one reference there is no interference: SIR is +inf, reported as null;
            # STOI is null without pystoi or for under ~0.4 s of audio
            metrics[name] = {k: round(float(v), 3) if np.isfinite(v) else None
                             for k, v in m.items()}
            print(f"  {name:<10} {a:>10.2f} {b:>10.2f} {b - a:>+8.2f} {m['sdr_mixture']:>8.2f} "
                  f"{m['sdr']:>8.2f} {m['sdr_improvement']:>+8.2f} {m['sir']:>6.2f} "
                  f"{m['sar']:>6.2f} {m['stoi_mixture']:>8.3f} {m['stoi']:>8.3f}")
    total = time.perf_counter() - start
    return {
        "outputs": outputs,
        "plot": plot_path,
        "metrics": metrics,
        "sr": sr,
        "n_fft": stft.n_fft,
        "hop": stft.hop,
        "dictionary": kind,
        "kinds": {k: d.kind for k, d in dictionaries.items()},
        "atoms": {k: sl.stop - sl.start for k, sl in result.atoms.items()},
        "iterations": result.nit,
        "seconds_learning": round(learn_seconds, 3),
        "seconds_separating": round(separate_seconds, 3),
        "seconds_total": round(total, 3),
    }
