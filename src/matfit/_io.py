"""Every file matfit reads or writes goes through this module (STYLE.md rule 16).

Implementation notes
--------------------
* **Models** are one ``.npz`` archive of arrays plus a JSON metadata record, never pickle. The
  record is a 0-d unicode array named ``__matfit__``, so a model loads with
  ``allow_pickle=False`` and can be inspected with plain NumPy:
  ``json.loads(np.load(path)["__matfit__"][()])``.
* **Writes are atomic, durable and ordinary** (:func:`atomic_write`): the bytes go to a
  temporary file in the destination folder (so the final rename never crosses a file system),
  are flushed and ``fsync``-ed, the file gets the permission bits a plain ``open(path, "w")``
  would give (``0o666 & ~umask`` for a new file, the old file's bits when it replaces one), and
  ``os.replace`` puts it in place; the folder is ``fsync``-ed after the rename. A write killed at
  any moment (even SIGKILL) leaves either the old file or the new one, never a mix; only a
  hidden ``.NAME.*.tmp`` file can be left behind by SIGKILL.
* **Commands claim their outputs before any work** (:class:`Outputs`): each output path is
  resolved once and checked (a folder where a file should go, a file where a folder should go,
  a folder that cannot be written, a name of the wrong kind, the same path as one of the
  command's inputs however it is spelled: ``./``, ``a/../``, symbolic and hard links). A problem
  is a :class:`UsageError` (exit status 2) naming the argument and the fix. Inside
  ``with outputs:`` every write is *staged* (written to its temporary file) and the renames all
  happen when the block ends without an error, so an interrupted or failing command leaves none
  of its outputs half-made or half-updated. Replacing an earlier output is allowed (as ``cp``
  does); writing over an input never is.
* **Names are never paths** (:func:`plain_name`): a name a user typed (a source, a demo part)
  becomes a file name only when it has no separator, is not ``.``/``..``, does not start with a
  dot and has no control characters.
* **Reading** an ``.npz``/``.npy`` file never unpickles; a file of another kind (text, a
  truncated archive, random bytes) is named as "not a matfit model file" or "not a readable
  .npy file", and no message suggests ``allow_pickle``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import tempfile
import threading
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._errors import DataError, InvalidParameterError

__all__ = [
    "Outputs",
    "UsageError",
    "atomic_path",
    "atomic_write",
    "check_output_path",
    "load_model",
    "naming",
    "plain_name",
    "read_npy",
    "read_npz",
    "save_model",
]

_META = "__matfit__"
# bidirectional overrides and isolates: they make a name display as another (U+202E "RLO")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NPZ_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


class UsageError(InvalidParameterError):
    """The command line names a path or a name that cannot be used; the CLI exits with 2."""

    exit_code = 2


# ----------------------------------------------------------------------------------- names
def plain_name(text: str, what: str = "name") -> str:
    """Return ``text`` if it can be used as a file name as it is, else raise.

    A plain name has no path separator (``/``, or ``\\`` which Windows also reads as one), is
    not ``.`` or ``..``, does not start with a dot (no hidden or relative names), is not empty
    and has no control characters.

    Raises
    ------
    InvalidParameterError
        Naming ``what``, the offending text and the rule.
    """
    why = None
    if not text:
        why = "it is empty"
    elif any(sep in text for sep in ("/", "\\", os.sep, os.altsep or "/")):
        why = "it contains a path separator"
    elif text.startswith("."):
        why = "it starts with a dot" if text not in (".", "..") else "it is a path (. or ..)"
    elif any(unicodedata.category(c) == "Cc" or c in _BIDI for c in text):
        why = "it contains a control character"
    elif text != text.strip():
        why = "it starts or ends with a space"
    if why:
        raise InvalidParameterError(
            f"{what} {text!r} cannot be a file name: {why}; use a plain name such as 'speech' "
            f"(letters, digits, '-', '_')")
    return text


# --------------------------------------------------------------------------- atomic writes
def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for an instant, in every thread)
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(final: Path) -> int:
    """The permission bits ``open(final, "w")`` would leave: the old file's, or 0o666 & ~umask."""
    try:
        st = os.stat(final)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def _first_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_output_path(path: str | os.PathLike, *, suffix: str | None = None,
                      what: str = "output", folder: bool = False) -> Path:
    """Check that ``path`` can be written as a file (or, ``folder=True``, used as a folder).

    Refuses, with one line naming ``what``, the path and the fix: an existing folder where a
    file is to be written, an existing file where a folder is to be, a file where a parent
    folder should be, a parent folder that cannot be written, and (with ``suffix``) a name that
    ends in another suffix. Nothing is created.

    Returns
    -------
    Path
        ``path`` as given (not resolved, so messages show what the user typed).

    Raises
    ------
    InvalidParameterError
    """
    p = Path(path)
    text = str(path)
    if not text or (text.endswith((os.sep, "/")) and not folder):
        raise InvalidParameterError(f"{what} {text!r} is not a file name: give a file name, "
                                    f"e.g. {what} {text}model{suffix or ''}")
    if folder:
        if os.path.lexists(p) and not p.is_dir():
            raise InvalidParameterError(
                f"{what} {text} is an existing file, not a folder: give a folder name "
                f"(it is created if missing), or move the file away")
    else:
        if p.is_dir():
            raise InvalidParameterError(
                f"{what} {text} is an existing folder: give a file name inside it, e.g. "
                f"{what} {p / ('model' + (suffix or ''))}")
        if suffix is not None and p.suffix.lower() != suffix:
            fixed = p.with_suffix(suffix) if p.suffix else p.with_name(p.name + suffix)
            kind = f"a {p.suffix} name" if p.suffix else "no suffix"
            raise InvalidParameterError(
                f"{what} {text} has {kind}, but this writes a {suffix} file: use {what} {fixed}")
    parent = p if folder else p.parent
    base = _first_existing(parent.absolute())
    if not base.is_dir():
        raise InvalidParameterError(
            f"{what} {text}: {base} is a file, so no folder can be made there; choose another "
            f"path")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InvalidParameterError(
            f"{what} {text}: the folder {base} cannot be written (permission denied); choose a "
            f"folder you can write")
    return p


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return those created (deepest last)."""
    made = []
    for p in reversed([folder, *folder.parents]):
        if not os.path.lexists(p):
            p.mkdir()
            made.append(p)
    return made


def _stage(final: Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Write via ``write(fh)`` to a temporary file beside ``final``, fsync it; return its path."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode_for(final))
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any], *,
                 suffix: str | None = None, what: str = "path") -> Path:
    """Write a file atomically: ``write(fh)`` fills a binary file object, then it is renamed.

    The temporary file is in the destination folder; it is flushed and fsync-ed, gets the
    permission bits a plain ``open()`` would give under the process umask (or those of the file
    it replaces), and ``os.replace`` puts it in place. Missing parent folders are created. Inside
    ``with outputs:`` (:class:`Outputs`) the rename waits until the block ends.

    Parameters
    ----------
    path : str or path-like
        Exactly the file written.
    write : callable
        ``write(fh)`` with ``fh`` a binary file object open for writing.
    suffix : str, optional
        Refuse a ``path`` that does not end in it.
    what : str
        How to name ``path`` in messages.

    Returns
    -------
    Path
        ``path``.
    """
    final = check_output_path(path, suffix=suffix, what=what)
    active = _ACTIVE.get()
    if active is not None:
        return active._stage_write(final, write)
    made = _make_parents(final.parent)
    tmp = None
    try:
        tmp = _stage(final, write)
        os.replace(tmp, final)
        tmp = None
        _fsync_dir(final.parent)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for p in reversed(made):
            with contextlib.suppress(OSError):
                p.rmdir()
        raise
    return final


def atomic_path(path: str | os.PathLike, suffix: str = "") -> tuple[Path, Path]:
    """Return (temporary path, final path) in the same folder, for write-then-``os.replace``.

    Prefer :func:`atomic_write`, which also fsyncs and works inside :class:`Outputs`; this
    helper is kept for code that must hand a *path* to a writer. The temporary file already has
    the permission bits the final file should have.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix or final.suffix,
                               dir=final.parent)
    os.close(fd)
    os.chmod(tmp, _mode_for(final))
    return Path(tmp), final


# ------------------------------------------------------------------------------ outputs
class _Active:
    """The one transaction open in this process (writes from any thread see it)."""

    def __init__(self) -> None:
        self._value: Outputs | None = None

    def get(self) -> Outputs | None:
        return self._value

    def set(self, value: Outputs | None) -> None:
        self._value = value


_ACTIVE = _Active()


def _same(a: Path, b: Path) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
    except ValueError:
        return False
    return True


class Outputs:
    """The files one command writes: checked before the work, written all at once at the end.

    Parameters
    ----------
    inputs : mapping of argument name to path, or to a list of paths
        The command's input files and folders (missing ones are ignored here: reading them
        fails with its own message).

    Examples
    --------
    In a command's ``run``::

        outputs = Outputs({"INPUT": args.input})
        out = outputs.file("--out", args.out, suffix=".npz")   # exit 2 now if it can't be
        res = nmf(load_matrix(args.input), args.components)    # the work
        with outputs:                                          # staged, renamed at the end
            save_model(out, ...)
    """

    def __init__(self, inputs: Mapping[str, Any] | None = None) -> None:
        self._inputs: list[tuple[str, Path]] = []
        for flag, value in (inputs or {}).items():
            values = [value] if isinstance(value, (str, os.PathLike)) else list(value or ())
            self._inputs += [(flag, Path(v)) for v in values if v is not None]
        self._files: dict[str, tuple[str, Path]] = {}      # realpath -> (flag, path)
        self._folders: list[tuple[str, Path, bool]] = []   # (flag, path, any file inside)
        self._staged: dict[str, tuple[Path, Path]] = {}    # realpath -> (tmp, final)
        self._made: list[Path] = []
        self._lock = threading.Lock()

    # -- claims (before the work) ----------------------------------------------------------
    def _not_an_input(self, flag: str, path: Path, within: Any = None) -> None:
        for in_flag, src in self._inputs:
            if _same(path, src) or (src.is_dir() and _inside(path, src)):
                how = "is" if _same(path, src) else "is inside"
                what = f"{flag} {path}" if within is None else \
                    f"{flag} {within} would write {path}, which"
                raise UsageError(
                    f"{what} {how} the input {in_flag} ({src}): matfit never writes over "
                    f"its inputs; choose another {flag}")

    def file(self, flag: str, path: str | os.PathLike, *, suffix: str | None = None,
             within: str | os.PathLike | None = None) -> Path:
        """Claim one output file; raise :class:`UsageError` if it cannot or must not be written.
        ``within``: the folder ``flag`` names, when the file is one the command puts there."""
        self._not_an_input(flag, Path(path), within)  # first: the most important thing to hear
        try:
            p = check_output_path(path, suffix=suffix, what=flag)
        except InvalidParameterError as err:
            raise UsageError(str(err)) from None
        key = os.path.realpath(p)
        if key in self._files and self._files[key][0] != flag:
            other = self._files[key][0]
            raise UsageError(f"{flag} {p} is also the output of {other}: give them different "
                             f"names")
        if key in self._files:
            raise UsageError(f"{flag} {p} would be written twice: give each output its own name")
        self._files[key] = (flag, p)
        return p

    def folder(self, flag: str, path: str | os.PathLike, *, whole: bool = False) -> Path:
        """Claim an output folder (created if missing).

        With ``whole=False`` its files are claimed one by one (:meth:`file`, or at write time
        for files a library names itself); with ``whole=True`` the command owns everything in
        it (a Zarr store, a Parquet model), so no input may lie inside it.
        """
        try:
            p = check_output_path(path, what=flag, folder=True)
        except InvalidParameterError as err:
            raise UsageError(str(err)) from None
        if whole:
            self._not_an_input(flag, p)
            for in_flag, src in self._inputs:
                if _inside(src, p):
                    raise UsageError(f"{flag} {p} holds the input {in_flag} ({src}): its "
                                     f"contents are replaced, so choose another {flag}")
        else:
            for in_flag, src in self._inputs:
                if _same(p, src):
                    raise UsageError(f"{flag} {p} is the input {in_flag}: choose another {flag}")
        self._folders.append((flag, p, whole))
        return p

    # -- the transaction -------------------------------------------------------------------
    def _stage_write(self, final: Path, write: Callable[[IO[bytes]], Any]) -> Path:
        key = os.path.realpath(final)
        if key not in self._files:
            inside = [f for f, p, _ in self._folders if _inside(final, p)
                      and os.path.realpath(final.parent) == os.path.realpath(p)]
            if not inside:
                raise RuntimeError(f"matfit bug: {final} is written but was never claimed as "
                                   f"an output of this command")
            self._not_an_input(inside[0], final)
            self._files[key] = (inside[0], final)
        with self._lock:
            self._made += _make_parents(final.parent)
            old = self._staged.pop(key, None)
        if old is not None:
            with contextlib.suppress(OSError):
                old[0].unlink()
        tmp = _stage(final, write)
        with self._lock:
            self._staged[key] = (tmp, final)
        return final

    def make_folders(self) -> None:
        """Create the claimed folders now (for writers that do not go through this module)."""
        for _, p, _ in self._folders:
            with self._lock:
                self._made += _make_parents(p)

    def __enter__(self) -> Outputs:
        if _ACTIVE.get() is not None:
            raise RuntimeError("matfit bug: Outputs blocks do not nest")
        _ACTIVE.set(self)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        _ACTIVE.set(None)
        try:
            if exc_type is None:
                self._commit()
        finally:  # after a failure (or a failed rename) nothing staged is left behind
            self.discard()

    def _commit(self) -> None:
        # the renames run with SIGINT held back, so Ctrl-C cannot leave half the outputs new
        main = threading.current_thread() is threading.main_thread()
        held = hasattr(signal, "pthread_sigmask") and main
        if held:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            folders = set()
            for key, (tmp, final) in list(self._staged.items()):
                os.replace(tmp, final)
                del self._staged[key]
                folders.add(final.parent)
            for folder in folders:
                _fsync_dir(folder)
        finally:
            if held:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def discard(self) -> None:
        """Remove every staged temporary file, and the folders this transaction created if they
        are empty (after a successful block, only those that received no file)."""
        for tmp, _ in self._staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        self._staged.clear()
        for p in reversed(self._made):
            with contextlib.suppress(OSError):
                p.rmdir()  # only if still empty: never removes anything else
        self._made.clear()


# ------------------------------------------------------------------------------- reading
def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8)


def _describe(head: bytes) -> str:
    if not head:
        return "an empty file"
    if head.startswith(_NPY_MAGIC):
        return "a .npy array"
    if head.startswith(b"RIFF"):
        return "a WAV/RIFF file"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of an unknown kind"
    return "a text file"


def _no_pickle(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if "pickle" in text.lower():
        return "it holds Python objects (pickled data), which matfit never loads"
    return text


def _exists(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    if path.is_dir():
        raise DataError(f"{what} {path} is a folder, not a file")


def read_npz(path: str | os.PathLike, *, what: str = "file") -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` archive, never unpickling; damaged files named as such.

    Raises
    ------
    FileNotFoundError
        No such file.
    DataError
        Not an ``.npz`` archive (saying what it looks like), damaged, or holding objects.
    """
    p = Path(path)
    _exists(p, what)
    head = _head(p)
    if not head.startswith(_NPZ_MAGIC):
        raise DataError(f"{what} {p} is not an .npz archive ({_describe(head)})")
    try:  # our own handle: np.load leaks the one it opens when the archive is damaged
        with open(p, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile,
            NotImplementedError) as err:
        raise DataError(f"{what} {p} is a damaged or unreadable .npz archive: "
                        f"{_no_pickle(err)}") from None


def read_npy(path: str | os.PathLike, *, what: str = "file", mmap: bool = False) -> np.ndarray:
    """One ``.npy`` array (memory-mapped with ``mmap``), never unpickling."""
    p = Path(path)
    _exists(p, what)
    head = _head(p)
    if not head.startswith(_NPY_MAGIC):
        raise DataError(f"{what} {p} is not a .npy array file ({_describe(head)})")
    try:
        return np.load(p, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{what} {p} is a damaged or unreadable .npy file: "
                        f"{_no_pickle(err)}") from None


@contextlib.contextmanager
def naming(flag: str) -> Iterator[None]:
    """Prefix a file error raised inside the block with the argument that named the file."""
    try:
        yield
    except (DataError, FileNotFoundError) as err:
        raise type(err)(f"{flag}: {err}") from None


# -------------------------------------------------------------------------------- models
def save_model(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    kind: str,
    version: int,
) -> Path:
    """Write ``arrays`` and JSON-serialisable ``meta`` to one ``.npz`` model file, atomically.

    A ``path`` without a suffix gets ``.npz`` (as :func:`numpy.savez` does, and the returned
    path says so); a path with another suffix (``model.npy``) or an existing folder is refused.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InvalidParameterError
        ``path`` is a folder, has another suffix, or its folder cannot be written.
    DataError
        ``meta`` is not JSON-serialisable or an array holds Python objects.
    """
    path = Path(path)
    if not path.suffix and not path.is_dir() and not str(path).endswith(("/", os.sep)):
        path = path.with_name(path.name + ".npz")
    record = {"kind": kind, "format_version": version, **meta}
    try:
        text = json.dumps(record, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise DataError(f"model metadata is not JSON-serialisable: {err}") from None
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    for name, arr in arrays.items():
        if arr.dtype.kind == "O":
            raise DataError(f"array {name!r} has dtype object and cannot be saved without pickle")
    return atomic_write(path, lambda fh: np.savez(fh, **arrays, **{_META: np.str_(text)}),
                        suffix=".npz", what="model path")


def load_model(
    path: str | os.PathLike, *, kind: str, versions: tuple[int, ...] = (1,)
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a model written by :func:`save_model`; check its kind and format version.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DataError
        If the file is not a matfit model file (another kind of file, a plain ``.npz``, a
        damaged archive), is a model of another kind, or has an unknown format version.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    if path.is_dir():
        raise DataError(f"{path} is not a matfit model file: it is a folder")
    head = _head(path)
    if not head.startswith(_NPZ_MAGIC):
        raise DataError(f"{path} is not a matfit model file ({_describe(head)}, not an .npz "
                        f"archive)")
    try:
        arrays = read_npz(path, what="file")
    except DataError as err:
        detail = str(err).removeprefix(f"file {path} ")
        raise DataError(f"{path} is not a matfit model file: it {detail}") from None
    if _META not in arrays:
        raise DataError(f"{path} is not a matfit model file: an .npz archive without the "
                        f"{_META} record (arrays {sorted(arrays)[:5]})")
    try:
        meta = json.loads(str(arrays.pop(_META)[()]))
        if not isinstance(meta, dict):
            raise ValueError("not a JSON object")
    except (ValueError, IndexError) as err:
        raise DataError(f"{path} is not a matfit model file: its {_META} record is not JSON "
                        f"({err})") from None
    if meta.get("kind") != kind:
        raise DataError(f"{path} holds a matfit {meta.get('kind')!r} model, not a {kind!r} model")
    if meta.get("format_version") not in versions:
        raise DataError(
            f"{path} has model format version {meta.get('format_version')}, but this matfit reads "
            f"versions {list(versions)}: re-save it with the matfit that wrote it, or upgrade."
        )
    return arrays, meta

