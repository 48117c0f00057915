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
