"""Shape checks by named dimensions, and the conversion of user arrays at a public boundary.

Every public function of matfit declares what its arrays must look like with a string of
dimension names, and :func:`check` binds the names across all arguments at once:

>>> import numpy as np
>>> from matfit.shapes import check
>>> W, H = np.ones((513, 60)), np.ones((60, 129))
>>> check(W=(W, "features components"), H=(H, "components samples"))
{'features': 513, 'components': 60, 'samples': 129}

When two arguments disagree about a dimension, the :class:`ShapeError` names the dimension, each
argument that carries it, the size each implies, and the likely fix. For W (513, 60) and
H (131, 129):

>>> check(W=(W, "features components"), H=(np.ones((131, 129)), "components samples"))
Traceback (most recent call last):
...
matfit._errors.ShapeError: dimension 'components' disagrees: W has 60 columns but H has 131 rows; \
shapes W (513, 60), H (131, 129). W is 'features components' (components=60) and H is \
'components samples' (components=131). Likely fix: pass H with 60 rows, or W with 131 columns.

Dimension strings
-----------------
Names separated by spaces, one per axis: ``"features samples"``. A name binds to a size the first
time it is seen; every later axis with that name must have the same size. An integer (``"3"``)
fixes a size, ``_`` accepts any size without binding it, and a leading ``...`` accepts any number
of leading axes (``"... features"``). ``known={"components": 40}`` binds a name before the arrays
are seen (for instance from a parameter); pass ``known={"components": (40, "n_components")}`` to
name the parameter in the message.

:func:`as_float_array` converts one argument: integers and booleans become float64, float32 stays
float32, non-numeric dtypes raise :class:`DTypeError`, NaN/inf and (optionally) negative values
raise :class:`DataError` with their count and first position, and scipy.sparse matrices are
accepted only where the caller says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._errors import DataError, DTypeError, ShapeError

__all__ = ["DTypeError", "DataError", "ShapeError", "as_float_array", "check", "parse_dims"]


def parse_dims(dims: str) -> tuple[bool, list[str]]:
    """Split a dimension string into (has leading ``...``, list of axis names).

    >>> parse_dims("... features samples")
    (True, ['features', 'samples'])
    """
    parts = dims.split()
    ellipsis = bool(parts) and parts[0] == "..."
    if ellipsis:
        parts = parts[1:]
    if "..." in parts:
        raise ValueError(f"'...' may only lead a dimension string, got {dims!r}")
    return ellipsis, parts


def _axis_word(axis: int, ndim: int, size: int) -> str:
    """'60 columns', '131 rows' or '7 along axis 2'."""
    if ndim == 2 and axis == 0:
        return f"{size} rows"
    if ndim == 2 and axis == 1:
        return f"{size} columns"
    if ndim == 1:
        return f"{size} entries"
    return f"size {size} along axis {axis}"


def _axis_noun(axis: int, ndim: int) -> str:
    if ndim == 2:
        return "rows" if axis == 0 else "columns"
    if ndim == 1:
        return "entries"
    return f"entries along axis {axis}"


def _shape_of(a: Any) -> tuple[int, ...]:
    shape = getattr(a, "shape", None)
    if shape is None:
        shape = np.shape(a)
    return tuple(int(s) for s in shape)


def _ndim_error(
    name: str, dims: str, shape: tuple[int, ...], want: int, ellipsis: bool
) -> ShapeError:
    have = len(shape)
    need = f"at least {want}" if ellipsis else f"{want}"
    msg = f"{name} must be {need}-D ({dims!r}) but has shape {shape}, which is {have}-D."
    if not ellipsis and want == 2 and have == 1:
        n = shape[0]
        msg += (
            f" For a single column of {n} pass {name}.reshape(-1, 1); for a single row pass "
            f"{name}.reshape(1, -1)."
        )
    elif not ellipsis and want == 1 and have == 2 and 1 in shape:
        msg += f" It is a row or column vector: pass {name}.ravel()."
    elif not ellipsis and want == 1 and have == 0:
        msg += f" Pass a 1-D array, e.g. np.atleast_1d({name})."
    elif not ellipsis and want == 2 and have == 0:
        msg += f" Pass a 2-D array, e.g. np.atleast_2d({name})."
    elif have > want and not ellipsis:
        squeezed = tuple(s for s in shape if s != 1)
        if len(squeezed) == want:
            msg += f" Drop the axes of length 1 with {name}.squeeze()."
    return ShapeError(msg)


def check(
    *, known: Mapping[str, int | tuple[int, str]] | None = None, **specs: Any
) -> dict[str, int]:
    """Check arrays against named dimension strings and return the bound sizes.

    Parameters
    ----------
    known : mapping, optional
        Sizes bound before any array is seen: ``{"components": 40}`` or, to name the parameter
        the size came from in messages, ``{"components": (40, "n_components")}``.
    **specs : (array, str)
        One keyword per argument: the array (anything with ``.shape``; None skips it) and its
        dimension string, e.g. ``X=(X, "features samples")``.

    Returns
    -------
    dict
        Name -> size, in the order the names were first bound.

    Raises
    ------
    ShapeError
        If an array has the wrong number of dimensions, a fixed size is wrong, or a name is
        bound to two different sizes. The message names the dimension, every argument that
        carries it, the sizes they imply and the likely fix.
    """
    return _check(specs, known, hints=True)


def _check(specs: Mapping[str, Any], known: Mapping | None, hints: bool) -> dict[str, int]:
    sizes: dict[str, int] = {}
    # name -> list of (argument, axis, ndim, shape, dims string)
    carriers: dict[str, list[tuple[str, int, int, tuple[int, ...], str]]] = {}
    param_src: dict[str, str] = {}
    for dim, value in (known or {}).items():
        if isinstance(value, tuple):
            size, source = value
            param_src[dim] = str(source)
        else:
            size = value
        sizes[dim] = int(size)

    for arg, spec in specs.items():
        if spec is None:
            continue
        arr, dims = spec
        if arr is None:
            continue
        shape = _shape_of(arr)
        ellipsis, names = parse_dims(dims)
        ndim = len(shape)
        if (ellipsis and ndim < len(names)) or (not ellipsis and ndim != len(names)):
            raise _ndim_error(arg, dims, shape, len(names), ellipsis)
        offset = ndim - len(names)
        for i, dim in enumerate(names):
            axis = offset + i
            size = shape[axis]
            if dim == "_":
                continue
            if dim.isdigit():
                if size != int(dim):
                    raise ShapeError(
                        f"{arg} must have {_axis_word(axis, ndim, int(dim))} ({dims!r}) but has "
                        f"{size}; {arg}.shape is {shape}."
                    )
                continue
            if dim in sizes and sizes[dim] != size:
                raise _mismatch(dim, sizes[dim], carriers.get(dim, []), param_src.get(dim),
                                (arg, axis, ndim, shape, dims), specs if hints else None, known)
            sizes.setdefault(dim, size)
            carriers.setdefault(dim, []).append((arg, axis, ndim, shape, dims))
    return sizes


def _mismatch(dim, bound, earlier, param, this, specs, known) -> ShapeError:
    arg, axis, ndim, shape, dims = this
    size = shape[axis]
    if earlier:
        a0, ax0, nd0, sh0, dims0 = earlier[0]
        first = f"{a0} has {_axis_word(ax0, nd0, bound)}"
        shapes = f"shapes {a0} {sh0}, {arg} {shape}"
        implies = (
            f"{a0} is {dims0!r} ({dim}={bound}) and {arg} is {dims!r} ({dim}={size})"
        )
        fix = (
            f"pass {arg} with {_axis_word(axis, ndim, bound)}, or {a0} with "
            f"{_axis_word(ax0, nd0, size)}"
        )
    else:
        src = param or "the given sizes"
        first = f"{src} sets {dim}={bound}"
        shapes = f"shape {arg} {shape}"
        implies = f"{arg} is {dims!r} ({dim}={size})"
        fix = f"pass {arg} with {_axis_word(axis, ndim, bound)}"
        if param:
            fix += f", or {param}={size}"
    msg = (
        f"dimension {dim!r} disagrees: {first} but {arg} has {_axis_word(axis, ndim, size)}; "
        f"{shapes}. {implies}. Likely fix: {fix}."
    )
    hint = _transpose_hint(arg, shape, dims, specs, known) if specs is not None else ""
    if hint:
        msg += " " + hint
    return ShapeError(msg)


def _transpose_hint(arg: str, shape: tuple[int, ...], dims: str, specs, known) -> str:
    """Say so when the transposed array would satisfy every other argument."""
    if len(shape) != 2 or shape[0] == shape[1]:
        return ""
    others = {k: v for k, v in specs.items() if k != arg and v is not None and v[0] is not None}
    try:
        _check({**others, arg: (np.empty(shape[::-1], dtype=np.int8), dims)}, known, hints=False)
    except ShapeError:
        return ""
    return f"{arg} looks transposed: {arg}.T has shape {shape[::-1]}, which fits."


_FLOATS = (np.float32, np.float64)


def _from_pandas(x: Any) -> Any:
    """A pandas DataFrame or Series with nullable numeric columns (``Int64``, ``Float32``,
    ``boolean``), as a float array with NaN at ``pd.NA``; anything else unchanged.

    ``np.asarray`` would give an object array holding ``pd.NA``, which no float conversion
    takes; scikit-learn's ``check_array`` makes the same conversion. float32 stays float32 when
    every column is float32. (Duck-typed: pandas is not imported.)
    """
    dtypes = getattr(x, "dtypes", None)
    if dtypes is None or not hasattr(x, "to_numpy") or isinstance(x, np.ndarray):
        return x
    dtypes = [dtypes] if not hasattr(dtypes, "__iter__") or isinstance(dtypes, np.dtype) \
        else list(dtypes)
    if not dtypes or all(isinstance(d, np.dtype) for d in dtypes):
        return x
    if not all(getattr(d, "kind", "O") in "biuf" for d in dtypes):
        return x  # strings, categories, dates: the dtype error names them
    numpy_dtypes = [getattr(d, "numpy_dtype", d) for d in dtypes]
    target = np.float32 if all(np.dtype(d) == np.float32 for d in numpy_dtypes) else np.float64
    return x.to_numpy(dtype=target, na_value=np.nan)


def as_float_array(
    x: Any,
    name: str,
    *,
    dims: str | None = None,
    sparse: bool | tuple[str, ...] = False,
    nonnegative: bool = False,
    allow_nonfinite: bool = False,
    dtype: Any = None,
    copy: bool = False,
    purpose: str = "",
) -> Any:
    """Convert one argument to a float32/float64 array (or sparse matrix) and check its values.

    Parameters
    ----------
    x : array_like or scipy.sparse matrix
    name : str
        The argument's name, used in every message.
    dims : str, optional
        A dimension string; only the number of dimensions is checked here (bind names across
        arguments with :func:`check`).
    sparse : bool or tuple of str
        False rejects scipy.sparse input; True accepts any format; a tuple such as
        ``("csr", "csc")`` accepts those formats and converts others to the first one.
    nonnegative : bool
        Raise :class:`DataError` if any entry is negative.
    allow_nonfinite : bool
        Accept NaN and inf (off by default).
    dtype : {None, np.float32, np.float64}
        Force a dtype; None keeps float32/float64 and turns everything else into float64.
    copy : bool
        Always return a new array.
    purpose : str
        Appended to value errors to say why the constraint exists (e.g. "NMF needs X >= 0").

    Returns
    -------
    ndarray or scipy.sparse matrix
        C-contiguous float array, or a sparse matrix with float data and sorted indices.
    """
    if sp.issparse(x):
        if sparse is False:
            raise DTypeError(
                f"{name} is a scipy.sparse {x.format} matrix, which this function does not take: "
                f"pass {name}.toarray() if it fits in memory."
            )
        formats = sparse if isinstance(sparse, tuple) else None
        fresh = False
        if formats and x.format not in formats:
            x, fresh = x.asformat(formats[0]), True
        target = _float_dtype(x.dtype, name, dtype)
        if x.dtype != target:
            x, fresh = x.astype(target), True
        if copy and not fresh:
            x, fresh = x.copy(), True
        if x.format in ("csr", "csc") and not x.has_canonical_format:
            # sum duplicates and sort indices on our own copy: never mutate the caller's matrix
            x = x if fresh else x.copy()
            x.sum_duplicates()
        if dims is not None:
            check(**{name: (x, dims)})
        _check_values(x.data, name, nonnegative, allow_nonfinite, purpose, sparse_matrix=x)
        return x

    if isinstance(x, np.matrix):
        x = np.asarray(x)
    x = _from_pandas(x)
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    target = _float_dtype(arr.dtype, name, dtype)
    # np.asarray(order="C") keeps a 0-d input 0-d (np.ascontiguousarray would make it 1-d)
    arr = np.array(arr, dtype=target, order="C", copy=True) if copy else np.asarray(
        arr, dtype=target, order="C"
    )
    if dims is not None:
        check(**{name: (arr, dims)})
    _check_values(arr, name, nonnegative, allow_nonfinite, purpose)
    return arr


def _float_dtype(dt: np.dtype, name: str, forced: Any) -> np.dtype:
    if dt.kind not in "biuf":
        what = {"c": "complex", "U": "string", "S": "bytes", "O": "object", "M": "datetime",
                "m": "timedelta", "V": "structured"}.get(dt.kind, str(dt))
        hint = " Take the magnitude with np.abs() first." if dt.kind == "c" else (
            " Convert it with np.asarray(..., dtype=float) after parsing the values."
        )
        raise DTypeError(f"{name} has dtype {dt} ({what}), but numbers are needed.{hint}")
    if forced is not None:
        return np.dtype(forced)
    if dt in _FLOATS:
        return dt
    if dt == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    flat = int(np.flatnonzero(mask.ravel())[0])
    return tuple(int(i) for i in np.unravel_index(flat, mask.shape))


def _position(name: str, arr: np.ndarray, mask: np.ndarray, sparse_matrix) -> str:
    if sparse_matrix is not None:
        coo = sparse_matrix.tocoo()
        k = int(np.flatnonzero(mask)[0])
        return f"{name}[{coo.row[k]}, {coo.col[k]}] = {float(arr[k])!r}"
    idx = _first_index(mask)
    return f"{name}[{', '.join(map(str, idx))}] = {float(arr[idx])!r}"


def _check_values(arr, name, nonnegative, allow_nonfinite, purpose, sparse_matrix=None) -> None:
    if arr.size == 0:
        return
    if not allow_nonfinite:
        # np.isfinite on the whole array is one pass; only build the mask on failure.
        if not np.isfinite(arr).all():
            bad = ~np.isfinite(arr)
            n = int(bad.sum())
            raise DataError(
                f"{name} has {n} non-finite entr{'y' if n == 1 else 'ies'} (NaN or inf), the "
                f"first at {_position(name, arr, bad, sparse_matrix)}. Remove or impute them "
                f"(e.g. np.nan_to_num) before fitting."
            )
    if nonnegative and arr.min() < 0:
        bad = arr < 0
        n = int(bad.sum())
        why = f" {purpose}" if purpose else ""
        raise DataError(
            f"{name} has {n} negative entr{'y' if n == 1 else 'ies'}, the first at "
            f"{_position(name, arr, bad, sparse_matrix)}; it must be non-negative.{why} Clip with "
            f"np.maximum({name}, 0) or shift it if the negatives are meaningful."
        )
