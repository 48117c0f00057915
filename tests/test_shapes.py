import doctest

import numpy as np
import pytest
import scipy.sparse as sp

import matfit.shapes
from matfit import DataError, DTypeError, ShapeError
from matfit.shapes import as_float_array, check


def test_binds_names_across_arguments():
    X, W, H = np.ones((513, 129)), np.ones((513, 60)), np.ones((60, 129))
    dims = check(X=(X, "features samples"), W=(W, "features components"),
                 H=(H, "components samples"))
    assert dims == {"features": 513, "samples": 129, "components": 60}


def test_w_h_mismatch_message_names_dimension_sizes_and_arguments():
    W, H = np.ones((513, 60)), np.ones((131, 129))
    with pytest.raises(ShapeError) as info:
        check(W=(W, "features components"), H=(H, "components samples"))
    msg = str(info.value)
    for part in ("'components'", "W has 60 columns", "H has 131 rows", "(513, 60)", "(131, 129)",
                 "Likely fix"):
        assert part in msg, (part, msg)
    assert isinstance(info.value, ValueError)


def test_transposed_argument_is_recognised():
    X, W, H = np.ones((10, 5)), np.ones((10, 3)), np.ones((5, 3))
    with pytest.raises(ShapeError, match=r"H looks transposed: H.T has shape \(3, 5\)"):
        check(X=(X, "features samples"), W=(W, "features components"),
              H=(H, "components samples"))


def test_known_size_names_the_parameter():
    with pytest.raises(ShapeError, match="n_components sets components=4 but W has 3 columns"):
        check(known={"components": (4, "n_components")},
              W=(np.ones((10, 3)), "features components"))


def test_vector_where_matrix_expected_suggests_reshape():
    with pytest.raises(ShapeError, match=r"x.reshape\(-1, 1\)"):
        check(x=(np.ones(7), "samples features"))
    with pytest.raises(ShapeError, match=r"y.ravel\(\)"):
        check(y=(np.ones((7, 1)), "samples"))


def test_fixed_sizes_wildcards_and_leading_ellipsis():
    assert check(a=(np.ones((2, 4, 3)), "... features 3")) == {"features": 4}
    assert check(a=(np.ones((4, 9)), "features _")) == {"features": 4}
    with pytest.raises(ShapeError, match="must have 3 columns"):
        check(a=(np.ones((4, 2)), "features 3"))


def test_sparse_matrices_have_shapes():
    X = sp.random(6, 4, density=0.5, format="csr", random_state=0)
    assert check(X=(X, "users items")) == {"users": 6, "items": 4}


def test_as_float_array_dtypes():
    assert as_float_array(np.arange(3), "x").dtype == np.float64
    assert as_float_array(np.ones(3, np.float32), "x").dtype == np.float32
    assert as_float_array([True, False], "x").dtype == np.float64
    with pytest.raises(DTypeError, match="x has dtype <U1"):
        as_float_array(np.array(["a", "b"]), "x")
    with pytest.raises(DTypeError, match="magnitude"):
        as_float_array(np.ones(2, complex), "x")


def test_as_float_array_reports_nonfinite_count_and_first_position():
    X = np.ones((3, 4))
    X[1, 2] = np.nan
    X[2, 0] = np.inf
    with pytest.raises(DataError, match=r"2 non-finite entries.*X\[1, 2\] = nan"):
        as_float_array(X, "X")


def test_as_float_array_nonnegative():
    X = np.ones((3, 4))
    X[0, 3] = -2
    with pytest.raises(DataError, match=r"1 negative entry.*X\[0, 3\] = -2.0.*NMF"):
        as_float_array(X, "X", nonnegative=True, purpose="NMF needs X >= 0.")


def test_as_float_array_sparse_rules():
    X = sp.random(5, 5, density=0.4, format="coo", random_state=1)
    with pytest.raises(DTypeError, match="toarray"):
        as_float_array(X, "X")
    out = as_float_array(X, "X", sparse=("csr", "csc"))
    assert out.format == "csr" and out.dtype == np.float64
    bad = X.tocsr()
    bad.data[0] = -1
    with pytest.raises(DataError, match="negative"):
        as_float_array(bad, "X", sparse=True, nonnegative=True)


def test_sparse_input_is_not_mutated():
    X = sp.csr_matrix((np.array([1.0, 2.0]), (np.array([0, 0]), np.array([1, 1]))), shape=(2, 2))
    X.has_canonical_format = False
    n_before = X.nnz
    as_float_array(X, "X", sparse=True)
    assert X.nnz == n_before


def test_module_docstring_example_runs():
    result = doctest.testmod(matfit.shapes, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 3


# ------------------------------------------------------------------ pandas nullable columns
pd = pytest.importorskip("pandas")


@pytest.mark.parametrize("frame, dtype, expected", [
    (lambda: pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"),
                           "b": [0.5, 1.5, 2.5]}), np.float64,
     [[1.0, 0.5], [np.nan, 1.5], [3.0, 2.5]]),
    (lambda: pd.DataFrame({"a": pd.array([1.5, None], dtype="Float32"),
                           "b": pd.array([None, 2.0], dtype="Float32")}), np.float32,
     [[1.5, np.nan], [np.nan, 2.0]]),
    (lambda: pd.DataFrame({"a": pd.array([1.5, None], dtype="Float32"),
                           "b": np.array([1.0, 2.0], dtype=np.float32)}), np.float32,
     [[1.5, 1.0], [np.nan, 2.0]]),
    (lambda: pd.DataFrame({"a": pd.array([1.5, None], dtype="Float32"),
                           "b": pd.array([7, 8], dtype="Int16")}), np.float64,
     [[1.5, 7.0], [np.nan, 8.0]]),
    (lambda: pd.DataFrame({"a": pd.array([True, None, False], dtype="boolean")}), np.float64,
     [[1.0], [np.nan], [0.0]]),
    (lambda: pd.Series(pd.array([4, None], dtype="UInt8")), np.float64, [4.0, np.nan]),
])
def test_nullable_pandas_columns_become_floats_with_nan(frame, dtype, expected):
    # what scikit-learn's check_array gives for pd.NA: NaN, float32 only if every column is
    x = frame()
    for arr in (matfit.shapes._from_pandas(x), as_float_array(x, "X", allow_nonfinite=True)):
        assert isinstance(arr, np.ndarray) and arr.dtype == dtype
        np.testing.assert_array_equal(arr, np.array(expected, dtype=dtype))


@pytest.mark.parametrize("make", [
    lambda: pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]}),       # NumPy dtypes only
    lambda: pd.Series([1.0, 2.0]),
    lambda: pd.DataFrame({"a": pd.array(["x", None], dtype="string")}),   # not numbers
    lambda: pd.DataFrame({"a": pd.array([1, None], dtype="Int64"),
                          "s": pd.array(["x", "y"], dtype="string")}),
    lambda: pd.DataFrame(),
    lambda: np.array([[1.0, np.nan]]),
    lambda: [[1.0, 2.0]],
])
def test_other_inputs_pass_through_unchanged(make):
    x = make()
    assert matfit.shapes._from_pandas(x) is x


def test_a_duck_with_dtypes_but_no_to_numpy_passes_through():
    class Duck:
        dtypes = (pd.Int64Dtype(),)

    d = Duck()
    assert matfit.shapes._from_pandas(d) is d


def test_a_dtype_without_kind_passes_through():
    # a frame-like object whose column types are not NumPy's nor pandas' (no .kind)
    class Frame:
        dtypes = (object(),)

        def to_numpy(self, **kw):  # pragma: no cover - must not be called
            raise AssertionError("converted")

    f = Frame()
    assert matfit.shapes._from_pandas(f) is f
