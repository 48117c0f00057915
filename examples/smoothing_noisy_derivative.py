"""Smoothing a noisy numerical derivative inside an iterative model: Gaussian vs Savitzky–Golay.

Question: my model differentiates its state at every iteration, and the state is noisy, so I
smooth the derivative with a Gaussian. The ends go wrong at once, and the error grows with every
iteration. Is it the edges, the Gaussian, or both?

Both. The model here rebuilds its state from the smoothed derivative at each iteration (state ->
derivative -> smooth -> integrate back -> state), starting from a noisy measurement of
f(x) = sin(2x) + x/2 on [0, 2 pi], whose derivative f'(x) = 2 cos(2x) + 1/2 is known. With an
exact derivative the loop would leave the state alone, so whatever error builds up is the
smoother's doing.

* Edges: ``scipy.ndimage.gaussian_filter1d(u, sigma, order=1)`` pads by even reflection (mode
  "reflect"), which turns the slope at an end into a kink: the derivative there is pulled to 0.
  Padding by *odd* reflection about the end value (``np.pad(u, w, mode="reflect",
  reflect_type="odd")``) continues the line through the end and keeps the slope.
* Iterations: a Gaussian damps every frequency (gain exp(-sigma^2 w^2 / 2) < 1), so K passes
  blur like one Gaussian of width sigma sqrt(K): the error grows with every iteration, even with
  correct edges. ``scipy.signal.savgol_filter(u, window, polyorder, deriv=1, mode="interp")``
  reproduces every polynomial of degree <= polyorder exactly (ends included, by fitting them), so
  its gain is 1 to high order at the frequencies of a smooth signal: with a polyorder high
  enough for the window (61 samples, polyorder 5 here) the error stays at its first-iteration
  level; with polyorder 3 on the same window the bias is larger than the noise and also builds
  up.

Checked: the reflect-mode Gaussian's first-iteration edge error is many times the odd-padded
one's; the Gaussian's error at iteration 50 is >= 10x its first; Savitzky–Golay (61, 5) never
exceeds 1.5x its first and ends >= 20x below the Gaussian; (61, 3) grows >= 3x.
Run: ``python examples/smoothing_noisy_derivative.py`` (under a second).
"""

from __future__ import annotations

import json

import numpy as np
from scipy.integrate import cumulative_trapezoid
from scipy.ndimage import gaussian_filter1d
from scipy.signal import savgol_filter

N, NOISE, ITERATIONS = 400, 0.01, 50
SIGMA = 6.0  # Gaussian width in samples
WINDOW = 61  # Savitzky–Golay window in samples; sigma 6 and window 61 remove about as much noise


def gaussian_reflect(u, dx):
    """Derivative of Gaussian with scipy's default even-reflection edges (wrong at the ends)."""
    return gaussian_filter1d(u, SIGMA, order=1, mode="reflect") / dx


def gaussian_odd(u, dx):
    """Derivative of Gaussian after padding by odd reflection, which keeps the end slopes."""
    pad = int(4 * SIGMA) + 1  # gaussian_filter1d's kernel radius is 4 sigma
    padded = np.pad(u, pad, mode="reflect", reflect_type="odd")
    return gaussian_filter1d(padded, SIGMA, order=1, mode="nearest")[pad:-pad] / dx


def savgol(polyorder):
    def deriv(u, dx):
        return savgol_filter(u, WINDOW, polyorder, deriv=1, delta=dx, mode="interp")

    return deriv


def run_model(derivative, u0, x, fprime):
    """Iterate state -> smoothed derivative -> integrate back; RMS and end errors per iteration."""
    dx = x[1] - x[0]
    u = u0.copy()
    rms, ends = [], []
    for _ in range(ITERATIONS):
        d = derivative(u, dx)
        rms.append(float(np.sqrt(np.mean((d - fprime) ** 2))))
        ends.append(float(max(abs(d[0] - fprime[0]), abs(d[-1] - fprime[-1]))))
        u = u[0] + cumulative_trapezoid(d, x, initial=0.0)
    return np.array(rms), np.array(ends)


def main() -> dict:
    x = np.linspace(0.0, 2 * np.pi, N)
    f = np.sin(2 * x) + 0.5 * x
    fprime = 2 * np.cos(2 * x) + 0.5
    u0 = f + NOISE * np.random.default_rng(0).standard_normal(N)

    methods = {
        "gaussian, reflect edges": gaussian_reflect,
        "gaussian, odd-reflection edges": gaussian_odd,
        f"savgol({WINDOW}, 5), interp edges": savgol(5),
        f"savgol({WINDOW}, 3), interp edges": savgol(3),
    }
    results = {name: run_model(fn, u0, x, fprime) for name, fn in methods.items()}
    show = [0, 1, 4, 9, 19, ITERATIONS - 1]
    print("RMS error of the derivative at iteration " + ", ".join(str(i + 1) for i in show))
    for name, (rms, ends) in results.items():
        print(f"  {name:34s} " + " ".join(f"{rms[i]:.3f}" for i in show)
              + f"   (end error at iteration 1: {ends[0]:.3f})")

    g_reflect, g_odd = results["gaussian, reflect edges"], results["gaussian, odd-reflection edges"]
    sg5, sg3 = results[f"savgol({WINDOW}, 5), interp edges"], results[
        f"savgol({WINDOW}, 3), interp edges"]
    # edges: the even reflection ruins the end derivative at the first pass already
    assert g_reflect[1][0] > 5 * g_odd[1][0], (g_reflect[1][0], g_odd[1][0])
    # iterations: the Gaussian's error compounds, even with correct edges
    assert np.all(np.diff(g_odd[0]) > 0), g_odd[0]
    assert g_odd[0][-1] >= 10 * g_odd[0][0], g_odd[0]
    # why: K Gaussian passes act like one Gaussian of width sigma sqrt(K) (checked in the interior,
    # out of reach of the ends, after K = 10 passes)
    u, k_passes, dx = u0.copy(), 10, x[1] - x[0]
    for _ in range(k_passes):
        d = gaussian_odd(u, dx)
        u = u[0] + cumulative_trapezoid(d, x, initial=0.0)
    one_wide = gaussian_filter1d(u0, SIGMA * np.sqrt(k_passes), order=1) / dx
    inner = slice(120, 280)
    blur_gap = float(np.max(np.abs(d - one_wide)[inner]))
    blur_err = float(np.max(np.abs(d - fprime)[inner]))
    print(f"after {k_passes} Gaussian passes vs one Gaussian of width sigma*sqrt({k_passes}): "
          f"max difference {blur_gap:.3f} (interior), while both are {blur_err:.3f} off f'")
    assert blur_gap < 0.1 * blur_err, (blur_gap, blur_err)
    # Savitzky–Golay with a high enough polyorder stays at its first-iteration level
    assert sg5[0].max() <= 1.5 * sg5[0][0], sg5[0]
    assert sg5[0][-1] * 20 <= g_odd[0][-1], (sg5[0][-1], g_odd[0][-1])
    # ... and with too low a polyorder for the window its bias compounds too
    assert sg3[0][-1] >= 3 * sg3[0][0], sg3[0]

    return {
        "iterations": ITERATIONS,
        "gaussian_reflect_rms_first_last": [g_reflect[0][0], g_reflect[0][-1]],
        "gaussian_odd_rms_first_last": [g_odd[0][0], g_odd[0][-1]],
        "savgol5_rms_first_last": [sg5[0][0], sg5[0][-1]],
        "savgol3_rms_first_last": [sg3[0][0], sg3[0][-1]],
        "gaussian_10_passes_vs_one_wide": blur_gap,
        "end_error_first_iteration_reflect_vs_odd": [g_reflect[1][0], g_odd[1][0]],
    }


if __name__ == "__main__":
    print(json.dumps(main()))
