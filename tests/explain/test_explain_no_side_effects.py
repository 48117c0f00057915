"""Explaining an error must never change the user's data or run the user's code."""

import numpy as np
import pytest

import matfit


def test_out_argument_is_not_re_evaluated():
    a = np.full((2, 3), 2.0)
    B = np.ones((4, 4))
    with pytest.raises(ValueError, match="mismatch in its core dimension"), matfit.explain():
        np.multiply(a, 2, out=a) @ B
    assert a[0, 0] == 4.0  # the user's own line doubled it once; explaining must not again


def test_positional_ufunc_out_is_not_re_evaluated():
    a = np.full((2, 3), 1.0)
    B = np.ones((4, 4))
    with pytest.raises(ValueError, match="mismatch in its core dimension"), matfit.explain():
        np.add(a, 1, a) @ B
    assert a[0, 0] == 2.0


def test_user_scalar_subclass_is_not_called():
    calls = []

    class Tracked(int):
        def __add__(self, other):
            calls.append(other)
            return int(self) + other

    i = Tracked(1)
    x, y = np.ones((2, 3)), np.ones((4, 4))
    with pytest.raises(ValueError, match="mismatch in its core dimension"), matfit.explain():
        x[:, : i + 1] @ y
    assert calls == [1]  # only the user's own evaluation
