"""What ``matfit explain`` found, as a dataclass that prints itself as text or as JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Explanation", "Operand", "Suggestion"]


def _shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "?"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(s) for s in shape) + ")"


@dataclass
class Operand:
    """One operand of the failing operation: its source text and, when evaluated, its shape."""

    expression: str
    shape: tuple[int, ...] | None
    dtype: str | None
    type: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"expression": self.expression,
                "shape": None if self.shape is None else list(self.shape),
                "dtype": self.dtype, "type": self.type, "note": self.note}


@dataclass
class Suggestion:
    """A fix that was checked: NumPy ran the operation on stand-ins with the proposed shapes."""

    text: str
    expression: str | None = None
    result_shape: tuple[int, ...] | None = None
    line: int | None = None  # where the fix goes (None: the failing line)
    checked: str = ""  # what it was checked against ("needs (3,)", "np.matrix stand-ins")

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "expression": self.expression,
                "result_shape": None if self.result_shape is None else list(self.result_shape),
                "line": self.line, "checked": self.checked}


@dataclass
class Explanation:
    """The explanation of one NumPy shape error.

    Attributes
    ----------
    error : str
        ``"ValueError: <NumPy's message>"``.
    filename, lineno, function : str, int, str
        Where the failing expression is in the user's code.
    source_lines : list of str
        The lines of the failing statement, as written.
    first_line : int
        The line number of ``source_lines[0]``.
    marks : list of str
        One marker line per source line (``~`` under the expression, ``^`` under the operator).
    operation : str
        "matmul", "dot", "matrix product", "broadcast", "in-place broadcast", "concatenate",
        "stack", "vstack", "hstack", "dstack", "column_stack", "reshape", "call" or "unknown".
    expression : str
        The source text of the failing expression.
    operands : list of Operand
    conflict : str
        Which dimensions disagree, and the rule they break.
    dimensions : list of dict
        The disagreeing dimensions: ``{"operand": text, "axis": int, "size": int}``.
    suggestions : list of Suggestion
        Fixes that were checked to make the operation valid.
    """

    error: str
    filename: str
    lineno: int
    function: str
    source_lines: list[str]
    first_line: int
    marks: list[str]
    operation: str
    expression: str
    operands: list[Operand]
    conflict: str
    dimensions: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    origins: list[Any] = field(default_factory=list)
    root_cause: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    needed: list[str] = field(default_factory=list)
    display_names: dict[str, str] = field(default_factory=dict)  # file -> "Cell In[3]"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the ``--json`` output of ``matfit explain``)."""
        return {
            "error": self.error, "file": self.filename, "line": self.lineno,
            "function": self.function, "source": "".join(self.source_lines).rstrip("\n"),
            "operation": self.operation, "expression": self.expression,
            "operands": [op.to_dict() for op in self.operands],
            "conflict": {"description": self.conflict, "dimensions": self.dimensions},
            "suggestions": [s.to_dict() for s in self.suggestions],
            "origins": [o.to_dict() for o in self.origins],
            "root_cause": self.root_cause,
            "notes": list(self.notes),
            "needed": list(self.needed),
            "cells": dict(self.display_names),
        }

    def format(self) -> str:
        """The explanation as text, for a terminal."""
        cell = self.display_names.get(self.filename)
        where = (f"  {cell}, line {self.lineno}" if cell
                 else f'  File "{self.filename}", line {self.lineno}, in {self.function}')
        out = [f"matfit explain: {self.error}", where]
        width = len(str(self.first_line + len(self.source_lines) - 1))
        for i, line in enumerate(self.source_lines):
            out.append(f"  {self.first_line + i:>{width}} | {line.rstrip()}")
            if i < len(self.marks) and self.marks[i].strip():
                out.append(f"  {'':>{width}} | {self.marks[i].rstrip()}")
        out.append(f"  operation: {self.operation}  `{_one_line(self.expression)}`")
        if self.operands:
            out.append("  operands:")
            wexpr = min(max(len(_one_line(o.expression)) for o in self.operands), 40)
            for o in self.operands:
                shape = _shape_text(o.shape)
                kind = o.dtype or o.type
                if o.type == "matrix":
                    kind = f"np.matrix {o.dtype}"
                note = f"  ({o.note})" if o.note else ""
                text = _one_line(o.expression)
                out.append(f"    {text:<{wexpr}}  shape {shape:<14} {kind}{note}")
        if self.conflict:
            out.append("  why: " + self.conflict)
        for note in self.notes:
            out.append("  note: " + note)
        shown = [o for o in self.origins if o.steps or o.history or o.broadcast]
        if shown:
            out.append("  where the shapes came from:")
            for o in shown:
                out.append(f"    {_one_line(o.operand)} {_shape_text(o.shape)}:")
                rc = self.root_cause or {}
                for st in o.steps:
                    loc = self._where(st.filename, st.line)
                    src = f": `{st.text}`" if st.text else ""
                    mark = "  <- root cause" if (st.filename, st.line) == (
                        rc.get("file"), rc.get("line")) else ""
                    out.append(f"      {loc}{src}  -- {st.what}{mark}")
                if o.size is not None:
                    s = o.size
                    extra = f" = {s['value']}" if s.get("value") is not None and \
                        s["expr"] != str(s["value"]) else ""
                    defined = f" (`{s['defined']['source']}`)" if s.get("defined") else ""
                    out.append(f"      its {s['size']} along axis {s['axis']} is `{s['expr']}`"
                               f"{extra}, {s.get('how', 'computed')}{defined}")
                if o.history:
                    out.append(f"      {o.history}")
                if o.broadcast:
                    out.append(f"      silent broadcast: {o.broadcast}")
        if self.root_cause:
            rc = self.root_cause
            out.append(f"  likely root cause: {self._where(rc['file'], rc['line'])}"
                       + (f": `{rc['source']}`" if rc.get("source") else ""))
            out.append(f"    because {rc['why']}")
        if self.suggestions:
            out.append("  checked fixes (each run on stand-ins of the operands' real types, "
                       "and giving the shape the code needs):")
            for s in self.suggestions:
                where = f"line {s.line}: " if s.line is not None else ""
                out.append(f"    - {where}{s.text}")
        else:
            out.append("  no fix passed the checks (none gives the shape the code needs)")
        if self.needed:
            out.append("  what would be needed:")
        for need in self.needed:
            out.append(f"    - {need}")
        return "\n".join(out)

    def _where(self, filename: str, line: int) -> str:
        if filename in self.display_names:
            return f"{self.display_names[filename]}, line {line}"
        if filename == self.filename:
            return f"line {line}"
        return f'"{filename}", line {line}'



def _one_line(text: str) -> str:
    return " ".join(text.split())


shape_text = _shape_text
