"""The Separator against a plain float64 re-implementation of its whole model, default by default.

``_reference`` below is written from the module notes of :mod:`matfit.separate.separator`, not
from its code: beta-divergence multiplicative updates with a per-source L1 weight (Fevotte &
Idier 2011, with their MM exponent), unit-sum free atoms, the moving average of a stationary
source's model, the refit against that average times a gain per frame, ratio or binary
masks, MISI (Gunawan & Sen 2010) and the residual. It replays
the separator's random start (that is the one thing it must copy), then every number it gives
must match: masks, signals, factors, objective, iterations. Small signals and dictionaries, so
that each test runs in well under a second.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from matfit import DataError, InvalidParameterError, ShapeError
from matfit.separate import STFT, Dictionary, Separator, learn_dictionary, si_sdr
from matfit.separate._synth import noise_like, speech_like

SR = 8000
STFT_ = STFT(SR, 256, 64)


def _make_case(test_seed, train_seed):
    """Half a second of speech-like + noise-like signals (equal energy) and 4-atom
    dictionaries of each from a second of other audio."""
    s, n = speech_like(0.5, SR, seed=test_seed), noise_like(0.5, SR, seed=test_seed + 1)
    n *= np.linalg.norm(s) / np.linalg.norm(n)
    d_s = learn_dictionary(speech_like(1.0, SR, seed=train_seed), SR, 4, n_fft=256,
                           max_iter=40, seed=0)
    d_n = learn_dictionary(noise_like(1.0, SR, seed=train_seed + 1), SR, 4, n_fft=256,
                           max_iter=40, seed=0)
    assert d_s.stationary is False and d_n.stationary is True
    return s, n, d_s, d_n


@pytest.fixture(scope="module")
def case():
    return _make_case(20, 10)


# ---- the reference --------------------------------------------------------------------------
def _mm_exponent(beta):
    return 1 / (2 - beta) if beta < 1 else 1 / (beta - 1) if beta > 2 else 1.0


def _divergence(V, Y, beta):
    """Sum of d_beta(V | Y), by its three textbook cases (inf where Y = 0 < V)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _divergence_terms(V, Y, beta)


def _divergence_terms(V, Y, beta):
    if beta == 0:
        return float(np.sum(V / Y - np.log(V / Y) - 1))
    if beta == 1:
        return float(np.sum(np.where(V > 0, V * np.log(np.where(V > 0, V, 1) / Y), 0) - V + Y))
    return float(np.sum((V**beta + (beta - 1) * Y**beta - beta * V * Y ** (beta - 1))
                        / (beta * (beta - 1))))


def _ratio(V, Y, beta):
    """V * Y**(beta - 2), and 0 where nothing is modelled (Y = 0: only atoms that are 0 there,
    which the product multiplies by 0 anyway)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(Y > 0, V * Y ** (beta - 2), 0.0)


# MU never lets an entry reach 0 (it could not move again): the separator's floor, on the
# unit-mean scale, 1e-3 float32 epsilons
FLOOR = float(np.finfo(np.float32).eps) * 1e-3


def _naive_fit(V, W, H, lam, free, n_iter, beta, tol=0.0):
    """MU for D_beta(V | WH) + sum(lam * H), the free atoms learned with unit sums: ``free``
    is their number (the last atoms) or their column indices."""
    W, H = W.copy(), H.copy()
    g, k = _mm_exponent(beta), W.shape[1]
    f = slice(k - free, k) if isinstance(free, int) else np.asarray(free, dtype=int)
    n_free = free if isinstance(free, int) else f.size
    hist, nit = [], 0

    def objective():
        return _divergence(V, W @ H, beta) + float(np.sum(lam[:, None] * H))

    for it in range(n_iter):
        if tol and it % 10 == 0:
            hist.append(objective())
            if len(hist) > 1 and hist[-2] - hist[-1] < tol * abs(hist[-2]):
                break
        Y = W @ H
        H *= ((W.T @ _ratio(V, Y, beta)) / (W.T @ Y ** (beta - 1) + lam[:, None])) ** g
        np.maximum(H, FLOOR, out=H)
        if n_free:
            Y = W @ H
            W[:, f] *= ((_ratio(V, Y, beta) @ H[f].T) / (Y ** (beta - 1) @ H[f].T)) ** g
            W[:, f] = np.maximum(W[:, f], FLOOR)                  # the free atoms only
            s = W[:, f].sum(axis=0)
            W[:, f] /= s
            H[f] *= s[:, None]
        nit = it + 1
    hist.append(objective())
    return W, H, nit, hist


def _naive_refit(V, W, H, lam, groups, held, smoothing, n_iter, beta):
    """The refit: each held source's model is its moving average A_n times a gain g_n per
    frame, the other rows of H are fitted again (W fixed); MU on both, simultaneously, for
    D_beta(V | W_r H_r + sum_n A_n g_n) + sum(lam_r * H_r). Returns the models, name -> array."""
    g_exp = _mm_exponent(beta)
    A = {n: _moving_average(W[:, sl] @ H[sl], smoothing[n]) for n, sl in groups.items()
         if n in held}
    gains = {n: np.ones(V.shape[1]) for n in A}
    rest = [n for n in groups if n not in held]
    r = np.concatenate([np.arange(groups[n].start, groups[n].stop) for n in rest])
    Wr, Hr, lr = W[:, r], H[r].copy(), lam[r][:, None]

    def model():
        return Wr @ Hr + sum(A[n] * gains[n] for n in A)

    def objective():
        return _divergence(V, model(), beta) + float(np.sum(lr * Hr))

    before = objective()
    for _ in range(n_iter):
        Y = model()
        up = {n: (np.sum(A[n] * _ratio(V, Y, beta), axis=0)
                  / np.sum(A[n] * Y ** (beta - 1), axis=0)) ** g_exp for n in A}
        Hr *= ((Wr.T @ _ratio(V, Y, beta)) / (Wr.T @ Y ** (beta - 1) + lr)) ** g_exp
        np.maximum(Hr, FLOOR, out=Hr)
        for n in A:
            gains[n] = np.maximum(gains[n] * up[n], FLOOR)
        after = objective()
        assert after <= before * (1 + 1e-12), (before, after)  # an MM step: never rises
        before = after
    out = {n: A[n] * gains[n] for n in A}
    edges = np.cumsum([0, *(groups[n].stop - groups[n].start for n in rest)])
    out.update({n: Wr[:, a:b] @ Hr[a:b] for n, a, b in zip(rest, edges[:-1], edges[1:],
                                                          strict=True)})
    return out


def _moving_average(S, frames):
    if frames <= 1 or S.shape[1] < 2:
        return S
    left = frames // 2
    P = np.pad(S, ((0, 0), (left, frames - 1 - left)), mode="edge")
    return sum(P[:, i:i + S.shape[1]] for i in range(frames)) / frames


def _naive_misi(Z, mags, n, rounds, stft=STFT_):
    J = len(mags)
    Y = [A * np.exp(1j * np.angle(Z)) for A in mags]
    for _ in range(rounds):
        Zs = [stft.stft(stft.istft(Yj, n)) for Yj in Y]
        E = Z - sum(Zs)
        Y = [A * np.exp(1j * np.angle(Zj + E / J)) for A, Zj in zip(mags, Zs, strict=True)]
    ys = [stft.istft(Yj, n) for Yj in Y]
    return [y + (stft.istft(Z, n) - sum(ys)) / J for y in ys]


def _reference(x, sources, unknown=None, *, beta, lam, p=2.0, mask="wiener", smoothing=None,
               n_iter, phase_iterations=0, n_starts=1, seed=0, residual=False, tol=0.0,
               refit=0, stft=STFT_):
    """The separation by the model's definition. ``sources``: name -> W; ``unknown``: name ->
    atoms; ``lam``/``smoothing``: name -> value (missing: 0); ``refit``: iterations of the
    refit, done only when some but not all sources are smoothed."""
    unknown = unknown or {}
    smoothing = smoothing or {}
    names = [*sources, *unknown]
    Z = stft.stft(x)
    V = np.abs(Z)
    scale = V.mean()
    Vn = np.maximum(V / scale, np.finfo(np.float32).tiny) if beta <= 0 else V / scale
    rng = np.random.default_rng(seed)
    masks, explained, first = dict.fromkeys(names, 0.0), 0.0, None
    for _ in range(n_starts):
        # the separator's start, replayed: fixed atoms as stored (float32), random free atoms
        # of unit sum drawn in float32, and a flat H
        blocks = [np.asarray(W, np.float32).astype(np.float64) for W in sources.values()]
        for k in unknown.values():
            Wu = rng.random((V.shape[0], k)).astype(np.float32) + np.float32(0.1)
            blocks.append((Wu / Wu.sum(axis=0)).astype(np.float64))
        sizes = [b.shape[1] for b in blocks]
        W0 = np.hstack(blocks)
        H0 = np.tile(Vn.sum(axis=0) / W0.shape[1] + 1e-3, (W0.shape[1], 1))
        lam_rows = np.concatenate([np.full(k, lam.get(name, 0.0)) for name, k in
                                   zip(names, sizes, strict=True)])
        W, H, nit, hist = _naive_fit(Vn, W0, H0, lam_rows, sum(unknown.values()), n_iter, beta,
                                     tol)
        edges = np.cumsum([0, *sizes])
        groups = {name: slice(a, b) for name, a, b in zip(names, edges[:-1], edges[1:],
                                                          strict=True)}
        held = {name for name in names if smoothing.get(name, 0) > 1}
        if refit and held and len(held) < len(names):
            fitted = models = {name: S * scale for name, S in _naive_refit(
                Vn, W, H, lam_rows, groups, held, smoothing, refit, beta).items()}
            H = H * scale
        else:
            H = H * scale
            fitted = {name: W[:, sl] @ H[sl] for name, sl in groups.items()}
            models = {name: _moving_average(S, smoothing.get(name, 0))
                      for name, S in fitted.items()}
        if mask == "binary":
            winner = np.argmax(np.stack(list(models.values())), axis=0)
            these = {name: (winner == i).astype(float) for i, name in enumerate(models)}
        else:
            P = {name: S**p for name, S in models.items()}
            total = sum(P.values())
            these = {name: np.where(total > 0, Pj / np.where(total > 0, total, 1), 1 / len(P))
                     for name, Pj in P.items()}
        for name in names:
            masks[name] = masks[name] + these[name] / n_starts
        explained = explained + sum(fitted.values()) / n_starts
        first = first or (W, H, nit, hist, models)
    if phase_iterations and len(names) > 1:
        ys = _naive_misi(Z, [masks[k] * V for k in names], x.size, phase_iterations,
                         stft)
        signals = dict(zip(names, ys, strict=True))
    else:
        signals = {k: stft.istft(masks[k] * Z, x.size) for k in names}
    if residual:
        with np.errstate(divide="ignore", invalid="ignore"):
            masks["residual"] = np.where(V > 0, np.clip(1 - explained / V, 0, 1), 0.0)
        signals["residual"] = stft.istft(masks["residual"] * Z, x.size)
    W, H, nit, hist, models = first
    return {"signals": signals, "masks": masks, "W": W, "H": H, "nit": nit, "history": hist,
            "models": models, "scale": scale}


def _assert_matches(res, ref, x, *, mask_atol=2e-4, binary=False):
    """The separator (float32 fit) against the float64 reference."""
    assert list(res.signals) == list(ref["signals"])
    assert res.nit == ref["nit"]
    assert res.W.dtype == res.H.dtype == np.float64
    assert_allclose(res.W, ref["W"], rtol=2e-3, atol=1e-6)
    assert_allclose(res.H, ref["H"], rtol=2e-3, atol=1e-5 * ref["H"].max())
    assert_allclose(res.history, ref["history"], rtol=1e-4)
    assert_allclose(res.objective, ref["history"][-1], rtol=1e-4)
    for name, M in ref["masks"].items():
        if binary and name != "residual":
            # where two models are within rounding of each other the winner may differ
            S = np.stack(list(ref["models"].values()))
            top = np.sort(S, axis=0)
            clear = top[-1] > (1 + 1e-3) * top[-2]
            assert clear.mean() > 0.99
            assert np.array_equal(res.masks[name][clear], M[clear]), name
        else:
            assert_allclose(res.masks[name], M, rtol=0, atol=mask_atol, err_msg=name)
    if not binary:
        peak = np.abs(x).max()
        for name, y in ref["signals"].items():
            assert_allclose(res.signals[name], y, rtol=0, atol=5 * mask_atol * peak,
                            err_msg=name)


# ---- defaults -------------------------------------------------------------------------------
def test_supervised_defaults_are_the_reference_model(case):
    """KL, Wiener gain (p = 2), 100 iterations, noise model smoothed over 15 frames (it is
    stationary, speech is not), 3 MISI rounds, no sparsity: the fixed-dictionary model, so
    ``adapt=0`` (the adapted-atoms default has its own reference test)."""
    s, n, d_s, d_n = case
    x = s + n
    res = Separator({"speech": d_s, "noise": d_n}, adapt=0).decompose(x, SR)
    ref = _reference(x, {"speech": d_s.W, "noise": d_n.W}, beta=1.0, lam={}, p=2.0,
                     smoothing={"noise": 15}, n_iter=100, phase_iterations=3)
    _assert_matches(res, ref, x)
    assert res.atoms == {"speech": slice(0, 4), "noise": slice(4, 8)}
    assert np.array_equal(res.W[:, :4], d_s.W.astype(np.float32))      # fixed bitwise
    assert_allclose(res.mixture_stft, STFT_.stft(x), rtol=0, atol=0)
    assert res.stft == STFT_ and 0 < res.seconds < 60
    # and it separates: better speech than the mixture itself
    assert si_sdr(res.signals["speech"], s) > si_sdr(x, s) + 3


def test_semi_supervised_defaults_are_the_reference_model(case):
    """beta 1.5, ratio mask with p = 1.5, L1 weight 0.5 on the unknown source only, 400
    iterations, then 20 of the refit against the smoothed noise times a gain per frame, the
    mean of 2 starts' masks, no MISI."""
    s, n, _, d_n = case
    x = s + n
    res = Separator({"noise": d_n}, unknown={"speech": 3}, seed=7).decompose(x, SR)
    ref = _reference(x, {"noise": d_n.W}, {"speech": 3}, beta=1.5, lam={"speech": 0.5},
                     p=1.5, smoothing={"noise": 15}, n_iter=400, n_starts=2, seed=7, refit=20)
    _assert_matches(res, ref, x, mask_atol=2e-3)
    assert res.atoms == {"noise": slice(0, 4), "speech": slice(4, 7)}
    assert_allclose(res.W[:, 4:].sum(axis=0), 1.0, rtol=1e-5)          # unit-sum free atoms
    # entries of the free atoms that the mixture does not need sink to the floor, not below
    assert_allclose(res.W[:, 4:].min(), ref["W"][:, 4:].min(), rtol=1e-3)
    assert res.W[:, 4:].min() < 2 * FLOOR


# ---- every parameter, against the reference -------------------------------------------------
VARIANTS = {
    "is": ({"beta": "is"}, {"beta": 0.0}),
    "beta0.5": ({"beta": 0.5}, {"beta": 0.5}),
    "frobenius": ({"beta": "frobenius"}, {"beta": 2.0}),
    "beta3": ({"beta": 3.0}, {"beta": 3.0}),
    "binary": ({"mask": "binary"}, {"mask": "binary"}),
    "power1": ({"mask_power": 1.0}, {"p": 1.0}),
    "power3": ({"mask_power": 3}, {"p": 3.0}),
    "sparsity": ({"sparsity": 0.3}, {"lam": {"speech": 0.3, "noise": 0.3}}),
    "sparsity_map": ({"sparsity": {"noise": 0.2}}, {"lam": {"noise": 0.2}}),
    "smooth_all": ({"smoothing": 5}, {"smoothing": {"speech": 5, "noise": 5}}),
    "smooth_map": ({"smoothing": {"speech": 4}}, {"smoothing": {"speech": 4}}),
    "smooth_two": ({"smoothing": {"noise": 2}}, {"smoothing": {"noise": 2}}),
    "no_smoothing": ({"smoothing": 0}, {"smoothing": {}}),
    "one_misi_round": ({"phase_iterations": 1}, {"phase_iterations": 1}),
    "two_starts": ({"n_starts": 2}, {"n_starts": 2}),
    "residual": ({"residual": True}, {"residual": True}),
    "tol": ({"tol": 1e-3, "max_iter": 200}, {"tol": 1e-3, "n_iter": 200}),
    "tol_first_check": ({"tol": 0.7, "max_iter": 200}, {"tol": 0.7, "n_iter": 200}),
    "refit": ({"refit_iterations": 4}, {"refit": 4}),           # the speech refitted, noise held
    "refit_all_smoothed": ({"refit_iterations": 4, "smoothing": 5},
                           {"smoothing": {"speech": 5, "noise": 5}}),   # nothing to refit
    # two refitted sources (the speech dictionary and free atoms): each keeps its own rows
    "refit_two_refitted": ({"refit_iterations": 4, "unknown": {"other": 2}, "beta": 1.0,
                            "mask_power": 2.0, "n_starts": 1, "seed": 0},
                           {"refit": 4, "unknown": {"other": 2}, "lam": {"other": 0.5}}),
    # smoothing 1 is none: the speech is refitted, not held; 2 frames already hold the noise
    "refit_smooth_one": ({"refit_iterations": 4, "smoothing": {"speech": 1, "noise": 15}},
                         {"refit": 4, "smoothing": {"speech": 1, "noise": 15}}),
    "refit_smooth_two": ({"refit_iterations": 4, "smoothing": {"noise": 2}},
                         {"refit": 4, "smoothing": {"noise": 2}}),
    "refit_beta2.5": ({"refit_iterations": 4, "beta": 2.5}, {"refit": 4, "beta": 2.5}),
    "refit_residual": ({"refit_iterations": 4, "residual": True}, {"refit": 4, "residual": True}),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_supervised_option_is_the_reference_model(case, name):
    s, n, d_s, d_n = case
    x = s + n
    kw, ref_kw = VARIANTS[name]
    base = {"beta": 1.0, "lam": {}, "p": 2.0, "smoothing": {"noise": 15}, "n_iter": 30,
            "phase_iterations": 0}
    res = Separator({"speech": d_s, "noise": d_n}, adapt=0,
                    **{"max_iter": 30, "phase_iterations": 0, **kw}).decompose(x, SR)
    ref = _reference(x, {"speech": d_s.W, "noise": d_n.W}, **{**base, **ref_kw})
    beta = ref_kw.get("beta", 1.0)
    _assert_matches(res, ref, x, binary=name == "binary",
                    mask_atol=2e-3 if beta not in (1.0, 2.0) else 2e-4)
    if name == "tol":
        assert 10 < res.nit < 200 and res.nit % 10 == 0      # stopped early, at a check
        assert len(res.history) == res.nit // 10 + 2         # the checks and the final value
    if name == "tol_first_check":                            # the first 10 iterations: -60 %
        assert res.nit == 10 and len(res.history) == 3


def test_refit_keeps_each_refitted_source_its_own_rows(case):
    """Three refitted sources, the first not at row 0 (the held noise comes first): each
    source's refitted model is built from its own rows of the refitted activations."""
    s, n, d_s, d_n = case
    x = s + n
    kw = dict(beta=1.0, mask_power=2.0, n_starts=1, seed=0, max_iter=30, phase_iterations=0,
              refit_iterations=4)
    res = Separator({"noise": d_n, "speech": d_s}, unknown={"a": 2, "b": 3},
                    **kw).decompose(x, SR)
    ref = _reference(x, {"noise": d_n.W, "speech": d_s.W}, {"a": 2, "b": 3}, beta=1.0,
                     lam={"a": 0.5, "b": 0.5}, smoothing={"noise": 15}, n_iter=30, refit=4)
    _assert_matches(res, ref, x)


@pytest.mark.parametrize("kw, ref_kw", [
    ({"unknown": 2}, {"unknown": {"unknown": 2}, "lam": {"unknown": 0.5}}),
    ({"unknown": {"speech": 3}, "sparsity": {"speech": 0.1}},
     {"unknown": {"speech": 3}, "lam": {"speech": 0.1}}),
    ({"unknown": {"speech": 3}, "n_starts": 3, "mask_power": 2},
     {"unknown": {"speech": 3}, "lam": {"speech": 0.5}, "n_starts": 3, "p": 2.0}),
    ({"unknown": {"speech": 3}, "phase_iterations": 2, "residual": True},
     {"unknown": {"speech": 3}, "lam": {"speech": 0.5}, "phase_iterations": 2,
      "residual": True}),
    ({"unknown": {"speech": 3}, "beta": 3.0}, {"unknown": {"speech": 3}, "beta": 3.0,
                                               "lam": {"speech": 0.5}}),
    ({"unknown": {"speech": 3}, "beta": 0.5}, {"unknown": {"speech": 3}, "beta": 0.5,
                                               "lam": {"speech": 0.5}}),
    ({"unknown": {"speech": 3}, "beta": 2.0}, {"unknown": {"speech": 3}, "beta": 2.0,
                                               "lam": {"speech": 0.5}}),
    ({"unknown": {"speech": 3}, "refit_iterations": 0}, {"unknown": {"speech": 3}, "refit": 0,
                                                          "lam": {"speech": 0.5}}),
    ({"unknown": {"speech": 3}, "refit_iterations": 3, "beta": 0.5},
     {"unknown": {"speech": 3}, "refit": 3, "beta": 0.5, "lam": {"speech": 0.5}}),
    ({"unknown": {"speech": 3}, "smoothing": 0}, {"unknown": {"speech": 3}, "smoothing": {},
                                                  "lam": {"speech": 0.5}}),   # none to hold
], ids=["int", "sparsity", "three_starts", "misi_residual", "beta3", "beta0.5", "beta2",
        "no_refit", "refit3_beta0.5", "no_smoothing"])
def test_each_semi_supervised_option_is_the_reference_model(case, kw, ref_kw):
    s, n, _, d_n = case
    x = s + n
    base = {"beta": 1.5, "p": 1.5, "smoothing": {"noise": 15}, "n_iter": 40, "n_starts": 2,
            "seed": 3, "refit": 20}
    res = Separator({"noise": d_n}, max_iter=40, seed=3, **kw).decompose(x, SR)
    ref = _reference(x, {"noise": d_n.W}, **{**base, **ref_kw})
    _assert_matches(res, ref, x, mask_atol=2e-3)


def test_default_iteration_counts(case):
    s, n, d_s, d_n = case
    x = (s + n)[:1000]
    two = {"speech": d_s, "noise": d_n}
    assert Separator(two, adapt=0, phase_iterations=0).decompose(x, SR).nit == 100
    # a stationary noise beside the speech dictionary: 30 adapted speech atoms, 150 iterations
    assert Separator(two, phase_iterations=0).decompose(x, SR).nit == 150
    assert Separator({"noise": d_n}, unknown=2, n_starts=1).decompose(x, SR).nit == 400
    assert Separator({"noise": d_n}, unknown=2, max_iter=7).decompose(x, SR).nit == 7


@given(n=st.integers(1, 2000), seed=st.integers(0, 2**16), k=st.integers(1, 3),
       unknown=st.integers(0, 2), residual=st.booleans(), level=st.sampled_from([1e-6, 1.0, 1e4]))
@settings(max_examples=20)
def test_any_signal_at_any_level_is_the_reference_separation(n, seed, k, unknown, residual,
                                                             level):
    """Random dictionaries, signal lengths from one sample, levels from 1e-6 to 1e4: V is scaled
    to unit mean, so the separation of a * x is a times that of x, as the reference's."""
    rng = np.random.default_rng(seed)
    W = rng.random((STFT_.n_bins, k)) + 1e-3
    x = rng.standard_normal(n) * level
    d = Dictionary(W, STFT_)
    assert_allclose(d.W, W / W.sum(axis=0), rtol=1e-12)             # unit-sum atoms
    sep = Separator({"a": d}, unknown=unknown, residual=residual, max_iter=5, seed=seed)
    res = sep.decompose(x, SR)
    assert list(res.signals) == sep.source_names
    ref = _reference(x, {"a": d.W}, {"unknown": unknown} if unknown else None, beta=1.5 if unknown
                     else 1.0, lam={"unknown": 0.5}, p=1.5 if unknown else 2.0, n_iter=5,
                     n_starts=2 if unknown else 1, phase_iterations=0 if unknown else 3,
                     seed=seed, residual=residual)
    for name, y in ref["signals"].items():
        assert res.signals[name].shape == (n,)
        assert_allclose(res.signals[name], y, rtol=0, atol=2e-3 * np.abs(x).max(), err_msg=name)


# ---- the masks ------------------------------------------------------------------------------
def test_bins_no_model_reaches_are_shared_equally():
    """A dictionary with no energy above bin 10 models nothing there: both sources get 1/2."""
    W = np.zeros((STFT_.n_bins, 2))
    W[:10] = np.random.default_rng(0).random((10, 2)) + 0.1
    d_a, d_b = Dictionary(W[:, :1], STFT_), Dictionary(W[:, 1:], STFT_)
    x = np.random.default_rng(1).standard_normal(2000)
    res = Separator({"a": d_a, "b": d_b}, max_iter=10, phase_iterations=0).decompose(x, SR)
    assert_allclose(res.masks["a"][20:], 0.5, rtol=0, atol=0)
    assert_allclose(res.masks["a"][:10] + res.masks["b"][:10], 1.0, rtol=1e-12)
    assert res.masks["a"][:10].std() > 0.01                          # modelled bins: not 1/2
    ref = _reference(x, {"a": d_a.W, "b": d_b.W}, beta=1.0, lam={}, n_iter=10)
    assert_allclose(res.masks["a"], ref["masks"]["a"], rtol=0, atol=2e-4)


def test_binary_masks_give_each_bin_to_the_larger_model(case):
    s, n, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, adapt=0, mask="binary", max_iter=20,
                    phase_iterations=0, smoothing=0).decompose(s + n, SR)
    S = res.W[:, :4] @ res.H[:4]
    N = res.W[:, 4:] @ res.H[4:]
    assert np.array_equal(res.masks["speech"], (S >= N).astype(float)) or \
        np.mean(res.masks["speech"] != (S >= N)) < 1e-3             # ties: float32 rounding
    assert np.array_equal(res.masks["speech"] + res.masks["noise"], np.ones_like(S))
    assert 0.05 < res.masks["speech"].mean() < 0.95


def test_residual_is_what_the_model_leaves_unexplained(case):
    s, n, d_s, _ = case
    x = s + n
    res = Separator({"speech": d_s}, residual=True, max_iter=20).decompose(x, SR)
    V = np.abs(res.mixture_stft)
    explained = res.W @ res.H
    assert_allclose(res.masks["residual"], np.clip(1 - explained / V, 0, 1), rtol=0, atol=1e-9)
    assert_allclose(res.signals["residual"], STFT_.istft(res.masks["residual"] *
                                                         res.mixture_stft, x.size), atol=1e-12)
    assert res.masks["residual"].max() > 0.5                          # the noise is unexplained
    # a bin of exact silence: nothing to explain there, the residual mask is 0, not NaN
    silent = np.r_[x[:1000], np.zeros(1000), x[2000:]]
    res = Separator({"speech": d_s}, residual=True, max_iter=5).decompose(silent, SR)
    V = np.abs(res.mixture_stft)
    assert (V == 0).any() and np.all(res.masks["residual"][V == 0] == 0)


# ---- parameters: values, types, messages ----------------------------------------------------
def test_the_options_are_stored_as_given(case):
    _, _, d_s, d_n = case
    kw = {"unknown": {"music": 2}, "beta": 0.5, "mask": "binary", "mask_power": 1.0,
          "sparsity": {"music": 0.1}, "smoothing": {"noise": 3}, "phase_iterations": 1,
          "n_starts": 2, "residual": True, "max_iter": 9, "tol": 0.01, "seed": 4, "verbose": 0}
    sep = Separator({"noise": d_n}, **kw)
    assert {k: getattr(sep, k) for k in kw} == kw
    assert sep.sources == {"noise": d_n}
    assert sep.source_names == ["noise", "music", "residual"]
    assert Separator({"speech": d_s, "noise": d_n}).source_names == ["speech", "noise"]


def test_verbose_draws_a_progress_bar_on_stderr(case, capsys):
    d_s = case[2]
    x = np.random.default_rng(0).standard_normal(800)
    Separator({"speech": d_s}, max_iter=3, verbose=0).separate(x, SR)
    assert capsys.readouterr().err == ""
    Separator({"speech": d_s}, max_iter=3, verbose=1).separate(x, SR)
    err = capsys.readouterr().err
    assert "separating:" in err and "0/3" in err


def _msg(text):
    return "^" + re.escape(text) + "$"


def test_every_bad_argument_is_named_with_its_fix(case):
    s, n, d_s, d_n = case
    two = {"speech": d_s, "noise": d_n}
    bad = [
        (dict(sources=[d_s]), "sources must be a mapping of name -> Dictionary, e.g. "
                              "{'speech': d_s, 'noise': d_n}, got list"),
        (dict(sources={"": d_s}), "source names must be non-empty strings, got ''"),
        (dict(sources={3: d_s}), "source names must be non-empty strings, got 3"),
        (dict(sources={"speech": d_s.W}), "sources['speech'] must be a Dictionary (from "
                                          "learn_dictionary or Dictionary.load), got ndarray"),
        (dict(unknown=-1), "unknown must be >= 0 atoms, got -1"),
        (dict(unknown=True), "unknown must be a number of atoms or a mapping name -> atoms, "
                             "e.g. {'speech': 30}, got True"),
        (dict(unknown=2.0), "unknown must be a number of atoms or a mapping name -> atoms, "
                            "e.g. {'speech': 30}, got 2.0"),
        (dict(unknown={"music": 0}), "unknown['music'] must be a positive number of atoms, "
                                     "got 0"),
        (dict(unknown={"music": True}), "unknown['music'] must be a positive number of atoms, "
                                        "got True"),
        (dict(unknown={"music": 1.5}), "unknown['music'] must be a positive number of atoms, "
                                       "got 1.5"),
        (dict(unknown={"speech": 2}), "source 'speech' is named twice: it has a dictionary and "
                                      "is also listed in unknown. Give it one or the other."),
        (dict(sources={"residual": d_s}, residual=True),
         "residual=True adds a source named 'residual', which is already a source name"),
        (dict(unknown={"residual": 2}, residual=True),
         "residual=True adds a source named 'residual', which is already a source name"),
        (dict(sources={}), "no sources: pass dictionaries in sources and/or atoms to learn in "
                           "unknown"),
        (dict(sources={}, unknown=3), "every source is unknown: at least one source needs a "
                                      "dictionary, or the sources cannot be told apart (that "
                                      "is blind separation)"),
        (dict(mask="ideal"), "mask must be 'wiener' or 'binary', got 'ideal'"),
        (dict(mask_power=0), "mask_power must be > 0 (2: Wiener, 1: magnitude ratio)"),
        (dict(mask_power=-1), "mask_power must be a finite number >= 0, got -1"),
        (dict(sparsity={"music": 1.0}), "sparsity names ['music'], which are not sources; "
                                        "sources: ['speech', 'noise']"),
        (dict(sparsity={"speech": -1}), "sparsity['speech'] must be a finite number >= 0, "
                                        "got -1"),
        (dict(sparsity=-0.5), "sparsity must be a finite number >= 0, got -0.5"),
        (dict(smoothing={"music": 3}), "smoothing names ['music'], which are not sources; "
                                       "sources: ['speech', 'noise']"),
        (dict(smoothing={"noise": -2}), "smoothing['noise'] must be a number of frames >= 0 (0 "
                                        "or 1: no smoothing), got -2"),
        (dict(smoothing=True), "smoothing must be a number of frames >= 0 (0 or 1: no "
                               "smoothing), got True"),
        (dict(smoothing=2.5), "smoothing must be a number of frames >= 0 (0 or 1: no "
                              "smoothing), got 2.5"),
        (dict(phase_iterations=-1), "phase_iterations must be an integer >= 0 (0: the "
                                    "mixture's phase), got -1"),
        (dict(phase_iterations=True), "phase_iterations must be an integer >= 0 (0: the "
                                      "mixture's phase), got True"),
        (dict(phase_iterations=1.0), "phase_iterations must be an integer >= 0 (0: the "
                                     "mixture's phase), got 1.0"),
        (dict(n_starts=0), "n_starts must be an integer >= 1, got 0"),
        (dict(n_starts=True), "n_starts must be an integer >= 1, got True"),
        (dict(n_starts=2.0), "n_starts must be an integer >= 1, got 2.0"),
        (dict(max_iter=0), "max_iter must be an integer >= 1, got 0"),
        (dict(max_iter=True), "max_iter must be an integer >= 1, got True"),
        (dict(max_iter=5.0), "max_iter must be an integer >= 1, got 5.0"),
        (dict(tol=-1.0), "tol must be a finite number >= 0, got -1.0"),
    ]
    for kw, message in bad:
        sources = kw.pop("sources", two)
        with pytest.raises(InvalidParameterError, match=_msg(message)):
            Separator(sources, **kw)
    other = Dictionary(d_n.W[:129], STFT(SR, 256, 128))
    with pytest.raises(InvalidParameterError, match=_msg(
            "dictionaries disagree on the STFT: 'speech' has sr=8000, n_fft=256, hop=64 but "
            "'noise' has sr=8000, n_fft=256, hop=128. Learn them with the same settings.")):
        Separator({"speech": d_s, "noise": other})
    # the smallest valid values are accepted
    x = s + n
    for kw in ({"unknown": {"music": 1}}, {"unknown": 0}, {"max_iter": 1}, {"n_starts": 1},
               {"phase_iterations": 0}, {"smoothing": 0}, {"smoothing": 1}, {"tol": 0},
               {"sparsity": 0}, {"mask_power": 1e-3}):
        assert Separator(two, **{"max_iter": 2, **kw}).separate(x[:500], SR)["speech"].shape \
            == (500,)


def test_every_bad_mixture_is_named_with_its_fix(case):
    _, _, d_s, d_n = case
    sep = Separator({"speech": d_s, "noise": d_n}, max_iter=2)
    for sr, message in [
        (0, "sr must be a positive integer (Hz), got 0"),
        (-8000, "sr must be a positive integer (Hz), got -8000"),
        (8000.0, "sr must be a positive integer (Hz), got 8000.0"),
        (True, "sr must be a positive integer (Hz), got True"),
        (16000, "the mixture is at sr=16000 Hz but the dictionaries were learned at 8000 Hz: "
                "resample the mixture (matfit.separate.resample(x, 16000, 8000)) or learn the "
                "dictionaries at 16000 Hz."),
    ]:
        with pytest.raises(InvalidParameterError, match=_msg(message)):
            sep.separate(np.ones(100), sr)
    assert sep.separate(np.ones(100), np.int64(8000))["speech"].shape == (100,)
    with pytest.raises(DataError, match=_msg("the mixture has zero length: there is nothing to "
                                             "separate")):
        sep.separate(np.zeros(0), SR)
    with pytest.raises(DataError, match=_msg("the mixture is silent (all samples are zero): "
                                             "nothing to separate")):
        sep.separate(np.zeros(300), SR)
    with pytest.raises(ShapeError, match=_msg("mixture must be 1-D ('n_samples') but has shape "
                                              "(100, 2), which is 2-D.")):
        sep.separate(np.ones((100, 2)), SR)
    with pytest.raises(DataError, match=r"^mixture has 1 non-finite entry"):
        sep.separate(np.r_[np.ones(10), np.inf], SR)
    wrong_bins = Dictionary(np.ones((129, 2)), STFT(SR, 256, 64))
    object.__setattr__(wrong_bins, "stft", STFT(SR, 512, 64))        # a corrupted dictionary
    with pytest.raises(ShapeError, match=r"sources\['x'\]\.W"):
        Separator({"x": wrong_bins}, max_iter=1).separate(np.ones(1000), SR)


# ---- edge cases: silence, one source, the floor, float32, sizes -----------------------------
def test_itakura_saito_with_digital_silence_floors_the_spectrogram(case):
    """beta <= 0 is undefined at exactly-zero bins: V is floored at float32's smallest normal."""
    s, n, d_s, d_n = case
    x = s + n
    x[1000:2500] = 0.0
    for beta in ("is", -0.5):
        res = Separator({"speech": d_s, "noise": d_n}, adapt=0, beta=beta, max_iter=20,
                        phase_iterations=0).decompose(x, SR)
        assert (np.abs(res.mixture_stft) == 0).any()
        ref = _reference(x, {"speech": d_s.W, "noise": d_n.W}, beta=0.0 if beta == "is" else beta,
                         lam={}, smoothing={"noise": 15}, n_iter=20)
        _assert_matches(res, ref, x, mask_atol=2e-3)


def test_one_iteration_from_the_flat_start(case):
    """After one step H is the flat start (frame mass / atoms + 1e-3) times one MU ratio: a
    tight check of the start, quiet frames included. (With the MM exponent 1 and no penalty
    one step from a flat start does not depend on its level; beta 0.5 and an L1 weight do.)"""
    s, n, d_s, d_n = case
    x = s + n
    x[1000:2500] = 0.0
    res = Separator({"speech": d_s, "noise": d_n}, adapt=0, max_iter=1, beta=0.5,
                    sparsity=0.3).decompose(x, SR)
    ref = _reference(x, {"speech": d_s.W, "noise": d_n.W}, beta=0.5,
                     lam={"speech": 0.3, "noise": 0.3}, n_iter=1)
    assert_allclose(res.H, ref["H"], rtol=1e-5, atol=1e-9 * ref["scale"])


def test_activations_sink_to_the_floor_and_stay_there(case):
    """MU only multiplies, so an entry at 0 could never come back: H stops at 1e-3 float32
    epsilons (on the unit-mean scale), reached here by atoms the mixture does not use."""
    _, n, d_s, d_n = case
    res = Separator({"speech": d_s, "noise": d_n}, max_iter=300, sparsity={"speech": 1.0},
                    phase_iterations=0).decompose(n, SR)
    assert_allclose((res.H / np.abs(res.mixture_stft).mean()).min(), FLOOR, rtol=1e-5)


def test_the_fit_runs_in_float32(case):
    """The module's promise: float32 factorisation (its result only shapes the masks). Its H
    differs from the float64 reference by float32 rounding: more than float64's, far less than
    the model's own tolerance."""
    s, n, _, d_n = case
    x = s + n
    res = Separator({"noise": d_n}, unknown={"speech": 3}, n_starts=1, max_iter=30,
                    seed=1).decompose(x, SR)
    ref = _reference(x, {"noise": d_n.W}, {"speech": 3}, beta=1.5, lam={"speech": 0.5},
                     p=1.5, smoothing={"noise": 15}, n_iter=30, seed=1)
    for got, want in [(res.H, ref["H"]), (res.W[:, 4:], ref["W"][:, 4:])]:
        rel = np.abs(got - want).max() / want.max()
        assert 1e-9 < rel < 1e-3, rel


def test_defaults_seed_0_and_silent(case, capsys):
    s, n, _, d_n = case
    x = (s + n)[:2000]
    sep = Separator({"noise": d_n}, unknown={"speech": 2}, max_iter=10)
    assert sep.seed == 0 and sep.verbose == 0 and sep.tol == 0.0 and sep.residual is False
    res = sep.decompose(x, SR)
    assert capsys.readouterr().err == ""
    ref = _reference(x, {"noise": d_n.W}, {"speech": 2}, beta=1.5, lam={"speech": 0.5}, p=1.5,
                     smoothing={"noise": 15}, n_iter=10, n_starts=2, seed=0, refit=20)
    _assert_matches(res, ref, x, mask_atol=2e-3)


def test_a_single_source_is_its_masked_mixture_without_misi(case):
    """MISI shares the mixture error between sources: with one source there is nothing to share
    (it would hand the whole mixture back), so a lone source keeps its masked mixture."""
    s, n, d_s, _ = case
    x = s + n
    res = Separator({"speech": d_s}, residual=True, max_iter=20).decompose(x, SR)
    assert_allclose(res.signals["speech"], STFT_.istft(res.masks["speech"] * res.mixture_stft,
                                                       x.size), rtol=0, atol=1e-12)
    assert_allclose(res.masks["speech"], 1.0)               # one source takes every bin
    ref = _reference(x, {"speech": d_s.W}, beta=1.0, lam={}, n_iter=20, residual=True)
    _assert_matches(res, ref, x)


def _band_limited(n, seed):
    """Tones in bins 2-8 of STFT_ and a faint broadband floor (a dictionary of bins 0-9 leaves
    the floor unexplained)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = sum(np.cos(2 * np.pi * k * t / 256 + rng.uniform(0, 6)) for k in range(2, 9))
    return x + 1e-4 * rng.standard_normal(n)


def test_silent_bins_no_model_reaches_have_a_zero_residual():
    """Bins where both the mixture and every atom are exactly 0: 0 / 0, a residual mask of 0."""
    W = np.zeros((STFT_.n_bins, 1))
    W[:10] = 1.0
    x = _band_limited(3000, 2) * np.r_[np.hanning(1000), np.zeros(1000), np.hanning(1000)]
    res = Separator({"a": Dictionary(W, STFT_)}, residual=True, max_iter=5).decompose(x, SR)
    V = np.abs(res.mixture_stft)
    blank = (V == 0) & (res.W @ res.H == 0)
    assert blank.any()
    assert np.all(res.masks["residual"][blank] == 0)
    assert np.all(np.isfinite(res.signals["residual"]))
    ref = _reference(x, {"a": Dictionary(W, STFT_).W}, beta=1.0, lam={}, n_iter=5,
                     residual=True)
    assert_allclose(res.masks["residual"], ref["masks"]["residual"], rtol=0, atol=2e-4)


def test_two_frame_spectrograms_are_smoothed_too():
    """With n_fft = 16 and hop 8 a few samples make two frames: still averaged (edges held)."""
    tiny = STFT(SR, 16, 8)
    rng = np.random.default_rng(3)
    W = rng.random((tiny.n_bins, 2)) + 0.1
    d_a, d_b = Dictionary(W[:, :1], tiny), Dictionary(W[:, 1:], tiny)
    x = rng.standard_normal(5)
    res = Separator({"a": d_a, "b": d_b}, smoothing={"b": 3}, max_iter=5,
                    phase_iterations=0).decompose(x, SR)
    assert res.mixture_stft.shape[1] == 2
    ref = _reference(x, {"a": d_a.W, "b": d_b.W}, beta=1.0, lam={}, smoothing={"b": 3},
                     n_iter=5, stft=tiny)
    assert_allclose(res.masks["a"], ref["masks"]["a"], rtol=0, atol=2e-4)
    assert_allclose(res.signals["a"], ref["signals"]["a"], rtol=0, atol=1e-3)


def test_any_sample_rate_down_to_1_hz():
    d = Dictionary(np.ones((129, 1)), STFT(1, 256, 64))
    out = Separator({"a": d}, max_iter=2).separate(np.ones(300), 1)
    assert_allclose(out["a"], np.ones(300), atol=1e-12)       # one source: all of it


def test_the_progress_bar_counts_every_iteration(case, monkeypatch):
    import matfit.separate.separator as mod

    calls = []

    class Bar:
        def update(self, k):
            calls.append(k)

        def close(self):
            calls.append("closed")

    def fake(total, desc, verbose):
        calls.append((total, desc, verbose))
        return Bar()

    monkeypatch.setattr(mod, "progress", fake)
    Separator({"speech": case[2]}, max_iter=4, verbose=1).separate(np.ones(500), SR)
    assert calls == [(4, "separating", 1), 1, 1, 1, 1, "closed"]


def test_zero_dictionary_bins_under_a_loud_mixture_stay_finite():
    # an all-zero dictionary bin where the mixture is loud: MU's guard clips W @ H at
    # float32's smallest normal there, V / 1.2e-38 overflows once V > 4 (unit-mean scale), and
    # the atoms' 0 * inf made H NaN; the ratio is now capped (factorize._mu.cap), and the
    # bins no atom covers add nothing to the activations. Analytic reference: one fixed KL
    # atom w (unit sum) has the one-step MU fixed point h_t = sum over its bins of |Z_it|
    W = np.zeros((STFT_.n_bins, 1))
    W[:10] = 1.0
    x = np.cos(2 * np.pi * 60 * np.arange(3000) / 256)     # bin 60: 0 in the dictionary
    x += 0.1 * np.random.default_rng(2).standard_normal(3000)
    res = Separator({"a": Dictionary(W, STFT_)}, max_iter=5, phase_iterations=0).decompose(x, SR)
    assert np.all(np.isfinite(res.H))
    assert_allclose(res.H[0], np.abs(res.mixture_stft[:10]).sum(axis=0), rtol=1e-4)


def test_one_frame_of_smoothing_is_none(case):
    """smoothing=1 means no smoothing, bit for bit (not a 1-frame filter's rounding)."""
    s, n, d_s, d_n = case
    src = {"speech": d_s, "noise": d_n}
    one = Separator(src, smoothing=1, max_iter=10, phase_iterations=0).decompose(s + n, SR)
    none = Separator(src, smoothing=0, max_iter=10, phase_iterations=0).decompose(s + n, SR)
    assert np.array_equal(one.masks["speech"], none.masks["speech"])


def test_tol_stops_on_a_decrease_strictly_below_tol_times_the_objective(case):
    """The rule is `decrease < tol * objective`: a tol that makes the two equal, to the last
    bit, at the first check (iteration 10) does not stop there (but at the next check, where
    the decrease is far smaller); the next float up stops at 10."""
    s, n, d_s, d_n = case
    x = s + n
    src = {"speech": d_s, "noise": d_n}
    kw = {"max_iter": 30, "phase_iterations": 0}
    h0, h10 = Separator(src, tol=1e-300, **kw).decompose(x, SR).history[:2]
    tol = (h0 - h10) / abs(h0)
    for _ in range(50):             # the float whose product with |h0| is the decrease exactly
        if tol * abs(h0) == h0 - h10:
            break
        tol = np.nextafter(tol, np.inf if tol * abs(h0) < h0 - h10 else -np.inf)
    assert tol * abs(h0) == h0 - h10
    assert Separator(src, tol=float(tol), **kw).decompose(x, SR).nit == 20   # the next check
    assert Separator(src, tol=float(np.nextafter(tol, np.inf)), **kw).decompose(x, SR).nit == 10


# ---- adapted atoms ------------------------------------------------------------------------
# Adapted atoms (``Separator(adapt=...)``) against a plain float64 replay of the model.
#
# The reference is written from the module notes of :mod:`matfit.separate.separator` and the
# ``adapt`` / ``sparsity`` documentation: each adapting source's free atoms sit right after its
# dictionary, are drawn at random with unit sums (the one thing the replay copies: the draws),
# are learned from the mixture by beta-divergence multiplicative updates (Fevotte & Idier's MM
# exponent) beside the fixed atoms, and carry their own L1 weight; masks are ratio masks of the
# sources' model spectra (a source's adapted atoms are part of it). The free columns may be one
# block or several; the replay learns any set of columns, recomputing W @ H every step.


@pytest.fixture(scope="module")
def adapt_case():
    """The mixture of another draw, and its dictionaries."""
    s, n, d_s, d_n = _make_case(30, 12)
    return s + n, d_s, d_n


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
    W, H, nit, hist = _naive_fit(Vn, W, H, np.array(lam), free, n_iter, beta, tol)
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


def test_default_adaptation_is_the_replayed_model(adapt_case):
    """Every source has a dictionary, noise is stationary and speech is not: 30 free speech
    atoms right after its dictionary, L1 weights 0.1 (dictionary) and 0.8 (free), beta 1.5,
    the Wiener gain, the noise model smoothed over 15 frames, no MISI, one start."""
    x, d_s, d_n = adapt_case
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
def test_adapted_atoms_of_two_sources_are_the_replayed_model(adapt_case, beta):
    """Atoms named for both sources: two blocks of free columns (not one slice)."""
    x, d_s, d_n = adapt_case
    res = Separator({"speech": d_s, "noise": d_n}, adapt={"speech": 2, "noise": 3}, beta=beta,
                    max_iter=10, seed=1).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.1), ("speech", None, 2, 0.8),
              ("noise", d_n.W, 4, 0.1), ("noise", None, 3, 0.8)]   # both adapt: 0.1 and 0.8
    ref = _replay(x, layout, beta=beta, n_iter=10, smoothing={"noise": 15}, seed=1)
    _assert_replayed(res, ref, x, rtol=2e-3 if beta in (1.0, 2.0) else 5e-3)
    assert res.atoms == {"speech": slice(0, 6), "noise": slice(6, 13)}


def test_an_explicit_sparsity_weighs_a_sources_adapted_atoms_too(adapt_case):
    x, d_s, d_n = adapt_case
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


def test_tol_stops_an_adapting_fit_where_the_replay_does(adapt_case):
    x, d_s, d_n = adapt_case
    res = Separator({"speech": d_s, "noise": d_n}, adapt=3, tol=1e-2, max_iter=300,
                    seed=2).decompose(x, SR)
    layout = [("speech", d_s.W, 4, 0.1), ("speech", None, 3, 0.8), ("noise", d_n.W, 4, 0.0)]
    ref = _replay(x, layout, beta=1.5, n_iter=300, smoothing={"noise": 15}, tol=1e-2, seed=2)
    assert 10 < ref[2] < 300 and ref[2] % 10 == 0
    _assert_replayed(res, ref, x)


def test_adapted_defaults_other_than_the_fit(adapt_case):
    """The adaptation defaults: 150 iterations, no MISI rounds, one start, Wiener gain p = 2;
    an explicit beta / phase_iterations / n_starts still wins."""
    _, d_s, d_n = adapt_case
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
def test_adapted_atom_counts(adapt_case, adapt, sizes):
    x, d_s, d_n = adapt_case
    res = Separator({"speech": d_s, "noise": d_n}, adapt=adapt, max_iter=1).decompose(
        x[:2000], SR)
    assert {k: sl.stop - sl.start for k, sl in res.atoms.items()} == sizes


def test_adaptation_needs_stationary_and_non_stationary_sources(adapt_case):
    _, d_s, d_n = adapt_case
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
def test_bad_adapt_values_are_named(adapt_case, adapt, message):
    _, d_s, d_n = adapt_case
    with pytest.raises(InvalidParameterError) as err:
        Separator({"speech": d_s, "noise": d_n}, adapt=adapt)
    assert str(err.value) == message


@pytest.mark.parametrize("kw", [{"adapt": 0}, {"adapt": 2}, {"adapt": 2, "beta": 0.5}])
def test_the_factorisation_runs_in_float32(adapt_case, kw, monkeypatch):
    """The module's promise: every MU piece sees float32 arrays (the spectrogram, the factors
    and the W @ H buffer); masks and resynthesis are float64."""
    import matfit.factorize as factorize

    x, d_s, d_n = adapt_case
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
