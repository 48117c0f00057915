"""Run every script in examples/ as a user would, and check what it asserted and printed.

Each example checks its own answer with ``assert`` statements against a reference (an analytic
solution, SciPy, scikit-learn, ...) and prints a JSON object of its key figures as its last line;
this test runs it in a subprocess, requires exit status 0 and that JSON line, and checks the
figures in it against the bounds in ``FIGURES`` (an example whose own checks were weakened, or
whose printed figures drifted, fails here too). Every example must have an entry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

_K, _N = 2928, 5000
_COIN_LOGLIK = _K * np.log(_K / _N) + (_N - _K) * np.log(1 - _K / _N)


def _get(summary: dict, path: str):
    value = summary
    for key in path.split("/"):
        value = value[key]
    return value


# example stem -> {figure path in its JSON summary: (predicate, what it must be)}
FIGURES: dict[str, dict[str, tuple]] = {
    "adam_vs_sgd_rosenbrock": {
        "distance_to_minimum/adam/20000": (lambda v: v < 1e-4, "< 1e-4"),
        "distance_to_minimum/sgd_momentum/20000": (lambda v: v < 1e-2, "< 1e-2"),
    },
    "batchnorm_forward_backward": {
        "max_diff_hand_written": (lambda v: v < 1e-12, "< 1e-12"),
        "torch_max_diff": (lambda v: v < 1e-12, "< 1e-12"),
        "gradcheck_worst": (lambda v: v < 1e-5, "< 1e-5"),
        "ones_upstream_dx_max": (lambda v: v < 1e-12, "< 1e-12 (all-ones upstream: dX = 0)"),
    },
    "coin_flip_likelihood": {   # 2928 heads in 5000 flips, uniform prior: Beta(2929, 2073)
        "mle": (lambda v: abs(v - 2928 / 5000) < 1e-12, "heads / flips"),
        "max_log_likelihood": (lambda v: abs(v - _COIN_LOGLIK) < 1e-6,
                               f"{_COIN_LOGLIK:.6f} = k log(k/n) + (n-k) log(1-k/n)"),
        "posterior_mean": (lambda v: abs(v - 2929 / 5002) < 1e-12, "2929 / 5002"),
        "credible_interval_95": (
            lambda v: np.allclose(v, stats.beta.ppf([0.025, 0.975], 2929, 2073), rtol=1e-9, atol=0),
            "scipy.stats.beta(2929, 2073).ppf([0.025, 0.975])"),
        "p_theta_in_0.57_0.59": (
            lambda v: abs(v - np.diff(stats.beta.cdf([0.57, 0.59], 2929, 2073))[0]) < 1e-9,
            "the Beta(2929, 2073) probability of [0.57, 0.59]"),
    },
    "coin_flip_posterior": {
        "n20_posterior_grid_err": (lambda v: v < 1e-10, "< 1e-10"),
        "n5000_posterior_grid_err": (lambda v: v < 1e-10, "< 1e-10"),
        "n5000_predictive_err": (lambda v: v < 1e-10, "< 1e-10"),
        "n5000_product": (lambda v: v == 0.0, "0.0 (the product underflows)"),
    },
    "lowrank_quadratic_form": {
        "rel_err_einsum": (lambda v: v < 1e-12, "< 1e-12"),
        "rel_err_one_letter_version": (lambda v: v > 0.1, "> 0.1 (the bug it shows)"),
        "speedup_einsum_vs_dense": (lambda v: v > 10, "> 10"),
    },
    "multiclass_logistic": {
        "coef_diff_softmax": (lambda v: v < 1e-6, "< 1e-6"),
        "coef_diff_ovr": (lambda v: v < 1e-6, "< 1e-6"),
        "accuracy_softmax": (lambda v: v >= 0.9, ">= 0.9"),
    },
    "nmf_basics": {
        "relative_error": (lambda v: v < 0.01, "< 0.01"),
        "foreground_sdr_db": (lambda v: v > 12, "> 12 dB"),
    },
    "nmf_spectrogram_inpainting": {
        "nmf_kl_scattered": (lambda v: v < 0.09, "< 0.09 (linear interpolation ~0.098)"),
        "nmf_si_sdr_rest_db": (lambda v: v > 23.0, "> 23 dB (zeros ~11.9)"),
        "nmf_si_sdr_gap_db": (lambda v: v > -6.5, "> -6.5 dB (zeros ~-18)"),
    },
    "nmf_ratings_parts": {
        "rmse": (lambda v: v < 0.99, "< 0.99 (per-film mean ~1.02)"),
        "observed_vs_dense_masked": (lambda v: v < 1e-10, "< 1e-10"),
    },
    "nmf_speech_denoising": {
        "si_sdr_improvement": (lambda v: v > 10.0, "> 10 dB"),
        "sdr_matches_mir_eval": (lambda v: v is True, "True"),
    },
    "ols_barzilai_borwein": {
        "bb_loop_error": (lambda v: v < 1e-10, "< 1e-10"),
        "minimize_bb_error": (lambda v: v < 1e-10, "< 1e-10"),
        "estimator_error": (lambda v: v < 1e-10, "< 1e-10"),
        "fixed_step_error_after_10000": (lambda v: v > 0.1, "> 0.1 (fixed step is slow)"),
    },
    "onehot_multiclass_network": {
        "test_accuracy": (lambda v: v > 0.95, "> 0.95"),
        "matches_hand_written_numpy": (lambda v: v is True, "True"),
    },
    "polynomial_gd": {
        "max_coef_error_vs_lstsq": (lambda v: v < 1e-9, "< 1e-9"),
        "plain_gd_overflow_iteration": (lambda v: 20 <= v <= 200, "in [20, 200]"),
    },
    "schrodinger_crank_nicolson": {
        "norm_drift": (lambda v: v < 1e-11, "< 1e-11"),
        "width_max_rel_err": (lambda v: v < 1e-3, "< 1e-3"),
        "density_max_rel_err": (lambda v: v < 1e-3, "< 1e-3"),
    },
    "sigmoid_overflow": {
        "accuracy": (lambda v: v == 1.0, "1.0"),
        "stable_loss_at_1e4": (lambda v: v == 10000.0, "10000.0"),
        "naive_loss_after_training": (lambda v: v == "nan", "'nan' (the naive loss breaks)"),
    },
    "smoothing_noisy_derivative": {
        "gaussian_odd_rms_first_last": (lambda v: v[1] > 10 * v[0], "grows > 10x"),
        "savgol5_rms_first_last": (lambda v: v[1] <= 1.5 * v[0], "stays flat"),
    },
    "sparse_factorisation": {
        "heldout_rmse": (lambda v: v < 0.2, "< 0.2 (noise floor 0.1)"),
        "peak_traced_mb": (lambda v: v < 500, "< 500 MB"),
    },
    "time_varying_filter": {
        "max_abs_diff_lapack": (lambda v: v < 1e-12, "< 1e-12"),
        "speedup_lapack_vs_loop": (lambda v: v > 5, "> 5"),
    },
    "xor_momentum": {
        "seeds_solved": (lambda v: v == 5, "5"),
        "gradcheck_correct": (lambda v: v < 1e-5, "< 1e-5"),
        "gradcheck_wrong_quantity": (lambda v: v > 0.1, "> 0.1"),
    },
}


# example stem -> [(predicate of the whole summary, what it must be)]: figures against each other
RELATIONS: dict[str, list[tuple]] = {
    "nmf_ratings_parts": [
        (lambda s: s["rmse"] < s["item_mean_rmse"] - 0.03, "rmse 0.03 below the per-film mean's"),
    ],
    "sparse_factorisation": [
        (lambda s: abs(s["noise_floor_rmse"] - 0.1) < 0.005, "noise floor ~ the noise sd 0.1"),
        (lambda s: s["heldout_rmse"] < 2 * s["noise_floor_rmse"], "< 2 x the noise floor"),
    ],
    "time_varying_filter": [
        (lambda s: s["closed_form_nonfinite"] > 0.99 * s["samples"],
         "the closed form non-finite on > 99% of the samples"),
    ],
}


EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


def test_readme_indexes_every_example() -> None:
    readme = (Path(__file__).resolve().parents[1] / "examples" / "README.md").read_text("utf-8")
    missing = [p.name for p in EXAMPLES if f"({p.name})" not in readme]
    assert not missing, f"examples/README.md does not index: {missing}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_checks_itself(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "Agg", "MATFIT_EXAMPLE_OUT": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env)
    if proc.returncode == 77:  # the example's documented "cannot run here" status
        pytest.skip(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "skipped")
    assert proc.returncode == 0, (
        f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    lines = proc.stdout.strip().splitlines()
    assert lines, f"{script.name} printed nothing"
    summary = json.loads(lines[-1])
    assert isinstance(summary, dict) and summary, f"{script.name}: last line is not a JSON object"
    assert script.stem in FIGURES, f"add {script.stem}'s figures and their bounds to FIGURES"
    for path, (ok, want) in FIGURES[script.stem].items():
        value = _get(summary, path)
        assert ok(value), f"{script.name}: {path} = {value!r}, expected {want}"
    for ok, want in RELATIONS.get(script.stem, []):
        assert ok(summary), f"{script.name}: expected {want}, got {summary}"


def test_figures_and_relations_name_existing_examples() -> None:
    stems = {p.stem for p in EXAMPLES}
    assert set(FIGURES) == stems and set(RELATIONS) <= stems
