"""Find the user's failing frame, its source, and the AST node of the failing expression.

Implementation notes
--------------------
* The user's frame is the deepest traceback entry whose file is not inside NumPy, SciPy, matfit,
  the standard library or site-packages: ``np.stack`` fails inside NumPy's Python code, ``@``
  inside C, and in both cases the line to explain is the user's call.
* Python >= 3.11 records, for every bytecode instruction, the source span of the expression it
  evaluates (PEP 657); ``code.co_positions()`` indexed by ``tb_lasti // 2`` gives the span of the
  failing instruction, which matches the ``ast`` node of the failing operation exactly. On 3.10,
  or when the file has changed since it ran, every candidate operation on the line is tried.
* ``ast`` column offsets are UTF-8 byte offsets; :class:`Source` converts them to characters.
"""

from __future__ import annotations

import ast
import linecache
import os
import sysconfig
import textwrap
from dataclasses import dataclass
from types import FrameType, TracebackType

import numpy as np

__all__ = ["Source", "failing_node_candidates", "user_traceback"]

Span = tuple[int, int, int, int]  # lineno, end_lineno, col_offset, end_col_offset (bytes)


def _library_dirs() -> tuple[str, ...]:
    import matfit

    dirs = [os.path.dirname(np.__file__), os.path.dirname(matfit.__file__)]
    try:
        import scipy

        dirs.append(os.path.dirname(scipy.__file__))
    except ImportError:  # pragma: no cover
        pass
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.append(path)
    return tuple(os.path.normcase(os.path.realpath(d)) + os.sep for d in dirs)


_LIB_DIRS: tuple[str, ...] | None = None


def is_user_file(filename: str) -> bool:
    """False for files of NumPy/SciPy/matfit, the standard library and site-packages."""
    global _LIB_DIRS
    if filename.startswith("<frozen") or filename.startswith("<__array_function__"):
        return False
    if filename.startswith("<"):
        return True  # <stdin>, <string>, <ipython-input-...>: the user's own code
    if _LIB_DIRS is None:
        _LIB_DIRS = _library_dirs()
    path = os.path.normcase(os.path.realpath(filename))
    if "site-packages" in path.split(os.sep) or "dist-packages" in path.split(os.sep):
        return False
    return not path.startswith(_LIB_DIRS)


def user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """The deepest traceback entry that runs the user's code (None if there is none)."""
    found = None
    while tb is not None:
        if is_user_file(tb.tb_frame.f_code.co_filename):
            found = tb
        tb = tb.tb_next
    return found


def instruction_span(tb: TracebackType) -> Span | None:
    """The source span of the failing instruction (PEP 657), when Python records it."""
    positions = getattr(tb.tb_frame.f_code, "co_positions", None)
    if positions is None or tb.tb_lasti < 0:  # pragma: no cover - Python 3.10
        return None
    for i, pos in enumerate(positions()):
        if i == tb.tb_lasti // 2:
            if None in pos:
                return None
            return pos  # type: ignore[return-value]
    return None  # pragma: no cover


@dataclass
class Source:
    """The text a tree was parsed from, with conversions from AST positions to text offsets."""

    text: str
    tree: ast.Module
    first_line: int  # the file line number of the text's first line
    col_shift: int = 0  # bytes removed from the start of every line (dedented snippets)

    def __post_init__(self) -> None:
        self.lines = self.text.splitlines(keepends=True)
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        """Character offset in ``text`` of an AST (lineno, byte col) in this text's numbering."""
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self._starts[lineno - 1] + len(line.encode()[:col].decode(errors="replace"))

    def segment(self, node: ast.AST) -> str:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return self.text[start:end]

    def span_of(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def file_span(self, span: Span) -> Span | None:
        """A span in file coordinates converted to this text's coordinates."""
        if self.col_shift:
            return None  # a dedented snippet: byte columns no longer line up
        lineno, end_lineno, col, end_col = span
        return (lineno - self.first_line + 1, end_lineno - self.first_line + 1, col, end_col)


def load_source(frame: FrameType, lineno: int) -> Source | None:
    """Parse the whole file of ``frame`` or, failing that, the statement around ``lineno``."""
    filename = frame.f_code.co_filename
    if os.path.isfile(filename):  # edited since it was cached? (cells of IPython are not files)
        linecache.checkcache(filename)
    lines = linecache.getlines(filename, frame.f_globals)
    if not lines:
        return None
    text = "".join(lines)
    try:
        return Source(text, ast.parse(text), 1)
    except (SyntaxError, ValueError):
        pass
    # the file no longer parses (edited since it ran?): grow a snippet around the line
    for before in range(0, 15):
        for after in range(0, 15):
            lo, hi = max(lineno - 1 - before, 0), min(lineno + after, len(lines))
            chunk = "".join(lines[lo:hi])
            dedented = textwrap.dedent(chunk)
            try:
                tree = ast.parse(dedented)
            except (SyntaxError, ValueError):
                continue
            shift = len(chunk.splitlines()[0]) - len(dedented.splitlines()[0]) if chunk else 0
            return Source(dedented, tree, lo + 1, col_shift=shift)
    return None


def _span(node: ast.AST) -> Span:
    return (node.lineno, node.end_lineno, node.col_offset,  # type: ignore[attr-defined]
            node.end_col_offset)  # type: ignore[attr-defined]


def _contains(outer: Span, inner: Span) -> bool:
    return (outer[0], outer[2]) <= (inner[0], inner[2]) and (inner[1], inner[3]) <= (
        outer[1], outer[3])


def is_candidate(node: ast.AST) -> bool:
    """An expression that can raise a NumPy shape error by itself."""
    return isinstance(node, (ast.BinOp, ast.AugAssign, ast.Compare, ast.Call))


def failing_node_candidates(
    source: Source, span: Span | None, lineno: int
) -> list[tuple[ast.AST, bool]]:
    """Candidate failing expressions (node, matches the span exactly), the most likely first.

    With a PEP 657 span, the node whose span equals it comes first, then candidates inside it
    (innermost first). Without one, every candidate of the statement on ``lineno``, in
    evaluation order (innermost first).
    """
    local_span = source.file_span(span) if span is not None else None
    local_line = lineno - source.first_line + 1
    stmt = None
    for node in ast.walk(source.tree):
        if not isinstance(node, ast.stmt):
            continue
        if local_span is not None:
            hit = _contains(_span(node), local_span)
        else:
            hit = node.lineno <= local_line <= node.end_lineno  # type: ignore[operator]
        if hit and (stmt is None or _contains(_span(stmt), _span(node))):
            stmt = node
    if stmt is None and local_span is not None:
        return failing_node_candidates(source, None, lineno)
    if stmt is None:
        return []
    nodes = [n for n in _postorder(stmt) if is_candidate(n) and not isinstance(n, ast.stmt)]
    if isinstance(stmt, ast.AugAssign):
        nodes.append(stmt)
    if local_span is not None:
        exact = [n for n in nodes if _span(n) == local_span]
        inside = [n for n in nodes if _contains(local_span, _span(n)) and n not in exact]
        if exact or inside:
            return [(n, True) for n in exact] + [(n, False) for n in inside]
    on_line = [n for n in nodes if n.lineno <= local_line <= n.end_lineno]  # type: ignore[attr-defined]
    return [(n, False) for n in (on_line or nodes)]


def _postorder(node: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.stmt) and not isinstance(node, ast.Module):
            # only the header of a compound statement runs on its own line
            continue
        out.extend(_postorder(child))
    out.append(node)
    return out


# The lines of the statement around a node and the ~~~/^^^ marks under them: used by the
# explanation of the failing expression (_analyze) and of the special kinds (_kinds).
def _marks(source: Source, node: ast.AST, op_span: tuple[int, int] | None,
           first: int, last: int) -> list[str]:
    start, end = source.span_of(node)
    marks = []
    for lineno in range(first, last + 1):
        lo = source._starts[lineno - 1]
        line = source.lines[lineno - 1].rstrip("\n")
        hi = lo + len(line)
        row = [" "] * len(line)
        for pos in range(max(start, lo), min(end, hi)):
            if not line[pos - lo].isspace():
                row[pos - lo] = "~"
        if op_span:
            for pos in range(max(op_span[0], lo), min(op_span[1], hi)):
                row[pos - lo] = "^"
        marks.append("".join(row).rstrip())
    return marks


def _statement_lines(source: Source, node: ast.AST) -> tuple[int, int]:
    for stmt in ast.walk(source.tree):
        if isinstance(stmt, ast.stmt) and stmt.lineno <= node.lineno <= stmt.end_lineno:  # type: ignore[attr-defined,operator]
            inner = [s for s in ast.walk(stmt) if isinstance(s, ast.stmt)
                     and s.lineno <= node.lineno and node.end_lineno <= s.end_lineno]  # type: ignore[attr-defined,operator]
            best = min(inner, key=lambda s: s.end_lineno - s.lineno)  # type: ignore[operator]
            if isinstance(best, (ast.If, ast.For, ast.While, ast.With, ast.FunctionDef)):
                return node.lineno, node.end_lineno  # type: ignore[attr-defined,return-value]
            return best.lineno, best.end_lineno  # type: ignore[return-value]
    return node.lineno, node.end_lineno  # type: ignore[attr-defined,return-value]
