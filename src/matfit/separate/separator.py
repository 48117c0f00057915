"""Supervised and semi-supervised NMF source separation: :class:`Separator`.

Implementation notes
--------------------
* Model. The mixture's magnitude spectrogram V, shape (features, samples) = (bins, frames), is
  fitted as ``V ~ W @ H`` with W the dictionaries of the known sources side by side (fixed
  bitwise) and, for a source with no training data (``unknown``), K more atoms learned from the
  mixture itself. Only H (and the unknown atoms) are fitted, by multiplicative updates for the
  beta-divergence built from :mod:`matfit.factorize`'s MU pieces (``h_terms``, ``w_terms``,
  ``apply_update``), whose objective never increases.
* Sparsity is an L1 penalty on the activations, one weight per source:
  ``D_beta(V | W H) + sum_s lambda_s * sum(H[atoms of s])``. V is scaled to unit mean first, so
  lambda does not depend on the recording level, and all atoms have unit sum, so for KL
  lambda is the extra cost of using an atom relative to its own mass. Why per source: with KL
  and unit-sum atoms an EQUAL weight on every row of H only rescales H (the KL optimum keeps
  sum(W H) = sum(V)), which is why :func:`matfit.factorize.nmf`'s single ``alpha_H`` cannot
  express it. A weight on the unknown source alone stops its free atoms from soaking up what
  the fixed dictionaries explain; the default is 0.5 there and 0 on sources with dictionaries.
* Masks. Source s's model spectrum is ``S_s = W_s @ H_s``; the Wiener-like mask is
  ``S_s**p / sum_j S_j**p`` with ``p = mask_power`` (2: ratio of powers, the Wiener gain; 1: ratio
  of magnitudes). ``mask="binary"`` gives each bin to the loudest source. The masks sum to
  one, so the separated signals add up to the mixture (to rounding).
* Temporal smoothing (``smoothing``): before the masks, a stationary source's model spectrum
  is averaged over 15 neighbouring frames (a moving average along time). NMF fits each frame's
  activations on its own, so a stationary noise's model follows the speech that shares the
  frame; its local average is a better estimate. Which sources are stationary is read from
  their training audio (:attr:`Dictionary.stationary`); speech is never smoothed. This is
  the temporal-context lever that paid: stacking 3, 5 or 7 neighbouring frames into each
  atom (exemplars and free atoms alike) lowered the semi-supervised figure (7.77 -> 7.37,
  7.66, 7.56 dB).
* Refit (``refit_iterations``): after the fit, each smoothed source's model is held at its
  moving average ``A_n`` times one gain per frame, ``A_n * g_n[t]``, and the other sources'
  activations are fitted again against it, atoms fixed: ``D_beta(V | W_r H_r + sum_n A_n
  diag(g_n)) + sum(lambda * H_r)`` by multiplicative updates of ``H_r`` and the gains together
  (for fixed atoms and shapes the model is linear in both, so this is NMF's H step with a
  frame-wise dictionary; the objective never increases). The masks are built from these
  models. Why: in the fit, the noise's exemplar activations follow the speech frame by frame,
  and the speech's atoms are fitted beside that flexible noise; smoothing the noise after the
  fit leaves the speech model to explain a mixture it was not fitted to. The refit lets the
  speech take what the smooth noise does not explain, and the gain lets the noise's level
  (not its shape) move per frame: semi-supervised real 8 kHz set 8.11 -> 8.39 dB (the moving
  average held without the gain: 8.29). At 200 iterations, one gain per frame 8.34 dB; one
  per 2, 4 or 8 frequency bands 8.26, 8.29, 7.98 (the gains start to fit the speech); the
  speech atoms refitted as well 7.99.
* Adapted atoms (``adapt``): in supervised separation a non-stationary source (speech) gets
  30 free atoms beside its fixed dictionary, learned from the mixture like an unknown
  source's, with a heavier L1 weight (0.8) than its dictionary atoms (0.1), so they take
  only what the dictionary cannot explain; the stationary sources (noise) stay fixed. It is
  "semi-supervised with a prior dictionary": a dictionary from another voice is corrected
  on the mixture (real 8 kHz speech, synthetic voice's dictionary: 6.21 -> 7.51 dB), a
  right one loses little (16 kHz set 11.56 -> 11.34 dB). The free atoms' columns need not be
  contiguous; after each W step, W @ H is updated from the rank-K change of the free atoms
  instead of recomputed (one full product less per iteration, about a quarter of the fit).
* Phase (``phase_iterations``): a few MISI rounds give each supervised estimate a phase
  consistent with its own magnitude (see the parameter); the final projection keeps the sum
  equal to the mixture.
* ``residual=True`` adds a diagnostic signal ``"residual"``: in each bin, the part of the
  mixture's magnitude the model leaves unexplained, ``max(|X| - sum_j S_j, 0)`` (unsmoothed
  fitted models ``S_j``; with a refit, the refitted ones), with the mixture's phase. It is
  computed after the masks and takes nothing from them, so the other sources are bit for bit the
  same with and without it (an earlier version put the residual into the masks' denominator,
  which changed every estimate: supervised speech SI-SDR 10.7 dB without it, 5.5 dB with it). It
  is not part of the partition: the sources alone add up to the mixture.
* The factorisation runs in float32 (its result only shapes masks); STFT, masking and
  resynthesis in float64.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._params import nonnegative_number
from .._progress import progress
from ..numerics import beta_divergence, resolve_beta
from ..shapes import as_float_array, check
from ._stft import STFT
from ._threads import one_blas_thread
from .dictionary import Dictionary

__all__ = ["Separation", "Separator"]

Mask = Literal["wiener", "binary"]
DEFAULT_UNKNOWN_SPARSITY = 0.5
SEMI_SUPERVISED_BETA = 1.5
STATIONARY_SMOOTHING = 15
SUPERVISED_ITER, SEMI_SUPERVISED_ITER = 100, 400
SEMI_SUPERVISED_REFIT = 20
SEMI_SUPERVISED_MASK_POWER = 1.5
SEMI_SUPERVISED_STARTS = 2
SUPERVISED_PHASE_ITERATIONS = 3
ADAPT_ATOMS = 30
ADAPT_SPARSITY, ADAPT_PRIOR_SPARSITY = 0.8, 0.1
ADAPT_BETA = 1.5
ADAPT_ITER = 150
ADAPT_PHASE_ITERATIONS = 0


@dataclass
class Separation:
    """Everything one separation produced (what :meth:`Separator.decompose` returns).

    Attributes
    ----------
    signals : dict of str -> ndarray, shape (n_samples,)
        The separated sources, same length as the mixture (and ``"residual"`` if asked for).
    masks : dict of str -> ndarray, shape (features, samples)
        The time-frequency masks applied to the mixture's STFT.
    W : ndarray, shape (features, components)
        All atoms: the dictionaries, then the atoms learned for unknown sources.
    H : ndarray, shape (components, samples)
        Activations, in the units of the mixture's magnitude spectrogram: the fit's (``W @ H``
        is the model ``objective`` scores); with a refit (``Separator(refit_iterations=)``)
        the masks come from the refitted models instead.
    atoms : dict of str -> slice
        Which columns of W (rows of H) belong to each source.
    stft : STFT
        The transform used.
    mixture_stft : ndarray of complex, shape (features, samples)
    objective : float
        Final ``D_beta(V | W H) + penalty`` on the unit-mean spectrogram.
    nit : int
        Iterations run.
    seconds : float
        Wall time of the separation.
    """

    signals: dict[str, np.ndarray]
    masks: dict[str, np.ndarray]
    W: np.ndarray
    H: np.ndarray
    atoms: dict[str, slice]
    stft: STFT
    mixture_stft: np.ndarray
    objective: float
    nit: int
    seconds: float
    history: list[float] = field(default_factory=list)




class Separator:
    """Separate a single-channel mixture into sources described by spectral dictionaries.

    Parameters
    ----------
    sources : mapping of str -> Dictionary
        One dictionary per known source (``{"speech": d_speech, "noise": d_noise}``), all
        learned with the same STFT settings. May be empty if ``unknown`` names every source.
    unknown : int or mapping of str -> int
        Atoms learned from the mixture itself for sources with no training data
        (semi-supervised separation): ``{"speech": 30}``; an int K adds a source named
        ``"unknown"`` with K atoms. 20 to 40 atoms suit speech. Pair it with an exemplar
        dictionary for the known source (``learn_dictionary(noise, sr, kind="exemplar")``):
        learned atoms are flexible enough to fit the unknown source too.
    adapt : int, mapping of str -> int, or None
        Free atoms added to a source that HAS a dictionary, learned from the mixture beside
        its fixed atoms (a dictionary from another speaker, microphone or room then fits the
        mixture's version of the source). None (default): 30 for every non-stationary source
        (:attr:`~matfit.separate.Dictionary.stationary` False: speech) when every source has
        a dictionary and the others are all stationary (noise); none otherwise, nor when a
        dictionary's stationarity is unknown. An int K: the same rule with K atoms (0: none);
        a mapping names the sources and their atoms. The adapted atoms belong to their
        source (its slice in :attr:`Separation.atoms` covers both). Measured, speech SI-SDR
        improvement with 100 noise exemplars (``benchmarks/separation.py``): real 8 kHz
        speech + real noise with a speech dictionary from another voice (the 16 kHz set's
        synthetic speech) 6.21 dB fixed -> 7.51 adapted (4.64 with the former default of
        learned noise atoms; noisereduce 4.37); the 16 kHz set (same voice) 11.56 -> 11.34,
        -5 dB 14.12 -> 13.96, +5 dB 8.90 -> 8.68 dB (the oracle mask: 12.32, 15.32, 9.62). A
        wrong dictionary costs far more than adaptation costs a right one.
    beta : float, {"kl", "frobenius", "is"} or None
        Divergence of the fit. None (default): generalised Kullback-Leibler (1) when every
        source has a dictionary, 1.5 when a source is learned from the mixture. Measured:
        semi-supervised speech SI-SDR improvement on the real 8 kHz set +7.2 dB with KL,
        +7.6 with 1.5 (1.25: 7.3, 1.75: 7.5, 2: 7.4); supervised on the 16 kHz set KL is best
        (10.74 dB, 1.5: 10.65). 1.5 as well when atoms are adapted (``adapt``): with another
        voice's speech dictionary 7.41 dB at 1.5, 7.34 at 1.25, 6.86 with KL.
    mask : {"wiener", "binary"}
        Soft Wiener-like ratio mask, or each time-frequency bin to its loudest source.
    mask_power : float or None
        Exponent p of the ratio mask on the magnitude estimates: 2 is the Wiener gain (ratio
        of powers), 1 the ratio of magnitudes. None (default): 2 when every source has a
        dictionary (16 kHz set: 1.5 -> 10.54 dB, 2 -> 10.74, 2.5 -> 10.80 before smoothing
        and MISI, which favour 2), 1.5 when a source is learned from the mixture (higher
        than with 2 on each of the five semi-supervised benchmark cases, by 0.03 to 0.08 dB).
    sparsity : float, mapping of str -> float, or None
        L1 weight on each source's activations (see the module notes). None: 0.5 on unknown
        sources, 0 on the others (with beta 1.5 on the real 8 kHz set, 0.3: +7.6 dB, 0.5:
        +7.8, 0.8: +7.6; 0 lets the free atoms take the noise, +4.9). With ``adapt``, None
        puts 0.8 on the adapted atoms and 0.1 on their source's dictionary atoms (another
        voice's dictionary: 0.5 and 0.1 7.26 dB, 0.8 and 0.1 7.55, 1.2 and 0.1 7.38; 0.8 and
        0 6.72, 0.8 and 0.2 7.61 but the 16 kHz set at -5 dB 13.64 instead of 13.95). A
        float applies to every source, a mapping's weight to all of a source's atoms
        (adapted ones too).
    smoothing : int, mapping of str -> int, or None
        Frames of a moving average along time applied to a source's model spectrum before
        the masks are built (1 or 0: none). A stationary source's model from one frame's
        activations is noisy; its average over neighbouring frames is a better estimate of
        its spectrum there. None (default): 15 frames for every source whose dictionary is
        :attr:`~matfit.separate.Dictionary.stationary` (frame level std below 6 dB over its
        training audio: noise, not speech), none for the others. Measured, speech SI-SDR
        improvement without MISI: supervised 16 kHz set 10.74 dB unsmoothed, 10.90 (3
        frames), 11.18 (9), 11.24 (15), 11.23 (31); semi-supervised real 8 kHz set 7.88 ->
        8.12 dB (9 or 15 frames; 5: 8.04). With everything else at its default, 15 frames
        beat 9 by 0.06 dB (16 kHz, 0 dB), 0.11 (+5 dB) and 0.04 (the semi-supervised mean).
    phase_iterations : int or None
        Rounds of MISI phase refinement (multiple input spectrogram inversion, Gunawan & Sen
        2010) after masking: each source keeps its masked magnitude and takes the phase of its
        own consistent STFT plus an equal share of the mixture error; the sources are then
        shifted by equal shares to add up to the mixture again. 0: every source keeps the
        mixture's phase. None (default): 3 when every source has a dictionary and none has
        adapted atoms, 0 otherwise.
        Measured, speech SI-SDR improvement: supervised 16 kHz set 11.18 -> 11.45 (2 rounds),
        11.48 (3), 11.50 dB (5), each round two STFT/ISTFT pairs per source (about 0.03 s
        per 5 s of 16 kHz audio); semi-supervised real 8 kHz set 8.01 -> 7.78 (2), 7.74 dB
        (5): MISI trusts the magnitudes, and those learned from the mixture alone are too
        rough. The same with adapted atoms: another voice's dictionary 7.56 dB with 0 rounds,
        7.41 with 1, 7.32 with 3 (the 16 kHz set would gain 0.1 to 0.3 dB from them, but is
        within 1.5 dB of the oracle without).
    n_starts : int or None
        Random starts of the atoms learned from the mixture; the masks are the mean of the
        starts' masks (``W``, ``H`` and ``objective`` are the first start's). Mean speech SI-SDR
        improvement over the five semi-supervised benchmark cases (seeds 0-2, 200 iterations,
        before the refit): one start 8.11 dB, two 8.20 (higher on every case, by 0.03 to 0.26
        dB), three 8.27, at one fit's cost per start. With today's defaults (400 iterations,
        refit), mean over the six semi-supervised cases: one start 9.55 dB, two 9.57, three 9.65
        (the real 8 kHz set 8.32, 8.39, 8.44). With ``mask="binary"`` the mean is the share of
        starts that gave the bin to the source. None (default): 2 when a source is learned from
        the mixture (``unknown``), 1 otherwise (a supervised fit starts from a flat H: nothing
        random to average; with adapted atoms two starts gave the same, 7.55 against 7.56 dB
        with another voice's dictionary, at twice the cost).
    refit_iterations : int or None
        Iterations of the refit after the fit (see the module notes): every smoothed source
        (``smoothing``) is held at its moving average times a gain per frame, and the other
        sources' activations are fitted again against it; the masks come from these models.
        0, or when no source or every source is smoothed: none. None (default): 20 when a
        source is learned from the mixture (``unknown``), 0 otherwise (the supervised paths
        keep their cost). Measured, speech SI-SDR improvement (mean of seeds 0-2; the lead
        over noisereduce in brackets), 400 iterations without -> with the refit: real 8 kHz
        set 8.11 (+2.90) -> 8.39 (+3.18) dB, seeds 3-5 8.26 -> 8.53; the same speech with other
        stretches of the real noise: A at -5, 0, +5 dB 8.30 -> 8.50, 8.49 -> 8.50, 7.45 ->
        7.34, B 9.50 -> 9.41 (+3.74); with the 16 kHz set's hum 15.86 -> 15.27 (+8.52).
        10 and 40 iterations give the same as 20 within 0.01 dB.
    residual : bool
        Also return ``"residual"``: the part of the mixture's magnitude the model does not
        explain (see the module notes; with a refit, the refitted models). It never changes
        the other sources, and is not part of the sum: the sources without it add up to the
        mixture.
    max_iter : int or None
        Multiplicative-update iterations. None (default): 100 when every source has a
        dictionary (more do not help: 16 kHz set 11.54 dB either way), 400 when a source is
        learned from the mixture: its free atoms keep improving (mean over the five
        semi-supervised benchmark cases +7.80 -> +8.07 dB with 200, +8.28 with 400; 600 adds
        0.07 more on the six cases). With the refit, 200 -> 400 iterations: the real 8 kHz set
        8.34 -> 8.39 dB, the noisereduce lead on the closest other case (real noise stretch
        B) 3.42 -> 3.74 dB, on the +0 dB stretch A 3.86 -> 4.14; 150 with
        adapted atoms (another voice's dictionary: 100 7.39 dB, 150 7.51, 200 7.56; 150 keeps
        5 s at 16 kHz under 0.5 CPU seconds).
    tol : float
        Stop early when the objective decreased by less than ``tol`` times its value over 10
        iterations (0: run ``max_iter``).
    seed : int or None
        Seeds the random start of the unknown atoms.
    verbose : int
        1 shows a progress bar on stderr.

    Examples
    --------
    >>> import numpy as np
    >>> from matfit.separate import Separator, learn_dictionary
    >>> sr, t = 8000, np.arange(16000) / 8000
    >>> low, high = np.sin(2 * np.pi * 200 * t), np.sin(2 * np.pi * 1500 * t)
    >>> d_low, d_high = learn_dictionary(low, sr, 2), learn_dictionary(high, sr, 2)
    >>> sep = Separator({"low": d_low, "high": d_high})
    >>> out = sep.separate(low + high, sr)
    >>> sorted(out), bool(np.allclose(out["low"] + out["high"], low + high))
    (['high', 'low'], True)
    """

    def __init__(
        self,
        sources: Mapping[str, Dictionary],
        *,
        unknown: int | Mapping[str, int] = 0,
        adapt: int | Mapping[str, int] | None = None,
        beta: float | str | None = None,
        mask: Mask = "wiener",
        mask_power: float | None = None,
        sparsity: float | Mapping[str, float] | None = None,
        smoothing: int | Mapping[str, int] | None = None,
        phase_iterations: int | None = None,
        n_starts: int | None = None,
        refit_iterations: int | None = None,
        residual: bool = False,
        max_iter: int | None = None,
        tol: float = 0.0,
        seed: int | None = 0,
        verbose: int = 0,
    ) -> None:
        if not isinstance(sources, Mapping):
            raise InvalidParameterError(
                f"sources must be a mapping of name -> Dictionary, e.g. {{'speech': d_s, "
                f"'noise': d_n}}, got {type(sources).__name__}")
        self.sources = dict(sources)
        self.unknown = unknown
        self.adapt = adapt
        self.beta = beta
        self.mask = mask
        self.mask_power = mask_power
        self.sparsity = sparsity
        self.smoothing = smoothing
        self.phase_iterations = phase_iterations
        self.n_starts = n_starts
        self.refit_iterations = refit_iterations
        self.residual = residual
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.verbose = verbose
        self._validate()

    # ---- parameters -------------------------------------------------------------------------
    def _validate(self) -> None:
        for name, d in self.sources.items():
            if not isinstance(name, str) or not name:
                raise InvalidParameterError(f"source names must be non-empty strings, got {name!r}")
            if not isinstance(d, Dictionary):
                raise InvalidParameterError(
                    f"sources[{name!r}] must be a Dictionary (from learn_dictionary or "
                    f"Dictionary.load), got {type(d).__name__}")
        unknown = self.unknown
        if isinstance(unknown, Mapping):
            unk = dict(unknown)
        elif isinstance(unknown, (int, np.integer)) and not isinstance(unknown, bool):
            unk = {"unknown": int(unknown)} if unknown else {}
            if unknown < 0:
                raise InvalidParameterError(f"unknown must be >= 0 atoms, got {unknown!r}")
        else:
            raise InvalidParameterError(
                f"unknown must be a number of atoms or a mapping name -> atoms, e.g. "
                f"{{'speech': 30}}, got {unknown!r}")
        for name, k in unk.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
                raise InvalidParameterError(
                    f"unknown[{name!r}] must be a positive number of atoms, got {k!r}")
            if name in self.sources:
                raise InvalidParameterError(
                    f"source {name!r} is named twice: it has a dictionary and is also listed "
                    f"in unknown. Give it one or the other.")
        if "residual" in {*self.sources, *unk} and self.residual:
            raise InvalidParameterError(
                "residual=True adds a source named 'residual', which is already a source name")
        self._unknown = {k: int(v) for k, v in unk.items()}
        if not self.sources and not self._unknown:
            raise InvalidParameterError(
                "no sources: pass dictionaries in sources and/or atoms to learn in unknown")
        if not self.sources:
            raise InvalidParameterError(
                "every source is unknown: at least one source needs a dictionary, or the "
                "sources cannot be told apart (that is blind separation)")
        stfts = {name: d.stft for name, d in self.sources.items()}
        first_name, first = next(iter(stfts.items()))
        for name, s in stfts.items():
            if s != first:
                raise InvalidParameterError(
                    f"dictionaries disagree on the STFT: {first_name!r} has sr={first.sr}, "
                    f"n_fft={first.n_fft}, hop={first.hop} but {name!r} has sr={s.sr}, "
                    f"n_fft={s.n_fft}, hop={s.hop}. Learn them with the same settings.")
        self._stft = first
        self._adapt = self._check_adapt()
        self._beta = resolve_beta(
            (SEMI_SUPERVISED_BETA if self._unknown else ADAPT_BETA if self._adapt else 1.0)
            if self.beta is None else self.beta)
        if self.mask not in ("wiener", "binary"):
            raise InvalidParameterError(
                f"mask must be 'wiener' or 'binary', got {self.mask!r}")
        p = (SEMI_SUPERVISED_MASK_POWER if self._unknown else 2.0) if self.mask_power is None \
            else nonnegative_number(self.mask_power, "mask_power")
        if p == 0:
            raise InvalidParameterError("mask_power must be > 0 (2: Wiener, 1: magnitude ratio)")
        self._mask_power = float(p)
        names = [*self.sources, *self._unknown]
        if self.sparsity is None:
            lam = {n: (DEFAULT_UNKNOWN_SPARSITY if n in self._unknown else
                       ADAPT_PRIOR_SPARSITY if n in self._adapt else 0.0) for n in names}
        elif isinstance(self.sparsity, Mapping):
            extra = set(self.sparsity) - set(names)
            if extra:
                raise InvalidParameterError(
                    f"sparsity names {sorted(extra)}, which are not sources; sources: {names}")
            lam = {n: nonnegative_number(self.sparsity.get(n, 0.0), f"sparsity[{n!r}]")
                   for n in names}
        else:
            lam = dict.fromkeys(names, nonnegative_number(self.sparsity, "sparsity"))
        self._lambda = lam
        # the adapted atoms' own weight: the default split, or the source's explicit weight
        self._lambda_adapt = {n: ADAPT_SPARSITY if self.sparsity is None else lam[n]
                              for n in self._adapt}
        self._smoothing = self._check_smoothing(names)
        pi = self.phase_iterations
        if pi is None:
            pi = 0 if self._unknown else (
                ADAPT_PHASE_ITERATIONS if self._adapt else SUPERVISED_PHASE_ITERATIONS)
        elif isinstance(pi, bool) or not isinstance(pi, (int, np.integer)) or pi < 0:
            raise InvalidParameterError(
                f"phase_iterations must be an integer >= 0 (0: the mixture's phase), got {pi!r}")
        self._phase_iterations = int(pi)
        ns = self.n_starts
        if ns is None:
            ns = SEMI_SUPERVISED_STARTS if self._unknown else 1
        elif isinstance(ns, bool) or not isinstance(ns, (int, np.integer)) or ns < 1:
            raise InvalidParameterError(f"n_starts must be an integer >= 1, got {ns!r}")
        self._n_starts = int(ns)
        ri = self.refit_iterations
        if ri is None:
            ri = SEMI_SUPERVISED_REFIT if self._unknown else 0
        elif isinstance(ri, bool) or not isinstance(ri, (int, np.integer)) or ri < 0:
            raise InvalidParameterError(
                f"refit_iterations must be an integer >= 0 (0: no refit), got {ri!r}")
        smoothed = [self._smoothing[n] > 1 for n in names]
        # the refit needs a smoothed source to hold and an unsmoothed one to refit
        self._refit_iterations = int(ri) if any(smoothed) and not all(smoothed) else 0
        n_iter = (SEMI_SUPERVISED_ITER if self._unknown else ADAPT_ITER if self._adapt
                  else SUPERVISED_ITER) if self.max_iter is None else self.max_iter
        if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
            raise InvalidParameterError(f"max_iter must be an integer >= 1, got {n_iter!r}")
        self._max_iter = int(n_iter)
        nonnegative_number(self.tol, "tol")

    def _check_adapt(self) -> dict[str, int]:
        """Free atoms added to each known source: ``{name: atoms}`` (empty: none)."""
        adapt = self.adapt
        if adapt is None or (isinstance(adapt, (int, np.integer)) and not isinstance(adapt, bool)):
            k = ADAPT_ATOMS if adapt is None else int(adapt)
            if k < 0:
                raise InvalidParameterError(f"adapt must be >= 0 atoms, got {adapt!r}")
            flags = {n: d.stationary for n, d in self.sources.items()}
            # only a clear split: the stationary sources are trusted as they are, and the
            # others (speech) adapt; without the facts (None), or with no stationary source to
            # tell them from, free atoms could take anything
            if self._unknown or not k or None in flags.values() or all(flags.values()) \
                    or not any(flags.values()):
                return {}
            return {n: k for n, flag in flags.items() if not flag}
        if not isinstance(adapt, Mapping):
            raise InvalidParameterError(
                f"adapt must be a number of atoms or a mapping name -> atoms, e.g. "
                f"{{'speech': 30}}, got {adapt!r}")
        out = {}
        for name, k in adapt.items():
            if name not in self.sources:
                raise InvalidParameterError(
                    f"adapt names {name!r}, which has no dictionary; sources with one: "
                    f"{list(self.sources)} (a source with none goes in unknown)")
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise InvalidParameterError(
                    f"adapt[{name!r}] must be a number of atoms >= 0, got {k!r}")
            if k:
                out[name] = int(k)
        return out

    def _check_smoothing(self, names: list[str]) -> dict[str, int]:
        def frames(value, what):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise InvalidParameterError(
                    f"{what} must be a number of frames >= 0 (0 or 1: no smoothing), got "
                    f"{value!r}")
            return int(value)

        if self.smoothing is None:
            return {n: (STATIONARY_SMOOTHING if n in self.sources and self.sources[n].stationary
                        else 0) for n in names}
        if isinstance(self.smoothing, Mapping):
            extra = set(self.smoothing) - set(names)
            if extra:
                raise InvalidParameterError(
                    f"smoothing names {sorted(extra)}, which are not sources; sources: {names}")
            return {n: frames(self.smoothing.get(n, 0), f"smoothing[{n!r}]") for n in names}
        return dict.fromkeys(names, frames(self.smoothing, "smoothing"))

    @property
    def source_names(self) -> list[str]:
        """Names of the separated signals, in order (known, unknown, then residual)."""
        return [*self.sources, *self._unknown, *(["residual"] if self.residual else [])]

    # ---- the work ---------------------------------------------------------------------------
    def separate(self, mixture: Any, sr: int) -> dict[str, np.ndarray]:
        """Separate ``mixture`` into one signal per source.

        Parameters
        ----------
        mixture : ndarray, shape (n_samples,)
            Single-channel audio at ``sr`` Hz.
        sr : int
            Sample rate; must equal the dictionaries' (resample with
            :func:`matfit.separate.resample` otherwise).

        Returns
        -------
        dict of str -> ndarray, shape (n_samples,)
            One signal per source (see :attr:`source_names`); they add up to the mixture
            (``"residual"``, if asked for, is a diagnostic outside that sum).
        """
        return self.decompose(mixture, sr).signals

    def decompose(self, mixture: Any, sr: int) -> Separation:
        """Like :meth:`separate`, but return the masks, factors and STFT as well."""
        start = time.perf_counter()
        x = self._check_mixture(mixture, sr)
        stft = self._stft
        Z = stft.stft(x)
        V64 = np.abs(Z)
        scale = float(V64.mean())
        V = (V64 / scale).astype(np.float32)
        if self._beta <= 0:
            # beta <= 0 (Itakura-Saito) is undefined at exactly-zero bins, which digital silence
            # produces; V is ours, not the user's, so floor it rather than fail after the fit
            np.maximum(V, np.finfo(np.float32).tiny, out=V)
        rng = np.random.default_rng(self.seed)
        # everything under one BLAS thread: a threaded product may round differently from one
        # call to the next, and --residual promises the other outputs bit for bit
        with one_blas_thread():
            for start_no in range(self._n_starts):
                Wj, Hj, atoms, free, lam = self._initial_factors(V, rng)
                fit = self._fit(V, Wj, Hj, free, lam)
                refitted = (self._refit(V, Wj, Hj, atoms, lam, scale)
                            if self._refit_iterations else None)
                Hj *= scale
                masks_j, explained_j = self._masks(V64, Wj, Hj, atoms, refitted)
                if start_no == 0:
                    W, H, (obj, nit, hist) = Wj, Hj, fit
                    masks, explained = masks_j, explained_j
                else:       # several random starts: the mean of their masks
                    for name, M in masks_j.items():
                        masks[name] += M
                    explained += explained_j
            if self._n_starts > 1:
                for M in masks.values():
                    M /= self._n_starts
                explained /= self._n_starts
            signals = self._resynthesize(Z, masks, stft, x.size)
            if self.residual:
                # last and apart from the rest: asking for it must not change the sources
                with np.errstate(divide="ignore", invalid="ignore"):
                    masks["residual"] = np.where(
                        V64 > 0, np.clip(1.0 - explained / V64, 0.0, 1.0), 0.0)
                signals["residual"] = stft.istft(masks["residual"] * Z, x.size)
        return Separation(signals=signals, masks=masks, W=W.astype(np.float64),
                          H=H.astype(np.float64), atoms=atoms, stft=stft, mixture_stft=Z,
                          objective=obj, nit=nit, seconds=time.perf_counter() - start,
                          history=hist)

    def _resynthesize(self, Z: np.ndarray, masks: dict[str, np.ndarray], stft: STFT,
                      n: int) -> dict[str, np.ndarray]:
        """Masked mixture STFTs back to signals, with ``phase_iterations`` rounds of MISI."""
        names = list(masks)
        signals = {k: stft.istft(masks[k] * Z, n) for k in names}
        if self._phase_iterations and len(names) > 1:
            # MISI (Gunawan & Sen 2010): keep each source's magnitude |M_j X|, take the phase of
            # its consistent STFT plus an equal share of the mixture error, and repeat
            mags = [masks[k] * np.abs(Z) for k in names]
            J = len(names)
            ys = list(signals.values())
            tiny = np.finfo(np.float64).tiny
            for _ in range(self._phase_iterations):
                Zs = [stft.stft(y) for y in ys]
                E = (Z - sum(Zs)) / J
                ys = []
                for A, Zj in zip(mags, Zs, strict=True):
                    U = Zj + E          # A * U / |U|: the magnitude A with U's phase
                    ys.append(stft.istft(U * (A / np.maximum(np.abs(U), tiny)), n))
            # mixture consistency: the sources add up to the mixture again
            share = (stft.istft(Z, n) - sum(ys)) / J
            signals = {k: y + share for k, y in zip(names, ys, strict=True)}
        return signals

    def _check_mixture(self, mixture: Any, sr: int) -> np.ndarray:
        if isinstance(sr, bool) or not isinstance(sr, (int, np.integer)) or sr <= 0:
            raise InvalidParameterError(f"sr must be a positive integer (Hz), got {sr!r}")
        if int(sr) != self._stft.sr:
            raise InvalidParameterError(
                f"the mixture is at sr={sr} Hz but the dictionaries were learned at "
                f"{self._stft.sr} Hz: resample the mixture (matfit.separate.resample(x, {sr}, "
                f"{self._stft.sr})) or learn the dictionaries at {sr} Hz.")
        x = as_float_array(mixture, "mixture", dims="n_samples", dtype=np.float64)
        if x.size == 0:
            raise DataError("the mixture has zero length: there is nothing to separate")
        if not np.any(x):
            raise DataError("the mixture is silent (all samples are zero): nothing to separate")
        return x

    def _initial_factors(self, V: np.ndarray, rng: np.random.Generator):
        n_bins, n_frames = V.shape
        blocks, atoms, lam_rows, free = [], {}, [], []
        col = 0

        def random_atoms(k, lam):
            nonlocal col
            Wu = rng.random((n_bins, k)).astype(np.float32) + np.float32(0.1)
            blocks.append(Wu / Wu.sum(axis=0))
            lam_rows.append(np.full(k, lam, np.float32))
            free.append(np.arange(col, col + k))
            col += k

        for name, d in self.sources.items():
            check(known={"features": (n_bins, f"n_fft={self._stft.n_fft}")},
                  **{f"sources[{name!r}].W": (d.W, "features components")})
            blocks.append(d.W.astype(np.float32))
            lam_rows.append(np.full(d.n_components, self._lambda[name], np.float32))
            start, col = col, col + d.n_components
            if name in self._adapt:     # its free atoms right after its dictionary
                random_atoms(self._adapt[name], self._lambda_adapt[name])
            atoms[name] = slice(start, col)
        for name, k in self._unknown.items():
            start = col
            random_atoms(k, self._lambda[name])
            atoms[name] = slice(start, col)
        W = np.ascontiguousarray(np.hstack(blocks))
        idx = np.concatenate(free) if free else np.arange(0)
        # the learned columns: a slice when they are contiguous (views, no copies)
        free_cols = slice(int(idx[0]), int(idx[-1]) + 1) if idx.size and np.array_equal(
            idx, np.arange(idx[0], idx[-1] + 1)) else (idx if idx.size else slice(0, 0))
        # flat start: every atom explains an equal share of each frame's mass
        H = np.empty((col, n_frames), dtype=np.float32)
        H[...] = V.sum(axis=0) / col + np.float32(1e-3)
        return W, H, atoms, free_cols, np.concatenate(lam_rows)[:, None]

    def _objective(self, V, W, H, lam) -> float:
        return beta_divergence(V, W @ H, self._beta) + float(np.sum(lam * H, dtype=np.float64))

    def _fit(self, V, W, H, free, lam):
        from ..factorize import apply_update, h_terms, mm_exponent, w_terms

        beta, gamma = self._beta, mm_exponent(self._beta)
        n_free = len(range(*free.indices(W.shape[1]))) if isinstance(free, slice) else free.size
        learn_W = n_free > 0
        # keep every entry MU touches positive: a zero never moves, a zero W @ H divides by 0
        floor = np.float32(np.finfo(np.float32).eps * 1e-3)
        np.maximum(H, floor, out=H)
        Y = np.empty_like(V)
        Y_h = np.empty_like(V) if learn_W else None
        work = np.empty_like(V) if beta not in (1.0, 2.0) else None
        numH = np.empty_like(H)
        numW = np.empty((V.shape[0], n_free), dtype=np.float32)
        hist: list[float] = []
        bar = progress(total=self._max_iter, desc="separating", verbose=self.verbose)
        nit = 0
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for it in range(self._max_iter):
                if self.tol and it % 10 == 0:
                    hist.append(self._objective(V, W, H, lam))
                    if len(hist) > 1 and hist[-2] - hist[-1] < self.tol * abs(hist[-2]):
                        break
                if not learn_W or it == 0:
                    np.matmul(W, H, out=Y)
                # else Y is already W @ H: updated below from the change of the free atoms
                numer, denom = h_terms(V, W, H, beta, WH=Y, work=work, out=numH, guard=True)
                apply_update(H, numer, denom + lam, gamma=gamma, floor=floor)
                if learn_W:
                    np.matmul(W, H, out=Y_h)
                    np.copyto(Y, Y_h)
                    numer, denom = w_terms(V, W, H, beta, columns=free, WH=Y, work=work,
                                           out=numW, guard=True)
                    Wf = W[:, free].copy()
                    Hf = H[free]
                    apply_update(Wf, numer, denom, gamma=gamma, floor=floor)
                    # W @ H after the step, from the rank-K change alone: a full product
                    # less per iteration (about a quarter of the time)
                    np.matmul(Wf - W[:, free], Hf, out=Y)
                    Y += Y_h
                    # unit-sum atoms (the penalty's scale), the scale moved into H: W @ H is
                    # unchanged
                    s = Wf.sum(axis=0)
                    W[:, free] = Wf / s
                    H[free] = Hf * s[:, None]
                nit = it + 1
                bar.update(1)
        bar.close()
        obj = self._objective(V, W, H, lam)
        hist.append(obj)
        return obj, nit, hist

    def _refit(self, V, W, H, atoms, lam, scale: float) -> dict[str, np.ndarray]:
        """Each source's model after the refit (see ``refit_iterations``), float64, in the
        mixture's units: a smoothed source's moving average times a gain per frame, the
        other sources' activations fitted again against it with their atoms fixed."""
        from ..factorize import apply_update, mm_exponent

        beta, gamma = self._beta, mm_exponent(self._beta)
        floor = np.float32(np.finfo(np.float32).eps * 1e-3)
        tiny = np.finfo(np.float32).tiny
        held = [n for n in atoms if self._smoothing[n] > 1]
        rows = np.concatenate([np.arange(sl.start, sl.stop) for n, sl in atoms.items()
                               if n not in held])
        shapes = [_smooth(W[:, atoms[n]] @ H[atoms[n]], self._smoothing[n]) for n in held]
        gains = [np.ones((1, V.shape[1]), np.float32) for _ in held]
        Wr, Hr, lr = W[:, rows], H[rows], lam[rows]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            for _ in range(self._refit_iterations):
                # one MU step for the activations and the gains together: for fixed atoms and
                # shapes the model is linear in both, so it is NMF's H step on a frame-wise W
                Y = Wr @ Hr
                for S, g in zip(shapes, gains, strict=True):
                    Y += S * g
                np.maximum(Y, tiny, out=Y)
                P = np.power(Y, np.float32(beta - 1))
                R = V * P / Y
                steps = [(S * R).sum(axis=0, keepdims=True)
                         / np.maximum((S * P).sum(axis=0, keepdims=True), tiny)
                         for S in shapes]
                apply_update(Hr, Wr.T @ R, Wr.T @ P + lr, gamma=gamma, floor=floor)
                for g, step in zip(gains, steps, strict=True):
                    g *= step ** gamma if gamma != 1 else step
                    np.maximum(g, floor, out=g)
        models = {n: S.astype(np.float64) * g * scale
                  for n, S, g in zip(held, shapes, gains, strict=True)}
        offset = 0
        for n, sl in atoms.items():
            if n not in held:
                k = sl.stop - sl.start
                models[n] = (Wr[:, offset:offset + k].astype(np.float64)
                             @ Hr[offset:offset + k].astype(np.float64)) * scale
                offset += k
        return {n: models[n] for n in atoms}

    def _masks(self, V: np.ndarray, W: np.ndarray, H: np.ndarray, atoms: dict[str, slice],
               refitted: dict[str, np.ndarray] | None = None):
        if refitted is None:
            W64, H64 = W.astype(np.float64), H.astype(np.float64)
            fitted = {name: W64[:, sl] @ H64[sl] for name, sl in atoms.items()}
            models = {name: _smooth(S, self._smoothing[name]) for name, S in fitted.items()}
        else:       # the refit's models are already smoothed where that applies
            fitted = models = refitted
        if self.mask == "binary":
            stack = np.stack(list(models.values()))
            winner = np.argmax(stack, axis=0)
            masks = {name: (winner == i).astype(np.float64) for i, name in enumerate(models)}
        else:
            p = self._mask_power
            tiny = np.finfo(np.float64).tiny
            powered = {name: np.power(S, p) for name, S in models.items()}
            total = sum(powered.values())
            n = len(powered)
            empty = total <= tiny
            inv = 1.0 / np.where(empty, 1.0, total)
            masks = {}
            for name, P in powered.items():
                M = P * inv
                if empty.any():  # nothing modelled there: share the bin equally
                    M[empty] = 1.0 / n
                masks[name] = M
        return masks, sum(fitted.values())


def _smooth(S: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over ``frames`` frames along time (axis 1), edges held."""
    if frames <= 1 or S.shape[1] < 2:
        return S
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(S, frames, axis=1, mode="nearest")
