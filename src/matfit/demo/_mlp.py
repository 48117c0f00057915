"""Demo part: a small MLP on scikit-learn's handwritten digits, test accuracy in a few seconds."""

from __future__ import annotations

import time

import numpy as np

from ..data import load_digits
from ..nn import Dense, ReLU, Sequential, Softmax, fit, gradcheck, predict, predict_proba
from ._figure import new_axes, save


def _stratified_test_mask(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A fixed test set holding ``fraction`` of every class."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: round(fraction * len(idx))]] = True
    return test


def run(*, plot_dir=None, verbose=0) -> dict:
    X, y = load_digits()  # embedded copy: the demo needs no scikit-learn
    test = _stratified_test_mask(y, 0.25, seed=0)
    Xtr, Xte, ytr, yte = X[~test] / 16.0, X[test] / 16.0, y[~test], y[test]
    model = Sequential([Dense(128), ReLU(), Dense(10), Softmax()], seed=0)
    start = time.perf_counter()
    history = fit(model, Xtr, ytr, loss="cross_entropy", optimizer="adam", lr=1e-3, epochs=30,
                  batch_size=32, validation_data=(Xte, yte), seed=0, verbose=verbose)
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(predict(model, Xte) == yte))
    one = Xte[0]                                     # a single example, shape (64,)
    label, proba = int(predict(model, one)), predict_proba(model, one)
    worst = gradcheck(model, Xtr[:16], ytr[:16], loss="cross_entropy", max_entries=20).worst
    lines = [
        f"load_digits: {Xtr.shape[0]} training / {Xte.shape[0]} test images of 8x8 pixels, "
        f"10 classes (fixed 75/25 split)",
        f"model: {model!r}",
        f"30 epochs of Adam (float32, batch 32) in {seconds:.2f} s; final training loss "
        f"{history['loss'][-1]:.4f}",
        f"one test image -> class {label} with probability {proba[label]:.3f} "
        f"(true class {int(yte[0])})",
        f"gradcheck (float64 finite differences): worst relative error {worst:.1e}",
    ]
    axes = new_axes(lines, (5, 3.2)) if plot_dir is not None else None
    if axes is not None:
        fig, ax = axes
        ax.plot(history["loss"], label="training loss")
        ax.plot(history["val_loss"], label="test loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy")
        ax.legend()
        save(fig, plot_dir, "mlp_digits_loss.png", lines)
    return {
        "headline": f"digits MLP test accuracy {accuracy:.1%} after {seconds:.1f} s of training",
        "lines": lines,
        "test_accuracy": accuracy,
        "train_seconds": round(seconds, 3),
        "gradcheck_worst": worst,
    }
