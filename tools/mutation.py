"""Mutation testing of matfit's core algorithm modules (a developer command; not run in CI).

Usage::

    python tools/mutation.py                      # every module in MODULES
    python tools/mutation.py numerics optim/_adam # some of them (paths under src/matfit, no .py)
    python tools/mutation.py --list               # the modules and their test selections

Why mutmut (3.x) rather than cosmic-ray: mutmut compiles every mutant of a file into one copy of
it behind a trampoline and forks the test runner per mutant, running only the tests that reached
the mutated function (it records that in a first "stats" pass). On this 2-core machine that is
about 3 mutants per second for ``numerics.py``; cosmic-ray starts a fresh pytest per mutant
(1.5-3 s each), which would not fit the whole list in half an hour.

Each module is run in its own scratch copy of the repository (under the system temp folder, never
in the checkout) with its own test selection, so a module's score says what *its* tests catch,
and a run never leaves mutated files behind. The result is one JSON object per module on stdout
(killed, survived, timeout, no-tests, score = killed / (all - equivalent)) and a summary table on
stderr. Mutants argued to be equivalent are listed, each with its one-line reason, in
``tools/mutation-equivalent.txt`` as ``<mutant name>  # why``; they are left out of the score.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = Path(__file__).with_name("mutation-equivalent.txt")

# module under src/matfit -> the tests that are meant to catch its bugs
MODULES: dict[str, list[str]] = {
    # factorize: the files that test the kernels and the loop (the estimator, CLI, imputer,
    # rank-selection and Dask tests only reach them through nmf(), and would make every
    # mutant run hundreds of unrelated tests)
    "factorize/_mu": [f"tests/factorize/test_nmf_{t}.py" for t in (
        "kernels", "updates", "magnitude", "sparse")],
    # (_loop without test_sparse_x_never_becomes_dense: a memory test of 20-odd seconds that
    # every surviving mutant would pay; the sparse values are compared with a plain loop in
    # test_nmf_loop_references.py)
    "factorize/_loop": [f"tests/factorize/test_nmf_{t}.py" for t in (
        "loop", "loop_references", "updates", "magnitude", "dictionaries", "sklearn_parity")] + [
        f"tests/factorize/test_nmf_sparse.py::test_{t}" for t in (
            "sparse_and_dense_give_the_same_factors",
            "sparse_with_fixed_columns_and_penalties_matches_dense",
            "sparse_wh_is_the_product_at_stored_entries",
            "sparse_nndsvd_init_matches_dense_init")],
    "factorize/_hals": [f"tests/factorize/test_nmf_{t}.py" for t in (
        "kernels", "updates", "sklearn_parity")],
    "factorize/_init": ["tests/factorize/test_nmf_kernels.py"] + [
        f"tests/factorize/test_nmf_{t}" for t in (
            "cli_init.py::test_initialisations_match_sklearn",
            "cli_init.py::test_randomized_svd_matches_lapack_on_a_low_rank_matrix",
            "cli_init.py::test_thin_large_sparse_svd_uses_the_gram_matrix",
            "sparse.py::test_sparse_nndsvd_init_matches_dense_init")],
    "recommend/_als": ["tests/recommend/test_recommend_als.py",
                       "tests/recommend/test_recommend_parallel.py"],
    "recommend/_sgd": ["tests/recommend/test_recommend_sgd.py"],
    "recommend/_metrics": [
        "tests/recommend/test_recommend_metrics.py",
        "tests/recommend/test_recommend_model.py::test_ranking_metrics_match_a_per_user_loop",
        "tests/recommend/test_recommend_model.py::test_ndcg_agrees_with_scikit_learn",
        "tests/recommend/test_recommend_model.py::test_rmse_and_mae_match_numpy",
        "tests/recommend/test_recommend_model.py::test_evaluate_counts_unknowns"],
    "recommend/_ids": ["tests/recommend/test_recommend_ids.py",
                       "tests/recommend/test_recommend_data.py",
                       "tests/recommend/test_recommend_id_and_factor_safety.py"],
    # nn: the layer/loss tests against torch, finite differences and plain references; the
    # scikit-learn check_estimator suite (test_mlp_estimators.py) is left out: it is slow and
    # checks the estimator shell, not the layers' arithmetic (test_numerics.py reaches no nn code)
    "nn/_layers": ["tests/nn/test_layers_and_gradcheck.py", "tests/nn/test_nn_vs_torch.py",
                   "tests/nn/test_nn_contracts.py", "tests/nn/test_training.py",
                   "tests/nn/test_mlp_sklearn_dropin.py", "tests/nn/test_layers_references.py"],
    "nn/_batchnorm": ["tests/nn/test_layers_and_gradcheck.py", "tests/nn/test_nn_vs_torch.py",
                      "tests/nn/test_nn_contracts.py", "tests/nn/test_training.py"],
    "nn/_losses": ["tests/nn/test_layers_and_gradcheck.py", "tests/nn/test_loss_properties.py",
                   "tests/nn/test_nn_vs_torch.py", "tests/nn/test_nn_contracts.py",
                   "tests/nn/test_training.py", "tests/nn/test_multilabel_accuracy.py"],
    "optim/_adam": ["tests/optim"],
    "optim/_sgd": ["tests/optim"],
    "optim/_rmsprop": ["tests/optim"],
    "optim/_base": ["tests/optim"],
    "optim/_clip": ["tests/optim"],
    "optim/_schedules": ["tests/optim"],
    "optim/_minimize": ["tests/optim"],
    "numerics": ["tests/test_numerics.py", "tests/test_numerics_reference.py"],
    "shapes": ["tests/test_shapes.py", "tests/test_shapes_contract.py"],
    # separate: the files that test each module (the CLI, demo and ../shared tests run the
    # same code end to end, minutes per mutant, and catch nothing these do not)
    # the separator's own file: every option against a plain float64 re-implementation, on
    # half a second of audio (test_separate_model.py learns its dictionaries from 4 s: 10 s
    # of setup per mutant)
    # (the adapted atoms' replay is in the same file)
    "separate/separator": ["tests/separate/test_separate_separator.py"],
    "separate/_stft": ["tests/separate/test_separate_audio_stft.py"],
    "separate/metrics": ["tests/separate/test_separate_metrics.py"],
    # linear/_regression and _common: their own test files and scikit-learn's LinearRegression
    # tests (test_base);
    # the check_estimator contract (test_linear_estimator_checks.py) and scikit-learn's logistic
    # suite test the estimator shell and _logistic, at seconds per mutant, and the demo and
    # coin-flip tests reach neither module's arithmetic
    "linear/_regression": [
        *(f"tests/linear/test_{t}.py" for t in (
            "regression_references", "linear_regression", "linear_functional_inputs",
            "linear_sklearn_dropin")),
        *(f"tests/linear/test_sklearn_linear_suite.py::test_base__{t}" for t in (
            "fit_intercept", "linear_regression", "linear_regression_multiple_outcome",
            "linear_regression_sample_weight_consistency", "linear_regression_sample_weights",
            "linear_regression_sparse", "linear_regression_sparse_equal_dense",
            "linear_regression_sparse_multiple_outcome", "linear_regression_vs_lstsq",
            "raises_value_error_if_sample_weights_greater_than_1d"))],
    # linear/_logistic: the files that test the logistic model against scikit-learn, statsmodels,
    # SciPy and finite differences, and scikit-learn's own test_logistic.py; the check_estimator
    # contract suite (test_linear_estimator_checks.py, 418 cases) checks the estimator shell and
    # would make every surviving mutant cost half a minute
    "linear/_logistic": [f"tests/linear/test_{t}.py" for t in (
        "logistic_regression", "logistic_references", "linear_functional_inputs",
        "linear_sklearn_dropin", "sklearn_linear_suite")],
    "linear/_common": [f"tests/linear/test_{t}.py" for t in (
        "common_references", "regression_references", "linear_regression",
        "linear_functional_inputs", "linear_sklearn_dropin", "logistic_regression")],
    "explain/_fixes": ["tests/explain"],
    "explain/_conflicts": ["tests/explain"],
}

# Extra environment per module. Numba compiles functions of these modules, and a compiled
# function cannot call mutmut's trampoline (numba stops at its ``**kwargs``: "unsupported opcode
# DICT_MERGE"), so their tests run every jitted function as plain Python, where the trampoline
# hands each call to the mutant under test: a mutant of the compiled spec is then a real one.
ENV: dict[str, dict[str, str]] = {
    "recommend/_sgd": {"NUMBA_DISABLE_JIT": "1"},
}

_STATUS = re.compile(r"^\s*(\S+): (\w[\w ]*)$")


def _limit_memory() -> None:
    """Cap each mutmut process's address space at a quarter of the RAM (at least 4 GiB).

    mutmut's CPU-time limit is 30 times the selected tests' duration, and a mutant that turns a
    loop infinite while appending (``s += j`` -> ``s = j`` in ``_als.build_side``) filled 13 GB
    of this 23 GB machine before it fired; with the cap it fails with MemoryError (killed).
    """
    import resource

    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    cap = max(4 << 30, ram // 4)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _equivalent() -> set[str]:
    if not EQUIVALENT.exists():
        return set()
    names = set()
    for line in EQUIVALENT.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split()[0])
    return names


def _scratch_copy(dest: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the checkout, as git would ship them."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = Path(os.fsdecode(raw))
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _configure(dest: Path, module: str, tests: list[str]) -> None:
    text = (dest / "pyproject.toml").read_text("utf-8")
    text = re.sub(r"(?ms)^\[tool\.mutmut\].*?(?=^\[|\Z)", "", text)
    text += (
        "\n[tool.mutmut]\n"
        f'source_paths = ["src/matfit/{module}.py"]\n'
        # the rest of the package, unmutated: without it ``import matfit`` would find the
        # installed copy and no test would reach a mutant
        'also_copy = ["src"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]\n'
    )
    (dest / "pyproject.toml").write_text(text, "utf-8")


def run_module(module: str, tests: list[str], children: int, equivalent: set[str]) -> dict:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="matfit-mutation-") as tmp:
        dest = Path(tmp)
        _scratch_copy(dest)
        _configure(dest, module, tests)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["CI"] = "1"     # the derandomised hypothesis profile: the same draws every run
        # mutmut forks a child per mutant, and Numba's default OpenMP layer kills a forked child
        # that runs a parallel kernel ("fork() called from a process already using GNU OpenMP"),
        # which mutmut then counts as "suspicious", not killed; the workqueue layer is fork-safe
        env["NUMBA_THREADING_LAYER"] = "workqueue"
        # mutmut forks one child per mutant; PyTorch's OpenMP pool, started in the parent by
        # the stats pass, deadlocks in a forked child, so every survivor that reaches a torch
        # test hung until mutmut's wall-clock limit and was counted as a *killed* "timeout".
        # One thread per pool avoids the deadlock (and oversubscription on 2 cores).
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        env.update(ENV.get(module, {}))
        proc = subprocess.run(["mutmut", "run", "--max-children", str(children)], cwd=dest,
                              env=env, capture_output=True, text=True,
                              preexec_fn=_limit_memory)
        listing = subprocess.run(["mutmut", "results", "--all", "true"], cwd=dest, env=env,
                                 capture_output=True, text=True).stdout
        counts: dict[str, int] = {}
        survivors = {}
        for line in listing.splitlines():
            m = _STATUS.match(line)
            if not m:
                continue
            name, status = m.groups()
            if name in equivalent:
                status = "equivalent"
            counts[status] = counts.get(status, 0) + 1
            if status == "survived":
                survivors[name] = subprocess.run(["mutmut", "show", name], cwd=dest, env=env,
                                                 capture_output=True, text=True).stdout
    scored = sum(counts.values()) - counts.get("equivalent", 0)
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    return {
        "module": module,
        "tests": tests,
        "counts": counts,
        "score": round(killed / scored, 4) if scored else None,
        "survivors": survivors,
        "seconds": round(time.perf_counter() - start, 1),
        "mutmut_exit": proc.returncode,
        # a non-zero exit usually means the selected tests fail on the unmutated code
        **({"error": (proc.stdout + proc.stderr).replace("\r", "\n")[-1500:]}
           if proc.returncode else {}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="modules under src/matfit (default: all)")
    parser.add_argument("--list", action="store_true", help="show modules and test selections")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--report", type=Path, help="write every survivor's diff to this file")
    args = parser.parse_args(argv)
    if args.list:
        for module, tests in MODULES.items():
            print(f"{module:24s} {' '.join(tests)}")
        return 0
    if shutil.which("mutmut") is None:
        print("mutation: mutmut is not installed: pip install 'mutmut>=3.3'", file=sys.stderr)
        return 1
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        print(f"mutation: unknown module(s) {unknown}; see --list", file=sys.stderr)
        return 2
    equivalent = _equivalent()
    rows = []
    for module in args.modules or list(MODULES):
        row = run_module(module, MODULES[module], args.children, equivalent)
        rows.append(row)
        print(json.dumps({**row, "survivors": sorted(row["survivors"])}), flush=True)
        print(f"{module:24s} score {row['score']}  {row['counts']}  {row['seconds']} s",
              file=sys.stderr, flush=True)
    if args.report:
        parts = []
        for row in rows:
            parts.append(f"## {row['module']}: score {row['score']} {row['counts']}\n")
            parts += [f"```diff\n{diff.strip()}\n```\n" for diff in row["survivors"].values()]
        args.report.write_text("\n".join(parts), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
