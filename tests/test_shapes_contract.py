"""The documented contract of matfit.shapes, message by message: every error text is written out
here in full from the format the module documents (argument, dimension string, shape, the fix),
so a changed word, size, axis or branch shows; and the conversions of ``as_float_array`` are
checked against NumPy's own dtype and memory-layout rules."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from matfit import DataError, DTypeError, ShapeError
from matfit.shapes import _axis_noun, as_float_array, check, parse_dims


def exactly(text: str) -> str:
    return "^" + re.escape(text) + "$"


# ---------------------------------------------------------------- dimension strings


def test_parse_dims():
    assert parse_dims("") == (False, [])
    assert parse_dims("...") == (True, [])
    assert parse_dims("  a   b ") == (False, ["a", "b"])
    assert parse_dims("... a") == (True, ["a"])
    with pytest.raises(ValueError, match=exactly(
            "'...' may only lead a dimension string, got 'a ... b'")):
        parse_dims("a ... b")
    with pytest.raises(ValueError, match="may only lead"):
        parse_dims("... a ...")


@pytest.mark.parametrize(("shape", "dims", "message"), [
    ((7,), "samples features",
     "x must be 2-D ('samples features') but has shape (7,), which is 1-D. For a single column "
     "of 7 pass x.reshape(-1, 1); for a single row pass x.reshape(1, -1)."),
    ((7, 1), "samples",
     "x must be 1-D ('samples') but has shape (7, 1), which is 2-D. It is a row or column "
     "vector: pass x.ravel()."),
    ((1, 7), "samples",
     "x must be 1-D ('samples') but has shape (1, 7), which is 2-D. It is a row or column "
     "vector: pass x.ravel()."),
    ((3, 4), "samples", "x must be 1-D ('samples') but has shape (3, 4), which is 2-D."),
    ((), "samples",
     "x must be 1-D ('samples') but has shape (), which is 0-D. Pass a 1-D array, e.g. "
     "np.atleast_1d(x)."),
    ((), "a b",
     "x must be 2-D ('a b') but has shape (), which is 0-D. Pass a 2-D array, e.g. "
     "np.atleast_2d(x)."),
    ((5, 1, 4), "a b",
     "x must be 2-D ('a b') but has shape (5, 1, 4), which is 3-D. Drop the axes of length 1 "
     "with x.squeeze()."),
    ((1, 5, 1), "a b", "x must be 2-D ('a b') but has shape (1, 5, 1), which is 3-D."),
    ((1, 1, 6), "a", "x must be 1-D ('a') but has shape (1, 1, 6), which is 3-D. Drop the axes "
     "of length 1 with x.squeeze()."),
    ((4, 5), "a b c", "x must be 3-D ('a b c') but has shape (4, 5), which is 2-D."),
    ((), "a b c", "x must be 3-D ('a b c') but has shape (), which is 0-D."),
    ((3,), "... a b", "x must be at least 2-D ('... a b') but has shape (3,), which is 1-D."),
    ((), "... a", "x must be at least 1-D ('... a') but has shape (), which is 0-D."),
    ((4,), "", "x must be 0-D ('') but has shape (4,), which is 1-D."),
])
def test_wrong_number_of_dimensions(shape, dims, message):
    with pytest.raises(ShapeError, match=exactly(message)):
        check(x=(np.ones(shape), dims))


def test_leading_ellipsis_takes_zero_or_more_axes_and_binds_the_trailing_ones():
    assert check(a=(np.ones(3), "... n")) == {"n": 3}
    assert check(a=(np.ones((2, 3)), "... m n")) == {"m": 2, "n": 3}
    assert check(a=(np.ones((2, 3, 4, 5)), "... m n")) == {"m": 4, "n": 5}
    assert check(a=(np.ones((2, 3)), "...")) == {}
    assert check(a=(np.ones(()), "")) == {}


@pytest.mark.parametrize(("shape", "dims", "message"), [
    ((4, 2), "features 3", "a must have 3 columns ('features 3') but has 2; a.shape is (4, 2)."),
    ((4, 2), "3 _", "a must have 3 rows ('3 _') but has 4; a.shape is (4, 2)."),
    ((5,), "3", "a must have 3 entries ('3') but has 5; a.shape is (5,)."),
    ((2, 3, 4), "_ _ 5",
     "a must have size 5 along axis 2 ('_ _ 5') but has 4; a.shape is (2, 3, 4)."),
    ((2, 3, 4), "_ 7 _",
     "a must have size 7 along axis 1 ('_ 7 _') but has 3; a.shape is (2, 3, 4)."),
    ((6, 2, 4), "... 5", "a must have size 5 along axis 2 ('... 5') but has 4; "
     "a.shape is (6, 2, 4)."),
    ((6, 4), "... 5", "a must have 5 columns ('... 5') but has 4; a.shape is (6, 4)."),
])
def test_fixed_sizes(shape, dims, message):
    with pytest.raises(ShapeError, match=exactly(message)):
        check(a=(np.ones(shape), dims))


def test_fixed_sizes_and_wildcards_bind_nothing():
    assert check(a=(np.ones((4, 9)), "_ _"), b=(np.ones((2, 3)), "_ _")) == {}
    assert check(a=(np.ones((3, 4)), "3 n"), b=(np.ones((5, 4)), "5 n")) == {"n": 4}
    assert check(a=(np.ones((2, 3, 4)), "_ 3 k")) == {"k": 4}


def test_sizes_come_back_in_binding_order_known_first_as_plain_ints():
    class Shaped:
        shape = (np.int64(3), np.int64(2))

    got = check(known={"b": np.int64(2)}, a=(Shaped(), "a b"), c=(np.ones(5), "c"))
    assert list(got.items()) == [("b", 2), ("a", 3), ("c", 5)]
    assert all(type(v) is int for v in got.values())
    json.dumps(got)
    assert check(known={"k": (4, "n_components")}) == {"k": 4}


def test_array_likes_and_skipped_arguments():
    assert check(a=([[1, 2, 3]], "r c")) == {"r": 1, "c": 3}
    assert check(a=None, b=(None, "x y"), c=(np.ones(2), "n")) == {"n": 2}


# ---------------------------------------------------------------- disagreeing dimensions


@pytest.mark.parametrize(("specs", "message"), [
    (dict(W=(np.ones((513, 60)), "features components"),
          H=(np.ones((131, 129)), "components samples")),
     "dimension 'components' disagrees: W has 60 columns but H has 131 rows; shapes W (513, 60), "
     "H (131, 129). W is 'features components' (components=60) and H is 'components samples' "
     "(components=131). Likely fix: pass H with 60 rows, or W with 131 columns."),
    (dict(w=(np.ones(4), "n"), X=(np.ones((3, 5)), "m n")),
     "dimension 'n' disagrees: w has 4 entries but X has 5 columns; shapes w (4,), X (3, 5). "
     "w is 'n' (n=4) and X is 'm n' (n=5). Likely fix: pass X with 4 columns, or w with 5 "
     "entries."),
    (dict(T=(np.ones((2, 3, 4)), "a b c"), v=(np.ones(5), "b")),
     "dimension 'b' disagrees: T has size 3 along axis 1 but v has 5 entries; shapes T "
     "(2, 3, 4), v (5,). T is 'a b c' (b=3) and v is 'b' (b=5). Likely fix: pass v with 3 "
     "entries, or T with size 5 along axis 1."),
    # the first carrier is named, also when a later argument agreed with it
    (dict(a=(np.ones(3), "n"), b=(np.ones(3), "n"), c=(np.ones((2, 2)), "n _")),
     "dimension 'n' disagrees: a has 3 entries but c has 2 rows; shapes a (3,), c (2, 2). a is "
     "'n' (n=3) and c is 'n _' (n=2). Likely fix: pass c with 3 rows, or a with 2 entries."),
    # a name repeated within one argument
    (dict(S=(np.ones((3, 4)), "n n")),
     "dimension 'n' disagrees: S has 3 rows but S has 4 columns; shapes S (3, 4), S (3, 4). S is "
     "'n n' (n=3) and S is 'n n' (n=4). Likely fix: pass S with 3 columns, or S with 4 rows."),
])
def test_disagreement_messages(specs, message):
    with pytest.raises(ShapeError, match=exactly(message)):
        check(**specs)


def test_disagreement_with_a_known_size():
    W = np.ones((10, 3))
    with pytest.raises(ShapeError, match=exactly(
            "dimension 'components' disagrees: n_components sets components=4 but W has 3 "
            "columns; shape W (10, 3). W is 'features components' (components=3). Likely fix: "
            "pass W with 4 columns, or n_components=3.")):
        check(known={"components": (4, "n_components")}, W=(W, "features components"))
    with pytest.raises(ShapeError, match=exactly(
            "dimension 'components' disagrees: the given sizes sets components=4 but W has 3 "
            "columns; shape W (10, 3). W is 'features components' (components=3). Likely fix: "
            "pass W with 4 columns.")):
        check(known={"components": 4}, W=(W, "features components"))


TRANSPOSED = ("dimension 'components' disagrees: W has 3 columns but H has 5 rows; shapes W "
              "(10, 3), H (5, 3). W is 'features components' (components=3) and H is "
              "'components samples' (components=5). Likely fix: pass H with 3 rows, or W with 5 "
              "columns.")


def test_transpose_hint_only_when_the_transpose_fits_everything():
    X, W, H = np.ones((10, 5)), np.ones((10, 3)), np.ones((5, 3))
    with pytest.raises(ShapeError, match=exactly(
            TRANSPOSED + " H looks transposed: H.T has shape (3, 5), which fits.")):
        check(X=(X, "features samples"), W=(W, "features components"),
              H=(H, "components samples"), skipped=None, absent=(None, "a b"))
    # H.T would fit W but not X (samples=6)
    with pytest.raises(ShapeError, match=exactly(TRANSPOSED)):
        check(X=(np.ones((10, 6)), "features samples"), W=(W, "features components"),
              H=(H, "components samples"))
    # ... nor a size bound beforehand
    with pytest.raises(ShapeError, match=exactly(TRANSPOSED)):
        check(known={"samples": 7}, W=(W, "features components"), H=(H, "components samples"))
    with pytest.raises(ShapeError, match=exactly(
            TRANSPOSED + " H looks transposed: H.T has shape (3, 5), which fits.")):
        check(known={"samples": 5}, W=(W, "features components"), H=(H, "components samples"))
    # a square array cannot look transposed
    with pytest.raises(ShapeError, match=r"Likely fix: pass H with 3 rows, or W with 4 "
                                         r"columns\.$"):
        check(W=(W, "features components"), H=(np.ones((4, 4)), "components samples"))
    # nor can a 3-D one (its reversed shape would fit)
    with pytest.raises(ShapeError, match=r"or v with 2 entries\.$"):
        check(v=(np.ones(4), "a"), T=(np.ones((2, 3, 4)), "a b c"))


def test_axis_nouns():
    assert [_axis_noun(0, 2), _axis_noun(1, 2), _axis_noun(0, 1), _axis_noun(2, 3)] == [
        "rows", "columns", "entries", "entries along axis 2"]


# ---------------------------------------------------------------- as_float_array, dense


@pytest.mark.parametrize(("dtype", "expected"), [
    (np.float64, np.float64), (np.float32, np.float32), (np.float16, np.float32),
    (np.int8, np.float64), (np.int64, np.float64), (np.uint16, np.float64),
    (np.bool_, np.float64),
])
def test_dtype_rules(dtype, expected):
    out = as_float_array(np.ones((2, 3), dtype), "x")
    assert out.dtype == expected
    assert as_float_array(np.ones(3, dtype), "x", dtype=np.float32).dtype == np.float32
    assert as_float_array(np.ones(3, dtype), "x", dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(("value", "message"), [
    (np.array(["a"]), "x has dtype <U1 (string), but numbers are needed. Convert it with "
                      "np.asarray(..., dtype=float) after parsing the values."),
    (np.array([b"a"]), "x has dtype |S1 (bytes), but numbers are needed. Convert it with "
                       "np.asarray(..., dtype=float) after parsing the values."),
    (np.array([1, None]), "x has dtype object (object), but numbers are needed. Convert it with "
                          "np.asarray(..., dtype=float) after parsing the values."),
    (np.ones(2, complex), "x has dtype complex128 (complex), but numbers are needed. Take the "
                          "magnitude with np.abs() first."),
    (np.array(["2020-01-01"], "datetime64[D]"),
     "x has dtype datetime64[D] (datetime), but numbers are needed. Convert it with "
     "np.asarray(..., dtype=float) after parsing the values."),
    (np.array([1], "timedelta64[s]"),
     "x has dtype timedelta64[s] (timedelta), but numbers are needed. Convert it with "
     "np.asarray(..., dtype=float) after parsing the values."),
    (np.zeros(1, [("a", "f8")]),
     "x has dtype [('a', '<f8')] (structured), but numbers are needed. Convert it with "
     "np.asarray(..., dtype=float) after parsing the values."),
])
def test_non_numeric_dtypes(value, message):
    with pytest.raises(DTypeError, match=exactly(message)):
        as_float_array(value, "x")
    with pytest.raises(DTypeError, match=exactly(message)):   # a forced dtype does not convert
        as_float_array(value, "x", dtype=np.float64)


def test_memory_layout_copies_and_identity():
    x = np.arange(6.0).reshape(2, 3)
    assert as_float_array(x, "x") is x                      # nothing to do: no copy
    c = as_float_array(x, "x", copy=True)
    assert c is not x and not np.shares_memory(c, x)
    np.testing.assert_array_equal(c, x)
    f = np.asfortranarray(x)
    out = as_float_array(f, "x")
    assert out.flags.c_contiguous and np.array_equal(out, x)
    out = as_float_array(f, "x", copy=True)
    assert out.flags.c_contiguous and not np.shares_memory(out, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        matrix = np.matrix([[1, 2], [3, 4]])
    m = as_float_array(matrix, "m")
    assert type(m) is np.ndarray and m.dtype == np.float64 and m.shape == (2, 2)
    lst = as_float_array([[1, 2], [3, 4]], "l", dims="r c")
    assert type(lst) is np.ndarray and lst.dtype == np.float64
    z = as_float_array(3, "z")
    assert z.shape == () and z.dtype == np.float64
    z = as_float_array(np.float32(3), "z", copy=True)
    assert z.shape == () and z.dtype == np.float32
    with pytest.raises(ShapeError, match=exactly(
            "x must be 2-D ('a b') but has shape (3,), which is 1-D. For a single column of 3 "
            "pass x.reshape(-1, 1); for a single row pass x.reshape(1, -1).")):
        as_float_array(np.ones(3), "x", dims="a b")


@pytest.mark.parametrize(("shape", "bad", "text"), [
    ((3, 4), {(1, 2): np.nan}, "X has 1 non-finite entry (NaN or inf), the first at X[1, 2] = "
                               "nan. Remove or impute them (e.g. np.nan_to_num) before fitting."),
    ((3, 4), {(2, 0): np.inf, (1, 3): -np.inf},
     "X has 2 non-finite entries (NaN or inf), the first at X[1, 3] = -inf. Remove or impute "
     "them (e.g. np.nan_to_num) before fitting."),
    ((5,), {(4,): np.inf}, "X has 1 non-finite entry (NaN or inf), the first at X[4] = inf. "
                           "Remove or impute them (e.g. np.nan_to_num) before fitting."),
    ((2, 2, 3), {(1, 0, 2): np.nan, (1, 1, 0): np.nan, (1, 1, 1): np.nan},
     "X has 3 non-finite entries (NaN or inf), the first at X[1, 0, 2] = nan. Remove or impute "
     "them (e.g. np.nan_to_num) before fitting."),
])
def test_non_finite_values(shape, bad, text):
    X = np.ones(shape)
    for idx, v in bad.items():
        X[idx] = v
    with pytest.raises(DataError, match=exactly(text)):
        as_float_array(X, "X")
    with pytest.raises(DataError, match=exactly(text)):
        as_float_array(X.astype(np.float32), "X")
    assert np.array_equal(as_float_array(X, "X", allow_nonfinite=True), X, equal_nan=True)
    # nonfinite entries are reported before negative ones
    X.flat[0] = -1.0
    with pytest.raises(DataError, match="non-finite"):
        as_float_array(X, "X", nonnegative=True)


def test_negative_values():
    X = np.ones((3, 4))
    X[0, 3] = -2
    with pytest.raises(DataError, match=exactly(
            "X has 1 negative entry, the first at X[0, 3] = -2.0; it must be non-negative. NMF "
            "needs X >= 0. Clip with np.maximum(X, 0) or shift it if the negatives are "
            "meaningful.")):
        as_float_array(X, "X", nonnegative=True, purpose="NMF needs X >= 0.")
    X[2, 1] = -0.5
    with pytest.raises(DataError, match=exactly(
            "X has 2 negative entries, the first at X[0, 3] = -2.0; it must be non-negative. "
            "Clip with np.maximum(X, 0) or shift it if the negatives are meaningful.")):
        as_float_array(X, "X", nonnegative=True)
    assert as_float_array(X, "X") is X                       # negatives are fine unless asked
    zeros = np.zeros((2, 2))
    assert as_float_array(zeros, "Z", nonnegative=True) is zeros   # zero is non-negative
    assert as_float_array(-0.0 * np.ones(2), "Z", nonnegative=True).shape == (2,)
    assert as_float_array(np.array([np.nan, 1.0]), "N", nonnegative=True,
                          allow_nonfinite=True).shape == (2,)


def test_empty_arrays_pass_every_value_check():
    for shape in [(0,), (0, 3), (4, 0)]:
        out = as_float_array(np.empty(shape), "E", nonnegative=True)
        assert out.shape == shape
    out = as_float_array(sp.csr_matrix((3, 4)), "S", sparse=True, nonnegative=True)
    assert out.nnz == 0


# ---------------------------------------------------------------- as_float_array, sparse


def test_sparse_rejected_unless_allowed():
    for fmt in ["csr", "coo", "csc"]:
        X = sp.random(4, 3, density=0.5, format=fmt, random_state=0)
        with pytest.raises(DTypeError, match=exactly(
                f"X is a scipy.sparse {fmt} matrix, which this function does not take: pass "
                f"X.toarray() if it fits in memory.")):
            as_float_array(X, "X")


def test_sparse_formats_dtypes_and_copies():
    X = sp.random(5, 4, density=0.5, format="csr", random_state=1)
    assert as_float_array(X, "X", sparse=True) is X
    assert as_float_array(X, "X", sparse=("csr", "csc")) is X
    c = as_float_array(X, "X", sparse=True, copy=True)
    assert c is not X and not np.shares_memory(c.data, X.data)
    assert (c != X).nnz == 0
    csc = X.tocsc()
    assert as_float_array(csc, "X", sparse=("csr", "csc")) is csc
    out = as_float_array(X.tocoo(), "X", sparse=("csc", "csr"))
    assert out.format == "csc" and np.array_equal(out.toarray(), X.toarray())
    coo = X.tocoo()
    assert as_float_array(coo, "X", sparse=True) is coo      # True takes any format as it is
    ints = sp.csr_matrix(np.array([[0, 2], [3, 0]], dtype=np.int32))
    out = as_float_array(ints, "X", sparse=True)
    assert out.dtype == np.float64 and ints.dtype == np.int32
    assert np.array_equal(out.toarray(), [[0.0, 2.0], [3.0, 0.0]])
    f32 = X.astype(np.float32)
    assert as_float_array(f32, "X", sparse=True).dtype == np.float32
    out = as_float_array(X, "X", sparse=True, dtype=np.float32)
    assert out.dtype == np.float32 and X.dtype == np.float64
    # a fresh conversion is not copied a second time, and still not shared with the input
    out = as_float_array(ints, "X", sparse=True, copy=True)
    assert not np.shares_memory(out.data, ints.data)
    with pytest.raises(ShapeError, match=r"^X must be 3-D \('a b c'\) but has shape \(5, 4\)"):
        as_float_array(X, "X", sparse=True, dims="a b c")
    assert as_float_array(X, "X", sparse=True, dims="a b") is X


def test_sparse_duplicates_are_summed_on_a_copy():
    expected = {"csr": [[0.0, 3.0], [5.0, 0.0]], "csc": [[0.0, 5.0], [3.0, 0.0]]}
    for fmt, cls in [("csr", sp.csr_matrix), ("csc", sp.csc_matrix)]:
        X = cls((np.array([1.0, 2.0, 5.0]), np.array([1, 1, 0]), np.array([0, 2, 3])),
                shape=(2, 2))
        assert not X.has_canonical_format
        for kwargs in [{}, {"copy": True}, {"dtype": np.float32}]:
            out = as_float_array(X, "X", sparse=True, **kwargs)
            assert out.has_canonical_format and out.nnz == 2, (fmt, kwargs)
            assert np.array_equal(out.toarray(), expected[fmt])
            assert X.nnz == 3 and np.array_equal(X.data, [1.0, 2.0, 5.0])


def test_sparse_value_errors_name_the_matrix_position():
    X = sp.csr_matrix(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [3.0, 0.0, np.inf]]))
    with pytest.raises(DataError, match=exactly(
            "X has 1 non-finite entry (NaN or inf), the first at X[2, 2] = inf. Remove or impute "
            "them (e.g. np.nan_to_num) before fitting.")):
        as_float_array(X, "X", sparse=True)
    X.data[-1] = 1.0
    X.data[1] = -4.0
    with pytest.raises(DataError, match=exactly(
            "X has 1 negative entry, the first at X[1, 2] = -4.0; it must be non-negative. Clip "
            "with np.maximum(X, 0) or shift it if the negatives are meaningful.")):
        as_float_array(X, "X", sparse=("csc",), nonnegative=True)
    assert as_float_array(X, "X", sparse=True) is X


def test_negatives_are_counted_strictly_below_zero():
    x = np.array([0.0, -1.0, 0.5, 0.0, -2.0, 3.0])
    with pytest.raises(DataError, match=exactly(
            "x has 2 negative entries, the first at x[1] = -1.0; it must be non-negative. Clip "
            "with np.maximum(x, 0) or shift it if the negatives are meaningful.")):
        as_float_array(x, "x", nonnegative=True)


def test_copy_converts_the_dtype_too():
    out = as_float_array(np.arange(3), "x", copy=True)
    assert out.dtype == np.float64 and out.tolist() == [0.0, 1.0, 2.0]
    out = as_float_array(np.ones(2, np.float16), "x", copy=True)
    assert out.dtype == np.float32


def test_sparse_value_and_dtype_checks_keep_their_options():
    X = sp.csr_matrix(np.array([[0.0, np.nan], [1.0, 0.0]]))
    out = as_float_array(X, "X", sparse=True, allow_nonfinite=True)
    assert out is X
    Y = sp.csr_matrix(np.array([[0.0, -1.0], [1.0, 0.0]]))
    with pytest.raises(DataError, match=exactly(
            "Y has 1 negative entry, the first at Y[0, 1] = -1.0; it must be non-negative. NMF "
            "needs Y >= 0. Clip with np.maximum(Y, 0) or shift it if the negatives are "
            "meaningful.")):
        as_float_array(Y, "Y", sparse=True, nonnegative=True, purpose="NMF needs Y >= 0.")
    C = sp.csr_matrix(np.array([[0, 1j], [1, 0]]))
    with pytest.raises(DTypeError, match=exactly(
            "C has dtype complex128 (complex), but numbers are needed. Take the magnitude with "
            "np.abs() first.")):
        as_float_array(C, "C", sparse=True)
