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

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "expression": self.expression,
                "result_shape": None if self.result_shape is None else list(self.result_shape)}


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (the ``--json`` output of ``matfit explain``)."""
        return {
            "error": self.error, "file": self.filename, "line": self.lineno,
            "function": self.function, "source": "".join(self.source_lines).rstrip("\n"),
            "operation": self.operation, "expression": self.expression,
            "operands": [op.to_dict() for op in self.operands],
            "conflict": {"description": self.conflict, "dimensions": self.dimensions},
            "suggestions": [s.to_dict() for s in self.suggestions],
        }

    def format(self) -> str:
        """The explanation as text, for a terminal."""
        out = [f"matfit explain: {self.error}",
               f'  File "{self.filename}", line {self.lineno}, in {self.function}']
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
        if self.suggestions:
            out.append("  checked fixes (each was run on stand-in arrays of these shapes):")
            for s in self.suggestions:
                out.append(f"    - {s.text}")
        else:
            out.append("  no fix could be checked from the evaluated operands")
        return "\n".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


shape_text = _shape_text
