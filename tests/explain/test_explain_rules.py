"""The shape rules behind every checked fix agree with NumPy itself.

``_rules`` checks a fix by running NumPy on *shrunk* stand-ins (each distinct size mapped to a
small one). Here the shrunk answer is compared with NumPy on full-size arrays for random shapes,
so a wrong shrinking (or a wrong join/reshape formula) shows up as a disagreement.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matfit.explain import _rules

sizes = st.sampled_from([0, 1, 2, 3, 5, 7])
shapes = st.lists(sizes, min_size=0, max_size=4).map(tuple)
nonempty_shapes = st.lists(sizes, min_size=1, max_size=4).map(tuple)


def _numpy_shape(fn, *shapes):
    try:
        return fn(*[np.zeros(s) for s in shapes]).shape
    except ValueError:
        return None


@given(nonempty_shapes, nonempty_shapes)
def test_matmul_rule_matches_numpy(a, b):
    assert _rules.eval_tree(("matmul", ("leaf", 0), ("leaf", 1)), [a, b]) == \
        _numpy_shape(np.matmul, a, b)


@given(shapes, shapes)
def test_dot_rule_matches_numpy(a, b):
    assert _rules.eval_tree(("dot", ("leaf", 0), ("leaf", 1)), [a, b]) == \
        _numpy_shape(np.dot, a, b)


@given(shapes, shapes, shapes)
def test_broadcast_chain_matches_numpy(a, b, c):
    tree = ("broadcast", ("broadcast", ("leaf", 0), ("leaf", 1)), ("leaf", 2))
    assert _rules.eval_tree(tree, [a, b, c]) == _numpy_shape(lambda x, y, z: x + y * z, a, b, c)


@given(shapes, shapes)
def test_inplace_rule_matches_numpy(a, b):
    def iadd(x, y):
        x += y
        return x

    assert _rules.eval_tree(("inplace", ("leaf", 0), ("leaf", 1)), [a, b]) == \
        _numpy_shape(iadd, a, b)


@pytest.mark.parametrize("func", ["concatenate", "stack", "vstack", "hstack", "dstack",
                                  "column_stack"])
@given(st.lists(nonempty_shapes, min_size=1, max_size=3), st.integers(-2, 2))
def test_join_rule_matches_numpy(func, shape_list, axis):
    takes_axis = func in ("concatenate", "stack")
    kwargs = {"axis": axis} if takes_axis else {}
    try:
        want = getattr(np, func)([np.zeros(s) for s in shape_list], **kwargs).shape
    except (ValueError, np.exceptions.AxisError):
        want = None
    assert _rules.join_shape(func, shape_list, axis if takes_axis else 0) == want


@given(st.integers(0, 60), st.lists(st.integers(-1, 7), min_size=1, max_size=3))
def test_reshape_rule_matches_numpy(size, target):
    try:
        want = np.zeros(size).reshape(target).shape
    except ValueError:
        want = None
    assert _rules.reshape_shape(size, target) == want


def test_shrinking_keeps_large_sizes_exact():
    # 513 x 60 @ 60 x 1290 is checked on stand-ins of a few elements and mapped back exactly
    small, _ = _rules.shrink([(513, 60), (60, 1290)])
    assert max(max(s) for s in small) <= 4
    assert _rules.eval_tree(("matmul", ("leaf", 0), ("leaf", 1)), [(513, 60), (60, 1290)]) == \
        (513, 1290)
    assert _rules.join_shape("concatenate", [(100, 5), (100, 3)], 1) == (100, 8)
    assert _rules.einsum_shape("ni,nij,nj->n", [(600, 3), (600, 3, 3), (600, 3)]) == (600,)
