"""``matfit explain`` on scripts that cannot run reports them exactly as ``python SCRIPT`` does.

Each case is run by ``python`` itself in a subprocess (the reference) and by ``matfit explain``
in this process; the two stderr texts must agree (the program name aside), with none of
matfit's frames (``runpy``, ``explain/_cli.py``) in any traceback.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from matfit.cli import main

CASES = {
    "syntax.py": b"import numpy as np\ndef f(:\n    return 1\n",
    "indent.py": b"def f():\n\treturn 1\n        return 2\n",
    "picture.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "latin1.py": b"x = 1\ny = '\xe9'\n",
    "nul.py": b"x = 1\x00\n",
    "notes.txt": b"these are my notes, not Python\n",
    "runtime.py": b"def inner(d):\n    return d['k']\n\ndef outer():\n    return inner({})\n\n"
                  b"outer()\n",
    "exits.py": b"import sys\nsys.exit('bye')\n",
}


def _python(path: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=60, cwd=path.parent)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_report_as_python(name, tmp_path, capsys):
    path = tmp_path / name
    path.write_bytes(CASES[name])
    want_code, want_err = _python(path)
    code = main(["explain", str(path)])
    err = capsys.readouterr().err
    assert code == want_code
    assert err == want_err
    assert "runpy" not in err and "_cli.py" not in err


def test_missing_file_and_zip_without_main(tmp_path, capsys):
    missing = tmp_path / "nothere.py"
    want_code, want_err = _python(missing)
    assert main(["explain", str(missing)]) == want_code == 2
    err = capsys.readouterr().err
    assert err.replace("matfit explain:", "") == want_err.split(":", 1)[1]

    npz = tmp_path / "model.npz"
    with zipfile.ZipFile(npz, "w") as z:
        z.writestr("W.npy", b"not really")
    want_code, want_err = _python(npz)
    assert main(["explain", str(npz)]) == want_code == 1
    err = capsys.readouterr().err
    assert "can't find '__main__' module" in err and err.count("\n") == 1
    assert "Traceback" not in err


def test_explained_error_shows_only_the_users_frames(tmp_path, capsys):
    path = tmp_path / "shapes.py"
    path.write_text("import numpy as np\n\ndef f(a, b):\n    return a @ b\n\n"
                    "f(np.ones((2, 3)), np.ones((2, 3)))\n")
    _, want_err = _python(path)
    assert main(["explain", str(path)]) == 1
    err = capsys.readouterr().err
    tb = err[err.index("Traceback (most recent call last):"):]
    assert tb == want_err  # the explanation first, then python's own traceback, unchanged
