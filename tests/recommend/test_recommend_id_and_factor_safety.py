import numpy as np

from matfit.recommend import MatrixFactorization
from matfit.recommend._ids import IdMap


def test_longer_query_string_is_not_truncated_onto_a_shorter_id():
    ids = IdMap(np.array(["ann", "bob"]))
    # 'annabel' must not be cut to the map's width (3 characters) and match 'ann'
    np.testing.assert_array_equal(ids.lookup(np.array(["annabel", "bob", 1], dtype=object)),
                                  [-1, 1, -1])


def test_from_factors_copies_instead_of_freezing_the_callers_arrays():
    rng = np.random.default_rng(0)
    P, Q = rng.random((3, 2)), rng.random((4, 2))
    bu, bi = rng.random(3), rng.random(4)
    model = MatrixFactorization.from_factors(1.0, bu, bi, P, Q, ["a", "b", "c"], [1, 2, 3, 4])
    assert all(a.flags.writeable for a in (P, Q, bu, bi))
    assert not model.user_factors_.flags.writeable
    P[:] = 0  # the model keeps its own copy
    expected = 1.0 + bu[0] + bi[1] + model.user_factors_[0] @ Q[1]
    np.testing.assert_allclose(model.predict(["a"], [2]), [expected], rtol=1e-12)
