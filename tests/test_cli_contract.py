"""The command line's contract with the user's files and terminal, run as real processes.

* A property-based test draws commands (nmf, separate, recommend train/evaluate/top) over good
  and damaged inputs (truncated .npz/.wav, random bytes, wrong dtype, empty files, pickled
  objects, NaN) and output paths that collide with inputs (``./``, ``a/../``, absolute,
  symbolic links), are folders, files in the way or have the wrong suffix. Every case runs in its
  own process in a fresh scratch tree; it must exit 0 with valid outputs, or 1/2 with exactly one
  line on stderr, never a traceback; every file outside the declared outputs is unchanged (the
  whole tree, when the command fails), and no temporary file is left.
* Ctrl-C at start-up and during a fit, a missing optional dependency, ``--help`` speed, no
  ``\\r`` on pipes, one-line warnings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matfit._io import load_model, save_model

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"


def _env(**extra: str) -> dict:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **extra)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONWARNINGS", None)
    return env


# ------------------------------------------------------------------------------ fixtures
class Runner:
    """One fork server (tests/_cli_runner.py); each call is a fresh forked process."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_cli_runner.py")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=_env())
        assert json.loads(self.proc.stdout.readline())["ready"]
        self.n = 0

    def __call__(self, cwd: Path, argv: list[str]) -> tuple[int, str, str]:
        self.n += 1
        out, err = self.scratch / f"{self.n}.out", self.scratch / f"{self.n}.err"
        req = {"cwd": str(cwd), "argv": argv, "stdout": str(out), "stderr": str(err)}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        rc = json.loads(self.proc.stdout.readline())["rc"]
        # bytes, decoded by hand: read_text() would turn a "\r" into "\n"
        return (rc, out.read_bytes().decode(errors="replace"),
                err.read_bytes().decode(errors="replace"))

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    r = Runner(tmp_path_factory.mktemp("runner-io"))
    yield r
    r.close()


def _wav(path: Path, x: np.ndarray, sr: int = 8000) -> None:
    from scipy.io import wavfile

    wavfile.write(path, sr, x.astype(np.float32))


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """Good and damaged inputs, a folder, a file and symbolic links to collide with."""
    t = tmp_path_factory.mktemp("template")
    rng = np.random.default_rng(0)
    X = rng.random((12, 16)) + 0.01
    np.savez(t / "X.npz", X=X)
    np.save(t / "x.npy", X)
    np.savetxt(t / "x.csv", X, delimiter=",")
    sr, n = 8000, 8000
    tt = np.arange(n) / sr
    speech = 0.4 * np.sin(2 * np.pi * 300 * tt) * (1 + np.sin(2 * np.pi * 2 * tt))
    noise = 0.1 * rng.standard_normal(n)
    _wav(t / "speech.wav", speech)
    _wav(t / "noise.wav", noise)
    _wav(t / "mix.wav", speech + noise)
    lines = [f"{u}\t{i}\t{(u * 7 + i * 3) % 5 + 1}" for u in range(15) for i in range(12)
             if (u + i) % 3]
    (t / "ratings.tsv").write_text("\n".join(lines) + "\n")
    save_model(t / "nmf_model.npz", {"W": X[:, :2], "H": X[:2]}, {}, kind="nmf", version=1)
    from matfit.recommend._data import read_ratings
    from matfit.recommend.model import MatrixFactorization

    MatrixFactorization(3, epochs=2, seed=0).fit(read_ratings(t / "ratings.tsv")).save(
        t / "rmodel.npz")
    # damaged
    (t / "trunc.npz").write_bytes((t / "X.npz").read_bytes()[:300])
    (t / "trunc.wav").write_bytes((t / "mix.wav").read_bytes()[:30])
    (t / "random.npy").write_bytes(rng.bytes(400))
    (t / "random.wav").write_bytes(rng.bytes(400))
    np.save(t / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(t / "neg.npy", -X)
    np.save(t / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savetxt(t / "nan.csv", np.where(X > 0.5, np.nan, X), delimiter=",")
    for name in ("empty.csv", "empty.wav", "empty.tsv", "empty.npz"):
        (t / name).write_bytes(b"")
    _wav(t / "silent.wav", np.zeros(n))
    (t / "sub").mkdir()
    (t / "adir").mkdir()
    (t / "afile").write_text("in the way\n")
    os.symlink("X.npz", t / "link.npz")
    os.symlink("mix.wav", t / "link.wav")
    return t


def _tree(root: Path) -> dict[str, str]:
    """relative path -> content hash + mode (files), target (links), 'dir' (folders)."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            p = Path(folder, d)
            out[str(p.relative_to(root))] = f"link:{os.readlink(p)}" if p.is_symlink() else "dir"
        for f in files:
            p = Path(folder, f)
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link:{os.readlink(p)}"
            else:
                st_ = p.lstat()
                out[rel] = f"{hashlib.sha256(p.read_bytes()).hexdigest()}:{st_.st_mode:o}"
    return out


# ------------------------------------------------------------------------ the property
_GOOD_NPZ_INPUTS = ["X.npz", "x.npy", "x.csv"]
_BAD_MATRICES = ["trunc.npz", "random.npy", "strings.npy", "neg.npy", "obj.npy", "nan.csv",
                 "empty.csv", "empty.npz", "missing.npy", "adir", "ratings.tsv"]
_BAD_WAVS = ["trunc.wav", "random.wav", "empty.wav", "missing.wav", "X.npz", "silent.wav"]


_OUT_FILES = ["out/m{s}", "m{s}", "sub/../fresh{s}", "ABS/new/m{s}", "nmf_model.npz",
              "adir", "m{other}", "afile/m{s}", "./{i}", "sub/../{i}", "{i}", "ABS/{i}",
              "link.npz"]


def _file_out(draw, inp: str, suffix: str) -> str:
    other = ".npy" if suffix == ".npz" else ".npz"
    return draw(st.sampled_from(_OUT_FILES)).format(s=suffix, other=other, i=inp)


@st.composite
def cases(draw):
    """A dict: argv, file outputs, an output folder, inputs, parse error, output kind."""
    command = draw(st.sampled_from(["nmf", "separate", "train", "evaluate", "top"]))
    quiet = ["-q"] if draw(st.booleans()) else []
    case = {"outs": [], "out_dir": None, "inputs": [], "parse_error": False, "kind": None,
            "suffix": ".npz"}
    if command == "nmf":
        inp = draw(st.sampled_from(_GOOD_NPZ_INPUTS * 3 + _BAD_MATRICES))
        k = draw(st.sampled_from(["0", "2", "3", "40", "x"]))
        extra = draw(st.sampled_from([[], ["--beta", "kl"], ["--beta", "oops"],
                                      ["--solver", "hals", "--beta", "kl"], ["--max-iter", "5"],
                                      ["--init", "random", "--seed", "1"], ["--transpose"],
                                      ["--float32"], ["--tol", "-1"]]))
        out = _file_out(draw, inp, ".npz")
        case.update(argv=["nmf", inp, "-k", k, *extra, "--out", out, *quiet], outs=[out],
                    inputs=[inp], parse_error=k == "x", kind="nmf")
    elif command == "separate":
        mix = draw(st.sampled_from(["mix.wav"] * 4 + ["link.wav", "speech.wav", *_BAD_WAVS]))
        noise = draw(st.sampled_from(["noise.wav", "noise.wav", "random.wav", "empty.wav",
                                      "mix.wav", "nmf_model.npz"]))
        other = draw(st.sampled_from([["--unknown", "speech"], ["--unknown", "speech=4"],
                                      ["--source", "speech=speech.wav"],
                                      ["--unknown", "../evil"], ["--source", ".hid=speech.wav"],
                                      ["--unknown", "a\x01b"]]))
        name = other[1].partition("=")[0]
        out_dir = draw(st.sampled_from(["out", "out", "sub/../out2", ".", "sub/..", "afile",
                                        "adir", "ABS/out3", "link.wav"]))
        inputs = [mix, noise] + (["speech.wav"] if other[0] == "--source" else [])
        case.update(argv=["separate", mix, "--source", f"noise={noise}", *other, "--out-dir",
                          out_dir, "--iterations", "4", "--n-fft", "256", *quiet],
                    outs=[f"{out_dir}/noise.wav", f"{out_dir}/{name}.wav"], out_dir=out_dir,
                    inputs=inputs, parse_error=name in ("../evil", ".hid", "a\x01b"),
                    kind="wav", suffix=".wav")
    elif command == "train":
        ratings = draw(st.sampled_from(["ratings.tsv", "ratings.tsv", "empty.tsv", "X.npz",
                                        "random.wav", "missing.tsv"]))
        out = _file_out(draw, ratings, ".npz")
        extra = draw(st.sampled_from([[], ["--solver", "als"], ["--factors", "0"],
                                      ["--lr", "1e6"]]))
        case.update(argv=["recommend", "train", ratings, "--out", out, "--epochs", "2",
                          "--factors", "3", *extra, *quiet], outs=[out], inputs=[ratings],
                    kind="ratings")
    else:
        model = draw(st.sampled_from(["rmodel.npz", "rmodel.npz", "nmf_model.npz",
                                      "ratings.tsv", "trunc.npz", "random.npy", "X.npz",
                                      "missing.npz", "empty.npz"]))
        if command == "evaluate":
            ratings = draw(st.sampled_from(["ratings.tsv", "rmodel.npz", "empty.tsv"]))
            case.update(argv=["recommend", "evaluate", model, ratings, *quiet])
        else:
            user = draw(st.sampled_from(["1", "999", "x"]))
            case.update(argv=["recommend", "top", model, "--user", user, "--k", "3", *quiet])
    return case


def _is_usage_error(case: dict, work: Path) -> bool:
    """Whether the contract demands exit 2: decided from the file system, not from matfit."""
    if case["parse_error"]:
        return True
    real = {os.path.realpath(work / i) for i in case["inputs"] if (work / i).exists()}
    if case["out_dir"] is not None:
        d = work / case["out_dir"]
        if d.exists() and not d.is_dir():
            return True
    for o in case["outs"]:
        p = work / o
        if os.path.realpath(p) in real or p.is_dir() or p.suffix != case["suffix"]:
            return True
        if any(q.exists() and not q.is_dir() for q in p.parents if work in q.parents):
            return True
    return False


def _valid_output(path: Path, kind: str | None) -> None:
    if kind == "nmf":
        arrays, _ = load_model(path, kind="nmf")
        assert np.all(np.isfinite(arrays["W"])) and np.all(arrays["W"] >= 0)
    elif kind == "ratings":
        from matfit.recommend.model import MatrixFactorization

        assert MatrixFactorization.load(path).user_factors_.shape[1] == 3
    elif kind == "wav":
        import warnings

        from scipy.io import wavfile

        with warnings.catch_warnings():  # soundfile adds a PEAK chunk scipy does not know
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            sr, x = wavfile.read(path)
        assert sr == 8000 and x.dtype == np.float32 and np.all(np.isfinite(x))


_counter = iter(range(10**6))


@settings(max_examples=50, deadline=None)
@given(case=cases())
def test_every_command_fails_in_one_line_or_writes_only_its_outputs(case, runner, template,
                                                                     tmp_path_factory):
    work = tmp_path_factory.getbasetemp() / "cases" / f"c{next(_counter)}"
    shutil.copytree(template, work, symlinks=True)
    case["argv"] = [a.replace("ABS/", f"{work}/") for a in case["argv"]]
    case["outs"] = [o.replace("ABS/", f"{work}/") for o in case["outs"]]
    if case["out_dir"]:
        case["out_dir"] = case["out_dir"].replace("ABS/", f"{work}/")
    usage = _is_usage_error(case, work)
    before = _tree(work)
    rc, out, err = runner(work, case["argv"])
    after = _tree(work)
    shown = (f"matfit {' '.join(case['argv'])} -> {rc}\nstdout: {out[-500:]}\n"
             f"stderr: {err[-2000:]}")
    assert "Traceback" not in err + out, shown
    assert rc in (0, 1, 2), shown
    if usage:
        assert rc == 2, shown
    if rc == 0:
        for o in case["outs"]:
            _valid_output(work / o, case["kind"])
        declared = {os.path.relpath(os.path.realpath(work / o), os.path.realpath(work))
                    for o in case["outs"]}
        changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
        new_dirs = {p for p in changed if after.get(p) == "dir" and p not in before}
        assert changed - declared - new_dirs == set(), shown
    else:
        lines = err.strip().splitlines()
        assert len([ln for ln in lines if ": error: " in ln]) == 1, shown
        assert lines[-1].startswith("matfit ") and ": error: " in lines[-1], shown
        if "-q" in case["argv"]:
            assert len(lines) == 1, shown
        assert after == before, shown          # a failed command leaves the tree as it was
    assert not [p for p in after if p.endswith(".tmp")], shown
    shutil.rmtree(work)


# -------------------------------------------------------------- the issue's own examples
def test_examples_from_the_issue(runner, template, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(template, work, symlinks=True)
    (work / "a" / "b").mkdir(parents=True)
    shutil.copy(work / "mix.wav", work / "a" / "b" / "mix.wav")
    shutil.copy(work / "noise.wav", work / "a" / "b" / "noise.wav")
    before = _tree(work)
    rc, _, err = runner(work / "a" / "b", ["separate", "mix.wav", "--source",
                                           "../../evil=noise.wav", "--unknown", "speech",
                                           "--out-dir", "out"])
    assert rc == 2 and "source name '../../evil' cannot be a file name" in err
    rc, _, err = runner(work, ["nmf", "X.npz", "-k", "3", "--out", "X.npz"])
    assert rc == 2 and "--out X.npz is the input INPUT (X.npz)" in err
    (work / "out").mkdir()
    shutil.copy(work / "mix.wav", work / "out" / "speech.wav")
    before = _tree(work)
    rc, _, err = runner(work, ["separate", "out/speech.wav", "--source", "noise=noise.wav",
                               "--unknown", "speech", "--out-dir", "out"])
    assert rc == 2 and "would write out/speech.wav, which is the input MIXTURE" in err
    rc, _, err = runner(work, ["nmf", "X.npz", "-k", "3", "--out", "adir"])
    assert rc == 2 and "--out adir is an existing folder" in err
    rc, _, err = runner(work, ["nmf", "X.npz", "-k", "3", "--out", "X.npy"])
    assert rc == 2 and "use --out X.npz" in err
    rc, _, err = runner(work, ["separate", "mix.wav", "--source", "noise=noise.wav",
                               "--unknown", "speech", "--out-dir", "afile"])
    assert rc == 2 and "--out-dir afile is an existing file, not a folder" in err
    rc, _, err = runner(work, ["nmf", "empty.csv", "-k", "2", "--out", "e.npz"])
    assert rc == 1 and err.strip() == "matfit nmf: error: INPUT empty.csv holds no numbers " \
        "(an empty CSV)"
    rc, _, err = runner(work, ["recommend", "evaluate", "ratings.tsv", "rmodel.npz"])
    assert rc == 1 and "MODEL: ratings.tsv is not a matfit model file" in err
    assert "pickle" not in err and "did you swap them?" in err
    rc, _, err = runner(work, ["demo", "numerics", "--plot", "afile"])
    assert rc == 2 and "--plot afile is an existing file, not a folder" in err
    rc, _, err = runner(work, ["nmf", "X.npz", "-k", "3", "--out", "afile/m.npz"])
    assert rc == 2 and "afile is a file, so no folder can be made there" in err
    assert _tree(work) == before
    rc, _, err = runner(work, ["nmf", "X.npz", "-k", "3", "--out", "m.npz", "-q"])
    assert rc == 0 and err == "" and (work / "m.npz").is_file()


def test_umask_reaches_every_cli_output(runner, template, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(template, work, symlinks=True)
    for mask in (0o022, 0o007):
        runner.n += 1
        out, err = tmp_path / f"o{mask}", tmp_path / f"e{mask}"
        req = {"cwd": str(work), "argv": ["separate", "mix.wav", "--source", "noise=noise.wav",
                                          "--unknown", "speech", "--out-dir", f"o{mask}",
                                          "--iterations", "3", "-q"],
               "stdout": str(out), "stderr": str(err), "umask": mask}
        runner.proc.stdin.write(json.dumps(req) + "\n")
        runner.proc.stdin.flush()
        assert json.loads(runner.proc.stdout.readline())["rc"] == 0, err.read_text()
        for name in ("noise.wav", "speech.wav"):
            assert os.stat(work / f"o{mask}" / name).st_mode & 0o777 == 0o666 & ~mask


# ------------------------------------------------------------------ interrupts, extras
def _matfit(*argv: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "matfit.cli", *argv], capture_output=True,
                          text=True, timeout=120, env=env or _env(), **kw)


_BLOCKED = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == {name!r}:
            raise {exc}
sys.meta_path.insert(0, Block())
from matfit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_while_importing_is_one_line_exit_130(template, tmp_path):
    shutil.copy(template / "X.npz", tmp_path / "X.npz")
    code = _BLOCKED.format(name="scipy", exc="KeyboardInterrupt")
    res = subprocess.run([sys.executable, "-c", code, "nmf", "X.npz", "-k", "2", "--out",
                          "m.npz"], capture_output=True, text=True, cwd=tmp_path, env=_env(),
                         timeout=120)
    assert res.returncode == 130 and res.stderr == "matfit nmf: interrupted\n"
    assert sorted(os.listdir(tmp_path)) == ["X.npz"]


def test_ctrl_c_during_a_fit_leaves_no_output(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((300, 400)))
    proc = subprocess.Popen([sys.executable, "-m", "matfit.cli", "nmf", "x.npy", "-k", "20",
                             "--max-iter", "100000", "--tol", "0", "--out", "m.npz",
                             "--progress"], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stderr.read(1)                      # the progress bar has started: the fit is running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.decode().rsplit("\r", 1)[-1].strip().endswith("matfit nmf: interrupted")
    assert b"Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["x.npy"]


@pytest.mark.parametrize("module,argv,extra", [
    ("distributed", ["nmf", "X.npz", "-k", "2", "--dask", "--scheduler", "local", "--out",
                     "m.npz"], "dask"),
    ("pyspark", ["recommend", "train", "ratings.tsv", "--engine", "spark", "--out", "m.npz"],
     "spark"),
])
def test_missing_optional_dependency_names_the_pip_line(template, tmp_path, module, argv,
                                                        extra):
    for name in ("X.npz", "ratings.tsv"):
        shutil.copy(template / name, tmp_path / name)
    code = _BLOCKED.format(name=module, exc=f"ModuleNotFoundError(name={module!r})")
    res = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         cwd=tmp_path, env=_env(), timeout=120)
    assert res.returncode == 1, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"matfit {argv[0]}: error: "), lines
    assert module in lines[0] and lines[0].endswith(f"pip install 'matfit[{extra}]'"), lines
    assert "internal error" not in lines[0]
    assert sorted(os.listdir(tmp_path)) == ["X.npz", "ratings.tsv"]


# -------------------------------------------------------------------- start-up, pipes
def test_help_imports_no_subcommand_and_is_fast():
    probe = ("import sys, time; t = time.perf_counter(); from matfit.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'scipy') "
             "or m.startswith(('matfit.factorize', 'matfit.separate', 'matfit.recommend', "
             "'matfit.demo', 'matfit.explain')))\n"
             "print(heavy, file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert res.stderr.strip() == "[]"
    for name in ("demo", "nmf", "separate", "recommend", "explain"):
        assert f"    {name}" in res.stdout
    times, bare = [], []
    for _ in range(5):  # interleaved with a bare interpreter, so machine load hits both
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "matfit.cli", "--help"], capture_output=True,
                       env=_env(), check=True, timeout=60)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], capture_output=True, env=_env(),
                       check=True, timeout=60)
        bare.append(time.perf_counter() - t0)
    # the acceptance figure is a median under 0.3 s; on a loaded machine the interpreter's own
    # start-up grows, so what is held to account is the cost above it (main's was over 1 s)
    over = statistics.median(times) - statistics.median(bare)
    assert statistics.median(times) < 0.3 or over < 0.3, (times, bare)


def test_stub_help_lines_match_the_real_subcommands():
    from matfit.cli import _COMMANDS, build_parser

    full = build_parser().format_help()
    for name, (_, help_text) in _COMMANDS.items():
        assert " ".join(help_text.split()) in " ".join(full.split()), name


def test_no_carriage_returns_on_pipes_unless_forced(runner, template, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(template, work, symlinks=True)
    nmf = ["nmf", "X.npz", "-k", "2", "--tol", "0", "--max-iter", "300", "--out", "m.npz"]
    res = subprocess.run([sys.executable, "-m", "matfit.cli", *nmf], capture_output=True,
                         cwd=work, env=_env(), timeout=300)     # real pipes
    assert res.returncode == 0, res.stderr
    assert b"\r" not in res.stdout + res.stderr
    forced = subprocess.run([sys.executable, "-m", "matfit.cli", *nmf, "--progress"],
                            capture_output=True, cwd=work, env=_env(), timeout=300)
    assert b"\r" in forced.stderr          # so the check above could have failed
    for argv in (["recommend", "train", "ratings.tsv", "--out", "r.npz", "--epochs", "3"],
                 ["separate", "mix.wav", "--source", "noise=noise.wav", "--unknown", "speech",
                  "--out-dir", "o", "--iterations", "5"],
                 ["demo", "numerics"],
                 [*nmf, "--progress"]):
        rc, out, err = runner(work, argv)     # stdout and stderr are plain files here
        assert rc == 0, err
        assert ("\r" in out + err) == ("--progress" in argv), argv


def test_warnings_become_one_line_notes_or_vanish_behind_the_error(monkeypatch, capsys):
    import warnings

    import matfit.factorize._cli as nmf_cli
    from matfit import DivergenceError
    from matfit.cli import main

    def noisy_ok(args):
        for _ in range(3):
            warnings.warn("overflow encountered in multiply", RuntimeWarning, stacklevel=1)
        return {}

    def noisy_fail(args):
        warnings.warn("overflow encountered in multiply", RuntimeWarning, stacklevel=1)
        raise DivergenceError("sgd diverged at epoch 1: lower lr")

    argv = ["nmf", "x.npy", "-k", "2", "--out", "m.npz"]
    monkeypatch.setattr(nmf_cli, "run", noisy_ok)
    assert main(argv) == 0
    assert capsys.readouterr().err.splitlines() == [
        "matfit nmf: note: overflow encountered in multiply [RuntimeWarning]"]
    monkeypatch.setattr(nmf_cli, "run", noisy_fail)
    assert main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        "matfit nmf: error: sgd diverged at epoch 1: lower lr"]


def test_argparse_usage_errors_are_one_line(capsys):
    from matfit.cli import main

    with pytest.raises(SystemExit) as info:
        main(["nmf", "x.npy", "-k", "two", "--out", "m.npz"])
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["matfit nmf: error: argument --components/-k: --components 'two': give a "
                   "number of components or 'auto' (see matfit nmf --help)"]


@pytest.mark.parametrize("argv", [
    ["separate", "m.wav", "--source", "a/b=n.wav", "--out-dir", "o"],
    ["separate", "m.wav", "--source", "n=n.wav", "--unknown", "..", "--out-dir", "o"],
    ["separate", "m.wav", "--source", "n=n.wav", "--unknown", ".x=3", "--out-dir", "o"],
    ["separate", "m.wav", "--source", "n=n.wav", "--reference", "/etc/passwd=c.wav",
     "--out-dir", "o"],
    ["separate", "m.wav", "--source", "n=n.wav", "--exclude", "x\ty=1:2", "--out-dir", "o"],
    ["demo", "../numerics"],
])
def test_names_are_checked_when_arguments_are_parsed(argv, capsys, tmp_path, monkeypatch):
    from matfit.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)                         # the files do not exist: the name fails first
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "cannot be a file name" in err[0]
    assert os.listdir(tmp_path) == []
