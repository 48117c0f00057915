"""Delimited ratings text: the separator, the header, the columns, and two parsers.

:func:`read_delimited` does the work of :func:`~matfit.recommend.read_ratings`: it decodes the
file (UTF-8, else latin-1 as MovieLens' older files are), sniffs the separator from the first
line, decides whether that line is a header, picks the user, item and rating columns (by name,
by position, or from user/item/rating-like header names), and parses the lines. NumPy's C reader
runs first over the whole file; when anything is off (a short line, a rating that is not a
finite number, an empty ID) the lines are parsed again one by one, so that the error names the
first bad line by its number. IDs become int64 only when every one is a canonical integer.

The module builds no :class:`~matfit.recommend.Ratings` itself: the caller passes ``build`` (so
imports point one way, ``_data`` -> here), and ``_spark`` reuses the separator and number tests
for the files it reads with Spark.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import DataError, InvalidParameterError

__all__ = ["read_delimited"]

_USER_NAMES = ("user", "userid", "user_id", "users", "uid", "customer", "customerid")
_ITEM_NAMES = ("item", "itemid", "item_id", "items", "iid", "movie", "movieid", "movie_id",
               "product", "productid", "product_id", "isbn", "asin")
_RATING_NAMES = ("rating", "ratings", "score", "stars", "value", "rate")


def _pick_columns(names: list[str], columns: Any, *, source: str) -> list[int]:
    """Positions of the user, item and rating columns among ``names``."""
    if columns is not None:
        wanted = columns.split(",") if isinstance(columns, str) else list(columns)
        wanted = [str(c).strip() for c in wanted]
        if len(wanted) != 3:
            raise InvalidParameterError(
                f"columns={columns!r}: name exactly three columns, user,item,rating"
            )
        lower = [n.strip().lower() for n in names]
        out = []
        for w in wanted:
            if w.lower() in lower:
                out.append(lower.index(w.lower()))
            elif re.fullmatch(r"\d+", w) and int(w) < len(names):
                out.append(int(w))
            else:
                raise InvalidParameterError(
                    f"columns={columns!r}: {source} has no column {w!r}; its columns are "
                    f"{names} (or give 0-based positions, e.g. 0,1,2)"
                )
        return out
    lower = [n.strip().lower().replace(" ", "_") for n in names]
    found = []
    for candidates in (_USER_NAMES, _ITEM_NAMES, _RATING_NAMES):
        hit = next((j for j, n in enumerate(lower) if n in candidates), None)
        found.append(hit)
    if all(h is not None for h in found) and len(set(found)) == 3:
        return found  # type: ignore[return-value]
    if len(names) < 3:
        raise DataError(f"{source} has {len(names)} columns; ratings need user, item and rating")
    return [0, 1, 2]


def _sniff_sep(path: Path, first: str) -> str:
    if "::" in first:
        return "::"
    if path.suffix.lower() == ".tsv" or "\t" in first:
        return "\t"
    if path.suffix.lower() == ".csv" or "," in first:
        return ","
    if ";" in first:
        return ";"
    if "|" in first:
        return "|"
    return " "  # whitespace-separated


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

def read_delimited(
    path: str | os.PathLike,
    build: Callable[[np.ndarray, np.ndarray, np.ndarray], Any],
    *,
    sep: str | None = None,
    columns: Sequence[str | int] | str | None = None,
    header: bool | None = None,
) -> Any:
    """Parse a delimited ratings file and return ``build(user IDs, item IDs, ratings)``.

    The options are those of :func:`~matfit.recommend.read_ratings`. A :class:`DataError` that
    ``build`` raises after the line-by-line parse (a repeated pair, say) is prefixed with the
    path, as the errors of the parse itself are.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ratings file at {path}")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # MovieLens' older files are latin-1
    lines = text.splitlines()
    numbers = [n for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbers:
        raise DataError(f"{path} is empty: no ratings to read")
    if sep is not None:
        sep = sep.encode().decode("unicode_escape") if "\\" in sep else sep
    sep = sep or _sniff_sep(path, lines[numbers[0] - 1])
    split = (lambda s: s.split()) if sep == " " else (lambda s: s.split(sep))
    first_fields = [f.strip().strip('"') for f in split(lines[numbers[0] - 1])]
    if header is None:
        # a header names its columns: no field is a number (or, when the rating column is given
        # by position, that field is not a number)
        positions = None
        if columns is not None:
            cols = columns.split(",") if isinstance(columns, str) else list(columns)
            if len(cols) == 3 and all(re.fullmatch(r"\d+", str(c).strip()) for c in cols):
                positions = [int(str(c).strip()) for c in cols]
        if positions is not None and positions[2] < len(first_fields):
            header = not _is_number(first_fields[positions[2]])
        else:
            header = not any(_is_number(f) for f in first_fields)
    if header:
        names = first_fields
        numbers = numbers[1:]
        if not numbers:
            raise DataError(f"{path} has a header line but no ratings")
        picked = _pick_columns(names, columns, source=str(path))
    else:
        if columns is not None:
            cols = columns.split(",") if isinstance(columns, str) else list(columns)
            if not all(re.fullmatch(r"\d+", str(c).strip()) for c in cols) or len(cols) != 3:
                raise InvalidParameterError(
                    f"columns={columns!r}: {path} has no header line, so name the columns by "
                    f"0-based position, e.g. --columns 0,1,2"
                )
            picked = [int(str(c).strip()) for c in cols]
        else:
            picked = [0, 1, 2]
    fast = _read_fast([lines[n - 1] for n in numbers], sep, picked)
    if fast is not None:
        users_arr, items_arr, values = fast
        return build(_ids_from_text(users_arr), _ids_from_text(items_arr), values)
    # the slow path: line by line, so that a bad line is reported with its number
    need = max(picked) + 1
    rows = [split(lines[n - 1]) for n in numbers]
    short = [k for k, r in enumerate(rows) if len(r) < need]
    if short:
        k = short[0]
        shown = lines[numbers[k] - 1][:80]
        raise DataError(
            f"{path}:{numbers[k]}: expected at least {need} fields separated by {sep!r}, found "
            f"{len(rows[k])}: {shown!r} ({len(short)} malformed line(s); set --sep if the "
            f"separator is wrong)"
        )
    ju, ji, jr = picked
    users = [r[ju].strip().strip('"') for r in rows]
    items = [r[ji].strip().strip('"') for r in rows]
    rating_text = [r[jr].strip().strip('"') for r in rows]
    try:
        values = np.array(rating_text, dtype=np.float64)
    except ValueError:
        values = None
    if values is None:
        k = next(k for k, t in enumerate(rating_text) if not _is_number(t))
        raise DataError(f"{path}:{numbers[k]}: rating {rating_text[k]!r} is not a number")
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path}:{numbers[k]}: rating {rating_text[k]!r} is not a finite number "
            f"({int(bad.sum())} such line(s))"
        )
    for name, ids in (("user", users), ("item", items)):
        empty = next((k for k, t in enumerate(ids) if not t), None)
        if empty is not None:
            raise DataError(f"{path}:{numbers[empty]}: the {name} ID is empty")
    try:
        return build(_ids_from_text(users), _ids_from_text(items), values)
    except DataError as err:
        raise DataError(f"{path}: {err}") from None



def _read_fast(lines: list[str], sep: str, picked: list[int]) -> tuple[np.ndarray, ...] | None:
    """NumPy's C reader over well-formed lines; None when anything is off (then go slow)."""
    if len(sep) > 1:
        if "\x1f" in "".join(lines[:1000]):
            return None
        lines = [line.replace(sep, "\x1f") for line in lines]
        sep = "\x1f"
    try:
        table = np.loadtxt(lines, delimiter=None if sep == " " else sep, usecols=picked,
                           dtype=str, comments=None, ndmin=2, encoding=None)
        table = np.char.strip(np.char.strip(table), '"')
        values = table[:, 2].astype(np.float64)
    except (ValueError, TypeError):
        return None
    if not np.all(np.isfinite(values)) or np.any(table[:, :2] == ""):
        return None
    return table[:, 0], table[:, 1], values


def _ids_from_text(ids: Any) -> np.ndarray:
    """int64 when every ID is a canonical integer ("7", not "007" or "7.0"), else strings."""
    arr = np.array(ids)
    try:
        as_int = arr.astype(np.int64)
    except (ValueError, OverflowError):
        return arr
    if np.array_equal(as_int.astype(str), arr):
        return as_int
    return arr
