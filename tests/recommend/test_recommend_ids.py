"""IdMap and factorize_ids against plain dicts written in the test: kinds, look-ups, errors."""

from __future__ import annotations

import numpy as np
import pytest

from matfit import DataError
from matfit.recommend._ids import IdMap, factorize_ids, show_id


def _dict_codes(ids):
    """Reference: codes by first appearance, and the distinct IDs in that order."""
    table = {}
    codes = [table.setdefault(v, len(table)) for v in ids]
    return codes, list(table)


def _round_trip(ids, name="users"):
    codes, m = factorize_ids(ids, name)
    assert codes.dtype == np.int64 and codes.shape == (len(ids),)
    assert [m[c] for c in codes] == list(ids)  # every entry maps back to its ID
    assert m.lookup(list(ids)).tolist() == codes.tolist()
    return codes, m


def test_show_id_writes_ids_as_a_person_would():
    assert show_id(np.int64(196)) == "196"
    assert show_id(np.str_("ann")) == "'ann'"
    assert show_id("ann") == "'ann'"
    assert show_id((1, 2)) == "(1, 2)"


@pytest.mark.parametrize("ids, kind", [
    ([196, 7, 196, 3], "int"),
    (np.array([196, 7, 196, 3], dtype=np.int32), "int"),
    (np.array([5, 0, 5], dtype=np.uint8), "int"),
    (np.array([True, False, True]), "int"),
    (["carol", "alice", "carol"], "str"),
    (np.array([b"x9", b"a1", b"x9"]), "str"),
    (np.array([3.0, -1.0, 3.0]), "int"),            # integral floats (pandas upcasts)
    (np.array([1.0, 2.0**53 - 1]), "int"),          # the largest exactly stored integer
])
def test_sorted_kinds_match_a_sorted_dict(ids, kind):
    codes, m = factorize_ids(ids, "users")
    want = sorted(set(np.asarray(ids).tolist()))
    if kind == "str":
        want = [w.decode() if isinstance(w, bytes) else w for w in want]
    assert m.kind == kind and m.ids.tolist() == want
    assert m.ids.dtype == (np.int64 if kind == "int" else m.ids.dtype)
    position = {v: j for j, v in enumerate(want)}
    as_py = [v.decode() if isinstance(v, bytes) else v for v in np.asarray(ids).tolist()]
    assert codes.dtype == np.int64 and codes.tolist() == [position[v] for v in as_py]


@pytest.mark.parametrize("ids", [
    [2.5, 0.5, 2.5],                     # not integral
    [1.0, 2.0**53],                      # integral but beyond exact int64 round trips
    np.array([1.0, 2.0**53]),
    np.array([1.0, -(2.0**53)]),
    [3, "a", (1, 2), 3, "a"],            # mixed types
    np.array([2.5, 0.5, 2.5]),
])
def test_object_ids_keep_first_appearance_order(ids):
    codes, m = _round_trip(list(ids) if isinstance(ids, np.ndarray) else ids)
    want_codes, want_ids = _dict_codes(list(ids))
    assert m.kind == "object" and m.ids.dtype == object
    assert codes.tolist() == want_codes and m.ids.tolist() == want_ids
    codes2, m2 = factorize_ids(ids, "users")
    assert codes2.tolist() == want_codes and m2.ids.tolist() == want_ids


def test_small_integral_floats_are_ints_not_objects():
    codes, m = factorize_ids(np.array([200.0, 1.0, 200.0]), "users")
    assert m.kind == "int" and m.ids.tolist() == [1, 200] and codes.tolist() == [1, 0, 1]


def test_empty_ids():
    for empty in ([], np.array([], dtype=object)):
        codes, m = factorize_ids(empty, "users")
        assert codes.dtype == np.int64 and codes.shape == (0,)
        assert len(m) == 0 and m.kind == "int" and m.ids.dtype == np.int64
    assert IdMap(np.array([], dtype=np.int64)).lookup([1, 2]).tolist() == [-1, -1]
    assert IdMap(np.array([], dtype=object)).lookup(["a"]).tolist() == [-1]


def test_pandas_series_and_dataframes():
    pd = pytest.importorskip("pandas")
    codes, m = factorize_ids(pd.Series([2.0, 1.0, 2.0]), "users")  # float column, integral
    assert m.kind == "int" and m.ids.tolist() == [1, 2] and codes.tolist() == [1, 0, 1]
    with pytest.raises(DataError, match=r"users\[1\] is nan: an ID must not be missing \(NaN\) "
                                        r"or infinite\. Drop the rows without an ID first, "
                                        r"e\.g\. df\.dropna"):
        factorize_ids(pd.Series([1.0, np.nan]), "users")
    with pytest.raises(DataError, match=r"users must be a 1-D sequence of IDs, got shape \(2, 2\)"):
        factorize_ids(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), "users")
    m = IdMap(np.array([10, 20, 30]))
    assert m.lookup(pd.Series([30, 10, 99])).tolist() == [2, 0, -1]


@pytest.mark.parametrize("ids, match", [
    (np.ones((2, 2)), r"users must be a 1-D sequence of IDs, got shape \(2, 2\)"),
    (np.array([1.0, 2.0, np.nan]), r"users\[2\] is nan: an ID must not be missing \(NaN\)"),
    (np.array([np.inf, 1.0]), r"users\[0\] is inf: an ID must not be missing \(NaN\) or inf"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"),
     r"users has dtype datetime64\[D\], which cannot hold IDs: use ints or strings"),
    ([1, "a", None], r"users\[2\] is None: an ID must not be missing\. Drop the rows"),
    ([1, "a", float("nan")], r"users\[2\] is nan: an ID must not be missing\. Drop the rows"),
    ([1, "a", [1, 2]], r"users\[2\] is \[1, 2\] of type list, which is not hashable and "
                       r"cannot be an ID: use ints or strings\."),
])
def test_bad_ids_are_named(ids, match):
    with pytest.raises(DataError, match=match):
        factorize_ids(ids, "users")


def test_mixed_ids_with_floats_are_kept():
    codes, m = _round_trip([1, "a", 2.5])
    assert m.ids.tolist() == [1, "a", 2.5] and codes.tolist() == [0, 1, 2]


@pytest.mark.parametrize("ids, repeats", [
    (np.array([5, 1, 5, 2]), 1), (np.array([1, 3, 3]), 1), (np.array([3, 3]), 1),
    (np.array(["b", "a", "b", "a"]), 2),
])
def test_repeated_ids_are_counted(ids, repeats):
    with pytest.raises(DataError, match=rf"IDs must be distinct, but {repeats} repeat$"):
        IdMap(ids)


def test_repeated_object_ids_are_counted():
    ids = np.empty(4, dtype=object)
    ids[:] = [(1, 2), "a", (1, 2), "a"]
    with pytest.raises(DataError, match=r"IDs must be distinct, but 2 repeat$"):
        IdMap(ids)


def test_idmap_names_its_argument():
    with pytest.raises(DataError, match=r"^ids must be a 1-D sequence of IDs"):
        IdMap(np.ones((2, 2)))
    with pytest.raises(DataError, match=r"^query must be a 1-D sequence of IDs"):
        IdMap(np.array([1, 2])).lookup(np.ones((2, 2)))


@pytest.mark.parametrize("ids", [["z", "a"], ["a", "c", "b"], [2, 1, 3, 4], [30, 10, 20]])
def test_unsorted_maps_look_up_in_the_given_order(ids):
    m = IdMap(np.array(ids))
    position = {v: j for j, v in enumerate(ids)}
    query = list(reversed(ids)) + ([99] if isinstance(ids[0], int) else ["nobody"])
    assert m.lookup(query).tolist() == [position.get(v, -1) for v in query]
    assert [m[j] for j in range(len(ids))] == ids


def test_single_ids_and_sequences():
    m = IdMap(np.array([10, 20, 30]))
    assert m.lookup(20).tolist() == [1]
    assert m.lookup(np.int64(30)).tolist() == [2]
    assert m.lookup(np.array(10)).tolist() == [0]  # a 0-d array is one ID
    assert m.lookup(range(9, 12)).tolist() == [-1, 0, -1]
    assert m.lookup(()).tolist() == []
    s = IdMap(np.array(["ann", "bob"]))
    assert s.lookup("bob").tolist() == [1]
    assert repr(m) == "IdMap(3 int ids)" and repr(s) == "IdMap(2 str ids)"
    objects = IdMap(np.array([(1, 2), "x"], dtype=object))
    assert objects.lookup([(1, 2)]).tolist() == [0]  # a tuple ID inside a list
    assert objects.lookup(np.array(["x", "y"])).tolist() == [1, -1]
    assert repr(objects) == "IdMap(2 object ids)"


def test_integer_map_reads_typed_strings_exactly():
    m = IdMap(np.array([-5, 0, 7, 196, 2**53, 2**53 + 1]))
    position = {v: j for j, v in enumerate(m.ids.tolist())}
    # only the canonical decimal spelling of an ID finds it
    texts = ["196", "07", "x", "-5", "--5", "+7", " 7", "\u00b2", "", str(2**53 + 1), "0",
             str(2**64)]
    want = [position[196], -1, -1, position[-5], -1, -1, -1, -1, -1, position[2**53 + 1],
            position[0], -1]
    assert m.lookup(texts).tolist() == want                      # a str array
    assert m.lookup(np.array(texts)).tolist() == want
    mixed = [*texts, 7, True, (1, 2), 2.5, "X7", 2**64, np.int64(-5)]   # an object array
    assert m.lookup(mixed).tolist() == [*want, position[7], -1, -1, -1, -1, -1, position[-5]]


def test_integer_map_finds_the_int64_extremes():
    lo, hi = -(2**63), 2**63 - 1
    m = IdMap(np.array([lo, 0, hi]))
    assert m.lookup([str(lo), str(hi), str(hi + 1), str(lo - 1)]).tolist() == [0, 2, -1, -1]
    assert m.lookup([lo, hi, hi + 1, lo - 1, "x"]).tolist() == [0, 2, -1, -1, -1]


def test_string_map_reads_ints_and_refuses_other_objects():
    m = IdMap(np.array(["", "1", "22", "(2, 3)", "True", "ann"]))
    position = {v: j for j, v in enumerate(m.ids.tolist())}
    assert m.lookup(np.array([22, 1, 5])).tolist() == [position["22"], position["1"], -1]
    query = [22, (2, 3), True, "ann", "annabel", 12345, np.int64(1)]
    assert m.lookup(query).tolist() == [position["22"], -1, -1, position["ann"], -1, -1,
                                        position["1"]]


def test_longer_queries_are_not_truncated_onto_a_shorter_or_empty_id():
    m = IdMap(np.array(["", "ann"]))
    assert m.lookup(np.array(["annabel", "ann", 1], dtype=object)).tolist() == [-1, 1, -1]


def test_object_map_looks_up_numpy_scalars_and_unknowns():
    m = IdMap(np.array([1, "a", (2, 3)], dtype=object))
    assert m.lookup(np.array([1, 5])).tolist() == [0, -1]
    assert m.lookup([np.str_("a"), (2, 3), "b"]).tolist() == [1, 2, -1]
