"""Adapted atoms (``Separator(adapt=...)``) against a plain float64 replay of the model.

The reference is written from the module notes of :mod:`matfit.separate.separator` and the
``adapt`` / ``sparsity`` documentation: each adapting source's free atoms sit right after its
dictionary, are drawn at random with unit sums (the one thing the replay copies: the draws),
are learned from the mixture by beta-divergence multiplicative updates (Fevotte & Idier's MM
exponent) beside the fixed atoms, and carry their own L1 weight; masks are ratio masks of the
sources' model spectra (a source's adapted atoms are part of it). The free columns may be one
block or several; the replay learns any set of columns, recomputing W @ H every step.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from matfit import InvalidParameterError
from matfit.separate import STFT, Dictionary, Separator, learn_dictionary
from matfit.separate._synth import noise_like, speech_like

SR = 8000
STFT_ = STFT(SR, 256, 64)
FLOOR = float(np.finfo(np.float32).eps) * 1e-3   # the separator's MU floor (unit-mean scale)


@pytest.fixture(scope="module")
def case():
    """Half a second of speech-like + noise-like mixture; 4-atom dictionaries of each."""
    s, n = speech_like(0.5, SR, seed=30), noise_like(0.5, SR, seed=31)
    n *= np.linalg.norm(s) / np.linalg.norm(n)
    d_s = learn_dictionary(speech_like(1.0, SR, seed=12), SR, 4, n_fft=256, max_iter=40, seed=0)
    d_n = learn_dictionary(noise_like(1.0, SR, seed=13), SR, 4, n_fft=256, max_iter=40, seed=0)
    assert d_s.stationary is False and d_n.stationary is True
    return s + n, d_s, d_n


def _gamma(beta):
    return 1 / (2 - beta) if beta < 1 else 1 / (beta - 1) if beta > 2 else 1.0


def _divergence(V, Y, beta):
    if beta == 1:
        return float(np.sum(V * np.log(np.where(V > 0, V, 1) / Y) - V + Y))
    if beta == 0:
        return float(np.sum(V / Y - np.log(V / Y) - 1))
    return float(np.sum((V**beta + (beta - 1) * Y**beta - beta * V * Y ** (beta - 1))
                        / (beta * (beta - 1))))


def _moving_average(S, frames):
    if frames <= 1 or S.shape[1] < 2:
        return S
    left = frames // 2
    P = np.pad(S, ((0, 0), (left, frames - 1 - left)), mode="edge")
    return sum(P[:, i:i + S.shape[1]] for i in range(frames)) / frames


def _replay(x, layout, *, beta, n_iter, p=2.0, smoothing=None, tol=0.0, seed=0):
    """``layout``: [(source, W or None for free atoms of that source, k, L1 weight)], in column
    order. Returns the first start's W, H, iterations, history and the masks."""
    smoothing = smoothing or {}
    Z = STFT_.stft(x)
    V = np.abs(Z)
    scale = V.mean()
    Vn = V / scale
    rng = np.random.default_rng(seed)
    blocks, lam, owner, free = [], [], [], []
    for name, W, k, weight in layout:
        if W is None:   # free atoms, drawn in float32 as the separator draws them
            Wu = rng.random((V.shape[0], k)).astype(np.float32) + np.float32(0.1)
            W = (Wu / Wu.sum(axis=0)).astype(np.float64)
            free += range(len(owner), len(owner) + k)
        blocks.append(np.asarray(W, np.float32).astype(np.float64))
        lam += [weight] * k
        owner += [name] * k
    W = np.hstack(blocks)
    H = np.tile(Vn.sum(axis=0) / W.shape[1] + 1e-3, (W.shape[1], 1))
    lam = np.array(lam)[:, None]
    f = np.array(free, dtype=int)
    g = _gamma(beta)
    hist, nit = [], 0

    def objective():
        return _divergence(Vn, W @ H, beta) + float(np.sum(lam * H))

    for it in range(n_iter):
        if tol and it % 10 == 0:
            hist.append(objective())
            if len(hist) > 1 and hist[-2] - hist[-1] < tol * abs(hist[-2]):
                break
        Y = W @ H
        H = np.maximum(H * ((W.T @ (Vn * Y ** (beta - 2))) / (W.T @ Y ** (beta - 1) + lam)) ** g,
                       FLOOR)
        if f.size:
            Y = W @ H
            Wf = W[:, f] * (((Vn * Y ** (beta - 2)) @ H[f].T) / (Y ** (beta - 1) @ H[f].T)) ** g
            Wf = np.maximum(Wf, FLOOR)
            s = Wf.sum(axis=0)
            W[:, f] = Wf / s
            H[f] *= s[:, None]
        nit = it + 1
    hist.append(objective())
    names = list(dict.fromkeys(owner))
    rows = {name: np.flatnonzero(np.array(owner) == name) for name in names}
    models = {name: _moving_average(W[:, r] @ (H[r] * scale), smoothing.get(name, 0))
              for name, r in rows.items()}
    P = {name: S**p for name, S in models.items()}
    total = sum(P.values())
    masks = {name: Pj / total for name, Pj in P.items()}
    return W, H * scale, nit, hist, masks, rows


def _assert_replayed(res, ref, x, *, rtol=2e-3):
    W, H, nit, hist, masks, rows = ref
    assert res.nit == nit
    assert {k: list(range(sl.start, sl.stop)) for k, sl in res.atoms.items()} == \
        {k: r.tolist() for k, r in rows.items()}
    assert_allclose(res.W, W, rtol=rtol, atol=1e-6)
    assert_allclose(res.H, H, rtol=rtol, atol=1e-5 * H.max())
    assert_allclose(res.history, hist, rtol=1e-4)
    assert_allclose(res.objective, hist[-1], rtol=1e-4)
    for name, M in masks.items():
        assert_allclose(res.masks[name], M, rtol=0, atol=2e-3, err_msg=name)
        assert_allclose(res.signals[name], STFT_.istft(M * STFT_.stft(x), x.size), rtol=0,
                        atol=1e-2 * np.abs(x).max(), err_msg=name)


def test_default_adaptation_is_the_replayed_model(case):
    """Every source has a dictionary, noise is stationary and speech is not: 30 free speech
    atoms right after its dictionary, L1 weights 0.1 (dictionary) and 0.8 (free), beta 1.5,
    the Wiener gain, the noise model smoothed over 15 frames, no MISI, one start."""
    x, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, max_iter=12, seed=5).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.1), ("speech", None, 30, 0.8), ("noise", d_n.W, 4, 0.0)]
    ref = _replay(x, layout, beta=1.5, n_iter=12, smoothing={"noise": 15}, seed=5)
    _assert_replayed(res, ref, x)
    assert res.atoms == {"speech": slice(0, 34), "noise": slice(34, 38)}
    assert np.array_equal(res.W[:, :4], d_s.W.astype(np.float32))       # fixed bitwise
    assert np.array_equal(res.W[:, 34:], d_n.W.astype(np.float32))
    assert_allclose(res.W[:, 4:34].sum(axis=0), 1.0, rtol=1e-5)         # unit-sum free atoms
    # no MISI: each signal is its masked mixture
    assert_allclose(res.signals["speech"],
                    STFT_.istft(res.masks["speech"] * res.mixture_stft, x.size), atol=1e-12)


@pytest.mark.parametrize("beta", [1.0, 2.0, 0.5, 3.0])
def test_adapted_atoms_of_two_sources_are_the_replayed_model(case, beta):
    """Atoms named for both sources: two blocks of free columns (not one slice)."""
    x, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, adapt={"speech": 2, "noise": 3}, beta=beta,
                    max_iter=10, seed=1).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.1), ("speech", None, 2, 0.8),
              ("noise", d_n.W, 4, 0.1), ("noise", None, 3, 0.8)]   # both adapt: 0.1 and 0.8
    ref = _replay(x, layout, beta=beta, n_iter=10, smoothing={"noise": 15}, seed=1)
    _assert_replayed(res, ref, x, rtol=2e-3 if beta in (1.0, 2.0) else 5e-3)
    assert res.atoms == {"speech": slice(0, 6), "noise": slice(6, 13)}


def test_an_explicit_sparsity_weighs_a_sources_adapted_atoms_too(case):
    x, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, adapt=3, sparsity={"speech": 0.4},
                    max_iter=10).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.4), ("speech", None, 3, 0.4), ("noise", d_n.W, 4, 0.0)]
    _assert_replayed(res, _replay(x, layout, beta=1.5, n_iter=10, smoothing={"noise": 15}),
                     x)
    res = Separator({"speech": d_s, "noise": d_n}, adapt=3, sparsity=0.2,
                    max_iter=10).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.2), ("speech", None, 3, 0.2), ("noise", d_n.W, 4, 0.2)]
    _assert_replayed(res, _replay(x, layout, beta=1.5, n_iter=10, smoothing={"noise": 15}),
                     x)


def test_tol_stops_an_adapting_fit_where_the_replay_does(case):
    x, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, adapt=3, tol=1e-2, max_iter=300,
                    seed=2).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.1), ("speech", None, 3, 0.8), ("noise", d_n.W, 4, 0.0)]
    ref = _replay(x, layout, beta=1.5, n_iter=300, smoothing={"noise": 15}, tol=1e-2, seed=2)
    assert 10 < ref[2] < 300 and ref[2] % 10 == 0
    _assert_replayed(res, ref, x)


def test_adapted_defaults_other_than_the_fit(case):
    """The adaptation defaults: 150 iterations, no MISI rounds, one start, Wiener gain p = 2;
    an explicit beta / phase_iterations / n_starts still wins."""
    _, d_s, d_n = case
    two = {"speech": d_s, "noise": d_n}
    sep = Separator(two)
    assert sep._adapt == {"speech": 30}
    assert (sep._beta, sep._max_iter, sep._phase_iterations, sep._n_starts, sep._mask_power) \
        == (1.5, 150, 0, 1, 2.0)
    assert sep._lambda == {"speech": 0.1, "noise": 0.0} and sep._lambda_adapt == {"speech": 0.8}
    fixed = Separator(two, adapt=0)
    assert (fixed._adapt, fixed._beta, fixed._max_iter, fixed._phase_iterations) == \
        ({}, 1.0, 100, 3)
    assert fixed._lambda == {"speech": 0.0, "noise": 0.0}
    sep = Separator(two, beta=2.0, phase_iterations=2, n_starts=2)
    assert (sep._beta, sep._phase_iterations, sep._n_starts) == (2.0, 2, 2)
    # with an unknown source nothing adapts (its free atoms could take anything): the
    # semi-supervised defaults hold, as for a noise dictionary alone beside the unknown source
    semi = Separator({"speech": d_s, "noise": d_n}, unknown={"music": 2})
    plain = Separator({"noise": d_n}, unknown={"music": 2})
    assert semi._adapt == {} and semi._beta == 1.5
    assert (semi._max_iter, semi._phase_iterations, semi._n_starts, semi._mask_power) == \
        (plain._max_iter, plain._phase_iterations, plain._n_starts, plain._mask_power)
    assert sep._max_iter == 150 < semi._max_iter   # (the semi-supervised fit runs longer)


@pytest.mark.parametrize("adapt, sizes", [
    (None, {"speech": 34, "noise": 4}),
    (2, {"speech": 6, "noise": 4}),
    (0, {"speech": 4, "noise": 4}),
    ({"noise": 1}, {"speech": 4, "noise": 5}),
    ({"speech": 0, "noise": 2}, {"speech": 4, "noise": 6}),
    (np.int64(1), {"speech": 5, "noise": 4}),
])
def test_adapted_atom_counts(case, adapt, sizes):
    x, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, adapt=adapt, max_iter=1).decompose(
        x[:2000], SR)
    assert {k: sl.stop - sl.start for k, sl in res.atoms.items()} == sizes


def test_adaptation_needs_stationary_and_non_stationary_sources(case):
    _, d_s, d_n = case
    unknown_flag = Dictionary(d_s.W, d_s.stft)
    assert unknown_flag.stationary is None
    for sources in ({"speech": d_s, "other": d_s}, {"noise": d_n, "hum": d_n},
                    {"speech": unknown_flag, "noise": d_n}, {"speech": d_s}):
        assert Separator(sources)._adapt == {}, list(sources)
        assert Separator(sources, adapt=4)._adapt == {}, list(sources)
    assert Separator({"speech": unknown_flag, "noise": d_n}, adapt={"speech": 4})._adapt == \
        {"speech": 4}


@pytest.mark.parametrize("adapt, message", [
    (-1, "adapt must be >= 0 atoms, got -1"),
    ({"music": 2}, "adapt names 'music', which has no dictionary; sources with one: "
                   "['speech', 'noise'] (a source with none goes in unknown)"),
    ({"speech": -2}, "adapt['speech'] must be a number of atoms >= 0, got -2"),
    ({"speech": 1.5}, "adapt['speech'] must be a number of atoms >= 0, got 1.5"),
    ({"speech": True}, "adapt['speech'] must be a number of atoms >= 0, got True"),
    ("speech", "adapt must be a number of atoms or a mapping name -> atoms, e.g. "
               "{'speech': 30}, got 'speech'"),
    (True, "adapt must be a number of atoms or a mapping name -> atoms, e.g. "
           "{'speech': 30}, got True"),
])
def test_bad_adapt_values_are_named(case, adapt, message):
    _, d_s, d_n = case
    with pytest.raises(InvalidParameterError) as err:
        Separator({"speech": d_s, "noise": d_n}, adapt=adapt)
    assert str(err.value) == message


@pytest.mark.parametrize("kw", [{"adapt": 0}, {"adapt": 2}, {"adapt": 2, "beta": 0.5}])
def test_the_factorisation_runs_in_float32(case, kw, monkeypatch):
    """The module's promise: every MU piece sees float32 arrays (the spectrogram, the factors
    and the W @ H buffer); masks and resynthesis are float64."""
    import matfit.factorize as factorize

    x, d_s, d_n = case
    seen = []

    def spying(f):
        def spy(*args, **kwargs):
            seen.extend(a.dtype for a in (*args[:3], kwargs.get("WH"))
                        if isinstance(a, np.ndarray))
            return f(*args, **kwargs)
        return spy

    for name in ("h_terms", "w_terms", "apply_update"):
        monkeypatch.setattr(factorize, name, spying(getattr(factorize, name)))
    res = Separator({"speech": d_s, "noise": d_n}, max_iter=2, **kw).decompose(x, SR)
    assert len(seen) >= 2 * 3 * 2 and set(seen) == {np.dtype(np.float32)}
    assert res.masks["speech"].dtype == res.signals["speech"].dtype == np.float64
