"""matfit._io, the one module for every read and write: atomic, ordinary, never over an input.

Each property is checked against the operating system itself (the mode ``open()`` gives, what
``os.path.samefile`` says, what a SIGKILL leaves), not against matfit's own idea of it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from matfit import DataError, InvalidParameterError
from matfit._io import (
    Outputs,
    UsageError,
    atomic_write,
    check_output_path,
    load_model,
    plain_name,
    read_npy,
    read_npz,
    save_model,
)


def _umask(mask: int) -> int:
    return os.umask(mask)


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it after."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda m: os.umask(m)
    os.umask(old)


def _plain_open_mode(path: Path) -> int:
    """The bits ``open(path, "w")`` gives a new file under the current umask (the reference)."""
    with open(path, "w"):
        pass
    mode = os.stat(path).st_mode & 0o777
    path.unlink()
    return mode


# ---------------------------------------------------------------------------- permissions
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027])
def test_new_files_get_the_umask_bits_a_plain_open_gives(tmp_path, umask, mask):
    from matfit.separate._audio import write_wav

    umask(mask)
    expected = _plain_open_mode(tmp_path / "reference")
    model = save_model(tmp_path / "m.npz", {"a": np.arange(3)}, {}, kind="t", version=1)
    wav = write_wav(tmp_path / "s.wav", np.zeros(100), 8000)
    raw = atomic_write(tmp_path / "r.bin", lambda fh: fh.write(b"x"))
    for p in (model, wav, raw):
        assert os.stat(p).st_mode & 0o777 == expected, (p, oct(mask))
    assert expected == 0o666 & ~mask


def test_replacing_a_file_keeps_its_mode_as_open_would(tmp_path, umask):
    umask(0o022)
    p = tmp_path / "m.npz"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    save_model(p, {"a": np.arange(3)}, {}, kind="t", version=1)
    assert os.stat(p).st_mode & 0o777 == 0o640
    assert load_model(p, kind="t")[0]["a"].tolist() == [0, 1, 2]


# ---------------------------------------------------------------------------- atomicity
def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    p = tmp_path / "out.bin"
    p.write_bytes(b"previous")

    def boom(fh):
        fh.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(p, boom)
    assert p.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]


def test_failed_write_removes_the_folders_it_made(tmp_path):
    def boom(fh):
        raise RuntimeError("no")

    with pytest.raises(RuntimeError, match="no"):
        atomic_write(tmp_path / "a" / "b" / "x.bin", boom)
    assert os.listdir(tmp_path) == []


_KILL_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from matfit._io import save_model
    path = sys.argv[1]
    big = np.random.default_rng(1).random((4000, 2500))   # 80 MB: a save takes a while
    while True:
        print("start", flush=True)
        save_model(path, {"W": big}, {"n": 2}, kind="t", version=1)
        print("done", flush=True)
""")


def test_sigkill_during_a_large_save_leaves_the_previous_model_intact(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, {"W": np.arange(10.0)}, {"n": 1}, kind="t", version=1)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    killed_mid_write = False
    for delay in (0.05, 0.15, 0.02, 0.3, 0.1):
        proc = subprocess.Popen([sys.executable, "-c", _KILL_CHILD, str(path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "start"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        temps = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        arrays, meta = load_model(path, kind="t")       # always a whole, valid model
        if hashlib.sha256(path.read_bytes()).hexdigest() == before:
            assert meta["n"] == 1 and arrays["W"].tolist() == list(np.arange(10.0))
            if temps:
                killed_mid_write = True
                break
        else:  # the child finished one save before the kill: the new model, complete
            assert meta["n"] == 2 and arrays["W"].shape == (4000, 2500)
            before = hashlib.sha256(path.read_bytes()).hexdigest()
        for n in temps:
            (tmp_path / n).unlink()
    assert killed_mid_write, "never caught the child in the middle of a write"


# ------------------------------------------------------------------------------- names
@pytest.mark.parametrize("name", ["speech", "noise-2", "bass_line", "Ünïcode", "a.b", "x y"])
def test_plain_names_pass(name):
    assert plain_name(name) == name


@pytest.mark.parametrize("name,why", [
    ("../../evil", "separator"), ("a/b", "separator"), ("/abs", "separator"),
    ("a\\b", "separator"), ("..", "path"), (".", "path"), (".hidden", "starts with a dot"),
    ("", "empty"), ("a\nb", "control"), ("tab\t", "control"), ("nul\x00", "control"),
    ("del\x7f", "control"), ("c1\x85", "control"), ("evil\u202egnp.wav", "control"),
    (" lead", "space"),
])
def test_names_that_would_be_paths_are_refused(name, why):
    with pytest.raises(InvalidParameterError, match=why):
        plain_name(name, "source name")


# ------------------------------------------------------------------------ output checks
def test_check_output_path_refuses_what_is_in_the_way(tmp_path):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidParameterError, match="is an existing folder"):
        check_output_path(tmp_path / "dir", suffix=".npz", what="--out")
    with pytest.raises(InvalidParameterError, match="is an existing file, not a folder"):
        check_output_path(tmp_path / "file", what="--out-dir", folder=True)
    with pytest.raises(InvalidParameterError, match="is a file, so no folder"):
        check_output_path(tmp_path / "file" / "m.npz", what="--out")
    with pytest.raises(InvalidParameterError, match=r"has a \.npy name.*use --out .*X\.npz"):
        check_output_path(tmp_path / "X.npy", suffix=".npz", what="--out")
    with pytest.raises(InvalidParameterError, match=r"has no suffix.*m\.npz"):
        check_output_path(tmp_path / "m", suffix=".npz", what="--out")
    assert check_output_path(tmp_path / "new" / "deeper" / "m.npz", suffix=".npz") \
        == tmp_path / "new" / "deeper" / "m.npz"
    assert not (tmp_path / "new").exists()          # checking creates nothing


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write any folder")
def test_unwritable_folder_is_refused_before_work(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        with pytest.raises(InvalidParameterError, match="cannot be written"):
            check_output_path(ro / "m.npz", suffix=".npz")
    finally:
        os.chmod(ro, 0o755)


def test_unwritable_folder_message_names_the_folder(tmp_path, monkeypatch):
    # root passes every permission check, so the OS answer is stood in for here
    import matfit._io as io

    monkeypatch.setattr(io.os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(InvalidParameterError, match=f"the folder {tmp_path} cannot be written"):
        check_output_path(tmp_path / "new" / "m.npz", suffix=".npz", what="--out")


def test_library_save_writes_exactly_the_path_or_adds_npz_to_a_bare_name(tmp_path):
    arrays = {"a": np.arange(2)}
    assert save_model(tmp_path / "m", arrays, {}, kind="t", version=1) == tmp_path / "m.npz"
    assert save_model(tmp_path / "m.npz", arrays, {}, kind="t", version=1) == tmp_path / "m.npz"
    with pytest.raises(InvalidParameterError, match=r"use model path .*X\.npz"):
        save_model(tmp_path / "X.npy", arrays, {}, kind="t", version=1)
    (tmp_path / "D").mkdir()
    with pytest.raises(InvalidParameterError, match="existing folder"):
        save_model(tmp_path / "D", arrays, {}, kind="t", version=1)
    assert sorted(os.listdir(tmp_path)) == ["D", "m.npz"]


# ------------------------------------------------------------------- inputs vs outputs
def _spellings(tmp_path: Path) -> list[str]:
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "in.npz", tmp_path / "link.npz")
    os.link(tmp_path / "in.npz", tmp_path / "hard.npz")
    return ["in.npz", "./in.npz", "sub/../in.npz", str(tmp_path / "in.npz"), "link.npz",
            "hard.npz", "sub/../link.npz"]


def test_an_input_is_never_an_output_however_spelled(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.npz").write_bytes(b"input")
    for spelling in _spellings(tmp_path):
        outputs = Outputs({"INPUT": "in.npz"})
        with pytest.raises(UsageError, match=r"--out .* is the input INPUT \(in\.npz\)"):
            outputs.file("--out", spelling, suffix=".npz")
        outputs = Outputs({"INPUT": spelling})       # and the other way round
        with pytest.raises(UsageError, match="is the input INPUT"):
            outputs.file("--out", "in.npz", suffix=".npz")
    assert (tmp_path / "in.npz").read_bytes() == b"input"
    assert UsageError.exit_code == 2


def test_outputs_inside_an_input_folder_and_whole_folders_holding_inputs(tmp_path):
    (tmp_path / "chunks").mkdir()
    (tmp_path / "chunks" / "a.npy").write_bytes(b"x")
    with pytest.raises(UsageError, match="is inside the input INPUT"):
        Outputs({"INPUT": tmp_path / "chunks"}).file("--out", tmp_path / "chunks" / "m.npz",
                                                     suffix=".npz")
    with pytest.raises(UsageError, match="holds the input INPUT"):
        Outputs({"INPUT": tmp_path / "chunks" / "a.npy"}).folder("--h-out", tmp_path / "chunks",
                                                                 whole=True)


def test_two_outputs_with_one_path_are_refused(tmp_path):
    outputs = Outputs()
    outputs.file("--out", tmp_path / "m.npz")
    with pytest.raises(UsageError, match="also the output of --out"):
        outputs.file("--other", tmp_path / "./m.npz")


def test_staged_outputs_appear_together_and_only_on_success(tmp_path):
    out = tmp_path / "out"
    outputs = Outputs()
    outputs.folder("--out-dir", out)
    a, b = outputs.file("--out-dir", out / "a.bin"), outputs.file("--out-dir", out / "b.bin")
    with outputs:
        atomic_write(a, lambda fh: fh.write(b"A"))
        assert not a.exists()                           # staged, not yet in place
        atomic_write(b, lambda fh: fh.write(b"B"))
        atomic_write(out / "c.bin", lambda fh: fh.write(b"C"))   # a file of the claimed folder
    assert sorted(os.listdir(out)) == ["a.bin", "b.bin", "c.bin"]

    outputs = Outputs()
    outputs.folder("--out-dir", tmp_path / "new")
    with pytest.raises(KeyboardInterrupt), outputs:
        atomic_write(tmp_path / "new" / "a.bin", lambda fh: fh.write(b"A"))
        raise KeyboardInterrupt
    assert not (tmp_path / "new").exists()              # nothing left: no file, no folder


def test_a_write_nobody_claimed_is_a_bug_not_a_silent_file(tmp_path):
    outputs = Outputs()
    outputs.file("--out", tmp_path / "m.npz")
    with pytest.raises(RuntimeError, match="never claimed"), outputs:
        atomic_write(tmp_path / "elsewhere.bin", lambda fh: fh.write(b"x"))
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- reading
def _damaged(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.npz"
    save_model(good, {"W": np.ones((50, 40))}, {}, kind="t", version=1)
    files = {
        "text": ("ratings.tsv", b"1\t2\t5\n3\t4\t1\n"),
        "npy": ("x.npz", b"\x93NUMPY\x01\x00" + b"\x00" * 100),
        "truncated": ("t.npz", good.read_bytes()[: good.stat().st_size // 2]),
        "random": ("r.npz", np.random.default_rng(0).bytes(500)),
        "empty": ("e.npz", b""),
        "wav": ("s.npz", b"RIFF\x00\x00\x00\x00WAVEfmt "),
    }
    out = {}
    for key, (name, data) in files.items():
        (tmp_path / name).write_bytes(data)
        out[key] = tmp_path / name
    plain = tmp_path / "plain.npz"
    np.savez(plain, X=np.ones(3))
    out["plain npz"] = plain
    objects = tmp_path / "obj.npz"
    np.savez(objects, __matfit__=np.array([{"a": 1}], dtype=object))
    out["objects"] = objects
    return out


def test_a_file_of_another_kind_is_not_a_matfit_model_file_and_nothing_says_pickle(tmp_path):
    for key, path in _damaged(tmp_path).items():
        with pytest.raises(DataError, match="is not a matfit model file") as info:
            load_model(path, kind="t")
        assert "pickle" not in str(info.value).lower() or key == "objects", key
        assert "allow_pickle" not in str(info.value), key
        assert "\n" not in str(info.value)
    with pytest.raises(DataError, match=r"a text file, not an \.npz archive"):
        load_model(tmp_path / "ratings.tsv", kind="t")
    with pytest.raises(FileNotFoundError, match="no model file"):
        load_model(tmp_path / "missing.npz", kind="t")


def test_read_npy_and_npz_never_unpickle(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="Python objects") as info:
        read_npy(tmp_path / "obj.npy", what="INPUT")
    assert "allow_pickle" not in str(info.value)
    (tmp_path / "t.npy").write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'")
    with pytest.raises(DataError, match=r"INPUT .*damaged"):
        read_npy(tmp_path / "t.npy", what="INPUT")
    (tmp_path / "text.npz").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"not an \.npz archive \(a text file\)"):
        read_npz(tmp_path / "text.npz", what="INPUT")
