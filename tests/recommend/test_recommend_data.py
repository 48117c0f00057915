"""Ratings containers, readers, ID maps and splits."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from matfit import DataError, DTypeError, InvalidParameterError
from matfit.recommend import (
    IdMap,
    Ratings,
    leave_k_out,
    read_ratings,
    synthetic_ratings,
    train_test_split,
)


# ------------------------------------------------------------------------------------ IDs
def test_string_ids_round_trip():
    users = ["carol", "alice", "bob", "alice", "carol"]
    items = ["x9", "a1", "a1", "x9", "b2"]
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    r = Ratings.from_arrays(users, items, vals)
    u, i, v = r.to_arrays()
    assert list(u) == users and list(i) == items and list(v) == vals
    assert r.n_users == 3 and r.n_items == 3
    assert r.user_ids.tolist() == ["alice", "bob", "carol"]  # sorted, vectorised look-ups
    assert r.user_map.lookup(["bob", "nobody", "alice"]).tolist() == [1, -1, 0]


def test_integer_ids_found_from_strings_and_mixed_ids_kept_apart():
    r = Ratings.from_arrays([196, 7, 196], [242, 1, 3], [3.0, 4.0, 5.0])
    assert r.user_ids.dtype == np.int64
    assert r.user_map.lookup(["196", "07", "x", 7]).tolist() == [1, -1, -1, 0]
    mixed = Ratings.from_arrays([1, "1", (2, 3)], ["a", "a", "a"], [1.0, 2.0, 3.0])
    assert mixed.n_users == 3  # 1 and "1" are different IDs
    assert mixed.user_map.lookup([(2, 3), "1", 1, 5]).tolist() == [2, 1, 0, -1]


def test_unsorted_id_map_looks_up_in_callers_order():
    m = IdMap(np.array(["z", "a", "m"]))
    assert m.lookup(["a", "m", "z", "q"]).tolist() == [1, 2, 0, -1]
    with pytest.raises(DataError, match="distinct"):
        IdMap(np.array([3, 1, 3]))


@given(st.lists(st.tuples(st.one_of(st.integers(-50, 50), st.text(max_size=3)),
                          st.integers(0, 9), st.floats(-5, 5)), min_size=1, max_size=40,
                unique_by=lambda t: (type(t[0]), t[0], t[1])))
def test_any_ids_round_trip_property(rows):
    users, items, vals = zip(*rows, strict=True)
    r = Ratings.from_arrays(list(users), list(items), list(vals))
    u, i, v = r.to_arrays()
    assert [type(x)(y) if not isinstance(y, type(x)) else y for x, y in zip(users, u,
                                                                            strict=True)] \
        == list(users)
    assert list(i) == list(items) and np.array_equal(v, np.asarray(vals))
    assert np.array_equal(r.user_map.lookup(u), r.users)


def test_missing_ids_are_rejected():
    with pytest.raises(DataError, match="missing"):
        Ratings.from_arrays(np.array([1.0, np.nan]), [1, 2], [3.0, 4.0])
    with pytest.raises(DataError, match="missing"):
        Ratings.from_arrays(["a", None], [1, 2], [3.0, 4.0])


# ------------------------------------------------------------------------------- values
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_ratings_are_named(bad):
    with pytest.raises(DataError, match=r"ratings\[1\]"):
        Ratings.from_arrays([1, 2, 3], [1, 1, 1], [4.0, bad, 3.0])


def test_non_numeric_ratings_are_rejected():
    with pytest.raises(DTypeError, match="numbers"):
        Ratings.from_arrays([1, 2], [1, 1], ["good", "bad"])


def test_length_mismatch_is_named():
    with pytest.raises(DataError, match="items has 2"):
        Ratings.from_arrays([1, 2, 3], [1, 1], [4.0, 3.0, 2.0])


# ----------------------------------------------------------------------------- duplicates
def test_duplicates_error_mean_last():
    users, items, vals = [1, 2, 1, 1], [5, 5, 5, 6], [1.0, 2.0, 4.0, 3.0]
    with pytest.raises(DataError, match=r"user 1 rated item 5 more than once.*ratings 0 and 2"):
        Ratings.from_arrays(users, items, vals)
    mean = Ratings.from_arrays(users, items, vals, duplicates="mean")
    last = Ratings.from_arrays(users, items, vals, duplicates="last")
    as_dict = lambda r: {(a, b): c for a, b, c in zip(*r.to_arrays(), strict=True)}  # noqa: E731
    assert as_dict(mean) == {(1, 5): 2.5, (2, 5): 2.0, (1, 6): 3.0}
    assert as_dict(last) == {(1, 5): 4.0, (2, 5): 2.0, (1, 6): 3.0}
    with pytest.raises(InvalidParameterError, match="duplicates='first'"):
        Ratings.from_arrays(users, items, vals, duplicates="first")


def test_sparse_input_keeps_stored_zeros_and_flags_repeated_coordinates():
    m = sp.csr_matrix((np.array([0.0, 5.0]), (np.array([0, 1]), np.array([1, 0]))),
                      shape=(3, 4))
    r = Ratings.from_sparse(m)
    assert len(r) == 2 and r.n_users == 3 and r.n_items == 4
    assert np.array_equal(r.to_csr().toarray(), m.toarray())
    coo = sp.coo_matrix((np.array([1.0, 3.0]), (np.array([0, 0]), np.array([2, 2]))),
                        shape=(2, 3))
    with pytest.raises(DataError, match="more than once"):
        Ratings.from_sparse(coo)
    assert Ratings.from_sparse(coo, duplicates="mean").values.tolist() == [2.0]
    with pytest.raises(DataError, match=r"scipy\.sparse"):
        Ratings.from_sparse(np.ones((2, 2)))


def test_dense_and_sparse_constructions_agree():
    rng = np.random.default_rng(0)
    dense = np.where(rng.random((6, 5)) < 0.5, rng.integers(1, 6, (6, 5)), 0).astype(float)
    names_u, names_i = [f"u{j}" for j in range(6)], [f"i{j}" for j in range(5)]
    a = Ratings.from_sparse(sp.csr_matrix(dense), user_ids=names_u, item_ids=names_i)
    u, i = np.nonzero(dense)
    b = Ratings.from_arrays(np.array(names_u)[u], np.array(names_i)[i], dense[u, i])
    da = {(x, y): z for x, y, z in zip(*a.to_arrays(), strict=True)}
    db = {(x, y): z for x, y, z in zip(*b.to_arrays(), strict=True)}
    assert da == db


def test_from_dataframe_finds_columns_by_name():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"timestamp": [1, 2, 3], "movieId": [10, 20, 10],
                       "userId": ["a", "b", "b"], "rating": [4.0, 3.5, 5.0]})
    r = Ratings.from_dataframe(df)
    assert r.user_ids.tolist() == ["a", "b"] and r.item_ids.tolist() == [10, 20]
    r2 = Ratings.from_dataframe(df, columns="movieId,userId,rating")  # swapped on purpose
    assert r2.user_ids.tolist() == [10, 20]
    bad = pd.DataFrame({"user": [1], "item": [2], "rating": ["five"]})
    with pytest.raises(DataError, match="non-numeric"):
        Ratings.from_dataframe(bad)


# ---------------------------------------------------------------------------------- files
def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_csv_with_header_and_extra_columns(tmp_path):
    p = _write(tmp_path, "r.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n"
                                  "1,1029,3.0,1260759179\n7,31,4,1\n\n")
    r = read_ratings(p)
    assert len(r) == 3 and r.user_ids.tolist() == [1, 7] and r.values.tolist() == [2.5, 3.0, 4.0]


def test_read_movielens_formats(tmp_path):
    dat = read_ratings(_write(tmp_path, "ratings.dat", "1::1193::5::978300760\n2::661::3::1\n"))
    tsv = read_ratings(_write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t1\n"))
    assert dat.values.tolist() == [5.0, 3.0] and dat.item_ids.tolist() == [661, 1193]
    assert tsv.user_ids.tolist() == [186, 196]


def test_read_string_ids_keep_leading_zeros(tmp_path):
    r = read_ratings(_write(tmp_path, "r.tsv", "007\tA\t1\n7\tB\t2\n"))
    assert r.user_ids.tolist() == ["007", "7"]


def test_read_columns_sep_and_header_options(tmp_path):
    p = _write(tmp_path, "r.txt", "item;score;who\nA;4;u1\nB;2;u2\n")
    r = read_ratings(p, sep=";", columns="who,item,score")
    assert r.to_arrays()[0].tolist() == ["u1", "u2"] and r.values.tolist() == [4.0, 2.0]
    q = _write(tmp_path, "q.txt", "A 4 u1\nB 2 u2\n")
    r = read_ratings(q, columns=[2, 0, 1])
    assert r.user_ids.tolist() == ["u1", "u2"]
    with pytest.raises(InvalidParameterError, match="no header"):
        read_ratings(q, columns="who,item,score")
    with pytest.raises(InvalidParameterError, match="has no column 'user'"):
        read_ratings(p, sep=";", columns="user,item,score")


@pytest.mark.parametrize("text, match", [
    ("1,2,3\n1,3\n2,2,4\n", r"r\.csv:2: expected at least 3 fields"),
    ("1,2,3\n1,3,abc\n", r"r\.csv:2: rating 'abc' is not a number"),
    ("u,i,r\n1,2,3\n\n1,3,nan\n", r"r\.csv:4: rating 'nan' is not a finite number"),
    ("1,2,3\n,3,4\n", r"r\.csv:2: the user ID is empty"),
    ("", r"empty"),
    ("\n\n  \n", r"empty"),
    ("user,item,rating\n", r"header line but no ratings"),
    ("1,2,3\n1,2,4\n", r"more than once"),
])
def test_bad_files_give_one_clear_error(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_ratings(_write(tmp_path, "r.csv", text))


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="no ratings file"):
        read_ratings("/nonexistent/ratings.csv")


# --------------------------------------------------------------------------------- splits
def test_train_test_split_partitions_and_is_seeded():
    r = synthetic_ratings(50, 40, 800, seed=0)
    tr, te = train_test_split(r, 0.25, seed=3)
    assert len(te) == 200 and len(tr) == 600
    key = lambda x: set(zip(x.users.tolist(), x.items.tolist(), strict=True))  # noqa: E731
    assert key(tr) | key(te) == key(r) and not key(tr) & key(te)
    _, te2 = train_test_split(r, 0.25, seed=3)
    assert np.array_equal(te.users, te2.users) and np.array_equal(te.values, te2.values)
    assert te.user_map is r.user_map
    assert len(train_test_split(r, 100, seed=0)[1]) == 100
    with pytest.raises(InvalidParameterError, match="test_size"):
        train_test_split(r, 1.5)


def test_leave_k_out_holds_k_per_user():
    r = synthetic_ratings(80, 60, 1500, seed=1)
    tr, te = leave_k_out(r, 2, seed=0)
    counts = r.user_counts()
    held = te.user_counts()
    assert np.array_equal(held, np.where(counts > 2, 2, 0))
    assert len(tr) + len(te) == len(r)
    assert np.all(tr.user_counts()[counts > 0] >= 1)


def test_compact_drops_unrated_ids_and_keeps_pairs():
    r = Ratings.from_indices([0, 3], [1, 1], [1.0, 2.0], n_users=5, n_items=3,
                             user_ids=list("abcde"), item_ids=[10, 20, 30])
    c = r.compact()
    assert c.user_ids.tolist() == ["a", "d"] and c.item_ids.tolist() == [20]
    assert [tuple(x) for x in zip(*c.to_arrays(), strict=True)] == \
        [tuple(x) for x in zip(*r.to_arrays(), strict=True)]


def test_from_indices_checks_ranges():
    with pytest.raises(DataError, match="only 2 users"):
        Ratings.from_indices([0, 2], [0, 0], [1.0, 1.0], n_users=2)
    with pytest.raises(DataError, match="negative"):
        Ratings.from_indices([0, -1], [0, 0], [1.0, 1.0])


def test_synthetic_power_law_is_heavy_tailed_and_exact():
    r, truth = synthetic_ratings(2000, 1000, 50000, seed=0, return_truth=True, noise=0.0,
                                 rating_scale=None)
    assert len(r) == 50000
    c = np.sort(r.user_counts())[::-1]
    assert c[0] > 10 * np.median(c)  # a heavy head
    assert c[0] <= 0.3 * 1000 * 1.5  # capped near max_fraction of the items
    u, i = r.users, r.items
    expect = (truth["mean"] + truth["user_bias"][u] + truth["item_bias"][i]
              + np.einsum("nk,nk->n", truth["user_factors"][u], truth["item_factors"][i]))
    np.testing.assert_allclose(r.values, expect, rtol=1e-5, atol=1e-5)
